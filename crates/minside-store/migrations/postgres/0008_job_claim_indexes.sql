-- Claim indexes (postgres twin of migrations/sqlite/0008_job_claim_indexes.sql; keep them in step).
-- A claim reads the due pending jobs in (run_at, id) order and the running ones whose lease ran
-- out in (locked_until, id) order, each up to a limit. With (status, run_at) the order still
-- needed a sort of every due job, and on PostgreSQL before the queue's first ANALYZE (a new
-- database, the first minute of a bulk load) the planner read every pending job, also those due
-- in two weeks, through the (kind, payload) index: 16 ms a claim with 4,000 of them (issue 4).
-- Partial indexes in exactly the claim's order hold only the jobs a claim can take.
drop index jobs_due_idx;
create index jobs_pending_due_idx on jobs (run_at, id) where status = 'pending';
create index jobs_running_lease_idx on jobs (locked_until, id) where status = 'running';
