-- Each resident's first inbox page kept with them (sqlite twin of
-- migrations/postgres/0011_inbox_first_pages.sql). Not on SQLite: there the inbox's page is one
-- range of letters_inbox_covering_idx (migration 0010), read in the server's own process without
-- a round trip, already within the dashboard's factor of two (issue 4, report vm-22); keeping a
-- copy current would add a statement and a page's JSON to every letter's write transaction, and
-- the ingest's 1,000 letters a second are met by little.
select 1;
