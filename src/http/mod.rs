//! The only user of axum: the router, shared state, common headers and the server task.

mod agent_page;
mod api_agent;
pub mod api_auth;
mod api_core;
mod api_drf;
mod api_endpoints;
mod authorize;
mod challenge_html;
mod device;
mod device_page;
mod end_session;
mod errors;
mod extract;
mod flow_api;
mod flow_cancel;
mod flow_html;
mod headers;
mod health;
mod oauth;
mod pages;
mod root;
mod serve;
pub mod session;
mod shell;
pub mod tls;
mod user_page;
mod webauthn_html;
mod wellknown;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use api_agent::AgentThrottle;
pub use api_core::AUTHENTIK_API_VERSION;
pub use errors::{ApiError, HttpError, json_error};
pub use extract::ClientIp;
pub use serve::Limits;

use crate::context::Context;
use crate::flows::RequestInfo;
use crate::oauth::SnapshotCache;
use crate::oauth::authorize_flow::AuthorizeContext;
use crate::oauth::claims::ScopeEvaluator;
use crate::oauth::grant::GrantContext;
use crate::oauth::session_step::StepContext;
use crate::oauth::snapshot::Snapshot;
use crate::service::Service;
use crate::service::agent::auth_ia::AgentSignIn;
use crate::service::device::sign_in::DeviceSignIn;

/// Device authorization requests one client IP may start per minute (over every instance on
/// the store together: the buckets are in the store).
pub const DEVICE_REQUESTS_PER_MINUTE: u32 = 30;
/// The namespace of the device authorization throttle's buckets in the store.
pub const DEVICE_AUTHORIZATION_THROTTLE: &str = "device_auth";

/// The router's state: handlers extract it per request, so it is one reference count to
/// clone, not the dozen handles (and the store path) inside [`AppState`].
pub type SharedState = Arc<AppState>;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The handle the protocol layers take (store, clock, configuration).
    pub ctx: Context,
    /// The admin use-cases the pages call (device approval).
    pub service: Service,
    pub snapshot: Arc<SnapshotCache>,
    /// Runs scope mapping expressions for claims.
    pub evaluator: Arc<dyn ScopeEvaluator>,
    /// Device authorization requests per client IP (authentik throttles this endpoint too),
    /// counted in the store across instances.
    pub device_throttle: Arc<crate::oauth::throttle::Throttle>,
    /// The `/device` pages' user-code lookups (throttled in the store, across instances).
    pub device: crate::service::device::DeviceVerification,
    /// A whole request, body included, must be answered this soon (else 408).
    pub request_timeout: std::time::Duration,
    /// The Agent API's calls per token and per client IP.
    pub agent_throttle: Arc<AgentThrottle>,
}

impl AppState {
    /// State over a service; the snapshot follows store changes once [`spawn_server`] runs.
    pub fn new(service: Service) -> Self {
        let ctx = service.context().clone();
        let snapshot = SnapshotCache::new(ctx.clone());
        let device = crate::service::device::DeviceVerification::new(ctx.clone());
        Self {
            ctx,
            device,
            service,
            snapshot,
            evaluator: Arc::new(crate::oauth::scope_expr::ExpressionScopes::default()),
            device_throttle: Arc::new(crate::oauth::throttle::Throttle::new(
                DEVICE_AUTHORIZATION_THROTTLE,
                DEVICE_REQUESTS_PER_MINUTE,
                60,
            )),
            request_timeout: Limits::default().request_timeout,
            agent_throttle: Arc::new(AgentThrottle::default()),
        }
    }

    /// What a flow step on a browser session runs with, answering `request`.
    pub fn step_context<'a>(&'a self, request: &'a RequestInfo) -> StepContext<'a> {
        StepContext {
            ctx: &self.ctx,
            snapshots: &self.snapshot,
            request: Some(request),
        }
    }

    /// What the authorization endpoint's state machine runs with, answering `request`.
    pub fn authorize_context<'a>(&'a self, request: &'a RequestInfo) -> AuthorizeContext<'a> {
        AuthorizeContext {
            step: self.step_context(request),
            evaluator: self.evaluator.as_ref(),
        }
    }

    /// What the token-side endpoints (token, revoke, introspect, device authorization,
    /// userinfo, GitHub) run with, over one configuration snapshot.
    pub fn grant_context<'a>(&'a self, snapshot: &'a Snapshot) -> GrantContext<'a> {
        GrantContext {
            context: &self.ctx,
            snapshot,
            evaluator: self.evaluator.as_ref(),
        }
    }

    /// The Agent's interactive sign-in pages' state machine, answering `request`.
    pub fn agent_sign_in<'a>(&'a self, request: &'a RequestInfo) -> AgentSignIn<'a> {
        AgentSignIn {
            service: &self.service,
            step: self.step_context(request),
        }
    }

    /// The `/device` pages' state machine, answering `request`.
    pub fn device_sign_in<'a>(&'a self, request: &'a RequestInfo) -> DeviceSignIn<'a> {
        DeviceSignIn {
            verification: &self.device,
            step: self.step_context(request),
        }
    }
}

/// Every route latchkey serves, at authentik's paths.
pub fn router(state: AppState) -> Router {
    let timeout = || {
        tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.request_timeout,
        )
    };
    // The OAuth JSON endpoints: every answer JSON and no-store, even axum's own 400/405/408/413.
    let oauth_json = Router::new()
        .route(
            "/login/oauth/access_token",
            oauth::form_route(oauth::FormEndpoint::Token),
        )
        .route(
            "/application/o/token/",
            oauth::form_route(oauth::FormEndpoint::Token),
        )
        .route("/application/o/device/", post(device::authorize))
        .route(
            "/application/o/revoke/",
            oauth::form_route(oauth::FormEndpoint::Revoke),
        )
        .route(
            "/application/o/introspect/",
            oauth::form_route(oauth::FormEndpoint::Introspect),
        )
        .route(
            "/application/o/userinfo/",
            get(oauth::userinfo_get).post(oauth::userinfo_post),
        )
        .layer(timeout())
        .layer(axum::middleware::map_response(errors::oauth_json_answers));
    Router::new()
        .route("/api/v3/core/brands/current/", get(api_core::current_brand))
        .route("/api/v3/admin/version/", get(api_core::version))
        .route("/api/v3/core/users/", get(api_core::users))
        .route("/api/v3/core/groups/", get(api_core::groups))
        .route("/-/health/live/", get(health::live))
        .route("/-/health/ready/", get(health::ready))
        .route(
            "/application/o/{slug}/.well-known/openid-configuration",
            get(wellknown::discovery),
        )
        .route("/application/o/{slug}/jwks/", get(wellknown::jwks))
        .route(
            "/application/o/{slug}/end-session/",
            get(end_session::end_session_get).post(end_session::end_session_post),
        )
        .route(
            "/application/o/authorize/",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route(
            "/application/o/authorize/done/",
            get(authorize::authorize_done),
        )
        .route(
            "/login/oauth/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route("/user", get(oauth::github_user))
        .route("/user/emails", get(oauth::github_emails))
        .route("/user/teams", get(oauth::github_teams))
        .route(
            "/device",
            get(device_page::entry_get).post(device_page::entry_post),
        )
        .route("/device/continue/", get(device_page::continue_get))
        .route("/device/decide/", post(device_page::decide_post))
        .route(
            "/if/flow/{slug}/",
            get(flow_html::get_flow).post(flow_html::post_flow),
        )
        .route("/flows/-/cancel/", get(flow_cancel::cancel))
        .route("/", get(root::root))
        .route(
            "/flows/-/default/authentication/",
            get(root::default_authentication),
        )
        .route(
            "/flows/-/default/invalidation/",
            get(root::default_invalidation),
        )
        .route(
            "/api/v3/flows/executor/{slug}/",
            get(flow_api::get_challenge).post(flow_api::post_response),
        )
        .merge(api_agent::routes())
        .merge(agent_page::routes())
        .merge(api_endpoints::routes())
        .merge(user_page::routes())
        .layer(timeout())
        .merge(oauth_json)
        .fallback(errors::not_found)
        .with_state(Arc::new(state))
}

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: String, reason: String },
}

/// Binds the listener (separately, so a port in use is reported before the console starts).
pub async fn bind(addr: &str) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr).await.map_err(|e| ServeError::Bind {
        addr: addr.to_string(),
        reason: match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                "the address is already in use; stop the other process or pass --listen with \
                 another port"
                    .into()
            }
            std::io::ErrorKind::PermissionDenied => {
                "permission denied; use a port above 1024 or run with the needed privileges".into()
            }
            _ => e.to_string(),
        },
    })
}

/// Runs the server on `listener` with the default [`Limits`] until `cancel` fires, then drains
/// open connections.
pub fn spawn_server(
    listener: TcpListener,
    state: AppState,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    spawn_server_with_limits(listener, state, Limits::default(), cancel)
}

/// [`spawn_server`] with explicit connection limits.
pub fn spawn_server_with_limits(
    listener: TcpListener,
    state: AppState,
    limits: Limits,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    let state = AppState {
        request_timeout: limits.request_timeout,
        ..state
    };
    state.snapshot.watch(cancel.clone());
    tokio::spawn(serve::serve(listener, router(state), limits, None, cancel))
}

/// [`spawn_server_with_limits`] over HTTPS with the brands' web certificates
/// ([`tls::TlsCertificates::load`] refuses first when no brand has one).
pub fn spawn_tls_server(
    listener: TcpListener,
    state: AppState,
    limits: Limits,
    certificates: std::sync::Arc<tls::TlsCertificates>,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    let state = AppState {
        request_timeout: limits.request_timeout,
        ..state
    };
    state.snapshot.watch(cancel.clone());
    let app = router(state);
    tokio::spawn(serve::serve(
        listener,
        app,
        limits,
        Some(certificates),
        cancel,
    ))
}
