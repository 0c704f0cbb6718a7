//! Log lines written in batches: the request log is a line per request, and a `write` to stderr
//! per line cost about a tenth of the dashboard's throughput (issue 4). Lines are gathered in a
//! buffer that a thread writes out every 50 ms, or at once when it holds 64 KB; a warning or an
//! error is written at once together with everything before it (a process that aborts right
//! after it still leaves it behind); when the buffer cannot be written out fast enough (a full
//! pipe), a writer past 1 MB writes itself and waits, as an unbuffered log would. Dropping the
//! [`LogGuard`] (at the end of `main`) writes out the rest.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// How long a line waits at most before it is written out.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// A buffer this full is written out at once.
const FLUSH_AT: usize = 64 * 1024;
/// A buffer this full is written out by the writer itself (backpressure).
const WRITE_THROUGH_AT: usize = 1024 * 1024;

struct Shared<W> {
    pending: Mutex<Pending>,
    wake: Condvar,
    sink: Mutex<W>,
}

#[derive(Default)]
struct Pending {
    lines: Vec<u8>,
    closed: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<W: Write> Shared<W> {
    /// Writes out what is pending (and `then`, after it) in one write. The sink is locked before
    /// the buffer is taken, so that batches reach it in the order they were written.
    fn write_out(&self, then: &[u8]) {
        let mut sink = lock(&self.sink);
        let mut out = std::mem::take(&mut lock(&self.pending).lines);
        out.extend_from_slice(then);
        if !out.is_empty() {
            // A log that cannot be written has nowhere to report that.
            let _ = sink.write_all(&out);
            let _ = sink.flush();
        }
    }
}

/// The writer to give `tracing_subscriber::fmt().with_writer(..)`.
pub struct BatchedWriter<W> {
    shared: Arc<Shared<W>>,
}

impl<W> Clone for BatchedWriter<W> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Writes out the rest of the log when dropped, and stops the thread.
pub struct LogGuard<W: Write + Send + 'static> {
    shared: Arc<Shared<W>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl<W: Write + Send + 'static> Drop for LogGuard<W> {
    fn drop(&mut self) {
        lock(&self.shared.pending).closed = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.shared.write_out(&[]);
    }
}

/// A batched writer over `sink`, and the guard that writes out the rest of it.
pub fn batched<W: Write + Send + 'static>(sink: W) -> (BatchedWriter<W>, LogGuard<W>) {
    let shared = Arc::new(Shared {
        pending: Mutex::new(Pending::default()),
        wake: Condvar::new(),
        sink: Mutex::new(sink),
    });
    let flusher = Arc::clone(&shared);
    let thread = std::thread::Builder::new()
        .name("minside-log".into())
        .spawn(move || loop {
            let pending = lock(&flusher.pending);
            let (pending, _) = flusher
                .wake
                .wait_timeout_while(pending, FLUSH_EVERY, |p| {
                    !p.closed && p.lines.len() < FLUSH_AT
                })
                .unwrap_or_else(PoisonError::into_inner);
            let closed = pending.closed;
            drop(pending);
            flusher.write_out(&[]);
            if closed {
                return;
            }
        })
        .ok();
    (
        BatchedWriter {
            shared: Arc::clone(&shared),
        },
        LogGuard { shared, thread },
    )
}

/// One event's line: buffered, or written at once with what is before it.
pub struct LineWriter<W> {
    shared: Arc<Shared<W>>,
    at_once: bool,
}

impl<W: Write> Write for LineWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.at_once {
            self.shared.write_out(buf);
            return Ok(buf.len());
        }
        let mut pending = lock(&self.shared.pending);
        if pending.closed || pending.lines.len() >= WRITE_THROUGH_AT {
            drop(pending);
            self.shared.write_out(buf);
            return Ok(buf.len());
        }
        pending.lines.extend_from_slice(buf);
        if pending.lines.len() >= FLUSH_AT {
            self.shared.wake.notify_one();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a, W: Write + Send + 'static> MakeWriter<'a> for BatchedWriter<W> {
    type Writer = LineWriter<W>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            shared: Arc::clone(&self.shared),
            at_once: false,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        LineWriter {
            shared: Arc::clone(&self.shared),
            at_once: *meta.level() <= Level::WARN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::fmt::MakeWriter;

    /// A sink the test can read while the writer holds it.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(lock(&self.0).clone()).unwrap()
        }
    }

    fn line(w: &BatchedWriter<Sink>, level: Level, text: &str) {
        let callsite = match level {
            Level::INFO => tracing::info_span!("info").metadata(),
            Level::WARN => tracing::warn_span!("warn").metadata(),
            _ => tracing::error_span!("error").metadata(),
        };
        let mut out = match callsite {
            Some(meta) => w.make_writer_for(meta),
            None => w.make_writer(),
        };
        out.write_all(text.as_bytes()).unwrap();
    }

    /// Info lines wait in the buffer and then reach the log in their order, within the interval.
    #[test]
    fn lines_are_written_out_together_and_in_order_within_the_interval() {
        let sink = Sink::default();
        let (w, _guard) = batched(sink.clone());
        // Spans are disabled without a subscriber; a writer made without metadata buffers too.
        for i in 0..100 {
            let mut out = w.make_writer();
            out.write_all(format!("request {i}\n").as_bytes()).unwrap();
        }
        let deadline = std::time::Instant::now() + FLUSH_EVERY * 40;
        while sink.text().lines().count() < 100 && std::time::Instant::now() < deadline {
            std::thread::sleep(FLUSH_EVERY / 5);
        }
        let expected: String = (0..100).map(|i| format!("request {i}\n")).collect();
        assert_eq!(sink.text(), expected);
    }

    /// A warning is in the log as soon as it is written, after the lines before it: a process
    /// that aborts right after an error still leaves the error behind.
    #[test]
    fn a_warning_is_written_at_once_after_what_came_before_it() {
        let _subscriber = tracing::subscriber::set_default(
            tracing_subscriber::fmt()
                .with_writer(std::io::sink)
                .finish(),
        );
        let sink = Sink::default();
        let (w, _guard) = batched(sink.clone());
        line(&w, Level::INFO, "first\n");
        line(&w, Level::WARN, "trouble\n");
        assert_eq!(sink.text(), "first\ntrouble\n");
        line(&w, Level::INFO, "later\n");
        line(&w, Level::ERROR, "failed\n");
        assert_eq!(sink.text(), "first\ntrouble\nlater\nfailed\n");
    }

    /// Whatever is still in the buffer when the guard is dropped (at the end of main) is written.
    #[test]
    fn dropping_the_guard_writes_out_the_rest() {
        let sink = Sink::default();
        let (w, guard) = batched(sink.clone());
        let mut out = w.make_writer();
        out.write_all(b"last words\n").unwrap();
        drop(guard);
        assert_eq!(sink.text(), "last words\n");
        // After the guard, a line is written straight through (never kept in a dead buffer).
        let mut out = w.make_writer();
        out.write_all(b"after\n").unwrap();
        assert_eq!(sink.text(), "last words\nafter\n");
    }

    /// A buffer that is not written out (the log's reader is stuck) does not grow without bound:
    /// once it holds 1 MB, a writer waits to write its line itself, as with an unbuffered log.
    #[test]
    fn a_full_buffer_is_not_grown_but_written_by_the_writer_itself() {
        let sink = Sink::default();
        let (w, guard) = batched(sink.clone());
        // The log's reader is stuck: the flusher takes the first line and waits in its write.
        let stuck = lock(&sink.0);
        w.make_writer().write_all(b"first\n").unwrap();
        let deadline = std::time::Instant::now() + FLUSH_EVERY * 40;
        while !lock(&w.shared.pending).lines.is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(FLUSH_EVERY / 5);
        }
        // Meanwhile the buffer fills up to its bound.
        let mut fill = w.make_writer();
        for _ in 0..WRITE_THROUGH_AT / 1024 {
            fill.write_all(&[b'x'; 1024]).unwrap();
        }
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (w2, done2) = (w.clone(), Arc::clone(&done));
        let writer = std::thread::spawn(move || {
            w2.make_writer().write_all(b"then this\n").unwrap();
            done2.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        std::thread::sleep(FLUSH_EVERY * 4);
        assert_eq!(lock(&w.shared.pending).lines.len(), WRITE_THROUGH_AT);
        assert!(
            !done.load(std::sync::atomic::Ordering::SeqCst),
            "the writer did not wait"
        );
        drop(stuck);
        writer.join().unwrap();
        drop(guard);
        let text = sink.text();
        assert!(text.starts_with("first\nxxx"));
        assert!(text.ends_with("xthen this\n"));
        assert_eq!(
            text.len(),
            "first\n".len() + WRITE_THROUGH_AT + "then this\n".len()
        );
    }
}
