//! Document storage in a directory (the embedded default). Keys are relative paths of
//! `[a-z0-9-/]`. A document is on the disk before `put` returns (the letter's transaction
//! commits after it, `durable.rs`), and readers never see half a document: a new key is written
//! in place and flushed before anything refers to it, a key written again goes to a temporary
//! file renamed into place. Production can use object storage behind the same port.
//!
//! New documents written at the same time share their flush ([`GroupFlush`]): one `syncfs` of
//! the directory's file system makes every document written before it durable. Before, each
//! document was flushed on its own, then renamed, then its directory flushed: with letters
//! through the API at 16 connections that cost the server 0.8–1.25 ms of kernel CPU a letter
//! against 0.62–0.71 ms now, and 785–955 letters a second against 978–1,116 (SQLite, 10k
//! residents, alternated runs on one virtual machine; issue 4).

use minside_core::ports::{BlobError, Blobs};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};

/// Blobs under one directory.
#[derive(Debug, Clone)]
pub struct DirBlobs {
    root: PathBuf,
    flushes: Arc<GroupFlush>,
    /// The directory, open from before the first document is written until the last flush (see
    /// [`flush_file_system`]).
    opened: Arc<OnceLock<std::fs::File>>,
}

impl DirBlobs {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            flushes: Arc::default(),
            opened: Arc::default(),
        }
    }

    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        let ok = !key.is_empty()
            && !key.starts_with('/')
            && !key.contains("..")
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'/');
        if ok {
            Ok(self.root.join(key))
        } else {
            Err(BlobError::Io(format!("invalid blob key {key:?}")))
        }
    }
}

#[async_trait::async_trait]
impl Blobs for DirBlobs {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        let path = self.path(key)?;
        let root = self.root.clone();
        let bytes = bytes.to_vec();
        let flushes = Arc::clone(&self.flushes);
        let opened = Arc::clone(&self.opened);
        // One trip to the blocking pool for the whole write (each `tokio::fs` call is a trip of
        // its own, and the waking of a pool thread cost more than the copy of the document).
        tokio::task::spawn_blocking(move || store(&root, &path, &bytes, &flushes, &opened))
            .await
            .map_err(|e| BlobError::Io(e.to_string()))?
            .map_err(|e| BlobError::Io(e.to_string()))
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, BlobError> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(BlobError::NotFound),
            Err(e) => Err(BlobError::Io(e.to_string())),
        }
    }
}

/// Creates `path`, which must not exist yet, with `bytes`, not flushed (see [`GroupFlush`]); the
/// directory is made when it is missing. A write that fails removes the file, so that a retry
/// with the same key finds none.
#[cfg_attr(not(target_os = "linux"), expect(dead_code))]
fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let create = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    };
    let mut file = match create() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            create()?
        }
        other => other?,
    };
    file.write_all(bytes).inspect_err(|_| {
        let _ = std::fs::remove_file(path);
    })
}

/// Stores `bytes` under `path`, on the disk when it returns: a new document is written in
/// place and flushed together with the others written meanwhile; one written again replaces the
/// old one whole.
#[cfg(target_os = "linux")]
fn store(
    root: &Path,
    path: &Path,
    bytes: &[u8],
    flushes: &GroupFlush,
    opened: &OnceLock<std::fs::File>,
) -> std::io::Result<()> {
    let dir = open_once(opened, root)?;
    match write_new(path, bytes) {
        Ok(()) => flushes.wait(|| flush_file_system(dir)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            write_atomically(root, path, bytes)
        }
        Err(e) => Err(e),
    }
}

/// Without `syncfs` each document is flushed on its own.
#[cfg(not(target_os = "linux"))]
fn store(
    root: &Path,
    path: &Path,
    bytes: &[u8],
    _: &GroupFlush,
    _: &OnceLock<std::fs::File>,
) -> std::io::Result<()> {
    write_atomically(root, path, bytes)
}

/// `root`, made if missing and opened the first time; the same open directory after that.
#[cfg(target_os = "linux")]
fn open_once<'a>(
    opened: &'a OnceLock<std::fs::File>,
    root: &Path,
) -> std::io::Result<&'a std::fs::File> {
    if let Some(dir) = opened.get() {
        return Ok(dir);
    }
    std::fs::create_dir_all(root)?;
    let dir = std::fs::File::open(root)?;
    Ok(opened.get_or_init(|| dir))
}

/// Makes everything written on the file system of the open directory `dir` durable: the new
/// documents' bytes, their names and any directories made for them (`syncfs`: it writes and
/// flushes whatever else on that file system waits to be written as well, so the documents are
/// best kept on a file system of their own when much else is written there). `syncfs` reports a
/// write that failed on the file system since the directory was opened (once per open file), so
/// the directory stays open from before the first document was written: a document the kernel
/// failed to write in the background before a flush began still fails that flush.
#[cfg(target_os = "linux")]
fn flush_file_system(dir: &std::fs::File) -> std::io::Result<()> {
    rustix::fs::syncfs(dir).map_err(std::io::Error::from)
}

/// Flushes shared by the writers that wait at the same time (group commit): a writer joins the
/// round that the next flush will cover; when no flush is running, the first writer of that
/// round runs it for everyone in it, and those who join meanwhile make up the next round. A flush
/// covers what was written before it started, so a writer that joins after its write is covered
/// by its round's flush; a flush that fails fails for each writer of its round.
#[derive(Debug, Default)]
pub(crate) struct GroupFlush {
    state: Mutex<FlushState>,
    done: Condvar,
}

#[derive(Debug, Default)]
struct FlushState {
    /// The round the next flush covers, once somebody waits for it.
    next: Option<Arc<Round>>,
    /// Whether a flush is running.
    flushing: bool,
    /// Flushes run so far (for tests).
    flushes: u64,
}

#[derive(Debug, Default)]
struct Round {
    outcome: OnceLock<Result<(), String>>,
}

impl GroupFlush {
    /// Returns once a flush that started after this call has ended: its outcome. `flush` runs
    /// on this thread if this writer is the one to run its round's flush.
    #[cfg_attr(not(target_os = "linux"), expect(dead_code))]
    pub(crate) fn wait(&self, flush: impl Fn() -> std::io::Result<()>) -> std::io::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mine = Arc::clone(state.next.get_or_insert_with(Arc::default));
        loop {
            if let Some(outcome) = mine.outcome.get() {
                return outcome.clone().map_err(std::io::Error::other);
            }
            if !state.flushing {
                // Nobody flushes and this round has not been flushed: it is still the next one.
                let round = state.next.take().unwrap_or_else(|| Arc::clone(&mine));
                state.flushing = true;
                drop(state);
                let outcome = flush().map_err(|e| e.to_string());
                let _ = round.outcome.set(outcome);
                state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                state.flushing = false;
                state.flushes += 1;
                self.done.notify_all();
                continue;
            }
            state = self
                .done
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// How many writers wait for the next round (not the one being flushed).
    #[cfg(test)]
    fn waiting_for_next(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next
            .as_ref()
            .map_or(0, |r| Arc::strong_count(r) - 1)
    }

    /// How many flushes have run.
    #[cfg(test)]
    pub(crate) fn flushes(&self) -> u64 {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flushes
    }
}

/// Writes to a temporary file next to `path`, flushed to the disk, and renames it into place,
/// then flushes the directory (`durable.rs`: the letter's transaction commits after this); the
/// directory is made only when it is missing (usually it is there: keys share their
/// directories), and then the directories above it up to `root` are flushed as well.
fn write_atomically(root: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!(
        "tmp-{}",
        minside_web::security::random_token()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect::<String>()
    ));
    let dir = path.parent().unwrap_or(root);
    // Whether the directory had to be made: then the directories above it are flushed too.
    let written = match crate::durable::write_file(&tmp, bytes) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(dir)
            .and_then(|()| crate::durable::write_file(&tmp, bytes))
            .map(|()| true),
        other => other.map(|()| false),
    }
    .and_then(|created| {
        std::fs::rename(&tmp, path)?;
        if created {
            crate::durable::sync_dirs_up_to(root, dir)
        } else {
            crate::durable::sync_dir(dir)
        }
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn documents_round_trip_and_keys_cannot_escape_the_directory() {
        let dir = std::env::temp_dir().join(format!("minside-blobs-{}", std::process::id()));
        let blobs = DirBlobs::new(&dir);
        blobs.put("letters/abc-1/0", b"%PDF-1.4").await.unwrap();
        assert_eq!(blobs.get("letters/abc-1/0").await.unwrap(), b"%PDF-1.4");
        assert!(matches!(
            blobs.get("letters/abc-1/9").await,
            Err(BlobError::NotFound)
        ));
        for bad in ["../etc/passwd", "/etc/passwd", "Letters/X", ""] {
            assert!(blobs.put(bad, b"x").await.is_err(), "{bad}");
        }
    }

    /// The shared directory is made by the first document in it; later ones go straight in, a
    /// document written again replaces the old one whole, and no temporary file is left over.
    #[tokio::test]
    async fn documents_share_their_directory_and_leave_no_temporary_files() {
        let dir = std::env::temp_dir().join(format!("minside-blobs-shared-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let blobs = DirBlobs::new(&dir);
        let first = minside_core::ports::document_key("letters", "1-ab", 0);
        let second = minside_core::ports::document_key("letters", "2-ab", 0);
        blobs.put(&first, b"one").await.unwrap();
        blobs.put(&second, b"two").await.unwrap();
        blobs.put(&first, b"one, again").await.unwrap();
        assert_eq!(blobs.get(&first).await.unwrap(), b"one, again");
        assert_eq!(blobs.get(&second).await.unwrap(), b"two");
        let mut names: Vec<String> = std::fs::read_dir(dir.join("letters/ab"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["1-ab-0", "2-ab-0"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Runs `writers` threads that wait on `group` while its first writer's flush is held open,
    /// then lets that flush end; what each of the others got, and how often the flush they
    /// passed (`then`) ran.
    fn join_during_a_flush(
        group: &Arc<GroupFlush>,
        writers: usize,
        then: fn() -> std::io::Result<()>,
    ) -> (Vec<std::io::Result<()>>, usize) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (started, running) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let first = {
            let group = Arc::clone(group);
            std::thread::spawn(move || {
                group.wait(|| {
                    started.send(()).unwrap();
                    released.recv().unwrap();
                    Ok(())
                })
            })
        };
        running.recv().unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let others: Vec<_> = (0..writers)
            .map(|_| {
                let (group, ran) = (Arc::clone(group), Arc::clone(&ran));
                std::thread::spawn(move || {
                    group.wait(|| {
                        ran.fetch_add(1, Ordering::SeqCst);
                        then()
                    })
                })
            })
            .collect();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while group.waiting_for_next() < writers {
            assert!(
                std::time::Instant::now() < deadline,
                "the writers never joined"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        release.send(()).unwrap();
        first.join().unwrap().unwrap();
        let got = others.into_iter().map(|t| t.join().unwrap()).collect();
        (got, ran.load(Ordering::SeqCst))
    }

    /// Writers that come while a flush runs are not answered by it (it may have started before
    /// their writes): they wait for the next one, and all of them share it.
    #[test]
    fn writers_that_come_during_a_flush_share_the_next_one() {
        let group = Arc::new(GroupFlush::default());
        let (got, ran) = join_during_a_flush(&group, 8, || Ok(()));
        assert!(got.iter().all(Result::is_ok));
        assert_eq!(ran, 1, "one flush for the eight writers");
        assert_eq!(group.flushes(), 2);
    }

    /// A flush that fails fails for every writer it was run for, and the next writer gets a
    /// flush of its own.
    #[test]
    fn a_failed_flush_fails_each_of_its_writers_and_the_next_writer_flushes_again() {
        let group = Arc::new(GroupFlush::default());
        let (got, ran) = join_during_a_flush(&group, 4, || Err(std::io::Error::other("disk gone")));
        assert_eq!(ran, 1);
        for g in got {
            assert_eq!(g.unwrap_err().to_string(), "disk gone");
        }
        group.wait(|| Ok(())).unwrap();
        assert_eq!(group.flushes(), 3);
    }

    /// Documents stored at the same time all arrive whole, each under its own name, with at
    /// most one flush each (fewer when they overlap).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn documents_stored_at_once_all_arrive_whole() {
        let dir = std::env::temp_dir().join(format!("minside-blobs-many-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let blobs = DirBlobs::new(&dir);
        let puts: Vec<_> = (0..32)
            .map(|i| {
                let blobs = blobs.clone();
                tokio::spawn(async move {
                    let key = minside_core::ports::document_key("letters", &format!("{i}-cd"), 0);
                    blobs
                        .put(&key, format!("document {i}").as_bytes())
                        .await
                        .map(|()| key)
                })
            })
            .collect();
        for (i, put) in puts.into_iter().enumerate() {
            let key = put.await.unwrap().unwrap();
            assert_eq!(
                blobs.get(&key).await.unwrap(),
                format!("document {i}").as_bytes()
            );
        }
        let flushes = blobs.flushes.flushes();
        assert!((1..=32).contains(&flushes), "{flushes} flushes");
        assert_eq!(
            std::fs::read_dir(dir.join("letters/cd")).unwrap().count(),
            32
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
