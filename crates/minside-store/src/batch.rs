//! One statement for the same read asked for by many requests at once (on PostgreSQL).
//!
//! Each read of a page is a round trip to PostgreSQL, and on a small machine shared with the
//! server most of its cost is not the read but the statement around it: the messages, the
//! backend waking up, the executor starting and stopping (bench/, issue 4: the dashboard's
//! statement did 24k residents a second in pgbench one at a time and 85k eight at a time). A
//! [`Coalescer`] gathers the keys that arrive while earlier statements are running and reads them
//! together in the next one: a request that finds nothing running is read at once and alone, so
//! a quiet server answers exactly as before; under load a request waits at most for one
//! statement to finish before its own starts. Every request still gets its own row, read from
//! the database after it arrived: nothing is cached between statements.
//!
//! The statements run on tasks of their own, so a request that is dropped (its client went away)
//! never takes other requests' answers with it; a statement that fails or panics answers its
//! requests with an error and the next one starts as usual.

use crate::codec::Cols;
use crate::fast::{Arg, Reader};
use minside_core::ports::StoreError;
use minside_core::session::SessionKey;
use sqlx::AnyPool;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::oneshot;

/// The rows for some distinct keys, each with its key; a key without a row is left out. A row
/// that cannot be read is an error for that key alone.
pub(crate) type Rows<T> = Result<Vec<(String, Result<T, StoreError>)>, StoreError>;

/// Reads the rows for a list of distinct keys (one statement).
pub(crate) type ReadMany<T> =
    Arc<dyn Fn(Vec<String>) -> Pin<Box<dyn Future<Output = Rows<T>> + Send>> + Send + Sync>;

/// What a request gets: its row, none when there is none for its key, or why not.
type Answer<T> = Result<Option<T>, StoreError>;

/// Gathers concurrent reads by key into one statement each (see the module's documentation).
pub(crate) struct Coalescer<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    read: ReadMany<T>,
    /// Statements running at once at most (each on a connection of the pool).
    max_running: usize,
    /// Keys per statement at most; more waiting are read by the next statement.
    max_keys: usize,
    state: Mutex<State<T>>,
}

struct State<T> {
    waiting: Vec<(String, oneshot::Sender<Answer<T>>)>,
    running: usize,
}

impl<T> std::fmt::Debug for Coalescer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalescer")
            .field("max_running", &self.inner.max_running)
            .field("max_keys", &self.inner.max_keys)
            .finish_non_exhaustive()
    }
}

impl<T: Clone + Send + 'static> Coalescer<T> {
    pub(crate) fn new(read: ReadMany<T>, max_running: usize, max_keys: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                read,
                max_running: max_running.max(1),
                max_keys: max_keys.max(1),
                state: Mutex::new(State {
                    waiting: Vec::new(),
                    running: 0,
                }),
            }),
        }
    }

    /// The row for `key`, read in the next statement (at once when none is running).
    pub(crate) async fn get(&self, key: &str) -> Answer<T> {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut state = self.inner.lock();
            state.waiting.push((key.to_owned(), tx));
            let start = state.running < self.inner.max_running;
            if start {
                state.running += 1;
            }
            start
        };
        if start {
            tokio::spawn(run(Arc::clone(&self.inner)));
        }
        rx.await.unwrap_or_else(|_| {
            Err(StoreError::Database(
                "the read was given up before it was answered".into(),
            ))
        })
    }
}

impl<T> Inner<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One of the running readers: reads what is waiting, oldest first, until nothing is.
async fn run<T: Clone + Send + 'static>(inner: Arc<Inner<T>>) {
    loop {
        let batch: Vec<(String, oneshot::Sender<Answer<T>>)> = {
            let mut state = inner.lock();
            if state.waiting.is_empty() {
                state.running -= 1;
                return;
            }
            let n = state.waiting.len().min(inner.max_keys);
            state.waiting.drain(..n).collect()
        };
        let mut keys: Vec<String> = Vec::with_capacity(batch.len());
        for (key, _) in &batch {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
        }
        // On a task of its own: a panic while reading ends that task, not this reader.
        let rows = match tokio::spawn((inner.read)(keys)).await {
            Ok(rows) => rows,
            Err(e) => Err(StoreError::Database(format!("a batched read failed: {e}"))),
        };
        answer(batch, rows);
    }
}

/// Keys (sessions, letters, inbox pages) per statement at most.
const KEYS_PER_STATEMENT: usize = 64;

/// Statements of one coalescer running at once: one per two of this machine's cores, at most a
/// quarter of the pool's connections (two of the default eight), at least one. Each statement
/// takes every key that arrived while the others ran, and more at once split the same load into
/// smaller statements. On two cores, with PostgreSQL beside minside, one at a time does best: the
/// dashboard at 10,000 residents and 32 connections 19.3–20.9k a second with two at once and
/// 20.6–22.1k with one, the letter page 13.2–13.5k and 15.0k, the inbox the same (four at once
/// had done 13–21k beside two's 18–23k; issue 4, reports vm-15 and vm-19).
fn statements_at_once(max_connections: u32, cores: usize) -> usize {
    let pool_quarter = usize::try_from(max_connections / 4).unwrap_or(1).max(1);
    (cores / 2).clamp(1, pool_quarter)
}

/// Reads by session key on `pool`, those asked for together in one statement: `one` reads the
/// session whose key is `$1`, `many` those whose keys are in the JSON array `$1` (the `Any`
/// driver binds no arrays); each row names its session's key in `s_key` and `map` reads the rest.
/// [`statements_at_once`] of them run at once.
pub(crate) fn by_session<T: Clone + Send + 'static>(
    pool: AnyPool,
    max_connections: u32,
    one: &'static str,
    many: &'static str,
    map: fn(&SessionKey, &dyn Cols) -> Result<T, StoreError>,
) -> Coalescer<T> {
    by_key(pool, max_connections, one, many, "s_key", move |key, r| {
        map(&SessionKey(key.to_owned()), r)
    })
}

/// Reads by a text key as [`by_session`] does, each row naming its key in `key_column`.
pub(crate) fn by_key<T: Clone + Send + 'static>(
    pool: AnyPool,
    max_connections: u32,
    one: &'static str,
    many: &'static str,
    key_column: &'static str,
    map: impl Fn(&str, &dyn Cols) -> Result<T, StoreError> + Send + Sync + 'static,
) -> Coalescer<T> {
    let map = Arc::new(map);
    let read: ReadMany<T> = Arc::new(move |keys: Vec<String>| {
        let (pool, map) = (pool.clone(), Arc::clone(&map));
        Box::pin(async move {
            let json;
            let (sql, arg) = match keys.as_slice() {
                [key] => (one, Arg::Text(key)),
                _ => {
                    json = serde_json::to_string(&keys)
                        .map_err(|e| StoreError::Database(format!("keys as JSON: {e}")))?;
                    (many, Arg::Text(&json))
                }
            };
            let reader = Reader {
                pool: &pool,
                direct: None,
            };
            reader
                .all(sql, &[arg], |r| {
                    let key = r.text(key_column)?;
                    let row = map(&key, r);
                    Ok((key, row))
                })
                .await
        })
    });
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    Coalescer::new(
        read,
        statements_at_once(max_connections, cores),
        KEYS_PER_STATEMENT,
    )
}

/// Sends each waiting request its row (a key asked for twice gets it twice).
fn answer<T: Clone>(batch: Vec<(String, oneshot::Sender<Answer<T>>)>, rows: Rows<T>) {
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => {
            for (_, tx) in batch {
                let _ = tx.send(Err(e.clone()));
            }
            return;
        }
    };
    let by_key: HashMap<String, Result<T, StoreError>> = rows.into_iter().collect();
    for (key, tx) in batch {
        // A request given up meanwhile has dropped its receiver; nothing to do for it.
        let _ = tx.send(match by_key.get(&key) {
            Some(Ok(row)) => Ok(Some(row.clone())),
            Some(Err(e)) => Err(e.clone()),
            None => Ok(None),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::{statements_at_once, Coalescer, ReadMany, Rows};
    use minside_core::ports::StoreError;
    use std::sync::{Arc, Mutex};
    use tokio::sync::Semaphore;

    /// A reader whose statements wait until the test lets them finish, and that records the
    /// keys of each statement and how many ran at once. A key `bad` has a row that cannot be
    /// read, `boom` fails the whole statement, `panic` panics; `none` has no row.
    struct Fake {
        calls: Mutex<Vec<Vec<String>>>,
        running: Mutex<(usize, usize)>,
        gate: Semaphore,
    }

    fn fake() -> (Arc<Fake>, ReadMany<String>) {
        let f = Arc::new(Fake {
            calls: Mutex::new(Vec::new()),
            running: Mutex::new((0, 0)),
            gate: Semaphore::new(0),
        });
        let g = Arc::clone(&f);
        let read: ReadMany<String> = Arc::new(move |keys: Vec<String>| {
            let f = Arc::clone(&g);
            Box::pin(async move {
                f.calls.lock().unwrap().push(keys.clone());
                {
                    let mut r = f.running.lock().unwrap();
                    r.0 += 1;
                    r.1 = r.1.max(r.0);
                }
                f.gate.acquire().await.unwrap().forget();
                f.running.lock().unwrap().0 -= 1;
                assert!(!keys.iter().any(|k| k == "panic"), "a reader panicked");
                if keys.iter().any(|k| k == "boom") {
                    return Err(StoreError::Database("server gone".into()));
                }
                let rows: Rows<String> = Ok(keys
                    .into_iter()
                    .filter(|k| k != "none")
                    .map(|k| {
                        let row = if k == "bad" {
                            Err(StoreError::Corrupt("bad row".into()))
                        } else {
                            Ok(format!("row of {k}"))
                        };
                        (k, row)
                    })
                    .collect());
                rows
            })
        });
        (f, read)
    }

    /// One statement at a time on a small machine, one per two cores on a larger one, never more
    /// than a quarter of the pool's connections, never none.
    #[test]
    fn statements_at_once_grow_with_the_cores_up_to_a_quarter_of_the_pool() {
        assert_eq!(statements_at_once(8, 1), 1);
        assert_eq!(statements_at_once(8, 2), 1);
        assert_eq!(statements_at_once(8, 3), 1);
        assert_eq!(statements_at_once(8, 4), 2);
        assert_eq!(statements_at_once(8, 64), 2);
        assert_eq!(statements_at_once(32, 16), 8);
        assert_eq!(statements_at_once(32, 64), 8);
        assert_eq!(statements_at_once(2, 16), 1);
    }

    async fn settle() {
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
    }

    fn ask(
        c: &Arc<Coalescer<String>>,
        key: &str,
    ) -> tokio::task::JoinHandle<Result<Option<String>, StoreError>> {
        let (c, key) = (Arc::clone(c), key.to_owned());
        tokio::spawn(async move { c.get(&key).await })
    }

    /// A request that finds nothing running is read alone and at once; the requests that arrive
    /// while statements run are read together in the next one, each gets its own row (a key
    /// asked for twice gets it twice, a key without a row gets none), and no more statements
    /// run at once than allowed.
    #[tokio::test(flavor = "current_thread")]
    async fn requests_arriving_while_a_read_runs_are_read_together_each_getting_its_own_row() {
        let (f, read) = fake();
        let c = Arc::new(Coalescer::new(read, 1, 64));
        let first = ask(&c, "a");
        settle().await;
        assert_eq!(*f.calls.lock().unwrap(), vec![vec!["a".to_owned()]]);
        let rest: Vec<_> = ["b", "c", "b", "none"].iter().map(|k| ask(&c, k)).collect();
        settle().await;
        assert_eq!(f.calls.lock().unwrap().len(), 1, "they wait for the first");
        f.gate.add_permits(2);
        assert_eq!(first.await.unwrap().unwrap(), Some("row of a".to_owned()));
        let mut got = Vec::new();
        for r in rest {
            got.push(r.await.unwrap().unwrap());
        }
        assert_eq!(
            got,
            vec![
                Some("row of b".to_owned()),
                Some("row of c".to_owned()),
                Some("row of b".to_owned()),
                None
            ]
        );
        let calls = f.calls.lock().unwrap().clone();
        assert_eq!(calls, vec![vec!["a"], vec!["b", "c", "none"]]);
        assert_eq!(f.running.lock().unwrap().1, 1);
    }

    /// With two statements allowed at once, a request arriving while one runs starts the second
    /// at once; the requests arriving while both run wait for either; a statement takes at most
    /// `max_keys` keys, the rest go in the next.
    #[tokio::test(flavor = "current_thread")]
    async fn statements_run_side_by_side_up_to_the_limit_and_take_a_bounded_number_of_keys() {
        let (f, read) = fake();
        let c = Arc::new(Coalescer::new(read, 2, 2));
        let mut asked = vec![ask(&c, "a")];
        settle().await;
        asked.push(ask(&c, "b"));
        settle().await;
        asked.extend(["c", "d", "e"].iter().map(|k| ask(&c, k)));
        settle().await;
        assert_eq!(*f.calls.lock().unwrap(), vec![vec!["a"], vec!["b"]]);
        f.gate.add_permits(10);
        for (r, k) in asked.into_iter().zip(["a", "b", "c", "d", "e"]) {
            assert_eq!(r.await.unwrap().unwrap(), Some(format!("row of {k}")));
        }
        let calls = f.calls.lock().unwrap().clone();
        assert_eq!(
            calls,
            vec![vec!["a"], vec!["b"], vec!["c", "d"], vec!["e"]],
            "oldest first, two at a time"
        );
        assert_eq!(f.running.lock().unwrap().1, 2);
    }

    /// A row that cannot be read is an error for its own request only; a statement that fails
    /// or panics is an error for the requests it read, and the next statement runs as usual; a
    /// request given up while waiting takes no one else's answer with it.
    #[tokio::test(flavor = "current_thread")]
    async fn a_failed_row_or_statement_or_a_request_given_up_only_touches_its_own() {
        let (f, read) = fake();
        let c = Arc::new(Coalescer::new(read, 1, 64));
        let first = ask(&c, "a");
        settle().await;
        let bad = ask(&c, "bad");
        let good = ask(&c, "g");
        let given_up = ask(&c, "x");
        settle().await;
        given_up.abort();
        f.gate.add_permits(2);
        assert!(first.await.unwrap().unwrap().is_some());
        assert!(matches!(bad.await.unwrap(), Err(StoreError::Corrupt(_))));
        assert_eq!(good.await.unwrap().unwrap(), Some("row of g".to_owned()));

        let blocker = ask(&c, "a");
        settle().await;
        let failed = [ask(&c, "boom"), ask(&c, "h")];
        settle().await;
        f.gate.add_permits(2);
        assert!(blocker.await.unwrap().is_ok());
        for r in failed {
            assert!(matches!(r.await.unwrap(), Err(StoreError::Database(_))));
        }

        let panicked = ask(&c, "panic");
        settle().await;
        f.gate.add_permits(1);
        assert!(matches!(
            panicked.await.unwrap(),
            Err(StoreError::Database(_))
        ));
        let after = ask(&c, "i");
        settle().await;
        f.gate.add_permits(1);
        assert_eq!(after.await.unwrap().unwrap(), Some("row of i".to_owned()));
    }
}
