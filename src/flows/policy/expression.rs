//! Expression policies: authentik's Python, compiled once per distinct text and evaluated in
//! the sandbox with the request's facts; store look-ups go through [`StoreHost`]. An error or
//! a limit fails the policy (the binding's `failure_result` decides, false by default).

use std::sync::LazyLock;
use std::time::Duration;

use super::facts::{StoreHost, request_facts};
use super::{PolicyError, PolicyRequest};
use crate::domain::ExpressionSettings;
use crate::expr::python::{self, Cache, Input, Limits, Signature};
use crate::flows::env::Env;

/// Compiled policies by text: the engine compiles each expression once per change.
static PROGRAMS: LazyLock<Cache> = LazyLock::new(Cache::default);

/// Evaluates the expression with authentik's `request`, `ak_*` helpers and limits no longer
/// than the binding's timeout. `ak_create_event` events are recorded as the policy's.
pub async fn passes(
    env: &Env,
    s: &ExpressionSettings,
    req: &PolicyRequest,
    timeout: Duration,
) -> Result<(bool, Vec<String>), PolicyError> {
    if s.expression.trim().is_empty() {
        return Err(PolicyError::Settings("no expression".into()));
    }
    let program = PROGRAMS.program(&s.expression, &Signature::policy())?;
    let input = Input {
        request: request_facts(req, env),
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
        tracing::info!(log_level = %line.level, message = %line.message, "expression policy log");
    }
    let passing = outcome
        .passing()
        .map_err(|e| PolicyError::Expr(e.clone()))?;
    Ok((passing, outcome.messages))
}
