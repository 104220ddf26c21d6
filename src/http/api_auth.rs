//! Who is calling an `/api/v3/` route, as authentik's REST framework authenticates it: an
//! Agent by its device token (`Authorization: Bearer+agent <key>`), or an administrator by an
//! API token (`Authorization: Bearer <key>`, intent `api`) or the browser session of a
//! signed-in superuser. Refusals answer DRF's 403 bodies; a refused
//! caller learns nothing about which check failed.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::SharedState;
use super::api_drf::{self, NOT_AUTHENTICATED, PERMISSION_DENIED};
use super::extract::ClientIp;
use super::session;
use crate::crypto::secrets;
use crate::oauth::throttle::ThrottleError;
use crate::service::ServiceError;
use crate::service::devices::AgentCaller;

/// The authenticated caller of an `/api/v3/` route.
#[derive(Debug, Clone)]
pub enum ApiCaller {
    /// An active superuser, by a browser session or an API token.
    Superuser { user_id: String },
    /// An enrolled Agent, by its device token.
    Agent(Box<AgentCaller>),
}

/// A caller that must be a superuser's browser session (the admin API's routes).
#[derive(Debug, Clone)]
pub struct Superuser {
    pub user_id: String,
}

/// Why a caller was refused.
#[derive(Debug)]
pub enum ApiAuthRefusal {
    /// No credential at all (no Agent key, no signed-in session): 403 `NotAuthenticated`.
    NotAuthenticated,
    /// A credential that is wrong or lacks the rights: 403 `PermissionDenied`.
    PermissionDenied,
    /// Over the Agent throttle (per IP, and per token when one is presented): 429.
    Throttled(u64),
    /// The store failed (logged): 500.
    Server,
}

impl IntoResponse for ApiAuthRefusal {
    fn into_response(self) -> Response {
        let (status, detail) = match self {
            Self::Throttled(retry_after) => return api_drf::throttled(retry_after),
            Self::NotAuthenticated => (StatusCode::FORBIDDEN, NOT_AUTHENTICATED),
            Self::PermissionDenied => (StatusCode::FORBIDDEN, PERMISSION_DENIED),
            Self::Server => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "A server error occurred.",
            ),
        };
        api_drf::detail(status, detail)
    }
}

impl From<ServiceError> for ApiAuthRefusal {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::AgentRefused(_) => Self::PermissionDenied,
            other => {
                tracing::error!(error = %other, "API authentication failed");
                Self::Server
            }
        }
    }
}

/// The key of `Authorization: Bearer+agent <key>` (scheme case-insensitive), if presented.
pub fn agent_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.trim().split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer+agent") && !key.is_empty()).then(|| key.to_string())
}

/// The key of `Authorization: Bearer <key>` (an API token), if presented.
pub fn bearer_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = value.trim().split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then(|| key.to_string())
}

/// The superuser an API token signs in as: a key that is no API token, or a user who is not
/// an active superuser, is refused alike.
async fn token_superuser(state: &AppState, key: &str) -> Result<String, ApiAuthRefusal> {
    match state.service.api_token_user(key).await? {
        Some(user_id) if state.service.is_active_superuser(&user_id).await? => Ok(user_id),
        _ => Err(ApiAuthRefusal::PermissionDenied),
    }
}

/// The superuser a request's session cookie signs in, if it does.
async fn session_superuser(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<String>, ApiAuthRefusal> {
    let ClientIp(ip) = ClientIp::from_parts(parts);
    let Some(cookie) = session::request_cookie(&parts.headers) else {
        return Ok(None);
    };
    let loaded = crate::flows::session::load(&state.ctx, Some(&cookie.value), &ip)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "session load failed");
            ApiAuthRefusal::Server
        })?;
    // A session used from outside the network its login bound it to signs nobody in (the
    // session extractor ends it on the next page).
    if loaded.binding_broken().is_some() {
        return Ok(None);
    }
    let Some(user_id) = loaded.user_id else {
        return Ok(None);
    };
    if state.service.is_active_superuser(&user_id).await? {
        Ok(Some(user_id))
    } else {
        Err(ApiAuthRefusal::PermissionDenied)
    }
}

impl FromRequestParts<SharedState> for ApiCaller {
    type Rejection = ApiAuthRefusal;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        // Throttled before any lookup, in the Agent API's buckets (per IP, per key digest).
        let ClientIp(ip) = ClientIp::from_parts(parts);
        let key = agent_key(&parts.headers);
        let api_key = bearer_key(&parts.headers);
        let digest = key.as_deref().or(api_key.as_deref()).map(secrets::digest);
        state
            .agent_throttle
            .try_acquire(&state.ctx, &ip, digest.as_deref())
            .await
            .map_err(|e| match e {
                ThrottleError::Throttled { retry_after } => ApiAuthRefusal::Throttled(retry_after),
                ThrottleError::Store(e) => {
                    tracing::error!(error = %e, "API throttle failed");
                    ApiAuthRefusal::Server
                }
            })?;
        if let Some(key) = key {
            let caller = state.service.authenticate_agent(&key).await?;
            return Ok(Self::Agent(Box::new(caller)));
        }
        if let Some(key) = api_key {
            let user_id = token_superuser(state, &key).await?;
            return Ok(Self::Superuser { user_id });
        }
        match session_superuser(parts, state).await? {
            Some(user_id) => Ok(Self::Superuser { user_id }),
            None => Err(ApiAuthRefusal::NotAuthenticated),
        }
    }
}

impl FromRequestParts<SharedState> for Superuser {
    type Rejection = ApiAuthRefusal;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        match ApiCaller::from_request_parts(parts, state).await? {
            ApiCaller::Superuser { user_id } => Ok(Self { user_id }),
            ApiCaller::Agent(_) => Err(ApiAuthRefusal::PermissionDenied),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn agent_keys_need_their_scheme() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer+AGENT k"),
        );
        assert_eq!(agent_key(&h).as_deref(), Some("k"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer k"));
        assert_eq!(agent_key(&h), None);
        assert_eq!(bearer_key(&h).as_deref(), Some("k"));
        assert_eq!(agent_key(&HeaderMap::new()), None);
        assert_eq!(bearer_key(&HeaderMap::new()), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic k"));
        assert_eq!(bearer_key(&h), None);
    }
}
