//! One flow executor step on a browser session, as the flow pages, the flow JSON API, the
//! authorize endpoint and the `/device` pages run it: the plan kept in the session goes one step,
//! the step's effects are applied to the session (login under a new id; logout, which first
//! finds the front-channel relying parties and then tells the back-channel ones), a parked
//! authorization request whose flow completed is marked done (or declined, when the user denied
//! consent: the browser is then sent back to where the request is answered), and the session is
//! saved. Every session write's error is returned.

use serde_json::Value;

use super::SnapshotCache;
use super::flow_history;
use super::logout;
use crate::context::{Context, EventSubject};
use crate::flows::executor::{self, Start, Step};
use crate::flows::session::{self, Login, Session};
use crate::flows::{
    Challenge, ChallengeKind, Effect, Env, FlowContext, FlowError, LogoutFrame, Response,
};
use crate::store::StoreResult;

/// The flow context key under which the authorize endpoint and the device pages mark their
/// parked request (its id), so the step that completes the flow can mark it done.
pub const OAUTH_REQUEST_KEY: &str = "goauthentik.io/providers/oauth2/request";

/// The component of the front-channel logout page (authentik's injected logout stage).
const IFRAME_LOGOUT: &str = "ak-provider-iframe-logout";

/// One executor call.
#[derive(Debug, Clone)]
pub enum StepRequest {
    /// Show the current challenge (planning when needed).
    Show(Start),
    /// Submit a response to the current challenge.
    Answer(Response),
    /// Resume the plan a flow token stored (the key from `?flow_token=`).
    Resume(String),
}

/// What a step runs against: the handle and the provider snapshot (for front-channel logout).
#[derive(Clone, Copy)]
pub struct StepContext<'a> {
    /// Store, clock, configuration.
    pub ctx: &'a Context,
    /// The providers, to find the front-channel relying parties of a session that ends.
    pub snapshots: &'a SnapshotCache,
    /// The HTTP request the step answers, for expressions (`request.http_request`).
    pub request: Option<&'a crate::flows::RequestInfo>,
}

impl StepContext<'_> {
    /// The host the request named (it picks the brand), `None` outside HTTP.
    pub fn host(&self) -> Option<&str> {
        self.request.and_then(|r| r.host())
    }
}

/// Ends the browser session (a fresh anonymous one replaces it) and tells the relying parties
/// with a back-channel logout URI that it ended.
pub async fn sign_out(ctx: &Context, sess: &mut Session) -> StoreResult<()> {
    if let Some(sid) = session::logout(ctx, sess).await? {
        logout::session_ended(ctx, &sid).await;
    }
    Ok(())
}

/// Ends a session whose request came from outside the network its login bound it to (a fresh
/// anonymous session replaces it, the relying parties are told) and records authentik's
/// `logout` event with why; a session whose binding holds is left alone.
pub async fn end_if_binding_broken(ctx: &Context, sess: &mut Session) -> StoreResult<()> {
    let Some(broken) = sess.binding_broken() else {
        return Ok(());
    };
    let subject = EventSubject {
        user_id: sess.user_id.clone(),
        client_ip: broken.new_ip.clone(),
        ..Default::default()
    };
    sign_out(ctx, sess).await?;
    if let Err(e) = ctx
        .record_event(crate::flows::actions::LOGOUT, subject, broken.to_event())
        .await
    {
        tracing::warn!(error = %e, "cannot record the logout of a broken session binding");
    }
    Ok(())
}

/// Runs one step for `slug` on the session's plan, applies its effects and saves the session.
pub async fn run_step(
    sc: StepContext<'_>,
    sess: &mut Session,
    client_ip: &str,
    slug: &str,
    request: StepRequest,
) -> Result<Step, FlowError> {
    let ctx = sc.ctx;
    // Answering the front-channel logout page goes on to where the flow was going.
    let request = match request {
        StepRequest::Answer(resp) if resp.component.as_deref() == Some(IFRAME_LOGOUT) => {
            if let Some(to) = sess.data.logout_continue.take() {
                session::save(ctx, sess).await?;
                return Ok(Step {
                    challenge: Challenge::new(ChallengeKind::Redirect { to }, "", slug),
                    effects: Vec::new(),
                });
            }
            StepRequest::Show(Start::default())
        }
        other => other,
    };
    let env = Env::new(ctx, client_ip, sess.user_id.clone()).answering(sc.request);
    let mut slot = sess.data.plans.remove(slug);
    let before = flow_history::before(&slot, ctx.now());
    let mut step = match request {
        StepRequest::Show(start) => executor::get(&env, slug, &mut slot, start).await?,
        StepRequest::Answer(resp) => executor::post(&env, slug, &mut slot, resp).await?,
        StepRequest::Resume(key) => executor::resume(&env, slug, &mut slot, &key).await?,
    };
    let finished = flow_history::after(
        before,
        &mut slot,
        &step.effects,
        &step.challenge.kind,
        ctx.now(),
    );
    if let Some(plan) = slot {
        sess.data.plans.insert(slug.to_string(), plan);
    }
    let logout_frames = apply_effects(sc, sess, &step.effects).await?;
    if !logout_frames.is_empty() {
        step.challenge = frontchannel_logout(sess, step.challenge, logout_frames);
    }
    if let Some(to) = declined_return(&step.effects) {
        // The browser goes back to where the parked request is answered (access_denied).
        step.challenge = step.challenge.replaced(ChallengeKind::Redirect { to });
    }
    session::save(ctx, sess).await?;
    if let Some(finished) = finished {
        record_execution(ctx, sess, client_ip, slug, &finished).await;
    }
    Ok(step)
}

/// Records the `flow_execution` event of an execution that ended (authentik's "Flow
/// execution"): its plan and history. A failure to record is logged; the step stands.
async fn record_execution(
    ctx: &Context,
    sess: &Session,
    client_ip: &str,
    slug: &str,
    finished: &flow_history::Finished,
) {
    let subject = EventSubject {
        user_id: sess.user_id.clone(),
        client_ip: client_ip.to_string(),
        ..Default::default()
    };
    let context = finished.event_context(slug);
    if let Err(e) = ctx.record_event("flow_execution", subject, context).await {
        tracing::warn!(error = %e, flow = slug, "cannot record flow_execution");
    }
}

/// Applies a step's effects to the session; returns the front-channel logout URLs of a session
/// that a logout ended.
async fn apply_effects(
    sc: StepContext<'_>,
    sess: &mut Session,
    effects: &[Effect],
) -> Result<Vec<LogoutFrame>, FlowError> {
    let mut logout_frames = Vec::new();
    for effect in effects {
        match effect {
            Effect::Login {
                user_id,
                session_duration,
                terminate_other_sessions,
                network_binding,
            } => {
                let login = Login {
                    user_id,
                    session_duration: *session_duration,
                    terminate_other_sessions: *terminate_other_sessions,
                    network_binding: *network_binding,
                };
                session::login(sc.ctx, sess, login).await?;
            }
            Effect::Logout => {
                // Front-channel parties are found by the session's tokens, so before it ends.
                if sess.user_id.is_some()
                    && let Ok(snapshot) = sc.snapshots.get().await
                {
                    logout_frames = logout::frontchannel_urls(sc.ctx, &snapshot, &sess.sid()).await;
                }
                sign_out(sc.ctx, sess).await?;
            }
            Effect::Completed(context) => {
                if let Some(id) = parked_request(context) {
                    sess.data.oauth_done.insert(id.to_string());
                }
            }
            Effect::Declined(context) => {
                if let Some(id) = parked_request(context) {
                    sess.data.oauth_declined.insert(id.to_string());
                }
            }
            Effect::StartPlan { slug, plan } => {
                sess.data.plans.insert(slug.clone(), (**plan).clone());
            }
        }
    }
    Ok(logout_frames)
}

/// The parked request (authorize endpoint or `/device`) a flow's context carries, by id.
fn parked_request(context: &FlowContext) -> Option<&str> {
    context.extra.get(OAUTH_REQUEST_KEY).and_then(Value::as_str)
}

/// Where a flow the user declined goes: back to its parked request's return URL, which
/// answers the request as denied. `None` when no request is parked (the denied page stays).
fn declined_return(effects: &[Effect]) -> Option<String> {
    effects.iter().find_map(|e| match e {
        Effect::Declined(context) if parked_request(context).is_some() => context.redirect.clone(),
        _ => None,
    })
}

/// authentik injects its iframe logout stage after a logout that ended a session relying
/// parties had tokens in; the page then goes on to where the flow was going (its redirect), or
/// back to the flow.
fn frontchannel_logout(
    sess: &mut Session,
    challenge: Challenge,
    logout_urls: Vec<LogoutFrame>,
) -> Challenge {
    sess.data.logout_continue = match &challenge.kind {
        ChallengeKind::Redirect { to } => Some(to.clone()),
        _ => None,
    };
    let title = match challenge.title.as_str() {
        "" => "Signing out".to_string(),
        t => t.to_string(),
    };
    Challenge {
        title,
        ..challenge.replaced(ChallengeKind::ProviderIframeLogout { logout_urls })
    }
}
