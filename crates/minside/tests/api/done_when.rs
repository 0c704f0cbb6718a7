//! The letters issue's "done when", at full size: a back-office system sends 10,000 letters through
//! the API, residents read and answer them in the portal, the reserved and the unread get paper,
//! the sender sees every event (webhook), and the statistics add up to exactly what happened.

use crate::helpers::{fresh_database_url, test_config, TestApp};
use axum::http::StatusCode;
use jiff::SignedDuration;
use minside_core::delivery::{decide_channel, Channel, LetterKind};
use minside_core::person::LoginCandidate;
use minside_core::ports::{Clock, Store};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

type Events = Arc<Mutex<Vec<Value>>>;

async fn webhook_sink() -> (String, Events) {
    let events: Events = Arc::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |axum::extract::State(e): axum::extract::State<Events>,
                 axum::Json(body): axum::Json<Value>| async move {
                    e.lock()
                        .unwrap()
                        .extend(body["events"].as_array().unwrap().iter().cloned());
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .with_state(events.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "10,000 letters take a minute or two: scripts/test runs it"]
async fn ten_thousand_letters_from_the_api_to_the_statistics() {
    // MINSIDE_LETTERS sets a smaller run while developing.
    let letters_total: usize = crate::helpers::env("MINSIDE_LETTERS")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let started = std::time::Instant::now();
    let phase = |name: &str| eprintln!("{name}: {:.1} s", started.elapsed().as_secs_f64());
    let (hook, events) = webhook_sink().await;
    let mut config = test_config(fresh_database_url().await);
    config.seed.persons = 600;
    config.api_clients[0].webhook_url = hook;
    config.api_clients[0].webhook_secret = minside::config::Secret("s".into());
    let app = Arc::new(TestApp::spawn_with(config).await);
    app.clock.set("2027-03-09T08:00:00Z".parse().unwrap()); // a Tuesday, 09:00 in Oslo

    let mut seen = HashSet::new();
    let mut digital = Vec::new();
    let mut paper = Vec::new();
    for c in app.store.login_candidates(100).await.unwrap() {
        if !seen.insert(c.fnr.as_str().to_owned()) {
            continue;
        }
        let record = app.store.contact_record(&c.fnr).await.unwrap();
        let on_screen = record.is_some_and(|r| {
            matches!(
                decide_channel(LetterKind::Formal, &r, app.clock.now()),
                Channel::Digital(_)
            )
        });
        if on_screen {
            digital.push(c)
        } else {
            paper.push(c)
        }
    }
    assert!(
        digital.len() >= 20 && paper.len() >= 5,
        "{} / {}",
        digital.len(),
        paper.len()
    );
    let recipients: Vec<LoginCandidate> = digital.iter().chain(paper.iter()).cloned().collect();

    // The back-office system sends, eight requests at a time.
    let deadline = (app.clock.now() + SignedDuration::from_hours(24 * 30)).to_string();
    // One client and one token, as a real integration would hold them (the test clock stands still).
    let http = reqwest::Client::new();
    let token = app.api_token("minside:letters.write");
    let mut sent: Vec<(String, String, bool)> = Vec::with_capacity(letters_total); // (id, fnr, has options)
    for chunk in (0..letters_total).collect::<Vec<_>>().chunks(8) {
        let mut tasks = Vec::new();
        for &i in chunk {
            let to = recipients[i % recipients.len()].fnr.as_str().to_owned();
            let (app, deadline, http, token) =
                (app.clone(), deadline.clone(), http.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                let options = i % 4 == 0;
                let mut body = json!({"sender_ref": format!("big-{i}"), "recipient": {"fodselsnummer": to},
                    "title": format!("Melding {i}"), "sender_unit": if i % 2 == 0 { "Barnehage" } else { "Byggesak" },
                    "body": "Tekst."});
                if options {
                    body["response_options"] = json!([{"code": "ja", "label": "Ja"}, {"code": "nei", "label": "Nei"}]);
                    body["response_deadline"] = json!(deadline);
                }
                let r = http.post(app.url("/api/v1/letters")).bearer_auth(&token).json(&body).send().await.unwrap();
                assert_eq!(r.status(), 201);
                (r.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned(), to, options)
            }));
        }
        for t in tasks {
            sent.push(t.await.unwrap());
        }
    }
    phase("sent");
    app.drain_jobs().await;
    phase("notified");

    // Residents on screen log in and open every other letter; they answer the ones that ask.
    let mut opened = HashSet::new();
    let mut answered = HashSet::new();
    let by_person: HashMap<&str, Vec<&(String, String, bool)>> =
        sent.iter().fold(HashMap::new(), |mut m, l| {
            m.entry(l.1.as_str()).or_default().push(l);
            m
        });
    for person in &digital {
        let Some(letters) = by_person.get(person.fnr.as_str()) else {
            continue;
        };
        app.login_citizen(Some(person.fnr.as_str()), "idporten-loa-substantial")
            .await;
        for (k, (id, _, options)) in letters.iter().enumerate() {
            if k % 2 == 1 {
                continue;
            }
            let (status, _, html) = app.get_html(&format!("/min-side/meldinger/{id}")).await;
            assert_eq!(status, 200);
            opened.insert(id.clone());
            if *options {
                let csrf = crate::helpers::form_value(&html, "csrf").unwrap();
                let r = app
                    .client
                    .post(app.url(&format!("/min-side/meldinger/{id}/svar")))
                    .form(&[
                        ("csrf", csrf.as_str()),
                        ("option", "ja"),
                        ("confirm", "yes"),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                answered.insert(id.clone());
            }
        }
    }

    phase("read and answered");
    // A week later the unread have gone to print.
    app.clock.advance(SignedDuration::from_hours(24 * 7));
    app.drain_jobs().await;
    phase("printed");
    let counts = app.store.job_counts().await.unwrap();
    assert_eq!((counts.running, counts.dead), (0, 0));

    // Every letter is either read on screen or printed, never both, never neither.
    let mut printed = HashSet::new();
    for dir in std::fs::read_dir(&app.config.print_dir).unwrap().flatten() {
        let m: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap())
                .unwrap();
        for l in m["letters"].as_array().unwrap() {
            assert!(
                printed.insert(l["letter"].as_str().unwrap().to_owned()),
                "printed twice"
            );
        }
    }
    for (id, _, _) in &sent {
        assert!(
            opened.contains(id) ^ printed.contains(id),
            "letter {id}: read {} printed {}",
            opened.contains(id),
            printed.contains(id)
        );
    }

    // The sender saw every event once.
    let events = events.lock().unwrap().clone();
    let mut per: HashMap<(String, String), usize> = HashMap::new();
    let mut ids = HashSet::new();
    for e in &events {
        assert!(
            ids.insert(e["id"].as_i64().unwrap()),
            "an event delivered twice"
        );
        *per.entry((
            e["letter"].as_str().unwrap().to_owned(),
            e["event"].as_str().unwrap().to_owned(),
        ))
        .or_default() += 1;
    }
    for (id, _, _) in &sent {
        let n = |ev: &str| per.get(&(id.clone(), ev.to_owned())).copied().unwrap_or(0);
        assert_eq!(n("created"), 1);
        assert_eq!(n("read"), usize::from(opened.contains(id)));
        assert_eq!(n("answered"), usize::from(answered.contains(id)));
        assert_eq!(n("printed"), usize::from(printed.contains(id)));
    }

    // And the statistics add up.
    let stats: Value = app
        .api_get(
            "/api/v1/statistics/letters?from=2027-03&to=2027-03",
            "minside:statistics.read",
        )
        .await
        .json()
        .await
        .unwrap();
    let t = &stats["totals"];
    assert_eq!(t["sent"], letters_total);
    assert_eq!(t["read_digitally"], opened.len());
    assert_eq!(t["printed"], printed.len());
    assert_eq!(t["answered"], answered.len());
    assert_eq!(t["money_saved_nok"], 22 * opened.len());
    eprintln!(
        "{letters_total} letters: {} read on screen ({} answered), {} printed, {} events to the sender",
        opened.len(),
        answered.len(),
        printed.len(),
        events.len()
    );
}
