//! The browser side of the Agent's interactive sign-in: `/endpoints/agent/authenticate/<id>/`
//! (opened by the Agent with `X-Authentik-Platform-Auth-DTH`) and its `finish/` return. The
//! steps are [`crate::service::agent::auth_ia::AgentSignIn`]; this renders what it returns,
//! answering refusals as authentik's view does (404, 400 "Invalid device token", "Permission
//! denied").

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use html_escape::encode_text as text;

use super::AppState;
use super::SharedState;
use super::authorize::denied_page;
use super::errors::HttpError;
use super::extract::ClientIp;
use super::pages::{page, redirect};
use super::session::Session;
use crate::flows::RequestInfo;
use crate::service::agent::auth_ia::{
    AUTHENTICATE_PATH, AgentSignInNext, DEVICE_TOKEN_HASH_HEADER, FINISH_PATH,
};

/// The sign-in pages' routes (merged into the router).
pub fn routes() -> Router<SharedState> {
    Router::new().route(FINISH_PATH, get(finish_get)).route(
        &format!("{AUTHENTICATE_PATH}{{identifier}}/"),
        get(open_get),
    )
}

/// A plain-text answer (what Django's `HttpResponseBadRequest` / `Http404` send).
fn plain(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn message(
    state: &AppState,
    host: Option<&str>,
    sess: &Session,
    status: StatusCode,
    msg: &str,
) -> Response {
    let body = format!("<p class=\"error\" role=\"alert\">{}</p>", text(msg));
    page(state, host, Some(sess), status, "Device sign-in", &body).await
}

async fn render(
    state: &AppState,
    host: Option<&str>,
    sess: &Session,
    next: AgentSignInNext,
) -> Response {
    match next {
        AgentSignInNext::NotFound => plain(StatusCode::NOT_FOUND, "Not Found"),
        AgentSignInNext::InvalidDeviceToken => {
            plain(StatusCode::BAD_REQUEST, "Invalid device token")
        }
        AgentSignInNext::Redirect(to) | AgentSignInNext::Finished(to) => {
            redirect(state, host, Some(sess), &to).await
        }
        AgentSignInNext::Denied(messages) => denied_page(state, host, sess, &messages).await,
        AgentSignInNext::NoAuthenticationFlow => {
            let msg = "No authentication flow is configured.";
            message(state, host, sess, StatusCode::INTERNAL_SERVER_ERROR, msg).await
        }
        AgentSignInNext::NoAuthorizationFlow => {
            let msg = "The device's connector has no authorization flow.";
            message(state, host, sess, StatusCode::BAD_REQUEST, msg).await
        }
        AgentSignInNext::FlowDenied(msg) => {
            message(state, host, sess, StatusCode::FORBIDDEN, &msg).await
        }
        AgentSignInNext::NotInProgress => {
            let msg = "This device sign-in is not in progress or has expired: start again \
                       from the Agent.";
            message(state, host, sess, StatusCode::BAD_REQUEST, msg).await
        }
    }
}

/// `GET /endpoints/agent/authenticate/<identifier>/` (the URL `auth_ia/` answered).
async fn open_get(
    State(state): State<SharedState>,
    ClientIp(ip): ClientIp,
    http_request: RequestInfo,
    mut sess: Session,
    headers: HeaderMap,
    Path(identifier): Path<String>,
) -> Result<Response, HttpError> {
    let dth = headers
        .get(DEVICE_TOKEN_HASH_HEADER)
        .and_then(|v| v.to_str().ok());
    let next = state
        .agent_sign_in(&http_request)
        .open(&mut sess, &ip, &identifier, dth)
        .await?;
    Ok(render(&state, http_request.host(), &sess, next).await)
}

/// `GET /endpoints/agent/authenticate/finish/?rid=…`: where the sign-in and the
/// authorization flow return.
async fn finish_get(
    State(state): State<SharedState>,
    ClientIp(ip): ClientIp,
    http_request: RequestInfo,
    mut sess: Session,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, HttpError> {
    let rid = q.get("rid").map(String::as_str);
    let next = state
        .agent_sign_in(&http_request)
        .resume(&mut sess, &ip, rid)
        .await?;
    Ok(render(&state, http_request.host(), &sess, next).await)
}
