//! `/api/v3/flows/executor/<slug>/`: authentik's JSON challenge protocol over the same executor.
//! GET returns the current challenge; POST takes `{component, …fields}`. POST bodies must be
//! `application/json` (a cross-site form cannot send that without a CORS preflight, which is
//! never granted), and the session cookie is SameSite=Lax: together the CSRF defence here.

use crate::flows::RequestInfo;
use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};

use super::SharedState;
use super::errors::{ApiError, HttpError};
use super::extract::ClientIp;
use super::headers::{base_security_headers, security_headers};
use super::session::Session;
use super::{AppState, json_error};
use crate::flows::executor::Start;
use crate::flows::{Challenge, Response};
use crate::oauth::session_step::{StepRequest, run_step};

/// A parameter of the flow page's own query, which authentik's executor passes on as `query`.
fn from_query(q: &HashMap<String, String>, key: &str) -> Option<String> {
    let query = q.get("query")?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// The flow's own query parameters, which the JSON executor is given in its `query` parameter.
fn flow_query(q: &HashMap<String, String>) -> std::collections::BTreeMap<String, String> {
    q.get("query")
        .map(|query| {
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

fn challenge_json(state: &AppState, sess: &Session, challenge: &Challenge) -> HttpResponse {
    let mut resp = Json(challenge.to_json()).into_response();
    security_headers(state, Some(sess), &mut resp);
    resp
}

/// GET: the current challenge as JSON.
pub async fn get_challenge(
    State(state): State<SharedState>,
    Path(slug): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    ClientIp(ip): ClientIp,
    http_request: RequestInfo,
    sess: Result<Session, HttpError>,
) -> Result<HttpResponse, ApiError> {
    let mut sess = sess?;
    let flow_token = from_query(&q, crate::flows::flow_token::QUERY_KEY);
    let request = match flow_token {
        Some(key) => StepRequest::Resume(key),
        None => StepRequest::Show(Start {
            next: from_query(&q, "next"),
            query: flow_query(&q),
            ..Start::default()
        }),
    };
    let step = run_step(
        state.step_context(&http_request),
        &mut sess,
        &ip,
        &slug,
        request,
    )
    .await?;
    Ok(challenge_json(&state, &sess, &step.challenge))
}

/// Whether the body is declared `application/json`.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
}

/// POST: a JSON response to the current challenge.
pub async fn post_response(
    State(state): State<SharedState>,
    Path(slug): Path<String>,
    ClientIp(ip): ClientIp,
    http_request: RequestInfo,
    headers: HeaderMap,
    sess: Result<Session, HttpError>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    if !is_json(&headers) {
        let mut resp = json_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "send the response as application/json",
        );
        base_security_headers(&mut resp);
        return Ok(resp);
    }
    let mut sess = sess?;
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let request = StepRequest::Answer(Response::from_json(&value));
    let step = run_step(
        state.step_context(&http_request),
        &mut sess,
        &ip,
        &slug,
        request,
    )
    .await?;
    Ok(challenge_json(&state, &sess, &step.challenge))
}
