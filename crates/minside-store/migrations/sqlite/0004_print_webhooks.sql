-- Print, webhooks and statistics (sqlite twin of migrations/postgres/0004_print_webhooks.sql; keep them in step).
-- A letter queued for print (print_queued_at) joins exactly one batch (print_batch_id, set once in
-- the transaction that creates the batch); printed_at is set when the provider has the batch.
alter table letters add column print_queued_at bigint;
alter table letters add column print_batch_id bigint;
alter table letters add column printed_at bigint;
-- The queue: letters waiting for a batch, oldest first.
create index letters_print_queue_idx on letters (print_queued_at, id)
    where print_queued_at is not null and print_batch_id is null;
create index letters_print_batch_idx on letters (print_batch_id) where print_batch_id is not null;

-- A batch is 'open' until the print provider has it, then 'delivered'. An open batch whose lease
-- ran out (its worker died) is written again by the next worker, with the same letters.
create table print_batches (
    id integer primary key,
    public_id text not null,
    state text not null,
    letter_count bigint not null,
    created_at bigint not null,
    locked_until bigint not null,
    delivered_at bigint,
    constraint print_batches_public_id_key unique (public_id)
);
create index print_batches_open_idx on print_batches (state, locked_until);

-- Webhooks: letter_events is the outbox; this is how far each client's webhook got.
create table webhook_cursors (
    client_id text primary key,
    last_event_id bigint not null
);

-- Statistics read letters by arrival month.
create index letters_created_idx on letters (created_at);
