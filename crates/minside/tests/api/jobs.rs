//! The job queue, on whichever engine the test database is: idempotent enqueueing, leases,
//! exclusive claims, retries with backoff and dead letters with their reason.

use crate::helpers::{fresh_database_url, test_config};
use jiff::{SignedDuration, Timestamp};
use minside_core::jobs::{Job, JobError, NewJob, RetryPolicy};
use minside_core::ports::{Clock, JobCounts, Store};
use minside_core::usecases::run_jobs::{run_due_jobs, JobHandler, RunReport};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

async fn store() -> minside_store::SqlStore {
    minside::open_store(&test_config(fresh_database_url().await))
        .await
        .unwrap()
}

fn t0() -> Timestamp {
    "2026-11-22T10:00:00Z".parse().unwrap()
}

fn job(kind: &'static str, key: Option<&str>) -> NewJob {
    NewJob {
        kind,
        payload: "{}".into(),
        dedupe_key: key.map(str::to_owned),
        run_at: t0(),
    }
}

struct ManualClock(Mutex<Timestamp>);
impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

/// Fails with `Retry` the first `fail_first` times, then succeeds; counts runs.
struct Flaky {
    kind: &'static str,
    fail_first: usize,
    runs: AtomicUsize,
}

#[async_trait::async_trait]
impl JobHandler for Flaky {
    fn kind(&self) -> &'static str {
        self.kind
    }
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        let n = self.runs.fetch_add(1, Ordering::SeqCst);
        if n < self.fail_first {
            Err(JobError::Retry(format!("attempt {} failed", n + 1)))
        } else {
            Ok(())
        }
    }
}

struct Broken;
#[async_trait::async_trait]
impl JobHandler for Broken {
    fn kind(&self) -> &'static str {
        "broken"
    }
    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        Err(JobError::Permanent("payload cannot be read".into()))
    }
}

#[tokio::test]
async fn the_same_consequence_is_queued_once() {
    let s = store().await;
    s.enqueue_jobs(
        &[
            job("notify", Some("letter-1")),
            job("notify", Some("letter-1")),
            job("print", Some("letter-1")),
        ],
        t0(),
    )
    .await
    .unwrap();
    s.enqueue_jobs(&[job("notify", Some("letter-1"))], t0())
        .await
        .unwrap();
    assert_eq!(
        s.job_counts().await.unwrap(),
        JobCounts {
            pending: 2,
            ..JobCounts::default()
        }
    );
}

#[tokio::test]
async fn a_claimed_job_is_not_claimed_again_until_its_lease_runs_out() {
    let s = store().await;
    s.enqueue_jobs(&[job("notify", None)], t0()).await.unwrap();
    let lease = t0() + SignedDuration::from_mins(5);
    let first = s.claim_jobs(t0(), 10, lease, None).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].attempts, 1);
    assert!(s
        .claim_jobs(t0() + SignedDuration::from_mins(4), 10, lease, None)
        .await
        .unwrap()
        .is_empty());
    // The worker died: after the lease another worker takes the job over.
    let later = t0() + SignedDuration::from_mins(6);
    let again = s
        .claim_jobs(later, 10, later + SignedDuration::from_mins(5), None)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id, again[0].attempts), (first[0].id, 2));
}

#[tokio::test]
async fn jobs_not_yet_due_wait() {
    let s = store().await;
    let mut later = job("remind", None);
    later.run_at = t0() + SignedDuration::from_hours(1);
    s.enqueue_jobs(&[later], t0()).await.unwrap();
    assert!(s.claim_jobs(t0(), 10, t0(), None).await.unwrap().is_empty());
    assert_eq!(
        s.claim_jobs(t0() + SignedDuration::from_hours(1), 10, t0(), None)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn two_workers_claiming_at_once_never_get_the_same_job() {
    let s = store().await;
    let jobs: Vec<NewJob> = (0..60)
        .map(|i| NewJob {
            dedupe_key: Some(i.to_string()),
            ..job("notify", None)
        })
        .collect();
    s.enqueue_jobs(&jobs, t0()).await.unwrap();
    let lease = t0() + SignedDuration::from_mins(5);
    let mut seen = HashSet::new();
    for _ in 0..3 {
        let (a, b) = tokio::join!(
            s.claim_jobs(t0(), 15, lease, None),
            s.claim_jobs(t0(), 15, lease, None)
        );
        for j in a.unwrap().into_iter().chain(b.unwrap()) {
            assert!(seen.insert(j.id), "job {:?} claimed twice", j.id);
        }
    }
    assert_eq!(seen.len(), 60);
    assert!(s
        .claim_jobs(t0(), 15, lease, None)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn failures_are_retried_with_backoff_permanent_ones_are_dead_lettered_and_unknown_kinds_wait()
{
    let s = store().await;
    let clock = ManualClock(Mutex::new(t0()));
    let flaky = Arc::new(Flaky {
        kind: "flaky",
        fail_first: 2,
        runs: AtomicUsize::new(0),
    });
    let handlers: Vec<Arc<dyn JobHandler>> = vec![flaky.clone(), Arc::new(Broken)];
    let policy = RetryPolicy::default();
    s.enqueue_jobs(
        &[
            job("flaky", None),
            job("broken", None),
            job("nobody_handles_this", None),
        ],
        t0(),
    )
    .await
    .unwrap();

    let r = run_due_jobs(&s, &clock, &handlers, &policy, 10)
        .await
        .unwrap();
    assert_eq!(
        r,
        RunReport {
            done: 0,
            retried: 1,
            dead: 1
        }
    );
    // Not yet: the first retry waits 30 seconds.
    assert_eq!(
        run_due_jobs(&s, &clock, &handlers, &policy, 10)
            .await
            .unwrap()
            .claimed(),
        0
    );
    *clock.0.lock().unwrap() = t0() + SignedDuration::from_secs(30);
    assert_eq!(
        run_due_jobs(&s, &clock, &handlers, &policy, 10)
            .await
            .unwrap()
            .retried,
        1
    );
    *clock.0.lock().unwrap() = t0() + SignedDuration::from_secs(90);
    assert_eq!(
        run_due_jobs(&s, &clock, &handlers, &policy, 10)
            .await
            .unwrap()
            .done,
        1
    );
    assert_eq!(flaky.runs.load(Ordering::SeqCst), 3);
    assert_eq!(
        s.job_counts().await.unwrap(),
        JobCounts {
            done: 1,
            dead: 1,
            pending: 1,
            ..JobCounts::default()
        },
        "a kind no worker handles yet waits for a worker that does"
    );

    let dead_reasons: Vec<String> = {
        let mut v = Vec::new();
        for id in 1..=3 {
            if let Some(e) = s
                .job_last_error(minside_core::jobs::JobId(id))
                .await
                .unwrap()
            {
                v.push(e);
            }
        }
        v
    };
    assert!(
        dead_reasons
            .iter()
            .any(|e| e.contains("payload cannot be read")),
        "{dead_reasons:?}"
    );
}

#[tokio::test]
async fn a_worker_claims_only_the_kinds_it_can_run() {
    let s = store().await;
    s.enqueue_jobs(
        &[job("notify_email", None), job("print_letter", None)],
        t0(),
    )
    .await
    .unwrap();
    let lease = t0() + SignedDuration::from_mins(5);
    let mine = s
        .claim_jobs(t0(), 10, lease, Some(&["notify_email"]))
        .await
        .unwrap();
    assert_eq!(
        mine.iter().map(|j| j.kind.as_str()).collect::<Vec<_>>(),
        vec!["notify_email"]
    );
    assert!(s
        .claim_jobs(t0(), 10, lease, Some(&[]))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.job_counts().await.unwrap().pending,
        1,
        "the print job waits for a print worker"
    );
}

/// The jobs of a batch that succeed are all marked done when the batch ends (together, in one
/// write), also when another job of the batch failed in between; the failed one is rescheduled
/// at once; nothing of the batch is left claimed.
#[tokio::test]
async fn a_batch_marks_its_finished_jobs_done_and_its_failures_for_retry() {
    let s = store().await;
    let clock = ManualClock(Mutex::new(t0()));
    let ok = Arc::new(Flaky {
        kind: "ok",
        fail_first: 0,
        runs: AtomicUsize::new(0),
    });
    let flaky = Arc::new(Flaky {
        kind: "flaky",
        fail_first: 1,
        runs: AtomicUsize::new(0),
    });
    let handlers: Vec<Arc<dyn JobHandler>> = vec![ok.clone(), flaky];
    s.enqueue_jobs(
        &[
            job("ok", Some("a")),
            job("flaky", None),
            job("ok", Some("b")),
            job("ok", Some("c")),
        ],
        t0(),
    )
    .await
    .unwrap();
    let r = run_due_jobs(&s, &clock, &handlers, &RetryPolicy::default(), 10)
        .await
        .unwrap();
    assert_eq!(ok.runs.load(Ordering::SeqCst), 3);
    done_and_retried(&s, r, 3, 1).await;
}

/// The pass did `done` jobs and retried `retried` (none dead), and the queue shows the same:
/// nothing of the claim is left running.
async fn done_and_retried(s: &minside_store::SqlStore, r: RunReport, done: usize, retried: usize) {
    assert_eq!(
        r,
        RunReport {
            done,
            retried,
            dead: 0
        }
    );
    assert_eq!(
        s.job_counts().await.unwrap(),
        JobCounts {
            done: i64::try_from(done).unwrap(),
            pending: i64::try_from(retried).unwrap(),
            ..JobCounts::default()
        }
    );
}

/// Takes the jobs of a claim together: records each call's payloads, fails the job whose payload
/// says so and does the rest.
struct Together {
    calls: Mutex<Vec<Vec<String>>>,
}

#[async_trait::async_trait]
impl JobHandler for Together {
    fn kind(&self) -> &'static str {
        "together"
    }
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        self.run_all(std::slice::from_ref(job)).await.remove(0)
    }
    async fn run_all(&self, jobs: &[Job]) -> Vec<Result<(), JobError>> {
        self.calls
            .lock()
            .unwrap()
            .push(jobs.iter().map(|j| j.payload.clone()).collect());
        jobs.iter()
            .map(|j| match j.payload.as_str() {
                "\"fail\"" => Err(JobError::Retry("this one failed".into())),
                _ => Ok(()),
            })
            .collect()
    }
}

/// A claim's jobs of one kind reach their handler together, in the order claimed, whatever other
/// kinds are between them; each job still has its own outcome.
#[tokio::test]
async fn a_claims_jobs_of_one_kind_are_run_together_each_with_its_own_outcome() {
    let s = store().await;
    let clock = ManualClock(Mutex::new(t0()));
    let together = Arc::new(Together {
        calls: Mutex::new(Vec::new()),
    });
    let ok = Arc::new(Flaky {
        kind: "ok",
        fail_first: 0,
        runs: AtomicUsize::new(0),
    });
    let handlers: Vec<Arc<dyn JobHandler>> = vec![ok.clone(), together.clone()];
    let with = |kind: &'static str, payload: &str, at: i64| NewJob {
        kind,
        payload: format!("\"{payload}\""),
        dedupe_key: Some(payload.to_owned()),
        run_at: t0() - SignedDuration::from_secs(100 - at),
    };
    s.enqueue_jobs(
        &[
            with("together", "one", 1),
            with("ok", "x", 2),
            with("together", "fail", 3),
            with("ok", "y", 4),
            with("together", "three", 5),
        ],
        t0(),
    )
    .await
    .unwrap();
    let r = run_due_jobs(&s, &clock, &handlers, &RetryPolicy::default(), 10)
        .await
        .unwrap();
    assert_eq!(
        *together.calls.lock().unwrap(),
        [["\"one\"", "\"fail\"", "\"three\""]],
        "one call with the three, in the order claimed"
    );
    assert_eq!(ok.runs.load(Ordering::SeqCst), 2);
    done_and_retried(&s, r, 4, 1).await;
}
