//! `/application/o/authorize/`: validates the request, sends an unauthenticated user through the
//! provider's (or brand's) authentication flow, checks the application's policies, runs the
//! provider's authorization flow (consent) with the request parked in the session, and only
//! when that flow completed mints the code or tokens. Errors before the client and redirect URI
//! are trusted are pages; after that they go back to the client.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use serde_json::json;

use super::AppState;
use super::flow_common::{Action, OAUTH_REQUEST_KEY, authentication_flow, execute, flow_slug};
use super::pages::{origin_of, page, redirect};
use super::session::{self, PendingAuthorization, Session};
use crate::crypto::secrets;
use crate::flows::executor::Start;
use crate::flows::policy::{PolicyRequest, evaluate_target};
use crate::flows::{ChallengeKind, Env, FlowContext};
use crate::oauth::authorize::{
    self, AuthorizeError, ClientResponse, ErrorRedirect, ValidatedAuthorize,
};
use crate::oauth::fulfil::{self, Authorizer};
use crate::oauth::grant::GrantContext;

/// How long a parked authorization request waits for its flow.
const PENDING_LIFETIME: i64 = session::PARKED_LIFETIME;
const AUTHORIZE_PATH: &str = "/application/o/authorize/";

fn error_page(state: &AppState, sess: Option<&Session>, message: &str) -> Response {
    page(
        state,
        sess,
        StatusCode::BAD_REQUEST,
        "Authorization failed",
        &format!("<p class=\"error\" role=\"alert\">{}</p>", text(message)),
    )
}

fn to_client(state: &AppState, sess: Option<&Session>, response: ClientResponse) -> Response {
    match response {
        ClientResponse::Redirect(url) => redirect(state, sess, &url),
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
            let mut res = page(state, sess, StatusCode::OK, "Redirecting", &body);
            // The form posts to the client's origin.
            let csp = format!(
                "default-src 'none'; style-src 'unsafe-inline'; form-action {}; frame-ancestors 'none'",
                origin_of(&action)
            );
            if let Ok(v) = HeaderValue::from_str(&csp) {
                res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
            res
        }
    }
}

fn client_error(state: &AppState, sess: Option<&Session>, e: &ErrorRedirect) -> Response {
    to_client(
        state,
        sess,
        authorize::respond(&e.redirect_uri, e.response_mode, e.params()),
    )
}

fn error_for(v: &ValidatedAuthorize, error: &'static str, description: &str) -> ErrorRedirect {
    ErrorRedirect {
        redirect_uri: v.redirect_uri.clone(),
        response_mode: v.response_mode,
        error,
        description: description.into(),
        state: v.state.clone(),
        issuer: v.issuer.clone(),
    }
}

fn env(state: &AppState, sess: &Session, ip: &str) -> Env {
    Env::new(&state.ctx, ip, sess.user_id.clone())
}

fn encode(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter())
        .finish()
}

/// `GET /application/o/authorize/`
pub async fn authorize_get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    run(&state, &headers, &peer.ip().to_string(), pairs, None).await
}

/// `POST /application/o/authorize/` (form-encoded, OIDC Core §3.1.2.1).
pub async fn authorize_post(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    run(&state, &headers, &peer.ip().to_string(), pairs, None).await
}

/// `GET /application/o/authorize/done/?rid=…`: where the authorization flow returns.
pub async fn authorize_done(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let ip = peer.ip().to_string();
    let Some(rid) = q.get("rid") else {
        return error_page(&state, None, "This authorization request is incomplete.");
    };
    let mut sess = match session::load(&state.ctx, &headers, &ip).await {
        Ok(s) => s,
        Err(_) => return error_page(&state, None, "The session could not be loaded; try again."),
    };
    let pending = sess.data.oauth_pending.remove(rid);
    let done = sess.data.oauth_done.remove(rid);
    let _ = session::save(&state.ctx, &sess).await;
    match pending {
        Some(p) if done && state.ctx.now() - p.created_at < PENDING_LIFETIME => {
            run(&state, &headers, &ip, p.params, Some(rid.clone())).await
        }
        _ => error_page(
            &state,
            Some(&sess),
            "This authorization is not complete or has expired: go back to the application and \
             sign in again.",
        ),
    }
}

async fn run(
    state: &AppState,
    headers: &HeaderMap,
    ip: &str,
    pairs: Vec<(String, String)>,
    completed: Option<String>,
) -> Response {
    if pairs.is_empty() {
        return error_page(
            state,
            None,
            "No authorization request: start from the application.",
        );
    }
    let snapshot = match state.snapshot.get().await {
        Ok(s) => s,
        Err(_) => {
            return error_page(
                state,
                None,
                "The configuration could not be loaded; try again.",
            );
        }
    };
    let public_url = state.ctx.config().public_url.clone();
    let v = match authorize::validate(
        &snapshot,
        &public_url,
        &authorize::group_params(pairs.clone()),
    ) {
        Ok(v) => v,
        Err(AuthorizeError::Page { message }) => return error_page(state, None, &message),
        Err(AuthorizeError::Redirect(e)) => return client_error(state, None, &e),
    };
    let mut sess = match session::load(&state.ctx, headers, ip).await {
        Ok(s) => s,
        Err(_) => return error_page(state, None, "The session could not be loaded; try again."),
    };
    let now = state.ctx.now();
    let auth_time = sess.data.auth_time.unwrap_or(now);
    let too_old = v.max_age.is_some_and(|m| now - auth_time > m);
    if sess.user_id.is_none() || (v.prompt_login && completed.is_none()) || too_old {
        if v.prompt_none {
            return client_error(
                state,
                Some(&sess),
                &error_for(&v, "login_required", "the user is not signed in"),
            );
        }
        if sess.user_id.is_some() {
            // prompt=login or max_age: authenticate again.
            if session::logout(&state.ctx, &mut sess, ip).await.is_err() {
                return error_page(state, None, "The session could not be reset; try again.");
            }
        }
        let Some(slug) =
            authentication_flow(state, v.entry.provider.authentication_flow_id.as_deref()).await
        else {
            return error_page(
                state,
                Some(&sess),
                "No authentication flow is configured: set one on the provider or the default brand.",
            );
        };
        // Come back without prompt=login/max_age so the fresh login is not asked for again.
        let back: Vec<(String, String)> = pairs
            .into_iter()
            .filter(|(k, _)| k != "prompt" && k != "max_age")
            .collect();
        let next = format!("{AUTHORIZE_PATH}?{}", encode(&back));
        let to = format!("/if/flow/{slug}/?{}", encode(&[("next".to_string(), next)]));
        let _ = session::save(&state.ctx, &sess).await;
        return redirect(state, Some(&sess), &to);
    }
    let Some(user_id) = sess.user_id.clone() else {
        return error_page(state, None, "Not signed in.");
    };
    // The application's policy bindings decide access before anything is minted.
    let Some(app) = v.entry.application.clone() else {
        return error_page(
            state,
            Some(&sess),
            "This provider is not attached to an application.",
        );
    };
    let e = env(state, &sess, ip);
    let allowed = match PolicyRequest::load(&e, Some(&user_id), &FlowContext::default()).await {
        Ok(req) => evaluate_target(&e, &app.id, app.policy_engine_mode, &req)
            .await
            .map(|r| r.passing)
            .unwrap_or(false),
        Err(_) => false,
    };
    if !allowed {
        return client_error(
            state,
            Some(&sess),
            &error_for(
                &v,
                "access_denied",
                "you do not have access to this application",
            ),
        );
    }
    let mut finished = completed.is_some();
    if !finished {
        let Some(authz) = flow_slug(state, v.entry.provider.authorization_flow_id.as_deref()).await
        else {
            return error_page(
                state,
                Some(&sess),
                "The provider has no authorization flow configured.",
            );
        };
        let rid = secrets::random_token(24);
        sess.data
            .oauth_pending
            .retain(|_, p| now - p.created_at < session::PARKED_LIFETIME);
        sess.data.oauth_pending.insert(
            rid.clone(),
            PendingAuthorization {
                params: pairs.clone(),
                created_at: now,
            },
        );
        sess.data.plans.remove(&authz);
        let start = Start {
            next: Some(format!("{AUTHORIZE_PATH}done/?rid={rid}")),
            application: Some(app.id.clone()),
            extra: [(OAUTH_REQUEST_KEY.to_string(), json!(rid))]
                .into_iter()
                .collect(),
            allow_empty: true,
        };
        let step = match execute(state, &mut sess, ip, &authz, Action::Get(start)).await {
            Ok(step) => step,
            Err(err) => {
                tracing::error!(error = %err, "authorization flow failed");
                return error_page(
                    state,
                    Some(&sess),
                    "The authorization flow failed; try again.",
                );
            }
        };
        if sess.data.oauth_done.remove(&rid) {
            // The flow needed no interaction (implicit consent): answer straight away.
            sess.data.oauth_pending.remove(&rid);
            finished = true;
        } else {
            let denied = matches!(step.challenge.kind, ChallengeKind::AccessDenied { .. });
            if v.prompt_none || denied {
                sess.data.oauth_pending.remove(&rid);
                sess.data.plans.remove(&authz);
                let _ = session::save(&state.ctx, &sess).await;
                let err = if denied {
                    error_for(&v, "access_denied", "the authorization flow denied access")
                } else {
                    error_for(
                        &v,
                        "consent_required",
                        "the user must approve this application",
                    )
                };
                return client_error(state, Some(&sess), &err);
            }
            let _ = session::save(&state.ctx, &sess).await;
            return redirect(state, Some(&sess), &format!("/if/flow/{authz}/"));
        }
    }
    if !finished {
        return error_page(
            state,
            Some(&sess),
            "The authorization flow did not complete.",
        );
    }
    let _ = session::save(&state.ctx, &sess).await;
    let ctx = GrantContext {
        context: &state.ctx,
        snapshot: &snapshot,
        evaluator: state.evaluator.as_ref(),
    };
    let sid = secrets::digest(&sess.row_id);
    let who = Authorizer {
        user_id: &user_id,
        session_id: Some(&sid),
        auth_time,
        client_ip: ip,
    };
    match fulfil::complete(&ctx, &v, &who).await {
        Ok(resp) => to_client(state, Some(&sess), resp),
        Err(err) => client_error(
            state,
            Some(&sess),
            &error_for(&v, err.code, &err.description),
        ),
    }
}
