//! minside-web: the HTTP face of minside.
//!
//! Citizen and staff pages (askama, Designsystemet, nb/nn/en, no JavaScript needed), the OIDC
//! relying party, server-side sessions with CSRF tokens, and the built-in test IdP (mounted only
//! in demo and test). Handlers extract, convert, call one use case in minside-core and render;
//! no SQL and no business rule lives here.

pub mod api;
pub mod assets;
pub mod dates;
pub mod error;
pub mod i18n;
pub mod layout;
pub mod oidc;
mod pages;
pub mod security;
pub mod session;
pub mod test_idp;

use axum::routing::{get, post};
use axum::Router;
use minside_core::ports::{Blobs, Clock, IdGenerator, Store};
use minside_core::session::SessionPolicy;
use std::sync::Arc;

pub use oidc::rp::ClientAuth;

/// Municipality facts shown on pages.
#[derive(Debug, Clone)]
pub struct Municipality {
    pub name: String,
    pub kommunenummer: String,
    pub phone: String,
    pub email: String,
    /// Link to the accessibility statement; empty hides the link.
    pub accessibility_statement_url: String,
}

/// Everything the web layer needs to know, built by the binary from the typed config.
pub struct WebConfig {
    /// Public base URL without a trailing slash, e.g. `https://minside.kommune.no`.
    pub public_url: String,
    pub municipality: Municipality,
    pub citizen_idp: oidc::IdpSettings,
    pub staff_idp: oidc::IdpSettings,
    /// Origins allowed to frame the front-channel logout URL (the IdPs' login hosts).
    pub frontchannel_frame_ancestors: Vec<String>,
    pub session: SessionPolicy,
    /// Pepper mixed into the hash that turns a session cookie into its database key.
    pub session_secret: String,
    /// `Secure` cookies (everywhere except plain-HTTP loopback in demo).
    pub secure_cookies: bool,
    /// Accept synthetic (test) fødselsnummer at login: demo and test only.
    pub accept_synthetic_ids: bool,
    /// Print deadline and time zone for letters.
    pub delivery: minside_core::letters::DeliveryPolicy,
    /// What a letter read digitally instead of printed saves (NOK), for the statistics.
    pub saving_per_letter_nok: i64,
    /// Back-office API clients and audience.
    pub api: api::auth::ApiSettings,
    /// The built-in test IdP, when enabled (demo/test only; the binary refuses it elsewhere).
    pub test_idp: Option<test_idp::TestIdpSettings>,
}

/// The outside world the handlers reach through core's ports.
pub struct Ports {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub blobs: Arc<dyn Blobs>,
    pub ids: Arc<dyn IdGenerator>,
}

/// Shared state of all handlers.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub blobs: Arc<dyn Blobs>,
    pub ids: Arc<dyn IdGenerator>,
    pub i18n: Arc<i18n::I18n>,
    /// Dates in the portal's time zone (`config.delivery.timezone`).
    pub dates: dates::ZoneDates,
    pub config: WebConfig,
    pub citizen_rp: oidc::OidcClient,
    pub staff_rp: oidc::OidcClient,
    pub test_idp: Option<test_idp::TestIdp>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Why the web layer could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    I18n(#[from] i18n::I18nError),
    #[error(transparent)]
    Oidc(#[from] oidc::OidcError),
}

impl AppState {
    pub fn new(ports: Ports, config: WebConfig) -> Result<Self, BuildError> {
        let Ports {
            store,
            clock,
            blobs,
            ids,
        } = ports;
        let citizen_rp = oidc::OidcClient::new(config.citizen_idp.clone())?;
        let staff_rp = oidc::OidcClient::new(config.staff_idp.clone())?;
        let test_idp = config
            .test_idp
            .clone()
            .map(|s| test_idp::TestIdp::new(s, &config.public_url));
        Ok(Self(Arc::new(Inner {
            store,
            clock,
            blobs,
            ids,
            i18n: Arc::new(i18n::I18n::load()?),
            dates: dates::ZoneDates::new(config.delivery.timezone.clone()),
            config,
            citizen_rp,
            staff_rp,
            test_idp,
        })))
    }
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let mut app = Router::new()
        .route("/", get(pages::public::front_page))
        .route("/healthz", get(pages::health::healthz))
        .route("/readyz", get(pages::health::readyz))
        .route("/lang/{code}", get(pages::public::switch_language))
        .route("/static/{file}", get(assets::serve))
        .route("/login", get(pages::auth::citizen_login))
        .route("/auth/callback", get(pages::auth::citizen_callback))
        .route("/logout", post(pages::auth::logout_submit))
        .route("/logged-out", get(pages::auth::logged_out_page))
        .route(
            "/auth/frontchannel-logout",
            get(pages::auth::frontchannel_logout),
        )
        .route("/min-side", get(pages::citizen::dashboard_page))
        .route(
            "/min-side/mine-opplysninger",
            get(pages::citizen::my_data_page),
        )
        .route(
            "/min-side/meldinger/{id}/skriv-svar",
            post(pages::letters::reply_submit)
                .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024)),
        )
        .route(
            "/min-side/meldinger/{id}/svar/{reply}/vedlegg/{position}",
            get(pages::letters::reply_attachment_download),
        )
        .route("/min-side/meldinger", get(pages::letters::inbox_page))
        .route(
            "/min-side/meldinger/{id}",
            get(pages::letters::letter_page).post(pages::letters::letter_submit),
        )
        .route(
            "/min-side/meldinger/{id}/svar",
            post(pages::letters::answer_submit),
        )
        .route(
            "/min-side/meldinger/{id}/dokumenter/{position}",
            get(pages::letters::letter_document_download),
        )
        .route("/staff/login", get(pages::auth::staff_login))
        .route("/staff/auth/callback", get(pages::auth::staff_callback))
        .route("/staff/logout", post(pages::auth::logout_submit))
        .route("/staff", get(pages::staff::staff_home_page))
        .route("/staff/statistikk", get(pages::statistics::statistics_page))
        .route(
            "/staff/statistikk.csv",
            get(pages::statistics::statistics_csv),
        )
        .route(
            "/staff/statistikk.svg",
            get(pages::statistics::statistics_svg),
        )
        .route("/apne-data", get(pages::statistics::open_data_page))
        .route(
            "/apne-data/brevstatistikk.csv",
            get(pages::statistics::open_data_csv),
        )
        .route(
            "/staff/person",
            get(pages::staff::person_lookup_page).post(pages::staff::person_lookup_submit),
        );
    app = app.nest("/api/v1", api::routes());
    app = app.nest("/svarut/api", api::svarut::routes());
    if state.test_idp.is_some() {
        app = app.nest("/test-idp", test_idp::routes());
    }
    app.fallback(pages::public::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            pages::public::frame,
        ))
        .with_state(state)
}
