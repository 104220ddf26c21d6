//! The planner: checks who may start the flow, evaluates the flow's policies, and walks the
//! stage bindings in order (`evaluate_on_plan` now, `re_evaluate_policies` marked for later).

use serde_json::json;

use super::context::{FlowContext, PLAN_VERSION, Plan, PlannedStage};
use super::env::Env;
use super::policy::PolicyResult;
use super::policy::{PolicyRequest, evaluate_target, plan_writes};
use super::{FlowResult, actions};
use crate::domain::{Flow, FlowAuthentication};
use crate::store;

/// The planner's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanOutcome {
    /// A plan to execute.
    Planned(Box<Plan>),
    /// The flow does not apply; messages say why.
    Denied(Vec<String>),
}

/// Plans `flow` for the context (the user is `pending_user`, else the session's user).
/// What the policies write into the plan's context (`context["flow_plan"].context`) is kept.
pub async fn plan(env: &Env, flow: &Flow, mut context: FlowContext) -> FlowResult<PlanOutcome> {
    if let Some(reason) = check_authentication(env, flow, &context).await? {
        return Ok(PlanOutcome::Denied(vec![reason]));
    }
    let user_id = context
        .pending_user
        .clone()
        .or_else(|| env.session_user.clone());
    let req = PolicyRequest::load(env, user_id.as_deref(), &context).await?;
    let flow_result = evaluate_target(env, &flow.id, flow.policy_engine_mode, &req).await?;
    if !flow_result.passing {
        record_denial(env, flow, &req, &flow_result).await?;
        let mut messages = flow_result.messages;
        if messages.is_empty() {
            messages.push("Flow does not apply to current user.".into());
        }
        return Ok(PlanOutcome::Denied(messages));
    }
    plan_writes::apply(&mut context, &flow_result.plan_writes);
    let bindings = {
        let mut conn = env.store.read().await?;
        store::flows::bindings_of(&mut conn, &flow.id).await?
    };
    let mut stages = Vec::new();
    for b in bindings {
        if b.evaluate_on_plan {
            let r = evaluate_target(env, &b.id, b.policy_engine_mode, &req).await?;
            plan_writes::apply(&mut context, &r.plan_writes);
            if !r.passing {
                continue;
            }
        }
        stages.push(PlannedStage {
            binding_id: b.id,
            stage_id: b.stage_id,
            re_evaluate_policies: b.re_evaluate_policies,
            invalid_response_action: b.invalid_response_action,
            policy_engine_mode: b.policy_engine_mode,
            admitted: false,
        });
    }
    if stages.is_empty() && !context.allow_empty {
        return Ok(PlanOutcome::Denied(vec![
            "Flow does not apply to current user.".into(),
        ]));
    }
    // As authentik's planner: a signed-in user is the pending user unless the caller set one
    // (a user settings flow writes to the user who runs it).
    if context.pending_user.is_none() {
        context.pending_user = user_id;
    }
    Ok(PlanOutcome::Planned(Box::new(Plan {
        version: PLAN_VERSION,
        flow_id: flow.id.clone(),
        flow_slug: flow.slug.clone(),
        stages,
        index: 0,
        initial_context: context.clone(),
        context,
        scratch: Default::default(),
    })))
}

/// Records which of the flow's bindings denied it (`policy_execution`), so an admin can tell
/// why a flow refused someone without reproducing it.
async fn record_denial(
    env: &Env,
    flow: &Flow,
    req: &PolicyRequest,
    result: &PolicyResult,
) -> FlowResult<()> {
    let failing: Vec<_> = result
        .bindings
        .iter()
        .filter(|b| !b.passing)
        .map(|b| json!({"binding": b.binding_id, "subject": b.subject}))
        .collect();
    let (username, user_id) = match &req.user {
        Some(u) => (u.username.as_str(), Some(u.id.as_str())),
        None => ("", None),
    };
    let context = json!({
        "flow": flow.slug,
        "denied": true,
        "bindings": failing,
        "messages": result.messages,
    });
    env.event(actions::POLICY_EXECUTION, username, user_id, context)
        .await
}

/// authentik's `_check_authentication`: `Some(reason)` when the flow may not start.
async fn check_authentication(
    env: &Env,
    flow: &Flow,
    context: &FlowContext,
) -> FlowResult<Option<String>> {
    let reason = match flow.authentication {
        FlowAuthentication::None => None,
        FlowAuthentication::RequireAuthenticated => env
            .session_user
            .is_none()
            .then(|| "Flow requires authentication.".to_string()),
        FlowAuthentication::RequireUnauthenticated => env
            .session_user
            .is_some()
            .then(|| "Flow requires unauthenticated user.".to_string()),
        FlowAuthentication::RequireSuperuser => {
            let is_super = match &env.session_user {
                Some(id) => {
                    let mut conn = env.store.read().await?;
                    store::groups::is_superuser(&mut conn, id).await?
                }
                None => false,
            };
            (!is_super).then(|| "Flow requires superuser.".to_string())
        }
        FlowAuthentication::RequireRedirect => context
            .redirect
            .is_none()
            .then(|| "Flow requires redirect.".to_string()),
        FlowAuthentication::RequireOutpost => Some("Flow requires an outpost.".to_string()),
    };
    Ok(reason)
}
