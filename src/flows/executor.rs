//! The executor: a state machine over the plan kept in the session. GET returns the current
//! challenge (planning when needed); POST hands the response to the current stage only when it
//! answers the current challenge, so an empty, malformed or out-of-order POST never advances.

use super::challenge::{Challenge, ChallengeKind, Response};
use super::context::{FlowContext, PLAN_VERSION, Plan, safe_next};
use super::env::{Effect, Env};
use super::flow_token;
use super::planner::{PlanOutcome, plan};
use super::policy::{PolicyRequest, evaluate_target, plan_writes};
use super::stages::{self, Reply, Show, StageCtx};
use super::{FlowError, FlowResult};
use crate::domain::{DeniedAction, Flow, FlowDesignation, InvalidResponseAction};
use crate::store;

/// The result of one request: the challenge to show and what the HTTP layer must do.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// What to render.
    pub challenge: Challenge,
    /// Session effects (login, logout).
    pub effects: Vec<Effect>,
}

/// What a client asks to start a flow with.
#[derive(Debug, Clone, Default)]
pub struct Start {
    /// The `next` parameter (kept only if it is a same-origin relative path).
    pub next: Option<String>,
    /// The application being accessed, by id.
    pub application: Option<String>,
    /// Extra context keys (the OAuth authorize endpoint marks its request here).
    pub extra: std::collections::BTreeMap<String, serde_json::Value>,
    /// Complete at once when no stage applies, instead of refusing.
    pub allow_empty: bool,
    /// The query parameters the flow was opened with (the HTML page's own, or the JSON
    /// executor's `query` parameter), kept in the plan's context.
    pub query: std::collections::BTreeMap<String, String>,
}

async fn load_flow(env: &Env, slug: &str) -> FlowResult<Flow> {
    let mut conn = env.store.read().await?;
    store::flows::get_by_slug(&mut conn, slug)
        .await?
        .ok_or_else(|| FlowError::NotFound(slug.to_string()))
}

pub(crate) fn title(flow: &Flow) -> String {
    flow.title.replace("%(app)s", "")
}

/// The title with authentik's `%(app)s` filled in with the application being accessed (the
/// default authorization flows are titled "Redirecting to %(app)s").
pub(crate) async fn title_for(env: &Env, flow: &Flow, context: &FlowContext) -> FlowResult<String> {
    if !flow.title.contains("%(app)s") {
        return Ok(flow.title.clone());
    }
    let name = match &context.application {
        Some(id) => {
            let mut conn = env.store.read().await?;
            store::applications::get(&mut conn, id)
                .await?
                .map(|a| a.name)
                .unwrap_or_default()
        }
        None => String::new(),
    };
    Ok(flow.title.replace("%(app)s", &name))
}

/// Paths that send a browser nobody is signed in to straight back to an authentication flow
/// (the authorize endpoint, the device-code page).
const SIGN_IN_FIRST: &[&str] = &["/application/o/authorize/", "/device"];

/// Whether continuing to `next` after a denial would come straight back to `flow`: an
/// authentication flow denied while nobody is signed in, continuing to a page that asks for a
/// sign-in first (or to the flow itself) — the endless 303 loop of issue 15.
fn would_come_back(env: &Env, flow: &Flow, next: &str) -> bool {
    let own = format!("/if/flow/{}/", flow.slug);
    flow.designation == FlowDesignation::Authentication
        && env.session_user.is_none()
        && (next.starts_with(&own) || SIGN_IN_FIRST.iter().any(|p| next.starts_with(p)))
}

/// The challenge of a denied flow (`denied_action`); a continuation that would come straight
/// back ([`would_come_back`]) ends on the message page instead.
pub fn denied(
    env: &Env,
    flow: &Flow,
    messages: Vec<String>,
    redirect: Option<String>,
) -> Challenge {
    let loops = redirect
        .as_deref()
        .is_some_and(|next| would_come_back(env, flow, next));
    let kind = match (flow.denied_action, redirect) {
        (DeniedAction::Continue | DeniedAction::MessageContinue, Some(_)) if loops => {
            ChallengeKind::AccessDenied {
                error_message: denial_message(&messages),
            }
        }
        (DeniedAction::Continue, r) => ChallengeKind::Redirect {
            to: r.unwrap_or_else(|| "/".into()),
        },
        (DeniedAction::MessageContinue, Some(to)) => ChallengeKind::Redirect { to },
        _ => ChallengeKind::AccessDenied {
            error_message: messages.join(" "),
        },
    };
    Challenge::for_flow(kind, flow, &title(flow))
}

/// The message page's text: the policies' messages, else that the flow was denied.
fn denial_message(messages: &[String]) -> String {
    if messages.is_empty() {
        "Flow does not apply to current user.".into()
    } else {
        messages.join(" ")
    }
}

/// Starts a fresh plan into `slot`; returns a challenge instead when the flow is denied.
async fn start(
    env: &Env,
    flow: &Flow,
    slot: &mut Option<Plan>,
    context: FlowContext,
) -> FlowResult<Option<Challenge>> {
    let redirect = context.redirect.clone();
    let pending = pending_user_name(env, Some(&context), env.session_user.as_deref()).await?;
    match plan(env, flow, context).await? {
        PlanOutcome::Planned(p) => {
            *slot = Some(*p);
            Ok(None)
        }
        PlanOutcome::Denied(messages) => {
            *slot = None;
            Ok(Some(
                denied(env, flow, messages, redirect).with_pending_user(pending),
            ))
        }
    }
}

fn usable(slot: &Option<Plan>, flow: &Flow) -> bool {
    slot.as_ref()
        .is_some_and(|p| p.version == PLAN_VERSION && p.flow_id == flow.id)
}

/// GET: the current challenge, planning the flow first when no plan is in the session.
pub async fn get(
    env: &Env,
    slug: &str,
    slot: &mut Option<Plan>,
    start_with: Start,
) -> FlowResult<Step> {
    let flow = load_flow(env, slug).await?;
    let mut effects = Vec::new();
    if !usable(slot, &flow) {
        let ctx = FlowContext {
            redirect: start_with.next.as_deref().and_then(safe_next),
            application: start_with.application,
            extra: start_with.extra,
            allow_empty: start_with.allow_empty,
            query: start_with.query,
            client_ip: env.client_ip.clone(),
            ..Default::default()
        };
        if let Some(c) = start(env, &flow, slot, ctx).await? {
            return Ok(Step {
                challenge: c,
                effects,
            });
        }
    }
    let challenge = advance(env, &flow, slot, &mut effects).await?;
    Ok(Step { challenge, effects })
}

/// GET with a flow token's key (`?flow_token=`): resumes the plan the token stored (once),
/// replacing the session's; a key that resumes nothing ends on a message saying why.
pub async fn resume(env: &Env, slug: &str, slot: &mut Option<Plan>, key: &str) -> FlowResult<Step> {
    let flow = load_flow(env, slug).await?;
    let mut effects = Vec::new();
    match flow_token::restore(env, &flow, key, slot.as_ref()).await? {
        Ok(plan) => *slot = Some(plan),
        Err(refusal) => {
            *slot = None;
            let kind = ChallengeKind::AccessDenied {
                error_message: refusal.message().into(),
            };
            return Ok(Step {
                challenge: Challenge::for_flow(kind, &flow, &title(&flow)),
                effects,
            });
        }
    }
    let challenge = advance(env, &flow, slot, &mut effects).await?;
    Ok(Step { challenge, effects })
}

/// POST: applies the response to the current stage and moves on.
pub async fn post(
    env: &Env,
    slug: &str,
    slot: &mut Option<Plan>,
    response: Response,
) -> FlowResult<Step> {
    let flow = load_flow(env, slug).await?;
    let mut effects = Vec::new();
    if !usable(slot, &flow) {
        // No plan: the response answers nothing. Plan and show the first challenge.
        let mut step = get(env, slug, slot, Start::default()).await?;
        step.challenge = step.challenge.with_error(
            "non_field_errors",
            "The flow was restarted; please try again.",
        );
        return Ok(step);
    }
    let current = advance(env, &flow, slot, &mut effects).await?;
    let terminal = matches!(
        current.kind,
        ChallengeKind::Redirect { .. } | ChallengeKind::AccessDenied { .. }
    );
    if terminal || slot.is_none() {
        return Ok(Step {
            challenge: current,
            effects,
        });
    }
    if response.component.as_deref() != Some(current.kind.component()) {
        return Ok(Step {
            challenge: current.with_error("non_field_errors", "Invalid response for this stage."),
            effects,
        });
    }
    let Some(plan_ref) = slot.as_mut() else {
        return Ok(Step {
            challenge: current,
            effects,
        });
    };
    let Some(ps) = plan_ref.current().cloned() else {
        return Ok(Step {
            challenge: current,
            effects,
        });
    };
    let stage = stages::load(env, &ps.stage_id).await?;
    let reply = {
        let mut sc = StageCtx {
            env,
            flow: &flow,
            stage: &stage,
            plan: plan_ref,
            effects: &mut effects,
        };
        stages::respond(&mut sc, &response).await?
    };
    let challenge = match reply {
        Reply::Next => {
            plan_ref.index += 1;
            advance(env, &flow, slot, &mut effects).await?
        }
        Reply::Invalid { field, message } => {
            let restart_with = match ps.invalid_response_action {
                InvalidResponseAction::Retry => None,
                InvalidResponseAction::Restart => Some(plan_ref.initial_context.clone()),
                InvalidResponseAction::RestartWithContext => Some(plan_ref.context.clone()),
            };
            let invalid = Invalid {
                restart_with,
                field: &field,
                message: &message,
            };
            invalid.challenge(env, &flow, slot, &mut effects).await?
        }
        Reply::Deny(message) => {
            let session_user = session_user_after(env.session_user.clone(), &effects);
            let pending =
                pending_user_name(env, Some(&plan_ref.context), session_user.as_deref()).await?;
            *slot = None;
            let kind = ChallengeKind::AccessDenied {
                error_message: message,
            };
            Challenge::for_flow(kind, &flow, &title(&flow)).with_pending_user(pending)
        }
    };
    Ok(Step { challenge, effects })
}

/// An invalid response, and the context to restart the flow with (`None`: retry the stage).
struct Invalid<'a> {
    restart_with: Option<FlowContext>,
    field: &'a str,
    message: &'a str,
}

impl Invalid<'_> {
    /// The challenge after the invalid response (`invalid_response_action`): the same stage
    /// again, or the flow from its start, with the error at the field.
    async fn challenge(
        self,
        env: &Env,
        flow: &Flow,
        slot: &mut Option<Plan>,
        effects: &mut Vec<Effect>,
    ) -> FlowResult<Challenge> {
        if let Some(ctx) = self.restart_with
            && let Some(denied) = start(env, flow, slot, ctx).await?
        {
            return Ok(denied);
        }
        let challenge = advance(env, flow, slot, effects).await?;
        Ok(challenge.with_error(self.field, self.message))
    }
}

/// Who a denied flow was for, as authentik names them on its access-denied challenge: the
/// identifier the user typed, else the pending user's username, else the session user's;
/// empty for an anonymous visitor (or a user deleted meanwhile).
async fn pending_user_name(
    env: &Env,
    context: Option<&FlowContext>,
    session_user: Option<&str>,
) -> FlowResult<String> {
    if let Some(typed) = context.and_then(|c| c.pending_user_identifier.clone()) {
        return Ok(typed);
    }
    let Some(user_id) = context
        .and_then(|c| c.pending_user.as_deref())
        .or(session_user)
    else {
        return Ok(String::new());
    };
    let mut conn = env.store.read().await?;
    Ok(store::users::get(&mut conn, user_id)
        .await?
        .map(|u| u.username)
        .unwrap_or_default())
}

/// The session's user once `effects` (logins, logouts) apply.
fn session_user_after(mut user: Option<String>, effects: &[Effect]) -> Option<String> {
    for effect in effects {
        match effect {
            Effect::Login { user_id, .. } => user = Some(user_id.clone()),
            Effect::Logout => user = None,
            Effect::Completed(_) | Effect::Declined(_) | Effect::StartPlan { .. } => {}
        }
    }
    user
}

/// Moves past stages that need no input (re-evaluating policies first) and returns the first
/// challenge, or the final redirect when the plan is done.
async fn advance(
    env: &Env,
    flow: &Flow,
    slot: &mut Option<Plan>,
    effects: &mut Vec<Effect>,
) -> FlowResult<Challenge> {
    let mut env = env.clone();
    env.session_user = session_user_after(env.session_user.clone(), effects);
    loop {
        let Some(plan_ref) = slot.as_mut() else {
            let kind = ChallengeKind::AccessDenied {
                error_message: "No flow in progress.".into(),
            };
            let pending = pending_user_name(&env, None, env.session_user.as_deref()).await?;
            return Ok(Challenge::for_flow(kind, flow, &title(flow)).with_pending_user(pending));
        };
        let Some(ps) = plan_ref.current().cloned() else {
            let to = plan_ref
                .context
                .redirect
                .clone()
                .unwrap_or_else(|| "/".into());
            effects.push(Effect::Completed(Box::new(plan_ref.context.clone())));
            *slot = None;
            return Ok(Challenge::for_flow(
                ChallengeKind::Redirect { to },
                flow,
                &title(flow),
            ));
        };
        if !ps.admitted {
            if ps.re_evaluate_policies && !ps.binding_id.is_empty() {
                let user = plan_ref
                    .context
                    .pending_user
                    .clone()
                    .or_else(|| env.session_user.clone());
                let req = PolicyRequest::load(&env, user.as_deref(), &plan_ref.context).await?;
                let r = evaluate_target(&env, &ps.binding_id, ps.policy_engine_mode, &req).await?;
                plan_writes::apply(&mut plan_ref.context, &r.plan_writes);
                if !r.passing {
                    plan_ref.index += 1;
                    continue;
                }
            }
            if let Some(s) = plan_ref.stages.get_mut(plan_ref.index) {
                s.admitted = true;
            }
        }
        let stage = stages::load(&env, &ps.stage_id).await?;
        let show = {
            let mut sc = StageCtx {
                env: &env,
                flow,
                stage: &stage,
                plan: plan_ref,
                effects,
            };
            stages::challenge(&mut sc).await?
        };
        match show {
            Show::Challenge(ChallengeKind::Redirect { to }) => {
                *slot = None;
                return Ok(Challenge::for_flow(
                    ChallengeKind::Redirect { to },
                    flow,
                    &title(flow),
                ));
            }
            Show::Challenge(kind) => {
                let title = title_for(&env, flow, &plan_ref.context).await?;
                return Ok(Challenge::for_flow(kind, flow, &title));
            }
            Show::Next => {
                plan_ref.index += 1;
                env.session_user = session_user_after(env.session_user.clone(), effects);
            }
            Show::Deny(message) => {
                let session_user = env.session_user.clone();
                let pending =
                    pending_user_name(&env, Some(&plan_ref.context), session_user.as_deref())
                        .await?;
                *slot = None;
                let kind = ChallengeKind::AccessDenied {
                    error_message: message,
                };
                return Ok(Challenge::for_flow(kind, flow, &title(flow)).with_pending_user(pending));
            }
        }
    }
}
