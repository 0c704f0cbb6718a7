-- Replies (sqlite twin of migrations/postgres/0005_replies.sql; keep them in step).
-- A resident's reply to a letter that allows one; attachments live in blob storage.
create table letter_replies (
    id integer primary key,
    public_id text not null,
    letter_id bigint not null references letters (id) on delete cascade,
    body text not null,
    created_at bigint not null,
    constraint letter_replies_public_id_key unique (public_id)
);
create index letter_replies_letter_idx on letter_replies (letter_id, id);

create table reply_attachments (
    id integer primary key,
    reply_id bigint not null references letter_replies (id) on delete cascade,
    position bigint not null,
    filename text not null,
    mime_type text not null,
    size_bytes bigint not null,
    blob_key text not null,
    constraint reply_attachments_position_key unique (reply_id, position)
);
