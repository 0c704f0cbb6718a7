-- Letters (PostgreSQL twin of migrations/sqlite/0003_letters.sql; keep them in step).
-- A letter from a back-office system to a resident (recipient_fnr) or an organisation
-- (recipient_orgnr). (client_id, sender_ref) is the sender's idempotency key; request_hash tells a
-- retry from a different letter that reuses the key. Documents live in blob storage (blob_key).
create table letters (
    id bigint generated always as identity primary key,
    public_id text not null,
    client_id text not null,
    sender_ref text not null,
    request_hash text not null,
    recipient_fnr text,
    recipient_orgnr text,
    title text not null,
    sender_unit text not null,
    body text,
    kind text not null,
    required_loa text not null,
    digital_only bigint not null,
    reply_allowed bigint not null,
    response_options text,
    response_deadline bigint,
    archive_saksaar bigint,
    archive_sekvensnummer bigint,
    archive_journalpostnummer bigint,
    status text not null,
    created_at bigint not null,
    read_at bigint,
    -- The resident's own "mark as unread" (the sender's read receipt stays).
    marked_unread bigint not null default 0,
    archived_at bigint,
    -- The resident's answer to the response options: which, when, by whom (fødselsnummer).
    answered_at bigint,
    answer_code text,
    answered_by text,
    constraint letters_public_id_key unique (public_id),
    constraint letters_sender_ref_key unique (client_id, sender_ref)
);
-- The inbox: newest first per resident.
create index letters_inbox_idx on letters (recipient_fnr, created_at, id);

create table letter_documents (
    id bigint generated always as identity primary key,
    letter_id bigint not null references letters (id) on delete cascade,
    position bigint not null,
    filename text not null,
    mime_type text not null,
    exclude_from_print bigint not null,
    size_bytes bigint not null,
    blob_key text not null,
    constraint letter_documents_position_key unique (letter_id, position)
);

-- What happened to a letter, for its sender (status endpoint, webhooks) and for statistics.
create table letter_events (
    id bigint generated always as identity primary key,
    letter_id bigint not null references letters (id) on delete cascade,
    event text not null,
    detail text,
    created_at bigint not null
);
create index letter_events_letter_idx on letter_events (letter_id, id);
