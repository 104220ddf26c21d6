//! `/if/flow/<slug>/`: the flow pages. Each step's challenge is rendered by
//! [`super::challenge_html`]; every POST's CSRF token is checked (in constant time) before the
//! flow sees the answer.

use crate::flows::RequestInfo;
use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};

use super::AppState;
use super::SharedState;
use super::challenge_html::render_with_script;
use super::errors::HttpError;
use super::extract::{ClientIp, form_pairs};
use super::headers::{allow_script_nonce, security_headers};
use super::session::{self, Session};
use super::webauthn_html;
use crate::flows::executor::Start;
use crate::flows::{Challenge, ChallengeKind, Response, lookup};
use crate::oauth::session_step::{StepRequest, run_step};

fn action_url(slug: &str) -> String {
    format!("/if/flow/{slug}/")
}

async fn respond(
    state: &AppState,
    host: Option<&str>,
    sess: &Session,
    status: StatusCode,
    slug: &str,
    challenge: &Challenge,
) -> HttpResponse {
    let nonce = webauthn_html::needs_script(challenge).then(webauthn_html::new_nonce);
    let mut resp = if let ChallengeKind::Redirect { to } = &challenge.kind {
        (StatusCode::SEE_OTHER, [(header::LOCATION, to.clone())]).into_response()
    } else {
        // An unreadable brand degrades to the unbranded page rather than failing the step.
        let brand = lookup::brand_for_host(&state.ctx, host)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot read the brands");
                None
            });
        let html = render_with_script(
            brand.as_ref(),
            challenge,
            &sess.data.csrf,
            &action_url(slug),
            nonce.as_deref(),
        );
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response()
    };
    security_headers(state, Some(sess), &mut resp);
    if let Some(nonce) = &nonce {
        allow_script_nonce(&mut resp, nonce);
    }
    if let ChallengeKind::ProviderIframeLogout { logout_urls } = &challenge.kind {
        super::pages::allow_frames(&mut resp, logout_urls.iter().map(|f| f.url.as_str()));
    }
    resp
}

/// GET: the current challenge. `next` is kept only when it is a same-origin relative path.
pub async fn get_flow(
    State(state): State<SharedState>,
    Path(slug): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    ClientIp(ip): ClientIp,
    http_request: RequestInfo,
    mut sess: Session,
) -> Result<HttpResponse, HttpError> {
    let flow_token = q.get(crate::flows::flow_token::QUERY_KEY).cloned();
    let request = match flow_token {
        Some(key) => StepRequest::Resume(key),
        None => StepRequest::Show(Start {
            next: q.get("next").cloned(),
            query: q.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
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
    Ok(respond(
        &state,
        http_request.host(),
        &sess,
        StatusCode::OK,
        &slug,
        &step.challenge,
    )
    .await)
}

/// POST: a form submission. A missing or wrong CSRF token is refused (403) without touching
/// the flow.
pub async fn post_flow(
    State(state): State<SharedState>,
    Path(slug): Path<String>,
    ClientIp(ip): ClientIp,
    http_request: RequestInfo,
    mut sess: Session,
    body: Bytes,
) -> Result<HttpResponse, HttpError> {
    let mut response = Response::from_pairs(form_pairs(&body));
    let csrf = response.fields.remove("csrf");
    if !session::csrf_ok(&sess, csrf.as_deref()) {
        tracing::warn!(flow = %slug, "flow POST with a missing or wrong CSRF token");
        let request = StepRequest::Show(Start::default());
        let step = run_step(
            state.step_context(&http_request),
            &mut sess,
            &ip,
            &slug,
            request,
        )
        .await?;
        let c = step.challenge.with_error(
            "non_field_errors",
            "Your session expired or the form was stale; please try again.",
        );
        return Ok(respond(
            &state,
            http_request.host(),
            &sess,
            StatusCode::FORBIDDEN,
            &slug,
            &c,
        )
        .await);
    }
    let request = StepRequest::Answer(response);
    let step = run_step(
        state.step_context(&http_request),
        &mut sess,
        &ip,
        &slug,
        request,
    )
    .await?;
    Ok(respond(
        &state,
        http_request.host(),
        &sess,
        StatusCode::OK,
        &slug,
        &step.challenge,
    )
    .await)
}
