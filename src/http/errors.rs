//! JSON error bodies for API routes.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

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
/// limit (413) — become JSON errors like every other answer there, and every answer carries
/// `Cache-Control: no-store` (RFC 6749 §5.1, SECURITY-CHECKLIST "Token endpoint").
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
        _ => res,
    };
    res.headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}
