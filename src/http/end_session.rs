//! `/application/o/<slug>/end-session/` (GET and POST): ends the user's session for real, then
//! sends the browser to the registered `post_logout_redirect_uri` with `state`, or shows a page.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::AppState;
use super::SharedState;
use super::errors::HttpError;
use super::extract::{ClientIp, RequestHost, form_pairs};
use super::headers::security_headers;
use super::pages;
use super::session::Session;
use crate::oauth::end_session;

async fn page(
    state: &AppState,
    host: Option<&str>,
    sess: Option<&Session>,
    status: StatusCode,
    title: &str,
    msg: &str,
) -> Response {
    pages::page(
        state,
        host,
        sess,
        status,
        title,
        &format!("<p>{}</p>", text(msg)),
    )
    .await
}

/// The sign-out page when front-channel relying parties must be told: each logout URL in a
/// hidden iframe (the CSP allows exactly their origins as frame sources), then a link on to the
/// client when it gave one.
async fn frontchannel_page(
    state: &AppState,
    host: Option<&str>,
    sess: &Session,
    app: &str,
    frames: &[String],
    next: Option<&str>,
) -> Response {
    let iframes = super::challenge_html::logout_iframes(frames.iter().map(String::as_str));
    let next = next
        .map(|n| {
            format!(
                "<p><a class=\"continue\" href=\"{}\">Continue</a></p>",
                attr(n)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<p>You have signed out of {}.</p>{iframes}{next}",
        text(app)
    );
    let mut res = pages::page(state, host, Some(sess), StatusCode::OK, "Signed out", &body).await;
    pages::allow_frames(&mut res, frames.iter().map(String::as_str));
    res
}

/// GET.
pub async fn end_session_get(
    State(state): State<SharedState>,
    Path(slug): Path<String>,
    ClientIp(ip): ClientIp,
    host: RequestHost,
    sess: Session,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    let params = form_pairs(query.unwrap_or_default().as_bytes());
    end_session(&state, host.get(), &ip, &slug, sess, &params).await
}

/// POST (form-encoded).
pub async fn end_session_post(
    State(state): State<SharedState>,
    Path(slug): Path<String>,
    ClientIp(ip): ClientIp,
    host: RequestHost,
    sess: Session,
    body: Bytes,
) -> Result<Response, HttpError> {
    end_session(&state, host.get(), &ip, &slug, sess, &form_pairs(&body)).await
}

async fn end_session(
    state: &AppState,
    host: Option<&str>,
    ip: &str,
    slug: &str,
    mut sess: Session,
    params: &[(String, String)],
) -> Result<Response, HttpError> {
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let Ok(snapshot) = state.snapshot.get().await else {
        return Ok(page(
            state,
            host,
            None,
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again",
            "The configuration could not be loaded.",
        )
        .await);
    };
    let Some(entry) = snapshot.by_application_slug(slug) else {
        return Ok(page(
            state,
            host,
            None,
            StatusCode::NOT_FOUND,
            "Unknown application",
            "No such application.",
        )
        .await);
    };
    let target = match end_session::logout_target(state.ctx.public_url(), entry, get) {
        Ok(t) => t,
        Err(e) => {
            let status = StatusCode::BAD_REQUEST;
            return Ok(page(
                state,
                host,
                None,
                status,
                "Sign-out refused",
                &e.to_string(),
            )
            .await);
        }
    };
    let frames =
        end_session::end_browser_session(&state.ctx, &snapshot, &mut sess, ip, slug).await?;
    let app = entry
        .application
        .as_ref()
        .map(|a| a.name.clone())
        .unwrap_or_default();
    if !frames.is_empty() {
        return Ok(frontchannel_page(state, host, &sess, &app, &frames, target.as_deref()).await);
    }
    Ok(match target {
        Some(to) => signed_out_redirect(state, host, &sess, &to).await,
        None => {
            page(
                state,
                host,
                Some(&sess),
                StatusCode::OK,
                "Signed out",
                &format!("You have signed out of {app}."),
            )
            .await
        }
    })
}

/// The 302 on to the client's registered logout URI.
async fn signed_out_redirect(
    state: &AppState,
    host: Option<&str>,
    sess: &Session,
    to: &str,
) -> Response {
    let Ok(location) = HeaderValue::from_str(to) else {
        return page(
            state,
            host,
            Some(sess),
            StatusCode::BAD_REQUEST,
            "Sign-out",
            "The redirect URI cannot be used.",
        )
        .await;
    };
    let mut res = StatusCode::FOUND.into_response();
    res.headers_mut().insert(header::LOCATION, location);
    security_headers(state, Some(sess), &mut res);
    res
}
