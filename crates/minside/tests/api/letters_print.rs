//! Paper: the reserved and the unread get their letters printed — in PDF/A batches with an
//! address cover page, exactly once, even when a worker dies mid-batch.

use crate::helpers::{events_named, TestApp};
use crate::letters_delivery::resident;
use base64::{engine::general_purpose::STANDARD, Engine};
use jiff::SignedDuration;
use minside_core::person::{CandidateGroup, LoginCandidate};
use minside_core::ports::{Clock, Store};
use serde_json::{json, Value};
use std::path::Path;

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

async fn send(app: &TestApp, to: &LoginCandidate, sender_ref: &str) -> String {
    app.send_letter_ok(&json!({"sender_ref": sender_ref, "recipient": {"fodselsnummer": to.fnr.as_str()},
            "title": "Vedtak om eiendomsskatt", "sender_unit": "Eiendomsskattekontoret",
            "body": "Eiendomsskatten for 2027 er 4 200 kroner.",
            "archive_ref": {"saksaar": 2026, "sekvensnummer": 1234},
            "documents": [
                {"filename": "vedtak.pdf", "mime_type": "application/pdf", "content_base64": STANDARD.encode(PDF)},
                {"filename": "grunnlag.xlsx", "mime_type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "content_base64": STANDARD.encode(b"PK\x03\x04 sheet"), "exclude_from_print": true}]})).await
}

fn batches(app: &TestApp) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(&app.config.print_dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    dirs.sort();
    dirs
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

#[tokio::test]
async fn a_reserved_residents_letter_is_printed_once_in_a_pdfa_batch_with_its_address() {
    let app = TestApp::spawn().await;
    let reserved = app.first_candidate(CandidateGroup::Reserved).await;
    let id = send(&app, &reserved, "p-1").await;
    app.drain_jobs().await;

    let status = app.letter_status(&id).await;
    assert_eq!(status["status"], "PRINTET");
    assert_eq!(events_named(&status, "sent_to_print").len(), 1);
    let printed = events_named(&status, "printed");
    assert_eq!(printed.len(), 1);

    let dirs = batches(&app);
    assert_eq!(dirs.len(), 1, "one batch folder: {dirs:?}");
    let m = manifest(&dirs[0]);
    assert_eq!(
        printed[0]["detail"]["batch"], m["batch"],
        "the sender learns the batch id"
    );
    assert_eq!(m["letter_count"], 1);
    let letter = &m["letters"][0];
    assert_eq!(letter["letter"], id.as_str());
    assert_eq!(letter["recipient"]["name"], reserved.name.as_str());
    assert!(letter["recipient"]["postcode"].as_str().unwrap().len() == 4);
    assert_eq!(
        letter["documents"],
        json!(["00001-0.pdf"]),
        "the spreadsheet is excluded from print"
    );
    assert_eq!(
        std::fs::read(dirs[0].join("00001-0.pdf")).unwrap(),
        PDF,
        "the sender's PDF as sent"
    );
    let pdf = std::fs::read(dirs[0].join("batch.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF-1.4"));
    assert!(
        pdf.windows(22).any(|w| w == b"<pdfaid:part>1</pdfaid"),
        "declared PDF/A-1"
    );

    app.drain_jobs().await;
    assert_eq!(batches(&app).len(), 1, "nothing is printed twice");
    assert_eq!(
        events_named(&app.letter_status(&id).await, "printed").len(),
        1
    );
}

#[tokio::test]
async fn an_unread_letter_is_printed_at_the_deadline_and_a_read_one_is_not() {
    let app = TestApp::spawn().await;
    let kari = resident(&app, true).await;
    let unread = send(&app, &kari, "p-2").await;
    let read = send(&app, &kari, "p-3").await;
    app.drain_jobs().await;
    assert_eq!(app.letter_status(&unread).await["status"], "VARSLET");
    app.read_letter(&kari.fnr, &read).await;

    app.clock.advance(SignedDuration::from_hours(24 * 5));
    app.drain_jobs().await;
    let printed = app.letter_status(&unread).await;
    assert_eq!(printed["status"], "PRINTET");
    assert_eq!(
        events_named(&printed, "sent_to_print")[0]["detail"]["reason"],
        "unread_at_deadline"
    );
    let kept = app.letter_status(&read).await;
    assert_eq!(kept["status"], "LEST");
    assert!(events_named(&kept, "sent_to_print").is_empty());
    let m = manifest(&batches(&app)[0]);
    assert_eq!(m["letter_count"], 1, "only the unread letter is on paper");
}

#[tokio::test]
async fn a_digital_only_letter_is_never_printed() {
    let app = TestApp::spawn().await;
    let reserved = app.first_candidate(CandidateGroup::Reserved).await;
    let r = app
        .post_letter(&json!({"sender_ref": "p-4", "recipient": {"fodselsnummer": reserved.fnr.as_str()},
            "title": "Informasjon", "sender_unit": "Servicetorget", "body": "Hei.", "digital_only": true}))
        .await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance(SignedDuration::from_hours(24 * 10));
    app.drain_jobs().await;
    assert_ne!(app.letter_status(&id).await["status"], "PRINTET");
    assert!(batches(&app).is_empty());
}

#[tokio::test]
async fn letters_are_split_into_batches_of_the_configured_size_each_letter_in_exactly_one() {
    let mut config = crate::helpers::test_config(crate::helpers::fresh_database_url().await);
    config.letters.print_batch_size = 2;
    let app = TestApp::spawn_with(config).await;
    let reserved = app.first_candidate(CandidateGroup::Reserved).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(send(&app, &reserved, &format!("p-b{i}")).await);
    }
    app.drain_jobs().await;
    let dirs = batches(&app);
    assert_eq!(dirs.len(), 3);
    let mut printed: Vec<String> = dirs
        .iter()
        .flat_map(|d| manifest(d)["letters"].as_array().unwrap().clone())
        .map(|l| l["letter"].as_str().unwrap().to_owned())
        .collect();
    printed.sort();
    ids.sort();
    assert_eq!(printed, ids);
}

#[tokio::test]
async fn a_batch_left_open_by_a_dead_worker_is_written_again_with_the_same_letters_and_nothing_twice(
) {
    let app = TestApp::spawn().await;
    let reserved = app.first_candidate(CandidateGroup::Reserved).await;
    let a = send(&app, &reserved, "p-c1").await;
    let b = send(&app, &reserved, "p-c2").await;
    // Queue both for print, then play a worker that takes the batch job and the batch and dies.
    app.run_jobs().await;
    let now = app.clock.now();
    let lease = now + SignedDuration::from_mins(5);
    let jobs = app
        .store
        .claim_jobs(now, 10, lease, Some(&["print_batch"]))
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    let taken = app
        .store
        .claim_print_batch("batch-of-the-dead-worker", 500, now, lease)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.items.len(), 2);
    app.drain_jobs().await;
    assert!(
        batches(&app).is_empty(),
        "the dead worker's lease still holds"
    );
    assert_eq!(app.letter_status(&a).await["status"], "SENDT_PRINT");

    app.clock.advance(SignedDuration::from_mins(6));
    app.drain_jobs().await;
    let dirs = batches(&app);
    assert_eq!(dirs.len(), 1);
    let m = manifest(&dirs[0]);
    assert_eq!(
        m["batch"], "batch-of-the-dead-worker",
        "the same batch, not a new one"
    );
    assert_eq!(m["letter_count"], 2);
    for id in [&a, &b] {
        let s = app.letter_status(id).await;
        assert_eq!(s["status"], "PRINTET");
        assert_eq!(events_named(&s, "printed").len(), 1);
    }
    let counts = app.store.job_counts().await.unwrap();
    assert_eq!((counts.pending, counts.running, counts.dead), (0, 0, 0));
}

/// Checks the batch PDF with the PDF tools a print provider would use (qpdf, pdftotext from
/// poppler); `scripts/test` installs them and runs this.
#[tokio::test]
#[ignore = "needs qpdf and pdftotext (scripts/test installs them)"]
async fn the_batch_pdf_passes_qpdf_and_shows_address_and_text() {
    let app = TestApp::spawn().await;
    let reserved = app.first_candidate(CandidateGroup::Reserved).await;
    send(&app, &reserved, "p-q").await;
    app.drain_jobs().await;
    let pdf = batches(&app)[0].join("batch.pdf");
    let check = std::process::Command::new("qpdf")
        .arg("--check")
        .arg(&pdf)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let text = std::process::Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains(reserved.name.as_str()), "{text}");
    assert!(text.contains("Vedtak om eiendomsskatt"));
    assert!(text.contains("Eiendomsskatten for 2027 er 4 200 kroner."));
    assert!(text.contains("Saksnr.: 2026/1234"));
}
