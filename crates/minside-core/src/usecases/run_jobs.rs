//! The worker's step: claim due jobs, run each with the handler for its kind, record the outcome.

use crate::jobs::{Job, JobError, RetryPolicy};
use crate::ports::{Clock, Store, StoreError};
use std::sync::Arc;

/// Runs jobs of one kind. Must be idempotent: a job may run again after a crash mid-way.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync {
    /// The kind this handler runs.
    fn kind(&self) -> &'static str;
    async fn run(&self, job: &Job) -> Result<(), JobError>;
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunReport {
    pub done: usize,
    pub retried: usize,
    pub dead: usize,
}

impl RunReport {
    pub fn claimed(&self) -> usize {
        self.done + self.retried + self.dead
    }
}

/// Claims up to `limit` due jobs and runs them one by one. The jobs that succeed are marked done
/// together at the end (one write instead of one per job: under load the single SQLite writer is
/// the bottleneck); a crash before that runs them again once their lease is over, which handlers
/// allow (they are idempotent). A failure is recorded at once.
pub async fn run_due_jobs(
    store: &dyn Store,
    clock: &dyn Clock,
    handlers: &[Arc<dyn JobHandler>],
    policy: &RetryPolicy,
    limit: i64,
) -> Result<RunReport, StoreError> {
    let now = clock.now();
    let lease_until = now.checked_add(policy.lease).unwrap_or(now);
    let mut report = RunReport::default();
    let kinds: Vec<&str> = handlers.iter().map(|h| h.kind()).collect();
    let jobs = store
        .claim_jobs(now, limit, lease_until, Some(&kinds))
        .await?;
    let mut done = Vec::with_capacity(jobs.len());
    for job in jobs {
        let outcome = match handlers.iter().find(|h| h.kind() == job.kind) {
            Some(h) => h.run(&job).await,
            None => Err(JobError::Permanent(format!(
                "no handler for job kind {}",
                job.kind
            ))),
        };
        let now = clock.now();
        match outcome {
            Ok(()) => {
                done.push((job.id, now));
                report.done += 1;
            }
            Err(e) => {
                let retry_at = policy.next_run(job.attempts, &e, now);
                if let Err(failed) = store.fail_job(job.id, &e.to_string(), retry_at, now).await {
                    // What did succeed is still recorded, if the store lets us.
                    let _ = store.complete_jobs(&done).await;
                    return Err(failed);
                }
                if retry_at.is_some() {
                    report.retried += 1;
                } else {
                    report.dead += 1;
                }
            }
        }
    }
    store.complete_jobs(&done).await?;
    Ok(report)
}
