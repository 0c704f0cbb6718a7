//! `TestApp::spawn()` and the small HTML helpers the tests share.

use jiff::{SignedDuration, Timestamp};
use minside::config::{Config, Environment, Secret};
use minside::Application;
use minside_core::ports::Clock;
use minside_store::SqlStore;
use reqwest::cookie::CookieStore;
use std::sync::{Arc, Mutex, OnceLock};

/// A clock the test moves by hand.
pub struct TestClock(Mutex<Timestamp>);

impl TestClock {
    pub fn advance(&self, by: SignedDuration) {
        let mut t = self.0.lock().unwrap();
        *t = t.checked_add(by).unwrap();
    }

    /// Moves the clock to a given moment (for rules that depend on the weekday or the hour).
    pub fn set(&self, to: Timestamp) {
        *self.0.lock().unwrap() = to;
    }
}

impl TestClock {
    /// The test clock's time (without importing the Clock trait in every test file).
    pub fn now_for_tests(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

/// One RSA key per test process: generating 2048-bit keys is the slow part of a spawn.
fn signing_key() -> rsa::RsaPrivateKey {
    static KEY: OnceLock<rsa::RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| minside::keys::generate().unwrap())
        .clone()
}

/// The test back-office client's key (one per process).
pub fn api_key() -> rsa::RsaPrivateKey {
    static KEY: OnceLock<rsa::RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| minside::keys::generate().unwrap())
        .clone()
}

pub const API_CLIENT: &str = "test-sak-arkiv";

#[expect(
    clippy::disallowed_methods,
    reason = "tests choose their database from the environment"
)]
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn unique() -> String {
    minside_web::security::random_token()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect::<String>()
        .to_lowercase()
}

/// A fresh database: a new SQLite file, or a new PostgreSQL database on the server at
/// MINSIDE_TEST_DATABASE_URL.
pub async fn fresh_database_url() -> String {
    match env("MINSIDE_TEST_DATABASE_URL") {
        Some(base) => {
            use sqlx::Executor;
            let name = format!("minside_test_{}", unique());
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&base)
                .await
                .expect("PostgreSQL at MINSIDE_TEST_DATABASE_URL");
            conn.execute(format!("create database {name}").as_str())
                .await
                .unwrap();
            let mut url = url::Url::parse(&base).unwrap();
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
        None => {
            let dir = std::env::temp_dir().join(format!("minside-test-{}", unique()));
            std::fs::create_dir_all(&dir).unwrap();
            format!("sqlite://{}", dir.join("minside.db").display())
        }
    }
}

/// Captures notices instead of sending them.
#[derive(Default)]
pub struct FakeNotifier {
    /// (channel, recipient, text) in the order sent.
    pub sent: Mutex<Vec<(String, String, String)>>,
}

#[async_trait::async_trait]
impl minside_core::ports::Notifier for FakeNotifier {
    async fn send_email(
        &self,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<(), minside_core::ports::NotifyError> {
        self.sent
            .lock()
            .unwrap()
            .push(("email".into(), to.into(), format!("{subject}\n\n{body}")));
        Ok(())
    }
    async fn send_sms(&self, to: &str, text: &str) -> Result<(), minside_core::ports::NotifyError> {
        self.sent
            .lock()
            .unwrap()
            .push(("sms".into(), to.into(), text.into()));
        Ok(())
    }
}

pub struct TestApp {
    pub notifier: Arc<FakeNotifier>,
    pub address: String,
    /// Where the server listens on loopback (the same as `address` unless the configuration
    /// names another public URL, e.g. an https one in front of it).
    pub local: String,
    pub client: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
    pub store: SqlStore,
    pub clock: Arc<TestClock>,
    pub config: Config,
}

/// The test configuration: environment test, test IdP on, 150 synthetic residents.
pub fn test_config(database_url: String) -> Config {
    let mut c = Config {
        environment: Environment::Test,
        listen: "127.0.0.1:0".into(),
        database_url: Secret(database_url),
        session_secret: Secret("test-session-secret-of-at-least-32-chars".into()),
        municipality: minside::config::MunicipalityConfig::demo().unwrap(),
        ..Config::default()
    };
    c.test_idp.enabled = true;
    c.citizen_idp.client_secret = Secret("citizen-secret".into());
    c.staff_idp.client_secret = Secret("staff-secret".into());
    c.staff_idp.client_auth = minside::config::ClientAuthConfig::ClientSecretBasic;
    c.seed.persons = 150;
    // Tests send the letters they look at; the demo's seeded letters are tested on their own.
    c.seed.letters = false;
    c.notify_outbox_dir = std::env::temp_dir()
        .join(format!("minside-test-outbox-{}", unique()))
        .display()
        .to_string();
    c.blob_dir = std::env::temp_dir()
        .join(format!("minside-test-blobs-{}", unique()))
        .display()
        .to_string();
    c.print_dir = std::env::temp_dir()
        .join(format!("minside-test-print-{}", unique()))
        .display()
        .to_string();
    // A print batch is made as soon as the worker runs (no wait for more letters), and webhooks
    // send events as soon as they are committed (the test clock stands still).
    c.letters.print_batch_delay_seconds = 0;
    c.letters.webhook_settle_seconds = 0;
    c.api_clients = vec![minside::config::ApiClientConfig {
        client_id: API_CLIENT.into(),
        public_key_pem: rsa::pkcs8::EncodePublicKey::to_public_key_pem(
            &api_key().to_public_key(),
            rsa::pkcs8::LineEnding::LF,
        )
        .unwrap(),
        public_key_file: String::new(),
        scopes: vec![
            "minside:persons.read".into(),
            "minside:letters.write".into(),
            "minside:letters.read".into(),
            "minside:statistics.read".into(),
        ],
        ..Default::default()
    }];
    c
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(test_config(fresh_database_url().await)).await
    }

    pub async fn spawn_with(config: Config) -> Self {
        if env("MINSIDE_TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter("info,sqlx=warn")
                .with_test_writer()
                .try_init();
        }
        // Starts at the real time (a third-party OP in the same test checks times against its
        // own clock) and then moves only when a test advances it.
        let clock = Arc::new(TestClock(Mutex::new(minside::clock::SystemClock.now())));
        let key = config.test_idp.enabled.then(signing_key);
        let app = Application::build(config.clone(), clock.clone(), key)
            .await
            .expect("application builds");
        minside::seed_if_empty(&app.store, &config, clock.as_ref())
            .await
            .unwrap();
        let address = app.public_url.clone();
        let local = format!("http://127.0.0.1:{}", app.port);
        let store = app.store.clone();
        tokio::spawn(app.run_until(std::future::pending()));
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .build()
            .unwrap();
        Self {
            notifier: Arc::new(FakeNotifier::default()),
            address,
            local,
            client,
            jar,
            store,
            clock,
            config,
        }
    }

    /// A bearer token for the test client with `scope`, issued now by the test clock.
    pub fn api_token(&self, scope: &str) -> String {
        minside::sign_api_token(
            &api_key(),
            API_CLIENT,
            &self.config.api_audience,
            scope,
            self.clock.now(),
        )
        .unwrap()
    }

    /// Runs every due job once, as the worker would (tests drain the queue explicitly).
    pub async fn run_jobs(&self) -> minside_core::usecases::run_jobs::RunReport {
        self.run_jobs_with(self.notifier.clone()).await
    }

    /// The same with another notifier (a real SMTP server).
    pub async fn run_jobs_with(
        &self,
        notifier: Arc<dyn minside_core::ports::Notifier>,
    ) -> minside_core::usecases::run_jobs::RunReport {
        let handlers = minside::job_handlers(
            Arc::new(self.store.clone()),
            self.clock.clone(),
            notifier,
            &self.config,
            &self.address,
        );
        minside::schedule_periodic_jobs(
            &self.store,
            &minside::webhook_targets(&self.config),
            jiff::SignedDuration::from_secs(self.config.letters.webhook_settle_seconds),
            self.clock.now(),
        )
        .await
        .unwrap();
        minside_core::usecases::run_jobs::run_due_jobs(
            &self.store,
            self.clock.as_ref(),
            &handlers,
            &minside_core::jobs::RetryPolicy::default(),
            100,
        )
        .await
        .unwrap()
    }

    /// Runs the worker (100 jobs a pass) until nothing is due; a queue that never settles (a job
    /// that keeps re-queueing itself) fails the test instead of hanging it.
    pub async fn drain_jobs(&self) {
        let mut passes = 0;
        while self.run_jobs().await.claimed() > 0 {
            passes += 1;
            assert!(passes < 10_000, "the job queue did not settle");
        }
    }

    /// Sends a letter through the API as the test back-office client.
    pub async fn post_letter(&self, body: &serde_json::Value) -> reqwest::Response {
        reqwest::Client::new()
            .post(self.url("/api/v1/letters"))
            .bearer_auth(self.api_token("minside:letters.write"))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Sends a letter that must be accepted (201) and returns its id.
    pub async fn send_letter_ok(&self, body: &serde_json::Value) -> String {
        let r = self.post_letter(body).await;
        assert_eq!(r.status(), 201, "the letter is accepted");
        r.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The sender's view of a letter: status and events.
    pub async fn letter_status(&self, id: &str) -> serde_json::Value {
        self.api_get(
            &format!("/api/v1/letters/{id}/status"),
            "minside:letters.read",
        )
        .await
        .json()
        .await
        .unwrap()
    }

    /// A GET as the test back-office client with a token for `scope`.
    pub async fn api_get(&self, path: &str, scope: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(self.url(path))
            .bearer_auth(self.api_token(scope))
            .send()
            .await
            .unwrap()
    }

    /// The resident opens the letter (as the letter page records it); returns its row id.
    pub async fn read_letter(&self, fnr: &minside_core::ident::Fodselsnummer, id: &str) -> i64 {
        use minside_core::ports::{Clock, Store};
        let view = self
            .store
            .letter_for_recipient(fnr, id)
            .await
            .unwrap()
            .unwrap();
        self.store
            .mark_letter_read(view.id, self.clock.now())
            .await
            .unwrap();
        view.id
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_html(&self, path: &str) -> (u16, String, String) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        let final_url = r.url().to_string();
        (status, final_url, r.text().await.unwrap())
    }

    /// The browser's session cookie value, if any.
    pub fn session_cookie(&self) -> Option<String> {
        let url = reqwest::Url::parse(&self.address).unwrap();
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|p| p.strip_prefix("minside=").map(str::to_owned))
    }

    /// Starts a citizen login and returns the test IdP's picker page (HTML) and its final URL.
    pub async fn open_test_idp(&self, path: &str) -> (String, String) {
        let (status, url, html) = self.get_html(path).await;
        assert_eq!(status, 200, "{url}");
        assert!(
            url.contains("/test-idp/authorize"),
            "expected the test IdP, got {url}"
        );
        (url, html)
    }

    /// Logs in as `fnr` (or the first offered person) at `acr`; returns the page landed on.
    pub async fn login_citizen(&self, fnr: Option<&str>, acr: &str) -> reqwest::Response {
        let (_, html) = self.open_test_idp("/login").await;
        self.pick_person(&html, fnr, acr).await
    }

    /// Submits the picker form on an already opened test IdP page.
    pub async fn pick_person(
        &self,
        idp_html: &str,
        fnr: Option<&str>,
        acr: &str,
    ) -> reqwest::Response {
        let request_id = form_value(idp_html, "request_id").expect("request_id on the picker page");
        let pick = fnr
            .map(str::to_owned)
            .unwrap_or_else(|| button_values(idp_html, "pick").remove(0));
        self.client
            .post(self.url("/test-idp/authorize"))
            .form(&[
                ("request_id", request_id.as_str()),
                ("pid", pick.as_str()),
                ("acr", acr),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Logs in as the synthetic employee `username` (e.g. `saksbehandler`).
    pub async fn login_staff(&self, username: &str) -> reqwest::Response {
        let (status, url, html) = self.get_html("/staff/login").await;
        assert_eq!(status, 200, "{url}");
        let request_id = form_value(&html, "request_id").unwrap();
        self.client
            .post(self.url("/test-idp/authorize"))
            .form(&[("request_id", request_id.as_str()), ("user", username)])
            .send()
            .await
            .unwrap()
    }

    /// A seeded resident of a given kind, straight from the register.
    pub async fn first_candidate(
        &self,
        group: minside_core::person::CandidateGroup,
    ) -> minside_core::person::LoginCandidate {
        use minside_core::ports::Store;
        self.store
            .login_candidates(5)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.group == group)
            .expect("a seeded candidate of that group")
    }
}

/// The `value` of the input named `name`.
pub fn form_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].split('"').next()?.to_owned())
}

/// The values of every submit button named `name`.
pub fn button_values(html: &str, name: &str) -> Vec<String> {
    let marker = format!("name=\"{name}\" value=\"");
    html.match_indices(&marker)
        .filter_map(|(i, _)| {
            html[i + marker.len()..]
                .split('"')
                .next()
                .map(str::to_owned)
        })
        .collect()
}

/// A client that does not follow redirects and keeps its own cookies (another browser).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

/// Walks a citizen login step by step with `client` up to the callback, without calling it.
/// Returns the `Set-Cookie` of `/login` and the callback URL the test IdP redirected to.
pub async fn login_until_callback(app: &TestApp, client: &reqwest::Client) -> (String, String) {
    let r = client.get(app.url("/login")).send().await.unwrap();
    let login_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    let idp_url = r.headers()["location"].to_str().unwrap().to_owned();
    let idp = client
        .get(idp_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rid = form_value(&idp, "request_id").unwrap();
    let pick = button_values(&idp, "pick").remove(0);
    let r = client
        .post(app.url("/test-idp/authorize"))
        .form(&[("request_id", rid.as_str()), ("pick", pick.as_str())])
        .send()
        .await
        .unwrap();
    (
        login_cookie,
        r.headers()["location"].to_str().unwrap().to_owned(),
    )
}

/// The events of one kind in a status answer (`GET /api/v1/letters/{id}/status`).
pub fn events_named(status: &serde_json::Value, name: &str) -> Vec<serde_json::Value> {
    status["events"]
        .as_array()
        .map(|a| a.iter().filter(|e| e["event"] == name).cloned().collect())
        .unwrap_or_default()
}

/// Checks that every person's front-page lists (`persons.dashboard_properties` and
/// `dashboard_children`, migration 0009) hold exactly what the register tables say: the
/// properties they own as `[matrikkel, address]` and the children they are guardian for as
/// `[birth date, given name]`, in any order. Returns how many persons have a property and how
/// many a child, so that a caller can see the check was not vacuous.
pub async fn front_page_lists_equal_the_register(db: &sqlx::AnyPool) -> (usize, usize) {
    use sqlx::Row;
    use std::collections::BTreeMap;
    type Lists = BTreeMap<i64, (Vec<(String, String)>, Vec<(String, String)>)>;
    let parse = |json: Option<String>| -> Vec<(String, String)> {
        let mut list: Vec<(String, String)> = json
            .map(|j| serde_json::from_str(&j).expect("a JSON array of pairs"))
            .unwrap_or_default();
        list.sort();
        list
    };
    let mut kept = Lists::new();
    for r in sqlx::query("select id, dashboard_properties, dashboard_children from persons")
        .fetch_all(db)
        .await
        .unwrap()
    {
        kept.insert(
            r.get::<i64, _>("id"),
            (
                parse(r.get("dashboard_properties")),
                parse(r.get("dashboard_children")),
            ),
        );
    }
    let mut register: Lists = kept.keys().map(|id| (*id, Default::default())).collect();
    // Each person's properties, then their children, as the register tables hold them.
    let register_lists = [
        "select o.person_id as id, pr.matrikkel as a, pr.address as b \
         from property_owners o join properties pr on pr.id = o.property_id",
        "select g.guardian_id as id, c.birth_date as a, c.given_name as b \
         from guardianships g join persons c on c.id = g.child_id",
    ];
    for (which, sql) in register_lists.into_iter().enumerate() {
        for r in sqlx::query(sql).fetch_all(db).await.unwrap() {
            let entry = register.get_mut(&r.get::<i64, _>("id")).unwrap();
            let list = if which == 0 {
                &mut entry.0
            } else {
                &mut entry.1
            };
            list.push((r.get("a"), r.get("b")));
        }
    }
    for (properties, children) in register.values_mut() {
        properties.sort();
        children.sort();
    }
    for (id, lists) in &register {
        assert_eq!(
            kept.get(id),
            Some(lists),
            "person {id}: the front page's lists differ from the register"
        );
    }
    (
        register.values().filter(|l| !l.0.is_empty()).count(),
        register.values().filter(|l| !l.1.is_empty()).count(),
    )
}
