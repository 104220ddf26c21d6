//! `/application/o/<slug>/end-session/` (GET and POST): ends the user's session for real, then
//! sends the browser to the registered `post_logout_redirect_uri` with `state`, or shows a page.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use html_escape::encode_text as text;
use serde_json::json;

use super::AppState;
use super::flow_common::security_headers;
use super::session::{self, Session};
use crate::oauth::end_session;
use crate::service::events::EventSubject;

fn page(
    state: &AppState,
    sess: Option<&Session>,
    status: StatusCode,
    title: &str,
    msg: &str,
) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body><main><h1>{t}</h1><p>{m}</p></main></body></html>",
        t = text(title),
        m = text(msg)
    );
    let mut res = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    security_headers(state, sess, &mut res);
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
    let public_url = state.service.config().public_url.clone();
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
    let mut sess = match session::load(&state.service, headers, ip).await {
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
    if let Some(user_id) = sess.user_id.clone() {
        if session::logout(&state.service, &mut sess, ip)
            .await
            .is_err()
        {
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
            .service
            .record_event("logout", subject, json!({ "via": "end_session" }))
            .await
        {
            tracing::warn!(error = %e, "cannot record logout");
        }
    }
    match target {
        Some(uri) => {
            let mut to = uri;
            if let Some(s) = get("state") {
                let sep = if to.contains('?') { '&' } else { '?' };
                let enc: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair("state", s)
                    .finish();
                to = format!("{to}{sep}{enc}");
            }
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
