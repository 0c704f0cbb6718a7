//! minside-store: the [`Store`](minside_core::ports::Store) port on SQLite and PostgreSQL.
//!
//! One implementation over sqlx's `Any` driver: the SQL is written once in the dialect both
//! engines share (`$1` placeholders, `returning`, bigint times), so the contract suite proves
//! the same code on both. Schema differences live only in the parallel migration folders,
//! which must hold the same file names (a test checks it). The hottest reads run on direct
//! read-only SQLite connections when the store is a SQLite file (`fast.rs`), with the same SQL.

mod access_log;
mod codec;
mod fast;
mod history;
mod jobs;
mod letters;
mod migrations;
mod persons;
mod population;
mod print;
mod replies;
mod sessions;
mod statistics;
mod summaries;
mod webhooks;

use minside_core::ports::StoreError;
use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use sqlx::Executor;
use std::time::Duration;

pub use migrations::{migration_names, Backend};

/// The store: a connection pool plus which engine it talks to.
#[derive(Clone, Debug)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    /// Direct read-only connections for the hot reads on a SQLite file (see `fast.rs`).
    direct: Option<std::sync::Arc<fast::DirectSqlite>>,
}

/// Options for opening a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { max_connections: 8 }
    }
}

impl SqlStore {
    /// Opens a pool on a `sqlite://` or `postgres://` URL. SQLite gets WAL, foreign keys and a
    /// busy timeout on every connection; the file is created when missing.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or_else(|| {
            StoreError::Database("database_url must start with sqlite:// or postgres://".into())
        })?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "pragma journal_mode = wal; pragma synchronous = normal; \
                             pragma foreign_keys = on; pragma busy_timeout = 5000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(db)?;
        let direct = match backend {
            Backend::Sqlite => fast::DirectSqlite::for_url(&url).map(std::sync::Arc::new),
            Backend::Postgres => None,
        };
        Ok(Self {
            pool,
            backend,
            direct,
        })
    }

    fn reader(&self) -> fast::Reader<'_> {
        fast::Reader {
            pool: &self.pool,
            direct: self.direct.as_deref(),
        }
    }

    /// Which engine this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies pending migrations (forward-only).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrations::migrator(self.backend)
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Database(e.to_string()))
    }

    /// `VACUUM INTO` a consistent copy of a SQLite database (online backup).
    pub async fn backup_sqlite(&self, target: &str) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Database(
                "backup here is for SQLite; use pg_dump for PostgreSQL".into(),
            ));
        }
        sqlx::query("vacuum into $1")
            .bind(target)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    /// The last error recorded for a job (the dead-letter reason), for operators and tests.
    pub async fn job_last_error(
        &self,
        id: minside_core::jobs::JobId,
    ) -> Result<Option<String>, StoreError> {
        jobs::last_error(&self.pool, id).await
    }

    /// Bulk-loads letters with their history (synthetic municipalities for benchmarks and
    /// demos): one transaction, multi-row inserts, the recipients' summaries recounted in it.
    pub async fn insert_letter_history(
        &self,
        letters: &[minside_core::letters::HistoricLetter],
    ) -> Result<(), StoreError> {
        history::insert(&self.pool, self.backend == Backend::Sqlite, letters).await
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Maps a driver error; unique-constraint violations become `Conflict` with the constraint name.
pub(crate) fn db(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e {
        if d.is_unique_violation() {
            // PostgreSQL names the constraint; SQLite names the column in its message.
            return StoreError::Conflict(
                d.constraint()
                    .map_or_else(|| d.message().to_owned(), str::to_owned),
            );
        }
    }
    StoreError::Database(e.to_string())
}

#[async_trait::async_trait]
impl minside_core::ports::Store for SqlStore {
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("select 1")
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn insert_population(
        &self,
        p: &minside_core::person::Population,
    ) -> Result<(), StoreError> {
        population::insert(&self.pool, p).await
    }

    async fn population_size(&self) -> Result<i64, StoreError> {
        persons::count(&self.pool).await
    }

    async fn person_by_fnr(
        &self,
        fnr: &minside_core::ident::Fodselsnummer,
    ) -> Result<Option<minside_core::person::Person>, StoreError> {
        persons::by_fnr(&self.pool, fnr).await
    }

    async fn dashboard(
        &self,
        fnr: &minside_core::ident::Fodselsnummer,
    ) -> Result<Option<minside_core::person::Dashboard>, StoreError> {
        persons::dashboard(self.reader(), fnr).await
    }

    async fn read_person_logged(
        &self,
        fnr: &minside_core::ident::Fodselsnummer,
        access: &minside_core::access_log::Access,
    ) -> Result<Option<minside_core::person::Person>, StoreError> {
        access_log::read_person_logged(&self.pool, fnr, access).await
    }

    async fn access_log(
        &self,
        person: minside_core::person::PersonId,
    ) -> Result<Vec<minside_core::access_log::AccessLogEntry>, StoreError> {
        access_log::for_person(&self.pool, person).await
    }

    async fn login_candidates(
        &self,
        per_group: i64,
    ) -> Result<Vec<minside_core::person::LoginCandidate>, StoreError> {
        persons::login_candidates(&self.pool, per_group).await
    }

    async fn staff_users(&self) -> Result<Vec<minside_core::person::StaffUser>, StoreError> {
        persons::staff_users(&self.pool).await
    }

    async fn create_session(
        &self,
        session: &minside_core::session::NewSession,
        replaces: Option<&minside_core::session::SessionKey>,
    ) -> Result<(), StoreError> {
        sessions::create(&self.pool, session, replaces).await
    }

    async fn session(
        &self,
        key: &minside_core::session::SessionKey,
    ) -> Result<Option<minside_core::session::Session>, StoreError> {
        sessions::get(self.reader(), key).await
    }

    async fn touch_session(
        &self,
        key: &minside_core::session::SessionKey,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        sessions::touch(&self.pool, key, now).await
    }

    async fn end_session(&self, key: &minside_core::session::SessionKey) -> Result<(), StoreError> {
        sessions::end(&self.pool, key).await
    }

    async fn end_sessions_by_sid(&self, issuer: &str, sid: &str) -> Result<u64, StoreError> {
        sessions::end_by_sid(&self.pool, issuer, sid).await
    }

    async fn purge_expired(
        &self,
        idle_before: jiff::Timestamp,
        created_before: jiff::Timestamp,
    ) -> Result<u64, StoreError> {
        sessions::purge(&self.pool, idle_before, created_before).await
    }

    async fn contact_record(
        &self,
        fnr: &minside_core::ident::Fodselsnummer,
    ) -> Result<Option<minside_core::person::ContactRecord>, StoreError> {
        persons::contact_record(&self.pool, fnr).await
    }

    async fn letter_receipt(
        &self,
        client_id: &str,
        sender_ref: &str,
    ) -> Result<Option<minside_core::letters::LetterReceipt>, StoreError> {
        letters::receipt(&self.pool, client_id, sender_ref).await
    }

    async fn create_letter(
        &self,
        letter: &minside_core::letters::NewLetter,
        jobs: &[minside_core::jobs::NewJob],
    ) -> Result<(), StoreError> {
        letters::create(&self.pool, letter, jobs).await
    }

    async fn letter_status(
        &self,
        client_id: &str,
        public_id: &str,
    ) -> Result<Option<minside_core::letters::LetterStatusView>, StoreError> {
        letters::status_view(&self.pool, client_id, public_id).await
    }

    async fn inbox(
        &self,
        fnr: &minside_core::ident::Fodselsnummer,
        query: &minside_core::letters::InboxQuery,
    ) -> Result<minside_core::letters::InboxPage, StoreError> {
        letters::inbox(self.reader(), fnr, query).await
    }

    async fn inbox_counts(
        &self,
        fnr: &minside_core::ident::Fodselsnummer,
    ) -> Result<minside_core::letters::InboxCounts, StoreError> {
        summaries::counts(self.reader(), fnr).await
    }

    async fn letter_for_recipient(
        &self,
        fnr: &minside_core::ident::Fodselsnummer,
        public_id: &str,
    ) -> Result<Option<minside_core::letters::LetterView>, StoreError> {
        letters::for_recipient(self.reader(), fnr, public_id).await
    }

    async fn mark_letter_read(
        &self,
        letter_id: i64,
        now: jiff::Timestamp,
    ) -> Result<bool, StoreError> {
        letters::mark_read(&self.pool, letter_id, now).await
    }

    async fn letter_for_delivery(
        &self,
        public_id: &str,
    ) -> Result<Option<minside_core::letters::DeliveryView>, StoreError> {
        letters::for_delivery(&self.pool, public_id).await
    }

    async fn record_notified(
        &self,
        letter_id: i64,
        channel: &str,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        letters::record_notified(&self.pool, letter_id, channel, now).await
    }

    async fn record_letter_event(
        &self,
        letter_id: i64,
        event: &str,
        detail: &str,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        letters::record_event(&self.pool, letter_id, event, detail, now).await
    }

    async fn queue_for_print(
        &self,
        letter_id: i64,
        only_if_unread: bool,
        reason: &str,
        now: jiff::Timestamp,
        batch_at: jiff::Timestamp,
    ) -> Result<bool, StoreError> {
        print::queue(&self.pool, letter_id, only_if_unread, reason, now, batch_at).await
    }

    async fn claim_print_batch(
        &self,
        public_id: &str,
        limit: i64,
        now: jiff::Timestamp,
        lease_until: jiff::Timestamp,
    ) -> Result<Option<minside_core::letters::print::PrintBatch>, StoreError> {
        print::claim_batch(&self.pool, public_id, limit, now, lease_until).await
    }

    async fn complete_print_batch(
        &self,
        batch_id: i64,
        now: jiff::Timestamp,
    ) -> Result<bool, StoreError> {
        print::complete_batch(&self.pool, batch_id, now).await
    }

    async fn events_for_client(
        &self,
        client_id: &str,
        after: i64,
        until: jiff::Timestamp,
        limit: i64,
    ) -> Result<Vec<minside_core::letters::webhook::OutboundEvent>, StoreError> {
        webhooks::events_for_client(&self.pool, client_id, after, until, limit).await
    }

    async fn webhook_cursor(&self, client_id: &str) -> Result<i64, StoreError> {
        webhooks::cursor(&self.pool, client_id).await
    }

    async fn advance_webhook_cursor(&self, client_id: &str, to: i64) -> Result<(), StoreError> {
        webhooks::advance(&self.pool, client_id, to).await
    }

    async fn ensure_job(
        &self,
        kind: &str,
        payload: &str,
        run_at: jiff::Timestamp,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        jobs::ensure_pending_in(&mut conn, kind, payload, run_at, now).await
    }

    async fn letter_counts(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> Result<Vec<minside_core::statistics::UnitCounts>, StoreError> {
        statistics::letter_counts(&self.pool, from, to).await
    }

    async fn add_reply(
        &self,
        letter_id: i64,
        reply: &minside_core::letters::reply::NewReply,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        replies::add(&self.pool, letter_id, reply, now).await
    }

    async fn reply_attachment_for_sender(
        &self,
        client_id: &str,
        letter_public_id: &str,
        reply_public_id: &str,
        position: i64,
    ) -> Result<Option<minside_core::letters::reply::AttachmentMeta>, StoreError> {
        replies::attachment_for_sender(
            &self.pool,
            client_id,
            letter_public_id,
            reply_public_id,
            position,
        )
        .await
    }

    async fn answer_letter(
        &self,
        letter_id: i64,
        option: &str,
        by: &minside_core::ident::Fodselsnummer,
        now: jiff::Timestamp,
        jobs: &[minside_core::jobs::NewJob],
    ) -> Result<bool, StoreError> {
        letters::answer(&self.pool, letter_id, option, by, now, jobs).await
    }

    async fn set_letter_archived(
        &self,
        letter_id: i64,
        archived: bool,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        letters::set_archived(&self.pool, letter_id, archived, now).await
    }

    async fn mark_letter_unread(&self, letter_id: i64) -> Result<(), StoreError> {
        letters::mark_unread(&self.pool, letter_id).await
    }

    async fn enqueue_jobs(
        &self,
        jobs: &[minside_core::jobs::NewJob],
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        jobs::enqueue(&self.pool, jobs, now).await
    }

    async fn claim_jobs(
        &self,
        now: jiff::Timestamp,
        limit: i64,
        lease_until: jiff::Timestamp,
        kinds: Option<&[&str]>,
    ) -> Result<Vec<minside_core::jobs::Job>, StoreError> {
        jobs::claim(&self.pool, self.backend, now, limit, lease_until, kinds).await
    }

    async fn complete_job(
        &self,
        id: minside_core::jobs::JobId,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        jobs::complete(&self.pool, id, now).await
    }

    async fn fail_job(
        &self,
        id: minside_core::jobs::JobId,
        error: &str,
        retry_at: Option<jiff::Timestamp>,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        jobs::fail(&self.pool, id, error, retry_at, now).await
    }

    async fn job_counts(&self) -> Result<minside_core::ports::JobCounts, StoreError> {
        jobs::counts(&self.pool).await
    }

    async fn save_login_attempt(
        &self,
        attempt: &minside_core::session::LoginAttempt,
    ) -> Result<(), StoreError> {
        sessions::save_attempt(&self.pool, attempt).await
    }

    async fn take_login_attempt(
        &self,
        state: &str,
    ) -> Result<Option<minside_core::session::LoginAttempt>, StoreError> {
        sessions::take_attempt(&self.pool, state).await
    }
}
