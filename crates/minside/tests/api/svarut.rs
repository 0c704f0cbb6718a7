//! SvarUt compatibility: a case system that speaks SvarUt v3 sends through minside by changing
//! its base URL, and reads statuses and events with SvarUt's names.

use crate::helpers::TestApp;
use minside_core::person::CandidateGroup;
use minside_core::ports::Store;
use serde_json::{json, Value};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";
const BOUNDARY: &str = "minside-test-boundary-7MA4YWxkTrZu0gW";

/// A multipart body as the SvarUt Java client sends it: `forsendelse`, then `filer_0`, `filer_1` ….
fn multipart(forsendelse: &Value, files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"forsendelse\"\r\nContent-Type: application/json\r\n\r\n{forsendelse}\r\n").as_bytes());
    for (i, (name, mime, bytes)) in files.iter().enumerate() {
        b.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"filer_{i}\"; filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n").as_bytes());
        b.extend_from_slice(bytes);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    b
}

async fn post(app: &TestApp, path: &str, body: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url(path))
        .bearer_auth(app.api_token("minside:letters.write minside:letters.read"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header("IntegrasjonId", "6f1c1b3e-0000-4000-8000-000000000001")
        .header("IntegrasjonPassord", "ikke-brukt")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn post_json(app: &TestApp, path: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .post(app.url(path))
        .bearer_auth(app.api_token("minside:letters.read"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

const SEND: &str =
    "/svarut/api/v3/kontoer/2a1f5c1e-5d7b-4c1b-9f0e-000000000042/forsendelser/person";

/// NORWAY.md §4.2's example, to one of our synthetic residents.
fn forsendelse(fnr: &str) -> Value {
    json!({"tittel": "Vedtak om tildeling av barnehageplass",
        "mottaker": {"navn": "Kari Nordmann", "digitalId": fnr,
            "adresse": {"adresselinje1": "Storgata 1", "postnummer": "5003", "poststed": "BERGEN"}},
        "dokumenter": [{"filnavn": "vedtak.pdf", "mimeType": "application/pdf"},
            {"filnavn": "vedlegg.xlsx", "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "skalEkskluderesFraUtskrift": true}],
        "sikkerhetsniva": "BETYDELIG", "kunDigitalLevering": false,
        "svarSendesTil": {"navn": "Bergen kommune", "type": "ORGANISASJON", "digitalId": "964338531",
            "adresse": {"adresselinje1": "Postboks 7700", "postnummer": "5020", "poststed": "BERGEN"}},
        "metadataFraAvleverendeSystem": {"saksaar": 2024, "sakssekvensnummer": 1234, "journalpostnummer": 5},
        "avgivendeSystem": "ESA", "eksternReferanse": "2024/1234-5", "utskriftskonfigurasjon": {"tosidig": true}})
}

fn files() -> Vec<(&'static str, &'static str, &'static [u8])> {
    vec![
        ("vedtak.pdf", "application/pdf", PDF),
        (
            "vedlegg.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            b"PK\x03\x04 regneark",
        ),
    ]
}

#[tokio::test]
async fn a_case_system_sends_with_the_svarut_v3_contract_and_follows_it_with_svarut_names() {
    let app = TestApp::spawn().await;
    let reserved = app.first_candidate(CandidateGroup::Reserved).await;
    let body = multipart(&forsendelse(reserved.fnr.as_str()), &files());
    let r = post(&app, SEND, body.clone()).await;
    assert_eq!(r.status(), 200);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let again: Value = post(&app, SEND, body).await.json().await.unwrap();
    assert_eq!(
        again["id"],
        id.as_str(),
        "the same request twice is one letter"
    );

    let letter = app
        .store
        .letter_for_recipient(&reserved.fnr, &id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(letter.title, "Vedtak om tildeling av barnehageplass");
    assert_eq!(letter.sender_unit, "Bergen kommune");
    assert_eq!(
        letter.archive_ref.unwrap().to_string(),
        "2024/1234-5",
        "saksår/sekvensnummer-journalpost"
    );
    assert_eq!(letter.documents.len(), 2);

    let v3 = post_json(
        &app,
        "/svarut/api/v3/kontoer/k/forsendelser/status/sok",
        json!({"id": [id, "ukjent"]}),
    )
    .await;
    assert_eq!(v3["statuser"].as_array().unwrap().len(), 1);
    assert_eq!(v3["statuser"][0]["status"], "AKSEPTERT");
    assert!(v3["statuser"][0]["sisteStatusEndring"].is_string());

    app.drain_jobs().await;
    let v2 = post_json(
        &app,
        "/svarut/api/v2/kontoer/k/forsendelser/status-sok",
        json!({"forsendelseIds": [id]}),
    )
    .await;
    assert_eq!(
        v2["statuser"][0]["status"], "PRINTET",
        "the reserved resident gets paper"
    );
    let events: Value = app
        .api_get(
            &format!("/svarut/api/v2/forsendelser/{id}/hendelser"),
            "minside:letters.read",
        )
        .await
        .json()
        .await
        .unwrap();
    let texts: Vec<&str> = events["hendelser"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hendelse"].as_str().unwrap())
        .collect();
    assert_eq!(texts[..2], ["Forsendelse mottatt", "Sendt til print"]);
    assert!(
        texts[2].starts_with("Printet (utskriftsbunke "),
        "{texts:?}"
    );
}

#[tokio::test]
async fn a_printable_letter_with_a_non_pdf_document_is_refused_in_svarut_terms() {
    let app = TestApp::spawn().await;
    let kari = app.first_candidate(CandidateGroup::Guardian).await;
    let mut f = forsendelse(kari.fnr.as_str());
    f["dokumenter"][1]["skalEkskluderesFraUtskrift"] = json!(false);
    f["tittel"] = json!("");
    let r = post(&app, SEND, multipart(&f, &files())).await;
    assert_eq!(r.status(), 422);
    let p: Value = r.json().await.unwrap();
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"tittel"), "{fields:?}");
    assert!(
        fields.contains(&"dokumenter[1].skalEkskluderesFraUtskrift"),
        "{fields:?}"
    );

    let digital_only = {
        let mut f = forsendelse(kari.fnr.as_str());
        f["dokumenter"][1]["skalEkskluderesFraUtskrift"] = json!(false);
        f["kunDigitalLevering"] = json!(true);
        f
    };
    assert_eq!(
        post(&app, SEND, multipart(&digital_only, &files()))
            .await
            .status(),
        200,
        "a digital-only letter may carry anything"
    );

    let no_json = post(&app, SEND, multipart(&json!(null), &[])).await;
    assert_eq!(no_json.status(), 400);
    let missing_file = post(
        &app,
        SEND,
        multipart(&forsendelse(kari.fnr.as_str()), &files()[..1]),
    )
    .await;
    assert_eq!(missing_file.status(), 422);
    let anonymous = reqwest::Client::new()
        .post(app.url(SEND))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn an_organisation_letter_uses_the_organisation_endpoint() {
    let app = TestApp::spawn().await;
    let mut f = forsendelse("964338531");
    f["mottaker"]["navn"] = json!("Eksempel AS");
    let r = post(
        &app,
        "/svarut/api/v3/kontoer/k/forsendelser/organisasjon",
        multipart(&f, &files()),
    )
    .await;
    assert_eq!(r.status(), 200);
    let wrong = post(&app, SEND, multipart(&f, &files())).await;
    assert_eq!(
        wrong.status(),
        422,
        "an organisation number is not a person"
    );
}
