-- Foundation schema (SQLite twin of migrations/postgres/0001_foundation.sql; keep them in step).
-- Times are UTC microseconds since the epoch (bigint) so that both engines compare them alike.
-- Dates are ISO text (YYYY-MM-DD). Booleans are bigint 0/1 for the same reason.

-- The population register as the municipality sees it (Folkeregisteret in production).
create table persons (
    id integer primary key,
    fodselsnummer text not null,
    given_name text not null,
    family_name text not null,
    birth_date text not null,
    street text not null,
    postcode text not null,
    city text not null,
    kommunenummer text not null,
    created_at bigint not null,
    constraint persons_fodselsnummer_key unique (fodselsnummer)
);
create index persons_birth_date_idx on persons (birth_date);

-- The contact and reservation register entry per person (KRR fields, NORWAY.md §3.2).
create table contact_records (
    person_id bigint primary key references persons (id) on delete cascade,
    status text not null,
    reserved bigint not null,
    email text,
    email_updated_at bigint,
    email_verified_at bigint,
    mobile text,
    mobile_updated_at bigint,
    mobile_verified_at bigint,
    language text
);
create index contact_records_reserved_idx on contact_records (reserved);

-- Guardian -> child (parental responsibility).
create table guardianships (
    guardian_id bigint not null references persons (id) on delete cascade,
    child_id bigint not null references persons (id) on delete cascade,
    primary key (guardian_id, child_id)
);
create index guardianships_child_idx on guardianships (child_id);

-- Cadastre units and who owns them.
create table properties (
    id integer primary key,
    matrikkel text not null,
    address text not null,
    constraint properties_matrikkel_key unique (matrikkel)
);
create table property_owners (
    person_id bigint not null references persons (id) on delete cascade,
    property_id bigint not null references properties (id) on delete cascade,
    primary key (person_id, property_id)
);
create index property_owners_property_idx on property_owners (property_id);

-- Synthetic staff for the test IdP (demo/test only; production staff come from the staff IdP).
create table staff_users (
    username text primary key,
    name text not null,
    roles text not null
);

-- Server-side sessions. `key` is the SHA-256 of the cookie secret, never the secret itself.
create table sessions (
    key text primary key,
    kind text not null,
    fodselsnummer text,
    loa text,
    staff_subject text,
    display_name text,
    staff_roles text,
    csrf_token text not null,
    issuer text not null,
    sid text,
    id_token text not null,
    created_at bigint not null,
    last_seen_at bigint not null
);
create index sessions_sid_idx on sessions (issuer, sid);

-- OIDC state between the redirect to the IdP and the callback (one use, ten minutes).
create table login_attempts (
    state text primary key,
    kind text not null,
    nonce text not null,
    code_verifier text not null,
    browser_binding text not null,
    return_to text not null,
    requested_loa text,
    created_at bigint not null
);

-- Every read of a person's data by staff or a system.
create table access_log (
    id integer primary key,
    person_id bigint not null references persons (id) on delete cascade,
    actor_kind text not null,
    actor_id text not null,
    actor_name text not null,
    purpose text not null,
    what text not null,
    created_at bigint not null
);
create index access_log_person_idx on access_log (person_id, created_at);
