//! Discovery and JWKS per application, served from the snapshot (no database access).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{AppState, json_error};
use crate::crypto::jwk;
use crate::oauth::discovery;

fn unknown_application(slug: &str) -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        "not_found",
        &format!("no application '{slug}' with an OAuth2 provider"),
    )
}

fn unavailable() -> Response {
    json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "the configuration could not be loaded",
    )
}

/// `/application/o/<slug>/.well-known/openid-configuration`
pub async fn discovery(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let Ok(snapshot) = state.snapshot.get().await else {
        return unavailable();
    };
    let Some(entry) = snapshot.by_application_slug(&slug) else {
        return unknown_application(&slug);
    };
    match discovery::document(&state.ctx.config().public_url, entry) {
        Some(doc) => ([(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")], Json(doc)).into_response(),
        None => unknown_application(&slug),
    }
}

/// `/application/o/<slug>/jwks/`
pub async fn jwks(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let Ok(snapshot) = state.snapshot.get().await else {
        return unavailable();
    };
    let Some(entry) = snapshot.by_application_slug(&slug) else {
        return unknown_application(&slug);
    };
    let keys = entry.published_keys();
    let mut doc = jwk::jwks(&keys);
    if let (Some(enc), Some(list)) = (&entry.encryption_key, doc["keys"].as_array_mut()) {
        list.push(enc.public_jwk.clone());
    }
    ([(header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")], Json(doc)).into_response()
}
