//! `/application/o/<slug>/end-session/` (GET and POST): ends the user's session for real, then
//! sends the browser to the registered `post_logout_redirect_uri` with `state`, or shows a page.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use serde_json::json;

use super::AppState;
use super::flow_common::security_headers;
use super::pages;
use super::session::{self, Session};
use crate::context::EventSubject;
use crate::oauth::end_session;

fn page(
    state: &AppState,
    sess: Option<&Session>,
    status: StatusCode,
    title: &str,
    msg: &str,
) -> Response {
    pages::page(state, sess, status, title, &format!("<p>{}</p>", text(msg)))
}

/// The sign-out page when front-channel relying parties must be told: each logout URL in a
/// hidden iframe (the CSP allows exactly their origins as frame sources), then a link on to the
/// client when it gave one.
fn frontchannel_page(
    state: &AppState,
    sess: &Session,
    app: &str,
    frames: &[String],
    next: Option<&str>,
) -> Response {
    let iframes = pages::logout_iframes(frames.iter().map(String::as_str));
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
    let mut res = pages::page(state, Some(sess), StatusCode::OK, "Signed out", &body);
    if let Some(csp) = pages::frame_csp(frames.iter().map(String::as_str)) {
        res.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    res
}

/// GET.
pub async fn end_session_get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let q = query.unwrap_or_default();
    end_session(
        &state,
        &peer.ip().to_string(),
        &slug,
        &headers,
        q.as_bytes(),
    )
    .await
}

/// POST (form-encoded).
pub async fn end_session_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    end_session(&state, &peer.ip().to_string(), &slug, &headers, &body).await
}

async fn end_session(
    state: &AppState,
    ip: &str,
    slug: &str,
    headers: &HeaderMap,
    raw: &[u8],
) -> Response {
    let params: Vec<(String, String)> = form_urlencoded::parse(raw)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let Ok(snapshot) = state.snapshot.get().await else {
        return page(
            state,
            None,
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again",
            "The configuration could not be loaded.",
        );
    };
    let Some(entry) = snapshot.by_application_slug(slug) else {
        return page(
            state,
            None,
            StatusCode::NOT_FOUND,
            "Unknown application",
            "No such application.",
        );
    };
    let public_url = state.ctx.config().public_url.clone();
    if let Some(hint) = get("id_token_hint")
        && let Err(e) = end_session::verify_hint(&public_url, entry, hint)
    {
        return page(
            state,
            None,
            StatusCode::BAD_REQUEST,
            "Sign-out refused",
            &e.to_string(),
        );
    }
    let target = match get("post_logout_redirect_uri") {
        Some(uri) => match end_session::check_redirect(entry, uri) {
            Ok(()) => Some(uri.to_string()),
            Err(e) => {
                return page(
                    state,
                    None,
                    StatusCode::BAD_REQUEST,
                    "Sign-out refused",
                    &e.to_string(),
                );
            }
        },
        None => None,
    };
    let mut sess = match session::load(&state.ctx, headers, ip).await {
        Ok(s) => s,
        Err(_) => {
            return page(
                state,
                None,
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "The session could not be loaded.",
            );
        }
    };
    // Front-channel parties are found before the session is gone (by the tokens it holds).
    let frames = match &sess.user_id {
        Some(_) => {
            let sid = crate::crypto::secrets::digest(&sess.row_id);
            crate::oauth::logout::frontchannel_urls(&state.ctx, &snapshot, &sid)
                .await
                .into_iter()
                .map(|f| f.url)
                .collect()
        }
        None => Vec::new(),
    };
    if let Some(user_id) = sess.user_id.clone() {
        if session::logout(&state.ctx, &mut sess, ip).await.is_err() {
            return page(
                state,
                None,
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "The session could not be ended.",
            );
        }
        let subject = EventSubject {
            user_id: Some(user_id),
            client_ip: ip.to_string(),
            app: slug.to_string(),
            ..Default::default()
        };
        if let Err(e) = state
            .ctx
            .record_event("logout", subject, json!({ "via": "end_session" }))
            .await
        {
            tracing::warn!(error = %e, "cannot record logout");
        }
    }
    let target = target.map(|uri| match get("state") {
        Some(s) => {
            let sep = if uri.contains('?') { '&' } else { '?' };
            let enc: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("state", s)
                .finish();
            format!("{uri}{sep}{enc}")
        }
        None => uri,
    });
    if !frames.is_empty() {
        let app = entry
            .application
            .as_ref()
            .map(|a| a.name.clone())
            .unwrap_or_default();
        return frontchannel_page(state, &sess, &app, &frames, target.as_deref());
    }
    match target {
        Some(to) => {
            let mut res = StatusCode::FOUND.into_response();
            match HeaderValue::from_str(&to) {
                Ok(v) => {
                    res.headers_mut().insert(header::LOCATION, v);
                }
                Err(_) => {
                    return page(
                        state,
                        Some(&sess),
                        StatusCode::BAD_REQUEST,
                        "Sign-out",
                        "The redirect URI cannot be used.",
                    );
                }
            }
            security_headers(state, Some(&sess), &mut res);
            res
        }
        None => {
            let app = entry
                .application
                .as_ref()
                .map(|a| a.name.clone())
                .unwrap_or_default();
            page(
                state,
                Some(&sess),
                StatusCode::OK,
                "Signed out",
                &format!("You have signed out of {app}."),
            )
        }
    }
}
