//! Every object kind's fields, declared once: label, kind, authentik's helper text, whether it
//! is required, and how it reads from and writes onto the domain object.

use serde_json::{Value, json};

use super::field::{
    Choice, FieldKind, FieldSpec, FieldValue, Generate, no_choices, no_get, no_set,
};
use crate::console::data::Data;
use crate::domain::Object;
use crate::domain::*;

macro_rules! projection {
    ($name:ident, $variant:ident, $ty:ty) => {
        fn $name(o: &mut Object) -> Option<&mut $ty> {
            match o {
                Object::$variant(x) => Some(x),
                _ => None,
            }
        }
    };
}
projection!(flow, Flow, Flow);
projection!(stage, Stage, Stage);
projection!(binding, FlowStageBinding, FlowStageBinding);
projection!(policy, Policy, Policy);
projection!(app, Application, Application);
projection!(prov, Provider, Provider);
projection!(mapping, ScopeMapping, ScopeMapping);
projection!(cert, Certificate, CertificateKeypair);
projection!(brand, Brand, Brand);
projection!(conn, Connector, Connector);
projection!(prompt, Prompt, Prompt);
projection!(pbinding, PolicyBinding, PolicyBinding);
projection!(access_group, DeviceAccessGroup, DeviceAccessGroup);

fn user(o: &mut Object) -> Option<&mut User> {
    match o {
        Object::User { user, .. } => Some(user),
        _ => None,
    }
}

fn group(o: &mut Object) -> Option<&mut Group> {
    match o {
        Object::Group { group, .. } => Some(group),
        _ => None,
    }
}

/// A String-backed field (text, secret, multi-line, duration).
macro_rules! s {
    ($kind:expr, $proj:ident => $($p:ident).+, $key:literal, $label:literal, $help:literal, $req:expr) => {
        FieldSpec {
            key: $key, label: $label, help: $help, required: $req, kind: $kind, choices: no_choices,
            get: |o| {
                let mut o = o.clone();
                FieldValue::Text($proj(&mut o).map(|x| x.$($p).+.clone()).unwrap_or_default())
            },
            set: |o, v| {
                if let Some(x) = $proj(o) {
                    x.$($p).+ = v.text().to_string();
                }
            },
        }
    };
}

/// A bool field.
macro_rules! b {
    ($proj:ident => $($p:ident).+, $key:literal, $label:literal, $help:literal) => {
        FieldSpec {
            key: $key, label: $label, help: $help, required: false, kind: FieldKind::Toggle,
            choices: no_choices,
            get: |o| {
                let mut o = o.clone();
                FieldValue::Bool($proj(&mut o).is_some_and(|x| x.$($p).+))
            },
            set: |o, v| {
                if let Some(x) = $proj(o) {
                    x.$($p).+ = v.flag();
                }
            },
        }
    };
}

/// An enum field, picked from the enum's `ALL`.
macro_rules! e {
    ($ty:ident, $proj:ident => $($p:ident).+, $key:literal, $label:literal, $help:literal) => {
        FieldSpec {
            key: $key, label: $label, help: $help, required: true, kind: FieldKind::Select,
            choices: |_| {
                $ty::ALL.iter().map(|v| Choice { id: v.as_str().into(), label: v.label().into() }).collect()
            },
            get: |o| {
                let mut o = o.clone();
                FieldValue::One($proj(&mut o).map(|x| x.$($p).+.as_str().to_string()))
            },
            set: |o, v| {
                if let (Some(x), Some(parsed)) = ($proj(o), v.one().and_then($ty::parse)) {
                    x.$($p).+ = parsed;
                }
            },
        }
    };
}

/// A reference (`Option<String>` id), picked by name.
macro_rules! r {
    ($choices:expr, $proj:ident => $($p:ident).+, $key:literal, $label:literal, $help:literal, $req:expr) => {
        FieldSpec {
            key: $key, label: $label, help: $help, required: $req, kind: FieldKind::Select,
            choices: $choices,
            get: |o| {
                let mut o = o.clone();
                FieldValue::One($proj(&mut o).and_then(|x| x.$($p).+.clone()))
            },
            set: |o, v| {
                if let Some(x) = $proj(o) {
                    x.$($p).+ = v.one().map(str::to_string);
                }
            },
        }
    };
}

/// An i64 field.
macro_rules! n {
    ($proj:ident => $($p:ident).+, $key:literal, $label:literal, $help:literal) => {
        FieldSpec {
            key: $key, label: $label, help: $help, required: true, kind: FieldKind::Number,
            choices: no_choices,
            get: |o| {
                let mut o = o.clone();
                FieldValue::Text($proj(&mut o).map(|x| x.$($p).+.to_string()).unwrap_or_default())
            },
            set: |o, v| {
                if let (Some(x), Ok(n)) = ($proj(o), v.text().trim().parse()) {
                    x.$($p).+ = n;
                }
            },
        }
    };
}

/// A JSON object field, edited as pretty-printed text.
macro_rules! j {
    ($proj:ident => $($p:ident).+, $key:literal, $label:literal, $help:literal) => {
        FieldSpec {
            key: $key, label: $label, help: $help, required: false, kind: FieldKind::Json,
            choices: no_choices,
            get: |o| {
                let mut o = o.clone();
                FieldValue::Text($proj(&mut o).map(|x| pretty(&x.$($p).+)).unwrap_or_default())
            },
            set: |o, v| {
                if let (Some(x), Ok(parsed)) = ($proj(o), parse_json(v.text())) {
                    x.$($p).+ = parsed;
                }
            },
        }
    };
}

/// The settings of a stage, policy or connector as a JSON editor: it shows the fields that
/// differ from authentik's defaults, and what is left out takes its default.
macro_rules! settings_json {
    ($proj:ident, $settings:ident, $label:literal, $help:literal) => {
        FieldSpec {
            key: "settings",
            label: $label,
            help: $help,
            required: false,
            kind: FieldKind::Json,
            choices: no_choices,
            get: |o| {
                let mut o = o.clone();
                FieldValue::Text(
                    $proj(&mut o)
                        .map(|x| pretty(&x.settings.changed_json()))
                        .unwrap_or_default(),
                )
            },
            set: |o, v| {
                if let (Some(x), Ok(parsed)) = ($proj(o), parse_json(v.text())) {
                    x.settings = $settings::from_json(x.kind(), &parsed);
                }
            },
        }
    };
}

/// The settings of kind `T` of the policy being edited.
fn policy_settings<T: SettingsOf<PolicySettings>>(o: &Object) -> Option<&T> {
    match o {
        Object::Policy(p) => T::of(&p.settings),
        _ => None,
    }
}

/// See [`policy_settings`].
fn policy_settings_mut<T: SettingsOf<PolicySettings>>(o: &mut Object) -> Option<&mut T> {
    match o {
        Object::Policy(p) => T::of_mut(&mut p.settings),
        _ => None,
    }
}

/// Pretty JSON for the editor ("{}" for null).
pub fn pretty(v: &Value) -> String {
    if v.is_null() {
        return "{}".into();
    }
    serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".into())
}

/// Parses a JSON field: an object, or empty for `{}`.
pub fn parse_json(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(v) if v.is_object() => Ok(v),
        Ok(_) => Err("must be a JSON object: { \"key\": value }".into()),
        Err(e) => Err(format!(
            "invalid JSON at line {} column {}",
            e.line(),
            e.column()
        )),
    }
}

fn flows(d: &Data) -> Vec<Choice> {
    d.flows
        .iter()
        .map(|f| Choice {
            id: f.id.clone(),
            label: format!("{} ({})", f.slug, f.designation.label()),
        })
        .collect()
}

fn flows_of(d: &Data, want: FlowDesignation) -> Vec<Choice> {
    d.flows
        .iter()
        .filter(|f| f.designation == want)
        .map(|f| Choice {
            id: f.id.clone(),
            label: f.slug.clone(),
        })
        .collect()
}

fn certs(d: &Data) -> Vec<Choice> {
    d.certificates
        .iter()
        .filter(|c| c.key_pem.is_some())
        .map(|c| Choice {
            id: c.id.clone(),
            label: format!("{} ({})", c.name, c.key_type.label()),
        })
        .collect()
}

/// RSA certificates, the only keys RSA-OAEP-256 can encrypt to (a private key is not needed).
fn rsa_certs(d: &Data) -> Vec<Choice> {
    d.certificates
        .iter()
        .filter(|c| c.key_type == crate::domain::KeyType::Rsa)
        .map(|c| Choice {
            id: c.id.clone(),
            label: format!("{} ({})", c.name, c.key_type.label()),
        })
        .collect()
}

fn providers(d: &Data) -> Vec<Choice> {
    d.providers
        .iter()
        .map(|p| Choice {
            id: p.id.clone(),
            label: p.name.clone(),
        })
        .collect()
}

fn applications(d: &Data) -> Vec<Choice> {
    d.applications
        .iter()
        .map(|a| Choice {
            id: a.id.clone(),
            label: a.name.clone(),
        })
        .collect()
}

fn stages(d: &Data) -> Vec<Choice> {
    d.stages
        .iter()
        .map(|s| Choice {
            id: s.id.clone(),
            label: format!("{} ({})", s.name, s.kind().label()),
        })
        .collect()
}

fn groups(d: &Data) -> Vec<Choice> {
    d.groups
        .iter()
        .map(|g| Choice {
            id: g.id.clone(),
            label: g.name.clone(),
        })
        .collect()
}

fn users(d: &Data) -> Vec<Choice> {
    d.users
        .iter()
        .map(|u| Choice {
            id: u.id.clone(),
            label: u.username.clone(),
        })
        .collect()
}

fn mappings(d: &Data) -> Vec<Choice> {
    d.scope_mappings
        .iter()
        .map(|m| Choice {
            id: m.id.clone(),
            label: format!("{} (scope {})", m.name, m.scope_name),
        })
        .collect()
}

/// authentik's prompt field types that the prompt stage renders.
pub const PROMPT_TYPES: &[(&str, &str)] = &[
    ("text", "Text: simple text input"),
    ("text_area", "Text area: multi-line text input"),
    ("text_read_only", "Text (read-only)"),
    (
        "username",
        "Username: same as text, checks that the username is unique",
    ),
    ("email", "Email: text field with email validation"),
    ("password", "Password: masked input"),
    ("number", "Number"),
    ("checkbox", "Checkbox"),
    ("date", "Date"),
    ("date-time", "Date Time"),
    ("hidden", "Hidden: a hidden field, e.g. to inject data"),
    ("static", "Static: a static value, shown as is"),
    ("separator", "Separator: a static separator line"),
];

/// The fields of a prompt (authentik's Flows & Stages > Prompts form).
pub fn prompt_fields() -> Vec<FieldSpec> {
    vec![
        s!(FieldKind::Text, prompt => name, "name", "Name", "", true),
        s!(FieldKind::Text, prompt => field_key, "field_key", "Field key",
            "Name of the form field, also used to store the value.", true),
        s!(FieldKind::Text, prompt => label, "label", "Label",
            "Label shown next to/above the prompt.", true),
        FieldSpec {
            key: "type",
            label: "Type",
            help: "",
            required: true,
            kind: FieldKind::Select,
            choices: |_| {
                PROMPT_TYPES
                    .iter()
                    .map(|(id, label)| Choice {
                        id: (*id).into(),
                        label: (*label).into(),
                    })
                    .collect()
            },
            get: |o| {
                let mut o = o.clone();
                FieldValue::One(prompt(&mut o).map(|p| p.field_type.clone()))
            },
            set: |o, v| {
                if let (Some(p), Some(t)) = (prompt(o), v.one()) {
                    p.field_type = t.to_string();
                }
            },
        },
        b!(prompt => required, "required", "Required", ""),
        s!(FieldKind::Text, prompt => placeholder, "placeholder", "Placeholder",
            "Optionally provide a short hint that describes the expected input value.", false),
        b!(prompt => placeholder_expression, "placeholder_expression",
            "Python placeholder",
            "The placeholder is a Python expression (request, user, prompt_context) returning the text."),
        s!(FieldKind::Multiline, prompt => initial_value, "initial_value", "Initial value",
            "Optionally pre-fill the input with an initial value.", false),
        b!(prompt => initial_value_expression, "initial_value_expression",
            "Python initial value",
            "The initial value is a Python expression (request, user, prompt_context) returning the text."),
        s!(FieldKind::Multiline, prompt => sub_text, "sub_text", "Help text",
            "Any HTML can be used.", false),
        n!(prompt => order, "order", "Order", ""),
    ]
}

/// A stage binding as the binding target picker and the flow detail name it:
/// `flow-slug #order stage-name`.
pub fn stage_binding_name(d: &Data, b: &FlowStageBinding) -> String {
    let flow = d
        .flows
        .iter()
        .find(|f| f.id == b.flow_id)
        .map_or(b.flow_id.as_str(), |f| f.slug.as_str());
    let stage = d
        .stages
        .iter()
        .find(|s| s.id == b.stage_id)
        .map_or(b.stage_id.as_str(), |s| s.name.as_str());
    format!("{flow} #{} {stage}", b.order)
}

/// What a policy binding can target, as in authentik's bindings tabs: flows, stage bindings
/// (authentik's usual way of making a stage conditional) and applications.
fn binding_targets(d: &Data) -> Vec<Choice> {
    let mut stage_bindings: Vec<&FlowStageBinding> = d.bindings.iter().collect();
    let slug = |b: &FlowStageBinding| {
        d.flows
            .iter()
            .find(|f| f.id == b.flow_id)
            .map(|f| f.slug.clone())
            .unwrap_or_default()
    };
    stage_bindings.sort_by_key(|b| (slug(b), b.order));
    d.flows
        .iter()
        .map(|f| Choice {
            id: f.id.clone(),
            label: format!("flow {}", f.slug),
        })
        .chain(stage_bindings.into_iter().map(|b| Choice {
            id: b.id.clone(),
            label: format!("stage binding {}", stage_binding_name(d, b)),
        }))
        .chain(d.applications.iter().map(|a| Choice {
            id: a.id.clone(),
            label: format!("application {}", a.slug),
        }))
        .chain(d.device_access_groups.iter().map(|g| Choice {
            id: g.id.clone(),
            label: format!("device access group {}", g.name),
        }))
        .collect()
}

/// How a policy binding's target is named in lists (`flow x`, `stage binding x #10 y`,
/// `application z`), or `None` when it is gone.
pub fn binding_target_label(d: &Data, target_id: &str) -> Option<String> {
    if let Some(f) = d.flows.iter().find(|f| f.id == target_id) {
        return Some(format!("flow {}", f.slug));
    }
    if let Some(b) = d.bindings.iter().find(|b| b.id == target_id) {
        return Some(format!("stage binding {}", stage_binding_name(d, b)));
    }
    if let Some(g) = d.device_access_groups.iter().find(|g| g.id == target_id) {
        return Some(format!("device access group {}", g.name));
    }
    d.applications
        .iter()
        .find(|a| a.id == target_id)
        .map(|a| format!("application {}", a.slug))
}

/// What a policy binding binds: a policy, a group or a user, one list with prefixed ids.
fn binding_subjects(d: &Data) -> Vec<Choice> {
    let policies = d.policies.iter().map(|p| Choice {
        id: format!("policy:{}", p.id),
        label: format!("policy {} ({})", p.name, p.kind().label()),
    });
    let groups = d.groups.iter().map(|g| Choice {
        id: format!("group:{}", g.id),
        label: format!("group {}", g.name),
    });
    let users = d.users.iter().map(|u| Choice {
        id: format!("user:{}", u.id),
        label: format!("user {}", u.username),
    });
    policies.chain(groups).chain(users).collect()
}

/// How a binding's subject is named in lists: `policy x (Expression)`, `group y`, `user z`
/// (the id when the object is gone).
pub fn binding_subject_label(d: &Data, subject: &BindingSubject) -> String {
    match subject {
        BindingSubject::Policy(id) => d.policies.iter().find(|p| p.id == *id).map_or_else(
            || format!("policy {id}"),
            |p| format!("policy {} ({})", p.name, p.kind().label()),
        ),
        _ => binding_subject_name(d, subject),
    }
}

/// A binding's subject by name alone (a policy without its kind), for the flow's list rows.
pub fn binding_subject_name(d: &Data, subject: &BindingSubject) -> String {
    match subject {
        BindingSubject::Policy(id) => d
            .policies
            .iter()
            .find(|p| p.id == *id)
            .map_or_else(|| format!("policy {id}"), |p| format!("policy {}", p.name)),
        BindingSubject::Group(id) => d
            .groups
            .iter()
            .find(|g| g.id == *id)
            .map_or_else(|| format!("group {id}"), |g| format!("group {}", g.name)),
        BindingSubject::User(id) => d
            .users
            .iter()
            .find(|u| u.id == *id)
            .map_or_else(|| format!("user {id}"), |u| format!("user {}", u.username)),
    }
}

/// A binding subject as the prefixed id [`binding_subjects`] lists.
pub fn subject_id(s: &BindingSubject) -> String {
    match s {
        BindingSubject::Policy(id) => format!("policy:{id}"),
        BindingSubject::Group(id) => format!("group:{id}"),
        BindingSubject::User(id) => format!("user:{id}"),
    }
}

fn parse_subject(v: &str) -> Option<BindingSubject> {
    let (kind, id) = v.split_once(':')?;
    let id = id.to_string();
    match kind {
        "policy" => Some(BindingSubject::Policy(id)),
        "group" => Some(BindingSubject::Group(id)),
        "user" => Some(BindingSubject::User(id)),
        _ => None,
    }
}

/// The fields of a policy binding (authentik's "Create Binding" form).
pub fn policy_binding_fields() -> Vec<FieldSpec> {
    vec![
        FieldSpec {
            key: "target",
            label: "Target",
            help: "The flow, stage binding, application or device access group the binding applies to.",
            required: true,
            kind: FieldKind::Select,
            choices: binding_targets,
            get: |o| {
                let mut o = o.clone();
                FieldValue::One(
                    pbinding(&mut o)
                        .map(|b| b.target_id.clone())
                        .filter(|t| !t.is_empty()),
                )
            },
            set: |o, v| {
                if let Some(b) = pbinding(o) {
                    b.target_id = v.one().unwrap_or_default().to_string();
                }
            },
        },
        FieldSpec {
            key: "subject",
            label: "Policy / Group / User",
            help: "A policy to evaluate, or a group or user that passes.",
            required: true,
            kind: FieldKind::Select,
            choices: binding_subjects,
            get: |o| {
                let mut o = o.clone();
                FieldValue::One(
                    pbinding(&mut o)
                        .map(|b| subject_id(&b.subject))
                        .filter(|s| !s.ends_with(':')),
                )
            },
            set: |o, v| {
                if let (Some(b), Some(s)) = (pbinding(o), v.one().and_then(parse_subject)) {
                    b.subject = s;
                }
            },
        },
        n!(pbinding => order, "order", "Order", ""),
        b!(pbinding => enabled, "enabled", "Enabled", ""),
        b!(pbinding => negate, "negate", "Negate result",
            "Negates the outcome of the binding. Messages are unaffected."),
        n!(pbinding => timeout, "timeout", "Timeout", "Timeout after which Policy execution is terminated."),
        b!(pbinding => failure_result, "failure_result", "Failure result",
            "Result used when policy execution fails."),
    ]
}

/// The fields of a flow.
pub fn flow_fields() -> Vec<FieldSpec> {
    vec![
        s!(FieldKind::Text, flow => name, "name", "Name", "", true),
        s!(FieldKind::Text, flow => title, "title", "Title", "Shown as the Title in Flow pages.", true),
        s!(FieldKind::Text, flow => slug, "slug", "Slug", "Visible in the URL.", true),
        e!(FlowDesignation, flow => designation, "designation", "Designation",
            "Decides what this Flow is used for. For example, the Authentication flow is redirect to when an un-authenticated user visits authentik."),
        e!(FlowAuthentication, flow => authentication, "authentication", "Authentication",
            "Required authentication level for this flow."),
        e!(DeniedAction, flow => denied_action, "denied_action", "Denied action",
            "Configure what should happen when a flow denies access to a user."),
        e!(PolicyEngineMode, flow => policy_engine_mode, "policy_engine_mode", "Policy engine mode", ""),
        e!(FlowLayout, flow => layout, "layout", "Layout", ""),
        b!(flow => compatibility_mode, "compatibility_mode", "Compatibility mode",
            "Enable compatibility mode, increases compatibility with password managers on mobile devices."),
        s!(FieldKind::Text, flow => background, "background", "Background", "Background shown during execution.", false),
    ]
}

/// The fields of a stage (the kind is chosen before the form opens): typed fields for the
/// kinds that have them, the settings as JSON for the rest.
pub fn stage_fields(kind: StageKind) -> Vec<FieldSpec> {
    let mut out = vec![s!(FieldKind::Text, stage => name, "name", "Name", "", true)];
    match super::stage_specs::fields(kind) {
        Some(typed) => out.extend(typed),
        None => out.push(settings_json!(
            stage,
            StageSettings,
            "Settings (JSON)",
            "This stage kind's fields, with authentik's names (as in blueprints)."
        )),
    }
    out
}

/// The fields of a stage binding (the flow comes from the flow it is opened on).
pub fn binding_fields() -> Vec<FieldSpec> {
    vec![
        FieldSpec {
            key: "stage",
            label: "Stage",
            help: "",
            required: true,
            kind: FieldKind::Select,
            choices: stages,
            get: |o| {
                let mut o = o.clone();
                FieldValue::One(
                    binding(&mut o)
                        .map(|b| b.stage_id.clone())
                        .filter(|s| !s.is_empty()),
                )
            },
            set: |o, v| {
                if let Some(b) = binding(o) {
                    b.stage_id = v.one().unwrap_or_default().to_string();
                }
            },
        },
        n!(binding => order, "order", "Order", ""),
        b!(binding => evaluate_on_plan, "evaluate_on_plan", "Evaluate when flow is planned",
            "Evaluate policies during the Flow planning process."),
        b!(binding => re_evaluate_policies, "re_evaluate_policies", "Evaluate when stage is run",
            "Evaluate policies before the Stage is presented to the user."),
        e!(InvalidResponseAction, binding => invalid_response_action, "invalid_response_action",
            "Invalid response behavior", "Configure how the flow executor should handle an invalid response to a challenge given by this bound stage."),
        e!(PolicyEngineMode, binding => policy_engine_mode, "policy_engine_mode", "Policy engine mode", ""),
    ]
}

/// The fields of a policy, by its kind.
pub fn policy_fields(kind: PolicyKind) -> Vec<FieldSpec> {
    let mut out = vec![
        s!(FieldKind::Text, policy => name, "name", "Name", "", true),
        b!(policy => execution_logging, "execution_logging", "Execution logging",
            "When this option is enabled, all executions of this policy will be logged."),
    ];
    match kind {
        PolicyKind::Expression => out.push(FieldSpec {
            key: "expression",
            label: "Expression",
            help: "Expression using Python-like syntax: return True to pass.",
            required: true,
            kind: FieldKind::Multiline,
            choices: no_choices,
            get: |o| {
                FieldValue::Text(
                    policy_settings::<ExpressionSettings>(o)
                        .map(|s| s.expression.clone())
                        .unwrap_or_default(),
                )
            },
            set: |o, v| {
                if let Some(s) = policy_settings_mut::<ExpressionSettings>(o) {
                    s.expression = v.text().to_string();
                }
            },
        }),
        PolicyKind::GroupMembership => out.push(FieldSpec {
            key: "group",
            label: "Group",
            help: "The user passes when they are a member of this group.",
            required: true,
            kind: FieldKind::Select,
            choices: groups,
            get: |o| {
                FieldValue::One(
                    policy_settings::<GroupMembershipSettings>(o).and_then(|s| s.group.clone()),
                )
            },
            set: |o, v| {
                if let Some(s) = policy_settings_mut::<GroupMembershipSettings>(o) {
                    s.group = v.one().map(str::to_string);
                }
            },
        }),
        _ => out.push(settings_json!(
            policy,
            PolicySettings,
            "Settings (JSON)",
            "This policy kind's fields, with authentik's names."
        )),
    }
    out
}

/// The fields of an application.
pub fn application_fields() -> Vec<FieldSpec> {
    vec![
        s!(FieldKind::Text, app => name, "name", "Name", "Application's display Name.", true),
        s!(FieldKind::Text, app => slug, "slug", "Slug", "Internal application name used in URLs.", true),
        r!(providers, app => provider_id, "provider", "Provider", "Select a provider that this application should use. n creates a new one.", false),
        s!(FieldKind::Text, app => group, "group", "Group", "Optionally enter a group name. Applications with identical groups are shown grouped together.", false),
        e!(PolicyEngineMode, app => policy_engine_mode, "policy_engine_mode", "Policy engine mode", ""),
        s!(FieldKind::Text, app => meta_launch_url, "meta_launch_url", "Launch URL", "If left empty, authentik will try to extract the launch URL based on the selected provider.", false),
        b!(app => open_in_new_tab, "open_in_new_tab", "Open in new tab", "If checked, the launch URL will open in a new browser tab or window from the user's application library."),
        s!(FieldKind::Text, app => meta_publisher, "meta_publisher", "Publisher", "", false),
        s!(FieldKind::Multiline, app => meta_description, "meta_description", "Description", "", false),
    ]
}

/// authentik's grant types with the labels its provider form shows, in its order.
pub const GRANT_TYPE_LABELS: &[(&str, &str)] = &[
    ("authorization_code", "Authorization Code"),
    ("implicit", "Implicit"),
    ("hybrid", "Hybrid"),
    ("refresh_token", "Refresh Token"),
    ("client_credentials", "Client Credentials"),
    ("password", "Password"),
    (
        "urn:ietf:params:oauth:grant-type:device_code",
        "Device Code",
    ),
];

fn grant_types(_: &Data) -> Vec<Choice> {
    ALL_GRANT_TYPES
        .iter()
        .map(|id| Choice {
            id: (*id).into(),
            label: GRANT_TYPE_LABELS
                .iter()
                .find(|(g, _)| g == id)
                .map_or_else(|| (*id).to_string(), |(_, l)| format!("{l} ({id})")),
        })
        .collect()
}

/// The sections of the OAuth2 provider form, as authentik groups it: the first field of each
/// and its title.
pub const PROVIDER_SECTIONS: &[(&str, &str)] = &[
    ("client_type", "Protocol settings"),
    ("authentication_flow", "Advanced flow settings"),
    ("access_code_validity", "Advanced protocol settings"),
];

/// The fields of an OAuth2 provider, in the order of authentik's form (see
/// [`PROVIDER_SECTIONS`]).
pub fn provider_fields() -> Vec<FieldSpec> {
    vec![
        s!(FieldKind::Text, prov => name, "name", "Name", "", true),
        r!(|d| flows_of(d, FlowDesignation::Authorization), prov => authorization_flow_id,
            "authorization_flow", "Authorization flow", "Flow used when authorizing this provider.", true),
        e!(ClientType, prov => oauth2.client_type, "client_type", "Client type",
            "Confidential clients are capable of maintaining the confidentiality of their credentials such as client secrets"),
        s!(FieldKind::Id(Generate::ClientId), prov => client_id, "client_id", "Client ID", "Ctrl-G generates a new one.", true),
        s!(FieldKind::Secret(Generate::ClientSecret), prov => oauth2.client_secret, "client_secret", "Client Secret", "Ctrl-T reveals, Ctrl-G generates a new one.", false),
        FieldSpec {
            key: "grant_types",
            label: "Grant types",
            help: "The OAuth2 grants this client may use; any other is refused (authorize: invalid_request, token: invalid_grant).",
            required: false,
            kind: FieldKind::MultiSelect,
            choices: grant_types,
            get: |o| {
                let mut o = o.clone();
                FieldValue::Many(
                    prov(&mut o)
                        .map(|p| p.oauth2.grant_types.clone())
                        .unwrap_or_default(),
                )
            },
            set: |o, v| {
                if let Some(p) = prov(o) {
                    // Kept in authentik's order whatever order they were ticked in.
                    p.oauth2.grant_types = ALL_GRANT_TYPES
                        .iter()
                        .filter(|g| v.many().iter().any(|m| m == *g))
                        .map(|g| g.to_string())
                        .collect();
                }
            },
        },
        FieldSpec {
            key: "redirect_uris",
            label: "Redirect URIs",
            help: "Valid redirect URIs after a successful authorization flow. ^N add, ^X remove, ^O strict/regex.",
            required: false,
            kind: FieldKind::Uris,
            choices: no_choices,
            get: |o| {
                let mut o = o.clone();
                FieldValue::Uris(
                    prov(&mut o)
                        .map(|p| p.oauth2.redirect_uris.clone())
                        .unwrap_or_default(),
                )
            },
            set: |o, v| {
                if let (Some(p), FieldValue::Uris(u)) = (prov(o), v) {
                    p.oauth2.redirect_uris = u.clone();
                }
            },
        },
        r!(certs, prov => signing_key_id, "signing_key", "Signing Key", "Key used to sign the tokens.", false),
        r!(rsa_certs, prov => encryption_key_id, "encryption_key", "Encryption Key",
            "Key used to encrypt the tokens (RSA only). When set, every token is sent as a JWE that only the holder of this key's private key can read.", false),
        s!(FieldKind::Text, prov => oauth2.logout_uri, "logout_uri", "Logout URI",
            "URI to send logout notifications to when users log out. Required for OpenID Connect Logout functionality.", false),
        e!(LogoutMethod, prov => oauth2.logout_method, "logout_method", "Logout Method",
            "The logout method determines how the logout URI is called: back-channel (server to server) or front-channel."),
        r!(|d| flows_of(d, FlowDesignation::Authentication), prov => authentication_flow_id,
            "authentication_flow", "Authentication flow", "Flow used when a user access this provider and is not authenticated.", false),
        r!(|d| flows_of(d, FlowDesignation::Invalidation), prov => invalidation_flow_id,
            "invalidation_flow", "Invalidation flow", "Flow used when logging out of this provider.", true),
        s!(FieldKind::Duration, prov => oauth2.access_code_validity, "access_code_validity", "Access code validity",
            "Configure how long access codes are valid for.", true),
        s!(FieldKind::Duration, prov => oauth2.access_token_validity, "access_token_validity", "Access Token validity",
            "Configure how long access tokens are valid for.", true),
        s!(FieldKind::Duration, prov => oauth2.refresh_token_validity, "refresh_token_validity", "Refresh Token validity",
            "Configure how long refresh tokens are valid for.", true),
        s!(FieldKind::Duration, prov => oauth2.refresh_token_threshold, "refresh_token_threshold", "Refresh Token threshold",
            "When renewing a refresh token, if the existing refresh token's expiry is within this threshold, the refresh token will be renewed. Set to seconds=0 to always renew the refresh token.", true),
        FieldSpec {
            key: "scope_mappings",
            label: "Scopes",
            help: "Select which scopes can be used by the client. The client still has to specify the scope to access the data.",
            required: false,
            kind: FieldKind::MultiSelect,
            choices: mappings,
            get: |o| {
                let mut o = o.clone();
                FieldValue::Many(
                    prov(&mut o)
                        .map(|p| p.scope_mapping_ids.clone())
                        .unwrap_or_default(),
                )
            },
            set: |o, v| {
                if let Some(p) = prov(o) {
                    p.scope_mapping_ids = v.many().to_vec();
                }
            },
        },
        e!(SubMode, prov => oauth2.sub_mode, "sub_mode", "Subject mode",
            "Configure what data should be used as unique User Identifier. For most cases, the default should be fine."),
        b!(prov => oauth2.include_claims_in_id_token, "include_claims_in_id_token", "Include claims in id_token",
            "Include User claims from scopes in the id_token, for applications that don't access the userinfo endpoint."),
        e!(IssuerMode, prov => oauth2.issuer_mode, "issuer_mode", "Issuer mode",
            "Configure how the issuer field of the ID Token should be filled."),
    ]
}

/// The fields of a scope mapping.
pub fn mapping_fields() -> Vec<FieldSpec> {
    vec![
        s!(FieldKind::Text, mapping => name, "name", "Name", "", true),
        s!(FieldKind::Text, mapping => scope_name, "scope_name", "Scope name", "Scope name requested by the client", true),
        s!(FieldKind::Text, mapping => description, "description", "Description", "Description shown to the user when consenting. If left empty, the user won't be informed.", false),
        s!(FieldKind::Multiline, mapping => expression, "expression", "Expression", "Expression using Python-like syntax: return a dict of claims.", false),
    ]
}

/// The fields of an existing certificate (only the name can change).
pub fn certificate_edit_fields() -> Vec<FieldSpec> {
    vec![s!(FieldKind::Text, cert => name, "name", "Name", "", true)]
}

fn algorithms(_: &Data) -> Vec<Choice> {
    [
        ("rsa2048", "RSA 2048"),
        ("rsa4096", "RSA 4096"),
        ("ecdsa_p256", "ECDSA P-256"),
        ("ecdsa_p384", "ECDSA P-384"),
        ("ed25519", "Ed25519"),
    ]
    .iter()
    .map(|(id, label)| Choice {
        id: (*id).into(),
        label: (*label).into(),
    })
    .collect()
}

fn aux(
    key: &'static str,
    label: &'static str,
    help: &'static str,
    required: bool,
    kind: FieldKind,
) -> FieldSpec {
    FieldSpec {
        key,
        label,
        help,
        required,
        kind,
        choices: no_choices,
        get: no_get,
        set: no_set,
    }
}

/// The fields of the "generate a certificate" form.
pub fn certificate_generate_fields() -> Vec<FieldSpec> {
    vec![
        aux("name", "Name", "", true, FieldKind::Text),
        aux(
            "common_name",
            "Common Name",
            "Subject-alt name",
            true,
            FieldKind::Text,
        ),
        aux(
            "subject_alt_name",
            "Subject-alt names",
            "Optional, comma-separated SubjectAlt Names.",
            false,
            FieldKind::Text,
        ),
        aux(
            "validity_days",
            "Validity days",
            "",
            true,
            FieldKind::Number,
        ),
        FieldSpec {
            choices: algorithms,
            ..aux(
                "alg",
                "Private key Algorithm",
                "Algorithm used to generate the private key.",
                true,
                FieldKind::Select,
            )
        },
    ]
}

/// The fields of the "import a certificate" form.
pub fn certificate_import_fields() -> Vec<FieldSpec> {
    vec![
        aux("name", "Name", "", true, FieldKind::Text),
        aux(
            "certificate_data",
            "Certificate",
            "PEM-encoded Certificate data.",
            true,
            FieldKind::Multiline,
        ),
        aux(
            "key_data",
            "Private Key",
            "Optional Private Key. If this is set, you can use this keypair for encryption.",
            false,
            FieldKind::Multiline,
        ),
    ]
}

/// The fields of a brand.
pub fn brand_fields() -> Vec<FieldSpec> {
    vec![
        s!(FieldKind::Text, brand => domain, "domain", "Domain", "Matching is done based on suffix, so if you enter domain.tld, foo.domain.tld will still match.", true),
        b!(brand => default, "default", "Default", "Use this brand for each domain that doesn't have a dedicated brand."),
        s!(FieldKind::Text, brand => branding_title, "branding_title", "Title", "Branding shown in page title and several other places.", false),
        s!(FieldKind::Text, brand => branding_logo, "branding_logo", "Logo", "Icon shown in sidebar/header and flow executor.", false),
        s!(FieldKind::Text, brand => branding_favicon, "branding_favicon", "Favicon", "Icon shown in the browser tab.", false),
        r!(|d| flows_of(d, FlowDesignation::Authentication), brand => flow_authentication_id, "flow_authentication", "Authentication flow", "Flow used to authenticate users. If left empty, the first applicable flow sorted by the slug is used.", false),
        r!(|d| flows_of(d, FlowDesignation::Invalidation), brand => flow_invalidation_id, "flow_invalidation", "Invalidation flow", "Flow used to logout. If left empty, the first applicable flow sorted by the slug is used.", false),
        r!(|d| flows_of(d, FlowDesignation::Recovery), brand => flow_recovery_id, "flow_recovery", "Recovery flow", "Recovery flow. If left empty, the first applicable flow sorted by the slug is used.", false),
        r!(|d| flows_of(d, FlowDesignation::Unenrollment), brand => flow_unenrollment_id, "flow_unenrollment", "Unenrollment flow", "If set, users are able to unenroll themselves using this flow.", false),
        r!(|d| flows_of(d, FlowDesignation::StageConfiguration), brand => flow_user_settings_id, "flow_user_settings", "User settings flow", "If set, users are able to configure details of their profile.", false),
        r!(flows, brand => flow_device_code_id, "flow_device_code", "Device code flow", "If set, the OAuth Device Code profile can be used, and the selected flow will be used to enter the code.", false),
        r!(certs, brand => web_certificate_id, "web_certificate", "Web Certificate", "", false),
        r!(applications, brand => default_application_id, "default_application", "Default application", "When configured, external users will automatically be redirected to this application when not attempting to access a different application", false),
        s!(FieldKind::Multiline, brand => branding_custom_css, "branding_custom_css", "Custom CSS", "Custom CSS to apply to pages when this brand is active.", false),
        j!(brand => attributes, "attributes", "Attributes", "Set custom attributes using JSON."),
    ]
}

/// The sections of the connector form, as authentik groups the agent's.
pub const CONNECTOR_SECTIONS: &[(&str, &str)] = &[
    ("authorization_flow", "Authentication settings"),
    ("challenge_key", "Device compliance settings"),
    ("nss_uid_offset", "Unix settings"),
];

/// The fields of a connector: the columns every connector has and the agent's typed settings,
/// interleaved as authentik's agent connector form orders them (see [`CONNECTOR_SECTIONS`]).
pub fn connector_fields() -> Vec<FieldSpec> {
    let agent = super::stage_specs::agent_fields();
    let take = |key: &str| agent.iter().find(|f| f.key == key).copied();
    [
        Some(s!(FieldKind::Text, conn => name, "name", "Name", "", true)),
        Some(FieldSpec {
            key: "kind",
            label: "Type",
            help: "",
            required: true,
            kind: FieldKind::Select,
            choices: |_| {
                ConnectorKind::ALL
                    .iter()
                    .map(|k| Choice {
                        id: k.as_str().into(),
                        label: k.label().into(),
                    })
                    .collect()
            },
            get: |o| match o {
                Object::Connector(c) => FieldValue::One(Some(c.kind().as_str().to_string())),
                _ => FieldValue::One(None),
            },
            set: |o, v| {
                if let (Object::Connector(c), Some(kind)) =
                    (o, v.one().and_then(ConnectorKind::parse))
                    && c.kind() != kind
                {
                    c.settings = ConnectorSettings::default_for(kind);
                }
            },
        }),
        take("refresh_interval"),
        take("snapshot_expiry"),
        Some(b!(conn => enabled, "enabled", "Enabled", "")),
        Some(
            r!(|d| flows_of(d, FlowDesignation::Authorization), conn => authorization_flow_id,
            "authorization_flow", "Authorization flow", "Flow used for users to authorize.", false),
        ),
        take("auth_session_duration"),
        take("auth_terminate_session_on_expiry"),
        take("jwt_federation_providers"),
        Some(
            r!(certs, conn => challenge_key_id, "challenge_key", "Challenge certificate",
            "Certificate used for signing device compliance challenges.", false),
        ),
        take("challenge_idle_timeout"),
        take("challenge_trigger_check_in"),
        take("nss_uid_offset"),
        take("nss_gid_offset"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The fields of a device access group (its policy bindings are edited from its detail).
pub fn device_access_group_fields() -> Vec<FieldSpec> {
    vec![
        s!(FieldKind::Text, access_group => name, "name", "Name", "", true),
        j!(access_group => attributes, "attributes", "Attributes", "Set custom attributes using JSON."),
    ]
}

/// The fields of a new enrollment token: the key is made by the service and shown once.
pub fn enrollment_token_fields() -> Vec<FieldSpec> {
    vec![
        aux("name", "Name", "", true, FieldKind::Text),
        FieldSpec {
            choices: connectors,
            ..aux(
                "connector",
                "Connector",
                "The connector a device enrolls through with this token.",
                true,
                FieldKind::Select,
            )
        },
        FieldSpec {
            choices: device_access_groups,
            ..aux(
                "device_group",
                "Device access group",
                "Devices enrolled with this token join this group (its policies apply to them).",
                false,
                FieldKind::Select,
            )
        },
        aux(
            "expires_in",
            "Expires in",
            "How long the token can enroll devices, e.g. days=30. Empty: it never expires.",
            false,
            FieldKind::Duration,
        ),
    ]
}

/// The fields of the "create invitation" form (read by key: an invitation is not an object).
pub fn invitation_fields() -> Vec<FieldSpec> {
    vec![
        aux(
            "name",
            "Name",
            "A unique name to find the invitation by.",
            true,
            FieldKind::Text,
        ),
        FieldSpec {
            choices: |d| flows_of(d, FlowDesignation::Enrollment),
            ..aux(
                "flow",
                "Flow",
                "The enrollment flow the link opens; it must have an invitation stage.",
                true,
                FieldKind::Select,
            )
        },
        aux(
            "expires_in",
            "Expires in",
            "How long the link works, e.g. days=7. Empty: it never expires.",
            false,
            FieldKind::Duration,
        ),
        FieldSpec {
            get: |_| FieldValue::Bool(true),
            ..aux(
                "single_use",
                "Single use",
                "When enabled, the invitation is deleted once a user enrolls with it.",
                false,
                FieldKind::Toggle,
            )
        },
        aux(
            "fixed_data",
            "Fixed data",
            "Optional data laid over what the user enters, e.g. {\"email\": \"ann@example.com\"}.",
            false,
            FieldKind::Json,
        ),
    ]
}

fn connectors(d: &Data) -> Vec<Choice> {
    d.connectors
        .iter()
        .map(|c| Choice {
            id: c.id.clone(),
            label: c.name.clone(),
        })
        .collect()
}

fn device_access_groups(d: &Data) -> Vec<Choice> {
    d.device_access_groups
        .iter()
        .map(|g| Choice {
            id: g.id.clone(),
            label: g.name.clone(),
        })
        .collect()
}

/// The fields of a user.
pub fn user_fields() -> Vec<FieldSpec> {
    vec![
        s!(FieldKind::Text, user => username, "username", "Username", "User's primary identifier. 150 characters or fewer.", true),
        s!(FieldKind::Text, user => name, "name", "Display name", "User's display name.", false),
        s!(FieldKind::Text, user => email, "email", "Email", "", false),
        b!(user => is_active, "is_active", "Is active", "Designates whether this user should be treated as active. Unselect this instead of deleting accounts."),
        e!(UserType, user => user_type, "user_type", "User type", ""),
        s!(FieldKind::Text, user => path, "path", "Path", "", true),
        FieldSpec {
            key: "groups",
            label: "Groups",
            help: "Groups this user is a member of.",
            required: false,
            kind: FieldKind::MultiSelect,
            choices: groups,
            get: |o| match o {
                Object::User { groups, .. } => FieldValue::Many(groups.clone()),
                _ => FieldValue::Many(Vec::new()),
            },
            set: |o, v| {
                if let Object::User { groups, .. } = o {
                    *groups = v.many().to_vec();
                }
            },
        },
        j!(user => attributes, "attributes", "Attributes", "Set custom attributes using JSON."),
    ]
}

/// The fields of the "set password" form.
pub fn password_fields() -> Vec<FieldSpec> {
    vec![
        aux(
            "password",
            "Password",
            "At least 8 characters. Ctrl-T reveals.",
            true,
            FieldKind::Secret(Generate::Nothing),
        ),
        aux(
            "password_repeat",
            "Password (repeat)",
            "",
            true,
            FieldKind::Secret(Generate::Nothing),
        ),
    ]
}

/// The fields of a new app password or API token (nothing of it is stored in the form's
/// object: the service makes the key).
pub fn token_fields() -> Vec<FieldSpec> {
    vec![
        FieldSpec {
            choices: |_| {
                crate::service::accounts::TokenIntent::ALL
                    .iter()
                    .map(|i| Choice {
                        id: i.as_str().into(),
                        label: i.label().into(),
                    })
                    .collect()
            },
            ..aux(
                "intent",
                "Intent",
                "App password: the token endpoint's password grant. API token: never accepted as a password.",
                true,
                FieldKind::Select,
            )
        },
        aux(
            "description",
            "Description",
            "What the token is for.",
            false,
            FieldKind::Text,
        ),
        aux(
            "expires",
            "Expires in",
            "How long it works, e.g. days=30. Empty: until revoked.",
            false,
            FieldKind::Duration,
        ),
    ]
}

/// Where a certificate (and its key) are exported to.
pub fn export_fields() -> Vec<FieldSpec> {
    vec![
        aux(
            "certificate_path",
            "Certificate file",
            "Where to write the certificate (PEM). An existing file is never overwritten.",
            true,
            FieldKind::Text,
        ),
        aux(
            "key_path",
            "Private key file",
            "Where to write the private key (PEM, mode 0600). Empty: the certificate only.",
            false,
            FieldKind::Text,
        ),
    ]
}

/// The blueprint import form: one path.
pub fn import_fields() -> Vec<FieldSpec> {
    vec![aux(
        "path",
        "Blueprint file",
        "A YAML blueprint in authentik's format, e.g. fixtures/blueprints/examples/example-app.yaml. \
         What it would change is shown before anything is written.",
        true,
        FieldKind::Text,
    )]
}

/// The fields of a group.
pub fn group_fields() -> Vec<FieldSpec> {
    vec![
        s!(FieldKind::Text, group => name, "name", "Name", "", true),
        b!(group => is_superuser, "is_superuser", "Is superuser", "Users added to this group will be superusers."),
        r!(groups, group => parent_id, "parent", "Parent", "", false),
        FieldSpec {
            key: "users",
            label: "Members",
            help: "",
            required: false,
            kind: FieldKind::MultiSelect,
            choices: users,
            get: |o| match o {
                Object::Group { users, .. } => FieldValue::Many(users.clone()),
                _ => FieldValue::Many(Vec::new()),
            },
            set: |o, v| {
                if let Object::Group { users, .. } = o {
                    *users = v.many().to_vec();
                }
            },
        },
        j!(group => attributes, "attributes", "Attributes", "Set custom attributes using JSON."),
    ]
}
