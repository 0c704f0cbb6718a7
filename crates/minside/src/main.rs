//! `minside`: demo, serve, migrate, seed, check-config, backup.

use anyhow::Context;
use clap::{Parser, Subcommand};
use minside::clock::SystemClock;
use minside::config::{Config, Environment, Secret};
use minside::Application;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "minside",
    version,
    about = "Min side: a self-service portal for Norwegian municipalities"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start with everything embedded: SQLite in --data, a synthetic municipality, the test login.
    Demo {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        #[arg(long, default_value = "./minside-data")]
        data: PathBuf,
        /// Residents to generate on first start.
        #[arg(long, default_value_t = 3000)]
        persons: usize,
    },
    /// Production mode: TOML config plus MINSIDE_* environment overrides.
    Serve {
        #[arg(long)]
        config: PathBuf,
    },
    /// Run jobs only (notices, print, forwarding); several may run beside `serve` on PostgreSQL.
    Worker {
        #[arg(long)]
        config: PathBuf,
    },
    /// Apply database migrations (forward-only).
    Migrate {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Add a synthetic municipality (for test and benchmark databases), bulk-loaded.
    Seed {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        persons: usize,
        /// Letters of history per resident on average, in realistic read/unread/answered/printed
        /// states (0 for none).
        #[arg(long, default_value_t = 16.7)]
        letters_per_person: f64,
    },
    /// Print the effective configuration with secrets masked, and whether it is valid.
    CheckConfig {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print a bearer token for the demo's back-office client (demo data directories only).
    DevToken {
        #[arg(long, default_value = "./minside-data")]
        data: PathBuf,
        /// Space-separated scopes, e.g. "minside:persons.read".
        #[arg(long)]
        scope: String,
    },
    /// Online backup of a SQLite database (`VACUUM INTO`); for PostgreSQL use pg_dump.
    Backup {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        to: PathBuf,
    },
}

/// Logs to stderr in batches (`minside::logging`); the guard writes out the rest when dropped.
fn init_logging() -> minside::logging::LogGuard<std::io::Stderr> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let (writer, guard) = minside::logging::batched(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .event_format(minside::logging::Line)
        .init();
    guard
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

fn load(config: Option<&Path>) -> anyhow::Result<Config> {
    Config::load(config, &minside::config::process_env())
}

/// The demo configuration: embedded everything, in `data`.
fn demo_config(listen: &str, data: &Path, persons: usize) -> anyhow::Result<Config> {
    std::fs::create_dir_all(data).with_context(|| format!("cannot create {}", data.display()))?;
    let secret_file = data.join("session-secret");
    let secret = match std::fs::read_to_string(&secret_file) {
        Ok(s) if s.trim().len() >= 32 => s.trim().to_owned(),
        _ => {
            let s = minside_web::security::random_token();
            std::fs::write(&secret_file, &s)?;
            s
        }
    };
    let env = minside::config::process_env();
    let mut c = Config::load(None, &env)?;
    c.environment = Environment::Demo;
    if c.municipality.kommunenummer.is_empty() {
        c.municipality = minside::config::MunicipalityConfig::demo()?;
    }
    c.listen = listen.to_owned();
    c.public_url = String::new();
    // The embedded database in the data directory, unless one is named explicitly (the benchmark
    // runs the demo on PostgreSQL this way).
    if !env.iter().any(|(k, _)| k == "MINSIDE_DATABASE_URL") {
        c.database_url = Secret(format!("sqlite://{}", data.join("minside.db").display()));
    }
    c.session_secret = Secret(secret);
    c.blob_dir = data.join("blobs").display().to_string();
    c.notify_outbox_dir = data.join("outbox").display().to_string();
    c.print_dir = data.join("print").display().to_string();
    c.test_idp.enabled = true;
    c.test_idp.key_file = data.join("test-idp-key.pem").display().to_string();
    c.seed.persons = persons;
    let api_key = minside::keys::load_or_create(&data.join("api-client-demo.pem"))?;
    c.api_clients = vec![minside::config::ApiClientConfig {
        client_id: minside::DEMO_API_CLIENT.into(),
        public_key_pem: rsa::pkcs8::EncodePublicKey::to_public_key_pem(
            &api_key.to_public_key(),
            rsa::pkcs8::LineEnding::LF,
        )?,
        public_key_file: String::new(),
        scopes: minside::DEMO_API_SCOPES
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        ..Default::default()
    }];
    for (idp, secret) in [
        (&mut c.citizen_idp, "demo-citizen-secret"),
        (&mut c.staff_idp, "demo-staff-secret"),
    ] {
        idp.issuer = String::new();
        idp.client_secret = Secret(secret.into());
    }
    Ok(c)
}

async fn serve(config: Config) -> anyhow::Result<()> {
    config.validate()?;
    let key = if config.test_idp.enabled {
        Some(minside::keys::load_or_create(Path::new(
            &config.test_idp.key_file,
        ))?)
    } else {
        None
    };
    let clock = Arc::new(SystemClock);
    let app = Application::build(config.clone(), clock.clone(), key).await?;
    app.spawn_session_purge(
        clock.clone(),
        minside_core::session::SessionPolicy {
            idle: jiff::SignedDuration::from_mins(config.session.idle_timeout_minutes),
            absolute: jiff::SignedDuration::from_mins(config.session.absolute_timeout_minutes),
        },
    );
    app.spawn_worker(clock.clone(), minside::smtp::notifier(&config)?, &config);
    let seeded = if config.environment == Environment::Demo {
        minside::seed_if_empty(&app.store, &config, clock.as_ref()).await?
    } else {
        0
    };
    if seeded > 0 {
        tracing::info!(persons = seeded, "seeded a synthetic municipality");
    }
    println!("minside is running at {}", app.public_url);
    if config.test_idp.enabled {
        println!("Log in as a synthetic resident: open {}/ and choose \"Logg inn\" (pick any person on the test login page).", app.public_url);
        println!("Staff: {}/staff/login. Stop with Ctrl+C.", app.public_url);
        println!("API: {}/api/v1/openapi.json; a token: minside dev-token --data <this data dir> --scope minside:persons.read", app.public_url);
    }
    app.run_until(shutdown_signal()).await
}

/// mimalloc instead of the C library's allocator: a page's many small allocations cost about half
/// the instructions (issue 4, callgrind). Built without transparent huge pages (the workspace's
/// `no_thp`): half the resident memory, and no slower (bench/results/2026-12-02-vm-9.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _log = init_logging();
    match cli.command {
        Command::Demo {
            listen,
            data,
            persons,
        } => {
            let config = demo_config(&listen, &data, persons)?;
            if config.test_idp.key_file.is_empty() {
                anyhow::bail!("demo needs a key file");
            }
            serve(config).await
        }
        Command::Serve { config } => serve(load(Some(&config))?).await,
        Command::Worker { config } => {
            let c = load(Some(&config))?;
            c.validate()?;
            let store = minside::open_store(&c).await?;
            let clock: Arc<dyn minside_core::ports::Clock> = Arc::new(SystemClock);
            let notifier = minside::smtp::notifier(&c)?;
            let handlers = minside::job_handlers(
                Arc::new(store.clone()),
                clock.clone(),
                notifier,
                &c,
                c.public_url.trim_end_matches('/'),
            );
            println!("minside worker running; stop with Ctrl+C");
            tokio::select! {
                () = minside::run_worker(store, clock, handlers, minside::webhook_targets(&c), minside::retry_policy(&c), jiff::SignedDuration::from_secs(c.letters.webhook_settle_seconds), c.worker_lanes) => {}
                () = shutdown_signal() => {}
            }
            Ok(())
        }
        Command::Migrate { config } => {
            let c = load(config.as_deref())?;
            minside::open_store(&c).await?;
            println!(
                "migrations applied: {}",
                minside_store::migration_names().join(", ")
            );
            Ok(())
        }
        Command::Seed {
            config,
            persons,
            letters_per_person,
        } => {
            let mut c = load(config.as_deref())?;
            // Test and benchmark databases without a configured municipality get the demo one.
            if c.municipality.kommunenummer.is_empty() {
                c.municipality = minside::config::MunicipalityConfig::demo()?;
            }
            let store = minside::open_store(&c).await?;
            let started = std::time::Instant::now();
            let r =
                minside::seed_with_history(&store, &c, persons, letters_per_person, &SystemClock)
                    .await?;
            println!(
                "seeded {} persons, {} properties and {} letters in {:.1} s",
                r.persons,
                r.properties,
                r.letters,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::CheckConfig { config } => {
            let c = load(config.as_deref())?;
            print!("{}", c.masked_toml()?);
            c.validate()?;
            println!("# configuration is valid");
            Ok(())
        }
        Command::DevToken { data, scope } => {
            let key_file = data.join("api-client-demo.pem");
            if !key_file.exists() {
                anyhow::bail!(
                    "dev-token works only with a demo data directory: {} has no demo client key (start `minside demo --data {}` first)",
                    data.display(),
                    data.display()
                );
            }
            let key = minside::keys::load_or_create(&key_file)?;
            let c = load(None)?;
            println!(
                "{}",
                minside::sign_api_token(
                    &key,
                    minside::DEMO_API_CLIENT,
                    &c.api_audience,
                    &scope,
                    minside_core::ports::Clock::now(&SystemClock)
                )?
            );
            Ok(())
        }
        Command::Backup { config, to } => {
            let c = load(config.as_deref())?;
            let store = minside::open_store(&c).await?;
            store.backup_sqlite(&to.display().to_string()).await?;
            println!("backup written to {}", to.display());
            Ok(())
        }
    }
}
