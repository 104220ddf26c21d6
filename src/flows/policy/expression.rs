//! Expression policies: authentik's Python, compiled once per distinct text and evaluated in
//! the sandbox with the request's facts; store look-ups go through [`StoreHost`]. An error or
//! a limit fails the policy (the binding's `failure_result` decides, false by default).
//! The request's flow context is the plan's (`context["flow_plan"].context`): what the
//! expression writes there comes back as [`PlanWrite`]s, and the effects of an authentik
//! expression run natively (the initial-setup flow's "run once") are applied here.

use std::sync::LazyLock;
use std::time::Duration;

use super::facts::{StoreHost, request_facts};
use super::plan_writes::PlanWrite;
use super::{PolicyError, PolicyRequest, PolicyVerdict};
use crate::domain::ExpressionSettings;
use crate::expr::python::{self, Cache, Effect, Input, Limits, Signature};
use crate::flows::env::Env;
use crate::store::{self, Topic};

/// Compiled policies by text: the engine compiles each expression once per change.
static PROGRAMS: LazyLock<Cache> = LazyLock::new(Cache::default);

/// Evaluates the expression with authentik's `request`, `ak_*` helpers and limits no longer
/// than the binding's timeout. `ak_create_event` events are recorded as the policy's.
pub async fn passes(
    env: &Env,
    s: &ExpressionSettings,
    req: &PolicyRequest,
    timeout: Duration,
) -> Result<PolicyVerdict, PolicyError> {
    if s.expression.trim().is_empty() {
        return Err(PolicyError::Settings("no expression".into()));
    }
    let program = PROGRAMS.program(&s.expression, &Signature::policy())?;
    let mut request = request_facts(req, env);
    // In a flow the context is the plan's: `context["flow_plan"].context` is the same dict.
    request.plan_context = Some(std::mem::take(&mut request.context));
    let input = Input {
        request,
        now: env.now,
        ..Input::default()
    };
    let host = StoreHost { env, req, timeout };
    let outcome = python::evaluate(&program, &input, Limits::POLICY.within(timeout), &host).await;
    let (username, user_id) = match &req.user {
        Some(u) => (u.username.as_str(), Some(u.id.as_str())),
        None => ("", None),
    };
    for event in &outcome.events {
        env.event(
            &event.action,
            username,
            user_id,
            serde_json::Value::Object(event.context.clone()),
        )
        .await
        .map_err(|e| PolicyError::Flow(e.to_string()))?;
    }
    for line in &outcome.logs {
        if let Some(r) = env.recorder() {
            r.log(format!("[{}] {}", line.level, line.message));
        }
        tracing::info!(log_level = %line.level, message = %line.message, "expression policy log");
    }
    let passing = outcome
        .passing()
        .map_err(|e| PolicyError::Expr(e.clone()))?;
    for effect in &outcome.effects {
        apply_effect(env, effect).await?;
    }
    Ok(PolicyVerdict {
        passing,
        messages: outcome.messages,
        plan_writes: outcome
            .plan_changes
            .iter()
            .map(PlanWrite::from_change)
            .collect(),
    })
}

/// Applies what a natively run authentik expression asked for, in its own short write.
async fn apply_effect(env: &Env, effect: &Effect) -> Result<(), PolicyError> {
    match effect {
        Effect::SetFlowAuthentication {
            flow_slug,
            authentication,
        } => {
            let tx = env
                .write_tx("flow authentication")
                .await
                .map_err(|e| PolicyError::Flow(e.to_string()))?;
            let Some(mut tx) = tx else {
                return Ok(());
            };
            let Some(mut flow) = store::flows::get_by_slug(tx.conn(), flow_slug).await? else {
                // authentik's `.filter(...).update(...)` on no rows changes nothing either.
                return Ok(());
            };
            if flow.authentication == *authentication {
                return Ok(());
            }
            flow.authentication = *authentication;
            flow.updated_at = env.now;
            store::flows::update(tx.conn(), &flow).await?;
            tx.touch(Topic::Flows);
            tx.commit().await?;
            tracing::info!(flow = %flow_slug, ?authentication, "an expression policy changed the flow's authentication");
            Ok(())
        }
    }
}
