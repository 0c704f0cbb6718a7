-- Each resident's first inbox page kept with them (postgres twin of
-- migrations/sqlite/0011_inbox_first_pages.sql, which says why SQLite has none).
-- The page nearly every visit to the inbox shows (the newest letters not archived) listed twenty
-- letters from across the letters table: twenty index entries and twenty heap pages a request,
-- and the page's JSON built each time. With a letter history in the order it happened PostgreSQL's
-- inbox took about 2.4 times the dashboard's time at 300,000 residents (issue 4, report vm-22;
-- an index-only scan made no difference). Here the page is kept per resident, as
-- person_summaries keeps the dashboard's counts, and the inbox reads one row by key.
--
-- `items`: the resident's newest 21 letters not archived (the inbox's page of 20 and one more to
-- know there is a next page; `letters::INBOX_FIRST_PAGE_KEPT`), newest first, as one JSON array
-- of [id, public_id, title, sender_unit, created_at, read_at, marked_unread, response_deadline,
-- answered_at, response_options]. A resident with no letters not archived has '[]' or no row.
create table inbox_first_pages (
    fodselsnummer text primary key,
    items text not null
);

create function inbox_first_page_of(fnr text) returns text language sql stable as $$
    select coalesce(json_agg(json_build_array(l.id, l.public_id, l.title, l.sender_unit,
        l.created_at, l.read_at, l.marked_unread, l.response_deadline, l.answered_at,
        l.response_options) order by l.created_at desc, l.id desc), '[]')::text
    from (select id, public_id, title, sender_unit, created_at, read_at, marked_unread,
                 response_deadline, answered_at, response_options
          from letters where recipient_fnr = fnr and archived_at is null
          order by created_at desc, id desc limit 21) l
$$;

-- Lists the page again from the letters. The row is locked first and the page listed by a later
-- statement (a snapshot taken after the lock): two transactions giving the same resident a letter
-- at once would otherwise each list the page without the other's letter, and the one to commit
-- last would leave its page, missing the other's.
create function inbox_first_page_keep(fnr text) returns void language plpgsql as $$
begin
    insert into inbox_first_pages (fodselsnummer, items) values (fnr, '[]')
    on conflict (fodselsnummer) do nothing;
    perform 1 from inbox_first_pages where fodselsnummer = fnr for update;
    update inbox_first_pages set items = inbox_first_page_of(fnr) where fodselsnummer = fnr;
end
$$;

-- A bulk load of letters (`history::insert`) puts a row here inside its own transaction (no
-- other transaction ever sees it): the trigger then leaves the pages alone and the load keeps
-- those of its recipients once at its end (as register_bulk_load does for the register, 0009).
create table letters_bulk_load (loading integer not null);

-- Triggers keep the pages current in the same transaction as every change to a letter that the
-- page shows, whoever writes (the API, a resident's action, an operator correcting a row by
-- hand). Changes of a letter's delivery status (notified, printed) do not touch these columns
-- and cost nothing here.
create function letters_inbox_first_page() returns trigger language plpgsql as $$
begin
    if exists (select 1 from letters_bulk_load) then
        return null;
    end if;
    if tg_op in ('DELETE', 'UPDATE') and old.recipient_fnr is not null
       and (tg_op = 'DELETE' or old.recipient_fnr is distinct from new.recipient_fnr) then
        perform inbox_first_page_keep(old.recipient_fnr);
    end if;
    if tg_op in ('INSERT', 'UPDATE') and new.recipient_fnr is not null then
        perform inbox_first_page_keep(new.recipient_fnr);
    end if;
    return null;
end
$$;
create trigger letters_inbox_first_page_insert after insert or delete on letters
    for each row execute function letters_inbox_first_page();
-- Only when one of them changed: a letter opened again sets marked_unread to what it was, and
-- that should not list the page again.
create trigger letters_inbox_first_page_update after update of recipient_fnr, public_id, title,
    sender_unit, created_at, read_at, marked_unread, response_deadline, answered_at,
    response_options, archived_at on letters
    for each row
    when ((old.recipient_fnr, old.public_id, old.title, old.sender_unit, old.created_at,
           old.read_at, old.marked_unread, old.response_deadline, old.answered_at,
           old.response_options, old.archived_at)
          is distinct from
          (new.recipient_fnr, new.public_id, new.title, new.sender_unit, new.created_at,
           new.read_at, new.marked_unread, new.response_deadline, new.answered_at,
           new.response_options, new.archived_at))
    execute function letters_inbox_first_page();

-- The pages of the residents already there: one pass over the letters, not a statement each.
insert into inbox_first_pages (fodselsnummer, items)
select recipient_fnr, json_agg(json_build_array(id, public_id, title, sender_unit, created_at,
    read_at, marked_unread, response_deadline, answered_at, response_options)
    order by created_at desc, id desc)::text
from (select *, row_number() over (partition by recipient_fnr
                                   order by created_at desc, id desc) as n
      from letters where recipient_fnr is not null and archived_at is null) l
where n <= 21
group by recipient_fnr;
