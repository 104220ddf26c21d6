//! The policy engine: evaluates the bindings on a target (flow, stage binding, application) for
//! a user and a context. Each binding has order, enabled, negate (messages are not negated),
//! timeout and failure_result; a policy that errors or times out yields `failure_result` (false
//! by default: fail closed) and records `policy_exception`.

mod application;
mod dummy;
pub mod event_matcher;
mod expression;
mod facts;
mod group;
mod hibp;
mod password;
pub mod plan_writes;
mod reputation;

use std::time::Duration;

use serde_json::json;

use super::context::FlowContext;
use super::env::Env;
use super::recorder::PolicyTrace;
use super::{FlowResult, actions};
use crate::domain::{BindingSubject, Policy, PolicyEngineMode, PolicySettings, User};
use crate::expr::python::UserFacts;
use crate::store::{self, authenticators, logins};

pub use application::application_admits;
pub use facts::{StoreHost, request_facts};
pub use reputation::{REPUTATION_TTL, record_failed_login, record_successful_login};

/// Why one policy could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The settings are unusable.
    #[error("policy settings are invalid: {0}")]
    Settings(String),
    /// A Python expression was refused or failed (with its line, or the limit it hit).
    #[error("expression failed: {0}")]
    Expr(#[from] crate::expr::python::ExprError),
    /// The store failed.
    #[error("store error: {0}")]
    Store(String),
    /// The flow machinery failed (recording an expression's event).
    #[error("{0}")]
    Flow(String),
    /// The binding's timeout passed.
    #[error("policy timed out")]
    Timeout,
    /// A service the policy must ask gave no answer (the password policy's breach check);
    /// the policy neither passes nor fails silently.
    #[error("the password check service is unreachable: {0}")]
    Unavailable(String),
}

impl PolicyError {
    /// What a stage shows the user for this error: the unreachable service is named (the
    /// detail is in the `configuration_error` event), anything else is "Validation failed.".
    pub fn user_message(&self) -> &'static str {
        match self {
            PolicyError::Unavailable(_) => {
                "The password check service is unreachable; try again later or ask an administrator."
            }
            _ => "Validation failed.",
        }
    }
}

impl From<store::StoreError> for PolicyError {
    fn from(e: store::StoreError) -> Self {
        PolicyError::Store(e.to_string())
    }
}

/// The outcome of evaluating a target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyResult {
    /// Access granted.
    pub passing: bool,
    /// Messages for the user.
    pub messages: Vec<String>,
    /// What the target's expression policies wrote into the flow plan's context, in order;
    /// the caller applies them to its plan with [`plan_writes::apply`].
    pub plan_writes: Vec<plan_writes::PlanWrite>,
    /// Each enabled binding's counted result, in order (which binding decided a denial).
    pub bindings: Vec<BindingOutcome>,
}

/// One binding's counted result (after negation), for saying who denied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BindingOutcome {
    /// The binding.
    pub binding_id: String,
    /// `policy <name>`, `group <id>` or `user <id>`.
    pub subject: String,
    /// What counted.
    pub passing: bool,
}

/// One policy's answer: pass or not, its messages, and what it wrote into the flow plan's
/// context (only expression policies write).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyVerdict {
    /// The policy passed (before the binding's negation).
    pub passing: bool,
    /// Messages for the user.
    pub messages: Vec<String>,
    /// Writes into the plan's context, for the plan's holder to apply.
    pub plan_writes: Vec<plan_writes::PlanWrite>,
}

impl From<(bool, Vec<String>)> for PolicyVerdict {
    fn from((passing, messages): (bool, Vec<String>)) -> Self {
        Self {
            passing,
            messages,
            plan_writes: Vec::new(),
        }
    }
}

/// What a policy looks at.
#[derive(Debug, Clone)]
pub struct PolicyRequest {
    /// The user (pending user, else the session's user).
    pub user: Option<User>,
    /// Group names of the user (for expressions).
    pub groups: Vec<String>,
    /// Confirmed authenticators of the user.
    pub authenticators: i64,
    /// The flow context.
    pub context: FlowContext,
    /// The user as Python expressions see it (groups with attributes, authenticators).
    pub expr_user: Option<UserFacts>,
    /// How many `ak_call_policy` calls deep this evaluation is (0 for a binding's policy).
    pub call_depth: u8,
}

impl PolicyRequest {
    /// Loads the user facts policies need.
    pub async fn load(env: &Env, user_id: Option<&str>, context: &FlowContext) -> FlowResult<Self> {
        let mut conn = env.store.read().await?;
        let (user, groups, authenticators) = match user_id {
            Some(id) => (
                store::users::get(&mut conn, id).await?,
                logins::group_names(&mut conn, id).await?,
                authenticators::count_confirmed(&mut conn, id).await?,
            ),
            None => (None, Vec::new(), 0),
        };
        let expr_user = match &user {
            Some(u) => Some(facts::user_facts(&mut conn, u).await?),
            None => None,
        };
        Ok(Self {
            user,
            groups,
            authenticators,
            context: context.clone(),
            expr_user,
            call_depth: 0,
        })
    }
}

/// Evaluates one policy (no binding options applied).
pub async fn evaluate_policy(
    env: &Env,
    policy: &Policy,
    req: &PolicyRequest,
    timeout: Duration,
) -> Result<(bool, Vec<String>), PolicyError> {
    evaluate_policy_verdict(env, policy, req, timeout)
        .await
        .map(|v| (v.passing, v.messages))
}

/// Evaluates one policy (no binding options applied), with what it wrote into the plan.
pub async fn evaluate_policy_verdict(
    env: &Env,
    policy: &Policy,
    req: &PolicyRequest,
    timeout: Duration,
) -> Result<PolicyVerdict, PolicyError> {
    match &policy.settings {
        PolicySettings::Expression(s) => expression::passes(env, s, req, timeout).await,
        PolicySettings::GroupMembership(s) => group::passes(env, s, req).await.map(Into::into),
        PolicySettings::Password(s) => password::passes(env, &policy.name, s, req)
            .await
            .map(Into::into),
        PolicySettings::Reputation(s) => reputation::passes(env, s, req).await.map(Into::into),
        PolicySettings::Dummy(s) => dummy::passes(s).await.map(Into::into),
        // The notifier (and the policy tester) put the event in the request context; a flow
        // has none, so the policy fails there, as authentik's does.
        PolicySettings::EventMatcher(s) => Ok(event_matcher::matches(
            s,
            req.context.extra.get(event_matcher::EVENT_KEY),
        )),
    }
}

/// Evaluates every enabled binding of `target_id` in order and combines them by `mode`.
/// No enabled bindings means pass (authentik's rule for flows and stages).
pub async fn evaluate_target(
    env: &Env,
    target_id: &str,
    mode: PolicyEngineMode,
    req: &PolicyRequest,
) -> FlowResult<PolicyResult> {
    evaluate_target_or(env, target_id, mode, true, req).await
}

/// [`evaluate_target`] with the answer for no enabled bindings given (authentik's
/// `empty_result`: a notification rule without policies matches nothing).
pub async fn evaluate_target_or(
    env: &Env,
    target_id: &str,
    mode: PolicyEngineMode,
    empty_result: bool,
    req: &PolicyRequest,
) -> FlowResult<PolicyResult> {
    let bindings = {
        let mut conn = env.store.read().await?;
        store::policies::bindings_of(&mut conn, target_id).await?
    };
    let mut results = Vec::new();
    let mut messages = Vec::new();
    let mut plan_writes = Vec::new();
    let mut outcomes = Vec::new();
    for b in bindings.iter().filter(|b| b.enabled) {
        let started = std::time::Instant::now();
        let mut trace = PolicyTrace {
            target: target_id.to_string(),
            binding_id: b.id.clone(),
            negate: b.negate,
            ..PolicyTrace::default()
        };
        let passing = match &b.subject {
            BindingSubject::User(id) => {
                trace.subject = format!("user {id}");
                req.user.as_ref().is_some_and(|u| &u.id == id)
            }
            BindingSubject::Group(id) => {
                trace.subject = format!("group {id}");
                match &req.user {
                    Some(u) => {
                        let mut conn = env.store.read().await?;
                        logins::in_group(&mut conn, &u.id, id).await?
                    }
                    None => false,
                }
            }
            BindingSubject::Policy(id) => {
                let verdict = bound_policy(env, b, id, req, &mut trace).await?;
                if let Some(v) = verdict {
                    messages.extend(v.messages);
                    plan_writes.extend(v.plan_writes);
                    v.passing
                } else {
                    b.failure_result
                }
            }
        };
        if trace.raw_passing.is_none() && trace.error.is_none() {
            trace.raw_passing = Some(passing);
        }
        let counted = if b.negate { !passing } else { passing };
        trace.passing = counted;
        trace.elapsed_us = started.elapsed().as_micros() as u64;
        outcomes.push(BindingOutcome {
            binding_id: b.id.clone(),
            subject: trace.subject.clone(),
            passing: counted,
        });
        if let Some(r) = env.recorder() {
            r.policy(trace);
        }
        results.push(counted);
    }
    let passing = if results.is_empty() {
        empty_result
    } else {
        match mode {
            PolicyEngineMode::Any => results.iter().any(|r| *r),
            PolicyEngineMode::All => results.iter().all(|r| *r),
        }
    };
    Ok(PolicyResult {
        passing,
        messages,
        plan_writes,
        bindings: outcomes,
    })
}

/// Evaluates a binding's policy with its timeout. `None` when it could not be evaluated (a
/// missing policy, an error, the timeout): the binding's `failure_result` counts, and an
/// error records `policy_exception`. The trace gets the subject, answer, messages, error.
async fn bound_policy(
    env: &Env,
    b: &crate::domain::PolicyBinding,
    policy_id: &str,
    req: &PolicyRequest,
    trace: &mut PolicyTrace,
) -> FlowResult<Option<PolicyVerdict>> {
    let policy = {
        let mut conn = env.store.read().await?;
        store::policies::get(&mut conn, policy_id).await?
    };
    let Some(policy) = policy else {
        trace.subject = format!("policy {policy_id} (missing)");
        trace.error = Some("the policy does not exist".into());
        return Ok(None);
    };
    trace.subject = format!("policy {}", policy.name);
    let timeout = Duration::from_secs(b.timeout.clamp(1, 300) as u64);
    let outcome =
        match tokio::time::timeout(timeout, evaluate_policy_verdict(env, &policy, req, timeout))
            .await
        {
            Ok(r) => r,
            Err(_) => Err(PolicyError::Timeout),
        };
    match outcome {
        Ok(verdict) => {
            trace.raw_passing = Some(verdict.passing);
            trace.messages = verdict.messages.clone();
            Ok(Some(verdict))
        }
        Err(err) => {
            tracing::warn!(policy = %policy.name, error = %err, "policy failed");
            trace.error = Some(err.to_string());
            if let PolicyError::Expr(e) = &err {
                trace.error_line = e.line;
            }
            let username = req.user.as_ref().map(|u| u.username.as_str()).unwrap_or("");
            env.event(
                actions::POLICY_EXCEPTION,
                username,
                req.user.as_ref().map(|u| u.id.as_str()),
                failure_context(&policy, &b.id, &err),
            )
            .await?;
            Ok(None)
        }
    }
}

/// A failed policy's `policy_exception` context: the policy, the binding, the message (with
/// the line or the limit) and, as authentik records it, the expression's source.
fn failure_context(policy: &Policy, binding_id: &str, err: &PolicyError) -> serde_json::Value {
    let mut context =
        json!({"policy": policy.name, "binding": binding_id, "message": err.to_string()});
    if let PolicySettings::Expression(s) = &policy.settings {
        context["expression"] = json!(s.expression);
    }
    if let PolicyError::Expr(e) = err {
        context["line"] = json!(e.line);
        if let Some(limit) = e.limit_kind() {
            context["limit"] = json!(limit.name());
        }
    }
    context
}
