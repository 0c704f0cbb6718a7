//! The one typed configuration: TOML file plus `MINSIDE_*` environment overrides, loaded once
//! and passed in. Secrets are wrapped so that `Debug` and `check-config` never print them.

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A secret string: shown as `***` in Debug and in `check-config`.
#[derive(Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

/// Where this instance runs. Only `demo` and `test` may enable the test IdP and synthetic numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    #[default]
    Production,
    Test,
    Demo,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MunicipalityConfig {
    pub name: String,
    pub kommunenummer: String,
    pub phone: String,
    pub email: String,
    /// The municipality's accessibility statement (published at uustatus.no), linked from every page.
    pub accessibility_statement_url: String,
    /// Postal place used by the synthetic generator.
    pub city: String,
    /// Inclusive postcode range used by the synthetic generator.
    pub postcodes: [u16; 2],
}

impl Default for MunicipalityConfig {
    /// Empty: production configs must name their municipality.
    fn default() -> Self {
        Self {
            name: String::new(),
            kommunenummer: String::new(),
            phone: String::new(),
            email: String::new(),
            accessibility_statement_url: String::new(),
            city: String::new(),
            postcodes: [0, 0],
        }
    }
}

impl MunicipalityConfig {
    /// The demo municipality (Bergen, 4601) from `config/demo-municipality.toml`.
    pub fn demo() -> anyhow::Result<Self> {
        toml::from_str(include_str!("../config/demo-municipality.toml"))
            .context("demo municipality file")
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthConfig {
    ClientSecretBasic,
    #[default]
    ClientSecretPost,
}

/// One OIDC client registration. An empty `issuer` with the test IdP enabled means "the
/// built-in test IdP of this instance".
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IdpConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub client_auth: ClientAuthConfig,
    pub scopes: String,
    /// Origins allowed to frame the front-channel logout page (e.g. `https://login.idporten.no`).
    pub frame_ancestors: Vec<String>,
}

impl Default for IdpConfig {
    fn default() -> Self {
        Self::with_client("")
    }
}

impl IdpConfig {
    fn with_client(id: &str) -> Self {
        Self {
            issuer: String::new(),
            client_id: id.into(),
            client_secret: Secret::default(),
            client_auth: ClientAuthConfig::default(),
            scopes: "openid profile".into(),
            frame_ancestors: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TestIdpConfig {
    pub enabled: bool,
    /// PEM (PKCS#8) signing key; generated on first start when missing.
    pub key_file: String,
}

/// The SMTP server for e-mail notices. Empty `host`: notices go to `notify_outbox_dir`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// STARTTLS (required for any server not on this host).
    pub starttls: bool,
    pub username: String,
    pub password: Secret,
    /// Sender, e.g. `Min side <noreply@kommune.no>`.
    pub from: String,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            starttls: true,
            username: String::new(),
            password: Secret::default(),
            from: String::new(),
        }
    }
}

/// The SMS provider for SMS notices (HTTP). Empty `url`: SMS notices go to `notify_outbox_dir`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    /// The provider's send endpoint; minside POSTs `{"from", "to", "text"}` as JSON.
    pub url: String,
    /// Bearer token for the provider.
    pub token: Secret,
    /// Sender name or number shown to the resident.
    pub sender: String,
}

/// How letters are delivered.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LettersConfig {
    /// Print a letter still unread this many working hours after it arrived (SvarUt: 40).
    pub print_after_working_hours: i64,
    /// Time zone for working days and hours.
    pub timezone: String,
    /// Remind residents this many days before an answer deadline.
    pub remind_days_before: i64,
    /// At most this many letters in one print batch.
    pub print_batch_size: i64,
    /// A print batch waits this long for more letters after the first one is queued.
    pub print_batch_delay_seconds: i64,
    /// Webhooks send events at least this old (a later-committing transaction's earlier event
    /// must not be passed by).
    pub webhook_settle_seconds: i64,
    /// What one letter read digitally instead of printed saves, in NOK (Bergen's figure: 22).
    pub saving_per_digital_letter_nok: i64,
}

impl Default for LettersConfig {
    fn default() -> Self {
        Self {
            print_after_working_hours: 40,
            timezone: "Europe/Oslo".into(),
            remind_days_before: 3,
            print_batch_size: 500,
            print_batch_delay_seconds: 60,
            webhook_settle_seconds: 5,
            saving_per_digital_letter_nok: 22,
        }
    }
}

/// A back-office system allowed to call the API.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ApiClientConfig {
    pub client_id: String,
    /// The client's RSA public key, SPKI PEM, inline …
    pub public_key_pem: String,
    /// … or in a file.
    pub public_key_file: String,
    /// Scopes the client may put in its tokens, e.g. `minside:persons.read`.
    pub scopes: Vec<String>,
    /// Where the client's letter events are posted (empty: no webhook; the status endpoint only).
    pub webhook_url: String,
    /// Key of the HMAC-SHA256 signature in the `Minside-Signature` header.
    pub webhook_secret: Secret,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    pub idle_timeout_minutes: i64,
    pub absolute_timeout_minutes: i64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_timeout_minutes: 30,
            absolute_timeout_minutes: 120,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SeedConfig {
    pub persons: usize,
    pub seed: u64,
    /// Also seed letters (kindergarten offers, property tax notices).
    pub letters: bool,
}

impl Default for SeedConfig {
    fn default() -> Self {
        Self {
            persons: 3000,
            seed: 4601,
            letters: true,
        }
    }
}

/// The whole configuration (see docs/CONFIG.md).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub environment: Environment,
    pub listen: String,
    /// Public base URL (`https://…`). Empty: `http://<listen address>` (demo and tests only).
    pub public_url: String,
    pub database_url: Secret,
    pub database_max_connections: u32,
    /// Directory for documents (letters' PDFs and attachments).
    pub blob_dir: String,
    /// Directory where e-mail and SMS notices are written (the embedded default; SMTP and an SMS
    /// provider are the production adapters, not built yet).
    pub notify_outbox_dir: String,
    /// Directory of print batches for the print provider (one folder per batch).
    pub print_dir: String,
    /// A worker holds a claimed job (and a print batch) this long; if it dies, another worker
    /// takes the work over after that.
    pub job_lease_seconds: i64,
    /// How many jobs one worker runs at a time (each lane claims and runs jobs on its own).
    pub worker_lanes: usize,
    pub session_secret: Secret,
    pub municipality: MunicipalityConfig,
    pub citizen_idp: IdpConfig,
    pub staff_idp: IdpConfig,
    pub test_idp: TestIdpConfig,
    pub session: SessionConfig,
    pub seed: SeedConfig,
    pub letters: LettersConfig,
    pub smtp: SmtpConfig,
    pub sms: SmsConfig,
    /// The `aud` back-office tokens must carry.
    pub api_audience: String,
    pub api_clients: Vec<ApiClientConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            environment: Environment::Production,
            listen: "127.0.0.1:8080".into(),
            public_url: String::new(),
            database_url: Secret("sqlite://minside-data/minside.db".into()),
            database_max_connections: 8,
            blob_dir: "minside-data/blobs".into(),
            notify_outbox_dir: "minside-data/outbox".into(),
            print_dir: "minside-data/print".into(),
            job_lease_seconds: 300,
            worker_lanes: 4,
            session_secret: Secret::default(),
            municipality: MunicipalityConfig::default(),
            citizen_idp: IdpConfig::with_client("minside"),
            staff_idp: IdpConfig::with_client("minside-staff"),
            test_idp: TestIdpConfig::default(),
            session: SessionConfig::default(),
            seed: SeedConfig::default(),
            letters: LettersConfig::default(),
            smtp: SmtpConfig::default(),
            sms: SmsConfig::default(),
            api_audience: "minside-api".into(),
            api_clients: Vec::new(),
        }
    }
}

impl Config {
    /// Reads `path` (if given), then applies `MINSIDE_*` overrides from `env` (and `DATABASE_URL`).
    /// Nested keys use a double underscore: `MINSIDE_CITIZEN_IDP__CLIENT_ID`.
    pub fn load(path: Option<&Path>, env: &[(String, String)]) -> anyhow::Result<Self> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p)
                .with_context(|| format!("cannot read config file {}", p.display()))?,
            None => String::new(),
        };
        let mut value: toml::Table =
            toml::from_str(&text).context("config file is not valid TOML")?;
        // Only variables that name a known setting apply; other MINSIDE_* variables (test
        // harness settings, say) are not configuration.
        let known = toml::Table::try_from(Config::default()).context("default config")?;
        for (name, raw) in env {
            let key = if name == "DATABASE_URL" {
                "database_url".to_owned()
            } else if let Some(rest) = name.strip_prefix("MINSIDE_") {
                rest.to_ascii_lowercase()
            } else {
                continue;
            };
            let top = key.split("__").next().unwrap_or_default();
            if !known.contains_key(top) {
                continue;
            }
            // MINSIDE_DATABASE_URL wins over DATABASE_URL.
            if name == "DATABASE_URL" && env.iter().any(|(n, _)| n == "MINSIDE_DATABASE_URL") {
                continue;
            }
            set_path(
                &mut value,
                &key.split("__").collect::<Vec<_>>(),
                parse_env_value(raw),
            );
        }
        let config: Config = toml::Value::Table(value)
            .try_into()
            .context("config has an invalid value")?;
        Ok(config)
    }

    /// The config as TOML with every secret masked (for `check-config`).
    pub fn masked_toml(&self) -> anyhow::Result<String> {
        let mut c = self.clone();
        for s in [
            &mut c.database_url,
            &mut c.session_secret,
            &mut c.citizen_idp.client_secret,
            &mut c.staff_idp.client_secret,
            &mut c.smtp.password,
            &mut c.sms.token,
        ] {
            if !s.0.is_empty() {
                s.0 = mask_url_or_secret(&s.0);
            }
        }
        Ok(toml::to_string_pretty(&c)?)
    }

    /// Refuses what must never run: the test IdP outside test/demo, and a production config
    /// missing what production needs. Every problem is named in one message.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut problems: Vec<String> = Vec::new();
        let prod = self.environment == Environment::Production;
        if self.test_idp.enabled && prod {
            problems.push(
                "test_idp.enabled = true is only allowed with environment = \"test\" or \"demo\""
                    .into(),
            );
        }
        if prod {
            if !self.public_url.starts_with("https://") {
                problems.push("public_url (an https:// URL)".into());
            }
            if self.session_secret.0.chars().count() < 32 {
                problems.push("session_secret (at least 32 characters)".into());
            }
            for (name, idp) in [
                ("citizen_idp", &self.citizen_idp),
                ("staff_idp", &self.staff_idp),
            ] {
                if !idp.issuer.starts_with("https://") {
                    problems.push(format!("{name}.issuer (the IdP's https:// issuer)"));
                }
                if idp.client_id.is_empty() {
                    problems.push(format!("{name}.client_id"));
                }
                if idp.client_secret.0.is_empty() {
                    problems.push(format!("{name}.client_secret"));
                }
            }
        } else if !self.test_idp.enabled {
            for (name, idp) in [
                ("citizen_idp", &self.citizen_idp),
                ("staff_idp", &self.staff_idp),
            ] {
                if idp.issuer.is_empty() {
                    problems.push(format!("{name}.issuer (or enable test_idp)"));
                }
            }
        }
        if minside_store::Backend::from_url(&self.database_url.0).is_none() {
            problems.push("database_url (sqlite://… or postgres://…)".into());
        }
        if self.municipality.name.trim().is_empty() {
            problems.push("municipality.name".into());
        }
        if minside_core::ident::Kommunenummer::parse(&self.municipality.kommunenummer).is_err() {
            problems.push("municipality.kommunenummer (4 digits)".into());
        }
        if self.session.idle_timeout_minutes <= 0
            || self.session.absolute_timeout_minutes < self.session.idle_timeout_minutes
        {
            problems.push("session.idle_timeout_minutes / absolute_timeout_minutes (positive, absolute ≥ idle)".into());
        }
        if !self.smtp.host.is_empty() && self.smtp.from.parse::<lettre::message::Mailbox>().is_err()
        {
            problems
                .push("smtp.from (a sender address, e.g. Min side <noreply@kommune.no>)".into());
        }
        if !(0..=60).contains(&self.letters.remind_days_before) {
            problems.push("letters.remind_days_before (0 to 60)".into());
        }
        if !(1..=720).contains(&self.letters.print_after_working_hours) {
            problems.push("letters.print_after_working_hours (1 to 720)".into());
        }
        if jiff::tz::TimeZone::get(&self.letters.timezone).is_err() {
            problems.push("letters.timezone (an IANA zone such as Europe/Oslo)".into());
        }
        for (i, c) in self.api_clients.iter().enumerate() {
            if c.client_id.is_empty()
                || (c.public_key_pem.is_empty() == c.public_key_file.is_empty())
            {
                problems.push(format!("api_clients[{i}] (client_id and exactly one of public_key_pem, public_key_file)"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            bail!(
                "the configuration is missing or has invalid settings:\n  - {}",
                problems.join("\n  - ")
            )
        }
    }
}

fn parse_env_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .filter(|v| !matches!(v, toml::Value::Table(_)))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

fn set_path(table: &mut toml::Table, path: &[&str], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            // Strings stay strings where the key expects text (e.g. a numeric-looking client id).
            let value = match (&value, table.get(*last)) {
                (toml::Value::Integer(i), Some(toml::Value::String(_))) => {
                    toml::Value::String(i.to_string())
                }
                _ => value,
            };
            table.insert((*last).to_owned(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry((*first).to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = entry {
                set_path(t, rest, value);
            }
        }
    }
}

fn mask_url_or_secret(s: &str) -> String {
    match url::Url::parse(s) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) if u.scheme() == "sqlite" || u.scheme().starts_with("postgres") => u.to_string(),
        _ => "***".into(),
    }
}

/// The process environment, read once here (house rule: nowhere else).
#[expect(
    clippy::disallowed_methods,
    reason = "the config module is the one place that reads the environment"
)]
pub fn process_env() -> Vec<(String, String)> {
    std::env::vars().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn environment_overrides_the_file_including_nested_keys() {
        let dir = std::env::temp_dir().join(format!("minside-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:1\"\n[citizen_idp]\nclient_id = \"a\"\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&file),
            &env(&[
                ("MINSIDE_LISTEN", "127.0.0.1:9"),
                ("MINSIDE_CITIZEN_IDP__CLIENT_ID", "12345"),
                ("MINSIDE_SEED__PERSONS", "50"),
                ("DATABASE_URL", "postgres://x/y"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:9");
        assert_eq!(c.citizen_idp.client_id, "12345");
        assert_eq!(c.seed.persons, 50);
        assert_eq!(c.database_url.0, "postgres://x/y");
    }

    #[test]
    fn production_names_every_missing_key_in_one_message() {
        let err = Config::default().validate().unwrap_err().to_string();
        for key in [
            "public_url",
            "session_secret",
            "citizen_idp.issuer",
            "citizen_idp.client_secret",
            "staff_idp.issuer",
            "staff_idp.client_secret",
            "municipality.name",
            "municipality.kommunenummer",
        ] {
            assert!(err.contains(key), "{key} missing from: {err}");
        }
    }

    #[test]
    fn the_test_idp_is_refused_outside_test_and_demo() {
        let mut c = Config {
            municipality: MunicipalityConfig::demo().unwrap(),
            ..Config::default()
        };
        c.test_idp.enabled = true;
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("test_idp.enabled"));
        c.environment = Environment::Test;
        assert!(c.validate().is_ok());
    }

    #[test]
    fn unknown_keys_are_errors_and_secrets_are_masked() {
        let ignored = Config::load(None, &env(&[("MINSIDE_TEST_DATABASE_URL", "x")])).unwrap();
        assert_eq!(
            ignored,
            Config::default(),
            "variables that are not settings are ignored"
        );
        let bad = Config::load(None, &env(&[("MINSIDE_SESSION__NO_SUCH_KEY", "1")]));
        assert!(bad.is_err(), "a misspelt nested setting is an error");
        let c = Config {
            session_secret: Secret("super-secret-value".into()),
            database_url: Secret("postgres://u:pw@db/minside".into()),
            ..Config::default()
        };
        let shown = c.masked_toml().unwrap();
        assert!(
            !shown.contains("super-secret-value") && !shown.contains(":pw@"),
            "{shown}"
        );
        assert!(format!("{c:?}").contains("***"));
    }
}
