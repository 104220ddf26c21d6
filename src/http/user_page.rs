//! `/if/user/`: the signed-in user's interface (authentik's user interface) as one
//! server-rendered page in the shared shell: the library of applications the user may open,
//! grouped, then their sessions, consents, MFA devices and app passwords. A signed-out visitor
//! is sent to the brand's authentication flow and back. Every POST checks the session's CSRF
//! token and acts for the signed-in user only, through [`crate::service::user_library`] and
//! [`crate::service::accounts`] (another user's id is "not found"); then it redirects back
//! (POST/redirect/GET), except a new app password, whose key is shown once in the answer.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::AppState;
use super::SharedState;
use super::errors::HttpError;
use super::extract::ClientIp;
use super::headers::security_headers;
use super::session::{self, Session};
use super::shell;
use crate::domain::Brand;
use crate::domain::audit::rfc3339;
use crate::flows::{RequestInfo, lookup};
use crate::service::accounts::{AuthenticatorSummary, ConsentSummary, TokenSummary};
use crate::service::user_library::{LibraryGroup, OwnSession, SOURCE, SetupLink};
use crate::service::{Service, ServiceError};

/// The user's interface (authentik's `/if/user/`; its `#/library` is the same page).
pub const USER_PATH: &str = "/if/user/";
const REVOKE_SESSION: &str = "/if/user/sessions/revoke/";
const REVOKE_CONSENT: &str = "/if/user/consents/revoke/";
const DELETE_DEVICE: &str = "/if/user/devices/delete/";
const CREATE_TOKEN: &str = "/if/user/tokens/create/";
const DELETE_TOKEN: &str = "/if/user/tokens/delete/";

const STALE: &str = "Your session expired or the form was stale; nothing was changed. Try again.";

/// The user's interface's routes (merged into the router).
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(USER_PATH, get(show))
        .route(REVOKE_SESSION, post(|p| change(p, Change::RevokeSession)))
        .route(REVOKE_CONSENT, post(|p| change(p, Change::RevokeConsent)))
        .route(DELETE_DEVICE, post(|p| change(p, Change::DeleteDevice)))
        .route(CREATE_TOKEN, post(create_token))
        .route(DELETE_TOKEN, post(|p| change(p, Change::DeleteToken)))
}

/// The brand the page is drawn for and signs in with: the one place the user's interface
/// looks it up (the brand the request's host picks, else the default brand). An unreadable
/// brand degrades to the unbranded page.
async fn brand_for(state: &AppState, request: &RequestInfo) -> Option<Brand> {
    lookup::brand_for_host(&state.ctx, request.host())
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the brand");
            None
        })
}

/// The page in the shell with the security headers (no session cookie is set here).
fn html(
    state: &AppState,
    sess: &Session,
    brand: Option<&Brand>,
    status: StatusCode,
    body: &str,
) -> Response {
    let page = shell::wide_document(brand, "My applications", body);
    let mut res = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response();
    security_headers(state, Some(sess), &mut res);
    res
}

fn message(
    state: &AppState,
    sess: &Session,
    brand: Option<&Brand>,
    status: StatusCode,
    msg: &str,
) -> Response {
    let body = format!(
        "<p class=\"error\" role=\"alert\">{}</p><p><a href=\"{USER_PATH}\">Back</a></p>",
        text(msg)
    );
    html(state, sess, brand, status, &body)
}

fn see_other(state: &AppState, sess: &Session, to: &str, status: StatusCode) -> Response {
    let mut res = status.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    security_headers(state, Some(sess), &mut res);
    res
}

/// A signed-out visitor goes to the brand's authentication flow, coming back here.
async fn sign_in(state: &AppState, sess: &Session, brand: Option<&Brand>) -> Response {
    let flow = brand.and_then(|b| b.flow_authentication_id.as_deref());
    match lookup::flow_slug(&state.ctx, flow).await {
        Ok(Some(slug)) => {
            let q = form_urlencoded::Serializer::new(String::new())
                .append_pair("next", USER_PATH)
                .finish();
            see_other(
                state,
                sess,
                &format!("/if/flow/{slug}/?{q}"),
                StatusCode::FOUND,
            )
        }
        Ok(None) => message(
            state,
            sess,
            brand,
            StatusCode::INTERNAL_SERVER_ERROR,
            "No authentication flow is configured: set one on the brand.",
        ),
        Err(e) => HttpError::from(e).into_response(),
    }
}

/// What a finished change says on the page it redirects to (`?done=`).
fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "session" => "The session was revoked.",
        "consent" => "The consent was revoked: the application asks again next time.",
        "device" => "The MFA device was deleted.",
        "token" => "The app password was deleted.",
        _ => return None,
    })
}

fn hidden_form(action: &str, csrf: &str, id: &str, label: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"csrf\" \
         value=\"{}\"><input type=\"hidden\" name=\"id\" value=\"{}\">\
         <button type=\"submit\" class=\"secondary\">{}</button></form>",
        attr(csrf),
        attr(id),
        text(label)
    )
}

fn when(at: Option<i64>, none: &str) -> String {
    at.map(rfc3339).unwrap_or_else(|| none.to_string())
}

/// The library: one section per group (the ungrouped first, without a heading), each
/// application a card with its icon (or its initial), name, publisher and description.
fn library_html(groups: &[LibraryGroup]) -> String {
    let mut o = String::from("<section id=\"library\"><h2>Applications</h2>");
    if groups.is_empty() {
        o.push_str(
            "<p class=\"help\">No applications available: none are defined, or you have \
             access to none.</p>",
        );
    }
    for g in groups {
        o.push_str("<section class=\"app-group\">");
        if !g.name.is_empty() {
            let _ = write!(o, "<h3 class=\"group\">{}</h3>", text(&g.name));
        }
        o.push_str("<ul class=\"apps\">");
        for a in &g.apps {
            let icon = match &a.icon {
                Some(src) => format!("<img class=\"app-icon\" src=\"{}\" alt=\"\">", attr(src)),
                None => {
                    let initial: String = a
                        .name
                        .chars()
                        .take(1)
                        .flat_map(char::to_uppercase)
                        .collect();
                    format!(
                        "<span class=\"app-icon\" aria-hidden=\"true\">{}</span>",
                        text(&initial)
                    )
                }
            };
            let target = if a.open_in_new_tab {
                " target=\"_blank\" rel=\"noopener noreferrer\""
            } else {
                ""
            };
            let _ = write!(
                o,
                "<li class=\"app\" data-slug=\"{slug}\"><a class=\"launch\" href=\"{url}\"{target}>\
                 {icon}<span class=\"app-name\">{name}</span></a>",
                slug = attr(&a.slug),
                url = attr(&a.launch_url),
                name = text(&a.name),
            );
            if !a.publisher.is_empty() {
                let _ = write!(o, "<p class=\"publisher\">{}</p>", text(&a.publisher));
            }
            if !a.description.is_empty() {
                let _ = write!(o, "<p class=\"description\">{}</p>", text(&a.description));
            }
            o.push_str("</li>");
        }
        o.push_str("</ul></section>");
    }
    o.push_str("</section>");
    o
}

fn sessions_html(sessions: &[OwnSession], csrf: &str) -> String {
    let mut o = String::from("<section id=\"sessions\"><h2>Sessions</h2>");
    o.push_str(
        "<table><tr><th>Signed in from</th><th>Signed in</th><th>Last used</th><th></th></tr>",
    );
    for s in sessions {
        let this = if s.current { " (this session)" } else { "" };
        let _ = write!(
            o,
            "<tr class=\"session\" data-id=\"{id}\"><td>{ip}{this}</td><td>{at}</td><td>{seen}</td>\
             <td>{form}</td></tr>",
            id = attr(&s.session.id),
            ip = text(&s.session.client_ip),
            at = rfc3339(s.session.created_at),
            seen = rfc3339(s.session.last_seen),
            form = hidden_form(REVOKE_SESSION, csrf, &s.session.id, "Revoke"),
        );
    }
    o.push_str("</table></section>");
    o
}

fn consents_html(consents: &[ConsentSummary], csrf: &str) -> String {
    let mut o = String::from("<section id=\"consents\"><h2>Consents</h2>");
    if consents.is_empty() {
        o.push_str("<p class=\"help\">You have not consented to any application.</p>");
    } else {
        o.push_str(
            "<table><tr><th>Application</th><th>Permissions</th><th>Expires</th><th></th></tr>",
        );
        for c in consents {
            let _ = write!(
                o,
                "<tr class=\"consent\" data-id=\"{id}\"><td>{app}</td><td>{perms}</td>\
                 <td>{exp}</td><td>{form}</td></tr>",
                id = attr(&c.id),
                app = text(&c.application),
                perms = text(&c.permissions.join(" ")),
                exp = when(c.expires_at, "never"),
                form = hidden_form(REVOKE_CONSENT, csrf, &c.id, "Revoke"),
            );
        }
        o.push_str("</table>");
    }
    o.push_str("</section>");
    o
}

/// The stages' `configure_flow` links: "Change password" and one "Set up …" per authenticator
/// setup stage, each returning here when done.
fn setup_html(links: &[SetupLink]) -> String {
    if links.is_empty() {
        return String::new();
    }
    let mut o = String::from("<ul class=\"setup\">");
    for l in links {
        let label = if l.kind == "password" {
            l.label.clone()
        } else {
            format!("Set up {}", l.label)
        };
        let _ = write!(
            o,
            "<li><a class=\"setup-{kind}\" href=\"/if/flow/{slug}/?next=%2Fif%2Fuser%2F\">{label}</a></li>",
            kind = l.kind,
            slug = attr(&l.flow_slug),
            label = text(&label),
        );
    }
    o.push_str("</ul>");
    o
}

fn devices_html(devices: &[AuthenticatorSummary], csrf: &str, setup: &str) -> String {
    let mut o = String::from("<section id=\"mfa\"><h2>MFA devices</h2>");
    o.push_str(setup);
    if devices.is_empty() {
        o.push_str("<p class=\"help\">No MFA devices are set up.</p>");
    } else {
        o.push_str("<table><tr><th>Name</th><th>Type</th><th>Set up</th><th></th></tr>");
        for d in devices {
            let left = d
                .codes_left
                .map(|n| format!(" ({n} codes left)"))
                .unwrap_or_default();
            let _ = write!(
                o,
                "<tr class=\"device\" data-id=\"{id}\"><td>{name}</td><td>{kind}{left}</td>\
                 <td>{at}</td><td>{form}</td></tr>",
                id = attr(&d.id),
                name = text(&d.name),
                kind = text(&d.kind),
                at = rfc3339(d.created_at),
                form = hidden_form(DELETE_DEVICE, csrf, &d.id, "Delete"),
            );
        }
        o.push_str("</table>");
    }
    o.push_str("</section>");
    o
}

fn tokens_html(tokens: &[TokenSummary], csrf: &str, new_key: Option<&str>) -> String {
    let mut o = String::from("<section id=\"tokens\"><h2>App passwords and tokens</h2>");
    if let Some(key) = new_key {
        let _ = write!(
            o,
            "<p class=\"info\" role=\"status\">Your new app password is shown only now: \
             <code class=\"new-key\">{}</code></p>",
            text(key)
        );
    }
    if tokens.is_empty() {
        o.push_str("<p class=\"help\">You have no app passwords or tokens.</p>");
    } else {
        o.push_str(
            "<table><tr><th>Identifier</th><th>Kind</th><th>Description</th><th>Expires</th>\
             <th></th></tr>",
        );
        for t in tokens {
            let _ = write!(
                o,
                "<tr class=\"token\" data-id=\"{id}\"><td>{ident}</td><td>{intent}</td>\
                 <td>{desc}</td><td>{exp}</td><td>{form}</td></tr>",
                id = attr(&t.id),
                ident = text(&t.identifier),
                intent = text(&t.intent),
                desc = text(&t.description),
                exp = when(t.expires_at, "never"),
                form = hidden_form(DELETE_TOKEN, csrf, &t.id, "Delete"),
            );
        }
        o.push_str("</table>");
    }
    let _ = write!(
        o,
        "<h3>New app password</h3><form class=\"inline\" method=\"post\" action=\"{CREATE_TOKEN}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"description\">Description</label> \
         <input id=\"description\" name=\"description\" autocomplete=\"off\"> \
         <label for=\"expires\">Expires in</label> \
         <input id=\"expires\" name=\"expires\" placeholder=\"30d (empty: never)\" \
         autocomplete=\"off\"> <button type=\"submit\">Create</button></form></section>",
        attr(csrf)
    );
    o
}

/// What the page shows besides the account's objects.
#[derive(Default)]
struct Extras<'a> {
    notice: Option<&'a str>,
    error: Option<&'a str>,
    new_key: Option<&'a str>,
}

/// The whole page for the signed-in `user_id`.
#[allow(clippy::too_many_arguments)]
async fn user_page(
    state: &AppState,
    sess: &Session,
    brand: Option<&Brand>,
    request: &RequestInfo,
    ip: &str,
    user_id: &str,
    status: StatusCode,
    extras: Extras<'_>,
) -> Result<Response, HttpError> {
    let service = &state.service;
    let library = match service.user_library(user_id, ip, Some(request)).await {
        Err(ServiceError::NotFound(_)) => return Ok(sign_in(state, sess, brand).await),
        other => other?,
    };
    let sessions = service.own_sessions(user_id, &sess.row_id).await?;
    let consents = service.user_consents(user_id).await?;
    let devices = service.user_authenticators(user_id).await?;
    let tokens = service.user_tokens(user_id).await?;
    let setup = service.setup_links().await?;
    let csrf = &sess.data.csrf;
    let mut body = String::new();
    if let Some(n) = extras.notice {
        let _ = write!(body, "<p class=\"info\" role=\"status\">{}</p>", text(n));
    }
    if let Some(e) = extras.error {
        let _ = write!(body, "<p class=\"error\" role=\"alert\">{}</p>", text(e));
    }
    if let Some(b) = brand
        && let Ok(Some(slug)) =
            lookup::flow_slug(&state.ctx, b.flow_invalidation_id.as_deref()).await
    {
        let _ = write!(
            body,
            "<p class=\"help\"><a class=\"sign-out\" href=\"/if/flow/{}/\">Sign out</a></p>",
            attr(&slug)
        );
    }
    body.push_str(&library_html(&library));
    body.push_str(&sessions_html(&sessions, csrf));
    body.push_str(&consents_html(&consents, csrf));
    body.push_str(&devices_html(&devices, csrf, &setup_html(&setup)));
    body.push_str(&tokens_html(&tokens, csrf, extras.new_key));
    Ok(html(state, sess, brand, status, &body))
}

/// `GET /if/user/[?done=…]`: the page, after signing in.
async fn show(
    State(state): State<SharedState>,
    ClientIp(ip): ClientIp,
    request: RequestInfo,
    sess: Session,
    Query(q): Query<BTreeMap<String, String>>,
) -> Result<Response, HttpError> {
    let brand = brand_for(&state, &request).await;
    let Some(user_id) = sess.user_id.clone() else {
        return Ok(sign_in(&state, &sess, brand.as_ref()).await);
    };
    let extras = Extras {
        notice: q.get("done").map(String::as_str).and_then(notice),
        ..Extras::default()
    };
    user_page(
        &state,
        &sess,
        brand.as_ref(),
        &request,
        &ip,
        &user_id,
        StatusCode::OK,
        extras,
    )
    .await
}

/// A POST's checked caller: signed in and with the session's CSRF token, or the answer.
struct Caller {
    user_id: String,
    service: Service,
    form: BTreeMap<String, String>,
    brand: Option<Brand>,
}

async fn caller(
    state: &AppState,
    sess: &Session,
    request: &RequestInfo,
    ip: &str,
    body: &Bytes,
) -> Result<Result<Caller, Response>, HttpError> {
    let brand = brand_for(state, request).await;
    let Some(user_id) = sess.user_id.clone() else {
        return Ok(Err(sign_in(state, sess, brand.as_ref()).await));
    };
    let form: BTreeMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    if !session::csrf_ok(sess, form.get("csrf").map(String::as_str)) {
        tracing::warn!("user interface POST with a missing or wrong CSRF token");
        let res = message(state, sess, brand.as_ref(), StatusCode::FORBIDDEN, STALE);
        return Ok(Err(res));
    }
    let service = match state.service.acting_for_user(&user_id, ip).await {
        Ok(s) => s,
        Err(ServiceError::NotFound(_)) => {
            return Ok(Err(sign_in(state, sess, brand.as_ref()).await));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Ok(Caller {
        user_id,
        service,
        form,
        brand,
    }))
}

/// One POST to the user's interface: what every handler of it extracts.
struct Post {
    state: SharedState,
    ip: String,
    request: RequestInfo,
    sess: Session,
    body: Bytes,
}

impl FromRequest<SharedState> for Post {
    type Rejection = Response;

    async fn from_request(req: Request, state: &SharedState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let ClientIp(ip) = ClientIp::from_parts(&parts);
        let request = RequestInfo::from_parts(&parts);
        let sess = Session::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Post {
            state: state.clone(),
            ip,
            request,
            sess,
            body,
        })
    }
}

/// A change a user makes to one of their own objects, named by the form's `id`.
#[derive(Debug, Clone, Copy)]
enum Change {
    /// `POST /if/user/sessions/revoke/`: ends one of the caller's sessions.
    RevokeSession,
    /// `POST /if/user/consents/revoke/`: forgets one of the caller's consents.
    RevokeConsent,
    /// `POST /if/user/devices/delete/`: deletes one of the caller's MFA devices.
    DeleteDevice,
    /// `POST /if/user/tokens/delete/`: deletes one of the caller's app passwords or tokens.
    DeleteToken,
}

impl Change {
    /// The notice key the page is redirected to (see [`notice`]).
    fn done(self) -> &'static str {
        match self {
            Change::RevokeSession => "session",
            Change::RevokeConsent => "consent",
            Change::DeleteDevice => "device",
            Change::DeleteToken => "token",
        }
    }

    /// What the object is called in a refusal.
    fn what(self) -> &'static str {
        match self {
            Change::RevokeSession => "session",
            Change::RevokeConsent => "consent",
            Change::DeleteDevice => "MFA device",
            Change::DeleteToken => "app password",
        }
    }

    /// Makes the change as the caller; another user's (or a gone) object is `NotFound`.
    async fn run(self, c: &Caller, id: &str) -> Result<(), ServiceError> {
        let (service, user) = (&c.service, c.user_id.as_str());
        match self {
            Change::RevokeSession => service.revoke_own_session(user, id).await.map(|_| ()),
            Change::RevokeConsent => service.revoke_consent(user, id, SOURCE).await,
            Change::DeleteDevice => service.delete_authenticator(user, id, SOURCE).await,
            Change::DeleteToken => service.revoke_token(user, id, SOURCE).await,
        }
    }
}

/// Runs one change on an object the caller names by `id`; not theirs (or gone) is a 404.
async fn change(p: Post, c: Change) -> Result<Response, HttpError> {
    let Post {
        state,
        ip,
        request,
        sess,
        body,
    } = p;
    let caller = match caller(&state, &sess, &request, &ip, &body).await? {
        Ok(caller) => caller,
        Err(res) => return Ok(res),
    };
    let id = caller.form.get("id").cloned().unwrap_or_default();
    match c.run(&caller, &id).await {
        Ok(()) => Ok(see_other(
            &state,
            &sess,
            &format!("{USER_PATH}?done={}", c.done()),
            StatusCode::SEE_OTHER,
        )),
        Err(ServiceError::NotFound(_)) => Ok(message(
            &state,
            &sess,
            caller.brand.as_ref(),
            StatusCode::NOT_FOUND,
            &format!("No such {} of yours: nothing was changed.", c.what()),
        )),
        Err(e) => Err(e.into()),
    }
}

/// `POST /if/user/tokens/create/`: makes an app password and shows its key this once.
async fn create_token(p: Post) -> Result<Response, HttpError> {
    let Post {
        state,
        ip,
        request,
        sess,
        body,
    } = p;
    let c = match caller(&state, &sess, &request, &ip, &body).await? {
        Ok(c) => c,
        Err(res) => return Ok(res),
    };
    let get = |k: &str| c.form.get(k).map(String::as_str).unwrap_or("");
    let made = c
        .service
        .create_own_app_password(&c.user_id, get("description"), get("expires"))
        .await;
    let (status, error, key) = match made {
        Ok(created) => (StatusCode::OK, None, Some(created.key)),
        Err(ServiceError::Invalid(errors)) => {
            let why = errors
                .0
                .iter()
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join("; ");
            (StatusCode::BAD_REQUEST, Some(why), None)
        }
        Err(e) => return Err(e.into()),
    };
    let extras = Extras {
        notice: None,
        error: error.as_deref(),
        new_key: key.as_deref(),
    };
    user_page(
        &state,
        &sess,
        c.brand.as_ref(),
        &request,
        &ip,
        &c.user_id,
        status,
        extras,
    )
    .await
}
