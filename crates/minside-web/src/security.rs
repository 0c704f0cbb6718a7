//! Security plumbing: random tokens, cookies, CSRF, safe redirects, response headers, and the
//! request log line (route template only, so a number typed into a URL never reaches a log).

use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::time::Instant;

/// A fresh random token: 256 bits, base64url without padding.
pub fn random_token() -> String {
    let mut buf = [0u8; 32];
    // The OS generator failing is unrecoverable for a security token; fall back to refusing
    // with an all-zero buffer would be worse, so we abort the request path instead.
    if getrandom::getrandom(&mut buf).is_err() {
        tracing::error!("the operating system's random generator failed");
        std::process::abort();
    }
    URL_SAFE_NO_PAD.encode(buf)
}

/// Version-7 UUIDs (the time in milliseconds, then random bits from the operating system's
/// generator): the IdGenerator port. Ids made later sort later, so the database appends them to
/// the end of an index instead of writing into a random page of it.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl minside_core::ports::IdGenerator for RandomIds {
    fn uuid(&self, now: jiff::Timestamp) -> String {
        let mut random = [0u8; 10];
        if getrandom::getrandom(&mut random).is_err() {
            tracing::error!("the operating system's random generator failed");
            std::process::abort();
        }
        let unix_ms = u64::try_from(now.as_millisecond()).unwrap_or(0);
        minside_core::ports::uuid_v7(unix_ms, random)
    }
}

/// SHA-256 as lower-case hex (session keys, browser bindings).
pub fn sha256_hex(input: &str) -> String {
    sha256_hex_bytes(input.as_bytes())
}

/// SHA-256 of bytes as lowercase hex.
pub fn sha256_hex_bytes(input: &[u8]) -> String {
    hex::encode(Sha256::digest(input))
}

/// SHA-256, as lowercase hex, of a value's JSON (serde_json's compact form), hashed as it is
/// written: the same as hashing `serde_json::to_string(value)`, without building that string
/// (a letter's request with its base64 documents is some 70 KB).
pub fn sha256_hex_of_json(value: &impl serde::Serialize) -> Result<String, serde_json::Error> {
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut out = Hashing(Sha256::new());
    serde_json::to_writer(&mut out, value)?;
    Ok(hex::encode(out.0.finalize()))
}

/// Compares secrets in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The value of cookie `name` from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|line| {
            line.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                (k == name).then(|| v.to_owned())
            })
        })
}

/// A `Set-Cookie` value. `max_age` None gives a browser-session cookie; `Some(0)` deletes it.
pub fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<i64>,
    secure: bool,
    http_only: bool,
) -> String {
    let mut c = format!("{name}={value}; Path={path}; SameSite=Lax");
    if http_only {
        c.push_str("; HttpOnly");
    }
    if secure {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    c
}

/// Only same-site paths are followed after login, logout or a language switch.
pub fn safe_return_to(candidate: Option<&str>, fallback: &str) -> String {
    match candidate {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && p.len() <= 512
                && p.chars().all(|c| !c.is_control()) =>
        {
            p.to_owned()
        }
        _ => fallback.to_owned(),
    }
}

/// Headers every response gets: a strict CSP (no scripts, no inline styles, no framing),
/// no sniffing, no referrer, and no caching of pages that may hold personal data.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let is_static = req.uri().path().starts_with("/static/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // Room for the headers below (and HSTS) at once instead of growing the map twice.
    h.reserve(6);
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; base-uri 'none'; frame-ancestors 'none'",
    ));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    if !is_static {
        h.entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    res
}

/// Adds `Strict-Transport-Security` when the portal is served over HTTPS.
pub async fn hsts(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    res.headers_mut().insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
    res
}

/// One structured log line per request: method, route template, status, latency.
pub async fn request_log(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(unmatched)".to_owned(), |m| m.as_str().to_owned());
    let res = next.run(req).await;
    tracing::info!(
        target: "minside::request",
        method = %method,
        route = %route,
        status = res.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use minside_core::ports::IdGenerator;

    /// Letters get their public ids from the generator: one made later sorts after one made
    /// earlier, so a new letter's id goes to the end of the index on public ids.
    #[test]
    fn ids_made_later_sort_later_and_are_never_the_same() {
        let now = jiff::Timestamp::from_millisecond(1_795_000_000_000).unwrap();
        let later = now
            .checked_add(jiff::SignedDuration::from_millis(1))
            .unwrap();
        let first = RandomIds.uuid(now);
        let second = RandomIds.uuid(later);
        assert!(first < second, "{first} then {second}");
        assert!(
            first.starts_with("01a1ee56-5e00-7") && first.len() == 36,
            "{first}"
        );
        assert!(second.starts_with("01a1ee56-5e01-7"), "{second}");
        assert_eq!(&first[14..15], "7");
        // Within one millisecond the 74 random bits tell them apart.
        let many: std::collections::HashSet<String> =
            (0..1000).map(|_| RandomIds.uuid(now)).collect();
        assert_eq!(many.len(), 1000);
    }

    /// The idempotency hash of a letter request must stay what it was when the JSON was built
    /// as a string first (requests stored before are compared with retries after an upgrade).
    #[test]
    fn hashing_json_as_it_is_written_is_hashing_the_json_string() {
        let value = serde_json::json!({
            "sender_ref": "ref-1",
            "title": "Vedtak om \"byggeløyve\"\n",
            "documents": [{"content_base64": "JVBERi0xLjQK".repeat(5000)}],
            "digital_only": false,
        });
        let as_string = sha256_hex(&serde_json::to_string(&value).unwrap());
        assert_eq!(sha256_hex_of_json(&value).unwrap(), as_string);
        // And it is SHA-256 (FIPS 180-2's "abc" as a JSON string is "\"abc\"").
        assert_eq!(sha256_hex_of_json(&"abc").unwrap(), sha256_hex("\"abc\""));
    }

    #[test]
    fn only_local_paths_are_accepted_as_return_targets() {
        assert_eq!(safe_return_to(Some("/min-side"), "/"), "/min-side");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil",
            "min-side",
            "/a\nb",
        ] {
            assert_eq!(safe_return_to(Some(bad), "/"), "/", "{bad}");
        }
        assert_eq!(safe_return_to(None, "/x"), "/x");
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a_lang=en; lang=nn".parse().unwrap());
        assert_eq!(cookie(&h, "lang").as_deref(), Some("nn"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn tokens_are_long_random_and_compared_in_constant_time() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(constant_time_eq(&a, &a.clone()));
        assert!(!constant_time_eq(&a, &b));
    }
}
