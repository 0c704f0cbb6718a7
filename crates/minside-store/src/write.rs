//! Write transactions written once for both engines, like the hot reads in `fast.rs`.
//!
//! sqlx runs every SQLite statement on a worker thread of its own and hands each result back to
//! the async task; a letter's transaction is about eight statements, so under load the single
//! SQLite writer spent most of its time waiting for the next statement to arrive (profiled in
//! bench/results: the writer thread was about a third busy). On a SQLite file the busiest write
//! transactions therefore run on a read-write rusqlite connection of their own, start to commit
//! without a hand-off; on PostgreSQL (and an in-memory SQLite) the same code runs on a pooled
//! sqlx connection in a [`PoolTx`]. The code is written against [`Tx`]; its SQL and row mappings
//! are shared. On PostgreSQL the busiest writes skip the transaction and go as one statement, a
//! [`Chain`] of the same SQL.

use crate::codec::Cols;
use crate::fast::{bind_all, err, rows_on, Arg};
use minside_core::ports::StoreError;
use rusqlite::{Connection, OpenFlags};
use std::future::Future;
use std::path::Path;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

/// The statements of one write transaction.
pub(crate) trait Tx {
    /// Runs a statement; the number of rows it changed.
    async fn exec(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError>;
    /// Runs a statement and maps every row it returns.
    async fn rows<T>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl Fn(&dyn Cols) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError>;
}

/// A sqlx connection inside a transaction the caller began (and commits).
pub(crate) struct Sqlx<'c>(pub(crate) &'c mut sqlx::AnyConnection);

pub(crate) fn sqlx_query<'q>(
    sql: &'q str,
    args: &[Arg<'q>],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let mut q = sqlx::query(sql);
    for a in args {
        q = match *a {
            Arg::Int(i) => q.bind(i),
            Arg::Text(s) => q.bind(s),
            Arg::OptInt(i) => q.bind(i),
            Arg::OptText(s) => q.bind(s),
        };
    }
    q
}

impl Tx for Sqlx<'_> {
    async fn exec(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        Ok(sqlx_query(sql, args)
            .execute(&mut *self.0)
            .await
            .map_err(crate::db)?
            .rows_affected())
    }

    async fn rows<T>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl Fn(&dyn Cols) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        sqlx_query(sql, args)
            .fetch_all(&mut *self.0)
            .await
            .map_err(crate::db)?
            .iter()
            .map(|r| map(r))
            .collect()
    }
}

/// A transaction on a connection of a sqlx pool that a cancelled caller cannot leave open.
///
/// sqlx's own `begin` counts the transaction only once the server has answered `BEGIN`; a caller
/// dropped in between (an HTTP request whose client went away) returns the connection to the
/// pool inside a transaction nobody will end, and what runs on it next outside a transaction of
/// its own is then not committed until something on that connection commits, or is lost with the
/// connection (PostgreSQL logged "there is already a transaction in progress" after bench/'s load
/// generator closed its connections, issue 4). Here a transaction that did not reach its
/// `commit` or `rollback` closes its connection when dropped, and the server rolls back
/// whatever the caller began.
pub(crate) struct PoolTx {
    conn: Option<sqlx::pool::PoolConnection<sqlx::Any>>,
}

impl PoolTx {
    pub(crate) async fn begin(pool: &sqlx::AnyPool) -> Result<Self, StoreError> {
        let mut tx = Self {
            conn: Some(pool.acquire().await.map_err(crate::db)?),
        };
        tx.send("begin").await?;
        Ok(tx)
    }

    /// The connection, for the transaction's statements.
    pub(crate) fn conn(&mut self) -> Result<&mut sqlx::AnyConnection, StoreError> {
        self.conn
            .as_deref_mut()
            .ok_or_else(|| StoreError::Database("the transaction has ended".into()))
    }

    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        self.end("commit").await
    }

    pub(crate) async fn rollback(self) -> Result<(), StoreError> {
        self.end("rollback").await
    }

    /// Sends `sql` and, once the server has answered, gives the connection back to the pool.
    async fn end(mut self, sql: &'static str) -> Result<(), StoreError> {
        self.send(sql).await?;
        drop(self.conn.take());
        Ok(())
    }

    async fn send(&mut self, sql: &'static str) -> Result<(), StoreError> {
        let conn: &mut sqlx::AnyConnection = self.conn()?;
        sqlx::Executor::execute(conn, sql)
            .await
            .map_err(crate::db)?;
        Ok(())
    }
}

impl Drop for PoolTx {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // Not back to the pool: dropping the detached connection closes it.
            drop(conn.detach());
        }
    }
}

/// A rusqlite connection inside a transaction [`DirectWriter::run`] began. Its methods never
/// wait: each statement runs when it is called.
pub(crate) struct Direct<'c>(&'c Connection);

impl Tx for Direct<'_> {
    async fn exec(&mut self, sql: &str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(err)?;
        bind_all(&mut stmt, args)?;
        let changed = stmt.raw_execute().map_err(err)?;
        Ok(changed as u64)
    }

    async fn rows<T>(
        &mut self,
        sql: &str,
        args: &[Arg<'_>],
        map: impl Fn(&dyn Cols) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        rows_on(self.0, sql, args, map)
    }
}

/// Drives a future made of [`Direct`] statements, which is complete after its first poll.
pub(crate) fn now_or_never<T>(
    f: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => Err(StoreError::Database(
            "a direct SQLite write waited, which it never should".into(),
        )),
    }
}

/// Several inserts and updates sent to PostgreSQL as one statement (`with s0 as (…), s1 as (…)
/// <last>`): one round trip where a transaction of them takes one each plus `BEGIN` and `COMMIT`,
/// and as atomic, since a statement is. Every part sees the database as it was before the
/// statement, and a part that needs an earlier part's rows reads them from its name (`s0`…);
/// foreign keys are checked at the statement's end, so a part may refer to rows another one
/// inserts. The parts keep the SQL the other engines run one by one: [`Chain::place`] moves each
/// part's `$1…$n` past the parameters already placed. (A letter's transaction was eleven round
/// trips on PostgreSQL, its notice four more: bench/, issue 4.)
#[derive(Default)]
pub(crate) struct Chain<'a> {
    parts: Vec<String>,
    args: Vec<Arg<'a>>,
}

impl<'a> Chain<'a> {
    /// `sql`, written with its own parameters `$1…$n` for `args`, renumbered to follow the
    /// parameters placed before it; the args are kept for [`Chain::finish`].
    pub(crate) fn place(&mut self, sql: &str, args: &[Arg<'a>]) -> String {
        let placed = renumber(sql, self.args.len());
        self.args.extend_from_slice(args);
        placed
    }

    /// The next placed parameter's number (for a part that refers to one placed before as `$n`).
    pub(crate) fn next_param(&self) -> usize {
        self.args.len() + 1
    }

    /// Appends a part (already placed); the first is named `s0`, the next `s1`, and so on.
    pub(crate) fn push(&mut self, part: String) -> String {
        let name = format!("s{}", self.parts.len());
        self.parts.push(part);
        name
    }

    /// The statement and its arguments: every part but the last as a `with` query, the last as
    /// the statement itself. None when no part was pushed.
    pub(crate) fn finish(mut self) -> Option<(String, Vec<Arg<'a>>)> {
        let last = self.parts.pop()?;
        if self.parts.is_empty() {
            return Some((last, self.args));
        }
        let with: Vec<String> = self
            .parts
            .iter()
            .enumerate()
            .map(|(i, p)| format!("s{i} as ({p})"))
            .collect();
        Some((format!("with {} {last}", with.join(", ")), self.args))
    }
}

impl Chain<'_> {
    /// Runs the statement on `pool`, outside any transaction (it is atomic on its own).
    pub(crate) async fn run(self, pool: &sqlx::AnyPool) -> Result<(), StoreError> {
        let (sql, args) = self
            .finish()
            .ok_or_else(|| StoreError::Database("a statement without parts".into()))?;
        sqlx_query(&sql, &args)
            .execute(pool)
            .await
            .map_err(crate::db)?;
        Ok(())
    }
}

/// `$from, $from+1, …`: `n` parameters (an `in (…)` list, a row of values).
pub(crate) fn params(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `sql` with every parameter `$n` made `$(n + by)`. For the store's own SQL, which has no `$`
/// inside its literals.
pub(crate) fn renumber(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + by).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// How often the WAL is copied into the database file (see
/// [`DirectWriter::checkpoint_in_background`]).
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// The read-write connection of a SQLite file for the transactions written against [`Tx`].
/// Callers hold the store's write turn, so it never waits for this process's other writer.
pub(crate) struct DirectWriter {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for DirectWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectWriter").finish_non_exhaustive()
    }
}

impl DirectWriter {
    /// Opens the file (after the migrations made it, with WAL on).
    pub(crate) fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        conn.execute_batch(
            "pragma synchronous = normal; pragma foreign_keys = on; pragma busy_timeout = 5000;",
        )
        .map_err(err)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Copies the WAL into the database file on a thread of its own, every 100 ms, for as long
    /// as the writer lives (the thread ends within 100 ms of the writer's drop; its handle is
    /// returned for tests). A checkpoint writes every page changed since the last one and waits
    /// for the disk; done by the writer, as SQLite does by default after each commit that takes
    /// the WAL past 1,000 pages, it held the write turn meanwhile, and every write queued behind
    /// it waited (bench/: letters through the API at about a tenth more per second without). A
    /// passive checkpoint blocks neither the writer nor the readers. Should this thread fall
    /// behind, the writer still checkpoints itself once the WAL passes 10,000 pages.
    pub(crate) fn checkpoint_in_background(
        self: &Arc<Self>,
        path: &Path,
    ) -> Result<std::thread::JoinHandle<()>, StoreError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        conn.execute_batch("pragma synchronous = normal")
            .map_err(err)?;
        self.conn
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .execute_batch("pragma wal_autocheckpoint = 10000")
            .map_err(err)?;
        let alive = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("minside-checkpoint".into())
            .spawn(move || {
                while alive.strong_count() > 0 {
                    if let Err(e) = conn.query_row("pragma wal_checkpoint(passive)", [], |_| Ok(()))
                    {
                        tracing::warn!(error = %e, "the WAL checkpoint failed");
                    }
                    std::thread::sleep(CHECKPOINT_EVERY);
                }
            })
            .map_err(|e| StoreError::Database(format!("cannot start the checkpoint thread: {e}")))
    }

    /// Runs `f` in one transaction (`begin immediate`), committed when it returns `Ok` and rolled
    /// back otherwise. On a multi-threaded runtime the runtime is told that this thread blocks
    /// (a commit may checkpoint the WAL), so its other tasks move on elsewhere.
    pub(crate) fn run<T>(
        &self,
        f: impl FnOnce(&mut Direct<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let go = || {
            let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
            conn.execute_batch("begin immediate").map_err(err)?;
            match f(&mut Direct(&conn)) {
                Ok(out) => match conn.execute_batch("commit") {
                    Ok(()) => Ok(out),
                    Err(e) => {
                        let _ = conn.execute_batch("rollback");
                        Err(err(e))
                    }
                },
                Err(e) => {
                    conn.execute_batch("rollback").map_err(err)?;
                    Err(e)
                }
            }
        };
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(go),
            _ => go(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer() -> (DirectWriter, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "minside-write-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.db");
        let _ = std::fs::remove_file(&path);
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "pragma journal_mode = wal; create table t (id integer primary key, v text unique)",
        )
        .unwrap();
        (DirectWriter::open(&path).unwrap(), path)
    }

    fn count(path: &Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("select count(*) from t", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn renumbering_moves_every_parameter_and_leaves_the_rest() {
        assert_eq!(
            renumber("values ($1, $2, $10) where x = $1 and y = 'a'", 20),
            "values ($21, $22, $30) where x = $21 and y = 'a'"
        );
        assert_eq!(renumber("no parameters", 5), "no parameters");
        assert_eq!(renumber("a lone $ stays", 5), "a lone $ stays");
    }

    /// The parts of a chain become `with` queries named in order, the last one the statement,
    /// each with its parameters after those of the parts before it.
    #[test]
    fn a_chain_names_its_parts_and_numbers_their_parameters_in_turn() {
        let mut chain = Chain::default();
        let first = chain.place(
            "insert into a (x, y) values ($1, $2) returning id",
            &[Arg::Int(1), Arg::Text("y")],
        );
        assert_eq!(chain.push(first), "s0");
        assert_eq!(chain.next_param(), 3);
        let second = chain.place(
            "insert into b (a_id, z) select id, $1 from s0",
            &[Arg::Text("z")],
        );
        assert_eq!(chain.push(second), "s1");
        let (sql, args) = chain.finish().unwrap();
        assert_eq!(
            sql,
            "with s0 as (insert into a (x, y) values ($1, $2) returning id) \
             insert into b (a_id, z) select id, $3 from s0"
        );
        assert_eq!(args.len(), 3);
        assert!(Chain::default().finish().is_none());
    }

    /// A transaction that fails half-way leaves nothing of itself behind, a unique violation
    /// is a `Conflict` (as on the sqlx path), and the connection is ready for the next one.
    #[test]
    fn a_failed_direct_transaction_is_rolled_back_and_the_next_one_commits() {
        let (w, path) = writer();
        w.run(|tx| now_or_never(tx.exec("insert into t (v) values ($1)", &[Arg::Text("a")])))
            .unwrap();
        let failed = w.run(|tx| {
            now_or_never(async {
                tx.exec("insert into t (v) values ($1)", &[Arg::Text("b")])
                    .await?;
                tx.exec("insert into t (v) values ($1)", &[Arg::Text("a")])
                    .await
            })
        });
        assert!(matches!(failed, Err(StoreError::Conflict(_))), "{failed:?}");
        assert_eq!(
            count(&path),
            1,
            "the first insert of the failed one is gone"
        );
        let ids = w
            .run(|tx| {
                now_or_never(async {
                    tx.exec(
                        "insert into t (v) values ($1), ($2)",
                        &[Arg::Text("b"), Arg::OptText(None)],
                    )
                    .await?;
                    tx.rows("select id from t order by id", &[], |r| r.int("id"))
                        .await
                })
            })
            .unwrap();
        assert_eq!(ids.len(), 3);
        assert_eq!(count(&path), 3);
    }

    /// The WAL is copied into the database file by the checkpoint thread, without the writer
    /// (whose own checkpoints wait for 10,000 pages), and the thread ends with the writer.
    #[test]
    fn the_wal_is_checkpointed_in_the_background_until_the_writer_is_dropped() {
        let (w, path) = writer();
        let w = Arc::new(w);
        let thread = w.checkpoint_in_background(&path).unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        let text = "x".repeat(200);
        for i in 0..100 {
            let v = format!("{i}{text}");
            w.run(|tx| now_or_never(tx.exec("insert into t (v) values ($1)", &[Arg::Text(&v)])))
                .unwrap();
        }
        // 100 small rows: a few hundred pages of WAL, below even SQLite's default threshold for
        // the writer's own checkpoint, so only the thread can have grown the database file.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::fs::metadata(&path).unwrap().len() < before + 16 * 1024 {
            assert!(
                std::time::Instant::now() < deadline,
                "the WAL was not checkpointed"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(count(&path), 100);
        drop(w);
        thread.join().unwrap();
    }
}
