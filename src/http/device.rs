//! `POST /application/o/device/`: the device authorization endpoint (RFC 8628 §3.1). JSON with
//! `Cache-Control: no-store`, RFC error bodies; the logic is in [`crate::oauth::device`].
//! The user-code entry pages (`/device`) are in `device_page`.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::SharedState;
use super::oauth::{form_request, oauth_error, ok_json, snapshot};
use crate::oauth::device;
use crate::oauth::errors::OAuthError;
use crate::oauth::throttle::ThrottleError;

/// `POST /application/o/device/`
pub async fn authorize(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ip = [format!("ip:{}", peer.ip())];
    match state.device_throttle.try_acquire(&state.ctx, &ip).await {
        Ok(()) => {}
        Err(ThrottleError::Throttled { retry_after }) => {
            return oauth_error(&OAuthError::throttled(
                "device authorization requests",
                retry_after,
            ));
        }
        Err(ThrottleError::Store(e)) => {
            return oauth_error(&OAuthError::internal("device authorization throttle", e));
        }
    }
    let result = async {
        let req = form_request(&headers, &body, peer)?;
        let snapshot = snapshot(&state).await?;
        let ctx = state.grant_context(&snapshot);
        device::authorize(&ctx, &req).await
    }
    .await;
    match result {
        Ok(body) => ok_json(body),
        Err(e) => oauth_error(&e),
    }
}
