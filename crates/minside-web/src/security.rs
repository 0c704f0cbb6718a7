//! Security plumbing: random tokens, cookies, CSRF, safe redirects, response headers, and the
//! request log line (route template only, so a number typed into a URL never reaches a log).

use axum::extract::MatchedPath;
use axum::http::{header, HeaderMap, HeaderValue, Method};
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
/// no sniffing, no referrer, no caching of pages that may hold personal data (`is_static`: the
/// assets under `/static/` set their own caching), and `Strict-Transport-Security` when the
/// portal is served over HTTPS (`hsts`).
pub fn add_security_headers(res: &mut Response, is_static: bool, hsts: bool) {
    let h = res.headers_mut();
    // Room for the headers below at once instead of growing the map twice.
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
    if hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
}

/// A request's latency in milliseconds with three decimals, written with integer arithmetic (a
/// float's shortest representation was most of the request log line's cost: bench/, issue 4).
struct Millis(u128);

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

/// One structured log line per request: method, route template (never the path itself, which
/// may hold a number typed into it, nor the query), status and latency.
pub fn log_request(method: &Method, route: Option<&MatchedPath>, status: u16, started: Instant) {
    tracing::info!(
        target: "minside::request",
        method = %method.as_str(),
        route = %route.map_or("(unmatched)", MatchedPath::as_str),
        status,
        latency_ms = %Millis(started.elapsed().as_micros()),
        "request"
    );
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

    /// Every response gets the strict headers; pages are never cached, the assets under
    /// `/static/` keep their own caching; HSTS only when the portal is served over HTTPS.
    #[test]
    fn responses_get_the_security_headers_and_hsts_only_over_https() {
        use axum::response::IntoResponse;
        let headers = |is_static: bool, hsts: bool| {
            let mut res = (
                [(header::CACHE_CONTROL, "public, max-age=31536000, immutable")],
                "body",
            )
                .into_response();
            if !is_static {
                res.headers_mut().remove(header::CACHE_CONTROL);
            }
            add_security_headers(&mut res, is_static, hsts);
            res.headers().clone()
        };
        let page = headers(false, false);
        assert!(page[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'"));
        assert_eq!(page[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(page[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(page[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(page[header::CACHE_CONTROL], "no-store");
        assert!(!page.contains_key(header::STRICT_TRANSPORT_SECURITY));
        let asset = headers(true, false);
        assert_eq!(
            asset[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        let https = headers(false, true);
        assert_eq!(
            https[header::STRICT_TRANSPORT_SECURITY],
            "max-age=31536000; includeSubDomains"
        );
    }

    /// The request log's latency: milliseconds with three decimals.
    #[test]
    fn latency_is_written_in_milliseconds_with_three_decimals() {
        assert_eq!(Millis(24).to_string(), "0.024");
        assert_eq!(Millis(1_533).to_string(), "1.533");
        assert_eq!(Millis(12_000_007).to_string(), "12000.007");
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
