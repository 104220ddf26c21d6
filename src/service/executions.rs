//! Flows being executed right now, read from the store's browser sessions (a flow plan in
//! progress lives in the session's data), for the console's live view: which flow, whose, the
//! current stage, the stages passed and when, and the plan's context with its secrets
//! redacted. It reads the store, so a console in another process than the server sees them.

use std::collections::HashMap;

use serde_json::Value;

use super::{Service, ServiceResult};
use crate::flows::session::SessionData;
use crate::flows::{FlowContext, Plan};
use crate::oauth::flow_history;
use crate::store;

/// What redaction shows instead of a secret.
pub const REDACTED: &str = "••••••";

/// Parts of a key that mark its value as a secret (passwords, codes, tokens, keys).
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "code",
    "otp",
    "key",
    "credential",
    "csrf",
];

/// One flow execution in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveExecution {
    /// The session's row id and the flow slug: stable across refreshes.
    pub key: String,
    /// The flow's slug.
    pub flow_slug: String,
    /// The signed-in user of the session, by username.
    pub user: Option<String>,
    /// The user being logged in (by username), or what was typed to identify.
    pub pending_user: Option<String>,
    /// Where the browser is.
    pub client_ip: String,
    /// When the plan was made (unix seconds; the session's start for plans older than
    /// history).
    pub started_at: i64,
    /// The session's last request (unix seconds).
    pub last_seen: i64,
    /// The plan's stages, in order.
    pub stages: Vec<ExecutionStage>,
    /// The context, one `(key, value)` line each, secrets redacted.
    pub context: Vec<(String, String)>,
}

impl LiveExecution {
    /// The stage the user is at, if any remain.
    pub fn current_stage(&self) -> Option<&ExecutionStage> {
        self.stages.iter().find(|s| s.current)
    }
}

/// One stage of a live plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionStage {
    /// The stage's name (its id when it no longer exists).
    pub name: String,
    /// Its kind (authentik's spelling).
    pub kind: String,
    /// When it was passed (unix seconds).
    pub done_at: Option<i64>,
    /// True for the stage the user is at.
    pub current: bool,
}

/// Names the executions refer to by id.
struct Names {
    stages: HashMap<String, (String, String)>,
    users: HashMap<String, String>,
    applications: HashMap<String, String>,
}

impl Service {
    /// Every flow execution in progress on this store, most recently active first.
    pub async fn live_executions(&self) -> ServiceResult<Vec<LiveExecution>> {
        let rows = store::sessions::live_with_plans(self.store(), self.now()).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let names = Names {
            stages: self
                .list_stages()
                .await?
                .into_iter()
                .map(|s| {
                    (
                        s.id.clone(),
                        (s.name.clone(), s.kind().as_str().to_string()),
                    )
                })
                .collect(),
            users: self
                .list_users()
                .await?
                .into_iter()
                .map(|u| (u.id, u.username))
                .collect(),
            applications: self
                .list_applications()
                .await?
                .into_iter()
                .map(|a| (a.id, a.name))
                .collect(),
        };
        let mut out = Vec::new();
        for row in rows {
            let Ok(data) = serde_json::from_str::<SessionData>(&row.data) else {
                continue;
            };
            for (slug, plan) in &data.plans {
                out.push(LiveExecution {
                    key: format!("{}/{slug}", row.id),
                    flow_slug: slug.clone(),
                    user: row
                        .user_id
                        .as_ref()
                        .map(|id| names.users.get(id).cloned().unwrap_or_else(|| id.clone())),
                    pending_user: pending_user(&plan.context, &names),
                    client_ip: row.client_ip.clone(),
                    started_at: flow_history::read(plan).map_or(row.created_at, |h| h.started_at),
                    last_seen: row.last_seen,
                    stages: stages(plan, &names),
                    context: context_lines(plan, &names),
                });
            }
        }
        Ok(out)
    }
}

fn pending_user(ctx: &FlowContext, names: &Names) -> Option<String> {
    ctx.pending_user
        .as_ref()
        .map(|id| names.users.get(id).cloned().unwrap_or_else(|| id.clone()))
        .or_else(|| ctx.pending_user_identifier.clone())
}

fn stages(plan: &Plan, names: &Names) -> Vec<ExecutionStage> {
    let history = flow_history::read(plan).unwrap_or_default();
    plan.stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (name, kind) = names
                .stages
                .get(&s.stage_id)
                .cloned()
                .unwrap_or_else(|| (s.stage_id.clone(), String::new()));
            let done_at = (i < plan.index)
                .then(|| {
                    history
                        .done
                        .iter()
                        .rev()
                        .find(|d| d.stage_id == s.stage_id)
                        .map(|d| d.at)
                })
                .flatten();
            ExecutionStage {
                name,
                kind,
                done_at,
                current: i == plan.index,
            }
        })
        .collect()
}

/// The plan's context as lines, secrets redacted; per-stage scratch state (setup secrets,
/// consent tokens) is never shown, only counted.
fn context_lines(plan: &Plan, names: &Names) -> Vec<(String, String)> {
    let c = &plan.context;
    let mut out: Vec<(String, String)> = Vec::new();
    let mut push = |k: &str, v: String| out.push((k.to_string(), v));
    if let Some(id) = &c.pending_user {
        push(
            "pending_user",
            names.users.get(id).cloned().unwrap_or(id.clone()),
        );
    }
    if let Some(typed) = &c.pending_user_identifier {
        push("pending_user_identifier", typed.clone());
    }
    if let Some(id) = &c.application {
        push(
            "application",
            names.applications.get(id).cloned().unwrap_or(id.clone()),
        );
    }
    if let Some(r) = &c.redirect {
        push("redirect", redact_url(r));
    }
    push("client_ip", c.client_ip.clone());
    if !c.auth_methods.is_empty() {
        push("auth_methods", c.auth_methods.join(", "));
    }
    for (k, v) in &c.prompt_data {
        push(&format!("prompt_data.{k}"), shown(k, v));
    }
    for (k, v) in &c.extra {
        push(k, shown(k, v));
    }
    let scratch = plan
        .scratch
        .keys()
        .filter(|k| *k != flow_history::HISTORY_KEY)
        .count();
    if scratch > 0 {
        push("stage state", format!("{scratch} stage(s), not shown"));
    }
    out
}

/// True when a key names a secret.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| k.contains(w))
}

/// A value as one line, with secrets (by key, at any depth) redacted.
fn shown(key: &str, v: &Value) -> String {
    match redact(key, v) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// `v` with every value under a secret key replaced by [`REDACTED`].
pub fn redact(key: &str, v: &Value) -> Value {
    if is_secret_key(key) {
        return Value::String(REDACTED.into());
    }
    match v {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), redact(k, v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(|i| redact("", i)).collect()),
        Value::String(s) if s.contains("?") => Value::String(redact_url(s)),
        other => other.clone(),
    }
}

/// A URL with the values of its secret query parameters redacted (`code`, `token`, …).
pub fn redact_url(url: &str) -> String {
    let Some((path, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret_key(k) => format!("{k}={REDACTED}"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_redacted_by_key_at_any_depth() {
        let v = json!({"password": "hunter2", "nested": {"otp_code": 123456, "name": "x"},
                       "list": [{"token": "t"}]});
        let out = redact("", &v).to_string();
        for secret in ["hunter2", "123456", "\"t\""] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(out.contains("\"name\":\"x\""), "{out}");
        assert_eq!(shown("prompt_password", &json!("hunter2")), REDACTED);
        assert_eq!(shown("username", &json!("alice")), "alice");
    }

    #[test]
    fn secret_query_parameters_are_redacted() {
        assert_eq!(
            redact_url("/cb?code=abc&state=s1&access_token=zz"),
            format!("/cb?code={REDACTED}&state=s1&access_token={REDACTED}")
        );
        assert_eq!(redact_url("/plain/path"), "/plain/path");
    }
}
