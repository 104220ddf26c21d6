//! `/application/o/authorize/`: the pages of the authorization endpoint. The state machine
//! (validation, sign-in, policies, the authorization flow, minting) is
//! [`crate::oauth::authorize_flow`]; this renders the step it returns: an error page, a redirect
//! to a flow page, or the answer to the client (a redirect or a form post).

use crate::flows::RequestInfo;
use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::AppState;
use super::SharedState;
use super::errors::HttpError;
use super::extract::{ClientIp, form_pairs};
use super::pages::{origin_of, page, redirect};
use super::session::Session;
use crate::oauth::authorize_flow::{self, AuthorizeNext, ClientResponse};

async fn error_page(
    state: &AppState,
    host: Option<&str>,
    sess: Option<&Session>,
    message: &str,
) -> Response {
    page(
        state,
        host,
        sess,
        StatusCode::BAD_REQUEST,
        "Authorization failed",
        &format!("<p class=\"error\" role=\"alert\">{}</p>", text(message)),
    )
    .await
}

/// authentik's "Permission denied" page: the application's policies refused the user; their
/// messages (`ak_message`) say why.
pub(super) async fn denied_page(
    state: &AppState,
    host: Option<&str>,
    sess: &Session,
    messages: &[String],
) -> Response {
    let mut body = String::from("<p class=\"error\" role=\"alert\">Request has been denied.</p>");
    for m in messages {
        body.push_str(&format!("<p class=\"message\">{}</p>", text(m)));
    }
    page(
        state,
        host,
        Some(sess),
        StatusCode::FORBIDDEN,
        "Permission denied",
        &body,
    )
    .await
}

async fn to_client(
    state: &AppState,
    host: Option<&str>,
    sess: Option<&Session>,
    response: ClientResponse,
) -> Response {
    match response {
        ClientResponse::Redirect(url) => redirect(state, host, sess, &url).await,
        ClientResponse::FormPost { action, fields } => {
            // Works without JavaScript (the CSP forbids scripts): one click continues.
            let mut inputs = String::new();
            for (k, v) in &fields {
                inputs.push_str(&format!(
                    "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                    attr(k),
                    attr(v)
                ));
            }
            let body = format!(
                "<form method=\"post\" action=\"{}\">{inputs}<button type=\"submit\">Continue to \
                 the application</button></form>",
                attr(&action)
            );
            let mut res = page(state, host, sess, StatusCode::OK, "Redirecting", &body).await;
            // The form posts to the client's origin; the brand's logo may load.
            let csp = format!(
                "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data: https:; \
                 form-action {}; frame-ancestors 'none'",
                origin_of(&action)
            );
            if let Ok(v) = HeaderValue::from_str(&csp) {
                res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
            res
        }
    }
}

/// Renders the state machine's next step.
async fn answer(
    state: &AppState,
    host: Option<&str>,
    sess: &Session,
    next: AuthorizeNext,
) -> Response {
    match next {
        AuthorizeNext::ErrorPage(message) => error_page(state, host, Some(sess), &message).await,
        AuthorizeNext::Denied(messages) => denied_page(state, host, sess, &messages).await,
        AuthorizeNext::Redirect(to) => redirect(state, host, Some(sess), &to).await,
        AuthorizeNext::Client(response) => to_client(state, host, Some(sess), response).await,
    }
}

/// `GET /application/o/authorize/`
pub async fn authorize_get(
    State(state): State<SharedState>,
    ClientIp(ip): ClientIp,
    http_request: RequestInfo,
    mut sess: Session,
    RawQuery(query): RawQuery,
) -> Result<Response, HttpError> {
    let pairs = form_pairs(query.unwrap_or_default().as_bytes());
    let next = authorize_flow::authorize(
        state.authorize_context(&http_request),
        &mut sess,
        &ip,
        pairs,
    )
    .await?;
    Ok(answer(&state, http_request.host(), &sess, next).await)
}

/// `POST /application/o/authorize/` (form-encoded, OIDC Core §3.1.2.1).
pub async fn authorize_post(
    State(state): State<SharedState>,
    ClientIp(ip): ClientIp,
    http_request: RequestInfo,
    mut sess: Session,
    body: Bytes,
) -> Result<Response, HttpError> {
    let pairs = form_pairs(&body);
    let next = authorize_flow::authorize(
        state.authorize_context(&http_request),
        &mut sess,
        &ip,
        pairs,
    )
    .await?;
    Ok(answer(&state, http_request.host(), &sess, next).await)
}

/// `GET /application/o/authorize/done/?rid=…`: where the authorization flow returns.
pub async fn authorize_done(
    State(state): State<SharedState>,
    ClientIp(ip): ClientIp,
    http_request: RequestInfo,
    mut sess: Session,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, HttpError> {
    let rid = q.get("rid").map(String::as_str);
    let next =
        authorize_flow::resume(state.authorize_context(&http_request), &mut sess, &ip, rid).await?;
    Ok(answer(&state, http_request.host(), &sess, next).await)
}
