//! A dry run of a flow for the inspector: the server's own planner, policy engine and stages,
//! run over an [`Env`] in [`Mode::DryRun`](super::recorder::Mode), so the answer is the one the
//! server would give and nothing is written (every write in `flows/` asks the environment
//! first; the recorder keeps what would have been written). Besides the plan it reports each
//! dropped stage with the binding that dropped it, every policy's trace, the denial, and each
//! kept stage's challenge as the JSON executor would send it.

use serde::Serialize;
use serde_json::Value;

use super::challenge::{Challenge, ChallengeKind};
use super::context::{FlowContext, Plan, safe_next};
use super::env::{Effect, Env};
use super::executor::{self, Start};
use super::planner::{PlanOutcome, plan};
use super::policy::{PolicyRequest, evaluate_target, plan_writes};
use super::recorder::{PolicyTrace, Recorder};
use super::stages::{self, Show, StageCtx};
use super::{FlowError, FlowResult};
use crate::domain::{Flow, FlowStageBinding};
use crate::store;

/// What to simulate: the flow, who runs it (signed in, or anonymous) and how it was started.
#[derive(Debug, Clone, Default)]
pub struct SimulationRequest {
    /// The flow's slug.
    pub flow_slug: String,
    /// The signed-in user, by id; `None` for nobody signed in.
    pub user_id: Option<String>,
    /// The client IP the policies see.
    pub client_ip: String,
    /// How the flow is started (`next`, application, extra context keys), as the server's
    /// callers start it.
    pub start: Start,
}

/// Why the flow was refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Denial {
    /// What the user would read.
    pub reason: String,
    /// The policies' messages.
    pub messages: Vec<String>,
    /// The binding that denied, when a binding did (not for an authentication requirement).
    pub binding_id: Option<String>,
    /// Its subject (`policy <name>`, `group <id>`, `user <id>`).
    pub policy: Option<String>,
}

/// A stage the plan keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SimulatedStage {
    /// The flow stage binding.
    pub binding_id: String,
    /// The stage.
    pub stage_id: String,
    /// The stage's name.
    pub stage_name: String,
    /// The stage's kind (`identification`, `password`, …).
    pub stage_kind: String,
    /// The binding's order.
    pub order: i64,
    /// Its policies run again when the stage is reached.
    pub re_evaluate_policies: bool,
}

/// A stage binding the planner left out, and who left it out.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DroppedStage {
    /// The flow stage binding.
    pub binding_id: String,
    /// The stage's name.
    pub stage_name: String,
    /// The binding's order.
    pub order: i64,
    /// The policy bindings on it that did not pass.
    pub by: Vec<PolicyTrace>,
    /// In words.
    pub reason: String,
}

/// One kept stage as the user meets it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SimulatedStep {
    /// The flow stage binding.
    pub binding_id: String,
    /// The stage's name.
    pub stage_name: String,
    /// The challenge as the JSON executor sends it (`Null` for a stage that asks nothing);
    /// secrets generated for the user (a TOTP secret) are replaced.
    pub challenge: Value,
    /// What the user would see, in one line.
    pub summary: String,
}

/// The simulation's answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Simulation {
    /// The flow.
    pub flow_slug: String,
    /// `Some` when the flow is refused.
    pub denial: Option<Denial>,
    /// The plan, in order.
    pub stages: Vec<SimulatedStage>,
    /// Bindings the planner dropped.
    pub dropped: Vec<DroppedStage>,
    /// Every policy binding evaluated, in evaluation order.
    pub policies: Vec<PolicyTrace>,
    /// Each kept stage's challenge.
    pub steps: Vec<SimulatedStep>,
    /// Where the answer depends on what the user enters.
    pub notes: Vec<String>,
    /// What the server would have written (events, reputation, …), never written here.
    pub suppressed_writes: Vec<String>,
}

impl Simulation {
    /// The kept stages' binding ids, in order (what a test compares with the server's plan).
    pub fn stage_bindings(&self) -> Vec<String> {
        self.stages.iter().map(|s| s.binding_id.clone()).collect()
    }
}

/// Runs the planner for `request` in a dry run over `env` (whose mode this replaces).
pub async fn simulate(env: &Env, request: &SimulationRequest) -> FlowResult<Simulation> {
    let recorder = Recorder::default();
    let mut env = env.clone().dry_run(recorder.clone());
    env.client_ip = if request.client_ip.is_empty() {
        "127.0.0.1".into()
    } else {
        request.client_ip.clone()
    };
    env.session_user = request.user_id.clone();
    let flow = {
        let mut conn = env.store.read().await?;
        store::flows::get_by_slug(&mut conn, &request.flow_slug)
            .await?
            .ok_or_else(|| FlowError::NotFound(request.flow_slug.clone()))?
    };
    let bindings = {
        let mut conn = env.store.read().await?;
        store::flows::bindings_of(&mut conn, &flow.id).await?
    };
    let context = start_context(&env, &request.start);
    let redirect = context.redirect.clone();
    let mut sim = Simulation {
        flow_slug: flow.slug.clone(),
        ..Simulation::default()
    };
    match plan(&env, &flow, context).await? {
        PlanOutcome::Denied(messages) => {
            let challenge = executor::denied(&env, &flow, messages.clone(), redirect);
            sim.denial = Some(denial(&flow, &recorder, messages, &challenge));
            sim.steps.push(step_of(None, "", &challenge));
        }
        PlanOutcome::Planned(p) => {
            let names = stage_names(&env, &bindings).await?;
            describe_plan(&mut sim, &bindings, &names, &p, &recorder);
            step_through(&env, &flow, *p, &bindings, &names, &mut sim).await?;
        }
    }
    let recording = recorder.snapshot();
    sim.policies = recording.policies;
    sim.suppressed_writes = recording.writes;
    sim.notes.extend(recording.notes);
    Ok(sim)
}

/// The context the executor's GET builds from `start` (the same keys).
fn start_context(env: &Env, start: &Start) -> FlowContext {
    FlowContext {
        redirect: start.next.as_deref().and_then(safe_next),
        application: start.application.clone(),
        extra: start.extra.clone(),
        allow_empty: start.allow_empty,
        query: start.query.clone(),
        client_ip: env.client_ip.clone(),
        ..Default::default()
    }
}

fn denial(flow: &Flow, recorder: &Recorder, messages: Vec<String>, shown: &Challenge) -> Denial {
    let failing = recorder
        .snapshot()
        .policies
        .into_iter()
        .find(|t| t.target == flow.id && !t.passing);
    let reason = match &shown.kind {
        ChallengeKind::AccessDenied { error_message } => error_message.clone(),
        ChallengeKind::Redirect { to } => format!("denied; continues to {to}"),
        other => other.component().to_string(),
    };
    Denial {
        reason,
        messages,
        binding_id: failing.as_ref().map(|t| t.binding_id.clone()),
        policy: failing.map(|t| t.subject),
    }
}

/// Each binding's stage name and kind.
async fn stage_names(
    env: &Env,
    bindings: &[FlowStageBinding],
) -> FlowResult<Vec<(String, String)>> {
    let mut names = Vec::with_capacity(bindings.len());
    for b in bindings {
        let stage = stages::load(env, &b.stage_id).await?;
        names.push((stage.name.clone(), stage.kind().as_str().to_string()));
    }
    Ok(names)
}

/// Fills the kept and dropped stages from the plan and the planner's policy traces.
fn describe_plan(
    sim: &mut Simulation,
    bindings: &[FlowStageBinding],
    names: &[(String, String)],
    plan: &Plan,
    recorder: &Recorder,
) {
    let traces = recorder.snapshot().policies;
    for (b, (name, kind)) in bindings.iter().zip(names) {
        if plan.stages.iter().any(|s| s.binding_id == b.id) {
            sim.stages.push(SimulatedStage {
                binding_id: b.id.clone(),
                stage_id: b.stage_id.clone(),
                stage_name: name.clone(),
                stage_kind: kind.clone(),
                order: b.order,
                re_evaluate_policies: b.re_evaluate_policies,
            });
            continue;
        }
        let by: Vec<PolicyTrace> = traces
            .iter()
            .filter(|t| t.target == b.id && !t.passing)
            .cloned()
            .collect();
        let reason = match by.first() {
            Some(t) => format!("{} did not pass", t.subject),
            None => "its policies did not pass".into(),
        };
        sim.dropped.push(DroppedStage {
            binding_id: b.id.clone(),
            stage_name: name.clone(),
            order: b.order,
            by,
            reason,
        });
    }
}

/// Shows each kept stage's challenge in order, as the executor would on reaching it (the
/// re-evaluation of `re_evaluate_policies` bindings included), without answering any.
async fn step_through(
    env: &Env,
    flow: &Flow,
    mut plan: Plan,
    bindings: &[FlowStageBinding],
    names: &[(String, String)],
    sim: &mut Simulation,
) -> FlowResult<()> {
    let mut effects: Vec<Effect> = Vec::new();
    for index in 0..plan.stages.len() {
        plan.index = index;
        let ps = plan.stages[index].clone();
        let name = bindings
            .iter()
            .zip(names)
            .find(|(b, _)| b.id == ps.binding_id)
            .map(|(_, (n, _))| n.clone())
            .unwrap_or_default();
        if ps.re_evaluate_policies && !ps.binding_id.is_empty() {
            let user = plan
                .context
                .pending_user
                .clone()
                .or_else(|| env.session_user.clone());
            let req = PolicyRequest::load(env, user.as_deref(), &plan.context).await?;
            let r = evaluate_target(env, &ps.binding_id, ps.policy_engine_mode, &req).await?;
            plan_writes::apply(&mut plan.context, &r.plan_writes);
            if !r.bindings.is_empty() {
                sim.notes.push(format!(
                    "{name}: its policies run again when the stage is reached, with the pending \
                     user and what the earlier stages collected, so whether it is shown depends \
                     on what the user enters (shown here for the simulated user)"
                ));
            }
            if !r.passing {
                sim.steps.push(SimulatedStep {
                    binding_id: ps.binding_id.clone(),
                    stage_name: name,
                    challenge: Value::Null,
                    summary: "skipped: its re-evaluated policies do not pass for this user".into(),
                });
                continue;
            }
        }
        let stage = stages::load(env, &ps.stage_id).await?;
        let show = {
            let mut sc = StageCtx {
                env,
                flow,
                stage: &stage,
                plan: &mut plan,
                effects: &mut effects,
            };
            stages::challenge(&mut sc).await?
        };
        let (step, ends) = match show {
            Show::Challenge(kind) => {
                // A redirect ends the flow as the executor ends it.
                let ends = matches!(kind, ChallengeKind::Redirect { .. });
                let title = executor::title_for(env, flow, &plan.context).await?;
                let challenge = Challenge::for_flow(kind, flow, &title);
                (step_of(Some(&ps.binding_id), &name, &challenge), ends)
            }
            Show::Next => {
                let step = SimulatedStep {
                    binding_id: ps.binding_id.clone(),
                    stage_name: name,
                    challenge: Value::Null,
                    summary: "asks nothing; the flow goes on".into(),
                };
                (step, false)
            }
            Show::Deny(message) => {
                // The executor drops the plan and shows the message; later stages never run.
                let kind = ChallengeKind::AccessDenied {
                    error_message: message,
                };
                let challenge = Challenge::for_flow(kind, flow, &executor::title(flow));
                (step_of(Some(&ps.binding_id), &name, &challenge), true)
            }
        };
        sim.steps.push(step);
        if ends {
            break;
        }
    }
    Ok(())
}

fn step_of(binding_id: Option<&str>, name: &str, challenge: &Challenge) -> SimulatedStep {
    let mut json = challenge.to_json();
    for secret in ["secret", "config_url", "qr_svg", "codes"] {
        if let Some(v) = json.get_mut(secret) {
            *v = Value::String("(generated when the user reaches the stage)".into());
        }
    }
    SimulatedStep {
        binding_id: binding_id.unwrap_or_default().to_string(),
        stage_name: name.to_string(),
        challenge: json,
        summary: summary(&challenge.kind),
    }
}

/// What the user would see, in one line.
pub fn summary(kind: &ChallengeKind) -> String {
    match kind {
        ChallengeKind::Identification {
            user_fields,
            password_fields,
            ..
        } => {
            let with = if *password_fields {
                " and password"
            } else {
                ""
            };
            format!("asks for {}{with}", user_fields.join(" or "))
        }
        ChallengeKind::Password { pending_user, .. } => {
            format!("asks {} for their password", or_user(pending_user))
        }
        ChallengeKind::AuthenticatorValidate {
            pending_user,
            device_classes,
            ..
        } => match device_classes.iter().any(|c| c == "webauthn") {
            true if pending_user.is_empty() => {
                "asks for a passkey, which names the user (password-less)".into()
            }
            true => format!(
                "asks {} for a second factor ({})",
                or_user(pending_user),
                device_classes.join(" or ")
            ),
            false => format!("asks {} for a one-time code", or_user(pending_user)),
        },
        ChallengeKind::AuthenticatorTotpSetup { .. } => "sets up a TOTP authenticator".into(),
        ChallengeKind::Consent { permissions, .. } => {
            format!("asks for consent to {} permission(s)", permissions.len())
        }
        ChallengeKind::Prompt { fields } => {
            let names: Vec<&str> = fields.iter().map(|f| f.field_key.as_str()).collect();
            format!("asks for {}", names.join(", "))
        }
        ChallengeKind::AccessDenied { error_message } => format!("denied: {error_message}"),
        ChallengeKind::Redirect { to } => format!("redirects to {to}"),
        ChallengeKind::EndpointAgent {
            challenge_idle_timeout,
            ..
        } => format!(
            "asks the device's Agent to sign a challenge (waits {challenge_idle_timeout} s)"
        ),
        ChallengeKind::ProviderIframeLogout { logout_urls } => {
            format!("logs out of {} application(s)", logout_urls.len())
        }
        ChallengeKind::AuthenticatorStaticSetup { codes, .. } => {
            format!("shows {} recovery codes once, then saves them", codes.len())
        }
        ChallengeKind::AuthenticatorWebauthnSetup { pending_user, .. } => {
            format!("registers a passkey for {}", or_user(pending_user))
        }
        ChallengeKind::Email => "sends an email with a link and waits until it is opened".into(),
    }
}

fn or_user(name: &str) -> &str {
    if name.is_empty() { "the user" } else { name }
}
