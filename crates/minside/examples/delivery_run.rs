//! Benchmark (run by `bench/run`): a full notification run and a full print-fallback run over many
//! letters, through the real use cases and job handlers on a SQLite file, with a clock this
//! program moves (so "a week later" takes no week).
//!
//! 1. a synthetic municipality; N letters sent through the `send_letter` use case (the KRR decision
//!    and the delivery jobs as for the API, without HTTP) to random residents;
//! 2. the notification run: the worker's job loop until nothing is due (e-mail notices to the
//!    file outbox, reserved and unregistered residents' letters printed in PDF/A batches);
//! 3. residents open some of their letters through the `open_letter` use case;
//! 4. the print-fallback run: the clock moves past the print deadline and the job loop runs
//!    again (every letter still unread is queued and printed in PDF/A batches);
//! 5. every letter is checked: after 2, notified-and-pending or printed; after 4, read or printed
//!    — exactly one, by status and events.
//!
//! usage: `delivery_run DIR LETTERS [PERSONS]`; prints one JSON object with the figures.

use jiff::{SignedDuration, Timestamp};
use minside::config::{Config, Environment, Secret};
use minside_core::auth::{Citizen, Loa, SystemClient};
use minside_core::delivery::LetterKind;
use minside_core::letters::{LetterDraft, LetterStatus, Recipient};
use minside_core::ports::{Clock, Store};
use minside_core::usecases::send_letter::{send_letter, LetterPorts};
use std::sync::{Arc, Mutex};
use std::time::Instant;

struct BenchClock(Mutex<Timestamp>);

impl Clock for BenchClock {
    fn now(&self) -> Timestamp {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl BenchClock {
    fn advance(&self, by: SignedDuration) {
        let mut t = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *t = t.checked_add(by).unwrap_or(*t);
    }
}

/// Runs due jobs until none is left; returns how many ran.
async fn drain(
    store: &minside_store::SqlStore,
    clock: &BenchClock,
    handlers: &[Arc<dyn minside_core::usecases::run_jobs::JobHandler>],
    policy: &minside_core::jobs::RetryPolicy,
) -> anyhow::Result<usize> {
    let mut ran = 0;
    loop {
        let r = minside_core::usecases::run_jobs::run_due_jobs(store, clock, handlers, policy, 500)
            .await?;
        anyhow::ensure!(r.dead == 0, "a job failed for good");
        if r.claimed() == 0 {
            return Ok(ran);
        }
        ran += r.done;
    }
}

#[derive(Default, Debug)]
struct States {
    read: usize,
    printed: usize,
    pending: usize,
    other: usize,
}

impl States {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({"pending": self.pending, "printed": self.printed,
                           "read": self.read, "other": self.other})
    }
}

/// Each letter's state from its status and events; a letter both read and printed, or with an
/// event twice, counts as `other`.
async fn states(
    store: &minside_store::SqlStore,
    client: &str,
    ids: &[String],
) -> anyhow::Result<States> {
    let mut s = States::default();
    for id in ids {
        let v = store
            .letter_status(client, id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("letter {id} is gone"))?;
        let n = |e: &str| v.events.iter().filter(|x| x.event == e).count();
        // One notice per channel (e-mail and SMS): at least one.
        let (read, printed, notified) = (n("read"), n("printed"), n("notified"));
        match (v.status, read, printed) {
            (LetterStatus::Lest, 1, 0) => s.read += 1,
            (LetterStatus::Printet, 0, 1) => s.printed += 1,
            (LetterStatus::Varslet, 0, 0) if notified >= 1 => s.pending += 1,
            _ => s.other += 1,
        }
    }
    Ok(s)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).map_or("delivery-run", String::as_str));
    let letters: usize = args.get(2).map_or(Ok(100_000), |s| s.parse())?;
    let persons: usize = args.get(3).map_or(Ok(20_000), |s| s.parse())?;
    std::fs::create_dir_all(&dir)?;
    let mut c = Config {
        environment: Environment::Test,
        database_url: Secret(format!("sqlite://{}", dir.join("minside.db").display())),
        municipality: minside::config::MunicipalityConfig::demo()?,
        ..Config::default()
    };
    c.blob_dir = dir.join("blobs").display().to_string();
    c.notify_outbox_dir = dir.join("outbox").display().to_string();
    c.print_dir = dir.join("print").display().to_string();
    c.letters.print_batch_delay_seconds = 0;
    c.seed.letters = false;
    // A Monday morning in Oslo; print deadlines are counted in working hours from here.
    let clock = Arc::new(BenchClock(Mutex::new("2026-11-30T08:00:00Z".parse()?)));
    let store = minside::open_store(&c).await?;
    minside::seed(&store, &c, persons, clock.as_ref()).await?;
    let residents: Vec<_> = store
        .login_candidates(i64::try_from(persons)?)
        .await?
        .into_iter()
        .map(|p| p.fnr)
        .collect();
    anyhow::ensure!(!residents.is_empty(), "no residents");

    let client = SystemClient {
        client_id: "bench".into(),
        scopes: vec!["minside:letters.write".into()],
    };
    let blobs = minside::blobs::DirBlobs::new(&c.blob_dir);
    let delivery = minside_core::letters::DeliveryPolicy::default();
    let ports = LetterPorts {
        store: &store,
        blobs: &blobs,
        clock: clock.as_ref(),
        ids: &minside_web::security::RandomIds,
        delivery: &delivery,
    };
    let started = Instant::now();
    let mut ids = Vec::with_capacity(letters);
    for n in 0..letters {
        let fnr = residents[(n * 7919) % residents.len()].clone();
        let draft = LetterDraft {
            sender_ref: format!("bench-{n}"),
            recipient: Recipient::Person(fnr),
            title: "Vedtak om kommunale gebyrer".into(),
            sender_unit: "Eiendomsskatt".into(),
            body: Some("Vedtaket gjelder fra 1. januar.\n\nDu kan klage innen tre uker.".into()),
            documents: Vec::new(),
            archive_ref: None,
            kind: LetterKind::Formal,
            required_loa: Loa::Substantial,
            digital_only: false,
            reply_allowed: false,
            response_options: Vec::new(),
            response_deadline: None,
            print_after_working_hours: None,
        };
        let sent = send_letter(&ports, &client, draft, format!("bench-{n}")).await?;
        ids.push(sent.receipt.public_id);
    }
    let send_s = started.elapsed().as_secs_f64();

    let handlers = minside::job_handlers(
        Arc::new(store.clone()),
        clock.clone(),
        minside::smtp::notifier(&c)?,
        &c,
        "http://127.0.0.1",
    );
    let policy = minside::retry_policy(&c);
    let started = Instant::now();
    let notify_jobs = drain(&store, &clock, &handlers, &policy).await?;
    let notify_s = started.elapsed().as_secs_f64();
    let after_notify = states(&store, &client.client_id, &ids).await?;

    // Residents open three in five of the letters they were notified of, an hour later.
    clock.advance(SignedDuration::from_hours(1));
    let mut opened = 0;
    for (n, id) in ids.iter().enumerate() {
        if n % 5 >= 3 {
            continue;
        }
        let Some(v) = store.letter_status(&client.client_id, id).await? else {
            continue;
        };
        if v.status != LetterStatus::Varslet {
            continue;
        }
        let fnr = residents[(n * 7919) % residents.len()].clone();
        let citizen = Citizen {
            fnr,
            loa: Loa::High,
        };
        minside_core::usecases::open_letter::open_letter(&store, clock.as_ref(), &citizen, id)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        opened += 1;
    }

    // Two weeks later every print deadline has passed.
    clock.advance(SignedDuration::from_hours(24 * 14));
    let started = Instant::now();
    let fallback_jobs = drain(&store, &clock, &handlers, &policy).await?;
    let fallback_s = started.elapsed().as_secs_f64();
    let after_fallback = states(&store, &client.client_id, &ids).await?;
    let batches = std::fs::read_dir(&c.print_dir)?.count();
    let printed_in_fallback = after_fallback.printed - after_notify.printed;

    println!(
        "{}",
        serde_json::json!({
            "letters": letters,
            "persons": persons,
            "send_s": send_s,
            "notify_s": notify_s,
            "notify_jobs": notify_jobs,
            "after_notify": after_notify.json(),
            "opened": opened,
            "fallback_s": fallback_s,
            "fallback_jobs": fallback_jobs,
            "printed_in_fallback": printed_in_fallback,
            "after_fallback": after_fallback.json(),
            "print_batches": batches,
        })
    );
    anyhow::ensure!(
        after_notify.other == 0 && after_notify.read == 0,
        "after the notification run every letter is notified-and-pending or printed: {after_notify:?}"
    );
    anyhow::ensure!(
        after_fallback.other == 0 && after_fallback.pending == 0 && after_fallback.read == opened,
        "after the fallback every letter is read or printed, exactly one: {after_fallback:?}"
    );
    Ok(())
}
