//! HTTP endpoints of the test IdP, mounted under `/test-idp`.

use super::{Issued, Pending, TestIdp};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::layout::{render_status, Layout};
use crate::oidc::jws::{public_jwk, sign_rs256, verify_rs256, JwkSet};
use crate::oidc::pkce::{challenge_s256, verifier_is_valid};
use crate::pages::public::MessagePage;
use crate::security::{constant_time_eq, random_token, sha256_hex};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jiff::SignedDuration;
use minside_core::ident::Fodselsnummer;
use minside_core::person::CandidateGroup;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use url::Url;

/// Routes of the provider (relative to `/test-idp`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize_page).post(authorize_submit))
        .route("/token", axum::routing::post(token))
        .route("/logout", get(end_session))
}

fn idp(state: &AppState) -> Result<&TestIdp, AppError> {
    state
        .test_idp
        .as_ref()
        .ok_or_else(|| AppError::Internal("test IdP is not enabled".into()))
}

async fn discovery(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let i = &idp(&state)?.issuer;
    Ok(Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "end_session_endpoint": format!("{i}/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "acr_values_supported": ["idporten-loa-substantial", "idporten-loa-high"],
        "ui_locales_supported": ["nb", "nn", "en"],
        "claims_supported": ["sub", "pid", "acr", "amr", "auth_time", "locale", "sid", "name", "roles"],
        "frontchannel_logout_supported": true,
        "frontchannel_logout_session_supported": true,
        "authorization_response_iss_parameter_supported": true
    })))
}

async fn jwks(State(state): State<AppState>) -> Result<Json<JwkSet>, AppError> {
    let i = idp(&state)?;
    Ok(Json(JwkSet {
        keys: vec![public_jwk(&i.settings.signing_key.to_public_key(), &i.kid)],
    }))
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    acr_values: Option<String>,
    ui_locales: Option<String>,
}

fn bad_request(state: &AppState, lang: Lang) -> Result<Response, AppError> {
    let page = MessagePage::new(
        state,
        lang,
        "login-failed-title",
        "login-failed-body",
        Some(("/", "to-front")),
    );
    render_status(StatusCode::BAD_REQUEST, &page)
}

fn redirect_with(uri: &str, params: &[(&str, &str)]) -> Response {
    match Url::parse(uri) {
        Ok(mut u) => {
            u.query_pairs_mut().extend_pairs(params);
            Redirect::to(u.as_str()).into_response()
        }
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

struct Candidate {
    fnr: String,
    name: String,
    born: String,
}

struct Group {
    title: String,
    people: Vec<Candidate>,
}

struct StaffRow {
    username: String,
    name: String,
    roles: String,
}

#[derive(Template)]
#[template(path = "idp_picker.html")]
struct PickerPage {
    layout: Layout,
    request_id: String,
    staff: bool,
    high: bool,
    groups: Vec<Group>,
    staff_users: Vec<StaffRow>,
    pid_value: String,
    error: Option<String>,
}

async fn picker(
    state: &AppState,
    lang: Lang,
    request_id: String,
    staff: bool,
    high: bool,
    pid_value: String,
    error: Option<&str>,
) -> Result<Response, AppError> {
    let layout = Layout::new(
        state,
        lang,
        "/test-idp/authorize",
        if staff {
            "idp-staff-title"
        } else {
            "idp-title"
        },
    );
    let mut groups: Vec<Group> = Vec::new();
    let mut staff_users = Vec::new();
    if staff {
        for s in state.store.staff_users().await? {
            let roles: Vec<String> = s
                .roles
                .iter()
                .map(|r| layout.tr.t(&format!("role-{}", r.code())).into_owned())
                .collect();
            staff_users.push(StaffRow {
                username: s.username,
                name: s.name,
                roles: roles.join(", "),
            });
        }
    } else {
        for c in state.store.login_candidates(4).await? {
            let key = match c.group {
                CandidateGroup::Guardian => "idp-group-guardian",
                CandidateGroup::Owner => "idp-group-owner",
                CandidateGroup::Reserved => "idp-group-reserved",
                CandidateGroup::Child => "idp-group-child",
                CandidateGroup::Elderly => "idp-group-elderly",
            };
            let title = layout.tr.t(key).into_owned();
            let person = Candidate {
                fnr: c.fnr.to_string(),
                name: c.name,
                born: layout.tr.t1("idp-born", "date", &c.birth_date.to_string()),
            };
            match groups.iter_mut().find(|g| g.title == title) {
                Some(g) => g.people.push(person),
                None => groups.push(Group {
                    title,
                    people: vec![person],
                }),
            }
        }
    }
    let error = error.map(|k| layout.tr.t(k).into_owned());
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_status(
        status,
        &PickerPage {
            layout,
            request_id,
            staff,
            high,
            groups,
            staff_users,
            pid_value,
            error,
        },
    )
}

async fn authorize_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<AuthorizeQuery>,
) -> Result<Response, AppError> {
    let i = idp(&state)?;
    let lang = q
        .ui_locales
        .as_deref()
        .and_then(|l| l.split(' ').find_map(Lang::from_code))
        .unwrap_or_else(|| Lang::negotiate(&headers));
    let (Some(client_id), Some(redirect_uri)) = (q.client_id, q.redirect_uri) else {
        return bad_request(&state, lang);
    };
    let Some(client) = i.client(&client_id) else {
        return bad_request(&state, lang);
    };
    if !client.redirect_uris.contains(&redirect_uri) {
        return bad_request(&state, lang);
    }
    let st = q.state.clone().unwrap_or_default();
    let invalid = |desc: &str| {
        redirect_with(
            &redirect_uri,
            &[
                ("error", "invalid_request"),
                ("error_description", desc),
                ("state", &st),
                ("iss", &i.issuer),
            ],
        )
    };
    if q.response_type.as_deref() != Some("code") {
        return Ok(invalid("response_type must be code"));
    }
    if !q
        .scope
        .as_deref()
        .unwrap_or_default()
        .split(' ')
        .any(|s| s == "openid")
    {
        return Ok(invalid("scope must include openid"));
    }
    let Some(code_challenge) = q
        .code_challenge
        .filter(|_| q.code_challenge_method.as_deref() == Some("S256"))
    else {
        return Ok(invalid("PKCE with S256 is required"));
    };
    let request_id = random_token();
    let high = q.acr_values.as_deref() == Some("idporten-loa-high");
    let staff = client.staff;
    let pending = Pending {
        client_id,
        redirect_uri,
        state: q.state,
        nonce: q.nonce,
        code_challenge,
        acr_values: q.acr_values,
        created: state.clock.now(),
    };
    if let Ok(mut p) = i.pending.lock() {
        let now = state.clock.now();
        p.retain(|_, v| now.duration_since(v.created) < SignedDuration::from_mins(10));
        p.insert(request_id.clone(), pending);
    }
    picker(&state, lang, request_id, staff, high, String::new(), None).await
}

#[derive(Deserialize)]
struct PickForm {
    request_id: String,
    #[serde(default)]
    pid: String,
    #[serde(default)]
    pick: String,
    #[serde(default)]
    acr: String,
    #[serde(default)]
    user: String,
}

async fn authorize_submit(
    State(state): State<AppState>,
    lang: Lang,
    Form(f): Form<PickForm>,
) -> Result<Response, AppError> {
    let i = idp(&state)?;
    let now = state.clock.now();
    let (client_id, high) = {
        let p = i
            .pending
            .lock()
            .map_err(|_| AppError::Internal("lock".into()))?;
        match p.get(&f.request_id) {
            Some(req) if now.duration_since(req.created) < SignedDuration::from_mins(10) => (
                req.client_id.clone(),
                req.acr_values.as_deref() == Some("idporten-loa-high"),
            ),
            _ => return bad_request(&state, lang),
        }
    };
    let Some(client) = i.client(&client_id) else {
        return bad_request(&state, lang);
    };
    let sid = random_token();
    let claims = if client.staff {
        let users = state.store.staff_users().await?;
        let Some(u) = users.into_iter().find(|u| u.username == f.user) else {
            return picker(&state, lang, f.request_id, true, false, String::new(), None).await;
        };
        let roles: Vec<&str> = u.roles.iter().map(|r| r.code()).collect();
        json!({"sub": u.username, "name": u.name, "roles": roles, "sid": sid, "auth_time": now.as_second()})
    } else {
        let typed = if f.pick.trim().is_empty() {
            f.pid.trim()
        } else {
            f.pick.trim()
        };
        let person = match Fodselsnummer::parse(typed) {
            Ok(fnr) => state.store.person_by_fnr(&fnr).await?,
            Err(_) => None,
        };
        let Some(person) = person else {
            return picker(
                &state,
                lang,
                f.request_id,
                false,
                high,
                typed.chars().take(20).collect(),
                Some("idp-err-unknown"),
            )
            .await;
        };
        let acr = if f.acr == "idporten-loa-high" {
            "idporten-loa-high"
        } else {
            "idporten-loa-substantial"
        };
        let sub = sha256_hex(&format!("{}:{}", client.client_id, person.fnr))[..32].to_owned();
        json!({"sub": sub, "pid": person.fnr.as_str(), "acr": acr, "amr": ["TestID"], "auth_time": now.as_second(),
               "locale": lang.code(), "sid": sid})
    };
    let Some(req) = i
        .pending
        .lock()
        .map_err(|_| AppError::Internal("lock".into()))?
        .remove(&f.request_id)
    else {
        return bad_request(&state, lang);
    };
    let mut claims = claims;
    if let Some(n) = &req.nonce {
        claims["nonce"] = json!(n);
    }
    let code = random_token();
    if let Ok(mut codes) = i.codes.lock() {
        codes.retain(|_, v| now.duration_since(v.created) < SignedDuration::from_mins(2));
        codes.insert(
            code.clone(),
            Issued {
                client_id: req.client_id,
                redirect_uri: req.redirect_uri.clone(),
                code_challenge: req.code_challenge,
                claims,
                created: now,
            },
        );
    }
    let st = req.state.unwrap_or_default();
    Ok(redirect_with(
        &req.redirect_uri,
        &[("code", &code), ("state", &st), ("iss", &i.issuer)],
    ))
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    code_verifier: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
}

fn token_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({"error": error}))).into_response()
}

/// Client id and secret from HTTP Basic (form-decoded, RFC 6749 §2.3.1) or the form body.
fn client_credentials(headers: &HeaderMap, f: &TokenForm) -> Option<(String, String)> {
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    {
        let decoded = String::from_utf8(STANDARD.decode(basic.trim()).ok()?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        let dec = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        };
        return Some((dec(id)?, dec(secret)?));
    }
    (!f.client_id.is_empty()).then(|| (f.client_id.clone(), f.client_secret.clone()))
}

async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<TokenForm>,
) -> Result<Response, AppError> {
    let i = idp(&state)?;
    let now = state.clock.now();
    let Some((client_id, secret)) = client_credentials(&headers, &f) else {
        return Ok(token_error(StatusCode::UNAUTHORIZED, "invalid_client"));
    };
    let Some(client) = i
        .client(&client_id)
        .filter(|c| constant_time_eq(&c.client_secret, &secret))
    else {
        return Ok(token_error(StatusCode::UNAUTHORIZED, "invalid_client"));
    };
    if f.grant_type != "authorization_code" {
        return Ok(token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ));
    }
    let issued = i
        .codes
        .lock()
        .map_err(|_| AppError::Internal("lock".into()))?
        .remove(&f.code);
    let Some(issued) = issued else {
        return Ok(token_error(StatusCode::BAD_REQUEST, "invalid_grant"));
    };
    let fresh = now.duration_since(issued.created) <= SignedDuration::from_secs(60);
    let pkce_ok = verifier_is_valid(&f.code_verifier)
        && constant_time_eq(&challenge_s256(&f.code_verifier), &issued.code_challenge);
    if issued.client_id != client.client_id
        || issued.redirect_uri != f.redirect_uri
        || !fresh
        || !pkce_ok
    {
        return Ok(token_error(StatusCode::BAD_REQUEST, "invalid_grant"));
    }
    let mut claims = issued.claims;
    let iat = now.as_second();
    for (k, v) in [
        ("iss", json!(i.issuer)),
        ("aud", json!(client.client_id)),
        ("iat", json!(iat)),
        ("exp", json!(iat + 120)),
        ("jti", json!(random_token())),
    ] {
        claims[k] = v;
    }
    let id_token = sign_rs256(&i.settings.signing_key, &i.kid, &claims)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(Json(json!({"access_token": random_token(), "id_token": id_token, "token_type": "Bearer", "expires_in": 120, "scope": "openid profile"}))
        .into_response())
}

#[derive(Deserialize)]
struct EndSessionQuery {
    id_token_hint: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

/// RP-initiated logout: the hint must be a token we signed; the return URI must be registered.
async fn end_session(
    State(state): State<AppState>,
    lang: Lang,
    Query(q): Query<EndSessionQuery>,
) -> Result<Response, AppError> {
    let i = idp(&state)?;
    let keys = [public_jwk(&i.settings.signing_key.to_public_key(), &i.kid)];
    let aud = q
        .id_token_hint
        .as_deref()
        .and_then(|t| verify_rs256(t, &keys).ok())
        .and_then(|c| c.get("aud").and_then(Value::as_str).map(str::to_owned));
    let client = aud.as_deref().and_then(|a| i.client(a));
    match (client, q.post_logout_redirect_uri) {
        (Some(c), Some(uri)) if c.post_logout_redirect_uris.contains(&uri) => {
            let st = q.state.unwrap_or_default();
            let params: HashMap<&str, &str> = [("state", st.as_str())]
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .collect();
            let params: Vec<(&str, &str)> = params.into_iter().collect();
            Ok(redirect_with(&uri, &params))
        }
        _ => bad_request(&state, lang),
    }
}
