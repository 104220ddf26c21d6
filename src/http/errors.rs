//! How failures are answered: [`HttpError`] for the browser pages (an HTML error page) and
//! [`ApiError`], the same failures for the flow executor's JSON API; JSON error bodies for the
//! other API routes. The OAuth JSON endpoints answer RFC 6749 errors
//! ([`crate::oauth::errors::OAuthError`]) instead.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::challenge_html;
use super::headers::base_security_headers;
use crate::flows::{Challenge, ChallengeKind, FlowError};
use crate::service::device::DeviceError;
use crate::store::StoreError;

/// Why a page or a flow API call could not be answered: the store or the flow engine failed
/// (a session that could not be loaded or saved included), or there is no such flow. Handlers
/// return it with `?`; refusals the user can act on are pages the handler renders itself.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The store failed (a lost session write included).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A flow step failed.
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// A device sign-in step failed (the store or a flow).
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// A use-case the pages call failed (the Agent's interactive sign-in).
    #[error(transparent)]
    Service(#[from] crate::service::ServiceError),
}

impl HttpError {
    /// No such flow: 404. Anything else is the server's fault: logged, 500 "try again".
    fn is_not_found(&self) -> bool {
        matches!(self, HttpError::Flow(FlowError::NotFound(_)))
    }

    fn log(&self) {
        if !self.is_not_found() {
            tracing::error!(error = %self, "request failed");
        }
    }
}

/// An error page in the flow pages' layout, with the security headers and no session cookie.
impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        self.log();
        let (status, msg) = if self.is_not_found() {
            (StatusCode::NOT_FOUND, "This flow does not exist.")
        } else {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong; try again.",
            )
        };
        let c = Challenge::new(
            ChallengeKind::AccessDenied {
                error_message: msg.into(),
            },
            "Error",
            "",
        );
        let html = challenge_html::render(None, &c, "", "/");
        let mut resp = (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response();
        base_security_headers(&mut resp);
        resp
    }
}

/// [`HttpError`] answered as JSON, for the flow executor API.
#[derive(Debug)]
pub struct ApiError(pub HttpError);

impl From<HttpError> for ApiError {
    fn from(e: HttpError) -> Self {
        Self(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self(e.into())
    }
}

impl From<FlowError> for ApiError {
    fn from(e: FlowError) -> Self {
        Self(e.into())
    }
}

/// `not_found` (404) or `server_error` (500), with the security headers.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.log();
        let mut resp = if self.0.is_not_found() {
            json_error(StatusCode::NOT_FOUND, "not_found", "no such flow")
        } else {
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "flow step failed",
            )
        };
        base_security_headers(&mut resp);
        resp
    }
}

/// A JSON error response with an error code and a human description.
pub fn json_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// Anything not routed.
pub async fn not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// For the OAuth JSON endpoints (token, revoke, introspect, device, userinfo): the answers axum
/// gives before a handler runs — a method the route does not take (405), a body over the size
/// limit (413) or that cannot be read (400), a request not finished in time (408) — become JSON
/// errors like every other answer there, and every answer carries
/// `Cache-Control: no-store` (RFC 6749 §5.1, docs/SECURITY.md "Token endpoint").
pub async fn oauth_json_answers(res: Response) -> Response {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let mut res = match res.status() {
        StatusCode::METHOD_NOT_ALLOWED if !is_json => {
            let allow = res.headers().get(header::ALLOW).cloned();
            let methods = allow
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .unwrap_or("POST")
                .to_string();
            let mut out = json_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                &format!("this endpoint takes {methods}"),
            );
            if let Some(a) = allow {
                out.headers_mut().insert(header::ALLOW, a);
            }
            out
        }
        StatusCode::PAYLOAD_TOO_LARGE if !is_json => json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "the request body is too large",
        ),
        StatusCode::REQUEST_TIMEOUT if !is_json => json_error(
            StatusCode::REQUEST_TIMEOUT,
            "invalid_request",
            "the request was not completed in time; send it again",
        ),
        // A body that cannot be read (a malformed chunked encoding, a connection cut short).
        status @ (StatusCode::BAD_REQUEST | StatusCode::LENGTH_REQUIRED) if !is_json => json_error(
            status,
            "invalid_request",
            "the request body could not be read; send a complete form body",
        ),
        _ => res,
    };
    res.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}
