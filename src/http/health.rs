//! Liveness and readiness, at authentik's paths.

use axum::extract::State;
use axum::http::StatusCode;

use super::SharedState;

/// The process is up.
pub async fn live() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// The store answers and the configuration loads.
pub async fn ready(State(state): State<SharedState>) -> StatusCode {
    match state.snapshot.get().await {
        Ok(_) => StatusCode::NO_CONTENT,
        Err(err) => {
            tracing::warn!(error = %err, "not ready");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}
