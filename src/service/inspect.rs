//! The flow inspector's use-cases: simulate a flow for a user, test a policy, check access to
//! an application (token preview is in [`super::token_preview`]). Each runs the server's own
//! code over a dry-run [`Env`], so it answers as the server would and writes nothing.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Value, json};

use super::{Service, ServiceError, ServiceResult};
use crate::domain::FlowDesignation;
use crate::flows::executor::Start;
use crate::flows::policy::{PolicyError, PolicyRequest, evaluate_policy_verdict, evaluate_target};
use crate::flows::simulate::{SimulationRequest, simulate};
use crate::flows::{Env, FlowContext, FlowError, Recorder};
use crate::oauth::authorize_flow::{AUTHORIZE_PATH, consent_context, consent_permissions};
use crate::oauth::session_step::OAUTH_REQUEST_KEY;
use crate::oauth::snapshot::Snapshot;
use crate::store;

pub use crate::flows::recorder::PolicyTrace;
pub use crate::flows::simulate::{
    Denial, DroppedStage, SimulatedStage, SimulatedStep, Simulation, summary,
};

/// What to simulate (the inspector's form).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SimulationInput {
    /// The flow's slug.
    pub flow_slug: String,
    /// The signed-in user, by id; `None` = anonymous.
    pub user_id: Option<String>,
    /// The application being accessed, by slug.
    pub application: Option<String>,
    /// An OAuth authorize request the flow answers.
    pub oauth: Option<OAuthRequestInput>,
    /// The client IP (`""`: 127.0.0.1).
    pub client_ip: String,
    /// A JSON object whose keys join the plan context (`Null`: none).
    pub context: Value,
}

/// An OAuth authorize request, as the inspector describes one.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OAuthRequestInput {
    /// The client.
    pub client_id: String,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// The redirect URI.
    pub redirect_uri: String,
    /// `prompt` (none, login, consent), if any.
    pub prompt: Option<String>,
}

/// authentik's "Test Policy" form.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PolicyTestInput {
    /// The policy.
    pub policy_id: String,
    /// The user, by id; `None` = anonymous.
    pub user_id: Option<String>,
    /// A JSON object whose keys join the request's context (`Null`: none).
    pub context: Value,
}

/// The policy's answer (authentik's `PolicyTestResultSerializer`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PolicyTest {
    /// It passed.
    pub passing: bool,
    /// Messages for the user.
    pub messages: Vec<String>,
    /// Lines the expression logged.
    pub logs: Vec<String>,
    /// Why it could not be evaluated (then `passing` is false).
    pub error: Option<String>,
    /// The expression's line the error is at.
    pub error_line: Option<u32>,
    /// How long it took, microseconds.
    pub elapsed_us: u64,
}

/// authentik's "Check access" form.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AccessCheckInput {
    /// The application, by slug.
    pub application: String,
    /// The user, by id; `None` = anonymous.
    pub user_id: Option<String>,
}

/// Whether the user may use the application, and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AccessCheck {
    /// They may.
    pub allowed: bool,
    /// The bindings that decide: those that passed when allowed, those that did not when
    /// refused (empty when the application has no bindings: everyone may).
    pub deciding: Vec<PolicyTrace>,
    /// The policies' messages.
    pub messages: Vec<String>,
}

/// A flow failure as a use-case failure.
pub(crate) fn flow_error(e: FlowError) -> ServiceError {
    match e {
        FlowError::Store(s) => ServiceError::Store(s),
        FlowError::NotFound(what) => ServiceError::NotFound(what),
        other => ServiceError::Refused(other.to_string()),
    }
}

/// A JSON object's keys as plan-context keys; anything but an object or `null` is refused.
fn context_keys(value: &Value) -> ServiceResult<BTreeMap<String, Value>> {
    match value {
        Value::Null => Ok(BTreeMap::new()),
        Value::Object(map) => Ok(map.clone().into_iter().collect()),
        _ => Err(ServiceError::Refused(
            "the context must be a JSON object".into(),
        )),
    }
}

impl Service {
    /// A dry run of the flow for the input, by the server's own planner, policy engine and
    /// stages: the plan, dropped stages, every policy's trace, the denial, each stage's
    /// challenge, and what the server would have written (none of it is).
    pub async fn simulate_flow(&self, input: &SimulationInput) -> ServiceResult<Simulation> {
        let mut start = Start {
            extra: context_keys(&input.context)?,
            ..Start::default()
        };
        if let Some(slug) = &input.application {
            start.application = Some(self.application_id(slug).await?);
        }
        if let Some(o) = &input.oauth {
            self.start_as_authorize(&input.flow_slug, o, &mut start)
                .await?;
        }
        let request = SimulationRequest {
            flow_slug: input.flow_slug.clone(),
            user_id: input.user_id.clone(),
            client_ip: input.client_ip.clone(),
            start,
        };
        let env = Env::new(self.context(), "127.0.0.1", None);
        simulate(&env, &request).await.map_err(flow_error)
    }

    /// authentik's "Test Policy": the policy alone (no binding) for the user and context;
    /// an expression that raises gives the error and its line. Nothing is written.
    pub async fn test_policy(&self, input: &PolicyTestInput) -> ServiceResult<PolicyTest> {
        let policy = {
            let mut conn = self.store().read().await?;
            store::policies::get(&mut conn, &input.policy_id)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("policy {}", input.policy_id)))?
        };
        let recorder = Recorder::default();
        let env =
            Env::new(self.context(), "127.0.0.1", input.user_id.clone()).dry_run(recorder.clone());
        let context = FlowContext {
            extra: context_keys(&input.context)?,
            client_ip: env.client_ip.clone(),
            ..FlowContext::default()
        };
        let req = PolicyRequest::load(&env, input.user_id.as_deref(), &context)
            .await
            .map_err(flow_error)?;
        let started = Instant::now();
        let outcome = evaluate_policy_verdict(&env, &policy, &req, Duration::from_secs(30)).await;
        let elapsed_us = started.elapsed().as_micros() as u64;
        let logs = recorder.take_logs();
        Ok(match outcome {
            Ok(v) => PolicyTest {
                passing: v.passing,
                messages: v.messages,
                logs,
                elapsed_us,
                ..PolicyTest::default()
            },
            Err(e) => PolicyTest {
                error_line: match &e {
                    PolicyError::Expr(x) => x.line,
                    _ => None,
                },
                error: Some(e.to_string()),
                logs,
                elapsed_us,
                ..PolicyTest::default()
            },
        })
    }

    /// authentik's "Check access": the application's policy bindings for the user, as the
    /// authorize endpoint evaluates them (with `application` in the context). Nothing written.
    pub async fn check_access(&self, input: &AccessCheckInput) -> ServiceResult<AccessCheck> {
        let app = {
            let mut conn = self.store().read().await?;
            store::applications::get_by_slug(&mut conn, &input.application)
                .await?
                .ok_or_else(|| {
                    ServiceError::NotFound(format!("application {}", input.application))
                })?
        };
        let recorder = Recorder::default();
        let env =
            Env::new(self.context(), "127.0.0.1", input.user_id.clone()).dry_run(recorder.clone());
        let context = FlowContext {
            application: Some(app.id.clone()),
            ..FlowContext::default()
        };
        let req = PolicyRequest::load(&env, input.user_id.as_deref(), &context)
            .await
            .map_err(flow_error)?;
        let result = evaluate_target(&env, &app.id, app.policy_engine_mode, &req)
            .await
            .map_err(flow_error)?;
        // The bindings that agree with the outcome decide it (the failing ones a refusal).
        let deciding = recorder
            .snapshot()
            .policies
            .into_iter()
            .filter(|t| t.passing == result.passing)
            .collect();
        Ok(AccessCheck {
            allowed: result.passing,
            deciding,
            messages: result.messages,
        })
    }

    async fn application_id(&self, slug: &str) -> ServiceResult<String> {
        let mut conn = self.store().read().await?;
        store::applications::get_by_slug(&mut conn, slug)
            .await?
            .map(|a| a.id)
            .ok_or_else(|| ServiceError::NotFound(format!("application {slug}")))
    }

    /// Starts the flow as the authorize endpoint would for `o`: an authorization flow with the
    /// application, the consent keys, the parked request's key and `allow_empty`; any other
    /// flow (the authentication flow the endpoint sends a signed-out browser to) with the
    /// authorize URL as `next`.
    async fn start_as_authorize(
        &self,
        flow_slug: &str,
        o: &OAuthRequestInput,
        start: &mut Start,
    ) -> ServiceResult<()> {
        let snapshot = Snapshot::load(self.context()).await?;
        let entry = snapshot
            .by_client_id(&o.client_id)
            .ok_or_else(|| ServiceError::NotFound(format!("client {}", o.client_id)))?;
        let app = entry.application.as_ref().ok_or_else(|| {
            ServiceError::NotFound(format!("application of client {}", o.client_id))
        })?;
        let designation = {
            let mut conn = self.store().read().await?;
            store::flows::get_by_slug(&mut conn, flow_slug)
                .await?
                .map(|f| f.designation)
        };
        if designation != Some(FlowDesignation::Authorization) {
            start.next = Some(authorize_url(o));
            return Ok(());
        }
        let permissions = consent_permissions(&entry.scope_mappings, &o.scopes);
        start.extra.extend(consent_context(&app.name, &permissions));
        start
            .extra
            .insert(OAUTH_REQUEST_KEY.to_string(), json!("simulated"));
        start.application = Some(app.id.clone());
        start.next = Some(format!("{AUTHORIZE_PATH}done/?rid=simulated"));
        start.allow_empty = true;
        Ok(())
    }
}

/// The authorize URL the browser would come back to after the authentication flow.
fn authorize_url(o: &OAuthRequestInput) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", &o.client_id)
        .append_pair("redirect_uri", &o.redirect_uri)
        .append_pair("scope", &o.scopes.join(" "));
    if let Some(p) = &o.prompt {
        query.append_pair("prompt", p);
    }
    format!("{AUTHORIZE_PATH}?{}", query.finish())
}
