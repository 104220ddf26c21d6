//! The inspector's dry runs, as data: what each of the four asks (a form declared as field
//! specs, sharing the user picker and the context area), the request a filled form makes, and
//! the answer turned into titled sections the one result view draws. Built without I/O; the
//! event loop runs the request through the service, which writes nothing.

use serde_json::Value;

use super::actions::Request;
pub use super::actions::{DryRunAnswer, DryRunInput};
use super::data::Data;
pub use super::form::DryRun;
use super::form::field::{Choice, FieldKind, FieldSpec, FieldValue, no_choices, no_set};
use super::form::{Form, Purpose, specs};
use super::inspect::Section;
use crate::domain::Object;
use crate::service::inspect::{
    AccessCheck, AccessCheckInput, OAuthRequestInput, PolicyTest, PolicyTestInput, PolicyTrace,
    Simulation, SimulationInput,
};
use crate::service::token_preview::{TokenPreview, TokenPreviewInput};

/// The user picker's choice for "nobody signed in".
pub const ANONYMOUS: &str = "anonymous";

/// A dry run's answer laid out: the main sections, and for a simulation one section per
/// stage's challenge that `n`/`p` step through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultView {
    /// The window's title.
    pub title: String,
    /// The result, section by section.
    pub sections: Vec<Section>,
    /// The stages' challenges (empty but for a simulation).
    pub steps: Vec<Section>,
    /// The step shown.
    pub step: usize,
    /// Enter moved the keys to the step pane (j/k scroll it).
    pub in_steps: bool,
    /// Lines of the result pane scrolled past.
    pub scroll: usize,
    /// Lines of the step pane scrolled past.
    pub step_scroll: usize,
}

impl ResultView {
    /// Lays out an answer; bindings to a group or user are named from `data`.
    pub fn new(title: String, answer: &DryRunAnswer, data: &Data) -> Self {
        let (sections, steps) = match answer {
            DryRunAnswer::Simulation(s) => (simulation_sections(s, data), step_sections(s)),
            DryRunAnswer::PolicyTest(t) => (policy_test_sections(t), Vec::new()),
            DryRunAnswer::AccessCheck(a) => (access_sections(a, data), Vec::new()),
            DryRunAnswer::Tokens(t) => (token_sections(t), Vec::new()),
        };
        Self {
            title,
            sections,
            steps,
            ..Default::default()
        }
    }
}

impl DryRun {
    /// The form's title (also the result window's).
    pub fn title(&self) -> String {
        match self {
            DryRun::Simulate(slug) => format!("Simulate {slug}"),
            DryRun::TestPolicy(_, name) => format!("Test policy {name}"),
            DryRun::CheckAccess(slug) => format!("Check access to {slug}"),
            DryRun::PreviewTokens(_, name) => format!("Token preview of {name}"),
        }
    }

    /// The form's fields: one table per dry run, sharing the field declarations.
    fn fields(&self) -> Vec<FieldSpec> {
        match self {
            DryRun::Simulate(_) => vec![
                USER,
                APPLICATION,
                CLIENT_ID,
                SCOPES_OPTIONAL,
                REDIRECT_URI,
                PROMPT,
                CLIENT_IP,
                CONTEXT,
            ],
            DryRun::TestPolicy(..) => vec![USER, CONTEXT],
            DryRun::CheckAccess(_) => vec![USER],
            DryRun::PreviewTokens(..) => vec![SIGNED_IN_USER, SCOPES],
        }
    }

    /// The form that asks for the dry run's input (`^S` runs it; nothing is written).
    pub fn form(self) -> Form {
        let title = format!("{} (^S runs it, nothing is written)", self.title());
        let fields = self.fields();
        Form::new(
            &title,
            Object::Flow(super::form::open::blank_flow()),
            Purpose::DryRun(self),
            fields,
        )
    }

    /// The request a valid form makes.
    pub fn request(&self, form: &Form) -> Request {
        let text = |k: &str| {
            form.value(k)
                .map(|v| v.text().trim().to_string())
                .unwrap_or_default()
        };
        let user_id = form
            .value("user")
            .and_then(|v| v.one())
            .filter(|id| *id != ANONYMOUS)
            .map(str::to_string);
        let context = specs::parse_json(&text("context")).unwrap_or(Value::Null);
        let input = match self {
            DryRun::Simulate(flow_slug) => {
                let client_id = text("client_id");
                DryRunInput::Simulate(SimulationInput {
                    flow_slug: flow_slug.clone(),
                    user_id,
                    application: form
                        .value("application")
                        .and_then(|v| v.one())
                        .map(str::to_string),
                    oauth: (!client_id.is_empty()).then(|| OAuthRequestInput {
                        client_id,
                        scopes: words(&text("scopes")),
                        redirect_uri: text("redirect_uri"),
                        prompt: Some(text("prompt")).filter(|p| !p.is_empty()),
                    }),
                    client_ip: text("client_ip"),
                    context,
                })
            }
            DryRun::TestPolicy(policy_id, _) => DryRunInput::TestPolicy(PolicyTestInput {
                policy_id: policy_id.clone(),
                user_id,
                context,
            }),
            DryRun::CheckAccess(application) => DryRunInput::CheckAccess(AccessCheckInput {
                application: application.clone(),
                user_id,
            }),
            DryRun::PreviewTokens(provider_id, _) => {
                DryRunInput::PreviewTokens(TokenPreviewInput {
                    provider_id: provider_id.clone(),
                    user_id: user_id.unwrap_or_default(),
                    scopes: words(&text("scopes")),
                })
            }
        };
        Request::DryRun {
            title: self.title(),
            input: Box::new(input),
        }
    }
}

fn words(s: &str) -> Vec<String> {
    s.split([' ', ','])
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// A field the dry run reads by key (its default from `get`).
const fn field(
    key: &'static str,
    label: &'static str,
    help: &'static str,
    kind: FieldKind,
    choices: fn(&Data) -> Vec<Choice>,
    get: fn(&Object) -> FieldValue,
) -> FieldSpec {
    FieldSpec {
        key,
        label,
        help,
        required: false,
        kind,
        choices,
        get,
        set: no_set,
    }
}

const USER: FieldSpec = FieldSpec {
    required: true,
    ..field(
        "user",
        "User",
        "Who is signed in when the flow is planned (enter: pick, typing filters); anonymous: nobody.",
        FieldKind::Select,
        users_or_anonymous,
        anonymous,
    )
};
const SIGNED_IN_USER: FieldSpec = FieldSpec {
    required: true,
    ..field(
        "user",
        "User",
        "The user the tokens would be issued to (enter: pick, typing filters).",
        FieldKind::Select,
        users,
        none,
    )
};
const APPLICATION: FieldSpec = field(
    "application",
    "Application",
    "The application being accessed (optional).",
    FieldKind::Select,
    applications,
    none,
);
const CLIENT_ID: FieldSpec = field(
    "client_id",
    "OAuth client ID",
    "Simulate an OAuth authorize request from this client (empty: none).",
    FieldKind::Text,
    no_choices,
    empty,
);
const SCOPES_OPTIONAL: FieldSpec = field(
    "scopes",
    "Scopes",
    "The authorize request's scopes, space separated.",
    FieldKind::Text,
    no_choices,
    empty,
);
const SCOPES: FieldSpec = field(
    "scopes",
    "Scopes",
    "The scopes asked for, space separated.",
    FieldKind::Text,
    no_choices,
    default_scopes,
);
const REDIRECT_URI: FieldSpec = field(
    "redirect_uri",
    "Redirect URI",
    "The authorize request's redirect_uri.",
    FieldKind::Text,
    no_choices,
    empty,
);
const PROMPT: FieldSpec = field(
    "prompt",
    "Prompt",
    "The authorize request's prompt: none, login or consent (empty: none).",
    FieldKind::Text,
    no_choices,
    empty,
);
const CLIENT_IP: FieldSpec = field(
    "client_ip",
    "Client IP",
    "The request's client IP (empty: 127.0.0.1).",
    FieldKind::Text,
    no_choices,
    empty,
);
const CONTEXT: FieldSpec = field(
    "context",
    "Context",
    "A JSON object whose keys join the context, e.g. {\"pending_user\": \"...\"}.",
    FieldKind::Json,
    no_choices,
    empty,
);

fn empty(_: &Object) -> FieldValue {
    FieldValue::Text(String::new())
}

fn none(_: &Object) -> FieldValue {
    FieldValue::One(None)
}

fn anonymous(_: &Object) -> FieldValue {
    FieldValue::One(Some(ANONYMOUS.into()))
}

fn default_scopes(_: &Object) -> FieldValue {
    FieldValue::Text("openid profile email".into())
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

fn users_or_anonymous(d: &Data) -> Vec<Choice> {
    let mut out = vec![Choice {
        id: ANONYMOUS.into(),
        label: ANONYMOUS.into(),
    }];
    out.extend(users(d));
    out
}

fn applications(d: &Data) -> Vec<Choice> {
    d.applications
        .iter()
        .map(|a| Choice {
            id: a.slug.clone(),
            label: a.name.clone(),
        })
        .collect()
}

fn section(title: impl Into<String>, lines: Vec<(String, String)>) -> Section {
    Section {
        title: title.into(),
        lines,
    }
}

fn pass(passing: bool) -> &'static str {
    if passing { "passing" } else { "not passing" }
}

fn elapsed(us: u64) -> String {
    format!("{:.3} ms", us as f64 / 1000.0)
}

/// A list as one value per line ("none" when empty is left to the view).
fn list_lines(key: &str, values: &[String]) -> Vec<(String, String)> {
    values
        .iter()
        .map(|v| (key.to_string(), v.clone()))
        .collect()
}

/// A policy binding's result on one line, its messages, logs and error below it.
fn trace_value(t: &PolicyTrace) -> String {
    let mut out = format!(
        "{}{} in {}",
        pass(t.passing),
        if t.negate { " (negated)" } else { "" },
        elapsed(t.elapsed_us)
    );
    if let Some(raw) = t.raw_passing.filter(|raw| *raw != t.passing) {
        out.push_str(&format!(", the policy said {}", pass(raw)));
    }
    if let Some(e) = &t.error {
        match t.error_line {
            Some(line) => out.push_str(&format!("\nerror at line {line}: {e}")),
            None => out.push_str(&format!("\nerror: {e}")),
        }
    }
    for m in &t.messages {
        out.push_str(&format!("\nmessage: {m}"));
    }
    for l in &t.logs {
        out.push_str(&format!("\nlog: {l}"));
    }
    out
}

/// A binding's subject with a group or user named rather than given by id.
fn subject(t: &PolicyTrace, data: &Data) -> String {
    let s = t.subject.as_str();
    if let Some(id) = s.strip_prefix("group ")
        && let Some(g) = data.groups.iter().find(|g| g.id == id)
    {
        return format!("group {}", g.name);
    }
    if let Some(id) = s.strip_prefix("user ")
        && let Some(u) = data.users.iter().find(|u| u.id == id)
    {
        return format!("user {}", u.username);
    }
    s.to_string()
}

fn traces(traces: &[PolicyTrace], data: &Data) -> Vec<(String, String)> {
    traces
        .iter()
        .map(|t| (subject(t, data), trace_value(t)))
        .collect()
}

/// The plan, what was dropped and why, every policy's result, the denial and the notes.
pub fn simulation_sections(s: &Simulation, data: &Data) -> Vec<Section> {
    let outcome = match &s.denial {
        Some(d) => {
            let mut lines = vec![("result".into(), format!("denied: {}", d.reason))];
            if let Some(p) = &d.policy {
                lines.push(("by".into(), p.clone()));
            }
            if let Some(b) = &d.binding_id {
                lines.push(("binding".into(), b.clone()));
            }
            lines.extend(list_lines("message", &d.messages));
            lines
        }
        None => vec![(
            "result".into(),
            format!(
                "plans {} stage{}",
                s.stages.len(),
                if s.stages.len() == 1 { "" } else { "s" }
            ),
        )],
    };
    let plan = s
        .stages
        .iter()
        .map(|st| {
            let again = if st.re_evaluate_policies {
                ", policies re-evaluated when it runs"
            } else {
                ""
            };
            (
                format!("{:>3}", st.order),
                format!("{} ({}){again}", st.stage_name, st.stage_kind),
            )
        })
        .collect();
    let dropped = s
        .dropped
        .iter()
        .map(|d| {
            let by: Vec<String> =
                d.by.iter()
                    .map(|t| format!("{} ({})", subject(t, data), pass(t.passing)))
                    .collect();
            let by = if by.is_empty() {
                String::new()
            } else {
                format!("\nby {}", by.join("; "))
            };
            (
                format!("{:>3}", d.order),
                format!("{}: {}{by}", d.stage_name, d.reason),
            )
        })
        .collect();
    vec![
        section(format!("Flow {}", s.flow_slug), outcome),
        section("Plan", plan),
        section("Dropped stages", dropped),
        section("Policies, in evaluation order", traces(&s.policies, data)),
        section(
            "Depends on what the user enters",
            list_lines("note", &s.notes),
        ),
        section(
            "Not written (a dry run)",
            list_lines("would", &s.suppressed_writes),
        ),
    ]
}

/// One section per stage the user would see: the summary and the challenge JSON.
pub fn step_sections(s: &Simulation) -> Vec<Section> {
    s.steps
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let json = serde_json::to_string_pretty(&st.challenge).unwrap_or_default();
            section(
                format!("{}. {}", i + 1, st.stage_name),
                vec![
                    ("user sees".into(), st.summary.clone()),
                    ("challenge".into(), json),
                ],
            )
        })
        .collect()
}

/// authentik's Test Policy result.
pub fn policy_test_sections(t: &PolicyTest) -> Vec<Section> {
    let mut result = vec![
        ("result".into(), pass(t.passing).to_string()),
        ("time".into(), elapsed(t.elapsed_us)),
    ];
    if let Some(e) = &t.error {
        result.push(("error".into(), e.clone()));
        if let Some(line) = t.error_line {
            result.push(("line".into(), line.to_string()));
        }
    }
    vec![
        section("Result", result),
        section("Messages", list_lines("message", &t.messages)),
        section("Log output", list_lines("log", &t.logs)),
    ]
}

/// authentik's Check access result.
pub fn access_sections(a: &AccessCheck, data: &Data) -> Vec<Section> {
    let verdict = if a.allowed {
        "yes, may use it"
    } else {
        "no, access refused"
    };
    let mut result = vec![("allowed".into(), verdict.to_string())];
    result.extend(list_lines("message", &a.messages));
    let deciding = if a.deciding.is_empty() {
        vec![(
            "bindings".into(),
            "none: the application has no policy bindings".into(),
        )]
    } else {
        traces(&a.deciding, data)
    };
    vec![
        section("Result", result),
        section("Deciding bindings", deciding),
    ]
}

/// The claims, one per line.
fn claims(v: &Value) -> Vec<(String, String)> {
    match v {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let shown = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), shown)
            })
            .collect(),
        Value::Null => Vec::new(),
        other => vec![("value".into(), other.to_string())],
    }
}

/// The token preview: ID token, access token claims and the userinfo answer.
pub fn token_sections(t: &TokenPreview) -> Vec<Section> {
    vec![
        section("ID token claims (not signed)", claims(&t.id_token)),
        section("Access token claims", claims(&t.access_token)),
        section("Userinfo", claims(&t.userinfo)),
    ]
}
