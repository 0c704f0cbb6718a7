//! The sender's system hears about every letter event through its webhook: signed, in order,
//! exactly once as far as it can tell (event ids), and retried with backoff when it is down.

use crate::helpers::TestApp;
use crate::letters_delivery::resident;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use jiff::SignedDuration;
use minside_core::letters::webhook::sign;
use minside_core::person::CandidateGroup;
use minside_core::ports::{Clock, Store};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Sink {
    /// (signature header, body) of every accepted call.
    calls: Vec<(String, Vec<u8>)>,
    /// Calls to refuse (503) before accepting.
    fail_first: usize,
    refused: usize,
}

type Shared = Arc<Mutex<Sink>>;

async fn start_sink(fail_first: usize) -> (String, Shared) {
    let sink: Shared = Arc::new(Mutex::new(Sink {
        fail_first,
        ..Sink::default()
    }));
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |State(s): State<Shared>, headers: HeaderMap, body: axum::body::Bytes| async move {
                    let mut s = s.lock().unwrap();
                    if s.refused < s.fail_first {
                        s.refused += 1;
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let sig = headers
                        .get("minside-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    s.calls.push((sig, body.to_vec()));
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .with_state(sink.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, sink)
}

async fn app_with_webhook(url: &str) -> TestApp {
    let mut config = crate::helpers::test_config(crate::helpers::fresh_database_url().await);
    config.api_clients[0].webhook_url = url.to_owned();
    config.api_clients[0].webhook_secret = minside::config::Secret("hemmelig-nøkkel".into());
    TestApp::spawn_with(config).await
}

/// Every event received, after checking each call's signature.
fn received(sink: &Shared) -> Vec<Value> {
    let s = sink.lock().unwrap();
    let mut events = Vec::new();
    for (sig, body) in &s.calls {
        let t: i64 = sig
            .split(',')
            .next()
            .unwrap()
            .trim_start_matches("t=")
            .parse()
            .unwrap();
        assert_eq!(
            sig,
            &sign("hemmelig-nøkkel", t, body),
            "signed with the client's secret"
        );
        let v: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["client_id"], crate::helpers::API_CLIENT);
        events.extend(v["events"].as_array().unwrap().iter().cloned());
    }
    events
}

async fn send(app: &TestApp, fnr: &str, sender_ref: &str) -> String {
    app.send_letter_ok(&json!({"sender_ref": sender_ref, "recipient": {"fodselsnummer": fnr},
            "title": "Tilbud om barnehageplass", "sender_unit": "Barnehage", "body": "Du har fått plass.",
            "response_options": [{"code": "accept", "label": "Ta imot plassen"}, {"code": "decline", "label": "Takk nei"}],
            "response_deadline": (app.clock.now() + SignedDuration::from_hours(24 * 20)).to_string()})).await
}

#[tokio::test]
async fn every_letter_event_reaches_the_senders_webhook_signed_and_in_order() {
    let (url, sink) = start_sink(0).await;
    let app = app_with_webhook(&url).await;
    let kari = resident(&app, true).await;
    let id = send(&app, kari.fnr.as_str(), "w-1").await;
    app.run_jobs().await;
    let letter_id = app.read_letter(&kari.fnr, &id).await;
    app.store
        .answer_letter(letter_id, "accept", &kari.fnr, app.clock.now(), &[])
        .await
        .unwrap();
    app.run_jobs().await;
    app.run_jobs().await;

    let events = received(&sink);
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(names.first(), Some(&"created"));
    assert!(names.contains(&"notified"), "{names:?}");
    assert_eq!(&names[names.len() - 2..], ["read", "answered"]);
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "in order, none twice: {ids:?}"
    );
    let answered = events.last().unwrap();
    assert_eq!(answered["letter"], id.as_str());
    assert_eq!(answered["sender_ref"], "w-1");
    assert_eq!(answered["detail"]["option"], "accept");
    assert!(answered["at"].as_str().unwrap().ends_with('Z'));
    let notified = events.iter().find(|e| e["event"] == "notified").unwrap();
    assert!(["email", "sms"].contains(&notified["detail"]["channel"].as_str().unwrap()));
}

#[tokio::test]
async fn a_webhook_that_is_down_is_retried_with_backoff_and_then_gets_everything_once() {
    let (url, sink) = start_sink(2).await;
    let app = app_with_webhook(&url).await;
    let reserved = app.first_candidate(CandidateGroup::Reserved).await;
    let id = send(&app, reserved.fnr.as_str(), "w-2").await;
    app.run_jobs().await;
    assert!(sink.lock().unwrap().calls.is_empty());
    assert_eq!(sink.lock().unwrap().refused, 1);
    app.run_jobs().await;
    assert_eq!(
        sink.lock().unwrap().refused,
        1,
        "not before the backoff has passed"
    );

    app.clock.advance(SignedDuration::from_secs(31));
    app.run_jobs().await;
    assert_eq!(sink.lock().unwrap().refused, 2, "the second try after 30 s");
    app.clock.advance(SignedDuration::from_secs(61));
    app.run_jobs().await;
    app.run_jobs().await;
    let events = received(&sink);
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["created", "sent_to_print", "printed"],
        "the reserved resident's letter went to paper"
    );
    assert_eq!(events[2]["letter"], id.as_str());
    assert!(events[2]["detail"]["batch"].is_string());

    app.run_jobs().await;
    assert_eq!(received(&sink).len(), 3, "nothing is sent twice");
}
