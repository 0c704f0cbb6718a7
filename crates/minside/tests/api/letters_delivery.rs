//! Guaranteed delivery, decided when a letter arrives: the jobs commit with the letter.

use crate::helpers::TestApp;
use jiff::SignedDuration;
use minside_core::delivery::{decide_channel, Channel, LetterKind};
use minside_core::person::{CandidateGroup, LoginCandidate};
use minside_core::ports::{Clock, JobCounts, Store};
use serde_json::json;

async fn send(app: &TestApp, to: &LoginCandidate, sender_ref: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(app.url("/api/v1/letters"))
        .bearer_auth(app.api_token("minside:letters.write"))
        .json(&json!({"sender_ref": sender_ref, "recipient": {"fodselsnummer": to.fnr.as_str()}, "title": "Vedtak",
                      "sender_unit": "Byggesak", "body": "Søknaden er innvilget."}))
        .send()
        .await
        .unwrap()
        .status()
}

/// A seeded resident whose register entry makes a formal letter go the way `digital` says.
async fn resident(app: &TestApp, digital: bool) -> LoginCandidate {
    let now = app.clock.now();
    let mut found = None;
    for c in app.store.login_candidates(40).await.unwrap() {
        let record = app.store.contact_record(&c.fnr).await.unwrap().unwrap();
        if matches!(
            decide_channel(LetterKind::Formal, &record, now),
            Channel::Digital(_)
        ) == digital
        {
            found = Some(c);
            break;
        }
    }
    found.expect("a seeded resident of that kind")
}

async fn due_kinds(app: &TestApp, after: SignedDuration) -> Vec<String> {
    let at = app.clock.now() + after;
    // A long lease: a job claimed here stays claimed for the rest of the test.
    let lease = at + SignedDuration::from_hours(24 * 30);
    app.store
        .claim_jobs(at, 50, lease)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.kind)
        .collect()
}

#[tokio::test]
async fn a_reachable_resident_is_notified_now_and_the_print_fallback_waits_for_the_deadline() {
    let app = TestApp::spawn().await;
    let kari = resident(&app, true).await;
    assert_eq!(send(&app, &kari, "d-1").await, 201);
    assert_eq!(send(&app, &kari, "d-1").await, 200, "a retry");
    assert_eq!(
        app.store.job_counts().await.unwrap(),
        JobCounts {
            pending: 2,
            ..JobCounts::default()
        },
        "a retry queues nothing more"
    );
    assert_eq!(
        due_kinds(&app, SignedDuration::ZERO).await,
        vec!["notify_letter"]
    );
    assert!(
        due_kinds(&app, SignedDuration::from_hours(39))
            .await
            .is_empty(),
        "40 working hours are at least 40 hours"
    );
    assert_eq!(
        due_kinds(&app, SignedDuration::from_hours(24 * 5)).await,
        vec!["print_if_unread"],
        "and at most five days (one weekend; no holiday this week)"
    );
}

#[tokio::test]
async fn a_reserved_resident_gets_the_letter_on_paper() {
    let app = TestApp::spawn().await;
    let reserved = app.first_candidate(CandidateGroup::Reserved).await;
    assert_eq!(send(&app, &reserved, "d-2").await, 201);
    assert_eq!(
        due_kinds(&app, SignedDuration::ZERO).await,
        vec!["print_letter"]
    );
}

#[tokio::test]
async fn a_resident_with_only_stale_or_no_contact_info_gets_paper_too() {
    let app = TestApp::spawn().await;
    let paper = resident(&app, false).await;
    assert_eq!(send(&app, &paper, "d-3").await, 201);
    assert_eq!(
        due_kinds(&app, SignedDuration::ZERO).await,
        vec!["print_letter"]
    );
}
