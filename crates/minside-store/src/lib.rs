//! minside-store: the [`Store`](minside_core::ports::Store) port on SQLite and PostgreSQL.
//!
//! One implementation over sqlx's `Any` driver: the SQL is written once in the dialect both
//! engines share (`$1` placeholders, `returning`, bigint times), so the contract suite proves
//! the same code on both. Schema differences live only in the parallel migration folders,
//! which must hold the same file names (a test checks it). The hottest reads run on direct
//! read-only SQLite connections when the store is a SQLite file (`fast.rs`), with the same SQL.

mod access_log;
mod batch;
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
mod write;

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
    /// Where the bulk loads (and, without a direct writer, every write) run: on a SQLite file
    /// one connection of its own, on PostgreSQL the pool.
    writer: AnyPool,
    backend: Backend,
    /// Direct read-only connections for the hot reads on a SQLite file (see `fast.rs`).
    direct: Option<std::sync::Arc<fast::DirectSqlite>>,
    /// SQLite: this process's writes take turns here (see [`SqlStore::write_turn`]).
    writes: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
    /// A SQLite file: the read-write connection for the busiest write transactions
    /// (see `write.rs`).
    direct_writer: Option<std::sync::Arc<write::DirectWriter>>,
    /// PostgreSQL: the reads by session key of concurrent requests (see `batch.rs`).
    together: Option<std::sync::Arc<Together>>,
}

/// On PostgreSQL, the reads by session key that requests arriving together share a statement for.
#[derive(Debug)]
struct Together {
    dashboards: batch::Coalescer<persons::DashboardRow>,
    sessions: batch::Coalescer<minside_core::session::Session>,
    letters: batch::Coalescer<letters::LetterRow>,
    inboxes: batch::Coalescer<String>,
}

/// Runs a write transaction written against [`write::Tx`] in the store's write turn: on a SQLite
/// file start to commit on the direct writer, else in a transaction on the writer pool
/// ([`write::PoolTx`]).
macro_rules! in_transaction {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let _turn = $store.write_turn().await;
        match &$store.direct_writer {
            Some(w) => w.run(|$tx| write::now_or_never($body)),
            None => {
                let mut pool_tx = write::PoolTx::begin(&$store.writer).await?;
                let out = {
                    let $tx = &mut write::Sqlx(pool_tx.conn()?);
                    $body.await
                };
                match out {
                    Ok(out) => {
                        pool_tx.commit().await?;
                        Ok(out)
                    }
                    Err(e) => {
                        // The statement's error is the one to tell; should the rollback fail
                        // too, the connection is closed and the server rolls back.
                        let _ = pool_tx.rollback().await;
                        Err(e)
                    }
                }
            }
        }
    }};
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
        let pool = open_pool(&url, backend, options.max_connections).await?;
        let direct = match backend {
            Backend::Sqlite => fast::DirectSqlite::for_url(&url).map(std::sync::Arc::new),
            Backend::Postgres => None,
        };
        // A SQLite file: the writes (which take turns, see `write_turn`) run on one connection
        // of their own, whose page cache stays valid between them (a connection's cache is
        // dropped whenever another connection has written since its last use).
        let writer = if direct.is_some() {
            open_pool(&url, backend, 1).await?
        } else {
            pool.clone()
        };
        let direct_writer = match &direct {
            Some(d) => {
                let w = std::sync::Arc::new(write::DirectWriter::open(d.path())?);
                w.checkpoint_in_background(d.path())?;
                Some(w)
            }
            None => None,
        };
        let together = (backend == Backend::Postgres).then(|| {
            std::sync::Arc::new(Together {
                dashboards: persons::dashboard_reads(pool.clone(), options.max_connections),
                sessions: sessions::reads(pool.clone(), options.max_connections),
                letters: letters::recipient_reads(pool.clone(), options.max_connections),
                inboxes: letters::first_page_reads(pool.clone(), options.max_connections),
            })
        });
        Ok(Self {
            pool,
            writer,
            backend,
            direct,
            writes: (backend == Backend::Sqlite)
                .then(|| std::sync::Arc::new(tokio::sync::Mutex::new(()))),
            direct_writer,
            together,
        })
    }

    /// What the database server's operators should change, a sentence each (logged as warnings
    /// at start); empty when there is nothing to say. On PostgreSQL: autovacuum off. Tables that
    /// grow (jobs, documents) then keep the statistics they had when small and every dead row,
    /// and their plans go wrong: in bench/ a job claim took 29 ms and a print batch's documents
    /// 44 ms on such a server (issue 4).
    pub async fn server_advice(&self) -> Result<Vec<String>, StoreError> {
        if self.backend != Backend::Postgres {
            return Ok(Vec::new());
        }
        let autovacuum: String = sqlx::query_scalar("select current_setting('autovacuum')")
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(if autovacuum == "on" {
            Vec::new()
        } else {
            vec![
                "PostgreSQL runs with autovacuum off: the job queue and the letters' tables keep \
                 stale planner statistics and dead rows, and slow down; turn autovacuum on, or \
                 run VACUUM ANALYZE on this database regularly"
                    .to_owned(),
            ]
        })
    }

    /// A turn to write. SQLite has one writer at a time; when several of the pool's connections
    /// want to write at once, the losers sleep in SQLite's busy handler (1, 2, 5, 10 … ms) and
    /// retry, and under load much of the time went to that sleeping (bench/: letters through the
    /// API with p99 of half a second). Writes from this process therefore queue here, first come
    /// first served, and run back to back; other processes on the same file (a separate worker)
    /// still meet the busy handler, which stays as the safety net. Taken only at the top of the
    /// store's write methods, never inside one (it does not nest); PostgreSQL needs no turn.
    async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.writes {
            Some(w) => Some(w.lock().await),
            None => None,
        }
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
        let _turn = self.write_turn().await;
        history::insert(&self.writer, self.backend == Backend::Sqlite, letters).await
    }

    /// Brings the query planner's statistics up to date after a bulk load. PostgreSQL planned the
    /// dashboard's statement for 1,000 properties per resident on the statistics of the empty
    /// tables and ran it in parallel workers (860 instead of thousands of requests a second in
    /// bench/, until autovacuum got round to it); `analyze` fixes that at once. SQLite plans these
    /// statements from their indexes alone and needs nothing.
    pub async fn refresh_statistics(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("analyze")
                .execute(&self.pool)
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

/// A pool on `url`; SQLite connections get WAL, foreign keys and a busy timeout.
async fn open_pool(url: &str, backend: Backend, max: u32) -> Result<AnyPool, StoreError> {
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(10))
        // No ping before every use (sqlx's default): on PostgreSQL it was a network round trip
        // per statement, a third of the dashboard's. A connection that died (the server
        // restarted) fails its next statement and is replaced; that request gets an error.
        .test_before_acquire(false)
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
        .connect(url)
        .await
        .map_err(db)
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
        let _turn = self.write_turn().await;
        population::insert(&self.writer, self.backend, p).await
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

    async fn session_dashboard(
        &self,
        key: &minside_core::session::SessionKey,
    ) -> Result<
        Option<(
            minside_core::session::Session,
            minside_core::person::DashboardData,
        )>,
        StoreError,
    > {
        let dashboards = self.together.as_ref().map(|t| &t.dashboards);
        persons::session_dashboard(self.reader(), dashboards, key).await
    }

    async fn read_person_logged(
        &self,
        fnr: &minside_core::ident::Fodselsnummer,
        access: &minside_core::access_log::Access,
    ) -> Result<Option<minside_core::person::Person>, StoreError> {
        in_transaction!(self, |tx| access_log::read_person_logged_in(
            tx, fnr, access
        ))
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
        in_transaction!(self, |tx| sessions::create_in(tx, session, replaces))
    }

    async fn session(
        &self,
        key: &minside_core::session::SessionKey,
    ) -> Result<Option<minside_core::session::Session>, StoreError> {
        let sessions = self.together.as_ref().map(|t| &t.sessions);
        sessions::get(self.reader(), sessions, key).await
    }

    async fn touch_session(
        &self,
        key: &minside_core::session::SessionKey,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx| sessions::touch_in(tx, key, now))
    }

    async fn end_session(&self, key: &minside_core::session::SessionKey) -> Result<(), StoreError> {
        in_transaction!(self, |tx| sessions::end_in(tx, key))
    }

    async fn end_sessions_by_sid(&self, issuer: &str, sid: &str) -> Result<u64, StoreError> {
        in_transaction!(self, |tx| sessions::end_by_sid_in(tx, issuer, sid))
    }

    async fn purge_expired(
        &self,
        idle_before: jiff::Timestamp,
        created_before: jiff::Timestamp,
    ) -> Result<u64, StoreError> {
        in_transaction!(self, |tx| sessions::purge_in(
            tx,
            idle_before,
            created_before
        ))
    }

    async fn contact_record(
        &self,
        fnr: &minside_core::ident::Fodselsnummer,
    ) -> Result<Option<minside_core::person::ContactRecord>, StoreError> {
        persons::contact_record(self.reader(), fnr).await
    }

    async fn contact_records(
        &self,
        fnrs: &[&minside_core::ident::Fodselsnummer],
    ) -> Result<
        Vec<(
            minside_core::ident::Fodselsnummer,
            minside_core::person::ContactRecord,
        )>,
        StoreError,
    > {
        persons::contact_records(self.reader(), fnrs).await
    }

    async fn letter_receipt(
        &self,
        client_id: &str,
        sender_ref: &str,
    ) -> Result<Option<minside_core::letters::LetterReceipt>, StoreError> {
        letters::receipt(self.reader(), client_id, sender_ref).await
    }

    async fn create_letter(
        &self,
        letter: &minside_core::letters::NewLetter,
        jobs: &[minside_core::jobs::NewJob],
    ) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            return letters::create_in_one_statement(&self.pool, letter, jobs).await;
        }
        in_transaction!(self, |tx| letters::create_in(tx, letter, jobs))
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
        let first_pages = self.together.as_ref().map(|t| &t.inboxes);
        letters::inbox(self.reader(), first_pages, fnr, query).await
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
        letters::for_recipient(
            self.reader(),
            self.together.as_ref().map(|t| &t.letters),
            fnr,
            public_id,
        )
        .await
    }

    async fn mark_letter_read(
        &self,
        letter_id: i64,
        now: jiff::Timestamp,
    ) -> Result<bool, StoreError> {
        in_transaction!(self, |tx| letters::mark_read_in(tx, letter_id, now))
    }

    async fn letter_for_delivery(
        &self,
        public_id: &str,
    ) -> Result<Option<minside_core::letters::DeliveryView>, StoreError> {
        letters::for_delivery(self.reader(), public_id).await
    }

    async fn letters_for_delivery(
        &self,
        public_ids: &[&str],
    ) -> Result<Vec<minside_core::letters::DeliveryView>, StoreError> {
        letters::all_for_delivery(self.reader(), public_ids).await
    }

    async fn record_notified(
        &self,
        notices: &[(i64, &str)],
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        if notices.is_empty() {
            return Ok(());
        }
        if self.backend == Backend::Postgres && notices.len() <= letters::NOTICES_PER_STATEMENT {
            return letters::record_notified_in_one_statement(&self.pool, notices, now).await;
        }
        in_transaction!(self, |tx| letters::record_notified_in(tx, notices, now))
    }

    async fn record_letter_event(
        &self,
        letter_id: i64,
        event: &str,
        detail: &str,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx| letters::insert_event(
            tx,
            letter_id,
            event,
            Some(detail),
            now
        ))
    }

    async fn queue_for_print(
        &self,
        letter_ids: &[i64],
        only_if_unread: bool,
        reason: &str,
        now: jiff::Timestamp,
        batch_at: jiff::Timestamp,
    ) -> Result<Vec<i64>, StoreError> {
        if letter_ids.is_empty() {
            return Ok(Vec::new());
        }
        in_transaction!(self, |tx| print::queue_all_in(
            tx,
            self.backend,
            letter_ids,
            only_if_unread,
            reason,
            now,
            batch_at
        ))
    }

    async fn claim_print_batch(
        &self,
        public_id: &str,
        limit: i64,
        now: jiff::Timestamp,
        lease_until: jiff::Timestamp,
    ) -> Result<Option<minside_core::letters::print::PrintBatch>, StoreError> {
        let claimed: Result<Option<i64>, StoreError> = in_transaction!(self, |tx| {
            print::claim_batch_in(tx, public_id, limit, now, lease_until)
        });
        match claimed? {
            Some(id) => print::load_batch(&self.pool, self.backend, id)
                .await
                .map(Some),
            None => Ok(None),
        }
    }

    async fn complete_print_batch(
        &self,
        batch_id: i64,
        now: jiff::Timestamp,
    ) -> Result<bool, StoreError> {
        in_transaction!(self, |tx| print::complete_batch_in(tx, batch_id, now))
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
        in_transaction!(self, |tx| webhooks::advance_in(tx, client_id, to))
    }

    async fn ensure_job(
        &self,
        kind: &str,
        payload: &str,
        run_at: jiff::Timestamp,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx| jobs::ensure_pending_in(
            tx,
            self.backend,
            kind,
            payload,
            run_at,
            now
        ))
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
        in_transaction!(self, |tx| replies::add_in(tx, letter_id, reply, now))
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
        in_transaction!(self, |tx| letters::answer_in(
            tx, letter_id, option, by, now, jobs
        ))
    }

    async fn set_letter_archived(
        &self,
        letter_id: i64,
        archived: bool,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx| letters::set_archived_in(
            tx, letter_id, archived, now
        ))
    }

    async fn mark_letter_unread(&self, letter_id: i64) -> Result<(), StoreError> {
        in_transaction!(self, |tx| letters::mark_unread_in(tx, letter_id))
    }

    async fn enqueue_jobs(
        &self,
        jobs: &[minside_core::jobs::NewJob],
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx| jobs::enqueue_all_in(tx, jobs, now))
    }

    async fn claim_jobs(
        &self,
        now: jiff::Timestamp,
        limit: i64,
        lease_until: jiff::Timestamp,
        kinds: Option<&[&str]>,
    ) -> Result<Vec<minside_core::jobs::Job>, StoreError> {
        in_transaction!(self, |tx| jobs::claim_in(
            tx,
            self.backend,
            now,
            limit,
            lease_until,
            kinds
        ))
    }

    async fn complete_jobs(
        &self,
        done: &[(minside_core::jobs::JobId, jiff::Timestamp)],
    ) -> Result<(), StoreError> {
        if done.is_empty() {
            return Ok(());
        }
        in_transaction!(self, |tx| jobs::complete_in(tx, done))
    }

    async fn fail_job(
        &self,
        id: minside_core::jobs::JobId,
        error: &str,
        retry_at: Option<jiff::Timestamp>,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx| jobs::fail_in(tx, id, error, retry_at, now))
    }

    async fn job_counts(&self) -> Result<minside_core::ports::JobCounts, StoreError> {
        jobs::counts(&self.pool).await
    }

    async fn save_login_attempt(
        &self,
        attempt: &minside_core::session::LoginAttempt,
    ) -> Result<(), StoreError> {
        in_transaction!(self, |tx| sessions::save_attempt_in(tx, attempt))
    }

    async fn take_login_attempt(
        &self,
        state: &str,
    ) -> Result<Option<minside_core::session::LoginAttempt>, StoreError> {
        in_transaction!(self, |tx| sessions::take_attempt_in(tx, state))
    }
}
