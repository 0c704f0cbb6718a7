//! Reads for the pages residents open most (the session, the dashboard summary, the inbox and a
//! letter), written once and run on whichever path is fastest for the engine.
//!
//! sqlx runs every SQLite statement on a worker thread per connection and passes each row back
//! over a channel; with a handful of indexed reads per page those thread hand-offs cost more than
//! the reads themselves (profiled in bench/results). On SQLite these reads therefore run on
//! read-only rusqlite connections directly on the calling task: an indexed read of a WAL database
//! takes microseconds and never waits for a writer. On PostgreSQL (and an in-memory SQLite) they
//! go through the sqlx pool. The SQL and the row mappings ([`Cols`]) are the same on both paths.

use crate::codec::Cols;
use minside_core::ports::StoreError;
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};
use sqlx::AnyPool;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

/// A bound value of a statement (a typed null keeps PostgreSQL's parameter types right).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    Int(i64),
    Text(&'a str),
    OptInt(Option<i64>),
    OptText(Option<&'a str>),
}

impl ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Arg::Int(i) | Arg::OptInt(Some(i)) => ToSqlOutput::from(*i),
            Arg::Text(s) | Arg::OptText(Some(s)) => {
                ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
            }
            Arg::OptInt(None) | Arg::OptText(None) => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

/// Binds `args` to a statement written with `$n` parameters. SQLite numbers `$n` parameters in
/// order of first appearance, not by n: each is bound by its name, as sqlx does.
pub(crate) fn bind_all(
    stmt: &mut rusqlite::Statement<'_>,
    args: &[Arg<'_>],
) -> Result<(), StoreError> {
    for i in 1..=stmt.parameter_count() {
        let arg = stmt
            .parameter_name(i)
            .and_then(|n| n.strip_prefix('$'))
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| args.get(n.checked_sub(1)?))
            .ok_or_else(|| {
                StoreError::Database(format!("parameter {i} of a statement has no value"))
            })?;
        stmt.raw_bind_parameter(i, arg).map_err(err)?;
    }
    Ok(())
}

/// A rusqlite error; unique-constraint violations become `Conflict`, as with sqlx (`crate::db`).
pub(crate) fn err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        {
            return StoreError::Conflict(msg.clone().unwrap_or_else(|| e.to_string()));
        }
    }
    StoreError::Database(e.to_string())
}

/// Runs `sql` with `args` on a rusqlite connection and maps every row (the direct reads and
/// the direct writer's statements that return rows).
pub(crate) fn rows_on<T>(
    c: &Connection,
    sql: &str,
    args: &[Arg<'_>],
    map: impl Fn(&dyn Cols) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = c.prepare_cached(sql).map_err(err)?;
    let mut names = ColumnNames::of(&stmt);
    rows_of(&mut stmt, &mut names, args, map)
}

/// Binds `args` to a prepared statement whose columns were `names` and maps every row. SQLite
/// prepares a statement again when the schema has changed, on its first step: a `select *` may
/// then have other columns, so `names` are read again when their number no longer matches.
fn rows_of<T>(
    stmt: &mut rusqlite::Statement<'_>,
    names: &mut ColumnNames,
    args: &[Arg<'_>],
    map: impl Fn(&dyn Cols) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    bind_all(stmt, args)?;
    names.next.set(0);
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(err)? {
        if out.is_empty() && row.as_ref().column_count() != names.ends.len() {
            *names = ColumnNames::of(row.as_ref());
        }
        out.push(map(&Named { row, names })?);
    }
    Ok(out)
}

/// The text of a statement for the direct reads. A string literal (or constant) lives as long as
/// the program, so where it is in memory identifies it: its column names are read from SQLite
/// once per connection and kept ([`ReadConnection`]). A statement built at run time (the inbox's,
/// with its filters) has no such identity; its names are read each time.
pub(crate) trait SqlText {
    fn text(&self) -> &str;
    /// Address and length of a statement that lives as long as the program.
    fn identity(&self) -> Option<(usize, usize)>;
}

impl SqlText for &'static str {
    fn text(&self) -> &str {
        self
    }
    fn identity(&self) -> Option<(usize, usize)> {
        Some((self.as_ptr() as usize, self.len()))
    }
}

impl SqlText for &String {
    fn text(&self) -> &str {
        self.as_str()
    }
    fn identity(&self) -> Option<(usize, usize)> {
        None
    }
}

/// A statement's column names, read once before its rows: rusqlite's look-up by name asks SQLite
/// for every column's name (and its length) on each access, which was ~7 % of the dashboard's
/// profile (bench/, issue 4) with the session row's 27 columns. Reading them all (each checked
/// to be UTF-8) was still ~5 % of the dashboard's instructions, so the direct reads keep them per
/// connection and statement ([`SqlText`]). The mappings mostly read the columns in the order they
/// are selected, so a look-up starts after the last one found.
struct ColumnNames {
    all: String,
    ends: Vec<usize>,
    next: std::cell::Cell<usize>,
}

impl ColumnNames {
    fn of(stmt: &rusqlite::Statement<'_>) -> Self {
        let count = stmt.column_count();
        let (mut all, mut ends) = (String::with_capacity(count * 16), Vec::with_capacity(count));
        for i in 0..count {
            all.push_str(stmt.column_name(i).unwrap_or_default());
            ends.push(all.len());
        }
        Self {
            all,
            ends,
            next: std::cell::Cell::new(0),
        }
    }

    fn name(&self, i: usize) -> &[u8] {
        let start = i.checked_sub(1).map_or(0, |p| self.ends[p]);
        &self.all.as_bytes()[start..self.ends[i]]
    }

    fn index(&self, column: &str) -> Result<usize, StoreError> {
        let n = self.ends.len();
        let next = self.next.get();
        let is = |i: usize| i < n && self.name(i) == column.as_bytes();
        // The column after the last one found, then that one again (a mapping that checks a
        // column and then reads it), then all of them.
        let found = [next, next.wrapping_sub(1)]
            .into_iter()
            .find(|&i| is(i))
            .or_else(|| (0..n).find(|&i| is(i)));
        match found {
            Some(i) => {
                self.next.set(i + 1);
                Ok(i)
            }
            None => Err(StoreError::Database(format!("no column named {column}"))),
        }
    }
}

/// A row whose columns are found by name through the statement's [`ColumnNames`].
struct Named<'a, 'r> {
    row: &'a rusqlite::Row<'r>,
    names: &'a ColumnNames,
}

impl Named<'_, '_> {
    fn get<T: rusqlite::types::FromSql>(&self, column: &str) -> Result<T, StoreError> {
        self.row.get(self.names.index(column)?).map_err(err)
    }
}

impl Cols for Named<'_, '_> {
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        self.get(column)
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        self.get(column)
    }
    fn text(&self, column: &str) -> Result<String, StoreError> {
        self.get(column)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        self.get(column)
    }
}

/// Idle read-only connections to one SQLite file, opened on demand.
pub(crate) struct DirectSqlite {
    path: PathBuf,
    idle: Mutex<Vec<ReadConnection>>,
}

/// A read-only connection with the column names of the constant statements it has run.
struct ReadConnection {
    conn: Connection,
    names: Vec<((usize, usize), ColumnNames)>,
}

impl ReadConnection {
    /// Every row of `sql`, mapped; the column names of a constant statement are read once.
    fn rows<T>(
        &mut self,
        sql: &impl SqlText,
        args: &[Arg<'_>],
        map: impl Fn(&dyn Cols) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql.text()).map_err(err)?;
        let Some(identity) = sql.identity() else {
            let mut names = ColumnNames::of(&stmt);
            return rows_of(&mut stmt, &mut names, args, map);
        };
        let at = match self.names.iter().position(|(id, _)| *id == identity) {
            Some(i) => i,
            None => {
                self.names.push((identity, ColumnNames::of(&stmt)));
                self.names.len() - 1
            }
        };
        rows_of(&mut stmt, &mut self.names[at].1, args, map)
    }
}

impl std::fmt::Debug for DirectSqlite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectSqlite")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// How many idle connections are kept (more are opened under load and closed after use). Reads
/// run on the request's thread, so about one per runtime worker thread is in use at a time.
const IDLE_KEPT: usize = 4;

/// Page cache per connection, in KiB (SQLite's default is 2 MiB): the index pages of a large
/// municipality's hot rows stay in it instead of being read from the OS again. Bounded by
/// [`IDLE_KEPT`] in the server's memory.
const CACHE_KIB: i64 = 8 * 1024;

impl DirectSqlite {
    /// For a file database URL (`sqlite://path?…` or `sqlite:path`); none for in-memory ones.
    pub(crate) fn for_url(url: &str) -> Option<Self> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() || path == ":memory:" || query.contains("mode=memory") {
            return None;
        }
        Some(Self {
            path: PathBuf::from(path),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// The database file.
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut ReadConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut conn = match idle {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(err)?;
                c.busy_timeout(std::time::Duration::from_secs(5))
                    .map_err(err)?;
                c.pragma_update(None, "cache_size", -CACHE_KIB)
                    .map_err(err)?;
                ReadConnection {
                    conn: c,
                    names: Vec::new(),
                }
            }
        };
        let out = f(&mut conn);
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < IDLE_KEPT {
            idle.push(conn);
        }
        out
    }
}

/// Where the hot reads run: the direct SQLite connections when there are some, else the pool.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    pub(crate) pool: &'a AnyPool,
    pub(crate) direct: Option<&'a DirectSqlite>,
}

impl Reader<'_> {
    /// Every row of `sql`, mapped.
    pub(crate) async fn all<T>(
        &self,
        sql: impl SqlText,
        args: &[Arg<'_>],
        map: impl Fn(&dyn Cols) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        if let Some(direct) = self.direct {
            return direct.with(|c| c.rows(&sql, args, map));
        }
        crate::write::sqlx_query(sql.text(), args)
            .fetch_all(self.pool)
            .await
            .map_err(crate::db)?
            .iter()
            .map(|r| map(r))
            .collect()
    }

    /// The first row of `sql`, mapped, if there is one.
    pub(crate) async fn optional<T>(
        &self,
        sql: impl SqlText,
        args: &[Arg<'_>],
        map: impl Fn(&dyn Cols) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        Ok(self.all(sql, args, map).await?.into_iter().next())
    }
}

#[cfg(test)]
mod tests {
    /// The bundled SQLite is built by `.cargo/config.toml` without the process-wide page-cache
    /// mutex (`SQLITE_ENABLE_MEMORY_MANAGEMENT`) and without memory statistics, which serialised
    /// the direct readers under load (bench/, issue 4).
    #[test]
    fn the_bundled_sqlite_has_no_process_wide_page_cache_or_statistics_lock() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let options: Vec<String> = c
            .prepare("select compile_options from pragma_compile_options")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "{options:?}"
        );
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
    }

    /// A read-only connection keeps the column names of each constant statement: two statements
    /// of the same length, with the same columns in another order, each find their own; and a
    /// statement whose columns change (here `select *` after a column is added by another
    /// connection; SQLite prepares it again) finds the new ones.
    #[test]
    fn constant_statements_keep_their_own_column_names() {
        use super::{DirectSqlite, SqlText};
        use crate::codec::Cols;
        const ONE_TWO: &str = "select 1 as one, 2 as two";
        const TWO_ONE: &str = "select 2 as two, 1 as one";
        const EVERY: &str = "select * from t";
        let dir = std::env::temp_dir().join(format!("minside-fast-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("names.db");
        let _ = std::fs::remove_file(&path);
        let writer = rusqlite::Connection::open(&path).unwrap();
        writer
            .execute_batch(
                "pragma journal_mode = wal; create table t (a integer); insert into t values (7)",
            )
            .unwrap();
        let direct = DirectSqlite::for_url(&format!("sqlite://{}", path.display())).unwrap();
        let pair = |sql: &'static str| {
            direct
                .with(|c| c.rows(&sql, &[], |r: &dyn Cols| Ok((r.int("one")?, r.int("two")?))))
                .unwrap()
        };
        for _ in 0..2 {
            assert_eq!(pair(ONE_TWO), vec![(1, 2)]);
            assert_eq!(pair(TWO_ONE), vec![(1, 2)]);
        }
        assert_eq!(ONE_TWO.identity().unwrap().1, TWO_ONE.identity().unwrap().1);
        let a = direct
            .with(|c| c.rows(&EVERY, &[], |r: &dyn Cols| r.int("a")))
            .unwrap();
        assert_eq!(a, vec![7]);
        writer
            .execute_batch("alter table t add column b integer; update t set b = 8")
            .unwrap();
        let b = direct
            .with(|c| c.rows(&EVERY, &[], |r: &dyn Cols| r.int("b")))
            .unwrap();
        assert_eq!(b, vec![8]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Rows read directly find their columns by name whatever their order, a name that is a
    /// prefix or suffix of another is not confused with it, and a missing one is an error.
    #[test]
    fn direct_rows_find_columns_by_their_whole_name() {
        use super::{rows_on, Arg};
        use crate::codec::Cols;
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let sql = "select 1 as s_kind, 'a' as kind_name, 2 as kind, null as note, $1 as echo";
        let rows = rows_on(&c, sql, &[Arg::Text("x")], |r: &dyn Cols| {
            Ok((
                r.int("kind")?,
                r.int("s_kind")?,
                r.text("kind_name")?,
                r.opt_text("note")?,
                r.opt_text("note")?,
                r.text("echo")?,
                r.int("kind")?,
            ))
        })
        .unwrap();
        assert_eq!(
            rows,
            vec![(2, 1, "a".to_owned(), None, None, "x".to_owned(), 2)]
        );
        let missing = rows_on(&c, sql, &[Arg::Text("x")], |r: &dyn Cols| r.int("kin"));
        assert!(
            matches!(&missing, Err(minside_core::ports::StoreError::Database(m)) if m.contains("kin")),
            "{missing:?}"
        );
    }
}
