//! The authentik Agent's API under `/api/v3/endpoints/agents/connectors/`: enroll, agent_config,
//! check_in, auth_fed and auth_ia, answering as authentik's Django REST framework views do (`{"detail":
//! …}` for refusals, nested field errors for bad bodies). Every call is throttled per presented
//! token and per client IP before anything else runs. The rules live in `service::agent`.

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::AppState;
use super::SharedState;
use super::api_drf::{NOT_AUTHENTICATED, PERMISSION_DENIED, answer};
use super::extract::ClientIp;
use crate::context::Context;
use crate::crypto::secrets;
use crate::domain::facts::validate_facts;
use crate::oauth::throttle::{Throttle, ThrottleError};
use crate::service::ServiceError;
use crate::service::agent::auth_fed::AuthFedRefusal;
use crate::service::devices::AgentCaller;

/// The largest check-in body taken (1 MiB: realistic facts with a few hundred software entries
/// and processes are ~100 KiB); a larger one is answered 413 before it is parsed.
pub const AGENT_BODY_LIMIT: usize = 1024 * 1024;
/// Agent API calls one token may make per minute (an Agent makes a few per refresh interval).
pub const AGENT_CALLS_PER_TOKEN_PER_MINUTE: u32 = 60;
/// Agent API calls one client IP may make per minute (many Agents may share a NAT address).
pub const AGENT_CALLS_PER_IP_PER_MINUTE: u32 = 600;

const PREFIX: &str = "/api/v3/endpoints/agents/connectors";

/// The Agent API's throttles: one bucket per presented token (by digest) and one per client
/// IP, kept in the store so that every instance counts against the same budget.
#[derive(Debug)]
pub struct AgentThrottle {
    per_token: Throttle,
    per_ip: Throttle,
}

impl AgentThrottle {
    /// Throttles allowing `per_token` calls per token and `per_ip` per IP each minute.
    pub fn new(per_token: u32, per_ip: u32) -> Self {
        Self {
            per_token: Throttle::new("agent_token", per_token, 60),
            per_ip: Throttle::new("agent_ip", per_ip, 60),
        }
    }

    /// Takes one try for `ip` and then, when one was presented, for the token digesting to
    /// `digest` (the IP's try is spent even when the token's bucket is empty).
    pub(super) async fn try_acquire(
        &self,
        ctx: &Context,
        ip: &str,
        digest: Option<&str>,
    ) -> Result<(), ThrottleError> {
        self.per_ip.try_acquire(ctx, &[format!("ip:{ip}")]).await?;
        match digest {
            Some(d) => {
                self.per_token
                    .try_acquire(ctx, &[format!("token:{d}")])
                    .await
            }
            None => Ok(()),
        }
    }
}

impl Default for AgentThrottle {
    fn default() -> Self {
        Self::new(
            AGENT_CALLS_PER_TOKEN_PER_MINUTE,
            AGENT_CALLS_PER_IP_PER_MINUTE,
        )
    }
}

/// The Agent's routes (merged into the router).
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(&format!("{PREFIX}/enroll/"), post(enroll))
        .route(&format!("{PREFIX}/agent_config/"), get(agent_config))
        .route(&format!("{PREFIX}/check_in/"), post(check_in))
        .route(&format!("{PREFIX}/auth_fed/"), post(auth_fed))
        .route(&format!("{PREFIX}/auth_ia/"), post(auth_ia))
        .method_not_allowed_fallback(method_not_allowed)
}

/// Another method than the call takes: 405 with DRF's body.
async fn method_not_allowed(method: Method) -> Response {
    answer(
        StatusCode::METHOD_NOT_ALLOWED,
        json!({ "detail": format!("Method \"{method}\" not allowed.") }),
    )
}

/// Why an Agent API call is refused, each answered as authentik's DRF views answer it.
#[derive(Debug)]
enum Refusal {
    /// Over a throttle: 429 with `Retry-After` (seconds).
    Throttled(u64),
    /// A wrong, expired or revoked key: 403 `PermissionDenied`.
    PermissionDenied,
    /// No usable credential: 403 `NotAuthenticated`.
    NotAuthenticated,
    /// A body over [`AGENT_BODY_LIMIT`]: 413.
    TooLarge,
    /// A body declared as something other than JSON: 415 `UnsupportedMediaType`.
    UnsupportedMediaType(String),
    /// A body that is not JSON: 400 `ParseError`.
    NotJson(String),
    /// A body the serializer refuses: 400 with its field errors.
    Invalid(Value),
    /// Not the caller's fault (logged): 500.
    Server,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let detail = |status: StatusCode, text: &str| answer(status, json!({ "detail": text }));
        match self {
            Refusal::Throttled(retry_after) => super::api_drf::throttled(retry_after),
            Refusal::PermissionDenied => detail(StatusCode::FORBIDDEN, PERMISSION_DENIED),
            Refusal::NotAuthenticated => detail(StatusCode::FORBIDDEN, NOT_AUTHENTICATED),
            Refusal::TooLarge => detail(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("The request body exceeds {AGENT_BODY_LIMIT} bytes."),
            ),
            Refusal::UnsupportedMediaType(given) => detail(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                &format!("Unsupported media type \"{given}\" in request."),
            ),
            Refusal::NotJson(e) => {
                detail(StatusCode::BAD_REQUEST, &format!("JSON parse error - {e}"))
            }
            Refusal::Invalid(errors) => answer(StatusCode::BAD_REQUEST, errors),
            Refusal::Server => detail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "A server error occurred.",
            ),
        }
    }
}

/// A refused Agent key is 403; any other service failure is logged (never with a key), 500.
impl From<ServiceError> for Refusal {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::AgentRefused(_) => Refusal::PermissionDenied,
            other => {
                tracing::error!(error = %other, "agent API call failed");
                Refusal::Server
            }
        }
    }
}

type Answer = Result<Response, Refusal>;

/// The credential of `Authorization: <scheme> <key>` (scheme case-insensitive, as authentik's
/// `validate_auth`); `None` when absent, of another scheme, or empty.
fn credential(headers: &HeaderMap, scheme: &str) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (given, key) = value.trim().split_once(' ')?;
    let key = key.trim();
    (given.eq_ignore_ascii_case(scheme) && !key.is_empty()).then(|| key.to_string())
}

/// Throttles the call by IP and by the presented key (its digest), before anything is looked
/// up.
async fn throttle(state: &AppState, ip: &ClientIp, key: Option<&str>) -> Result<(), Refusal> {
    let digest = key.map(secrets::digest);
    state
        .agent_throttle
        .try_acquire(&state.ctx, &ip.0, digest.as_deref())
        .await
        .map_err(Refusal::from)
}

/// Over a throttle is 429; a store that could not count the call is logged, 500.
impl From<ThrottleError> for Refusal {
    fn from(err: ThrottleError) -> Self {
        match err {
            ThrottleError::Throttled { retry_after } => Refusal::Throttled(retry_after),
            ThrottleError::Store(e) => {
                tracing::error!(error = %e, "agent API throttle failed");
                Refusal::Server
            }
        }
    }
}

/// The Agent a `Bearer+agent` device token stands for, after throttling.
async fn agent_caller(
    state: &AppState,
    ip: &ClientIp,
    headers: &HeaderMap,
) -> Result<AgentCaller, Refusal> {
    let key = super::api_auth::agent_key(headers);
    throttle(state, ip, key.as_deref()).await?;
    let key = key.ok_or(Refusal::NotAuthenticated)?;
    Ok(state.service.authenticate_agent(&key).await?)
}

/// True for `application/json` (parameters such as `charset` aside).
fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// The body as JSON: 415 for another declared `Content-Type` (none is taken as JSON), 413 over
/// [`AGENT_BODY_LIMIT`] (by `Content-Length`, or while reading), DRF's parse error (400) when it
/// is not JSON.
async fn json_body(headers: &HeaderMap, body: Body) -> Result<Value, Refusal> {
    let declared_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    if let Some(given) = declared_type.filter(|t| !is_json(t)) {
        return Err(Refusal::UnsupportedMediaType(given));
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > AGENT_BODY_LIMIT) {
        return Err(Refusal::TooLarge);
    }
    let bytes = axum::body::to_bytes(body, AGENT_BODY_LIMIT)
        .await
        .map_err(|_| Refusal::TooLarge)?;
    if bytes.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&bytes).map_err(|e| Refusal::NotJson(e.to_string()))
}

/// `device_serial` and `device_name` of an enroll body (DRF's required `CharField`s), or the
/// 400 body.
fn enroll_fields(body: &Value) -> Result<(String, String), Value> {
    let mut errors = serde_json::Map::new();
    let mut field = |name: &str| -> Option<String> {
        let message = match body.get(name) {
            None => "This field is required.",
            Some(Value::Null) => "This field may not be null.",
            Some(Value::String(s)) if s.trim().is_empty() => "This field may not be blank.",
            Some(Value::String(s)) => return Some(s.trim().to_string()),
            Some(Value::Number(n)) => return Some(n.to_string()),
            Some(_) => "Not a valid string.",
        };
        errors.insert(name.into(), json!([message]));
        None
    };
    let serial = field("device_serial");
    let name = field("device_name");
    match (serial, name) {
        (Some(serial), Some(name)) => Ok((serial, name)),
        _ => Err(Value::Object(errors)),
    }
}

/// `POST enroll/` (`Authorization: Bearer <enrollment token key>`).
async fn enroll(
    State(state): State<SharedState>,
    ip: ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let key = credential(&headers, "bearer");
    throttle(&state, &ip, key.as_deref()).await?;
    let key = key.ok_or(Refusal::PermissionDenied)?;
    // Authenticated before the body is looked at, as DRF does.
    state
        .service
        .enrollment_token_for_key(&key)
        .await?
        .ok_or(Refusal::PermissionDenied)?;
    let body = json_body(&headers, body).await?;
    let (serial, name) = enroll_fields(&body).map_err(Refusal::Invalid)?;
    let enrolled = state.service.enroll_device(&key, &serial, &name).await?;
    Ok(answer(
        StatusCode::OK,
        json!({ "token": enrolled.device_token_key, "expires_in": 0 }),
    ))
}

/// `GET agent_config/` (`Authorization: Bearer+agent <device token>`).
async fn agent_config(
    State(state): State<SharedState>,
    ip: ClientIp,
    headers: HeaderMap,
) -> Answer {
    let caller = agent_caller(&state, &ip, &headers).await?;
    let config = state.service.agent_config(&caller).await?;
    let body = serde_json::to_value(&config).map_err(|e| {
        tracing::error!(error = %e, "agent_config did not serialize");
        Refusal::Server
    })?;
    Ok(answer(StatusCode::OK, body))
}

/// `POST check_in/` (`Bearer+agent`): 204 once the facts are stored.
async fn check_in(
    State(state): State<SharedState>,
    ip: ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let caller = agent_caller(&state, &ip, &headers).await?;
    let body = json_body(&headers, body).await?;
    let facts = validate_facts(&body).map_err(Refusal::Invalid)?;
    state.service.check_in(&caller, facts).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(serde::Deserialize)]
struct AuthFedQuery {
    device: Option<String>,
}

/// `POST auth_fed/?device=<name>` (`Authorization: Bearer <federated access token>`).
async fn auth_fed(
    State(state): State<SharedState>,
    ip: ClientIp,
    headers: HeaderMap,
    Query(query): Query<AuthFedQuery>,
) -> Answer {
    let key = credential(&headers, "bearer");
    throttle(&state, &ip, key.as_deref()).await?;
    let (Some(key), Some(device)) = (key, query.device) else {
        return Err(Refusal::NotAuthenticated);
    };
    match state.service.agent_auth_fed(&key, &device, &ip.0).await? {
        Ok(session) => Ok(answer(
            StatusCode::OK,
            json!({ "token": session.token, "expires_in": session.expires_in }),
        )),
        Err(AuthFedRefusal::NotAuthenticated) => Err(Refusal::NotAuthenticated),
        Err(AuthFedRefusal::PolicyDenied(messages)) => Err(Refusal::Invalid(json!({
            "policy_result": "Policy denied access",
            "policy_messages": messages,
        }))),
    }
}

#[derive(serde::Deserialize)]
struct AuthIaQuery {
    login_hint: Option<String>,
}

/// `POST auth_ia/[?login_hint=…]` (`Bearer+agent`): the URL of an interactive sign-in for the
/// Agent's browser (`AgentAuthenticationResponse`).
async fn auth_ia(
    State(state): State<SharedState>,
    ip: ClientIp,
    headers: HeaderMap,
    Query(query): Query<AuthIaQuery>,
) -> Answer {
    let caller = agent_caller(&state, &ip, &headers).await?;
    let hint = query.login_hint.as_deref().filter(|h| !h.is_empty());
    let url = state.service.agent_auth_ia(&caller, hint).await?;
    Ok(answer(StatusCode::OK, json!({ "url": url })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn credentials_need_their_scheme_in_any_case() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer+Agent abc"),
        );
        assert_eq!(credential(&h, "bearer+agent").as_deref(), Some("abc"));
        assert_eq!(credential(&h, "bearer"), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(credential(&h, "bearer"), None);
        assert_eq!(credential(&HeaderMap::new(), "bearer"), None);
    }

    #[test]
    fn only_json_bodies_are_taken() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/jsonx"));
    }

    #[test]
    fn enroll_fields_answer_drfs_errors() {
        assert_eq!(
            enroll_fields(&json!({"device_serial": "S", "device_name": "n"})),
            Ok(("S".into(), "n".into()))
        );
        assert_eq!(
            enroll_fields(&json!({"device_serial": "", "device_name": [1]})),
            Err(json!({"device_serial": ["This field may not be blank."],
                       "device_name": ["Not a valid string."]}))
        );
        assert_eq!(
            enroll_fields(&json!({})),
            Err(json!({"device_serial": ["This field is required."],
                       "device_name": ["This field is required."]}))
        );
    }
}
