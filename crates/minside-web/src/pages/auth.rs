//! Login and logout for residents (ID-porten) and staff (the municipality's IdP): the relying
//! party's HTTP side. The protocol checks live in `crate::oidc`.

use super::public::{MessagePage, ReturnTo};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::layout::render_status;
use crate::oidc::pkce::challenge_s256;
use crate::oidc::rp::AuthRequest;
use crate::oidc::OidcClient;
use crate::security::{cookie, random_token, safe_return_to, set_cookie, sha256_hex};
use crate::session::{cookie_name, csrf_ok, key_from_headers};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::header::{self, HeaderValue};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use minside_core::auth::{Loa, StaffRole};
use minside_core::ident::Fodselsnummer;
use minside_core::session::{LoginAttempt, LoginKind, NewSession, Principal};
use serde::Deserialize;
use serde_json::Value;

const LOGIN_COOKIE: &str = "minside_login";

#[derive(Deserialize)]
pub struct LoginQuery {
    loa: Option<String>,
    return_to: Option<String>,
}

fn rp(state: &AppState, kind: LoginKind) -> &OidcClient {
    match kind {
        LoginKind::Citizen => &state.citizen_rp,
        LoginKind::Staff => &state.staff_rp,
    }
}

/// `GET /login[?loa=high&return_to=…]`: starts the authorization code flow with PKCE.
pub async fn citizen_login(
    State(state): State<AppState>,
    lang: Lang,
    Query(q): Query<LoginQuery>,
) -> Result<Response, AppError> {
    let loa = if q.loa.as_deref() == Some("high") {
        Loa::High
    } else {
        Loa::Substantial
    };
    start(
        &state,
        lang,
        LoginKind::Citizen,
        Some(loa),
        safe_return_to(q.return_to.as_deref(), "/min-side"),
    )
    .await
}

/// `GET /staff/login`.
pub async fn staff_login(
    State(state): State<AppState>,
    lang: Lang,
    Query(q): Query<ReturnTo>,
) -> Result<Response, AppError> {
    start(
        &state,
        lang,
        LoginKind::Staff,
        None,
        safe_return_to(q.return_to.as_deref(), "/staff"),
    )
    .await
}

async fn start(
    state: &AppState,
    lang: Lang,
    kind: LoginKind,
    loa: Option<Loa>,
    return_to: String,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    let binding = random_token();
    let attempt = LoginAttempt {
        state: random_token(),
        kind,
        nonce: random_token(),
        code_verifier: random_token(),
        browser_binding: sha256_hex(&binding),
        return_to,
        requested_loa: loa,
        created_at: now,
    };
    let challenge = challenge_s256(&attempt.code_verifier);
    let url = rp(state, kind)
        .authorization_url(
            &AuthRequest {
                state: &attempt.state,
                nonce: &attempt.nonce,
                code_challenge: &challenge,
                acr_values: loa.map(Loa::acr),
                ui_locales: lang.code(),
            },
            now,
        )
        .await?;
    state.store.save_login_attempt(&attempt).await?;
    let c = set_cookie(
        LOGIN_COOKIE,
        &binding,
        "/",
        Some(600),
        state.config.secure_cookies,
        true,
    );
    Ok(([(header::SET_COOKIE, c)], Redirect::to(&url)).into_response())
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
}

/// `GET /auth/callback`.
pub async fn citizen_callback(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, AppError> {
    finish(&state, lang, &headers, LoginKind::Citizen, q).await
}

/// `GET /staff/auth/callback`.
pub async fn staff_callback(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, AppError> {
    finish(&state, lang, &headers, LoginKind::Staff, q).await
}

fn failed(state: &AppState, lang: Lang, kind: LoginKind, why: &str) -> Result<Response, AppError> {
    tracing::warn!(kind = kind.code(), reason = why, "login refused");
    let again = if kind == LoginKind::Staff {
        "/staff/login"
    } else {
        "/login"
    };
    let page = MessagePage::new(
        state,
        lang,
        "login-failed-title",
        "login-failed-body",
        Some((again, "login-again")),
    );
    render_status(StatusCode::BAD_REQUEST, &page)
}

async fn finish(
    state: &AppState,
    lang: Lang,
    headers: &HeaderMap,
    kind: LoginKind,
    q: CallbackQuery,
) -> Result<Response, AppError> {
    let now = state.clock.now();
    let Some(attempt) = (match &q.state {
        Some(s) => state.store.take_login_attempt(s).await?,
        None => None,
    }) else {
        return failed(state, lang, kind, "unknown or reused state");
    };
    let bound = cookie(headers, LOGIN_COOKIE).is_some_and(|b| {
        crate::security::constant_time_eq(&sha256_hex(&b), &attempt.browser_binding)
    });
    if !bound || attempt.kind != kind || !attempt.is_fresh(now) {
        return failed(
            state,
            lang,
            kind,
            "state not bound to this browser, wrong flow or expired",
        );
    }
    if let Some(e) = &q.error {
        return failed(state, lang, kind, &format!("IdP returned error {e}"));
    }
    let client = rp(state, kind);
    if !client.callback_issuer_ok(q.iss.as_deref()) {
        return failed(state, lang, kind, "iss on the callback is not our issuer");
    }
    let Some(code) = &q.code else {
        return failed(state, lang, kind, "no code");
    };
    let (claims, id_token) = match client
        .exchange_and_verify(code, &attempt.code_verifier, &attempt.nonce, now)
        .await
    {
        Ok(ok) => ok,
        Err(e) => return failed(state, lang, kind, &e.to_string()),
    };
    let principal = match kind {
        LoginKind::Citizen => {
            let Some(fnr) = claims
                .get("pid")
                .and_then(Value::as_str)
                .and_then(|p| Fodselsnummer::parse(p).ok())
            else {
                return failed(
                    state,
                    lang,
                    kind,
                    "pid claim missing or not a fødselsnummer",
                );
            };
            if fnr.kind().is_synthetic() && !state.config.accept_synthetic_ids {
                return failed(state, lang, kind, "synthetic number outside demo/test");
            }
            let Some(loa) = claims
                .get("acr")
                .and_then(Value::as_str)
                .and_then(Loa::from_acr)
            else {
                return failed(state, lang, kind, "acr claim missing or unknown");
            };
            if attempt.requested_loa.is_some_and(|r| !loa.satisfies(r)) {
                return failed(state, lang, kind, "acr below the requested level");
            }
            let name = state
                .store
                .person_by_fnr(&fnr)
                .await?
                .map(|p| p.full_name());
            Principal::Citizen { fnr, loa, name }
        }
        LoginKind::Staff => {
            let Some(subject) = claims.get("sub").and_then(Value::as_str) else {
                return failed(state, lang, kind, "sub claim missing");
            };
            let name = ["name", "preferred_username"]
                .iter()
                .find_map(|c| claims.get(*c).and_then(Value::as_str))
                .unwrap_or(subject);
            let roles = match claims.get("roles") {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .filter_map(StaffRole::from_code)
                    .collect(),
                Some(Value::String(s)) => s
                    .split([' ', ','])
                    .filter_map(StaffRole::from_code)
                    .collect(),
                _ => Vec::new(),
            };
            Principal::Staff {
                subject: subject.to_owned(),
                name: name.to_owned(),
                roles,
            }
        }
    };
    let secret = random_token();
    let session = NewSession {
        key: crate::session::session_key(state, &secret),
        principal,
        csrf_token: random_token(),
        issuer: client.settings().issuer.clone(),
        sid: claims.get("sid").and_then(Value::as_str).map(str::to_owned),
        id_token,
        created_at: now,
    };
    // Rotation: whatever session this browser had is replaced in the same transaction.
    let previous = key_from_headers(state, headers);
    state
        .store
        .create_session(&session, previous.as_ref())
        .await?;
    let secure = state.config.secure_cookies;
    let mut res = Redirect::to(&attempt.return_to).into_response();
    let h = res.headers_mut();
    for c in [
        set_cookie(cookie_name(secure), &secret, "/", None, secure, true),
        set_cookie(LOGIN_COOKIE, "", "/", Some(0), secure, true),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    Ok(res)
}

#[derive(Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout` and `POST /staff/logout`: ends the local session, then the IdP session
/// (RP-initiated logout with `id_token_hint`).
pub async fn logout_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Result<Response, AppError> {
    let Some(session) = crate::session::load(&state, &headers).await? else {
        return Ok(Redirect::to("/").into_response());
    };
    if !csrf_ok(&session, &form.csrf) {
        tracing::warn!("logout refused: CSRF token mismatch");
        return Ok(Redirect::to("/").into_response());
    }
    state.store.end_session(&session.key).await?;
    let client = match session.principal {
        Principal::Citizen { .. } => &state.citizen_rp,
        Principal::Staff { .. } => &state.staff_rp,
    };
    let target = client
        .end_session_url(&session.id_token, &random_token(), state.clock.now())
        .await?
        .unwrap_or_else(|| "/logged-out".to_owned());
    let secure = state.config.secure_cookies;
    let clear = set_cookie(cookie_name(secure), "", "/", Some(0), secure, true);
    Ok(([(header::SET_COOKIE, clear)], Redirect::to(&target)).into_response())
}

/// `GET /logged-out`: where the IdP returns after logout.
pub async fn logged_out_page(
    State(state): State<AppState>,
    lang: Lang,
) -> Result<Response, AppError> {
    let page = MessagePage::new(
        &state,
        lang,
        "logged-out-title",
        "logged-out-body",
        Some(("/", "to-front")),
    );
    render_status(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct FrontChannelQuery {
    iss: Option<String>,
    sid: Option<String>,
}

/// `GET /auth/frontchannel-logout?iss=…&sid=…`: the IdP ends our session from an iframe. No
/// cookie is needed (third-party cookies are usually blocked): the session is found by `sid`.
pub async fn frontchannel_logout(
    State(state): State<AppState>,
    Query(q): Query<FrontChannelQuery>,
) -> Result<Response, AppError> {
    if let (Some(iss), Some(sid)) = (q.iss.as_deref(), q.sid.as_deref()) {
        for client in [&state.citizen_rp, &state.staff_rp] {
            if client.is_our_issuer(iss) {
                let n = state
                    .store
                    .end_sessions_by_sid(&client.settings().issuer, sid)
                    .await?;
                tracing::info!(ended = n, "front-channel logout");
            }
        }
    }
    let ancestors = if state.config.frontchannel_frame_ancestors.is_empty() {
        "'none'".to_owned()
    } else {
        state.config.frontchannel_frame_ancestors.join(" ")
    };
    let csp = format!("default-src 'none'; frame-ancestors {ancestors}");
    let mut res = (StatusCode::OK, "").into_response();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res.headers_mut().insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("ALLOWALL"),
    );
    Ok(res)
}
