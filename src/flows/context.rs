//! The plan and its context: serialisable, kept server-side in the session (versioned JSON).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{InvalidResponseAction, PolicyEngineMode};

/// The plan context key the endpoint stage puts the verified device under (authentik's
/// `PLAN_CONTEXT_DEVICE`), in [`FlowContext::extra`].
pub const CONTEXT_DEVICE: &str = "device";

/// The version of the serialised plan; a stored plan of another version is discarded.
pub const PLAN_VERSION: u32 = 1;

/// What a flow execution knows (authentik's plan context keys).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FlowContext {
    /// The user being logged in (authentik's `pending_user`), by id.
    pub pending_user: Option<String>,
    /// What the user typed to identify (may name nobody, with `pretend_user_exists`).
    pub pending_user_identifier: Option<String>,
    /// The application being accessed, by id.
    pub application: Option<String>,
    /// Where to go when the flow completes (a same-origin relative path).
    pub redirect: Option<String>,
    /// The client IP.
    pub client_ip: String,
    /// Values collected by prompt stages.
    pub prompt_data: BTreeMap<String, Value>,
    /// How the user authenticated (password, totp…), for `amr`.
    pub auth_methods: Vec<String>,
    /// Anything else (expressions may read it).
    pub extra: BTreeMap<String, Value>,
    /// The query parameters the flow was opened with (authentik keeps them in the session as
    /// `SESSION_KEY_GET`): an invitation link's `itoken` is read from here.
    pub query: BTreeMap<String, String>,
    /// A plan with no stages completes at once instead of being refused (authentik's
    /// `allow_empty_flows`, set by the OAuth endpoints for implicit-consent flows).
    pub allow_empty: bool,
}

/// One stage in a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedStage {
    /// The flow stage binding (policy target); empty for stages inserted at run time.
    pub binding_id: String,
    /// The stage.
    pub stage_id: String,
    /// Re-run the binding's policies just before the stage is shown.
    pub re_evaluate_policies: bool,
    /// What to do with an invalid response.
    pub invalid_response_action: InvalidResponseAction,
    /// How the binding's policies combine.
    pub policy_engine_mode: PolicyEngineMode,
    /// Set once the re-evaluation passed, so repeated GETs do not re-run it.
    #[serde(default)]
    pub admitted: bool,
}

/// A flow plan in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Serialisation version.
    pub version: u32,
    /// The flow.
    pub flow_id: String,
    /// Its slug (the session key).
    pub flow_slug: String,
    /// The stages, in order.
    pub stages: Vec<PlannedStage>,
    /// Index of the current stage.
    pub index: usize,
    /// The context.
    pub context: FlowContext,
    /// The context the plan started with (for `restart`).
    pub initial_context: FlowContext,
    /// Per-stage scratch state (attempt counters, setup secrets, consent tokens), keyed by stage id.
    pub scratch: BTreeMap<String, Value>,
}

impl Plan {
    /// The current stage, if any remain.
    pub fn current(&self) -> Option<&PlannedStage> {
        self.stages.get(self.index)
    }

    /// Scratch value of a stage.
    pub fn scratch(&self, stage_id: &str, key: &str) -> Option<&Value> {
        self.scratch.get(stage_id).and_then(|v| v.get(key))
    }

    /// Sets a scratch value of a stage.
    pub fn set_scratch(&mut self, stage_id: &str, key: &str, value: Value) {
        let entry = self
            .scratch
            .entry(stage_id.to_string())
            .or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(map) = entry {
            map.insert(key.to_string(), value);
        }
    }

    /// Inserts a stage right after the current one (authentik's `insert_stage`).
    pub fn insert_next(&mut self, stage: PlannedStage) {
        let at = (self.index + 1).min(self.stages.len());
        self.stages.insert(at, stage);
    }
}

/// Returns `next` only when it is a same-origin relative path: `/…` but not `//…` or `/\…`,
/// and without control characters.
pub fn safe_next(next: &str) -> Option<String> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && next.len() <= 2048;
    ok.then(|| next.to_string())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_only_same_origin() {
        assert_eq!(safe_next("/a?b=c").as_deref(), Some("/a?b=c"));
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "",
            "/a\nb",
            "/\tx",
            "/a\\b",
        ] {
            assert_eq!(safe_next(bad), None, "{bad}");
        }
    }
}
