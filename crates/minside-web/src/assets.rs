//! Static assets compiled into the binary: Designsystemet CSS (from web/node_modules at build
//! time, see build.rs) and minside's own layout CSS. A deployed binary needs no files beside it.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

const DS_CSS: &str = include_str!(concat!(env!("OUT_DIR"), "/ds.css"));
const THEME_CSS: &str = include_str!(concat!(env!("OUT_DIR"), "/theme.css"));
const MINSIDE_CSS: &str = include_str!("../assets/minside.css");

/// True when the real Designsystemet CSS was embedded (not the fallback).
pub const DESIGNSYSTEMET_EMBEDDED: bool = matches!(env!("MINSIDE_DS_REAL").as_bytes(), b"true");

/// `GET /static/{file}`.
pub async fn serve(Path(file): Path<String>) -> Response {
    let body = match file.as_str() {
        "ds.css" => DS_CSS,
        "theme.css" => THEME_CSS,
        "minside.css" => MINSIDE_CSS,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
