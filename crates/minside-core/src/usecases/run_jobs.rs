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
    /// Runs the jobs of this kind from one claim: one outcome per job, in their order. By default
    /// one by one; a handler that can do them together (one read for all, one write recording
    /// all) does so here, and a crash before its write runs all of them again. One job's failure
    /// is its own outcome, not the others'.
    async fn run_all(&self, jobs: &[Job]) -> Vec<Result<(), JobError>> {
        one_by_one(self, jobs).await
    }
}

/// Runs `jobs` with `handler`, one after the other (the default [`JobHandler::run_all`]).
pub async fn one_by_one<H: JobHandler + ?Sized>(
    handler: &H,
    jobs: &[Job],
) -> Vec<Result<(), JobError>> {
    let mut outcomes = Vec::with_capacity(jobs.len());
    for job in jobs {
        outcomes.push(handler.run(job).await);
    }
    outcomes
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

/// Claims up to `limit` due jobs and runs them, the jobs of each kind together
/// ([`JobHandler::run_all`], kinds in the order their first job was claimed). The jobs that
/// succeed are marked done together at the end (one write instead of one per job: under load the
/// single SQLite writer is the bottleneck); a crash before that runs them again once their lease
/// is over, which handlers allow (they are idempotent). A failure is recorded at once.
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
    for group in by_kind(jobs) {
        let handler = handlers.iter().find(|h| h.kind() == group[0].kind);
        let mut outcomes = match handler {
            Some(h) => h.run_all(&group).await,
            None => Vec::new(),
        }
        .into_iter();
        for job in &group {
            let outcome = match (handler, outcomes.next()) {
                (Some(_), Some(outcome)) => outcome,
                (Some(_), None) => Err(JobError::Retry("the handler gave no outcome".into())),
                (None, _) => Err(JobError::Permanent(format!(
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
                    if let Err(failed) = store.fail_job(job.id, &e.to_string(), retry_at, now).await
                    {
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
    }
    store.complete_jobs(&done).await?;
    Ok(report)
}

/// The claimed jobs by kind, each kind's in the order claimed, the kinds in the order of their
/// first job.
fn by_kind(jobs: Vec<Job>) -> Vec<Vec<Job>> {
    let mut groups: Vec<Vec<Job>> = Vec::new();
    for job in jobs {
        match groups.iter_mut().find(|g| g[0].kind == job.kind) {
            Some(g) => g.push(job),
            None => groups.push(vec![job]),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::by_kind;
    use crate::jobs::{Job, JobId};

    fn job(id: i64, kind: &str) -> Job {
        Job {
            id: JobId(id),
            kind: kind.to_owned(),
            payload: "{}".into(),
            attempts: 1,
        }
    }

    #[test]
    fn a_claim_is_run_kind_by_kind_in_the_order_claimed() {
        let claim = vec![
            job(1, "b"),
            job(2, "a"),
            job(3, "b"),
            job(4, "c"),
            job(5, "a"),
        ];
        let ids: Vec<Vec<i64>> = by_kind(claim)
            .iter()
            .map(|g| g.iter().map(|j| j.id.0).collect())
            .collect();
        assert_eq!(ids, vec![vec![1, 3], vec![2, 5], vec![4]]);
    }
}
