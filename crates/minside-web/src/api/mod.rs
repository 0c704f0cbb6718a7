//! The back-office API, versioned under `/api/v1`: machine clients with Maskinporten-style bearer
//! tokens, JSON in and out, RFC 9457 problem+json for every error, described by
//! `/api/v1/openapi.json`.

pub mod auth;
mod letters;
mod openapi;
mod persons;
pub mod problem;
mod statistics;
pub mod svarut;

use crate::AppState;
use axum::routing::{get, post};
use axum::Router;

/// Routes under `/api/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi::openapi_document))
        .route("/persons/lookup", post(persons::look_up_person))
        .route(
            "/letters",
            // Documents of up to 20 MB each arrive base64-encoded in the JSON.
            post(letters::send_letter)
                .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024)),
        )
        .route("/letters/{id}/status", get(letters::get_letter_status))
        .route(
            "/letters/{id}/replies/{reply}/attachments/{position}",
            get(letters::get_reply_attachment),
        )
        .route("/statistics/letters", get(statistics::letter_statistics))
        .fallback(problem::not_found)
}
