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

/// The log line of an event, as `tracing_subscriber`'s default format writes it without targets
/// (`2026-12-03T17:50:00.490412Z  INFO request method=GET status=200`), written without going
/// through `fmt::Formatter` where it can be helped: the request log writes a line per request,
/// and the default format's time stamp and fields were 8 % of the dashboard's instructions
/// (bench/, issue 4). The date and time to the second are formatted once a second per thread.
pub struct Line;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for Line
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let ansi = writer.has_ansi_escapes();
        #[expect(
            clippy::disallowed_methods,
            reason = "a log line's time stamp is the machine's clock, as tracing's own format takes it"
        )]
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let mut line = String::with_capacity(128);
        if ansi {
            line.push_str("\x1b[2m");
        }
        push_time(&mut line, now.as_secs(), now.subsec_micros());
        if ansi {
            line.push_str("\x1b[0m");
        }
        let (level, color) = match *event.metadata().level() {
            Level::ERROR => ("ERROR", "31"),
            Level::WARN => (" WARN", "33"),
            Level::INFO => (" INFO", "32"),
            Level::DEBUG => ("DEBUG", "34"),
            Level::TRACE => ("TRACE", "35"),
        };
        line.push(' ');
        if ansi {
            line.push_str("\x1b[");
            line.push_str(color);
            line.push('m');
        }
        line.push_str(level);
        if ansi {
            line.push_str("\x1b[0m");
        }
        line.push(' ');
        let mut fields = Fields {
            line,
            first: true,
            ansi,
        };
        event.record(&mut fields);
        fields.line.push('\n');
        writer.write_str(&fields.line)
    }
}

/// `secs` since the epoch (and `micros`) as RFC 3339 in UTC to the microsecond.
fn push_time(line: &mut String, secs: u64, micros: u32) {
    thread_local! {
        static SECOND: std::cell::RefCell<(u64, String)> = const {
            std::cell::RefCell::new((u64::MAX, String::new()))
        };
    }
    SECOND.with_borrow_mut(|(second, text)| {
        if *second != secs {
            let at = i64::try_from(secs)
                .ok()
                .and_then(|s| jiff::Timestamp::from_second(s).ok())
                .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
            *text = at.strftime("%Y-%m-%dT%H:%M:%S").to_string();
            *second = secs;
        }
        line.push_str(text);
    });
    line.push('.');
    push_digits(line, u64::from(micros), 6);
    line.push('Z');
}

/// `n` in decimal, padded with zeros to `width`.
fn push_digits(line: &mut String, n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let (mut n, mut at) = (n, digits.len());
    while n > 0 || at == digits.len() {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    let start = at.min(digits.len().saturating_sub(width));
    for d in &digits[start..] {
        line.push(char::from(*d));
    }
}

/// An event's message and fields, as the default format writes them (`message` bare, strings
/// quoted, `%` values as they display).
struct Fields {
    line: String,
    first: bool,
    ansi: bool,
}

impl Fields {
    fn name(&mut self, field: &tracing::field::Field) {
        if !std::mem::take(&mut self.first) {
            self.line.push(' ');
        }
        let name = field.name();
        if name != "message" {
            let name = name.strip_prefix("r#").unwrap_or(name);
            if self.ansi {
                self.line.push_str("\x1b[3m");
                self.line.push_str(name);
                self.line.push_str("\x1b[0m\x1b[2m=\x1b[0m");
            } else {
                self.line.push_str(name);
                self.line.push('=');
            }
        }
    }
}

impl tracing::field::Visit for Fields {
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.name(field);
        push_digits(&mut self.line, value, 1);
    }

    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.name(field);
        if value < 0 {
            self.line.push('-');
        }
        push_digits(&mut self.line, value.unsigned_abs(), 1);
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.name(field);
            self.line.push_str(value);
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_error(
        &mut self,
        field: &tracing::field::Field,
        value: &(dyn std::error::Error + 'static),
    ) {
        use std::fmt::Write as _;
        self.name(field);
        let _ = write!(self.line, "{value}");
        let mut source = value.source();
        if source.is_some() {
            let _ = write!(self.line, " {}.sources=[", field.name());
            let mut first = true;
            while let Some(s) = source {
                let _ = write!(self.line, "{}{s}", if first { "" } else { ", " });
                first = false;
                source = s.source();
            }
            self.line.push(']');
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write as _;
        self.name(field);
        let _ = write!(self.line, "{value:?}");
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

    /// The same events through `tracing_subscriber`'s default format (without targets) and
    /// through [`Line`] give the same lines, but for the time stamp, which is now's in RFC 3339
    /// to the microsecond.
    #[test]
    fn lines_are_what_the_default_format_writes() {
        #[derive(Debug)]
        struct Inner;
        impl std::fmt::Display for Inner {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("disk full")
            }
        }
        impl std::error::Error for Inner {}
        #[derive(Debug)]
        struct Outer(Inner);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("write failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let events = || {
            let method = "GET";
            tracing::info!(target: "minside::request", method = %method, route = "/min-side",
                status = 200u16, latency_ms = %"0.024", "request");
            tracing::warn!(
                removed = -3i64,
                ok = true,
                ratio = 0.5f64,
                "purged {} sessions",
                3
            );
            let e = Outer(Inner);
            tracing::error!(
                error = &e as &(dyn std::error::Error + 'static),
                r#type = "x",
                "failed"
            );
            tracing::info!(n = u64::MAX, zero = 0u64, "edge");
        };
        let write = |ours: bool| {
            let sink = Sink::default();
            let out = sink.clone();
            let builder = tracing_subscriber::fmt()
                .with_ansi(false)
                .with_writer(move || out.clone());
            if ours {
                let subscriber = builder.event_format(Line).finish();
                tracing::subscriber::with_default(subscriber, events);
            } else {
                let subscriber = builder.with_target(false).finish();
                tracing::subscriber::with_default(subscriber, events);
            }
            sink.text()
        };
        let (default, ours) = (write(false), write(true));
        assert_eq!(default.lines().count(), 4, "{default}");
        let stamp = "2026-12-03T17:50:00.490412Z".len();
        for (d, o) in default.lines().zip(ours.lines()) {
            assert_eq!(o.get(stamp..), d.get(stamp..), "{o}");
            // Written just after the default format's line, by the same clock.
            let at: jiff::Timestamp = o[..stamp].parse().unwrap();
            let default_at: jiff::Timestamp = d[..stamp].parse().unwrap();
            let after = at.duration_since(default_at);
            assert!(after.as_secs() < 5 && !after.is_negative(), "{o}");
            assert_eq!(o.as_bytes()[stamp - 8], b'.');
        }
        assert!(ours.contains(" INFO request method=GET route=\"/min-side\" status=200"));
        assert!(ours.contains("error=write failed error.sources=[disk full] type=\"x\""));
        // Before 1970-01-01T00:00:10 the micro-seconds are still six digits, and so are years.
        let mut line = String::new();
        push_time(&mut line, 9, 7);
        assert_eq!(line, "1970-01-01T00:00:09.000007Z");
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
