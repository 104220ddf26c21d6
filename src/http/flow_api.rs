//! `/api/v3/flows/executor/<slug>/`: authentik's JSON challenge protocol over the same executor.
//! GET returns the current challenge; POST takes `{component, …fields}`. POST bodies must be
//! `application/json` (a cross-site form cannot send that without a CORS preflight, which is
//! never granted), and the session cookie is SameSite=Lax: together the CSRF defence here.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};

use super::flow_common::{Action, client_ip, execute, security_headers};
use super::session;
use super::{AppState, json_error};
use crate::flows::executor::Start;
use crate::flows::{FlowError, Response};

fn flow_error(state: &AppState, err: &FlowError) -> HttpResponse {
    let mut resp = match err {
        FlowError::NotFound(_) => json_error(StatusCode::NOT_FOUND, "not_found", "no such flow"),
        other => {
            tracing::error!(error = %other, "flow step failed");
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "flow step failed",
            )
        }
    };
    security_headers(state, None, &mut resp);
    resp
}

fn next_from_query(q: &HashMap<String, String>) -> Option<String> {
    let query = q.get("query")?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
}

/// GET: the current challenge as JSON.
pub async fn get_challenge(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    info: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> HttpResponse {
    let ip = client_ip(info);
    let mut sess = match session::load(&state.ctx, &headers, &ip).await {
        Ok(s) => s,
        Err(e) => return flow_error(&state, &e.into()),
    };
    let start = Start {
        next: next_from_query(&q),
        application: None,
        extra: Default::default(),
        allow_empty: false,
    };
    match execute(&state, &mut sess, &ip, &slug, Action::Get(start)).await {
        Ok(step) => {
            let mut resp = Json(step.challenge.to_json()).into_response();
            security_headers(&state, Some(&sess), &mut resp);
            resp
        }
        Err(e) => flow_error(&state, &e),
    }
}

/// POST: a JSON response to the current challenge.
pub async fn post_response(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    info: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResponse {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !is_json {
        let mut resp = json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "send the response as application/json",
        );
        security_headers(&state, None, &mut resp);
        return resp;
    }
    let ip = client_ip(info);
    let mut sess = match session::load(&state.ctx, &headers, &ip).await {
        Ok(s) => s,
        Err(e) => return flow_error(&state, &e.into()),
    };
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let response = Response::from_json(&value);
    match execute(&state, &mut sess, &ip, &slug, Action::Post(response)).await {
        Ok(step) => {
            let mut resp = Json(step.challenge.to_json()).into_response();
            security_headers(&state, Some(&sess), &mut resp);
            resp
        }
        Err(e) => flow_error(&state, &e),
    }
}
