//! `/device`: the user side of the device authorization grant (RFC 8628 §3.3) as HTML pages.
//!
//! Sign in (the brand's authentication flow) → enter the user code → the brand's
//! device-code flow → a page naming the application, the scopes and the user, with Approve and
//! Deny → the provider's authorization flow (its consent stage) → the code is approved. Each
//! step is parked in the session under a random id, as the authorize endpoint parks its
//! requests, and every POST carries the session's CSRF token.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use serde_json::json;

use super::AppState;
use super::flow_common::{
    Action, OAUTH_REQUEST_KEY, authentication_flow, default_brand, execute, flow_slug,
};
use super::pages::{page, redirect};
use super::session::{self, PendingAuthorization, Session};
use crate::crypto::secrets;
use crate::flows::executor::Start;
use crate::flows::{ChallengeKind, FlowError};
use crate::service::device::{DeviceError, PendingDevice, Requester};
use crate::store;

const DEVICE_PATH: &str = "/device";
const CONTINUE_PATH: &str = "/device/continue/";
const DECIDE_PATH: &str = "/device/decide/";
/// How long a parked device sign-in waits (the default device-code lifetime).
const PENDING_LIFETIME: i64 = 600;
const CODE_KEY: &str = "device_user_code";
const STEP_KEY: &str = "device_step";

/// Where a parked device sign-in stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The brand's device-code flow is running.
    DeviceFlow,
    /// Waiting for Approve / Deny.
    Confirm,
    /// The provider's authorization flow (consent) is running.
    Consent,
}

impl Step {
    fn as_str(self) -> &'static str {
        match self {
            Step::DeviceFlow => "device_flow",
            Step::Confirm => "confirm",
            Step::Consent => "consent",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Step::DeviceFlow, Step::Confirm, Step::Consent]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A device sign-in parked in the session.
struct Parked {
    rid: String,
    user_code: String,
    step: Step,
}

impl Parked {
    fn load(state: &AppState, sess: &Session, rid: &str) -> Option<Self> {
        let p = sess.data.oauth_pending.get(rid)?;
        if state.ctx.now() - p.created_at >= PENDING_LIFETIME {
            return None;
        }
        let get = |k: &str| {
            p.params
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        Some(Self {
            rid: rid.to_string(),
            user_code: get(CODE_KEY)?,
            step: Step::parse(&get(STEP_KEY)?)?,
        })
    }

    fn store(&self, state: &AppState, sess: &mut Session) {
        let now = state.ctx.now();
        sess.data
            .oauth_pending
            .retain(|_, p| now - p.created_at < session::PARKED_LIFETIME);
        let created_at = sess
            .data
            .oauth_pending
            .get(&self.rid)
            .map_or(now, |p| p.created_at);
        sess.data.oauth_pending.insert(
            self.rid.clone(),
            PendingAuthorization {
                params: vec![
                    (CODE_KEY.into(), self.user_code.clone()),
                    (STEP_KEY.into(), self.step.as_str().into()),
                ],
                created_at,
            },
        );
    }

    fn forget(&self, sess: &mut Session) {
        sess.data.oauth_pending.remove(&self.rid);
        sess.data.oauth_done.remove(&self.rid);
    }
}

fn message(
    state: &AppState,
    sess: Option<&Session>,
    status: StatusCode,
    title: &str,
    msg: &str,
) -> Response {
    let class = if status.is_success() { "info" } else { "error" };
    page(
        state,
        sess,
        status,
        title,
        &format!("<p class=\"{class}\" role=\"alert\">{}</p>", text(msg)),
    )
}

fn failed(state: &AppState, sess: Option<&Session>, msg: &str) -> Response {
    message(
        state,
        sess,
        StatusCode::BAD_REQUEST,
        "Device sign-in failed",
        msg,
    )
}

fn internal(
    state: &AppState,
    sess: Option<&Session>,
    what: &str,
    err: &dyn std::fmt::Display,
) -> Response {
    tracing::error!(error = %err, "device page: {what}");
    message(
        state,
        sess,
        StatusCode::SERVICE_UNAVAILABLE,
        "Device sign-in failed",
        "Something went wrong on the server; try again.",
    )
}

/// The brand's device-code flow, or the page that says how to configure one.
async fn device_flow(state: &AppState, sess: &Session) -> Result<String, Response> {
    let brand = default_brand(state).await;
    match flow_slug(state, brand.and_then(|b| b.flow_device_code_id).as_deref()).await {
        Some(slug) => Ok(slug),
        None => Err(message(
            state,
            Some(sess),
            StatusCode::NOT_FOUND,
            "Device sign-in is not configured",
            "No device-code flow is set on the default brand. An administrator can set one in \
             the console (Brands tab, field \"Device code flow\") or apply \
             fixtures/blueprints/default/flow-device-code.yaml.",
        )),
    }
}

/// Sends an anonymous visitor through the brand's authentication flow and back to `back`
/// (the provider is not known before the code is entered).
async fn to_login(state: &AppState, sess: &Session, back: &str) -> Response {
    let Some(slug) = authentication_flow(state, None).await else {
        return failed(
            state,
            Some(sess),
            "No authentication flow is configured: set one on the default brand.",
        );
    };
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("next", back)
        .finish();
    let _ = session::save(&state.ctx, sess).await;
    redirect(state, Some(sess), &format!("/if/flow/{slug}/?{q}"))
}

/// What every device page starts with: the session, and the brand's device-code flow (or the
/// page that says how to configure one).
async fn begin(
    state: &AppState,
    headers: &HeaderMap,
    ip: &str,
) -> Result<(Session, String), Response> {
    let sess = session::load(&state.ctx, headers, ip)
        .await
        .map_err(|e| internal(state, None, "session", &e))?;
    let flow = device_flow(state, &sess).await?;
    Ok((sess, flow))
}

fn session_id(sess: &Session) -> String {
    secrets::digest(&sess.row_id)
}

/// The code entry form, optionally with an error under the title.
fn entry_form(
    state: &AppState,
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
    page(state, Some(sess), status, "Sign in a device", &body)
}

/// `GET /device[?code=…]`: the code entry form (the code from `verification_uri_complete`
/// filled in, for the user to compare with the device), after signing in.
pub async fn entry_get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let ip = peer.ip().to_string();
    let (sess, _) = match begin(&state, &headers, &ip).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    let code = q.get("code").map(String::as_str).unwrap_or("");
    if sess.user_id.is_none() {
        let back = if code.is_empty() {
            DEVICE_PATH.to_string()
        } else {
            let q = form_urlencoded::Serializer::new(String::new())
                .append_pair("code", code)
                .finish();
            format!("{DEVICE_PATH}?{q}")
        };
        return to_login(&state, &sess, &back).await;
    }
    let _ = session::save(&state.ctx, &sess).await;
    entry_form(&state, &sess, StatusCode::OK, code, None)
}

fn form(body: &Bytes) -> BTreeMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

const STALE: &str = "Your session expired or the form was stale; please try again.";

/// `POST /device`: checks the typed code (throttled per IP and session) and starts the steps.
pub async fn entry_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ip = peer.ip().to_string();
    let (mut sess, flow) = match begin(&state, &headers, &ip).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    let f = form(&body);
    let typed = f.get("code").map(String::as_str).unwrap_or("");
    if sess.user_id.is_none() {
        return to_login(&state, &sess, DEVICE_PATH).await;
    }
    if !session::csrf_ok(&sess, f.get("csrf").map(String::as_str)) {
        tracing::warn!("device code POST with a missing or wrong CSRF token");
        return entry_form(&state, &sess, StatusCode::FORBIDDEN, typed, Some(STALE));
    }
    let sid = session_id(&sess);
    let who = Requester {
        ip: &ip,
        session_id: Some(&sid),
    };
    let device = match state.device.lookup_user_code(typed, who).await {
        Ok(d) => d,
        Err(DeviceError::Throttled { retry_after }) => {
            let msg = format!("Too many attempts; try again in {retry_after} seconds.");
            let mut res = entry_form(
                &state,
                &sess,
                StatusCode::TOO_MANY_REQUESTS,
                typed,
                Some(&msg),
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return res;
        }
        Err(DeviceError::InvalidCode | DeviceError::UserNotAllowed) => {
            return entry_form(
                &state,
                &sess,
                StatusCode::BAD_REQUEST,
                typed,
                Some("Invalid code. Check the code on your device and type it again."),
            );
        }
        Err(e) => return internal(&state, Some(&sess), "lookup", &e),
    };
    let parked = Parked {
        rid: secrets::random_token(24),
        user_code: device.user_code.clone(),
        step: Step::DeviceFlow,
    };
    advance(&state, &mut sess, &ip, parked, &device, &flow).await
}

/// `GET /device/continue/?rid=…`: where the device-code and authorization flows return.
pub async fn continue_get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let ip = peer.ip().to_string();
    let (mut sess, flow) = match begin(&state, &headers, &ip).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    let parked = q
        .get("rid")
        .and_then(|rid| Parked::load(&state, &sess, rid));
    let Some(mut parked) = parked.filter(|_| sess.user_id.is_some()) else {
        return failed(&state, Some(&sess), EXPIRED);
    };
    let done = sess.data.oauth_done.remove(&parked.rid);
    match (parked.step, done) {
        (Step::DeviceFlow, true) => parked.step = Step::Confirm,
        (Step::Consent, true) => {}
        (Step::Confirm, _) => {}
        _ => {
            return failed(
                &state,
                Some(&sess),
                "This step is not complete: finish the sign-in page, or start again at /device.",
            );
        }
    }
    let device = match state.device.pending(&parked.user_code).await {
        Ok(d) => d,
        Err(e) => return code_gone(&state, &mut sess, &parked, &e).await,
    };
    if parked.step == Step::Consent {
        return finish(&state, &mut sess, &parked, &device).await;
    }
    advance(&state, &mut sess, &ip, parked, &device, &flow).await
}

const EXPIRED: &str = "This device sign-in is not in progress or has expired: start again at \
                       /device with the code your device shows.";

/// `POST /device/decide/`: Approve (runs the authorization flow, then approves) or Deny.
pub async fn decide_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ip = peer.ip().to_string();
    let (mut sess, flow) = match begin(&state, &headers, &ip).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    let f = form(&body);
    let parked = f
        .get("rid")
        .and_then(|rid| Parked::load(&state, &sess, rid))
        .filter(|p| p.step == Step::Confirm && sess.user_id.is_some());
    let Some(mut parked) = parked else {
        return failed(&state, Some(&sess), EXPIRED);
    };
    if !session::csrf_ok(&sess, f.get("csrf").map(String::as_str)) {
        tracing::warn!("device decision POST with a missing or wrong CSRF token");
        return message(
            &state,
            Some(&sess),
            StatusCode::FORBIDDEN,
            "Device sign-in failed",
            STALE,
        );
    }
    let device = match state.device.pending(&parked.user_code).await {
        Ok(d) => d,
        Err(e) => return code_gone(&state, &mut sess, &parked, &e).await,
    };
    match f.get("decision").map(String::as_str) {
        Some("deny") => {
            parked.forget(&mut sess);
            let _ = session::save(&state.ctx, &sess).await;
            match state.device.deny(&parked.user_code).await {
                Ok(()) => message(
                    &state,
                    Some(&sess),
                    StatusCode::OK,
                    "Device not signed in",
                    "You denied the request; the device was not signed in.",
                ),
                Err(e) => code_gone(&state, &mut sess, &parked, &e).await,
            }
        }
        Some("approve") => {
            parked.step = Step::Consent;
            advance(&state, &mut sess, &ip, parked, &device, &flow).await
        }
        _ => failed(&state, Some(&sess), "Choose Approve or Deny."),
    }
}

/// The code was used, expired or denied meanwhile (or the store failed).
async fn code_gone(
    state: &AppState,
    sess: &mut Session,
    parked: &Parked,
    err: &DeviceError,
) -> Response {
    parked.forget(sess);
    let _ = session::save(&state.ctx, sess).await;
    match err {
        DeviceError::InvalidCode => failed(
            state,
            Some(sess),
            "The code has expired or was already used: start the sign-in again on your device.",
        ),
        DeviceError::UserNotAllowed => denied(state, sess),
        other => internal(state, Some(sess), "device code", other),
    }
}

fn denied(state: &AppState, sess: &Session) -> Response {
    message(
        state,
        Some(sess),
        StatusCode::FORBIDDEN,
        "Access denied",
        "You do not have access to this application.",
    )
}

/// How one run of a flow ended.
enum FlowRun {
    /// Completed with no page to show (no stages, or implicit consent).
    Done,
    /// A stage needs the user: go to the flow's page.
    Waiting,
    /// The flow denied access.
    Denied(String),
}

async fn run_flow(
    state: &AppState,
    sess: &mut Session,
    ip: &str,
    slug: &str,
    parked: &Parked,
    device: &PendingDevice,
) -> Result<FlowRun, FlowError> {
    sess.data.plans.remove(slug);
    let start = Start {
        next: Some(format!("{CONTINUE_PATH}?rid={}", parked.rid)),
        application: Some(device.application_id.clone()),
        extra: [(OAUTH_REQUEST_KEY.to_string(), json!(parked.rid))]
            .into_iter()
            .collect(),
        allow_empty: true,
    };
    let step = execute(state, sess, ip, slug, Action::Get(start)).await?;
    if sess.data.oauth_done.remove(&parked.rid) {
        return Ok(FlowRun::Done);
    }
    if let ChallengeKind::AccessDenied { error_message } = &step.challenge.kind {
        sess.data.plans.remove(slug);
        return Ok(FlowRun::Denied(error_message.clone()));
    }
    Ok(FlowRun::Waiting)
}

/// Moves a parked sign-in forward as far as it goes without the user.
async fn advance(
    state: &AppState,
    sess: &mut Session,
    ip: &str,
    mut parked: Parked,
    device: &PendingDevice,
    device_flow: &str,
) -> Response {
    let Some(user_id) = sess.user_id.clone() else {
        return failed(state, Some(sess), EXPIRED);
    };
    loop {
        let slug = match parked.step {
            Step::Confirm => {
                match state
                    .device
                    .application_allows(&parked.user_code, &user_id)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        parked.forget(sess);
                        let _ = session::save(&state.ctx, sess).await;
                        return denied(state, sess);
                    }
                    Err(e) => return code_gone(state, sess, &parked, &e).await,
                }
                parked.store(state, sess);
                let _ = session::save(&state.ctx, sess).await;
                return confirm_page(state, sess, &parked, device, &user_id).await;
            }
            Step::DeviceFlow => device_flow.to_string(),
            Step::Consent => {
                let Some(slug) = flow_slug(state, device.authorization_flow_id.as_deref()).await
                else {
                    return failed(
                        state,
                        Some(sess),
                        "The application's provider has no authorization flow configured.",
                    );
                };
                slug
            }
        };
        parked.store(state, sess);
        match run_flow(state, sess, ip, &slug, &parked, device).await {
            Ok(FlowRun::Done) if parked.step == Step::DeviceFlow => parked.step = Step::Confirm,
            Ok(FlowRun::Done) => return finish(state, sess, &parked, device).await,
            Ok(FlowRun::Waiting) => {
                let _ = session::save(&state.ctx, sess).await;
                return redirect(state, Some(sess), &format!("/if/flow/{slug}/"));
            }
            Ok(FlowRun::Denied(msg)) => {
                parked.forget(sess);
                let _ = session::save(&state.ctx, sess).await;
                return message(
                    state,
                    Some(sess),
                    StatusCode::FORBIDDEN,
                    "Access denied",
                    &msg,
                );
            }
            Err(e) => return internal(state, Some(sess), "flow", &e),
        }
    }
}

/// Approve or Deny, naming the application, the scopes and the signed-in user.
async fn confirm_page(
    state: &AppState,
    sess: &Session,
    parked: &Parked,
    device: &PendingDevice,
    user_id: &str,
) -> Response {
    let username = match state.ctx.store().read().await {
        Ok(mut conn) => store::users::get(&mut conn, user_id)
            .await
            .ok()
            .flatten()
            .map(|u| u.username)
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    let scopes: String = device
        .scopes
        .iter()
        .map(|s| format!("<li><code>{}</code></li>", text(s)))
        .collect();
    let scopes = if scopes.is_empty() {
        "<p>It asks for no scopes.</p>".to_string()
    } else {
        format!("<p>It asks for these scopes:</p><ul class=\"scopes\">{scopes}</ul>")
    };
    let body = format!(
        "<p>A device asks to sign in to <strong class=\"application\">{app}</strong> as \
         <strong class=\"user\">{user}</strong>.</p>{scopes}<p>Code: <code class=\"user-code\">{code}</code>. \
         Approve only if you started this sign-in yourself and your device shows this code.</p>\
         <form method=\"post\" action=\"{DECIDE_PATH}\"><input type=\"hidden\" name=\"csrf\" \
         value=\"{csrf}\"><input type=\"hidden\" name=\"rid\" value=\"{rid}\">\
         <button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button> \
         <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
        app = text(&device.application_name),
        user = text(&username),
        code = text(&device.user_code),
        csrf = attr(&sess.data.csrf),
        rid = attr(&parked.rid),
    );
    page(state, Some(sess), StatusCode::OK, "Sign in a device", &body)
}

/// The authorization flow completed: approve the code for this user and session.
async fn finish(
    state: &AppState,
    sess: &mut Session,
    parked: &Parked,
    device: &PendingDevice,
) -> Response {
    let Some(user_id) = sess.user_id.clone() else {
        return failed(state, Some(sess), EXPIRED);
    };
    let sid = session_id(sess);
    match state
        .device
        .approve(&parked.user_code, &user_id, &sid)
        .await
    {
        Ok(()) => {
            parked.forget(sess);
            let _ = session::save(&state.ctx, sess).await;
            message(
                state,
                Some(sess),
                StatusCode::OK,
                "Device signed in",
                &format!(
                    "Your device is signed in to {}. You can close this window and return to it.",
                    device.application_name
                ),
            )
        }
        Err(e) => code_gone(state, sess, parked, &e).await,
    }
}
