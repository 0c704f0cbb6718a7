//! Translations: Fluent files for bokmål (default), nynorsk and English, embedded in the binary.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use std::borrow::Cow;
use std::collections::HashMap;
use std::convert::Infallible;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use unic_langid::LanguageIdentifier;

/// The languages pages are offered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Nb,
    Nn,
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Nb, Lang::Nn, Lang::En];

    /// BCP 47 code, also used in `<html lang>`, the `lang` cookie and ID-porten's `ui_locales`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Nb => "nb",
            Self::Nn => "nn",
            Self::En => "en",
        }
    }

    /// The message naming this language in every language ("Nynorsk").
    pub fn label_key(self) -> &'static str {
        match self {
            Self::Nb => "lang-nb",
            Self::Nn => "lang-nn",
            Self::En => "lang-en",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().as_str() {
            "nb" | "no" | "nb-no" | "no-no" => Some(Self::Nb),
            "nn" | "nn-no" => Some(Self::Nn),
            "en" | "en-gb" | "en-us" => Some(Self::En),
            _ => None,
        }
    }

    /// The `lang` cookie wins; otherwise the first language in Accept-Language we offer; else bokmål.
    pub fn negotiate(headers: &HeaderMap) -> Self {
        if let Some(l) = crate::security::cookie(headers, "lang").and_then(|c| Self::from_code(&c))
        {
            return l;
        }
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split(',').find_map(|part| {
                    let tag = part.split(';').next().unwrap_or_default();
                    Self::from_code(tag)
                        .or_else(|| Self::from_code(tag.split('-').next().unwrap_or_default()))
                })
            })
            .unwrap_or(Self::Nb)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::negotiate(&parts.headers))
    }
}

/// A problem with the embedded translation files (caught by tests, reported at startup).
#[derive(Debug, thiserror::Error)]
#[error("translation file {0} is not valid Fluent")]
pub struct I18nError(&'static str);

/// The three loaded bundles, and each language's messages prepared at startup: a page asks for
/// some twenty of them, and resolving each through Fluent on every request was ~5 % of the
/// dashboard's profile (bench/, issue 4). Messages that take no arguments are formatted once;
/// messages made of text and `{ $variable }`s only (all of ours: no selectors, no functions) are
/// kept as their parts and filled in by concatenation. Anything else goes through Fluent.
pub struct I18n {
    bundles: Vec<(Lang, FluentBundle<FluentResource>)>,
    plain: Vec<(Lang, Messages<String>)>,
    /// The same, escaped for HTML once: templates write them as they are ([`Tr::h`]).
    escaped: Vec<(Lang, Messages<String>)>,
    filled: Vec<(Lang, Messages<Vec<Part>>)>,
}

/// Messages by their id. A page looks up some twenty-five ids; with the standard library's
/// SipHash that was ~3 % of the dashboard's instructions, with FNV-1a over each byte still ~200
/// instructions a look-up (bench/, issue 4). The ids are our own, from the embedded files, never
/// chosen by a visitor, so a hash that resists chosen collisions is not needed: [`IdHasher`].
type Messages<V> = HashMap<String, V, BuildHasherDefault<IdHasher>>;

/// A multiplicative hash over eight bytes at a time (each word rotated into the state and
/// multiplied by an odd constant, as rustc's own "Fx" hash does), then the length: message ids
/// are 8 to 30 bytes, so a look-up hashes three to five words.
#[derive(Default)]
struct IdHasher(u64);

impl IdHasher {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut word = [0u8; 8];
            word.copy_from_slice(w);
            self.add(u64::from_le_bytes(word));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
        // The length, so that ids that differ only by trailing zero bytes differ.
        self.add(bytes.len() as u64);
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A piece of a message made of text and variables.
#[derive(Debug)]
enum Part {
    Text(String),
    Variable(String),
}

/// The parts of a pattern, if it holds nothing but text and variable references.
fn parts_of(pattern: &fluent_syntax::ast::Pattern<&str>) -> Option<Vec<Part>> {
    use fluent_syntax::ast::{Expression, InlineExpression, PatternElement};
    pattern
        .elements
        .iter()
        .map(|e| match e {
            PatternElement::TextElement { value } => Some(Part::Text((*value).to_owned())),
            PatternElement::Placeable {
                expression: Expression::Inline(InlineExpression::VariableReference { id }),
            } => Some(Part::Variable(id.name.to_owned())),
            PatternElement::Placeable { .. } => None,
        })
        .collect()
}

pub(crate) const SOURCES: [(Lang, &str, &str); 3] = [
    (Lang::Nb, "nb", include_str!("../i18n/nb.ftl")),
    (Lang::Nn, "nn", include_str!("../i18n/nn.ftl")),
    (Lang::En, "en", include_str!("../i18n/en.ftl")),
];

impl I18n {
    pub fn load() -> Result<Self, I18nError> {
        let (mut bundles, mut plain, mut filled, mut escaped) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (lang, code, src) in SOURCES {
            let res = FluentResource::try_new(src.to_owned()).map_err(|_| I18nError(code))?;
            let mut ids = Vec::new();
            let mut with_parts = Messages::default();
            for entry in res.entries() {
                if let fluent_syntax::ast::Entry::Message(m) = entry {
                    ids.push(m.id.name.to_owned());
                    if let Some(parts) = m.value.as_ref().and_then(parts_of) {
                        with_parts.insert(m.id.name.to_owned(), parts);
                    }
                }
            }
            let id: LanguageIdentifier = code.parse().map_err(|_| I18nError(code))?;
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            bundle.set_use_isolating(false);
            bundle.add_resource(res).map_err(|_| I18nError(code))?;
            // A message that formats without errors and without arguments never depends on them.
            let formatted = ids
                .into_iter()
                .filter_map(|key| {
                    let pattern = bundle.get_message(&key)?.value()?;
                    let mut errors = Vec::new();
                    let text = bundle.format_pattern(pattern, None, &mut errors);
                    errors.is_empty().then(|| (key, text.into_owned()))
                })
                .collect::<Messages<String>>();
            let html = formatted
                .iter()
                .map(|(key, text)| (key.clone(), escape_html(text)))
                .collect();
            bundles.push((lang, bundle));
            plain.push((lang, formatted));
            escaped.push((lang, html));
            filled.push((lang, with_parts));
        }
        Ok(Self {
            bundles,
            plain,
            escaped,
            filled,
        })
    }

    /// The message `key` with `args` filled in, when it is made of text and variables only and
    /// every variable it names is given (otherwise Fluent formats it and reports what is missing).
    fn fill(&self, lang: Lang, key: &str, args: &[(&str, &str)]) -> Option<String> {
        let (_, messages) = self.filled.iter().find(|(l, _)| *l == lang)?;
        let mut out = String::new();
        for part in messages.get(key)? {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Variable(name) => {
                    let (_, value) = args.iter().find(|(n, _)| n == name)?;
                    out.push_str(value);
                }
            }
        }
        Some(out)
    }

    /// The message `key` when it takes no arguments.
    fn plain(&self, lang: Lang, key: &str) -> Option<&str> {
        let (_, messages) = self.plain.iter().find(|(l, _)| *l == lang)?;
        messages.get(key).map(String::as_str)
    }

    /// The message `key`, escaped for HTML, when it takes no arguments.
    fn escaped(&self, lang: Lang, key: &str) -> Option<&str> {
        let (_, messages) = self.escaped.iter().find(|(l, _)| *l == lang)?;
        messages.get(key).map(String::as_str)
    }

    fn format(&self, lang: Lang, key: &str, args: Option<&FluentArgs>) -> String {
        let Some((_, bundle)) = self.bundles.iter().find(|(l, _)| *l == lang) else {
            return format!("⟦{key}⟧");
        };
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            tracing::warn!(key, lang = lang.code(), "missing translation");
            return format!("⟦{key}⟧");
        };
        let mut errors = Vec::new();
        bundle
            .format_pattern(pattern, args, &mut errors)
            .into_owned()
    }
}

/// A translated message: a string (it derefs to `str`) that templates write without going through
/// `fmt::Formatter`. askama writes a `Cow<str>` through `Display` (its fast path takes `Cow`s of
/// sized types only), which was ~4 % of the dashboard's instructions for some twenty messages
/// (bench/, issue 4); this type takes askama's fast path, escaped like any other value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a>(Cow<'a, str>);

impl Message<'_> {
    pub fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl std::ops::Deref for Message<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// `Display`, and askama's fast path, for a message type: its text as it is.
macro_rules! written_as_is {
    ($($t:ident),*) => {$(
        impl std::fmt::Display for $t<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl askama::FastWritable for $t<'_> {
            fn write_into<W: std::fmt::Write + ?Sized>(
                &self,
                dest: &mut W,
                _: &dyn askama::Values,
            ) -> askama::Result<()> {
                Ok(dest.write_str(&self.0)?)
            }
        }
    )*};
}

written_as_is!(Message, Escaped);

/// Text escaped for HTML exactly as askama escapes a value written by a template.
fn escape_html(text: &str) -> String {
    use askama::filters::Escaper;
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    // Writing into a String does not fail.
    let _ = askama::filters::Html.write_escaped_str(&mut out, text);
    out
}

/// A translated message already escaped for HTML: templates write it as it is. A page writes
/// some twenty messages; escaping each on every request was ~5 % of the dashboard's
/// instructions (bench/, issue 4), so messages without arguments are escaped once at startup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escaped<'a>(Cow<'a, str>);

/// Escaped by construction ([`Tr::h`] is the only way to make one).
impl askama::filters::HtmlSafe for Escaped<'_> {}

/// The translator a page renders with.
#[derive(Clone)]
pub struct Tr {
    i18n: Arc<I18n>,
    pub lang: Lang,
}

impl Tr {
    pub fn new(i18n: Arc<I18n>, lang: Lang) -> Self {
        Self { i18n, lang }
    }

    /// The message `key`.
    pub fn t(&self, key: &str) -> Message<'_> {
        Message(match self.i18n.plain(self.lang, key) {
            Some(text) => Cow::Borrowed(text),
            None => Cow::Owned(self.i18n.format(self.lang, key, None)),
        })
    }

    /// The message `key` for a template: escaped for HTML (once, at startup, when it takes no
    /// arguments), so that askama writes it without escaping it again.
    pub fn h(&self, key: &str) -> Escaped<'_> {
        Escaped(match self.i18n.escaped(self.lang, key) {
            Some(html) => Cow::Borrowed(html),
            None => Cow::Owned(escape_html(&self.i18n.format(self.lang, key, None))),
        })
    }

    /// The message `key` with one argument.
    pub fn t1(&self, key: &str, name: &str, value: &str) -> String {
        self.tn(key, &[(name, value)])
    }

    /// The message `key` with named arguments.
    pub fn tn(&self, key: &str, args: &[(&str, &str)]) -> String {
        if let Some(text) = self.i18n.fill(self.lang, key, args) {
            return text;
        }
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(name.to_string(), value.to_string());
        }
        self.i18n.format(self.lang, key, Some(&fluent_args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(src: &str) -> Vec<String> {
        let mut k: Vec<String> = src
            .lines()
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_owned()))
            .filter(|k| !k.starts_with('#') && !k.is_empty())
            .collect();
        k.sort();
        k
    }

    /// A message written by a template is escaped like any other value (it takes askama's fast
    /// path, not `Display`).
    #[test]
    fn messages_in_templates_are_escaped() {
        use askama::Template;
        #[derive(Template)]
        #[template(source = "<p title=\"{{ m }}\">{{ m }}</p>", ext = "html")]
        struct One<'a> {
            m: Message<'a>,
        }
        let page = One {
            m: Message(Cow::Borrowed("a <b> & \"c\" 'd'")),
        };
        let escaped = "a &#60;b&#62; &#38; &#34;c&#34; &#39;d&#39;";
        assert_eq!(
            page.render().unwrap(),
            format!("<p title=\"{escaped}\">{escaped}</p>")
        );
    }

    /// A message a template writes through `h` (escaped once, at startup) is exactly what askama
    /// writes for the same message through `t` (escaped as it is written), in every language and
    /// for a message with characters HTML gives a meaning.
    #[test]
    fn messages_escaped_at_startup_are_what_askama_writes() {
        use askama::Template;
        #[derive(Template)]
        #[template(
            source = "<p title=\"{{ tr.t(key) }}\">{{ tr.h(key) }}</p>",
            ext = "html"
        )]
        struct Both<'a> {
            tr: &'a Tr,
            key: &'a str,
        }
        let i18n = Arc::new(I18n::load().unwrap());
        let mut special = 0;
        for (lang, _, src) in SOURCES {
            let tr = Tr::new(i18n.clone(), lang);
            for key in keys(src) {
                let page = Both { tr: &tr, key: &key }.render().unwrap();
                let (title, body) = page
                    .strip_prefix("<p title=\"")
                    .and_then(|p| p.strip_suffix("</p>"))
                    .and_then(|p| p.split_once("\">"))
                    .unwrap();
                assert_eq!(title, body, "{key} in {}", lang.code());
                if tr.t(&key).contains(['&', '<', '>', '"', '\'']) {
                    special += 1;
                    assert_ne!(body, &*tr.t(&key), "{key} was not escaped");
                }
            }
        }
        assert!(
            special > 0,
            "no message with a character to escape was checked"
        );
        let escaped = escape_html("a <b> & \"c\" 'd'");
        assert_eq!(escaped, "a &#60;b&#62; &#38; &#34;c&#34; &#39;d&#39;");
    }

    /// The message table's hash tells every id of ours apart within each language's table (it
    /// needs no more: a collision would only cost a comparison) and spreads them over the high
    /// bits the table's buckets are chosen by; an id and the same id with a byte more differ.
    #[test]
    fn message_ids_hash_apart() {
        use std::hash::Hash;
        let hash = |s: &str| {
            let mut h = IdHasher::default();
            s.hash(&mut h);
            h.finish()
        };
        for (_, code, src) in SOURCES {
            let ids = keys(src);
            let hashes: std::collections::HashSet<u64> = ids.iter().map(|k| hash(k)).collect();
            assert_eq!(hashes.len(), ids.len(), "{code}: two ids hash alike");
            let top: std::collections::HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
            // Uniform hashes of n ids take about 128 * (1 - e^(-n/128)) of the 128 values.
            let n = ids.len() as f64;
            let expected = 128.0 * (1.0 - (-n / 128.0).exp());
            assert!(
                top.len() as f64 > 0.8 * expected,
                "{code}: {} of 128 top-7-bit values for {n} ids",
                top.len()
            );
        }
        assert_ne!(hash("lang-nb"), hash("lang-nb\0"));
        assert_ne!(hash("inbox-title"), hash("inbox-titl"));
        assert_eq!(hash("dashboard-title"), hash("dashboard-title"));
    }

    #[test]
    fn all_three_languages_have_exactly_the_same_messages() {
        let nb = keys(SOURCES[0].2);
        assert!(nb.len() > 50);
        for (_, code, src) in &SOURCES[1..] {
            assert_eq!(keys(src), nb, "{code}.ftl differs from nb.ftl");
        }
        assert!(I18n::load().is_ok());
    }

    #[test]
    fn language_follows_the_cookie_then_accept_language_then_bokmal() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::negotiate(&h), Lang::Nb);
        h.insert(header::ACCEPT_LANGUAGE, "en-US,en;q=0.9".parse().unwrap());
        assert_eq!(Lang::negotiate(&h), Lang::En);
        h.insert(header::COOKIE, "x=1; lang=nn".parse().unwrap());
        assert_eq!(Lang::negotiate(&h), Lang::Nn);
    }

    /// Messages without arguments are formatted once at startup; what a page gets is exactly what
    /// Fluent gives, and messages that take arguments are still formatted with them.
    #[test]
    fn messages_formatted_at_startup_are_what_fluent_formats() {
        let i18n = Arc::new(I18n::load().unwrap());
        for (lang, _, src) in SOURCES {
            let tr = Tr::new(i18n.clone(), lang);
            let mut cached = 0;
            for key in keys(src) {
                let text = tr.t(&key);
                if matches!(text.0, Cow::Borrowed(_)) {
                    cached += 1;
                }
                assert_eq!(&*text, i18n.format(lang, &key, None), "{key}");
            }
            assert!(cached > 50, "{cached} messages formatted at startup");
        }
        let tr = Tr::new(i18n, Lang::En);
        assert!(matches!(tr.t("dashboard-title").0, Cow::Borrowed(_)));
        assert!(matches!(tr.t("dashboard-greeting").0, Cow::Owned(_)));
        assert_eq!(tr.t1("dashboard-greeting", "name", "Kari"), "Hello, Kari");
    }

    /// Messages with variables are filled in by concatenation exactly as Fluent fills them in,
    /// in every language; a variable that is not given still goes through Fluent.
    #[test]
    fn messages_filled_in_by_parts_are_what_fluent_formats() {
        let i18n = Arc::new(I18n::load().unwrap());
        let mut checked = 0;
        for (lang, _, src) in SOURCES {
            let res = FluentResource::try_new(src.to_owned()).unwrap();
            let tr = Tr::new(i18n.clone(), lang);
            for entry in res.entries() {
                let fluent_syntax::ast::Entry::Message(m) = entry else {
                    continue;
                };
                // Others (selectors, functions) are left to Fluent.
                let Some(parts) = m.value.as_ref().and_then(parts_of) else {
                    continue;
                };
                let names: Vec<String> = parts
                    .iter()
                    .filter_map(|p| match p {
                        Part::Variable(n) => Some(n.clone()),
                        Part::Text(_) => None,
                    })
                    .collect();
                if names.is_empty() {
                    continue;
                }
                let values: Vec<String> = names.iter().map(|n| format!("<{n} & ø>")).collect();
                let args: Vec<(&str, &str)> = names
                    .iter()
                    .map(String::as_str)
                    .zip(values.iter().map(String::as_str))
                    .collect();
                let mut fluent_args = FluentArgs::new();
                for (n, v) in &args {
                    fluent_args.set(n.to_string(), v.to_string());
                }
                assert_eq!(
                    tr.tn(m.id.name, &args),
                    i18n.format(lang, m.id.name, Some(&fluent_args)),
                    "{}",
                    m.id.name
                );
                checked += 1;
            }
        }
        assert!(checked > 30, "{checked} messages with variables checked");
        let tr = Tr::new(i18n, Lang::Nb);
        assert_eq!(
            tr.tn("dashboard-greeting", &[("other", "x")]),
            "Hei, {$name}",
            "a missing variable is left to Fluent"
        );
    }

    #[test]
    fn arguments_are_filled_in_without_isolation_marks() {
        let tr = Tr::new(Arc::new(I18n::load().unwrap()), Lang::Nn);
        assert_eq!(tr.t1("dashboard-greeting", "name", "Kari"), "Hei, Kari");
        assert_eq!(&*tr.t("nope"), "⟦nope⟧");
    }
}
