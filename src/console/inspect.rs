//! The flow inspector's and the live view's content, built from a [`Data`] snapshot without
//! I/O: the flow's header, its policy bindings, each stage binding in order with the stage's
//! kind and key settings and every policy binding on it; and the selected item's whole story
//! (the stage and its bindings, the policy and its settings, an execution's plan and context).
//! The views draw these lines; the app moves a cursor over the selectable items.

use serde_json::Value;

use super::data::Data;
use crate::domain::{BindingSubject, Flow, FlowStageBinding, PolicyBinding};
use crate::service::executions::LiveExecution;

/// What a selectable inspector line stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// A policy binding on the flow itself.
    FlowPolicy,
    /// A stage binding.
    StageBinding,
    /// A policy binding on the stage binding above it.
    StagePolicy,
}

/// One selectable line of the inspector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// What it is.
    pub kind: ItemKind,
    /// The binding's id.
    pub id: String,
    /// The line, not yet inert.
    pub text: String,
}

/// A titled group of `(key, value)` lines in a pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The section's title.
    pub title: String,
    /// Its lines; values may hold newlines (expressions).
    pub lines: Vec<(String, String)>,
}

/// The flow's header: what decides whether and how it runs.
pub fn header(flow: &Flow) -> Vec<(String, String)> {
    [
        ("designation", flow.designation.as_str()),
        ("authentication", flow.authentication.as_str()),
        ("denied action", flow.denied_action.as_str()),
        ("policy engine mode", flow.policy_engine_mode.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The flow's stage bindings, in order.
pub fn stage_bindings<'a>(data: &'a Data, flow_id: &str) -> Vec<&'a FlowStageBinding> {
    let mut out: Vec<&FlowStageBinding> = data
        .bindings
        .iter()
        .filter(|b| b.flow_id == flow_id)
        .collect();
    out.sort_by_key(|b| b.order);
    out
}

/// The policy bindings on a target (a flow or a stage binding), in order.
pub fn policy_bindings<'a>(data: &'a Data, target_id: &str) -> Vec<&'a PolicyBinding> {
    let mut out: Vec<&PolicyBinding> = data
        .policy_bindings
        .iter()
        .filter(|b| b.target_id == target_id)
        .collect();
    out.sort_by_key(|b| b.order);
    out
}

/// Every selectable line: the flow's policy bindings, then each stage binding followed by the
/// policy bindings on it.
pub fn items(data: &Data, flow_id: &str) -> Vec<Item> {
    let mut out: Vec<Item> = policy_bindings(data, flow_id)
        .into_iter()
        .map(|p| Item {
            kind: ItemKind::FlowPolicy,
            id: p.id.clone(),
            text: policy_line(data, p),
        })
        .collect();
    for b in stage_bindings(data, flow_id) {
        out.push(Item {
            kind: ItemKind::StageBinding,
            id: b.id.clone(),
            text: stage_line(data, b),
        });
        out.extend(policy_bindings(data, &b.id).into_iter().map(|p| Item {
            kind: ItemKind::StagePolicy,
            id: p.id.clone(),
            text: format!("  └ {}", policy_line(data, p)),
        }));
    }
    out
}

/// What a policy binding binds: `policy NAME (kind)`, `group NAME` or `user NAME`.
pub fn subject(data: &Data, p: &PolicyBinding) -> String {
    match &p.subject {
        BindingSubject::Policy(id) => data.policies.iter().find(|x| &x.id == id).map_or_else(
            || format!("policy {id} (gone)"),
            |x| format!("policy {} ({})", x.name, x.kind().as_str()),
        ),
        BindingSubject::Group(id) => data.groups.iter().find(|g| &g.id == id).map_or_else(
            || format!("group {id} (gone)"),
            |g| format!("group {}", g.name),
        ),
        BindingSubject::User(id) => data.users.iter().find(|u| &u.id == id).map_or_else(
            || format!("user {id} (gone)"),
            |u| format!("user {}", u.username),
        ),
    }
}

fn policy_line(data: &Data, p: &PolicyBinding) -> String {
    let mut flags = vec![format!("order {}", p.order)];
    if p.negate {
        flags.push("negate".into());
    }
    if !p.enabled {
        flags.push("disabled".into());
    }
    flags.push(format!("timeout {}s", p.timeout));
    flags.push(format!("on error {}", pass_fail(p.failure_result)));
    format!("{} · {}", subject(data, p), flags.join(" · "))
}

fn pass_fail(b: bool) -> &'static str {
    if b { "pass" } else { "fail" }
}

fn stage_line(data: &Data, b: &FlowStageBinding) -> String {
    let stage = data.stages.iter().find(|s| s.id == b.stage_id);
    let (name, kind, settings) = stage.map_or_else(
        || (b.stage_id.clone(), "gone".to_string(), String::new()),
        |s| {
            let key: Vec<String> = settings(data, &s.settings)
                .into_iter()
                .filter(|(_, v)| !v.is_empty() && v != "no" && v != "[]")
                .take(3)
                .map(|(k, v)| format!("{k}={}", first_line(&v)))
                .collect();
            (
                s.name.clone(),
                s.kind().as_str().to_string(),
                key.join(", "),
            )
        },
    );
    let mut when = Vec::new();
    if b.evaluate_on_plan {
        when.push("evaluate on plan");
    }
    if b.re_evaluate_policies {
        when.push("re-evaluate");
    }
    let when = if when.is_empty() {
        String::new()
    } else {
        format!(" · {}", when.join(", "))
    };
    let settings = if settings.is_empty() {
        String::new()
    } else {
        format!(" · {settings}")
    };
    format!("{:>3} {name} ({kind}){when}{settings}", b.order)
}

fn first_line(v: &str) -> String {
    let line = v.lines().next().unwrap_or_default();
    let short: String = line.chars().take(24).collect();
    if short.len() < v.len() {
        format!("{short}…")
    } else {
        short
    }
}

/// A kind's settings (any serde struct tagged `kind`/`settings`) as `(key, value)` lines, the
/// objects they name by id shown by name.
pub fn settings(data: &Data, value: &impl serde::Serialize) -> Vec<(String, String)> {
    let v = serde_json::to_value(value).unwrap_or(Value::Null);
    let inner = v.get("settings").cloned().unwrap_or(v);
    match inner {
        Value::Object(map) => map.into_iter().map(|(k, v)| (k, plain(data, &v))).collect(),
        Value::Null => Vec::new(),
        other => vec![("settings".into(), plain(data, &other))],
    }
}

fn plain(data: &Data, v: &Value) -> String {
    match v {
        Value::String(s) => name_of(data, s).unwrap_or_else(|| s.clone()),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Null => String::new(),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            let names: Vec<String> = items.iter().map(|i| plain(data, i)).collect();
            format!("[{}]", names.join(", "))
        }
        other => other.to_string(),
    }
}

/// The name of the object with this id, if `id` is one (settings refer to objects by id).
fn name_of(data: &Data, id: &str) -> Option<String> {
    if id.len() < 32 {
        return None;
    }
    let d = data;
    d.stages
        .iter()
        .find(|x| x.id == id)
        .map(|x| x.name.clone())
        .or_else(|| d.flows.iter().find(|x| x.id == id).map(|x| x.slug.clone()))
        .or_else(|| {
            d.prompts
                .iter()
                .find(|x| x.id == id)
                .map(|x| x.name.clone())
        })
        .or_else(|| d.groups.iter().find(|x| x.id == id).map(|x| x.name.clone()))
        .or_else(|| {
            d.policies
                .iter()
                .find(|x| x.id == id)
                .map(|x| x.name.clone())
        })
        .or_else(|| {
            d.certificates
                .iter()
                .find(|x| x.id == id)
                .map(|x| x.name.clone())
        })
        .or_else(|| {
            d.users
                .iter()
                .find(|x| x.id == id)
                .map(|x| x.username.clone())
        })
}

/// The selected item's pane: for a stage binding, the stage with its settings, the binding and
/// the policies on it; for a policy binding, the binding and what it binds.
pub fn pane(data: &Data, item: &Item) -> Vec<Section> {
    match item.kind {
        ItemKind::StageBinding => stage_pane(data, &item.id),
        ItemKind::FlowPolicy | ItemKind::StagePolicy => policy_pane(data, &item.id),
    }
}

fn stage_pane(data: &Data, binding_id: &str) -> Vec<Section> {
    let Some(b) = data.bindings.iter().find(|b| b.id == binding_id) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(s) = data.stages.iter().find(|s| s.id == b.stage_id) {
        let mut lines = vec![
            ("name".to_string(), s.name.clone()),
            ("kind".to_string(), s.kind().as_str().to_string()),
        ];
        lines.extend(settings(data, &s.settings));
        out.push(Section {
            title: "Stage".into(),
            lines,
        });
    }
    out.push(Section {
        title: "Binding".into(),
        lines: vec![
            ("order".into(), b.order.to_string()),
            ("evaluate on plan".into(), yes(b.evaluate_on_plan)),
            ("re-evaluate policies".into(), yes(b.re_evaluate_policies)),
            (
                "invalid response".into(),
                b.invalid_response_action.as_str().into(),
            ),
            (
                "policy engine mode".into(),
                b.policy_engine_mode.as_str().into(),
            ),
        ],
    });
    let policies = policy_bindings(data, &b.id);
    out.push(Section {
        title: format!("Policies on this binding ({})", policies.len()),
        lines: policies
            .into_iter()
            .map(|p| (p.order.to_string(), policy_line(data, p)))
            .collect(),
    });
    out
}

fn policy_pane(data: &Data, binding_id: &str) -> Vec<Section> {
    let Some(p) = data.policy_bindings.iter().find(|p| p.id == binding_id) else {
        return Vec::new();
    };
    let mut out = vec![Section {
        title: "Policy binding".into(),
        lines: vec![
            ("binds".into(), subject(data, p)),
            ("order".into(), p.order.to_string()),
            ("enabled".into(), yes(p.enabled)),
            ("negate".into(), yes(p.negate)),
            ("timeout".into(), format!("{}s", p.timeout)),
            ("failure result".into(), pass_fail(p.failure_result).into()),
        ],
    }];
    if let BindingSubject::Policy(id) = &p.subject
        && let Some(policy) = data.policies.iter().find(|x| &x.id == id)
    {
        let mut lines = vec![
            ("name".to_string(), policy.name.clone()),
            ("kind".to_string(), policy.kind().as_str().to_string()),
            (
                "execution logging".to_string(),
                yes(policy.execution_logging),
            ),
        ];
        lines.extend(settings(data, &policy.settings));
        out.push(Section {
            title: "Policy".into(),
            lines,
        });
    }
    out
}

fn yes(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

/// `HH:MM:SS` (UTC) of a unix time.
pub fn clock(unix: i64) -> String {
    let s = unix.rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The executions the live view lists: of one flow, or of every flow.
pub fn executions<'a>(data: &'a Data, flow_slug: Option<&str>) -> Vec<&'a LiveExecution> {
    data.executions
        .iter()
        .filter(|e| flow_slug.is_none_or(|s| e.flow_slug == s))
        .collect()
}

/// One line of the live list: flow, who, where they are, how far, from where, since when.
pub fn execution_line(e: &LiveExecution) -> String {
    let who = match (&e.user, &e.pending_user) {
        (Some(u), _) => u.clone(),
        (None, Some(p)) => format!("{p} (pending)"),
        (None, None) => "anonymous".into(),
    };
    let at = e.current_stage().map_or("(end)", |s| s.name.as_str());
    let done = e.stages.iter().filter(|s| s.done_at.is_some()).count();
    format!(
        "{} · {who} · at {at} · {done}/{} done · {} · since {}",
        e.flow_slug,
        e.stages.len(),
        if e.client_ip.is_empty() {
            "?"
        } else {
            &e.client_ip
        },
        clock(e.started_at)
    )
}

/// The selected execution's pane: who and where, the plan with its timestamps, the context
/// (already redacted by the service).
pub fn execution_pane(e: &LiveExecution) -> Vec<Section> {
    let who = vec![
        ("flow".to_string(), e.flow_slug.clone()),
        ("user".to_string(), e.user.clone().unwrap_or("-".into())),
        (
            "pending user".to_string(),
            e.pending_user.clone().unwrap_or("-".into()),
        ),
        ("client IP".to_string(), e.client_ip.clone()),
        ("started".to_string(), clock(e.started_at)),
        ("last seen".to_string(), clock(e.last_seen)),
    ];
    let plan = e
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (mark, when) = match (s.current, s.done_at) {
                (true, _) => ("▶", "current".to_string()),
                (false, Some(t)) => ("✓", clock(t)),
                (false, None) => ("·", String::new()),
            };
            (
                format!("{mark} {}", i + 1),
                format!("{} ({}) {when}", s.name, s.kind),
            )
        })
        .collect();
    vec![
        Section {
            title: "Execution".into(),
            lines: who,
        },
        Section {
            title: format!("Plan ({} stages)", e.stages.len()),
            lines: plan,
        },
        Section {
            title: "Context (secrets redacted)".into(),
            lines: e.context.clone(),
        },
    ]
}
