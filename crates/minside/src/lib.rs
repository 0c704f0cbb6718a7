//! The minside binary as a library: config, wiring and the [`Application`] that both `main`
//! and the integration tests start.

pub mod blobs;
pub mod clock;
pub mod config;
mod durable;
pub mod keys;
pub mod logging;
pub mod outbox;
pub mod print;
pub mod smtp;
pub mod webhook;

use anyhow::Context;
use config::{ClientAuthConfig, Config, Environment, IdpConfig};
use minside_core::ident::Kommunenummer;
use minside_core::ports::{Clock, Store};
use minside_core::session::SessionPolicy;
use minside_store::{SqlStore, StoreOptions};
use minside_synth::SynthOptions;
use minside_web::oidc::IdpSettings;
use minside_web::test_idp::{TestIdpClient, TestIdpSettings};
use minside_web::{AppState, ClientAuth, Municipality, WebConfig};
use std::sync::Arc;
use tokio::net::TcpListener;

/// A built, bound, not yet serving portal.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    pub store: SqlStore,
    pub public_url: String,
    pub port: u16,
}

/// Opens the database and applies migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<SqlStore> {
    let store = SqlStore::connect(
        &config.database_url.0,
        &StoreOptions {
            max_connections: config.database_max_connections,
        },
    )
    .await
    .context("cannot open the database")?;
    store.migrate().await.context("migrations failed")?;
    // The advice is a check of the server's settings: when it cannot be made, say so rather than
    // start as if there were nothing to say.
    match store.server_advice().await {
        Ok(advice) => advice.iter().for_each(|a| tracing::warn!("{a}")),
        Err(e) => tracing::warn!("could not check the database server's settings: {e}"),
    }
    Ok(store)
}

/// Seeds the synthetic municipality when the register is empty; returns how many were added.
pub async fn seed_if_empty(
    store: &SqlStore,
    config: &Config,
    clock: &dyn Clock,
) -> anyhow::Result<usize> {
    if store.population_size().await? > 0 {
        return Ok(0);
    }
    seed(store, config, config.seed.persons, clock).await
}

/// Adds a synthetic municipality of `persons` residents.
pub async fn seed(
    store: &SqlStore,
    config: &Config,
    persons: usize,
    clock: &dyn Clock,
) -> anyhow::Result<usize> {
    Ok(seed_with_history(store, config, persons, 0.0, clock)
        .await?
        .persons)
}

/// What a seeding run stored.
#[derive(Debug, Clone, Copy, Default)]
pub struct SeedReport {
    pub persons: usize,
    pub properties: usize,
    pub letters: usize,
}

/// Adds a synthetic municipality of `persons` residents and, when `letters_per_person` is above
/// zero, a letter history of about that many letters each over the last three years, bulk-loaded
/// (benchmark databases: `minside seed --persons 300000` gives about five million letters).
pub async fn seed_with_history(
    store: &SqlStore,
    config: &Config,
    persons: usize,
    letters_per_person: f64,
    clock: &dyn Clock,
) -> anyhow::Result<SeedReport> {
    let options = SynthOptions {
        seed: config.seed.seed,
        persons,
        kommunenummer: Kommunenummer::parse(&config.municipality.kommunenummer)?,
        city: config.municipality.city.clone(),
        postcodes: (
            config.municipality.postcodes[0],
            config.municipality.postcodes[1],
        ),
        now: clock.now(),
    };
    let population = minside_synth::generate(&options);
    store.insert_population(&population).await?;
    let mut report = SeedReport {
        persons: population.persons.len(),
        properties: population.properties.len(),
        letters: 0,
    };
    if config.seed.letters && letters_per_person <= 0.0 {
        // The demo's letters (offers to answer, tax notices); a bulk history replaces them.
        // Seeded letters are history: they cause no delivery jobs.
        for letter in minside_synth::letters::letters(&population, &options) {
            store.create_letter(&letter, &[]).await?;
            report.letters += 1;
        }
    }
    if letters_per_person > 0.0 {
        // Two thousand residents (about 30,000 letters) per transaction.
        const CHUNK: usize = 2000;
        for start in (0..population.persons.len()).step_by(CHUNK) {
            let chunk = minside_synth::letters::history(
                &population,
                &options,
                letters_per_person,
                start..start + CHUNK,
            );
            store.insert_letter_history(&chunk).await?;
            report.letters += chunk.len();
        }
    }
    store.refresh_statistics().await?;
    Ok(report)
}

fn idp_settings(idp: &IdpConfig, issuer: String, public_url: &str, callback: &str) -> IdpSettings {
    IdpSettings {
        issuer,
        client_id: idp.client_id.clone(),
        client_secret: idp.client_secret.0.clone(),
        client_auth: match idp.client_auth {
            ClientAuthConfig::ClientSecretBasic => ClientAuth::ClientSecretBasic,
            ClientAuthConfig::ClientSecretPost => ClientAuth::ClientSecretPost,
        },
        scopes: idp.scopes.clone(),
        redirect_uri: format!("{public_url}{callback}"),
        post_logout_redirect_uri: format!("{public_url}/logged-out"),
    }
}

impl Application {
    /// Validates the config, binds the listener (port 0 picks a free one), opens the store and
    /// builds the router. `signing_key` is the test IdP's key when it is enabled.
    pub async fn build(
        config: Config,
        clock: Arc<dyn Clock>,
        signing_key: Option<rsa::RsaPrivateKey>,
    ) -> anyhow::Result<Self> {
        config.validate()?;
        let listener = TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let public_url = if config.public_url.is_empty() {
            format!("http://{addr}")
        } else {
            config.public_url.trim_end_matches('/').to_owned()
        };
        let store = open_store(&config).await?;
        let test_issuer = format!("{public_url}/test-idp");
        let issuer_of = |idp: &IdpConfig| {
            if idp.issuer.is_empty() {
                test_issuer.clone()
            } else {
                idp.issuer.clone()
            }
        };
        let citizen_idp = idp_settings(
            &config.citizen_idp,
            issuer_of(&config.citizen_idp),
            &public_url,
            "/auth/callback",
        );
        let staff_idp = idp_settings(
            &config.staff_idp,
            issuer_of(&config.staff_idp),
            &public_url,
            "/staff/auth/callback",
        );
        let test_idp = match (config.test_idp.enabled, signing_key) {
            (true, Some(key)) => Some(TestIdpSettings {
                signing_key: key,
                clients: [(&citizen_idp, false), (&staff_idp, true)]
                    .into_iter()
                    .filter(|(s, _)| s.issuer == test_issuer)
                    .map(|(s, staff)| TestIdpClient {
                        client_id: s.client_id.clone(),
                        client_secret: s.client_secret.clone(),
                        redirect_uris: vec![s.redirect_uri.clone()],
                        post_logout_redirect_uris: vec![s.post_logout_redirect_uri.clone()],
                        staff,
                    })
                    .collect(),
            }),
            (true, None) => anyhow::bail!("the test IdP is enabled but has no signing key"),
            (false, _) => None,
        };
        let frame_ancestors: Vec<String> = [&config.citizen_idp, &config.staff_idp]
            .iter()
            .flat_map(|i| i.frame_ancestors.iter().cloned())
            .chain(
                [&citizen_idp.issuer, &staff_idp.issuer]
                    .iter()
                    .filter_map(|i| origin(i)),
            )
            .collect();
        let web = WebConfig {
            municipality: Municipality {
                name: config.municipality.name.clone(),
                kommunenummer: config.municipality.kommunenummer.clone(),
                phone: config.municipality.phone.clone(),
                email: config.municipality.email.clone(),
                accessibility_statement_url: config
                    .municipality
                    .accessibility_statement_url
                    .clone(),
            },
            citizen_idp,
            staff_idp,
            frontchannel_frame_ancestors: frame_ancestors,
            session: SessionPolicy {
                idle: jiff::SignedDuration::from_mins(config.session.idle_timeout_minutes),
                absolute: jiff::SignedDuration::from_mins(config.session.absolute_timeout_minutes),
            },
            session_secret: config.session_secret.0.clone(),
            secure_cookies: public_url.starts_with("https://"),
            accept_synthetic_ids: config.environment != Environment::Production,
            test_idp,
            api: api_settings(&config)?,
            delivery: minside_core::letters::DeliveryPolicy {
                print_after_working_hours: config.letters.print_after_working_hours,
                timezone: jiff::tz::TimeZone::get(&config.letters.timezone)?,
                remind_before: jiff::SignedDuration::from_hours(
                    24 * config.letters.remind_days_before,
                ),
            },
            saving_per_letter_nok: config.letters.saving_per_digital_letter_nok,
            public_url: public_url.clone(),
        };
        let ports = minside_web::Ports {
            store: Arc::new(store.clone()) as Arc<dyn Store>,
            clock,
            blobs: Arc::new(blobs::DirBlobs::new(&config.blob_dir)),
            ids: Arc::new(minside_web::security::RandomIds),
        };
        let state = AppState::new(ports, web)?;
        Ok(Self {
            listener,
            router: minside_web::router(state),
            store,
            public_url,
            port: addr.port(),
        })
    }

    /// Every ten minutes, removes sessions past their limits and stale login attempts. Idempotent,
    /// so several processes may run it side by side.
    pub fn spawn_session_purge(&self, clock: Arc<dyn Clock>, policy: SessionPolicy) {
        let store = self.store.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(600));
            loop {
                tick.tick().await;
                let now = clock.now();
                let (idle, absolute) = (
                    now.checked_sub(policy.idle),
                    now.checked_sub(policy.absolute),
                );
                if let (Ok(idle), Ok(absolute)) = (idle, absolute) {
                    match store.purge_expired(idle, absolute).await {
                        Ok(n) if n > 0 => tracing::info!(removed = n, "purged expired sessions"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "session purge failed"),
                    }
                }
            }
        });
    }

    /// Runs due jobs in the background (one job at a time, polling every second when idle).
    pub fn spawn_worker(
        &self,
        clock: Arc<dyn Clock>,
        notifier: Arc<dyn minside_core::ports::Notifier>,
        config: &Config,
    ) {
        let handlers = job_handlers(
            Arc::new(self.store.clone()),
            clock.clone(),
            notifier,
            config,
            &self.public_url,
        );
        let store = self.store.clone();
        tokio::spawn(run_worker(
            store,
            clock,
            handlers,
            webhook_targets(config),
            retry_policy(config),
            jiff::SignedDuration::from_secs(config.letters.webhook_settle_seconds),
            config.worker_lanes,
        ));
    }

    /// Serves until the future `shutdown` completes.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await?;
        Ok(())
    }
}

/// The handlers of every job kind the portal enqueues: notices, reminders and print.
pub fn job_handlers(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    notifier: Arc<dyn minside_core::ports::Notifier>,
    config: &Config,
    public_url: &str,
) -> Vec<Arc<dyn minside_core::usecases::run_jobs::JobHandler>> {
    use minside_core::letters::notify::NotifyHandler;
    use minside_core::letters::print::{PrintBatchHandler, QueueForPrintHandler};
    use minside_core::usecases::run_jobs::JobHandler;
    // A zone that is not known was refused when the configuration was read (`Config::validate`).
    let timezone =
        jiff::tz::TimeZone::get(&config.letters.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let mut handlers: Vec<Arc<dyn JobHandler>> = [
        minside_core::letters::NOTIFY_EMAIL,
        minside_core::letters::NOTIFY_SMS,
        minside_core::letters::REMIND_ANSWER,
    ]
    .into_iter()
    .map(|kind| {
        Arc::new(NotifyHandler {
            store: store.clone(),
            clock: clock.clone(),
            notifier: notifier.clone(),
            municipality: config.municipality.name.clone(),
            portal_url: public_url.to_owned(),
            timezone: timezone.clone(),
            kind,
        }) as Arc<dyn JobHandler>
    })
    .collect();
    for kind in [
        minside_core::letters::PRINT_LETTER,
        minside_core::letters::PRINT_IF_UNREAD,
    ] {
        handlers.push(Arc::new(QueueForPrintHandler {
            store: store.clone(),
            clock: clock.clone(),
            kind,
            batch_delay: jiff::SignedDuration::from_secs(config.letters.print_batch_delay_seconds),
        }));
    }
    handlers.push(Arc::new(
        minside_core::letters::webhook::WebhookPushHandler {
            store: store.clone(),
            clock: clock.clone(),
            sender: webhook_sender(),
            targets: webhook_targets(config),
            batch: 100,
            settle: jiff::SignedDuration::from_secs(config.letters.webhook_settle_seconds),
        },
    ));
    handlers.push(Arc::new(PrintBatchHandler {
        store,
        clock,
        blobs: Arc::new(blobs::DirBlobs::new(&config.blob_dir)),
        ids: Arc::new(minside_web::security::RandomIds),
        printer: Arc::new(print::DirPrinter::new(
            &config.print_dir,
            &config.municipality.name,
            public_url,
            timezone,
        )),
        batch_size: config.letters.print_batch_size.max(1),
        lease: retry_policy(config).lease,
    }));
    handlers
}

fn webhook_sender() -> Arc<dyn minside_core::letters::webhook::WebhookSender> {
    match webhook::HttpWebhooks::new() {
        Ok(w) => Arc::new(w),
        Err(e) => {
            tracing::error!(error = %e, "no HTTP client for webhooks");
            Arc::new(NoWebhooks)
        }
    }
}

/// Used only when no HTTP client can be built: every call fails and is retried later.
struct NoWebhooks;

#[async_trait::async_trait]
impl minside_core::letters::webhook::WebhookSender for NoWebhooks {
    async fn post(
        &self,
        _url: &str,
        _signature: &str,
        _body: &[u8],
    ) -> Result<(), minside_core::letters::webhook::WebhookError> {
        Err(minside_core::letters::webhook::WebhookError(
            "no HTTP client".into(),
        ))
    }
}

/// The clients with a webhook.
pub fn webhook_targets(config: &Config) -> Vec<minside_core::letters::webhook::WebhookTarget> {
    config
        .api_clients
        .iter()
        .filter(|c| !c.webhook_url.is_empty())
        .map(|c| minside_core::letters::webhook::WebhookTarget {
            client_id: c.client_id.clone(),
            url: c.webhook_url.clone(),
            secret: c.webhook_secret.0.clone(),
        })
        .collect()
}

/// Periodic work: a waiting `webhook_push` job for each client with a webhook that has events
/// to receive (one indexed look-up per client when there is nothing new). The worker calls it
/// every round.
pub async fn schedule_periodic_jobs(
    store: &dyn Store,
    targets: &[minside_core::letters::webhook::WebhookTarget],
    settle: jiff::SignedDuration,
    now: jiff::Timestamp,
) -> Result<(), minside_core::ports::StoreError> {
    let until = now.checked_sub(settle).unwrap_or(now);
    for t in targets {
        let cursor = store.webhook_cursor(&t.client_id).await?;
        if store
            .events_for_client(&t.client_id, cursor, until, 1)
            .await?
            .is_empty()
        {
            continue;
        }
        let payload = serde_json::json!({ "client": t.client_id }).to_string();
        store
            .ensure_job(
                minside_core::letters::webhook::WEBHOOK_PUSH,
                &payload,
                now,
                now,
            )
            .await?;
    }
    Ok(())
}

/// The queue's retry policy with the configured lease.
pub fn retry_policy(config: &Config) -> minside_core::jobs::RetryPolicy {
    minside_core::jobs::RetryPolicy {
        lease: jiff::SignedDuration::from_secs(config.job_lease_seconds.max(1)),
        ..minside_core::jobs::RetryPolicy::default()
    }
}

/// The worker: `lanes` loops that each claim and run due jobs and sleep a second when there is
/// nothing to do (the first also schedules the periodic jobs). Claims are atomic, so lanes share
/// the queue as separate worker processes do; several lanes keep the database busy while one
/// lane writes a notice or renders a print batch. Dropping the future stops every lane.
pub async fn run_worker(
    store: SqlStore,
    clock: Arc<dyn Clock>,
    handlers: Vec<Arc<dyn minside_core::usecases::run_jobs::JobHandler>>,
    targets: Vec<minside_core::letters::webhook::WebhookTarget>,
    policy: minside_core::jobs::RetryPolicy,
    settle: jiff::SignedDuration,
    lanes: usize,
) {
    let mut set = tokio::task::JoinSet::new();
    for lane in 0..lanes.max(1) {
        let (store, clock, handlers) = (store.clone(), clock.clone(), handlers.clone());
        let targets = if lane == 0 {
            targets.clone()
        } else {
            Vec::new()
        };
        set.spawn(async move {
            loop {
                if let Err(e) = schedule_periodic_jobs(&store, &targets, settle, clock.now()).await
                {
                    tracing::warn!(error = %e, "cannot schedule periodic jobs");
                }
                match minside_core::usecases::run_jobs::run_due_jobs(
                    &store,
                    clock.as_ref(),
                    &handlers,
                    &policy,
                    50,
                )
                .await
                {
                    Ok(r) if r.claimed() > 0 => tracing::info!(
                        lane,
                        done = r.done,
                        retried = r.retried,
                        dead = r.dead,
                        "jobs run"
                    ),
                    Ok(_) => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
                    Err(e) => {
                        tracing::warn!(error = %e, "job queue unavailable");
                        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    }
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
}

/// Registered back-office clients with their public keys.
fn api_settings(config: &Config) -> anyhow::Result<minside_web::api::auth::ApiSettings> {
    use rsa::pkcs8::DecodePublicKey;
    let mut clients = Vec::new();
    for c in &config.api_clients {
        let pem = if c.public_key_pem.is_empty() {
            std::fs::read_to_string(&c.public_key_file)
                .with_context(|| format!("cannot read {}", c.public_key_file))?
        } else {
            c.public_key_pem.clone()
        };
        let key = rsa::RsaPublicKey::from_public_key_pem(&pem).with_context(|| {
            format!(
                "api client {}: not an RSA public key (SPKI PEM)",
                c.client_id
            )
        })?;
        clients.push(minside_web::api::auth::RegisteredClient {
            client_id: c.client_id.clone(),
            public_key: minside_web::oidc::jws::public_jwk(&key, &c.client_id),
            scopes: c.scopes.clone(),
        });
    }
    Ok(minside_web::api::auth::ApiSettings {
        audience: config.api_audience.clone(),
        clients,
        verified: minside_web::api::auth::VerifiedTokens::default(),
    })
}

/// Signs a back-office token (`dev-token`, tests): iss = client id, aud, scope, 10 minutes.
pub fn sign_api_token(
    key: &rsa::RsaPrivateKey,
    client_id: &str,
    audience: &str,
    scope: &str,
    now: jiff::Timestamp,
) -> anyhow::Result<String> {
    let iat = now.as_second();
    let claims = serde_json::json!({"iss": client_id, "aud": audience, "scope": scope, "iat": iat, "exp": iat + 600,
        "jti": minside_web::security::random_token()});
    minside_web::oidc::jws::sign_rs256(key, client_id, &claims)
        .map_err(|e| anyhow::anyhow!("cannot sign: {e}"))
}

/// The demo's back-office client.
pub const DEMO_API_CLIENT: &str = "demo-sak-arkiv";
/// Scopes the demo client may use.
pub const DEMO_API_SCOPES: &[&str] = &[
    "minside:persons.read",
    "minside:letters.write",
    "minside:letters.read",
    "minside:statistics.read",
];

fn origin(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(u.origin().ascii_serialization())
}
