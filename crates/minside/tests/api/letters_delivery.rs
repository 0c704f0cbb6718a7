//! Guaranteed delivery, decided when a letter arrives: the jobs commit with the letter.

use crate::helpers::{fresh_database_url, test_config, TestApp};
use jiff::SignedDuration;
use minside_core::delivery::{decide_channel, Channel, LetterKind};
use minside_core::person::{CandidateGroup, LoginCandidate};
use minside_core::ports::{Clock, JobCounts, Store};
use serde_json::json;

async fn send(app: &TestApp, to: &LoginCandidate, sender_ref: &str) -> reqwest::StatusCode {
    app.post_letter(&json!({"sender_ref": sender_ref, "recipient": {"fodselsnummer": to.fnr.as_str()}, "title": "Vedtak",
                      "sender_unit": "Byggesak", "body": "Søknaden er innvilget."})).await
        .status()
}

/// A seeded resident whose register entry makes a formal letter go the way `digital` says; a
/// digital one is notified by e-mail alone, so that the notice goes out at once at any hour (SMS
/// notices wait for 09–17 local time, and which residents the generator makes depends on the
/// day: tests must not depend on the hour or the date they run at).
pub(crate) async fn resident(app: &TestApp, digital: bool) -> LoginCandidate {
    let now = app.clock.now();
    let mut found = None;
    for c in app.store.login_candidates(40).await.unwrap() {
        let record = app.store.contact_record(&c.fnr).await.unwrap().unwrap();
        let kind = decide_channel(LetterKind::Formal, &record, now);
        let by_email_alone =
            matches!(&kind, Channel::Digital(n) if n.email.is_some() && n.sms.is_none());
        let wanted = if digital {
            by_email_alone
        } else {
            !matches!(kind, Channel::Digital(_))
        };
        if wanted {
            found = Some(c);
            break;
        }
    }
    found.expect("a seeded resident of that kind")
}

/// How many fresh channels a formal letter to this resident is notified on.
async fn channels(app: &TestApp, who: &LoginCandidate) -> usize {
    let record = app.store.contact_record(&who.fnr).await.unwrap().unwrap();
    match decide_channel(LetterKind::Formal, &record, app.clock.now()) {
        Channel::Digital(n) => usize::from(n.email.is_some()) + usize::from(n.sms.is_some()),
        _ => 0,
    }
}

async fn due_kinds(app: &TestApp, after: SignedDuration) -> Vec<String> {
    let at = app.clock.now() + after;
    // A long lease: a job claimed here stays claimed for the rest of the test.
    let lease = at + SignedDuration::from_hours(24 * 30);
    app.store
        .claim_jobs(at, 50, lease, None)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.kind)
        .collect()
}

#[tokio::test]
async fn a_reachable_resident_is_notified_now_and_the_print_fallback_waits_for_the_deadline() {
    let app = TestApp::spawn().await;
    // A Tuesday at 10:00 in Oslo, in a week without holidays: SMS may go now, and the deadline
    // is Thursday morning.
    app.clock.set("2027-03-09T09:00:00Z".parse().unwrap());
    let kari = resident(&app, true).await;
    assert_eq!(send(&app, &kari, "d-1").await, 201);
    assert_eq!(send(&app, &kari, "d-1").await, 200, "a retry");
    assert_eq!(
        app.store.job_counts().await.unwrap(),
        JobCounts {
            pending: 1 + i64::try_from(channels(&app, &kari).await).unwrap(),
            ..JobCounts::default()
        },
        "one notice per fresh channel and the print fallback; a retry queues nothing more"
    );
    let first = due_kinds(&app, SignedDuration::ZERO).await;
    assert!(
        !first.is_empty()
            && first
                .iter()
                .all(|k| k == "notify_email" || k == "notify_sms"),
        "{first:?}"
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

/// A seeded resident whose formal letters are notified on the channel `pick` chooses, with the
/// address or number.
async fn reachable(
    app: &TestApp,
    pick: fn(minside_core::delivery::Notify) -> Option<String>,
) -> (LoginCandidate, String) {
    let now = app.clock.now();
    let mut found = None;
    for c in app.store.login_candidates(40).await.unwrap() {
        let record = app.store.contact_record(&c.fnr).await.unwrap().unwrap();
        if let Channel::Digital(n) = decide_channel(LetterKind::Formal, &record, now) {
            if let Some(to) = pick(n) {
                found = Some((c, to));
                break;
            }
        }
    }
    found.expect("a seeded resident reachable on that channel")
}

/// A resident reachable by e-mail for formal letters, with that address.
pub(crate) async fn emailable(app: &TestApp) -> (LoginCandidate, String) {
    reachable(app, |n| n.email).await
}

#[tokio::test]
async fn the_worker_sends_one_email_notice_without_the_content_and_the_sender_sees_varslet() {
    let app = TestApp::spawn().await;
    let (kari, email) = emailable(&app).await;
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/letters"))
        .bearer_auth(app.api_token("minside:letters.write minside:letters.read"))
        .json(&json!({"sender_ref": "n-1", "recipient": {"fodselsnummer": kari.fnr.as_str()},
                      "title": "Vedtak om barnevern", "sender_unit": "Barnevernet", "body": "Sensitivt innhold."}))
        .send()
        .await
        .unwrap();
    let id = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.run_jobs().await;
    app.run_jobs().await;
    let sent = app.notifier.sent.lock().unwrap().clone();
    let emails: Vec<_> = sent.iter().filter(|(c, _, _)| c == "email").collect();
    assert_eq!(
        emails.len(),
        1,
        "one e-mail, even when the worker runs again: {sent:?}"
    );
    assert_eq!(emails[0].1, email);
    let text = &emails[0].2;
    assert!(
        text.contains("Bergen kommune") && text.contains(&app.address),
        "{text}"
    );
    assert!(
        !text.contains("barnevern") && !text.contains("Barnevernet") && !text.contains(&id),
        "no title, sender or link to the letter: {text}"
    );
    let status: serde_json::Value = app.letter_status(&id).await;
    assert_eq!(status["status"], "VARSLET");
    assert!(status["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event"] == "notified" && e["detail"]["channel"] == "email"));
}

#[tokio::test]
async fn a_letter_read_before_the_notice_goes_out_gets_no_notice() {
    let app = TestApp::spawn().await;
    let (kari, _) = emailable(&app).await;
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/letters"))
        .bearer_auth(app.api_token("minside:letters.write"))
        .json(
            &json!({"sender_ref": "n-2", "recipient": {"fodselsnummer": kari.fnr.as_str()},
                      "title": "Vedtak", "sender_unit": "Byggesak", "body": "Innvilget."}),
        )
        .send()
        .await
        .unwrap();
    let id = res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.login_citizen(Some(kari.fnr.as_str()), "idporten-loa-substantial")
        .await;
    app.get_html(&format!("/min-side/meldinger/{id}")).await;
    app.run_jobs().await;
    assert!(app.notifier.sent.lock().unwrap().is_empty());
}

async fn send_offer(
    app: &TestApp,
    to: &LoginCandidate,
    sender_ref: &str,
    deadline_in: SignedDuration,
) -> String {
    let deadline = (app.clock.now() + deadline_in).to_string();
    let res = app.post_letter(&json!({"sender_ref": sender_ref, "recipient": {"fodselsnummer": to.fnr.as_str()}, "title": "Tilbud",
                      "sender_unit": "Barnehageetaten", "body": "Tilbud om plass.", "response_deadline": deadline,
                      "response_options": [{"code": "accept", "label": "Ta imot plassen"}]})).await;
    res.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn reminders(app: &TestApp) -> usize {
    app.notifier
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, _, text)| {
            text.contains("Husk å svare")
                || text.contains("Hugs å svare")
                || text.contains("Remember to answer")
        })
        .count()
}

#[tokio::test]
async fn a_reminder_goes_out_three_days_before_the_deadline_and_not_once_answered() {
    let app = TestApp::spawn().await;
    let (kari, _) = emailable(&app).await;
    let open = send_offer(&app, &kari, "remind-1", SignedDuration::from_hours(24 * 5)).await;
    let answered = send_offer(&app, &kari, "remind-2", SignedDuration::from_hours(24 * 5)).await;
    app.run_jobs().await;
    assert_eq!(reminders(&app), 0, "not yet");

    app.login_citizen(Some(kari.fnr.as_str()), "idporten-loa-substantial")
        .await;
    let (_, _, page) = app
        .get_html(&format!("/min-side/meldinger/{answered}"))
        .await;
    let csrf = crate::helpers::form_value(&page, "csrf").unwrap();
    app.client
        .post(app.url(&format!("/min-side/meldinger/{answered}/svar")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("option", "accept"),
            ("confirm", "yes"),
        ])
        .send()
        .await
        .unwrap();

    app.clock
        .advance(SignedDuration::from_hours(24 * 2) + SignedDuration::from_mins(1));
    app.run_jobs().await;
    assert_eq!(
        reminders(&app),
        1,
        "one reminder, for the unanswered offer only"
    );
    let status: serde_json::Value = app.letter_status(&open).await;
    assert!(
        status["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "reminded"),
        "{status}"
    );
}

/// A reminder names the deadline's day in the configured zone (`letters.timezone`): a deadline
/// at 08:00 UTC is the day before in American Samoa (UTC−11).
#[tokio::test]
async fn a_reminder_names_the_deadline_in_the_configured_zone() {
    use jiff::tz::TimeZone;
    let mut config = test_config(fresh_database_url().await);
    config.letters.timezone = "Pacific/Pago_Pago".into();
    let app = TestApp::spawn_with(config).await;
    let (kari, _) = emailable(&app).await;
    let now = app.clock.now();
    let deadline = (now + SignedDuration::from_hours(24 * 5))
        .to_zoned(TimeZone::UTC)
        .date()
        .at(8, 0, 0, 0)
        .to_zoned(TimeZone::UTC)
        .unwrap()
        .timestamp();
    send_offer(&app, &kari, "remind-zone", deadline.duration_since(now)).await;
    app.run_jobs().await;
    app.clock.advance(
        deadline.duration_since(now) - SignedDuration::from_hours(24 * 3)
            + SignedDuration::from_mins(1),
    );
    app.run_jobs().await;
    assert_eq!(reminders(&app), 1);
    let day = |zone: &str| {
        deadline
            .to_zoned(TimeZone::get(zone).unwrap())
            .strftime("%d.%m.%Y")
            .to_string()
    };
    assert_ne!(day("Pacific/Pago_Pago"), day("Europe/Oslo"));
    let sent = app.notifier.sent.lock().unwrap().clone();
    let reminder = sent
        .iter()
        .map(|(_, _, text)| text)
        .find(|text| {
            ["Husk å svare", "Hugs å svare", "Remember to answer"]
                .iter()
                .any(|r| text.contains(r))
        })
        .unwrap();
    assert!(reminder.contains(&day("Pacific/Pago_Pago")), "{reminder}");
}

/// A resident reachable by SMS for formal letters, with that number.
async fn textable(app: &TestApp) -> (LoginCandidate, String) {
    reachable(app, |n| n.sms).await
}

#[tokio::test]
async fn sms_notices_reach_the_providers_http_api_with_the_token() {
    use axum::extract::State;
    use axum::http::HeaderMap;
    use std::sync::{Arc, Mutex};
    type Seen = Arc<Mutex<Vec<(String, serde_json::Value)>>>;
    let seen: Seen = Arc::default();
    let sink = axum::Router::new()
        .route(
            "/send",
            axum::routing::post(
                |State(seen): State<Seen>,
                 headers: HeaderMap,
                 axum::Json(body): axum::Json<serde_json::Value>| async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    seen.lock().unwrap().push((auth, body));
                    "ok"
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sink_url = format!("http://{}/send", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, sink).await });

    let mut config = crate::helpers::test_config(crate::helpers::fresh_database_url().await);
    config.sms.url = sink_url;
    config.sms.token = minside::config::Secret("sms-token".into());
    config.sms.sender = "Bergen".into();
    let app = TestApp::spawn_with(config).await;
    let (kari, mobile) = textable(&app).await;
    let res = app.post_letter(&json!({"sender_ref": "sms-1", "recipient": {"fodselsnummer": kari.fnr.as_str()}, "title": "Vedtak",
                      "sender_unit": "Byggesak", "body": "Innvilget."})).await;
    assert_eq!(res.status(), 201);
    // Whatever the hour now, a day later the 09–17 window has come round.
    app.clock.advance(SignedDuration::from_hours(24));
    app.run_jobs_with(minside::smtp::notifier(&app.config).unwrap())
        .await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, "Bearer sms-token");
    assert_eq!(seen[0].1["to"], mobile);
    assert_eq!(seen[0].1["from"], "Bergen");
    assert!(seen[0].1["text"]
        .as_str()
        .unwrap()
        .contains("Bergen kommune"));
    assert!(
        !seen[0].1["text"].as_str().unwrap().contains("Vedtak"),
        "no title in the SMS"
    );
}

/// E-mail that does not get through to one address for now (its provider is down).
struct DownFor {
    address: String,
    sent: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl minside_core::ports::Notifier for DownFor {
    async fn send_email(
        &self,
        to: &str,
        _subject: &str,
        _body: &str,
    ) -> Result<(), minside_core::ports::NotifyError> {
        if to == self.address {
            return Err(minside_core::ports::NotifyError::Temporary(
                "mail server for this address is down".into(),
            ));
        }
        self.sent.lock().unwrap().push(to.to_owned());
        Ok(())
    }
    async fn send_sms(
        &self,
        _to: &str,
        _text: &str,
    ) -> Result<(), minside_core::ports::NotifyError> {
        Ok(())
    }
}

/// The worker takes a claim's notices together (one read of the letters, one of the contact
/// records, one write recording them), and still gives each job its own outcome: every unread
/// letter of the claim gets its one notice, a letter read meanwhile gets none, and a notice that
/// cannot go out now is retried alone while the others are recorded as sent.
#[tokio::test]
async fn a_claims_notices_go_out_together_and_each_job_keeps_its_own_outcome() {
    let app = TestApp::spawn().await;
    let now = app.clock.now();
    let mut reachable_by_email = Vec::new();
    for c in app.store.login_candidates(60).await.unwrap() {
        let record = app.store.contact_record(&c.fnr).await.unwrap().unwrap();
        if let Channel::Digital(n) = decide_channel(LetterKind::Formal, &record, now) {
            if let (Some(email), None) = (n.email, n.sms) {
                if !reachable_by_email.iter().any(|(_, e)| *e == email) {
                    reachable_by_email.push((c, email));
                }
            }
        }
    }
    assert!(
        reachable_by_email.len() >= 2,
        "two residents reachable by e-mail alone"
    );
    let (kari, kari_email) = reachable_by_email[0].clone();
    let (ola, ola_email) = reachable_by_email[1].clone();
    let mut id_of = std::collections::HashMap::new();
    for (to, sender_ref) in [
        (&kari, "k-1"),
        (&kari, "k-2"),
        (&kari, "k-3"),
        (&kari, "k-read"),
        (&ola, "o-1"),
    ] {
        let res = app
            .post_letter(&json!({"sender_ref": sender_ref, "recipient": {"fodselsnummer": to.fnr.as_str()},
                                 "title": "Vedtak", "sender_unit": "Byggesak", "body": "Innvilget."}))
            .await;
        assert_eq!(res.status(), reqwest::StatusCode::CREATED);
        let id = res.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        id_of.insert(sender_ref, id);
    }
    app.login_citizen(Some(kari.fnr.as_str()), "idporten-loa-substantial")
        .await;
    app.get_html(&format!("/min-side/meldinger/{}", id_of["k-read"]))
        .await;

    let down_for_ola = std::sync::Arc::new(DownFor {
        address: ola_email.clone(),
        sent: Default::default(),
    });
    let report = app.run_jobs_with(down_for_ola.clone()).await;
    assert_eq!((report.retried, report.dead), (1, 0), "{report:?}");
    assert_eq!(
        *down_for_ola.sent.lock().unwrap(),
        vec![kari_email.clone(); 3],
        "one notice for each of Kari's unread letters, none for the one she read"
    );
    for sender_ref in ["k-1", "k-2", "k-3"] {
        let status = app.letter_status(&id_of[sender_ref]).await;
        assert_eq!(status["status"], "VARSLET", "{sender_ref}: {status}");
        let notified = status["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == "notified" && e["detail"]["channel"] == "email")
            .count();
        assert_eq!(notified, 1, "{sender_ref}: {status}");
    }
    let ola_letter = app.letter_status(&id_of["o-1"]).await;
    assert_eq!(ola_letter["status"], "AKSEPTERT", "{ola_letter}");

    // Ola's notice alone is tried again once its retry is due, and now goes out.
    app.clock.advance(SignedDuration::from_hours(1));
    app.run_jobs().await;
    let sent = app.notifier.sent.lock().unwrap().clone();
    let to: Vec<&str> = sent.iter().map(|(_, to, _)| to.as_str()).collect();
    assert_eq!(to, [ola_email.as_str()], "{sent:?}");
    assert_eq!(app.letter_status(&id_of["o-1"]).await["status"], "VARSLET");
}
