//! Scaling out: one worker's lanes share the queue and never run a job twice (any engine); on
//! PostgreSQL two `minside worker` processes beside the server share the queue and never run a
//! job twice, one is killed mid-batch, a new one takes over, and every letter ends up notified or
//! printed exactly once (scripts/test runs that one).

use crate::helpers::{env, fresh_database_url, test_config, TestApp};
use minside_core::person::{CandidateGroup, LoginCandidate};
use minside_core::ports::{Clock, Store};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_minside");

fn worker(config_file: &std::path::Path, log: &std::path::Path) -> Child {
    Command::new(BIN)
        .args(["worker", "--config"])
        .arg(config_file)
        .env("RUST_LOG", "info,sqlx=warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

async fn pg(url: &str) -> sqlx::PgConnection {
    <sqlx::PgConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap()
}

/// Jobs that are due or running (the ones the workers still owe).
async fn owed(url: &str) -> i64 {
    let now = minside::clock::SystemClock.now().as_microsecond();
    sqlx::query_scalar::<_, i64>(
        "select count(*) from jobs where status = 'running' or (status = 'pending' and run_at <= $1)",
    )
    .bind(now)
    .fetch_one(&mut pg(url).await)
    .await
    .unwrap()
}

async fn wait_until_settled(url: &str, within: Duration) {
    let start = Instant::now();
    while owed(url).await > 0 {
        assert!(
            start.elapsed() < within,
            "the workers did not finish in {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn printed_in_batches(print_dir: &str) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for dir in std::fs::read_dir(print_dir).into_iter().flatten().flatten() {
        let path = dir.path();
        if path.file_name().unwrap().to_string_lossy().starts_with('.') {
            continue; // an unfinished batch (a killed worker's temporary folder)
        }
        let m: Value =
            serde_json::from_slice(&std::fs::read(path.join("manifest.json")).unwrap()).unwrap();
        for l in m["letters"].as_array().unwrap() {
            *seen
                .entry(l["letter"].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
        }
    }
    seen
}

async fn send(app: &TestApp, to: &LoginCandidate, i: usize) -> String {
    app.send_letter_ok(
        &json!({"sender_ref": format!("w-{i}"), "recipient": {"fodselsnummer": to.fnr.as_str()},
            "title": "Vedtak", "sender_unit": "Byggesak", "body": format!("Brev nummer {i}.")}),
    )
    .await
}

/// One worker with four lanes (the default): the lanes share the queue like separate workers,
/// and every job runs exactly once. On SQLite in plain `cargo test`, on PostgreSQL in the suite.
#[tokio::test]
async fn a_workers_lanes_share_the_queue_and_run_every_job_once() {
    let app = TestApp::spawn().await;
    let reachable = crate::letters_delivery::resident(&app, true).await;
    let mut ids = Vec::new();
    for i in 0..120 {
        ids.push(send(&app, &reachable, i).await);
    }
    let handlers = minside::job_handlers(
        std::sync::Arc::new(app.store.clone()),
        app.clock.clone(),
        app.notifier.clone(),
        &app.config,
        &app.address,
    );
    let worker = tokio::spawn(minside::run_worker(
        app.store.clone(),
        app.clock.clone(),
        handlers,
        Vec::new(),
        minside_core::jobs::RetryPolicy::default(),
        jiff::SignedDuration::ZERO,
        4,
    ));
    let start = Instant::now();
    loop {
        let c = app.store.job_counts().await.unwrap();
        if c.running == 0 && c.done >= 120 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "not done: {c:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.abort();
    let c = app.store.job_counts().await.unwrap();
    assert_eq!(
        (c.done, c.dead),
        (120, 0),
        "one notice job per letter, all done"
    );
    for id in &ids {
        let status = app.letter_status(id).await;
        assert_eq!(
            crate::helpers::events_named(&status, "notified").len(),
            1,
            "letter {id} notified exactly once: {status}"
        );
    }
    assert_eq!(
        app.notifier.sent.lock().unwrap().len(),
        120,
        "one notice per letter"
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL and the minside binary: scripts/test runs it with MINSIDE_TEST_DATABASE_URL"]
async fn two_worker_processes_share_the_queue_and_a_killed_one_loses_and_duplicates_nothing() {
    assert!(
        env("MINSIDE_TEST_DATABASE_URL").is_some(),
        "set MINSIDE_TEST_DATABASE_URL to a PostgreSQL server"
    );
    let url = fresh_database_url().await;
    let mut config = test_config(url.clone());
    config.letters.print_batch_size = 25;
    config.job_lease_seconds = 3;
    // One lane each, so that the two processes (not one process's lanes) share the work.
    config.worker_lanes = 1;
    let app = TestApp::spawn_with(config.clone()).await;

    let paper = app.first_candidate(CandidateGroup::Reserved).await;
    let reachable = crate::letters_delivery::resident(&app, true).await;
    let dir = std::env::temp_dir().join(format!(
        "minside-workers-{}",
        minside_web::security::random_token()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect::<String>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("worker.toml");
    std::fs::write(&file, toml::to_string(&config).unwrap()).unwrap();
    let mut conn = pg(&url).await;

    // Round 1: 200 letters (a third notified, the rest printed at once), two workers, no crash:
    // every job runs exactly once.
    let mut to_paper = Vec::new();
    let mut to_screen = Vec::new();
    for i in 0..200 {
        if i % 3 == 0 {
            to_screen.push(send(&app, &reachable, i).await);
        } else {
            to_paper.push(send(&app, &paper, i).await);
        }
    }
    let mut a = worker(&file, &dir.join("a.log"));
    let mut b = worker(&file, &dir.join("b.log"));
    wait_until_settled(&url, Duration::from_secs(90)).await;
    let twice: i64 = sqlx::query_scalar(
        "select count(*) from jobs where (status = 'done' and attempts <> 1) or (status <> 'done' and run_at <= $1)",
    )
    .bind(minside::clock::SystemClock.now().as_microsecond())
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        twice, 0,
        "two workers never run a job twice (and leave nothing due)"
    );
    // Log lines are written out in batches, at most 50 ms after they are logged.
    let read_logs = || {
        (
            std::fs::read_to_string(dir.join("a.log")).unwrap(),
            std::fs::read_to_string(dir.join("b.log")).unwrap(),
        )
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let (mut log_a, mut log_b) = read_logs();
    while !(log_a.contains("jobs run") && log_b.contains("jobs run")) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        (log_a, log_b) = read_logs();
    }
    assert!(
        log_a.contains("jobs run") && log_b.contains("jobs run"),
        "both workers took work"
    );

    // Round 2: 250 more letters for paper; worker a is killed as soon as the first new batch is
    // out (mid-way through its claims); a new worker takes over after the lease.
    let before = printed_in_batches(&config.print_dir).len();
    for i in 200..450 {
        to_paper.push(send(&app, &paper, i).await);
    }
    let start = Instant::now();
    while printed_in_batches(&config.print_dir).len() == before {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no batch within a minute"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    a.kill().unwrap();
    a.wait().unwrap();
    let mut c = worker(&file, &dir.join("c.log"));
    wait_until_settled(&url, Duration::from_secs(90)).await;
    for w in [&mut b, &mut c] {
        w.kill().unwrap();
        w.wait().unwrap();
    }

    let batches = printed_in_batches(&config.print_dir);
    for id in &to_paper {
        assert_eq!(
            batches.get(id),
            Some(&1),
            "letter {id} is in exactly one batch"
        );
        let s = app.letter_status(id).await;
        assert_eq!(s["status"], "PRINTET");
        let printed = s["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == "printed")
            .count();
        assert_eq!(printed, 1);
    }
    assert_eq!(batches.len(), to_paper.len(), "nothing else was printed");
    let emails_expected = {
        let record = app
            .store
            .contact_record(&reachable.fnr)
            .await
            .unwrap()
            .unwrap();
        match minside_core::delivery::decide_channel(
            minside_core::delivery::LetterKind::Formal,
            &record,
            minside::clock::SystemClock.now(),
        ) {
            minside_core::delivery::Channel::Digital(n) => usize::from(n.email.is_some()),
            _ => 0,
        }
    };
    for id in &to_screen {
        let s = app.letter_status(id).await;
        let emails = s["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == "notified" && e["detail"]["channel"] == "email")
            .count();
        assert_eq!(
            emails, emails_expected,
            "letter {id}: one e-mail notice, never two"
        );
    }
    let dead: i64 = sqlx::query_scalar("select count(*) from jobs where status = 'dead'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(dead, 0);
    let taken_over: i64 = sqlx::query_scalar("select count(*) from jobs where attempts > 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    eprintln!("jobs taken over from the killed worker: {taken_over}");
}
