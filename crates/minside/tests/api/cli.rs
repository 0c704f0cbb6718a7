//! The binary as an operator meets it: demo, check-config, serve refusals, migrate and seed.

use crate::helpers::fresh_database_url;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_minside");

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "minside-cli-{name}-{}",
        minside_web::security::random_token()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect::<String>()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `minside demo` on a free loopback port with `persons` residents and its data in `data`.
fn demo(data: &std::path::Path, persons: u32) -> Command {
    let mut c = Command::new(BIN);
    c.args(["demo", "--listen", "127.0.0.1:0", "--persons"])
        .arg(persons.to_string())
        .arg("--data")
        .arg(data);
    c
}

/// Starts `cmd` (its log left out) and waits for the first line it prints.
fn started(cmd: &mut Command) -> (std::process::Child, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let first = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    (child, first)
}

#[test]
fn check_config_names_every_missing_production_key_and_masks_secrets() {
    let dir = temp_dir("check");
    let file = dir.join("minside.toml");
    std::fs::write(&file, "database_url = \"postgres://minside:hunter2@db.example/minside\"\nsession_secret = \"short\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["check-config", "--config"])
        .arg(&file)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains("hunter2") && !stdout.contains("\"short\""),
        "{stdout}"
    );
    for key in [
        "public_url",
        "session_secret",
        "citizen_idp.issuer",
        "citizen_idp.client_secret",
        "staff_idp.issuer",
    ] {
        assert!(stderr.contains(key), "{key} not named: {stderr}");
    }
}

#[test]
fn serve_refuses_the_test_idp_unless_the_environment_is_test() {
    let dir = temp_dir("serve");
    let file = dir.join("minside.toml");
    std::fs::write(
        &file,
        "environment = \"production\"\n[test_idp]\nenabled = true\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("test_idp.enabled"));
}

#[tokio::test]
async fn migrate_and_seed_work_against_a_fresh_database() {
    let url = fresh_database_url().await;
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env("MINSIDE_DATABASE_URL", &url)
            .env("MINSIDE_ENVIRONMENT", "test")
            .output()
            .unwrap()
    };
    let m = run(&["migrate"]);
    assert!(m.status.success(), "{}", String::from_utf8_lossy(&m.stderr));
    let s = run(&["seed", "--persons", "300"]);
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    assert!(String::from_utf8_lossy(&s.stdout).contains("seeded 300 persons"));
    seeded_history_is_realistic_and_summarised(&url).await;
    // The front page's lists are written with the register data, equal to it.
    sqlx::any::install_default_drivers();
    let (owners, guardians) = crate::helpers::front_page_lists_equal_the_register(
        &sqlx::AnyPool::connect(&url).await.unwrap(),
    )
    .await;
    assert!(
        owners > 50 && guardians > 20,
        "{owners} owners, {guardians} guardians"
    );
    if url.starts_with("postgres") {
        // The bulk load leaves the planner's statistics current (not the empty tables' ones).
        let db = sqlx::AnyPool::connect(&url).await.unwrap();
        let stale: i64 = sqlx::Row::get(
            &sqlx::query(
                "select count(*) as n from pg_stat_user_tables where relname in \
                 ('persons', 'property_owners', 'guardianships', 'letters', 'person_summaries') \
                 and last_analyze is null",
            )
            .fetch_one(&db)
            .await
            .unwrap(),
            "n",
        );
        assert_eq!(stale, 0, "every bulk-loaded table analyzed by the seed");
    }
}

/// The bulk-loaded history (about 16.7 letters per resident by default): every letter to a
/// resident ended read, printed, or notified and waiting (only in the last week), each with the
/// events of that state; and every resident's summary row equals a recount of their letters.
async fn seeded_history_is_realistic_and_summarised(url: &str) {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(url).await.unwrap();
    let one = |sql: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query(sql)
                .fetch_one(&db)
                .await
                .unwrap()
                .try_get::<i64, _>(0)
                .unwrap()
        }
    };
    let letters = one("select count(*) from letters").await;
    assert!((300 * 12..300 * 22).contains(&letters), "{letters} letters");
    let read = one("select count(*) from letters where read_at is not null and printed_at is null and status = 'LEST'").await;
    let printed = one("select count(*) from letters where printed_at is not null and read_at is null and status = 'PRINTET'").await;
    let week_micros = 7 * 24 * 3600 * 1_000_000_i64;
    let waiting: i64 = sqlx::query(
        "select count(*) from letters where read_at is null and printed_at is null \
         and status in ('VARSLET', 'AKSEPTERT') and created_at > (select max(created_at) from letters) - $1",
    )
    .bind(week_micros)
    .fetch_one(&db)
    .await
    .unwrap()
    .try_get(0)
    .unwrap();
    assert_eq!(
        read + printed + waiting,
        letters,
        "each letter in exactly one end state"
    );
    assert!(
        read > letters / 2 && printed > letters / 10,
        "{read} read, {printed} printed"
    );
    assert!(one("select count(*) from letters where answered_at is not null").await > 0);
    assert_eq!(
        one("select count(*) from letters where print_queued_at is not null and print_batch_id is null").await,
        0,
        "no printed history letter waits in the print queue (the worker would print it again)"
    );
    // Printed history comes in batches of at most 500 letters, as the print job makes them
    // (one batch of thousands made PostgreSQL plan every batch's load as if for thousands).
    assert!(
        printed > 500,
        "{printed} printed: enough for more than one batch"
    );
    assert_eq!(
        one("select count(*) from print_batches b where b.letter_count > 500 or b.state <> 'delivered' \
             or b.letter_count <> (select count(*) from letters l where l.print_batch_id = b.id)")
        .await,
        0,
        "every history batch delivered, with at most 500 letters, all of them counted"
    );
    assert_eq!(
        one("select count(*) from letters where printed_at is not null and print_batch_id is null")
            .await,
        0,
        "every printed letter in a batch"
    );
    assert_eq!(
        one("select count(*) from letters l where not exists (select 1 from letter_events e where e.letter_id = l.id and e.event = 'created')").await,
        0
    );
    assert_eq!(
        one("select count(*) from letters l where (read_at is not null) <> exists (select 1 from letter_events e where e.letter_id = l.id and e.event = 'read')").await,
        0,
        "a read event exactly for the read letters"
    );
    assert_eq!(
        one("select count(*) from letters l where (printed_at is not null) <> exists (select 1 from letter_events e where e.letter_id = l.id and e.event = 'printed')").await,
        0,
        "a printed event exactly for the printed letters"
    );
    let wrong = one(
        "select count(*) from person_summaries s where s.letters <> \
           (select count(*) from letters l where l.recipient_fnr = s.fodselsnummer and l.archived_at is null) \
         or s.unread <> (select count(*) from letters l where l.recipient_fnr = s.fodselsnummer \
           and l.archived_at is null and l.read_at is null) \
         or s.to_answer <> (select count(*) from letters l where l.recipient_fnr = s.fodselsnummer \
           and l.archived_at is null and l.response_options is not null and l.answered_at is null) \
         or coalesce(s.answer_by, 0) <> coalesce((select max(response_deadline) from letters l \
           where l.recipient_fnr = s.fodselsnummer and l.archived_at is null \
           and l.response_options is not null and l.answered_at is null), 0)",
    )
    .await;
    assert_eq!(wrong, 0, "summaries equal a recount");
    assert_eq!(
        one("select count(distinct recipient_fnr) from letters").await,
        one("select count(*) from person_summaries").await,
        "one summary per recipient"
    );
}

#[tokio::test]
async fn demo_starts_with_everything_embedded_and_a_login_leaves_no_fodselsnummer_in_the_log() {
    let data = temp_dir("demo");
    let log_path = data.join("stderr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = demo(&data, 60)
        .env_remove("MINSIDE_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("minside is running at ")
        .expect(&first)
        .to_owned();
    let second = lines.next().unwrap().unwrap();
    assert!(
        second.contains("Log in as a synthetic resident"),
        "{second}"
    );
    assert_eq!(
        reqwest::get(format!("{url}/readyz"))
            .await
            .unwrap()
            .status(),
        200
    );

    // A resident logs in by typing their number, looks at "my data", and a caseworker looks them up.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let idp = browser
        .get(format!("{url}/login?loa=high"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        idp.contains("name=\"pid\""),
        "the test login page offers the pid field"
    );
    let fnr = crate::helpers::button_values(&idp, "pick").remove(0);
    let rid = crate::helpers::form_value(&idp, "request_id").unwrap();
    let page = browser
        .post(format!("{url}/test-idp/authorize"))
        .form(&[
            ("request_id", rid.as_str()),
            ("pid", fnr.as_str()),
            ("acr", "idporten-loa-high"),
        ])
        .send()
        .await
        .unwrap();
    assert!(page.url().path().ends_with("/min-side"));
    let mine = browser
        .get(format!("{url}/min-side/mine-opplysninger"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(mine.contains(&fnr));
    let staff = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let idp = staff
        .get(format!("{url}/staff/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rid = crate::helpers::form_value(&idp, "request_id").unwrap();
    let home = staff
        .post(format!("{url}/test-idp/authorize"))
        .form(&[("request_id", rid.as_str()), ("user", "saksbehandler")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = crate::helpers::form_value(&home, "csrf").unwrap();
    let found = staff
        .post(format!("{url}/staff/person"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("fnr", fnr.as_str()),
            ("purpose", "Test"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(found.status(), 200);
    // An integrator tries the API with a token from `minside dev-token`.
    let out = Command::new(BIN)
        .args(["dev-token", "--scope", "minside:persons.read", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let api = reqwest::Client::new()
        .post(format!("{url}/api/v1/persons/lookup"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"fodselsnummer": fnr, "purpose": "Prøver API-et"}))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 200);
    // A number typed into a URL by someone must not reach the log either.
    let request_lines = || {
        std::fs::read_to_string(&log_path)
            .unwrap()
            .lines()
            .filter(|l| l.contains(" status="))
            .count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&log_path)
        .unwrap()
        .contains("persons/lookup")
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = request_lines();
    let _ = reqwest::get(format!("{url}/min-side/{fnr}?fnr={fnr}"))
        .await
        .unwrap();

    // Log lines are written out in batches (at most 50 ms late): wait for the last request's.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while request_lines() <= before && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    let _ = child.wait();
    assert!(data.join("minside.db").exists() && data.join("test-idp-key.pem").exists());
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("route=/auth/callback") && log.contains("route=/staff/person"),
        "one line per request: {log}"
    );
    assert!(
        !log.contains(&fnr),
        "the log holds the fødselsnummer {fnr}:\n{log}"
    );
    assert!(
        !log.contains(&fnr[..6]) || !log.contains(&fnr[6..]),
        "no number in two pieces either"
    );
}

/// An operator (or the benchmark) runs the demo against a database of their own: the named one is
/// migrated and seeded, and no embedded database appears in the data directory.
#[tokio::test]
async fn demo_uses_a_database_named_in_the_environment() {
    let url = fresh_database_url().await;
    let data = temp_dir("demo-db");
    let mut demo = demo(&data, 25);
    let (mut child, first) = started(demo.env("MINSIDE_DATABASE_URL", &url));
    child.kill().unwrap();
    let _ = child.wait();
    assert!(first.starts_with("minside is running at "), "{first}");
    assert!(!data.join("minside.db").exists(), "no embedded database");
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&url).await.unwrap();
    let persons: i64 = sqlx::Row::get(
        &sqlx::query("select count(*) as n from persons")
            .fetch_one(&db)
            .await
            .unwrap(),
        "n",
    );
    assert_eq!(
        persons, 25,
        "the named database holds the demo municipality"
    );
}

/// The server's allocator asks for no transparent huge pages (mimalloc's `no_thp`): with them its
/// heap went to memory in zeroed 2 MB pages, half its resident memory (issue 4). A mapping the
/// process asked huge pages for carries `hg` in its `VmFlags` (proc(5)), whatever the kernel's
/// own THP setting is.
#[cfg(target_os = "linux")]
#[test]
fn the_server_asks_the_kernel_for_no_huge_pages() {
    let data = temp_dir("no-thp");
    let (mut child, first) = started(&mut demo(&data, 300));
    let smaps = std::fs::read_to_string(format!("/proc/{}/smaps", child.id()));
    child.kill().unwrap();
    let _ = child.wait();
    assert!(first.starts_with("minside is running at "), "{first}");
    let smaps = smaps.unwrap();
    let flagged: Vec<&str> = smaps
        .lines()
        .filter(|l| l.starts_with("VmFlags:") && l.split_whitespace().any(|f| f == "hg"))
        .collect();
    assert!(
        smaps.lines().any(|l| l.starts_with("VmFlags:")),
        "smaps lists the mappings' flags"
    );
    assert!(
        flagged.is_empty(),
        "mappings with huge pages asked for: {flagged:?}"
    );
}

#[test]
fn dev_token_is_refused_outside_a_demo_data_directory() {
    let dir = temp_dir("notdemo");
    let out = Command::new(BIN)
        .args(["dev-token", "--scope", "minside:persons.read", "--data"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("only with a demo data directory"));
}
