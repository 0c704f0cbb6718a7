//! Jobs: work caused by a change (notify, print, forward, delete) that runs after the change
//! committed. A job row is inserted by the Store method that makes the change, in the same
//! transaction; a worker claims due jobs with a lease, runs the handler for the job's kind, and
//! records the outcome. Handlers must be idempotent: a job can run again after a crash.

use jiff::{SignedDuration, Timestamp};

/// Database id of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub i64);

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// The job type, snake_case (`notify_letter`, `print_letter`).
    pub kind: &'static str,
    /// JSON payload for the handler.
    pub payload: String,
    /// Enqueueing the same (kind, key) twice keeps one job.
    pub dedupe_key: Option<String>,
    pub run_at: Timestamp,
}

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub payload: String,
    /// Including this run.
    pub attempts: i64,
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Pending,
    Running,
    Done,
    /// Gave up: attempts exhausted or a permanent error; the reason is kept.
    Dead,
}

impl JobStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }

    pub fn from_code(s: &str) -> Option<Self> {
        [Self::Pending, Self::Running, Self::Done, Self::Dead]
            .into_iter()
            .find(|x| x.code() == s)
    }
}

/// Why a handler did not finish a job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Worth another try later (network, a busy provider).
    #[error("temporary: {0}")]
    Retry(String),
    /// Will never succeed (bad payload): dead-letter at once.
    #[error("permanent: {0}")]
    Permanent(String),
    /// Not now: run again at this time (e.g. an SMS outside 09–17). Not a failure of the job.
    #[error("later, at {0}")]
    RetryAt(Timestamp),
}

/// Retry policy: exponential backoff from `base`, capped, for at most `max_attempts` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: SignedDuration,
    pub cap: SignedDuration,
    pub max_attempts: i64,
    /// How long a claimed job stays locked before another worker may take it over (crash recovery).
    pub lease: SignedDuration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: SignedDuration::from_secs(30),
            cap: SignedDuration::from_hours(1),
            max_attempts: 8,
            lease: SignedDuration::from_mins(5),
        }
    }
}

impl RetryPolicy {
    /// When to run again after the `attempts`-th failed run, or `None` to dead-letter.
    pub fn next_run(&self, attempts: i64, error: &JobError, now: Timestamp) -> Option<Timestamp> {
        if let JobError::RetryAt(at) = error {
            return Some(*at);
        }
        if matches!(error, JobError::Permanent(_)) || attempts >= self.max_attempts {
            return None;
        }
        let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        let delay = self
            .base
            .checked_mul(2_i32.saturating_pow(exponent))
            .map_or(self.cap, |d| d.min(self.cap));
        now.checked_add(delay).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_a_cap_and_then_give_up() {
        let p = RetryPolicy::default();
        let now = Timestamp::UNIX_EPOCH;
        let retry = JobError::Retry("smtp busy".into());
        let delay = |n| {
            p.next_run(n, &retry, now)
                .map(|t| t.duration_since(now).as_secs())
        };
        assert_eq!(delay(1), Some(30));
        assert_eq!(delay(2), Some(60));
        assert_eq!(delay(3), Some(120));
        assert_eq!(delay(7), Some(1920));
        assert_eq!(delay(8), None, "eight runs and it is dead-lettered");
        let mut long = p;
        long.max_attempts = 100;
        assert_eq!(
            long.next_run(30, &retry, now)
                .map(|t| t.duration_since(now).as_secs()),
            Some(3600)
        );
    }

    #[test]
    fn a_permanent_error_is_dead_lettered_at_once() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.next_run(
                1,
                &JobError::Permanent("bad payload".into()),
                Timestamp::UNIX_EPOCH
            ),
            None
        );
    }
}
