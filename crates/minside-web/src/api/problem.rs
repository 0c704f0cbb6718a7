//! RFC 9457 problem details, the body of every API error.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldProblem {
    /// JSON pointer-ish name of the field (`fodselsnummer`, `documents[0].filename`).
    pub field: String,
    pub message: String,
}

/// A problem+json response.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub title: &'static str,
    pub status: u16,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    #[serde(skip)]
    www_authenticate: Option<String>,
}

impl Problem {
    fn new(
        status: StatusCode,
        type_: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            type_,
            title,
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            www_authenticate: None,
        }
    }

    /// 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let mut p = Self::new(
            StatusCode::UNAUTHORIZED,
            "urn:minside:problem:unauthorized",
            "Missing or invalid bearer token",
            detail.clone(),
        );
        p.www_authenticate = Some(format!(
            "Bearer error=\"invalid_token\", error_description=\"{}\"",
            detail.replace('"', "'")
        ));
        p
    }

    /// 403 with `WWW-Authenticate: Bearer error="insufficient_scope"`.
    pub fn insufficient_scope(scope: &str) -> Self {
        let mut p = Self::new(
            StatusCode::FORBIDDEN,
            "urn:minside:problem:insufficient-scope",
            "The token lacks a required scope",
            format!("this operation needs scope {scope}"),
        );
        p.www_authenticate = Some(format!(
            "Bearer error=\"insufficient_scope\", scope=\"{scope}\""
        ));
        p
    }

    /// 422 listing every invalid field.
    pub fn invalid(errors: Vec<FieldProblem>) -> Self {
        let mut p = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "urn:minside:problem:invalid-request",
            "The request has invalid fields",
            "",
        );
        p.errors = errors;
        p
    }

    /// 400 for a body that is not the expected JSON.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "urn:minside:problem:bad-request",
            "The request body could not be read",
            detail,
        )
    }

    /// 409: the request clashes with what is stored (a reused idempotency key).
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "urn:minside:problem:conflict",
            "Conflict",
            detail,
        )
    }

    pub fn not_found_detail(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "urn:minside:problem:not-found",
            "Not found",
            detail,
        )
    }

    /// 500 with the operation id that the log line carries.
    pub fn internal(operation_id: &str) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "urn:minside:problem:internal",
            "Internal error",
            format!("operation id {operation_id}"),
        )
    }
}

/// A 500 for an unexpected failure: the error goes to the log with an operation id, the client
/// gets only the id.
pub fn logged_internal(e: &dyn std::fmt::Display) -> Problem {
    let id = crate::security::random_token()[..10].to_owned();
    tracing::error!(operation_id = %id, error = %e, "API request failed");
    Problem::internal(&id)
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut res = (status, body).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(v) = self
            .www_authenticate
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            h.insert(header::WWW_AUTHENTICATE, v);
        }
        res
    }
}

/// Fallback inside `/api/v1`.
pub async fn not_found() -> Problem {
    Problem::not_found_detail("no such API endpoint")
}
