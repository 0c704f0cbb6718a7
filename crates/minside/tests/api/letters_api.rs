//! `POST /api/v1/letters` and the status endpoint: idempotent, validated, nothing half-stored.

use crate::helpers::TestApp;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use minside_core::person::CandidateGroup;
use minside_core::ports::{Blobs, Store};
use serde_json::{json, Value};

fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec()
}

fn offer(fnr: &str, sender_ref: &str) -> Value {
    json!({
        "sender_ref": sender_ref,
        "recipient": {"fodselsnummer": fnr},
        "title": "Tilbud om barnehageplass",
        "sender_unit": "Barnehageetaten",
        "body": "Du har fått tilbud om plass i Solsikken barnehage fra 1. januar.",
        "documents": [{"filename": "tilbud.pdf", "mime_type": "application/pdf", "content_base64": STANDARD.encode(pdf())}],
        "archive_ref": {"saksaar": 2026, "sekvensnummer": 1234, "journalpostnummer": 5},
        "response_options": [{"code": "accept", "label": "Ta imot plassen"}, {"code": "decline", "label": "Takk nei"}],
        "response_deadline": "2099-12-01T12:00:00+01:00"
    })
}

async fn send(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/api/v1/letters"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_letter_is_accepted_once_and_a_retry_gets_the_same_answer() {
    let app = TestApp::spawn().await;
    let person = app.first_candidate(CandidateGroup::Guardian).await;
    let token = app.api_token("minside:letters.write minside:letters.read");
    let body = offer(person.fnr.as_str(), "2026/1234-5");
    let first = send(&app, &token, &body).await;
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["status"], "AKSEPTERT");
    assert_eq!(first["sender_ref"], "2026/1234-5");
    assert_eq!(
        location,
        format!("/api/v1/letters/{}/status", first["id"].as_str().unwrap())
    );

    let retry = send(&app, &token, &body).await;
    assert_eq!(retry.status(), 200);
    assert_eq!(
        retry.json::<Value>().await.unwrap(),
        first,
        "the same answer, not a second letter"
    );

    let status: Value = reqwest::Client::new()
        .get(app.url(&location))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "AKSEPTERT");
    assert_eq!(status["events"].as_array().unwrap().len(), 1);
    assert_eq!(status["events"][0]["event"], "created");

    let blobs = minside::blobs::DirBlobs::new(&app.config.blob_dir);
    let stored = blobs
        .get(&minside_core::ports::document_key(
            "letters",
            first["id"].as_str().unwrap(),
            0,
        ))
        .await
        .unwrap();
    assert_eq!(stored, pdf(), "the document is kept byte for byte");
}

#[tokio::test]
async fn reusing_a_sender_ref_for_another_letter_is_a_conflict() {
    let app = TestApp::spawn().await;
    let person = app.first_candidate(CandidateGroup::Guardian).await;
    let token = app.api_token("minside:letters.write");
    assert_eq!(
        send(&app, &token, &offer(person.fnr.as_str(), "ref-1"))
            .await
            .status(),
        201
    );
    let mut other = offer(person.fnr.as_str(), "ref-1");
    other["title"] = json!("Et annet brev");
    let res = send(&app, &token, &other).await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn an_invalid_letter_lists_every_field_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let token = app.api_token("minside:letters.write");
    let mut bad = offer("13097248032", "ref-2");
    bad["title"] = json!("");
    bad["documents"][0]["content_base64"] = json!(STANDARD.encode(b"not a pdf at all"));
    bad["documents"].as_array_mut().unwrap().push(json!({"filename": "data.xlsx", "mime_type": "application/vnd.ms-excel", "content_base64": STANDARD.encode(b"PK..")}));
    let res = send(&app, &token, &bad).await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.unwrap();
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec![
            "recipient.fodselsnummer",
            "title",
            "documents[0].mime_type",
            "documents[1].exclude_from_print"
        ]
    );
    assert!(app
        .store
        .letter_receipt(crate::helpers::API_CLIENT, "ref-2")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn scopes_guard_sending_and_reading_and_a_client_sees_only_its_own_letters() {
    let app = TestApp::spawn().await;
    let person = app.first_candidate(CandidateGroup::Owner).await;
    let read_only = app.api_token("minside:letters.read");
    assert_eq!(
        send(&app, &read_only, &offer(person.fnr.as_str(), "ref-3"))
            .await
            .status(),
        403
    );
    let writer = app.api_token("minside:letters.write");
    let sent: Value = send(&app, &writer, &offer(person.fnr.as_str(), "ref-3"))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/letters/{}/status", sent["id"].as_str().unwrap());
    let no_read = reqwest::Client::new()
        .get(app.url(&path))
        .bearer_auth(&writer)
        .send()
        .await
        .unwrap();
    assert_eq!(no_read.status(), 403);
    let unknown = reqwest::Client::new()
        .get(app.url("/api/v1/letters/00000000-0000-4000-8000-000000000000/status"))
        .bearer_auth(&read_only)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn letters_to_organisations_and_text_only_letters_are_accepted() {
    let app = TestApp::spawn().await;
    let token = app.api_token("minside:letters.write");
    let body = json!({"sender_ref": "org-1", "recipient": {"organisasjonsnummer": "974760673"}, "title": "Varsel om tilsyn",
                      "sender_unit": "Byggesak", "body": "Vi kommer på tilsyn 3. desember."});
    assert_eq!(send(&app, &token, &body).await.status(), 201);
}

#[tokio::test]
async fn documents_may_come_as_multipart_parts_instead_of_base64() {
    let app = TestApp::spawn().await;
    let person = app.first_candidate(CandidateGroup::Guardian).await;
    let mut letter = offer(person.fnr.as_str(), "mp-1");
    letter["documents"] = json!([{"filename": "tilbud.pdf", "mime_type": "application/pdf"}]);
    let boundary = "letter-boundary-91";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"letter\"\r\nContent-Type: application/json\r\n\r\n{letter}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"tilbud.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&pdf());
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let post = || {
        reqwest::Client::new()
            .post(app.url("/api/v1/letters"))
            .bearer_auth(app.api_token("minside:letters.write"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body.clone())
            .send()
    };
    let first = post().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = post().await.unwrap();
    assert_eq!(again.status(), 200, "a retry of the same multipart letter");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    let stored = minside::blobs::DirBlobs::new(&app.config.blob_dir)
        .get(&minside_core::ports::document_key(
            "letters",
            first["id"].as_str().unwrap(),
            0,
        ))
        .await
        .unwrap();
    assert_eq!(stored, pdf());
    let view = app
        .store
        .letter_for_recipient(&person.fnr, first["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.documents[0].filename, "tilbud.pdf");
}
