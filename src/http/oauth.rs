//! The OAuth2 endpoints that clients call directly: token, revoke, introspect, userinfo. Every
//! response is JSON with `Cache-Control: no-store`; client authentication failures are 401 with a
//! `WWW-Authenticate` challenge (RFC 6749 §5.2).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use serde_json::{Value, json};

use super::AppState;
use super::SharedState;
use crate::oauth::errors::OAuthError;
use crate::oauth::grant::{self, TokenRequest};
use crate::oauth::resource;
use crate::oauth::snapshot::Snapshot;

pub(super) fn no_store(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

pub(super) fn oauth_error(err: &OAuthError) -> Response {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut res = (
        status,
        Json(json!({ "error": err.code, "error_description": err.description })),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"latchkey\""),
        );
    }
    if let Some(secs) = err.retry_after() {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    no_store(res)
}

pub(super) fn ok_json(body: Value) -> Response {
    serialised(&body)
}

/// `200` with `body` as JSON, never stored by caches.
fn serialised<T: serde::Serialize>(body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => no_store(
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                bytes,
            )
                .into_response(),
        ),
        Err(e) => oauth_error(&OAuthError::internal("cannot encode the response", e)),
    }
}

/// Parses a form body, refusing other content types and repeated parameters.
pub(super) fn form_request(
    headers: &HeaderMap,
    body: &Bytes,
    peer: SocketAddr,
) -> Result<TokenRequest, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !is_form {
        return Err(OAuthError::invalid_request(
            "send the parameters as application/x-www-form-urlencoded",
        ));
    }
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    TokenRequest::from_pairs(pairs, authorization, peer.ip().to_string())
}

pub(super) async fn snapshot(state: &AppState) -> Result<Arc<Snapshot>, OAuthError> {
    state.snapshot.get().await.map_err(|e| {
        tracing::error!(error = %e, "configuration unavailable");
        OAuthError::server_error("the configuration could not be loaded; try again")
    })
}

/// Which form-posting endpoint is being served.
#[derive(Clone, Copy)]
pub(super) enum FormEndpoint {
    /// `POST /application/o/token/` (and GitHub's `/login/oauth/access_token`).
    Token,
    /// `POST /application/o/revoke/`
    Revoke,
    /// `POST /application/o/introspect/`
    Introspect,
}

/// The `POST` route of a form endpoint: token, revoke and introspect take the same extractors
/// and differ only in what answers the parsed form.
pub(super) fn form_route(endpoint: FormEndpoint) -> MethodRouter<SharedState> {
    post(
        move |State(state): State<SharedState>,
              ConnectInfo(peer): ConnectInfo<SocketAddr>,
              headers: HeaderMap,
              body: Bytes| async move {
            handle_form(&state, endpoint, &headers, &body, peer).await
        },
    )
}

async fn handle_form(
    state: &AppState,
    endpoint: FormEndpoint,
    headers: &HeaderMap,
    body: &Bytes,
    peer: SocketAddr,
) -> Response {
    let result = async {
        let req = form_request(headers, body, peer)?;
        let snapshot = snapshot(state).await?;
        let ctx = state.grant_context(&snapshot);
        Ok(match endpoint {
            FormEndpoint::Token => serialised(&grant::token(&ctx, &req).await?),
            FormEndpoint::Revoke => serialised(&resource::revoke(&ctx, &req).await?),
            FormEndpoint::Introspect => serialised(&resource::introspect(&ctx, &req).await?),
        })
    }
    .await;
    result.unwrap_or_else(|e| oauth_error(&e))
}

fn bearer_error(err: &resource::BearerError) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut res = no_store(status.into_response());
    if let Ok(v) = HeaderValue::from_str(&err.challenge()) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

/// Finds the bearer token: header, or form body on POST; never the query string (RFC 6750 §2.3
/// is not offered: tokens in URLs leak into logs and Referer headers).
fn bearer(
    headers: &HeaderMap,
    query: &[(String, String)],
    body: Option<&Bytes>,
) -> Result<Option<String>, resource::BearerError> {
    let refuse = |d: &str| resource::BearerError {
        status: 400,
        error: "invalid_request",
        description: d.into(),
    };
    if query.iter().any(|(k, _)| k == "access_token") {
        return Err(refuse(
            "send the access token in the Authorization header, not the URL",
        ));
    }
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| {
            (h.len() > 7 && h[..7].eq_ignore_ascii_case("bearer "))
                .then(|| h[7..].trim().to_string())
        });
    let from_body = body.and_then(|b| {
        form_urlencoded::parse(b)
            .find(|(k, _)| k == "access_token")
            .map(|(_, v)| v.into_owned())
    });
    match (from_header, from_body) {
        (Some(_), Some(_)) => Err(refuse("send the access token once")),
        (Some(t), None) | (None, Some(t)) => Ok(Some(t)),
        (None, None) => Ok(None),
    }
}

async fn userinfo_inner(state: &AppState, token: Option<String>) -> Response {
    let snapshot = match state.snapshot.get().await {
        Ok(s) => s,
        Err(_) => return no_store(StatusCode::SERVICE_UNAVAILABLE.into_response()),
    };
    let ctx = state.grant_context(&snapshot);
    match resource::userinfo(&ctx, token.as_deref()).await {
        Ok(body) => ok_json(body),
        Err(e) => bearer_error(&e),
    }
}

/// `GET /application/o/userinfo/`
pub async fn userinfo_get(
    State(state): State<SharedState>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    match bearer(&headers, &query, None) {
        Ok(token) => userinfo_inner(&state, token).await,
        Err(e) => bearer_error(&e),
    }
}

/// `POST /application/o/userinfo/`
pub async fn userinfo_post(
    State(state): State<SharedState>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match bearer(&headers, &query, Some(&body)) {
        Ok(token) => userinfo_inner(&state, token).await,
        Err(e) => bearer_error(&e),
    }
}

/// GitHub clients send `Authorization: token …` as well as `Bearer …`.
fn github_token(headers: &HeaderMap) -> Option<String> {
    let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = h.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
        .then(|| rest.trim().to_string())
}

/// Which GitHub-compatible resource.
#[derive(Clone, Copy)]
enum GitHubResource {
    User,
    Emails,
    Teams,
}

async fn github(state: &AppState, headers: &HeaderMap, which: GitHubResource) -> Response {
    let snapshot = match state.snapshot.get().await {
        Ok(s) => s,
        Err(_) => return no_store(StatusCode::SERVICE_UNAVAILABLE.into_response()),
    };
    let ctx = state.grant_context(&snapshot);
    let token = github_token(headers);
    let result = match which {
        GitHubResource::User => crate::oauth::github::user(&ctx, token.as_deref()).await,
        GitHubResource::Emails => crate::oauth::github::emails(&ctx, token.as_deref()).await,
        GitHubResource::Teams => crate::oauth::github::teams(&ctx, token.as_deref()).await,
    };
    match result {
        Ok(body) => ok_json(body),
        Err(e) => bearer_error(&e),
    }
}

/// `GET /user` (GitHub compatibility).
pub async fn github_user(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    github(&state, &headers, GitHubResource::User).await
}

/// `GET /user/emails` (GitHub compatibility).
pub async fn github_emails(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    github(&state, &headers, GitHubResource::Emails).await
}

/// `GET /user/teams` (GitHub compatibility).
pub async fn github_teams(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    github(&state, &headers, GitHubResource::Teams).await
}
