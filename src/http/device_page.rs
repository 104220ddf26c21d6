//! `/device`: the user side of the device authorization grant (RFC 8628 §3.3) as HTML pages in
//! the flow pages' shell and stylesheet. The steps (sign-in, code entry, the brand's device-code
//! flow, Approve / Deny — the one question, which is the consent —, the provider's authorization
//! flow) are the state machine [`crate::service::device::sign_in`]; this checks each POST's
//! CSRF token and renders the step the machine returns.

use crate::flows::RequestInfo;
use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::AppState;
use super::SharedState;
use super::challenge_html::permission_list;
use super::errors::HttpError;
use super::extract::ClientIp;
use super::pages::{page, redirect};
use super::session::{self, Session};
use crate::service::device::sign_in::{
    CodeRefusal, Confirmation, DEVICE_PATH, DeviceFailure, DeviceNext,
};

const DECIDE_PATH: &str = "/device/decide/";
const STALE: &str = "Your session expired or the form was stale; please try again.";
const EXPIRED: &str = "This device sign-in is not in progress or has expired: start again at \
                       /device with the code your device shows.";
const NOT_CONFIGURED: &str = "No device-code flow is set on this site's brand. An administrator \
     can set one in the console (Brands tab, field \"Device code flow\") or apply \
     fixtures/blueprints/default/flow-device-code.yaml.";

async fn message(
    state: &AppState,
    host: Option<&str>,
    sess: &Session,
    status: StatusCode,
    title: &str,
    msg: &str,
) -> Response {
    let class = if status.is_success() { "info" } else { "error" };
    page(
        state,
        host,
        Some(sess),
        status,
        title,
        &format!("<p class=\"{class}\" role=\"alert\">{}</p>", text(msg)),
    )
    .await
}

/// The code entry form, optionally with an error under the title.
async fn entry_form(
    state: &AppState,
    host: Option<&str>,
    sess: &Session,
    status: StatusCode,
    code: &str,
    error: Option<&str>,
) -> Response {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", text(e)))
        .unwrap_or_default();
    let body = format!(
        "<p>Enter the code your device shows.</p>{error}<form method=\"post\" action=\"{DEVICE_PATH}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><label for=\"code\">Code</label> \
         <input id=\"code\" name=\"code\" value=\"{code}\" autocomplete=\"off\" \
         autocapitalize=\"characters\" spellcheck=\"false\" required autofocus> \
         <button type=\"submit\">Continue</button></form>",
        csrf = attr(&sess.data.csrf),
        code = attr(code),
    );
    page(state, host, Some(sess), status, "Sign in a device", &body).await
}

/// Approve or Deny, naming the application, what its scopes grant (each scope mapping's
/// description, as the consent page lists them), the signed-in user and the code: the one
/// question a device approval asks.
async fn confirm_page(
    state: &AppState,
    host: Option<&str>,
    sess: &Session,
    c: &Confirmation,
) -> Response {
    let list = permission_list(&c.device.permissions);
    let grants = if list.is_empty() {
        "<p>It asks for no access beyond signing you in.</p>".to_string()
    } else {
        format!("<p>The application asks for:</p>{list}")
    };
    let scopes = if c.device.scopes.is_empty() {
        String::new()
    } else {
        format!(
            "<p class=\"help\">Scopes: <code class=\"scopes\">{}</code></p>",
            text(&c.device.scopes.join(" "))
        )
    };
    let body = format!(
        "<p id=\"header-text\">A device asks to sign in to <strong class=\"application\">{app}</strong> \
         as <strong class=\"user\">{user}</strong>.</p>{grants}{scopes}\
         <p>Code: <code class=\"user-code\">{code}</code>. Approve only if you started this sign-in \
         yourself and your device shows this code.</p>\
         <form method=\"post\" action=\"{DECIDE_PATH}\"><input type=\"hidden\" name=\"csrf\" \
         value=\"{csrf}\"><input type=\"hidden\" name=\"rid\" value=\"{rid}\">\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
         <button type=\"submit\" class=\"secondary\" name=\"decision\" value=\"deny\">Deny</button>\
         </form>",
        app = text(&c.device.application_name),
        user = text(&c.username),
        code = text(&c.device.user_code),
        csrf = attr(&sess.data.csrf),
        rid = attr(&c.rid),
    );
    page(
        state,
        host,
        Some(sess),
        StatusCode::OK,
        "Sign in a device",
        &body,
    )
    .await
}

/// What a failed sign-in says.
fn failure_text(f: DeviceFailure) -> &'static str {
    match f {
        DeviceFailure::NotInProgress => EXPIRED,
        DeviceFailure::StepIncomplete => {
            "This step is not complete: finish the sign-in page, or start again at /device."
        }
        DeviceFailure::CodeGone => {
            "The code has expired or was already used: start the sign-in again on your device."
        }
        DeviceFailure::NoAuthorizationFlow => {
            "The application's provider has no authorization flow configured."
        }
        DeviceFailure::NoDecision => "Choose Approve or Deny.",
    }
}

/// The entry form again, saying why the typed `code` was refused.
async fn refused(
    state: &AppState,
    host: Option<&str>,
    sess: &Session,
    code: &str,
    why: CodeRefusal,
) -> Response {
    match why {
        CodeRefusal::Throttled { retry_after } => {
            let msg = format!("Too many attempts; try again in {retry_after} seconds.");
            let status = StatusCode::TOO_MANY_REQUESTS;
            let mut res = entry_form(state, host, sess, status, code, Some(&msg)).await;
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        CodeRefusal::Invalid => {
            let why = "Invalid code. Check the code on your device and type it again.";
            entry_form(state, host, sess, StatusCode::BAD_REQUEST, code, Some(why)).await
        }
    }
}

/// A step that ends on a message: its status, title and text.
fn outcome(next: &DeviceNext) -> Option<(StatusCode, &'static str, String)> {
    let (status, title, msg) = match next {
        DeviceNext::NotConfigured => (
            StatusCode::NOT_FOUND,
            "Device sign-in is not configured",
            NOT_CONFIGURED.to_string(),
        ),
        DeviceNext::NoAuthenticationFlow => (
            StatusCode::BAD_REQUEST,
            "Device sign-in failed",
            "No authentication flow is configured: set one on this site's brand.".to_string(),
        ),
        DeviceNext::Stale => (
            StatusCode::FORBIDDEN,
            "Device sign-in failed",
            STALE.to_string(),
        ),
        DeviceNext::Approved { application_name } => (
            StatusCode::OK,
            "Device signed in",
            format!(
                "Your device is signed in to {application_name}. You can close this window and \
                 return to it."
            ),
        ),
        DeviceNext::UserDenied => (
            StatusCode::OK,
            "Device not signed in",
            "You denied the request; the device was not signed in.".to_string(),
        ),
        DeviceNext::NoAccess => (
            StatusCode::FORBIDDEN,
            "Access denied",
            "You do not have access to this application.".to_string(),
        ),
        DeviceNext::FlowDenied(msg) => (StatusCode::FORBIDDEN, "Access denied", msg.clone()),
        DeviceNext::Failed(f) => (
            StatusCode::BAD_REQUEST,
            "Device sign-in failed",
            failure_text(*f).to_string(),
        ),
        DeviceNext::Redirect(_)
        | DeviceNext::EnterCode
        | DeviceNext::CodeRefused(_)
        | DeviceNext::Confirm(_) => return None,
    };
    Some((status, title, msg))
}

/// Renders the machine's next step; `code` is what the entry form shows.
async fn render(
    state: &AppState,
    host: Option<&str>,
    sess: &Session,
    next: DeviceNext,
    code: &str,
) -> Response {
    if let Some((status, title, msg)) = outcome(&next) {
        return message(state, host, sess, status, title, &msg).await;
    }
    match next {
        DeviceNext::Redirect(to) => redirect(state, host, Some(sess), &to).await,
        DeviceNext::CodeRefused(why) => refused(state, host, sess, code, why).await,
        DeviceNext::Confirm(c) => confirm_page(state, host, sess, &c).await,
        // EnterCode (every other step is a message, above).
        _ => entry_form(state, host, sess, StatusCode::OK, code, None).await,
    }
}

fn form(body: &Bytes) -> BTreeMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// `GET /device[?code=…]`: the code entry form (the code from `verification_uri_complete`
/// filled in, for the user to compare with the device), after signing in.
pub async fn entry_get(
    State(state): State<SharedState>,
    http_request: RequestInfo,
    mut sess: Session,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, HttpError> {
    let code = q.get("code").map(String::as_str).unwrap_or("");
    let next = state
        .device_sign_in(&http_request)
        .open(&mut sess, code)
        .await?;
    Ok(render(&state, http_request.host(), &sess, next, code).await)
}

/// `POST /device`: checks the typed code (throttled per IP and session) and starts the steps.
pub async fn entry_post(
    State(state): State<SharedState>,
    ClientIp(ip): ClientIp,
    http_request: RequestInfo,
    mut sess: Session,
    body: Bytes,
) -> Result<Response, HttpError> {
    let f = form(&body);
    let typed = f.get("code").map(String::as_str).unwrap_or("");
    let csrf_ok = session::csrf_ok(&sess, f.get("csrf").map(String::as_str));
    let machine = state.device_sign_in(&http_request);
    Ok(
        match machine.submit_code(&mut sess, &ip, typed, csrf_ok).await? {
            DeviceNext::Stale => {
                tracing::warn!("device code POST with a missing or wrong CSRF token");
                entry_form(
                    &state,
                    http_request.host(),
                    &sess,
                    StatusCode::FORBIDDEN,
                    typed,
                    Some(STALE),
                )
                .await
            }
            next => render(&state, http_request.host(), &sess, next, typed).await,
        },
    )
}

/// `GET /device/continue/?rid=…`: where the device-code and authorization flows return.
pub async fn continue_get(
    State(state): State<SharedState>,
    ClientIp(ip): ClientIp,
    http_request: RequestInfo,
    mut sess: Session,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, HttpError> {
    let rid = q.get("rid").map(String::as_str);
    let next = state
        .device_sign_in(&http_request)
        .resume(&mut sess, &ip, rid)
        .await?;
    Ok(render(&state, http_request.host(), &sess, next, "").await)
}

/// `POST /device/decide/`: Approve (runs the authorization flow, then approves) or Deny.
pub async fn decide_post(
    State(state): State<SharedState>,
    ClientIp(ip): ClientIp,
    http_request: RequestInfo,
    mut sess: Session,
    body: Bytes,
) -> Result<Response, HttpError> {
    let f = form(&body);
    let get = |k: &str| f.get(k).map(String::as_str);
    let csrf_ok = session::csrf_ok(&sess, get("csrf"));
    let machine = state.device_sign_in(&http_request);
    let next = machine
        .decide(&mut sess, &ip, get("rid"), get("decision"), csrf_ok)
        .await?;
    if next == DeviceNext::Stale {
        tracing::warn!("device decision POST with a missing or wrong CSRF token");
    }
    Ok(render(&state, http_request.host(), &sess, next, "").await)
}
