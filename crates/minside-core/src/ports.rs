//! Ports: what the domain needs from the outside world. Adapters live in other crates.

use crate::access_log::{Access, AccessLogEntry};
use crate::ident::Fodselsnummer;
use crate::jobs::{Job, JobId, NewJob};
use crate::letters::{
    InboxCounts, InboxPage, InboxQuery, LetterReceipt, LetterStatusView, LetterView, NewLetter,
};
use crate::person::{
    ContactRecord, DashboardData, LoginCandidate, Person, PersonId, Population, StaffUser,
};
use crate::session::{LoginAttempt, NewSession, Session, SessionKey};
use jiff::Timestamp;

/// The time, passed in so that tests can set it.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// Fresh public identifiers (UUIDs), passed in like the clock.
pub trait IdGenerator: Send + Sync {
    /// A UUID in its usual text form: version 7 (RFC 9562), the time in milliseconds first and 74
    /// random bits after it, so that ids made one after another sort together: a new letter's id
    /// goes to the end of the unique index on public ids instead of to a random page of it (in a
    /// municipality with millions of letters, a page to read and write again for every letter).
    /// `now` is the Clock's time, the id's first 48 bits.
    fn uuid(&self, now: Timestamp) -> String;
}

/// The version-7 UUID (RFC 9562) of a time in milliseconds since 1970 (its low 48 bits) and ten
/// random bytes, of which the version and variant bits take six bits.
pub fn uuid_v7(unix_ms: u64, random: [u8; 10]) -> String {
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&unix_ms.to_be_bytes()[2..]);
    b[6..].copy_from_slice(&random);
    b[6] = (b[6] & 0x0f) | 0x70;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Failures of document storage.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("no such document")]
    NotFound,
    #[error("document storage failed: {0}")]
    Io(String),
}

/// The key of the `n`th document of a letter or reply (`kind` is `letters` or `replies`):
/// `<kind>/<last two characters of the id>/<id>-<n>`. An id ends in random digits (in a
/// version-7 UUID it begins with the time, which changes slowly), so the documents spread evenly
/// over 256 directories that are made once, not a directory per letter (on a file system a
/// directory is an inode to allocate, as the file is). Keys are stored with the document rows,
/// so documents stored under an older layout (`<kind>/<id>/<n>`, or sharded by the id's first
/// two characters) are still found.
pub fn document_key(kind: &str, id: &str, n: usize) -> String {
    let shard = id
        .len()
        .checked_sub(2)
        .and_then(|start| id.get(start..))
        .unwrap_or("00");
    format!("{kind}/{shard}/{id}-{n}")
}

/// Document storage: a directory on disk by default, object storage in production.
#[async_trait::async_trait]
pub trait Blobs: Send + Sync {
    /// Stores `bytes` under `key` (atomically: a reader never sees half a document).
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError>;
    async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError>;
}

/// Why a notice was not sent.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Worth another try (the server is busy or unreachable).
    #[error("temporary: {0}")]
    Temporary(String),
    /// Will never work (the address is refused).
    #[error("permanent: {0}")]
    Permanent(String),
}

/// E-mail and SMS notices (SMTP and an SMS provider in production; fakes in tests).
#[async_trait::async_trait]
pub trait Notifier: Send + Sync {
    async fn send_email(&self, to: &str, subject: &str, body: &str) -> Result<(), NotifyError>;
    async fn send_sms(&self, to: &str, text: &str) -> Result<(), NotifyError>;
}

/// Failures of the store. Constraint violations the user can fix are `Conflict`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("the database is unavailable or failed: {0}")]
    Database(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
}

/// Jobs per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub pending: i64,
    pub running: i64,
    pub done: i64,
    pub dead: i64,
}

/// Persistence, shaped after use cases. Every method is one transaction.
#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// Is the database reachable? (readiness)
    async fn ping(&self) -> Result<(), StoreError>;

    /// Inserts a batch of register data (persons, households, contact records, properties, staff).
    async fn insert_population(&self, population: &Population) -> Result<(), StoreError>;
    /// Number of persons in the register.
    async fn population_size(&self) -> Result<i64, StoreError>;

    /// The person with this number, if resident.
    async fn person_by_fnr(&self, fnr: &Fodselsnummer) -> Result<Option<Person>, StoreError>;
    /// The session with this key and, when it is a resident's, what their dashboard shows: the
    /// register data (if they are in the register) and their letter counts. One read: the front
    /// page is the page opened most. The caller applies the session rules
    /// ([`crate::usecases::show_dashboard`]).
    async fn session_dashboard(
        &self,
        key: &SessionKey,
    ) -> Result<Option<(Session, DashboardData)>, StoreError>;
    /// Reads a person's register data for staff or a system and writes the access log entry in
    /// the same transaction. `None` (and no entry) when no such person exists.
    async fn read_person_logged(
        &self,
        fnr: &Fodselsnummer,
        access: &Access,
    ) -> Result<Option<Person>, StoreError>;
    /// The access log for one person, newest first.
    async fn access_log(&self, person: PersonId) -> Result<Vec<AccessLogEntry>, StoreError>;

    /// Seeded persons offered by the test IdP, a few per group.
    async fn login_candidates(&self, per_group: i64) -> Result<Vec<LoginCandidate>, StoreError>;
    /// Synthetic staff users offered by the test IdP.
    async fn staff_users(&self) -> Result<Vec<StaffUser>, StoreError>;

    /// Stores a new session; when `replaces` is given, that session is removed in the same
    /// transaction (session rotation at login).
    async fn create_session(
        &self,
        session: &NewSession,
        replaces: Option<&SessionKey>,
    ) -> Result<(), StoreError>;
    async fn session(&self, key: &SessionKey) -> Result<Option<Session>, StoreError>;
    async fn touch_session(&self, key: &SessionKey, now: Timestamp) -> Result<(), StoreError>;
    async fn end_session(&self, key: &SessionKey) -> Result<(), StoreError>;
    /// Front-channel logout: ends every session from `issuer` with this `sid`; returns how many.
    async fn end_sessions_by_sid(&self, issuer: &str, sid: &str) -> Result<u64, StoreError>;
    /// Removes sessions and login attempts that ended before `before`.
    async fn purge_expired(
        &self,
        idle_before: Timestamp,
        created_before: Timestamp,
    ) -> Result<u64, StoreError>;

    /// The person's entry in the contact and reservation register (`None`: not in it at all).
    async fn contact_record(
        &self,
        fnr: &Fodselsnummer,
    ) -> Result<Option<ContactRecord>, StoreError>;
    /// The entries of several persons in one read (those not in the register are left out).
    async fn contact_records(
        &self,
        fnrs: &[&Fodselsnummer],
    ) -> Result<Vec<(Fodselsnummer, ContactRecord)>, StoreError>;

    /// The letter a client sent with this sender reference, if any (idempotency).
    async fn letter_receipt(
        &self,
        client_id: &str,
        sender_ref: &str,
    ) -> Result<Option<LetterReceipt>, StoreError>;
    /// Stores a letter, its documents' metadata, its `created` event and the jobs it causes, in
    /// one transaction. A second letter with the same (client, sender_ref) is a `Conflict`.
    async fn create_letter(&self, letter: &NewLetter, jobs: &[NewJob]) -> Result<(), StoreError>;
    /// Status and events of a letter, as its sender sees them.
    async fn letter_status(
        &self,
        client_id: &str,
        public_id: &str,
    ) -> Result<Option<LetterStatusView>, StoreError>;

    /// A resident's letter counts (zero when they have no letters).
    async fn inbox_counts(&self, fnr: &Fodselsnummer) -> Result<InboxCounts, StoreError>;
    /// One page of a resident's inbox, newest first.
    async fn inbox(&self, fnr: &Fodselsnummer, query: &InboxQuery)
        -> Result<InboxPage, StoreError>;
    /// A letter, only if `fnr` is its recipient.
    async fn letter_for_recipient(
        &self,
        fnr: &Fodselsnummer,
        public_id: &str,
    ) -> Result<Option<LetterView>, StoreError>;
    /// Records the first opening: `read_at`, status LEST (unless printed or later), a `read`
    /// event — all once, in one transaction. Returns whether this call recorded it.
    async fn mark_letter_read(&self, letter_id: i64, now: Timestamp) -> Result<bool, StoreError>;
    /// What a notification job needs to know about a letter.
    async fn letter_for_delivery(
        &self,
        public_id: &str,
    ) -> Result<Option<crate::letters::DeliveryView>, StoreError>;
    /// What the notification and print jobs of one claim need to know about their letters, in
    /// one read: the letters that exist, in no particular order.
    async fn letters_for_delivery(
        &self,
        public_ids: &[&str],
    ) -> Result<Vec<crate::letters::DeliveryView>, StoreError>;
    /// Records that each letter's recipient was notified on its channel (`email`/`sms`): a
    /// `notified` event and status VARSLET (if still AKSEPTERT) for each, all in one transaction.
    async fn record_notified(
        &self,
        notices: &[(i64, &str)],
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Adds an event to a letter's log (e.g. `reminded` with its channel).
    async fn record_letter_event(
        &self,
        letter_id: i64,
        event: &str,
        detail: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Records the resident's answer with its `answered` event and the jobs it causes, in one
    /// transaction; `false` (and nothing written) when the letter was already answered.
    async fn answer_letter(
        &self,
        letter_id: i64,
        option: &str,
        by: &Fodselsnummer,
        now: Timestamp,
        jobs: &[NewJob],
    ) -> Result<bool, StoreError>;
    /// Archives or un-archives a letter in the recipient's inbox.
    async fn set_letter_archived(
        &self,
        letter_id: i64,
        archived: bool,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// Shows the letter as unread again in the inbox (the read receipt for the sender stays).
    async fn mark_letter_unread(&self, letter_id: i64) -> Result<(), StoreError>;

    /// Queues letters for print: status SENDT_PRINT and a `sent_to_print` event with `reason`
    /// each, and a `print_batch` job due at `batch_at` unless one is already waiting — one
    /// transaction. A letter already queued or printed, digital-only, stopped by an operator, or
    /// (with `only_if_unread`) read is left as it is; one whose recipient is not in the
    /// population register (no postal address) becomes IKKE_LEVERT with a `failed` event.
    /// Returns the ids queued, in order.
    async fn queue_for_print(
        &self,
        letter_ids: &[i64],
        only_if_unread: bool,
        reason: &str,
        now: Timestamp,
        batch_at: Timestamp,
    ) -> Result<Vec<i64>, StoreError>;
    /// The next print batch: an open one whose lease ran out (its worker died; same letters
    /// again), or a new one named `public_id` with up to `limit` queued letters, oldest first.
    /// `None` when nothing waits. The batch is leased until `lease_until`.
    async fn claim_print_batch(
        &self,
        public_id: &str,
        limit: i64,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<crate::letters::print::PrintBatch>, StoreError>;
    /// The print provider has the batch: it is delivered, its letters PRINTET with a `printed`
    /// event each (once; `false` when it was already complete).
    async fn complete_print_batch(&self, batch_id: i64, now: Timestamp)
        -> Result<bool, StoreError>;

    /// Events of letters sent by `client_id` with an id above `after` and a time up to `until`,
    /// oldest first, at most `limit` (what the client's webhook has not had yet).
    async fn events_for_client(
        &self,
        client_id: &str,
        after: i64,
        until: Timestamp,
        limit: i64,
    ) -> Result<Vec<crate::letters::webhook::OutboundEvent>, StoreError>;
    /// The last event id delivered to the client's webhook (0: none).
    async fn webhook_cursor(&self, client_id: &str) -> Result<i64, StoreError>;
    /// Records delivery up to event `to` (never moves back).
    async fn advance_webhook_cursor(&self, client_id: &str, to: i64) -> Result<(), StoreError>;
    /// Enqueues a job of `kind` with `payload` due at `run_at`, unless one such is waiting
    /// (periodic work: one waiting job per kind and payload).
    async fn ensure_job(
        &self,
        kind: &str,
        payload: &str,
        run_at: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Letter counts per sender unit for letters that arrived in `[from, to)`.
    async fn letter_counts(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<crate::statistics::UnitCounts>, StoreError>;

    /// Stores a resident's reply with its attachments' metadata and a `replied` event, in one
    /// transaction.
    async fn add_reply(
        &self,
        letter_id: i64,
        reply: &crate::letters::reply::NewReply,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// An attachment of a reply to a letter sent by `client_id` (the sender fetching it).
    async fn reply_attachment_for_sender(
        &self,
        client_id: &str,
        letter_public_id: &str,
        reply_public_id: &str,
        position: i64,
    ) -> Result<Option<crate::letters::reply::AttachmentMeta>, StoreError>;

    /// Enqueues jobs on their own (scheduled work). A change that causes jobs enqueues them in
    /// its own Store method's transaction instead. Duplicate (kind, dedupe_key) pairs are skipped.
    async fn enqueue_jobs(&self, jobs: &[NewJob], now: Timestamp) -> Result<(), StoreError>;
    /// Claims up to `limit` due jobs until `lease_until`: pending ones whose time has come, and
    /// running ones whose lease ran out (their worker died). Two workers never claim the same job.
    /// With `kinds`, only jobs of those kinds (a worker claims only what it can run; a job of a kind
    /// no worker knows yet waits instead of failing).
    async fn claim_jobs(
        &self,
        now: Timestamp,
        limit: i64,
        lease_until: Timestamp,
        kinds: Option<&[&str]>,
    ) -> Result<Vec<Job>, StoreError>;
    /// Marks jobs done (each with the time it finished), all in one transaction.
    async fn complete_jobs(&self, done: &[(JobId, Timestamp)]) -> Result<(), StoreError>;
    /// Records a failed run: pending again at `retry_at`, or dead (with the error kept) when `None`.
    async fn fail_job(
        &self,
        id: JobId,
        error: &str,
        retry_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// How many jobs are in each state.
    async fn job_counts(&self) -> Result<JobCounts, StoreError>;

    async fn save_login_attempt(&self, attempt: &LoginAttempt) -> Result<(), StoreError>;
    /// Removes and returns the attempt with this state (each state is usable once).
    async fn take_login_attempt(&self, state: &str) -> Result<Option<LoginAttempt>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::{document_key, uuid_v7};

    /// The example of RFC 9562 (appendix A.6): 2022-02-22 19:22:22 UTC and its random bits.
    #[test]
    fn a_version_7_uuid_is_the_time_in_milliseconds_then_random_bits() {
        let random = [0x0c, 0xc3, 0x18, 0xc4, 0xdc, 0x0c, 0x0c, 0x07, 0x39, 0x8f];
        assert_eq!(
            uuid_v7(0x017f_22e2_79b0, random),
            "017f22e2-79b0-7cc3-98c4-dc0c0c07398f"
        );
        // The version and variant bits are set whatever the random bytes are.
        assert_eq!(
            uuid_v7(0, [0xff; 10]),
            "00000000-0000-7fff-bfff-ffffffffffff"
        );
        assert_eq!(uuid_v7(0, [0; 10]), "00000000-0000-7000-8000-000000000000");
    }

    #[test]
    fn documents_are_kept_in_one_of_256_directories_named_by_the_ids_last_two_characters() {
        assert_eq!(
            document_key("letters", "019ade4c-1f00-7000-8000-0000000000f3", 0),
            "letters/f3/019ade4c-1f00-7000-8000-0000000000f3-0"
        );
        assert_eq!(
            document_key("replies", "019ade4c-1f00-7000-8000-0000000000a0", 2),
            "replies/a0/019ade4c-1f00-7000-8000-0000000000a0-2"
        );
        // An id too short to shard still gives a key (never a panic).
        assert_eq!(document_key("letters", "x", 0), "letters/00/x-0");
    }
}
