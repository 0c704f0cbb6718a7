//! The one error type handlers return. Users get a translated page with an operation id; the
//! log gets the cause with the same id.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minside_core::ports::StoreError;

/// Something the user cannot fix went wrong.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("rendering failed: {0}")]
    Render(#[from] askama::Error),
    #[error("login failed: {0}")]
    Oidc(#[from] crate::oidc::OidcError),
    #[error("{0}")]
    Internal(String),
}

/// Marks a 500 response so that the error-page layer renders it in the user's language.
#[derive(Debug, Clone)]
pub struct OperationId(pub String);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let id = crate::security::random_token()[..10].to_owned();
        tracing::error!(operation_id = %id, error = %self, "request failed");
        let mut res = (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        res.extensions_mut().insert(OperationId(id));
        res
    }
}
