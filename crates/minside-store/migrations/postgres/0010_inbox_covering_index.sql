-- The inbox from an index alone (postgres twin of migrations/sqlite/0010_inbox_covering_index.sql).
-- Not on PostgreSQL: an entry of its B-tree holds at most about 2,700 bytes and a letter's title
-- may be 1,000 characters (up to 4,000 bytes), so an index holding the title would refuse such a
-- letter; and one built by hand for a trial (index-only scans) made PostgreSQL's inbox no faster
-- beyond the spread (bench/results/2026-12-03-vm-22.md). PostgreSQL keeps listing the inbox
-- through letters_inbox_idx and the table's rows.
select 1;
