//! The plain pages the OAuth endpoints show themselves (errors, redirects, form_post, the
//! device pages): the flow pages' shell and stylesheet ([`super::shell`]), their security
//! headers and session cookie.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::headers::security_headers;
use super::session::Session;
use super::{AppState, shell};
use crate::flows::lookup;

/// A page in the shared shell (the flow pages' stylesheet and the brand the request's `host`
/// picks) with a title and an already-escaped body.
pub async fn page(
    state: &AppState,
    host: Option<&str>,
    sess: Option<&Session>,
    status: StatusCode,
    title: &str,
    body: &str,
) -> Response {
    // An unreadable brand degrades to the unbranded page rather than failing the answer.
    let brand = lookup::brand_for_host(&state.ctx, host)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the brands");
            None
        });
    let html = shell::document(brand.as_ref(), title, body);
    let mut res = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    security_headers(state, sess, &mut res);
    res
}

/// A 302 to `to`, or an error page when `to` cannot be a header value.
pub async fn redirect(
    state: &AppState,
    host: Option<&str>,
    sess: Option<&Session>,
    to: &str,
) -> Response {
    let mut res = StatusCode::FOUND.into_response();
    match HeaderValue::from_str(to) {
        Ok(v) => {
            res.headers_mut().insert(header::LOCATION, v);
        }
        Err(_) => {
            return page(
                state,
                host,
                sess,
                StatusCode::BAD_REQUEST,
                "Redirect failed",
                "<p class=\"error\" role=\"alert\">The redirect URI cannot be used.</p>",
            )
            .await;
        }
    }
    security_headers(state, sess, &mut res);
    res
}

/// `scheme://host[:port]` of a URL, for CSP source lists.
pub fn origin_of(url: &str) -> String {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map(|i| after_scheme + i)
        .unwrap_or(url.len());
    url[..end].to_string()
}

/// Sets the page's Content-Security-Policy to let frames load from exactly these URLs'
/// origins (the sign-out pages that embed each application's front-channel logout).
pub fn allow_frames<'a>(res: &mut Response, urls: impl IntoIterator<Item = &'a str>) {
    let mut origins: Vec<String> = urls.into_iter().map(origin_of).collect();
    origins.sort();
    origins.dedup();
    let csp = HeaderValue::from_str(&format!(
        "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: https:; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; frame-src {}",
        origins.join(" ")
    ));
    if let Ok(csp) = csp {
        res.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
}
