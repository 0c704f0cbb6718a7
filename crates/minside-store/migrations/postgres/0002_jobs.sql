-- The job queue (PostgreSQL twin of migrations/sqlite/0002_jobs.sql; keep them in step).
-- A job is inserted in the same transaction as the change that causes it, claimed by a worker
-- with a lease, retried with backoff, and dead-lettered with its last error when attempts run out.
-- (kind, dedupe_key) makes enqueueing idempotent: the same consequence is never queued twice.
create table jobs (
    id bigint generated always as identity primary key,
    kind text not null,
    payload text not null,
    dedupe_key text,
    status text not null,
    attempts bigint not null,
    run_at bigint not null,
    locked_until bigint,
    last_error text,
    created_at bigint not null,
    finished_at bigint,
    constraint jobs_kind_dedupe_key unique (kind, dedupe_key)
);
create index jobs_due_idx on jobs (status, run_at);
