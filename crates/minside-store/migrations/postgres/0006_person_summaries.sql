-- Person summaries (postgres twin of migrations/sqlite/0006_person_summaries.sql; keep them in step).
-- What a resident's dashboard counts, kept current in every transaction that changes a letter of
-- theirs, so that the dashboard reads one row instead of counting (issue 4: per-request cost
-- independent of the municipality's size).
create table person_summaries (
    fodselsnummer text primary key,
    -- letters not archived
    letters bigint not null,
    -- of those, not read or marked unread again
    unread bigint not null,
    -- of those, with response options and no answer yet (the deadline is checked when read)
    to_answer bigint not null,
    -- the latest answer deadline among those: the dashboard looks for letters to answer only
    -- while it is ahead
    answer_by bigint
);

insert into person_summaries (fodselsnummer, letters, unread, to_answer, answer_by)
select recipient_fnr, count(*),
       sum(case when read_at is null or marked_unread = 1 then 1 else 0 end),
       sum(case when response_options is not null and answered_at is null then 1 else 0 end),
       max(case when response_options is not null and answered_at is null then response_deadline end)
from letters
where recipient_fnr is not null and archived_at is null
group by recipient_fnr;
