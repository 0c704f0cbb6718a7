-- Job indexes (postgres twin of migrations/sqlite/0007_job_indexes.sql; keep them in step).
-- "Is a job of this kind already waiting?" (print batches, webhook pushes) is asked once per queued
-- letter; by (status, run_at) it read every pending job, 100,000 of them in a large run (issue 4).
create index jobs_pending_kind_idx on jobs (kind, payload) where status = 'pending';
