//! The job queue. `enqueue_all_in` is called by other Store methods inside their transaction.

use crate::codec::ts;
use crate::fast::Arg;
use crate::write::Tx;
use crate::{db, Backend};
use jiff::Timestamp;
use minside_core::jobs::{Job, JobId, JobStatus, NewJob};
use minside_core::ports::{JobCounts, StoreError};
use sqlx::{AnyPool, Row};

/// The jobs insert for `n` jobs (`n` rows of [`job_args`]); a duplicate (kind, dedupe_key) is
/// skipped, also within the rows.
pub(crate) fn enqueue_sql(n: usize) -> String {
    let rows: Vec<String> = (0..n)
        .map(|i| {
            let p = i * 5;
            format!(
                "(${}, ${}, ${}, 'pending', 0, ${}, ${})",
                p + 1,
                p + 2,
                p + 3,
                p + 4,
                p + 5
            )
        })
        .collect();
    format!(
        "insert into jobs (kind, payload, dedupe_key, status, attempts, run_at, created_at) \
         values {} on conflict (kind, dedupe_key) do nothing",
        rows.join(", ")
    )
}

/// The arguments of a job's row in [`enqueue_sql`].
pub(crate) fn job_args(job: &NewJob, now: Timestamp) -> [Arg<'_>; 5] {
    [
        Arg::Text(job.kind),
        Arg::Text(job.payload.as_str()),
        Arg::OptText(job.dedupe_key.as_deref()),
        Arg::Int(ts(job.run_at)),
        Arg::Int(ts(now)),
    ]
}

/// Inserts jobs in the caller's transaction, a statement per 200 of them (1,000 parameters,
/// far below either engine's limit).
pub(crate) async fn enqueue_all_in(
    tx: &mut impl Tx,
    jobs: &[NewJob],
    now: Timestamp,
) -> Result<(), StoreError> {
    for chunk in jobs.chunks(200) {
        let args: Vec<Arg<'_>> = chunk.iter().flat_map(|j| job_args(j, now)).collect();
        tx.exec(&enqueue_sql(chunk.len()), &args).await?;
    }
    Ok(())
}

/// The claim: the due pending jobs and the running ones whose lease ran out, up to `$3` of each,
/// of the `kinds` kinds (`$4`…) when given, leased until `$1`; `$2` is now.
fn claim_sql(backend: Backend, kinds: Option<usize>) -> String {
    // PostgreSQL: rows being claimed by another worker are skipped, never waited for or taken
    // twice. SQLite has one writer at a time, so the plain statement is already exclusive.
    let (lock, kind) = match backend {
        Backend::Postgres => ("for update skip locked", "kind"),
        // `+kind` keeps SQLite from reading the jobs by kind (every pending job, or every job of
        // the kind through the (kind, dedupe_key) index) and sorting them instead of walking the
        // claim's index in order: a claim over 100,000 done jobs read them all (bench/).
        Backend::Sqlite => ("", "+kind"),
    };
    let kind_filter = match kinds {
        Some(n) => {
            format!("and {kind} in ({})", crate::write::params(4, n))
        }
        None => String::new(),
    };
    // Two index range scans, each in index order and stopped at the limit: the due pending jobs
    // by (run_at, id) and the running ones whose lease ran out by (locked_until, id), both
    // partial indexes of migration 0008. (One `or` of both had to collect and sort every due job
    // for each claim: with 100,000 jobs due a claim took 0.1 s.)
    let claimed = format!(
        "select id from (select id from jobs where status = 'pending' and run_at <= $2 {kind_filter} \
                         order by run_at, id limit $3 {lock}) due \
         union all \
         select id from (select id from jobs where status = 'running' and locked_until < $2 {kind_filter} \
                         order by locked_until, id limit $3 {lock}) expired"
    );
    let set = "set status = 'running', locked_until = $1, attempts = attempts + 1";
    match backend {
        // Materialized: the jobs are picked and locked once. As a subquery of the update,
        // PostgreSQL's generic plan for an empty queue (cached after idle workers' polls) ran it
        // again for every row of the table: 20 s a claim in bench/, each run locking jobs other
        // workers had claimed until it ended, and more than `$3` jobs claimed.
        Backend::Postgres => format!(
            "with claimed as materialized ({claimed}) \
             update jobs {set} from claimed where jobs.id = claimed.id \
             returning jobs.id, jobs.kind, jobs.payload, jobs.attempts"
        ),
        Backend::Sqlite => format!(
            "update jobs {set} where id in ({claimed}) returning id, kind, payload, attempts"
        ),
    }
}

pub(crate) async fn claim_in(
    tx: &mut impl Tx,
    backend: Backend,
    now: Timestamp,
    limit: i64,
    lease_until: Timestamp,
    kinds: Option<&[&str]>,
) -> Result<Vec<Job>, StoreError> {
    let kinds_len = match kinds {
        Some([]) => return Ok(Vec::new()),
        Some(k) => Some(k.len()),
        None => None,
    };
    if backend == Backend::Postgres {
        // Until the queue's first ANALYZE PostgreSQL has no statistics of `status` and `kind`,
        // guesses the kind filter to keep one job in two hundred, and reads every pending job
        // through the (kind, payload) index and sorts them: 16 ms a claim with 4,000 jobs due in
        // two weeks (bench/, a new database under a bulk load). Without sorts the only plans are
        // the two ordered index scans, whatever the statistics say. Nor a scan of the whole queue
        // to find the claimed jobs by id: they are found by key. For this transaction only.
        tx.exec(
            "select set_config('enable_sort', 'off', true), set_config('enable_seqscan', 'off', true)",
            &[],
        )
        .await?;
    }
    let sql = claim_sql(backend, kinds_len);
    let mut args = vec![
        Arg::Int(ts(lease_until)),
        Arg::Int(ts(now)),
        Arg::Int(limit),
    ];
    args.extend(kinds.unwrap_or_default().iter().map(|k| Arg::Text(k)));
    let mut jobs: Vec<Job> = tx
        .rows(&sql, &args, |r| {
            Ok(Job {
                id: JobId(r.int("id")?),
                kind: r.text("kind")?,
                payload: r.text("payload")?,
                attempts: r.int("attempts")?,
            })
        })
        .await?;
    jobs.sort_by_key(|j| j.id);
    Ok(jobs)
}

pub(crate) async fn complete_in(
    tx: &mut impl Tx,
    done: &[(JobId, Timestamp)],
) -> Result<(), StoreError> {
    // One statement per claim's worth of jobs (a claim takes at most a few hundred), each
    // job's own finishing time picked by id: a statement per job was one round trip per job on
    // PostgreSQL (bench/, issue 4).
    for chunk in done.chunks(200) {
        let cases: Vec<String> = (0..chunk.len())
            .map(|i| format!("when ${} then ${}", 2 * i + 1, 2 * i + 2))
            .collect();
        let ids: Vec<String> = (0..chunk.len())
            .map(|i| format!("${}", 2 * i + 1))
            .collect();
        let args: Vec<Arg<'_>> = chunk
            .iter()
            .flat_map(|(id, at)| [Arg::Int(id.0), Arg::Int(ts(*at))])
            .collect();
        tx.exec(
            &format!(
                "update jobs set status = 'done', locked_until = null, \
                 finished_at = case id {} end where id in ({})",
                cases.join(" "),
                ids.join(", ")
            ),
            &args,
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn fail_in(
    tx: &mut impl Tx,
    id: JobId,
    error: &str,
    retry_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let error: String = error.chars().take(2000).collect();
    match retry_at {
        Some(at) => {
            tx.exec(
                "update jobs set status = 'pending', locked_until = null, last_error = $1, run_at = $2 where id = $3",
                &[Arg::Text(&error), Arg::Int(ts(at)), Arg::Int(id.0)],
            )
            .await?
        }
        None => {
            tx.exec(
                "update jobs set status = 'dead', locked_until = null, last_error = $1, finished_at = $2 where id = $3",
                &[Arg::Text(&error), Arg::Int(ts(now)), Arg::Int(id.0)],
            )
            .await?
        }
    };
    Ok(())
}

pub(crate) async fn counts(pool: &AnyPool) -> Result<JobCounts, StoreError> {
    let mut c = JobCounts::default();
    for r in sqlx::query("select status, count(*) as n from jobs group by status")
        .fetch_all(pool)
        .await
        .map_err(db)?
    {
        let status: String = r.try_get("status").map_err(db)?;
        let n: i64 = r.try_get("n").map_err(db)?;
        match JobStatus::from_code(&status) {
            Some(JobStatus::Pending) => c.pending = n,
            Some(JobStatus::Running) => c.running = n,
            Some(JobStatus::Done) => c.done = n,
            Some(JobStatus::Dead) => c.dead = n,
            None => return Err(StoreError::Corrupt(format!("jobs.status {status}"))),
        }
    }
    Ok(c)
}

/// The last error of a job (tests and operators).
pub(crate) async fn last_error(pool: &AnyPool, id: JobId) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("select last_error from jobs where id = $1")
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    Ok(row.and_then(|r| r.try_get::<Option<String>, _>("last_error").ok().flatten()))
}

/// Enqueues a `kind` job due at `run_at` unless one of that kind is already waiting (for jobs that
/// gather work, like print batches: one waiting job takes everything queued before it runs).
///
/// On PostgreSQL the waiting job is locked until the caller's transaction ends: a worker's claim
/// skips it meanwhile (`for update skip locked`), so the job cannot start, look for the work and
/// find none before this transaction's work is committed — and then end, leaving that work with
/// no job (two workers on PostgreSQL lost a letter for print that way, one run in many). A job a
/// worker claimed first is no longer waiting: a new one is enqueued. SQLite has one writer at a
/// time, so no claim can come between the check and the commit.
pub(crate) async fn ensure_pending_in(
    tx: &mut impl Tx,
    backend: Backend,
    kind: &str,
    payload: &str,
    run_at: Timestamp,
    now: Timestamp,
) -> Result<(), StoreError> {
    if backend == Backend::Postgres {
        let waiting = tx
            .rows(
                "select id from jobs where kind = $1 and payload = $2 and status = 'pending' \
                 limit 1 for update",
                &[Arg::Text(kind), Arg::Text(payload)],
                |r| r.int("id"),
            )
            .await?;
        if !waiting.is_empty() {
            return Ok(());
        }
    }
    tx.exec(
        "insert into jobs (kind, payload, dedupe_key, status, attempts, run_at, created_at) \
         select $1, $4, null, 'pending', 0, $2, $3 \
         where not exists (select 1 from jobs where kind = $1 and payload = $4 and status = 'pending')",
        &[
            Arg::Text(kind),
            Arg::Int(ts(run_at)),
            Arg::Int(ts(now)),
            Arg::Text(payload),
        ],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's plan of the claim, on the schema of the embedded migrations.
    fn sqlite_plan(kinds: Option<usize>) -> Vec<String> {
        crate::migrations::sqlite_plan(&claim_sql(Backend::Sqlite, kinds))
    }

    /// Whatever the kinds, SQLite walks the two claim indexes in their order and stops at the
    /// limit: no reading of jobs by kind (every done job of that kind), no sorting.
    #[test]
    fn the_sqlite_claim_walks_the_claim_indexes_in_order() {
        for kinds in [None, Some(1), Some(7)] {
            let plan = sqlite_plan(kinds);
            let uses = |index: &str| plan.iter().any(|step| step.contains(index));
            assert!(
                uses("INDEX jobs_pending_due_idx (run_at<?)"),
                "{kinds:?}: {plan:#?}"
            );
            assert!(
                uses("INDEX jobs_running_lease_idx (locked_until<?)"),
                "{kinds:?}: {plan:#?}"
            );
            assert!(!uses("TEMP B-TREE"), "{kinds:?}: {plan:#?}");
        }
    }
}
