//! The authorization endpoint's state machine, without HTTP: validate the request, send an
//! unauthenticated user (or one `prompt=login` / `max_age` asks to authenticate again) through
//! the provider's or brand's authentication flow, check the application's policies, run the
//! provider's authorization flow (consent) with the request parked in the session, and only when
//! that flow completed mint the code or tokens. Each call returns the typed next step
//! ([`AuthorizeNext`]) the endpoint renders; errors before the client and redirect URI are trusted
//! are pages, after that they go back to the client.

use serde_json::{Value, json};

pub use super::authorize::ClientResponse;
use super::authorize::{self, AuthorizeError, ErrorRedirect, ValidatedAuthorize};
use super::claims::ScopeEvaluator;
use super::fulfil::{self, Authorizer};
use super::grant::GrantContext;
use super::session_step::{OAUTH_REQUEST_KEY, StepContext, StepRequest, run_step, sign_out};
use super::snapshot::Snapshot;
use crate::context::Context;
use crate::crypto::secrets;
use crate::domain::{Application, ScopeMapping};
use crate::flows::challenge::ConsentPermission;
use crate::flows::executor::Start;
use crate::flows::policy::PolicyResult;
use crate::flows::session::{self, PARKED_LIFETIME, PendingAuthorization, Session};
use crate::flows::stages::{CONSENT_HEADER, CONSENT_PERMISSIONS};
use crate::flows::{ChallengeKind, Env, FlowError, lookup};

/// The authorization endpoint's path (the flows come back to it).
pub const AUTHORIZE_PATH: &str = "/application/o/authorize/";
/// How long a parked authorization request waits for its flow.
const PENDING_LIFETIME: i64 = PARKED_LIFETIME;

/// What the authorization endpoint answers next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeNext {
    /// An error page, never a redirect: the client or redirect URI cannot be trusted, or the
    /// provider is not set up to serve the request.
    ErrorPage(String),
    /// The application's policies refused the user: authentik's "Permission denied" page with
    /// the policies' messages (authentik shows it rather than answering the client, so the
    /// user learns why and the client is not sent into a retry loop).
    Denied(Vec<String>),
    /// The browser goes to a page on this server (the sign-in or the authorization flow).
    Redirect(String),
    /// The answer goes back to the client at its redirect URI: code, tokens or an error.
    Client(ClientResponse),
}

/// What the state machine runs with.
#[derive(Clone, Copy)]
pub struct AuthorizeContext<'a> {
    /// The handle and the provider snapshot.
    pub step: StepContext<'a>,
    /// Runs scope mapping expressions for claims.
    pub evaluator: &'a dyn ScopeEvaluator,
}

impl AuthorizeContext<'_> {
    fn ctx(&self) -> &Context {
        self.step.ctx
    }
}

fn page(message: &str) -> AuthorizeNext {
    AuthorizeNext::ErrorPage(message.to_string())
}

fn to_client(e: &ErrorRedirect) -> AuthorizeNext {
    AuthorizeNext::Client(authorize::respond(
        &e.redirect_uri,
        e.response_mode,
        e.params(),
    ))
}

fn client_error(v: &ValidatedAuthorize, error: &'static str, description: &str) -> AuthorizeNext {
    to_client(&ErrorRedirect {
        redirect_uri: v.redirect_uri.clone(),
        response_mode: v.response_mode,
        error,
        description: description.into(),
        state: v.state.clone(),
        issuer: v.issuer.clone(),
    })
}

fn encode(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter())
        .finish()
}

/// A new authorization request (`GET`/`POST /application/o/authorize/`), as its parameters.
pub async fn authorize(
    ac: AuthorizeContext<'_>,
    sess: &mut Session,
    client_ip: &str,
    pairs: Vec<(String, String)>,
) -> Result<AuthorizeNext, FlowError> {
    run(ac, sess, client_ip, pairs, false).await
}

/// What a consent for these scopes grants: each of the provider's scope mappings for a
/// requested scope, ordered by scope name, with its description (authentik's
/// `get_scope_descriptions`).
pub fn consent_permissions(mappings: &[ScopeMapping], scopes: &[String]) -> Vec<ConsentPermission> {
    let mut granted: Vec<&ScopeMapping> = mappings
        .iter()
        .filter(|m| scopes.contains(&m.scope_name))
        .collect();
    granted.sort_by(|a, b| a.scope_name.cmp(&b.scope_name));
    granted
        .into_iter()
        .map(|m| ConsentPermission {
            id: m.scope_name.clone(),
            name: m.description.clone(),
        })
        .collect()
}

/// The plan context a consent stage reads (authentik's keys): the header naming the
/// application and the permissions granted.
pub fn consent_context(
    application_name: &str,
    permissions: &[ConsentPermission],
) -> [(String, Value); 2] {
    [
        (
            CONSENT_HEADER.to_string(),
            json!(format!("You're about to sign into {application_name}.")),
        ),
        (CONSENT_PERMISSIONS.to_string(), json!(permissions)),
    ]
}

/// Where the authorization flow returns (`…/done/?rid=…`): the parked request is taken out of
/// the session, and answered when its flow completed, or with `access_denied` when the user
/// declined (consent Deny).
pub async fn resume(
    ac: AuthorizeContext<'_>,
    sess: &mut Session,
    client_ip: &str,
    rid: Option<&str>,
) -> Result<AuthorizeNext, FlowError> {
    let Some(rid) = rid else {
        return Ok(page("This authorization request is incomplete."));
    };
    let pending = sess.data.oauth_pending.remove(rid);
    let done = sess.data.oauth_done.remove(rid);
    let declined = sess.data.oauth_declined.remove(rid);
    session::save(ac.ctx(), sess).await?;
    let fresh = |p: &PendingAuthorization| ac.ctx().now() - p.created_at < PENDING_LIFETIME;
    match pending {
        Some(p) if declined && fresh(&p) => Ok(declined_answer(ac, p.params).await),
        Some(p) if done && fresh(&p) => run(ac, sess, client_ip, p.params, true).await,
        _ => Ok(page(
            "This authorization is not complete or has expired: go back to the application and \
             sign in again.",
        )),
    }
}

/// A declined request's answer: `access_denied` at the client's redirect URI, with `state`
/// and `iss` (RFC 6749 §4.1.2.1, RFC 9207), once the parked request still validates. Nothing
/// is minted.
async fn declined_answer(ac: AuthorizeContext<'_>, pairs: Vec<(String, String)>) -> AuthorizeNext {
    let Ok(snapshot) = ac.step.snapshots.get().await else {
        return page("The configuration could not be loaded; try again.");
    };
    let grouped = authorize::group_params(pairs);
    match authorize::validate(&snapshot, ac.ctx().public_url(), &grouped) {
        Ok(v) => client_error(&v, "access_denied", "the user denied the request"),
        Err(AuthorizeError::Page { message }) => AuthorizeNext::ErrorPage(message),
        Err(AuthorizeError::Redirect(e)) => to_client(&e),
    }
}

/// Validates the request, then signs in, checks access, runs the authorization flow (unless
/// it `completed` already) and mints.
async fn run(
    ac: AuthorizeContext<'_>,
    sess: &mut Session,
    client_ip: &str,
    pairs: Vec<(String, String)>,
    completed: bool,
) -> Result<AuthorizeNext, FlowError> {
    if pairs.is_empty() {
        return Ok(page(
            "No authorization request: start from the application.",
        ));
    }
    let Ok(snapshot) = ac.step.snapshots.get().await else {
        return Ok(page("The configuration could not be loaded; try again."));
    };
    let grouped = authorize::group_params(pairs.clone());
    let v = match authorize::validate(&snapshot, ac.ctx().public_url(), &grouped) {
        Ok(v) => v,
        Err(AuthorizeError::Page { message }) => return Ok(AuthorizeNext::ErrorPage(message)),
        Err(AuthorizeError::Redirect(e)) => return Ok(to_client(&e)),
    };
    let now = ac.ctx().now();
    let auth_time = sess.data.auth_time.unwrap_or(now);
    let too_old = v.max_age.is_some_and(|m| now - auth_time > m);
    if sess.user_id.is_none() || (v.prompt_login && !completed) || too_old {
        return sign_in_first(ac.ctx(), ac.step.host(), sess, &v, pairs).await;
    }
    let Some(user_id) = sess.user_id.clone() else {
        return Ok(page("Not signed in."));
    };
    // The application's policy bindings decide access before anything is minted.
    let Some(app) = v.entry.application.clone() else {
        return Ok(page("This provider is not attached to an application."));
    };
    let admitted = application_admits(ac, client_ip, &user_id, &app, &v.scopes).await;
    if !admitted.passing {
        return Ok(AuthorizeNext::Denied(admitted.messages));
    }
    if !completed
        && let Some(next) = run_authorization_flow(ac, sess, client_ip, &v, &app, pairs).await?
    {
        return Ok(next);
    }
    session::save(ac.ctx(), sess).await?;
    let who = Minting {
        user_id: &user_id,
        auth_time,
        client_ip,
    };
    Ok(mint(ac, &snapshot, sess, &v, who).await)
}

/// Sends the browser through the authentication flow and back here (without `prompt=login` /
/// `max_age`, so the fresh login is not asked for again); `prompt=none` answers
/// `login_required` instead.
async fn sign_in_first(
    ctx: &Context,
    host: Option<&str>,
    sess: &mut Session,
    v: &ValidatedAuthorize,
    pairs: Vec<(String, String)>,
) -> Result<AuthorizeNext, FlowError> {
    if v.prompt_none {
        return Ok(client_error(
            v,
            "login_required",
            "the user is not signed in",
        ));
    }
    if sess.user_id.is_some() {
        // prompt=login or max_age: authenticate again.
        sign_out(ctx, sess).await?;
    }
    let provider_flow = v.entry.provider.authentication_flow_id.as_deref();
    let Some(slug) = lookup::authentication_flow(ctx, host, provider_flow).await? else {
        return Ok(page(
            "No authentication flow is configured: set one on the provider or this site's brand.",
        ));
    };
    let back: Vec<(String, String)> = pairs
        .into_iter()
        .filter(|(k, _)| k != "prompt" && k != "max_age")
        .collect();
    let next = format!("{AUTHORIZE_PATH}?{}", encode(&back));
    let to = format!("/if/flow/{slug}/?{}", encode(&[("next".to_string(), next)]));
    session::save(ctx, sess).await?;
    Ok(AuthorizeNext::Redirect(to))
}

/// Whether the application's policy bindings admit the user, with their messages
/// ([`crate::flows::policy::application_admits`], which the user's library asks too). As in
/// authentik, the policies see the requested scopes as `request.context["oauth_scopes"]`.
async fn application_admits(
    ac: AuthorizeContext<'_>,
    client_ip: &str,
    user_id: &str,
    app: &Application,
    scopes: &[String],
) -> PolicyResult {
    let env = Env::new(ac.ctx(), client_ip, Some(user_id.to_string())).answering(ac.step.request);
    let extra =
        std::collections::BTreeMap::from([("oauth_scopes".to_string(), serde_json::json!(scopes))]);
    crate::flows::policy::application_admits(&env, user_id, app, extra).await
}

/// Parks the request and runs the provider's authorization flow. `None` when it completed at
/// once (no stage needed the user: implicit consent); else where the browser goes.
async fn run_authorization_flow(
    ac: AuthorizeContext<'_>,
    sess: &mut Session,
    client_ip: &str,
    v: &ValidatedAuthorize,
    app: &Application,
    pairs: Vec<(String, String)>,
) -> Result<Option<AuthorizeNext>, FlowError> {
    let ctx = ac.ctx();
    let authorization_flow = v.entry.provider.authorization_flow_id.as_deref();
    let Some(authz) = lookup::flow_slug(ctx, authorization_flow).await? else {
        return Ok(Some(page(
            "The provider has no authorization flow configured.",
        )));
    };
    let now = ctx.now();
    let rid = secrets::random_token(24);
    sess.data
        .oauth_pending
        .retain(|_, p| now - p.created_at < PARKED_LIFETIME);
    let parked = PendingAuthorization {
        params: pairs,
        created_at: now,
    };
    sess.data.oauth_pending.insert(rid.clone(), parked);
    sess.data.plans.remove(&authz);
    let permissions = consent_permissions(&v.entry.scope_mappings, &v.scopes);
    let mut extra: std::collections::BTreeMap<String, Value> =
        consent_context(&app.name, &permissions)
            .into_iter()
            .collect();
    extra.insert(OAUTH_REQUEST_KEY.to_string(), json!(rid));
    let start = Start {
        next: Some(format!("{AUTHORIZE_PATH}done/?rid={rid}")),
        application: Some(app.id.clone()),
        extra,
        allow_empty: true,
        ..Start::default()
    };
    let request = StepRequest::Show(start);
    let step = match run_step(ac.step, sess, client_ip, &authz, request).await {
        Ok(step) => step,
        Err(err) => {
            tracing::error!(error = %err, "authorization flow failed");
            return Ok(Some(page("The authorization flow failed; try again.")));
        }
    };
    if sess.data.oauth_done.remove(&rid) {
        sess.data.oauth_pending.remove(&rid);
        return Ok(None);
    }
    let denied = matches!(step.challenge.kind, ChallengeKind::AccessDenied { .. });
    if v.prompt_none || denied {
        sess.data.oauth_pending.remove(&rid);
        sess.data.plans.remove(&authz);
        session::save(ctx, sess).await?;
        return Ok(Some(if denied {
            client_error(v, "access_denied", "the authorization flow denied access")
        } else {
            client_error(
                v,
                "consent_required",
                "the user must approve this application",
            )
        }));
    }
    session::save(ctx, sess).await?;
    Ok(Some(AuthorizeNext::Redirect(format!("/if/flow/{authz}/"))))
}

/// Who the code or tokens are minted for.
struct Minting<'a> {
    user_id: &'a str,
    auth_time: i64,
    client_ip: &'a str,
}

/// Mints the code or tokens; a failure goes back to the client as its RFC 6749 error.
async fn mint(
    ac: AuthorizeContext<'_>,
    snapshot: &Snapshot,
    sess: &Session,
    v: &ValidatedAuthorize,
    who: Minting<'_>,
) -> AuthorizeNext {
    let grant = GrantContext {
        context: ac.ctx(),
        snapshot,
        evaluator: ac.evaluator,
    };
    let sid = sess.sid();
    let authorizer = Authorizer {
        user_id: who.user_id,
        session_id: Some(&sid),
        auth_time: who.auth_time,
        client_ip: who.client_ip,
    };
    match fulfil::complete(&grant, v, &authorizer).await {
        Ok(resp) => AuthorizeNext::Client(resp),
        Err(err) => client_error(v, err.code, &err.description),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(scope_name: &str, description: &str) -> ScopeMapping {
        ScopeMapping {
            id: format!("id-{scope_name}"),
            name: format!("mapping {scope_name}"),
            managed: None,
            scope_name: scope_name.into(),
            description: description.into(),
            expression: String::new(),
            created_at: 0,
            updated_at: 0,
            version: 1,
        }
    }

    #[test]
    fn consent_permissions_are_the_requested_mappings_by_scope_name() {
        let mappings = [
            mapping("profile", "General Profile Information"),
            mapping("openid", ""),
            mapping("email", "Email address"),
            mapping(
                "offline_access",
                "Access to request new tokens without interaction",
            ),
        ];
        let scopes = ["profile", "openid", "email"].map(String::from);
        let got = consent_permissions(&mappings, &scopes);
        let want = [
            ("email", "Email address"),
            ("openid", ""),
            ("profile", "General Profile Information"),
        ]
        .map(|(id, name)| ConsentPermission {
            id: id.into(),
            name: name.into(),
        });
        assert_eq!(got, want, "offline_access was not requested");
        assert!(consent_permissions(&mappings, &[]).is_empty());
    }

    #[test]
    fn consent_context_carries_authentiks_keys() {
        let perms = [ConsentPermission {
            id: "email".into(),
            name: "Email address".into(),
        }];
        let [(hk, hv), (pk, pv)] = consent_context("Kestra", &perms);
        assert_eq!(
            (hk.as_str(), hv),
            (CONSENT_HEADER, json!("You're about to sign into Kestra."))
        );
        assert_eq!(
            (pk.as_str(), pv),
            (
                CONSENT_PERMISSIONS,
                json!([{"id": "email", "name": "Email address"}])
            )
        );
    }
}
