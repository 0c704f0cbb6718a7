-- The inbox from an index alone (sqlite twin of migrations/postgres/0010_inbox_covering_index.sql,
-- which says why PostgreSQL has none).
-- A resident's letters arrive over the years among everyone else's, so each lies on a table page
-- of its own: a page of the inbox read twenty table pages, most of them outside the reader's page
-- cache, and cost more the more letters the municipality held (issue 4; 19,900 against 27,300
-- inbox pages a second at 10,000 residents with the letters in the order they came). This index
-- holds every column the inbox lists or filters on, in the inbox's order, so a page of it is one
-- range of the index (one or two pages) whatever the order of the table.
create index letters_inbox_covering_idx on letters (
    recipient_fnr, created_at, id, archived_at, read_at, marked_unread, answered_at,
    response_deadline, public_id, title, sender_unit, response_options
);
drop index letters_inbox_idx;
