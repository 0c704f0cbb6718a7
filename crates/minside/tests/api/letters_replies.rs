//! Replies: a resident writes back on a letter that allows it, with attachments whose type is
//! sniffed; the sender gets a `replied` event and fetches the files through the API.

use crate::helpers::{events_named, form_value, TestApp};
use minside_core::person::{CandidateGroup, LoginCandidate};
use serde_json::json;

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";
const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
const BOUNDARY: &str = "reply-boundary-3f9a";

async fn send(app: &TestApp, to: &LoginCandidate, sender_ref: &str, reply_allowed: bool) -> String {
    app.send_letter_ok(
        &json!({"sender_ref": sender_ref, "recipient": {"fodselsnummer": to.fnr.as_str()},
            "title": "Søknad om parkeringstillatelse", "sender_unit": "Bymiljø",
            "body": "Vi trenger en kopi av førerkortet ditt.", "reply_allowed": reply_allowed}),
    )
    .await
}

fn form(csrf: &str, text: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = Vec::new();
    for (name, value) in [("csrf", csrf), ("tekst", text)] {
        b.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    for (filename, bytes) in files {
        // Browsers send the type they guess from the name; it is not trusted.
        b.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"vedlegg\"; filename=\"{filename}\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes());
        b.extend_from_slice(bytes);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    b
}

async fn post_reply(app: &TestApp, id: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/min-side/meldinger/{id}/skriv-svar")))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn open(app: &TestApp, who: &LoginCandidate, id: &str) -> (String, String) {
    app.login_citizen(Some(who.fnr.as_str()), "idporten-loa-substantial")
        .await;
    let (status, _, html) = app.get_html(&format!("/min-side/meldinger/{id}")).await;
    assert_eq!(status, 200);
    let csrf = form_value(&html, "csrf").unwrap();
    (html, csrf)
}

#[tokio::test]
async fn a_resident_replies_with_text_and_files_and_the_sender_gets_both() {
    let app = TestApp::spawn().await;
    let kari = app.first_candidate(CandidateGroup::Guardian).await;
    let id = send(&app, &kari, "r-1", true).await;
    let (html, csrf) = open(&app, &kari, &id).await;
    assert!(html.contains("enctype=\"multipart/form-data\"") && html.contains("Svar på meldingen"));

    let r = post_reply(
        &app,
        &id,
        form(
            &csrf,
            "Her er førerkortet.\nHilsen Kari",
            &[("forerkort.pdf", PNG), ("skjema.pdf", PDF)],
        ),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(r.url().as_str().ends_with("?sendt=1"), "{}", r.url());
    let page = r.text().await.unwrap();
    assert!(page.contains("Svaret ditt er sendt til kommunen."));
    assert!(page.contains("Her er førerkortet.") && page.contains("forerkort.pdf"));

    let status = app.letter_status(&id).await;
    let events = events_named(&status, "replied");
    assert_eq!(events.len(), 1);
    let detail = &events[0]["detail"];
    assert_eq!(detail["text"], "Her er førerkortet.\nHilsen Kari");
    assert_eq!(
        detail["attachments"][0]["mime_type"], "image/png",
        "sniffed, not taken from the name"
    );
    assert_eq!(detail["attachments"][1]["mime_type"], "application/pdf");

    let reply = detail["reply"].as_str().unwrap();
    let file = app
        .api_get(
            &format!("/api/v1/letters/{id}/replies/{reply}/attachments/0"),
            "minside:letters.read",
        )
        .await;
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "image/png");
    assert_eq!(file.bytes().await.unwrap().as_ref(), PNG);
    let own = app
        .get(&format!("/min-side/meldinger/{id}/svar/{reply}/vedlegg/1"))
        .await;
    assert_eq!(
        own.bytes().await.unwrap().as_ref(),
        PDF,
        "the resident can open their own attachment"
    );
    let other = app
        .api_get(
            &format!("/api/v1/letters/{id}/replies/{reply}/attachments/9"),
            "minside:letters.read",
        )
        .await;
    assert_eq!(other.status(), 404);
}

#[tokio::test]
async fn problems_are_shown_in_the_residents_language_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let kari = app.first_candidate(CandidateGroup::Guardian).await;
    let id = send(&app, &kari, "r-2", true).await;
    let (_, csrf) = open(&app, &kari, &id).await;

    let r = post_reply(
        &app,
        &id,
        form(&csrf, "Se vedlegg", &[("virus.pdf", b"MZ\x90\x00 program")]),
    )
    .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("virus.pdf er ikke en PDF-, JPEG- eller PNG-fil."),
        "{page}"
    );
    assert!(page.contains(">Se vedlegg</textarea>"), "the text is kept");
    let r = post_reply(&app, &id, form(&csrf, "  ", &[])).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Skriv en melding."));

    app.client.get(app.url("/lang/en")).send().await.unwrap();
    let r = post_reply(&app, &id, form(&csrf, "", &[])).await;
    assert!(r.text().await.unwrap().contains("Write a message."));

    let forged = post_reply(&app, &id, form("not-the-token", "Hei", &[])).await;
    assert!(!forged.url().as_str().contains("sendt=1"));
    assert!(
        events_named(&app.letter_status(&id).await, "replied").is_empty(),
        "nothing was stored"
    );
}

#[tokio::test]
async fn a_letter_that_takes_no_replies_offers_no_form_and_refuses_one() {
    let app = TestApp::spawn().await;
    let kari = app.first_candidate(CandidateGroup::Guardian).await;
    let id = send(&app, &kari, "r-3", false).await;
    let (html, csrf) = open(&app, &kari, &id).await;
    assert!(!html.contains("skriv-svar"));
    let r = post_reply(&app, &id, form(&csrf, "Hei", &[])).await;
    assert_eq!(r.status(), 403);
    assert!(events_named(&app.letter_status(&id).await, "replied").is_empty());
}
