//! Discovery and JWKS per application: the bytes the snapshot prepared when it was built (no
//! database access, no JSON work per request).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::SharedState;
use super::{AppState, json_error};
use crate::oauth::snapshot::PublishedApplication;

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

/// A prepared document of the application `slug`, readable from any origin.
async fn published(
    state: &AppState,
    slug: &str,
    document: fn(&PublishedApplication) -> &Bytes,
) -> Response {
    let Ok(snapshot) = state.snapshot.get().await else {
        return unavailable();
    };
    let Some(app) = snapshot.published(slug) else {
        return unknown_application(slug);
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
        ],
        document(app).clone(),
    )
        .into_response()
}

/// `/application/o/<slug>/.well-known/openid-configuration`
pub async fn discovery(State(state): State<SharedState>, Path(slug): Path<String>) -> Response {
    published(&state, &slug, |a| &a.discovery).await
}

/// `/application/o/<slug>/jwks/`
pub async fn jwks(State(state): State<SharedState>, Path(slug): Path<String>) -> Response {
    published(&state, &slug, |a| &a.jwks).await
}
