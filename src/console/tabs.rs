//! The one tab table: every tab's name, hotkey, columns and how its rows are built from
//! [`Data`]. Views and key handling read this table instead of knowing about tabs.

use std::collections::HashMap;

use super::data::Data;
use super::text::{date, datetime, inert, yes_no};

/// How a cell should be coloured (a theme slot, chosen by meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Ordinary text.
    Normal,
    /// Secondary text.
    Muted,
    /// Healthy.
    Ok,
    /// Needs attention soon.
    Warn,
    /// Failed or expired.
    Error,
}

/// One cell: inert text plus its tone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// The text, already inert.
    pub text: String,
    /// How it is coloured.
    pub tone: Tone,
}

impl Cell {
    /// A cell of stored text, made inert.
    pub fn new(text: &str) -> Self {
        Self::toned(text, Tone::Normal)
    }

    /// A cell with a tone, made inert.
    pub fn toned(text: &str, tone: Tone) -> Self {
        Self {
            text: inert(text),
            tone,
        }
    }
}

/// One list row: a stable key (to keep the selection across reloads), its cells, and the
/// key/value lines of its detail view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRow {
    /// The object's id.
    pub key: String,
    /// One cell per column of the tab.
    pub cells: Vec<Cell>,
    /// `(field, value)` lines for the detail view, values inert.
    pub detail: Vec<(String, String)>,
    /// Lower-cased text the `/` filter searches.
    pub haystack: String,
}

impl ListRow {
    fn new(key: &str, cells: Vec<Cell>, detail: Vec<(&str, String)>) -> Self {
        let haystack = cells
            .iter()
            .map(|c| c.text.to_lowercase())
            .collect::<Vec<_>>()
            .join("\u{1f}");
        Self {
            key: key.to_string(),
            cells,
            detail: detail
                .into_iter()
                .map(|(k, v)| (k.to_string(), inert(&v)))
                .collect(),
            haystack,
        }
    }

    /// The first cell's text: the object's name in breadcrumbs.
    pub fn title(&self) -> &str {
        self.cells.first().map_or("", |c| c.text.as_str())
    }
}

/// A column: header, width and whether it survives on a narrow (60-79 column) terminal.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Header text.
    pub title: &'static str,
    /// Minimum width; the remaining space is shared by columns with `fill`.
    pub width: u16,
    /// Grows to share the spare width.
    pub fill: bool,
    /// Kept below 80 columns.
    pub narrow: bool,
    /// Shown only on terminals at least this wide (0: from 80 columns, or below with
    /// `narrow`).
    pub from_width: u16,
}

const fn col(title: &'static str, width: u16, fill: bool, narrow: bool) -> Column {
    Column {
        title,
        width,
        fill,
        narrow,
        from_width: 0,
    }
}

/// A column shown only from 120 columns (the Events tab has more than 80 columns hold).
const fn wide(mut c: Column) -> Column {
    c.from_width = 120;
    c
}

/// The tabs, in tab-bar order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TabId {
    /// Counts, expiring certificates, recent events.
    Dashboard,
    /// Flows.
    Flows,
    /// Stages.
    Stages,
    /// Policies.
    Policies,
    /// Applications.
    Applications,
    /// Providers.
    Providers,
    /// Certificate keypairs.
    Certificates,
    /// Brands.
    Brands,
    /// Endpoint connectors.
    Connectors,
    /// Enrolled endpoint devices and their latest facts.
    Devices,
    /// Users and groups.
    Users,
    /// Audit events and the server log.
    Events,
}

/// One row of the tab table.
pub struct TabSpec {
    /// Which tab.
    pub id: TabId,
    /// Full name (tab bar at >= 120 columns for tabs with a digit, block titles, breadcrumbs).
    pub name: &'static str,
    /// Short name for 80-119 columns (and for tabs without a digit at 120): every tab's short
    /// label fits 80 columns together.
    pub short: &'static str,
    /// Digit that jumps here.
    pub hotkey: Option<char>,
    /// Shown in the status line when nothing else is.
    pub description: &'static str,
    /// The list's columns, in order.
    pub columns: &'static [Column],
    /// Builds the rows from a snapshot; `None` for tabs that are not a list (the dashboard).
    pub rows: Option<fn(&Data) -> Vec<ListRow>>,
}

/// The tab table.
pub const TABS: &[TabSpec] = &[
    TabSpec {
        id: TabId::Dashboard,
        name: "Dashboard",
        short: "Dash",
        hotkey: Some('1'),
        description: "General system status.",
        columns: &[],
        rows: None,
    },
    TabSpec {
        id: TabId::Flows,
        name: "Flows",
        short: "Flow",
        hotkey: Some('2'),
        description: "Flows describe a chain of Stages to authenticate, enroll or recover a user.",
        columns: &[
            col("SLUG", 40, true, true),
            col("NAME", 20, true, true),
            col("DESIGNATION", 19, false, false),
            col("STAGES", 6, false, true),
        ],
        rows: Some(flow_rows),
    },
    TabSpec {
        id: TabId::Stages,
        name: "Stages",
        short: "Stage",
        hotkey: Some('3'),
        description: "Stages are single steps of a Flow that a user is guided through.",
        columns: &[
            col("NAME", 30, true, true),
            col("KIND", 24, false, true),
            col("FLOWS", 5, false, false),
        ],
        rows: Some(stage_rows),
    },
    TabSpec {
        id: TabId::Policies,
        name: "Policies",
        short: "Pol",
        hotkey: Some('4'),
        description: "Policies decide whether a flow, stage or application applies to a user.",
        columns: &[col("NAME", 30, true, true), col("KIND", 18, false, true)],
        rows: Some(policy_rows),
    },
    TabSpec {
        id: TabId::Applications,
        name: "Applications",
        short: "Apps",
        hotkey: Some('5'),
        description: "Applications users sign in to, each through a provider.",
        columns: &[
            col("NAME", 20, true, true),
            col("SLUG", 20, true, false),
            col("PROVIDER", 20, true, true),
        ],
        rows: Some(application_rows),
    },
    TabSpec {
        id: TabId::Providers,
        name: "Providers",
        short: "Prov",
        hotkey: Some('6'),
        description: "Provide support for protocols like OAuth2/OpenID Connect to applications.",
        columns: &[
            col("NAME", 20, true, true),
            col("CLIENT ID", 24, true, false),
            col("SIGNING KEY", 20, true, true),
        ],
        rows: Some(provider_rows),
    },
    TabSpec {
        id: TabId::Certificates,
        name: "Certificates",
        short: "Certs",
        hotkey: Some('7'),
        description: "Certificates and keys that sign tokens.",
        columns: &[
            col("NAME", 24, true, true),
            col("KEY", 8, false, false),
            col("EXPIRES", 18, false, true),
            col("SHA256", 17, false, false),
        ],
        rows: Some(certificate_rows),
    },
    TabSpec {
        id: TabId::Brands,
        name: "Brands",
        short: "Brand",
        hotkey: Some('8'),
        description: "Visual settings and default flows per domain.",
        columns: &[
            col("DOMAIN", 20, true, true),
            col("DEFAULT", 7, false, true),
            col("TITLE", 16, true, false),
            col("AUTH FLOW", 20, true, false),
        ],
        rows: Some(brand_rows),
    },
    TabSpec {
        id: TabId::Connectors,
        name: "Connectors",
        short: "Conn",
        hotkey: Some('9'),
        description: "How devices connect and report their state.",
        columns: &[
            col("NAME", 24, true, true),
            col("KIND", 16, false, true),
            col("ENABLED", 7, false, true),
        ],
        rows: Some(connector_rows),
    },
    TabSpec {
        id: TabId::Devices,
        name: "Devices",
        short: "Dev",
        hotkey: None,
        description: "Endpoint devices enrolled through a connector; enter shows their facts.",
        columns: &[
            col("NAME", 20, true, true),
            col("OS", 18, true, true),
            col("LAST CHECK-IN", 16, false, true),
            col("CONNECTOR", 14, true, false),
            col("ACCESS GROUP", 14, true, false),
        ],
        rows: Some(device_rows),
    },
    TabSpec {
        id: TabId::Users,
        name: "Users",
        short: "Users",
        hotkey: Some('0'),
        description: "Users, then groups ([group] rows) and invitations ([invitation] rows).",
        columns: &[
            col("USERNAME", 18, true, true),
            col("NAME", 16, true, true),
            col("EMAIL", 20, true, false),
            col("ACTIVE", 6, false, true),
            col("SUPERUSER", 9, false, false),
        ],
        rows: Some(user_rows),
    },
    TabSpec {
        id: TabId::Events,
        name: "Events",
        short: "Ev",
        hotkey: None,
        description: "Audit events, newest first. f filters by field, y copies JSON, L: server log.",
        columns: &[
            col("TIME", 16, false, true),
            col("ACTION", 18, false, true),
            col("USER", 14, true, true),
            col("ORIGIN", 10, false, false),
            wide(col("CLIENT IP", 15, false, false)),
            wide(col("APP", 10, true, false)),
            col("CONTEXT", 24, true, false),
        ],
        rows: Some(event_rows),
    },
];

/// The tab with a digit hotkey, if any.
pub fn by_hotkey(c: char) -> Option<usize> {
    TABS.iter().position(|t| t.hotkey == Some(c))
}

/// The tab table index of `id`.
pub fn index_of(id: TabId) -> usize {
    TABS.iter().position(|t| t.id == id).unwrap_or(0)
}

fn opt(s: Option<&String>) -> String {
    s.cloned().unwrap_or_else(|| "-".into())
}

fn flow_rows(d: &Data) -> Vec<ListRow> {
    let mut stages_per_flow: HashMap<&str, usize> = HashMap::new();
    for b in &d.bindings {
        *stages_per_flow.entry(b.flow_id.as_str()).or_default() += 1;
    }
    d.flows
        .iter()
        .map(|f| {
            let n = stages_per_flow.get(f.id.as_str()).copied().unwrap_or(0);
            ListRow::new(
                &f.id,
                vec![
                    Cell::new(&f.slug),
                    Cell::new(&f.name),
                    Cell::new(f.designation.as_str()),
                    Cell::new(&n.to_string()),
                ],
                vec![
                    ("slug", f.slug.clone()),
                    ("name", f.name.clone()),
                    ("title", f.title.clone()),
                    ("designation", f.designation.label().into()),
                    ("authentication", f.authentication.label().into()),
                    ("denied action", f.denied_action.label().into()),
                    ("policy engine mode", f.policy_engine_mode.as_str().into()),
                    ("layout", f.layout.label().into()),
                    ("compatibility mode", yes_no(f.compatibility_mode)),
                    ("stages bound", n.to_string()),
                    ("updated", datetime(f.updated_at)),
                    ("id", f.id.clone()),
                ],
            )
        })
        .collect()
}

fn stage_rows(d: &Data) -> Vec<ListRow> {
    let slugs: HashMap<&str, &str> = d
        .flows
        .iter()
        .map(|f| (f.id.as_str(), f.slug.as_str()))
        .collect();
    d.stages
        .iter()
        .map(|s| {
            let mut flows: Vec<&str> = d
                .bindings
                .iter()
                .filter(|b| b.stage_id == s.id)
                .map(|b| slugs.get(b.flow_id.as_str()).copied().unwrap_or("?"))
                .collect();
            flows.sort_unstable();
            flows.dedup();
            ListRow::new(
                &s.id,
                vec![
                    Cell::new(&s.name),
                    Cell::new(s.kind().label()),
                    Cell::new(&flows.len().to_string()),
                ],
                vec![
                    ("name", s.name.clone()),
                    ("kind", s.kind().label().into()),
                    ("bound in flows", flows.join(", ")),
                    ("settings", s.settings.to_json().to_string()),
                    ("updated", datetime(s.updated_at)),
                    ("id", s.id.clone()),
                ],
            )
        })
        .chain(d.prompts.iter().map(|p| {
            // Prompts sit under Flows & Stages in authentik's menu; listed after the stages so
            // `e` and `D` reach them too.
            let used_by: Vec<&str> = d
                .stages
                .iter()
                .filter(|s| {
                    s.settings
                        .as_prompt()
                        .is_some_and(|f| f.lists_prompt(&p.id, Some(&p.name)))
                })
                .map(|s| s.name.as_str())
                .collect();
            ListRow::new(
                &p.id,
                vec![
                    Cell::toned(&format!("[prompt] {}", p.name), Tone::Muted),
                    Cell::toned(&format!("{} ({})", p.field_key, p.field_type), Tone::Muted),
                    Cell::toned(&used_by.len().to_string(), Tone::Muted),
                ],
                vec![
                    ("name", p.name.clone()),
                    ("field key", p.field_key.clone()),
                    ("label", p.label.clone()),
                    ("type", p.field_type.clone()),
                    ("required", yes_no(p.required)),
                    ("placeholder", p.placeholder.clone()),
                    ("initial value", p.initial_value.clone()),
                    ("help text", p.sub_text.clone()),
                    ("order", p.order.to_string()),
                    ("used by stages", used_by.join(", ")),
                    ("id", p.id.clone()),
                ],
            )
        }))
        .collect()
}

fn policy_rows(d: &Data) -> Vec<ListRow> {
    d.policies
        .iter()
        .map(|p| {
            ListRow::new(
                &p.id,
                vec![Cell::new(&p.name), Cell::new(p.kind().label())],
                vec![
                    ("name", p.name.clone()),
                    ("kind", p.kind().label().into()),
                    ("execution logging", yes_no(p.execution_logging)),
                    ("settings", p.settings.to_json().to_string()),
                    ("id", p.id.clone()),
                ],
            )
        })
        .chain(d.policy_bindings.iter().map(|b| {
            let target = crate::console::form::specs::binding_target_label(d, &b.target_id)
                .unwrap_or_else(|| b.target_id.clone());
            let subject = crate::console::form::specs::binding_subject_name(d, &b.subject);
            let tone = if b.enabled { Tone::Muted } else { Tone::Warn };
            ListRow::new(
                &b.id,
                vec![
                    Cell::toned(&format!("[binding] {target} #{}", b.order), tone),
                    Cell::toned(
                        &format!("{}{subject}", if b.negate { "not " } else { "" }),
                        tone,
                    ),
                ],
                vec![
                    ("target", target.clone()),
                    ("subject", subject.clone()),
                    ("order", b.order.to_string()),
                    ("enabled", yes_no(b.enabled)),
                    ("negate", yes_no(b.negate)),
                    ("timeout", format!("{} s", b.timeout)),
                    ("failure result", yes_no(b.failure_result)),
                    ("id", b.id.clone()),
                ],
            )
        }))
        .collect()
}

fn application_rows(d: &Data) -> Vec<ListRow> {
    let providers: HashMap<&str, &String> = d
        .providers
        .iter()
        .map(|p| (p.id.as_str(), &p.name))
        .collect();
    d.applications
        .iter()
        .map(|a| {
            let provider = a
                .provider_id
                .as_deref()
                .and_then(|id| providers.get(id).copied());
            let provider_cell = match provider {
                Some(name) => Cell::new(name),
                None => Cell::toned("-", Tone::Muted),
            };
            ListRow::new(
                &a.id,
                vec![Cell::new(&a.name), Cell::new(&a.slug), provider_cell],
                vec![
                    ("name", a.name.clone()),
                    ("slug", a.slug.clone()),
                    ("provider", opt(provider)),
                    ("group", a.group.clone()),
                    ("launch url", a.meta_launch_url.clone()),
                    ("publisher", a.meta_publisher.clone()),
                    ("description", a.meta_description.clone()),
                    ("policy engine mode", a.policy_engine_mode.as_str().into()),
                    ("id", a.id.clone()),
                ],
            )
        })
        .collect()
}

fn provider_rows(d: &Data) -> Vec<ListRow> {
    let certs: HashMap<&str, &String> = d
        .certificates
        .iter()
        .map(|c| (c.id.as_str(), &c.name))
        .collect();
    let flows: HashMap<&str, &String> = d.flows.iter().map(|f| (f.id.as_str(), &f.slug)).collect();
    let flow = |id: &Option<String>| opt(id.as_deref().and_then(|i| flows.get(i).copied()));
    d.providers
        .iter()
        .map(|p| {
            let key = p
                .signing_key_id
                .as_deref()
                .and_then(|id| certs.get(id).copied())
                .cloned()
                .unwrap_or_else(|| "HS256".into());
            ListRow::new(
                &p.id,
                vec![Cell::new(&p.name), Cell::new(&p.client_id), Cell::new(&key)],
                vec![
                    ("name", p.name.clone()),
                    ("client id", p.client_id.clone()),
                    ("client type", p.oauth2.client_type.label().into()),
                    ("signing key", key),
                    ("authorization flow", flow(&p.authorization_flow_id)),
                    ("invalidation flow", flow(&p.invalidation_flow_id)),
                    ("redirect uris", p.oauth2.redirect_uris.len().to_string()),
                    (
                        "access token validity",
                        p.oauth2.access_token_validity.clone(),
                    ),
                    (
                        "refresh token validity",
                        p.oauth2.refresh_token_validity.clone(),
                    ),
                    ("subject mode", p.oauth2.sub_mode.label().into()),
                    ("issuer mode", p.oauth2.issuer_mode.label().into()),
                    ("id", p.id.clone()),
                ],
            )
        })
        .chain(d.scope_mappings.iter().map(|m| {
            // Scope mappings belong to providers in authentik's menu; listed after them so
            // `e` and `D` reach them too.
            ListRow::new(
                &m.id,
                vec![
                    Cell::toned(&format!("[scope] {}", m.name), Tone::Muted),
                    Cell::toned(&format!("scope {}", m.scope_name), Tone::Muted),
                    Cell::toned(
                        if m.managed.is_some() { "managed" } else { "" },
                        Tone::Muted,
                    ),
                ],
                vec![
                    ("name", m.name.clone()),
                    ("scope name", m.scope_name.clone()),
                    ("description", m.description.clone()),
                    ("managed", m.managed.clone().unwrap_or_else(|| "-".into())),
                    ("expression", m.expression.clone()),
                    ("id", m.id.clone()),
                ],
            )
        }))
        .collect()
}

/// Days until `not_after`, rounded down.
pub fn days_left(not_after: i64, now: i64) -> i64 {
    (not_after - now).div_euclid(86_400)
}

fn certificate_rows(d: &Data) -> Vec<ListRow> {
    d.certificates
        .iter()
        .map(|c| {
            let days = days_left(c.not_after, d.now);
            let tone = if days < 0 {
                Tone::Error
            } else if days < 30 {
                Tone::Warn
            } else {
                Tone::Ok
            };
            let expiry = format!("{} ({days}d)", date(c.not_after));
            let fp: String = c.fingerprint_sha256.chars().take(17).collect();
            let key = match &c.key_pem {
                Some(_) => c.key_type.label().to_string(),
                None => "none".into(),
            };
            ListRow::new(
                &c.id,
                vec![
                    Cell::new(&c.name),
                    Cell::new(&key),
                    Cell::toned(&expiry, tone),
                    Cell::toned(&fp, Tone::Muted),
                ],
                vec![
                    ("name", c.name.clone()),
                    ("private key", key),
                    ("subject", c.subject.clone()),
                    ("not before", datetime(c.not_before)),
                    ("not after", datetime(c.not_after)),
                    ("days left", days.to_string()),
                    ("sha256", c.fingerprint_sha256.clone()),
                    ("sha1", c.fingerprint_sha1.clone()),
                    ("kid", c.kid.clone()),
                    ("id", c.id.clone()),
                ],
            )
        })
        .collect()
}

fn brand_rows(d: &Data) -> Vec<ListRow> {
    let flows: HashMap<&str, &String> = d.flows.iter().map(|f| (f.id.as_str(), &f.slug)).collect();
    let flow = |id: &Option<String>| opt(id.as_deref().and_then(|i| flows.get(i).copied()));
    d.brands
        .iter()
        .map(|b| {
            let auth = flow(&b.flow_authentication_id);
            ListRow::new(
                &b.id,
                vec![
                    Cell::new(&b.domain),
                    Cell::new(&yes_no(b.default)),
                    Cell::new(&b.branding_title),
                    Cell::new(&auth),
                ],
                vec![
                    ("domain", b.domain.clone()),
                    ("default", yes_no(b.default)),
                    ("title", b.branding_title.clone()),
                    ("authentication flow", auth),
                    ("invalidation flow", flow(&b.flow_invalidation_id)),
                    ("recovery flow", flow(&b.flow_recovery_id)),
                    ("device code flow", flow(&b.flow_device_code_id)),
                    ("id", b.id.clone()),
                ],
            )
        })
        .collect()
}

fn connector_rows(d: &Data) -> Vec<ListRow> {
    d.connectors
        .iter()
        .map(|c| {
            let enabled = if c.enabled {
                Cell::toned("yes", Tone::Ok)
            } else {
                Cell::toned("no", Tone::Muted)
            };
            ListRow::new(
                &c.id,
                vec![Cell::new(&c.name), Cell::new(c.kind().label()), enabled],
                vec![
                    ("name", c.name.clone()),
                    ("kind", c.kind().label().into()),
                    ("enabled", yes_no(c.enabled)),
                    ("settings", c.settings.to_json().to_string()),
                    ("id", c.id.clone()),
                ],
            )
        })
        .chain(device_access_group_rows(d))
        .chain(enrollment_token_rows(d))
        .collect()
}

/// Device access groups under the connectors, marked like the groups under users.
fn device_access_group_rows(d: &Data) -> impl Iterator<Item = ListRow> + '_ {
    d.device_access_groups.iter().map(|g| {
        ListRow::new(
            &g.id,
            vec![
                Cell::toned(&format!("[device group] {}", g.name), Tone::Muted),
                Cell::new(""),
                Cell::new(""),
            ],
            vec![
                ("device access group", g.name.clone()),
                ("attributes", g.attributes.to_string()),
                ("id", g.id.clone()),
            ],
        )
    })
}

/// Enrollment tokens under the connectors: which connector and group, never the key.
fn enrollment_token_rows(d: &Data) -> impl Iterator<Item = ListRow> + '_ {
    let connector = |id: &str| {
        d.connectors
            .iter()
            .find(|c| c.id == id)
            .map_or_else(|| id.to_string(), |c| c.name.clone())
    };
    let group = |id: &Option<String>| {
        id.as_deref()
            .and_then(|id| d.device_access_groups.iter().find(|g| g.id == id))
            .map_or_else(|| "-".to_string(), |g| g.name.clone())
    };
    d.enrollment_tokens.iter().map(move |t| {
        let expires = match (t.expiring, t.expires_at) {
            (false, _) | (true, None) => "never".to_string(),
            (true, Some(at)) => datetime(at),
        };
        ListRow::new(
            &t.id,
            vec![
                Cell::toned(&format!("[enrollment token] {}", t.name), Tone::Muted),
                Cell::new(&connector(&t.connector_id)),
                Cell::new(""),
            ],
            vec![
                ("enrollment token", t.name.clone()),
                ("connector", connector(&t.connector_id)),
                ("device group", group(&t.device_group_id)),
                ("expires", expires),
                ("key", "stored as a digest only".into()),
                ("id", t.id.clone()),
            ],
        )
    })
}

/// Enrolled devices: name, OS and last check-in from the latest facts, connector, group.
/// The facts themselves join the row's detail when it is opened (see `App::device_facts`).
fn device_rows(d: &Data) -> Vec<ListRow> {
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    d.devices
        .iter()
        .map(|dev| {
            let os = match (&dev.os_name, &dev.os_version) {
                (Some(n), Some(v)) => format!("{n} {v}"),
                (Some(n), None) => n.clone(),
                _ => "-".into(),
            };
            let seen = match dev.last_check_in {
                Some(at) => Cell::new(&datetime(at)),
                None => Cell::toned("never", Tone::Muted),
            };
            ListRow::new(
                &dev.id,
                vec![
                    Cell::new(&dev.name),
                    Cell::new(&os),
                    seen,
                    Cell::new(&or_dash(&dev.connector_name)),
                    Cell::new(&or_dash(&dev.access_group_name)),
                ],
                vec![
                    ("name", dev.name.clone()),
                    ("serial", dev.identifier.clone()),
                    ("os", os),
                    (
                        "last check-in",
                        dev.last_check_in.map_or("never".into(), datetime),
                    ),
                    ("connector", or_dash(&dev.connector_name)),
                    ("access group", or_dash(&dev.access_group_name)),
                    ("id", dev.id.clone()),
                ],
            )
        })
        .collect()
}

fn user_rows(d: &Data) -> Vec<ListRow> {
    let users = d.users.iter().map(|u| {
        let su = d.superusers.contains(&u.id);
        let active = if u.is_active {
            Cell::new("yes")
        } else {
            Cell::toned("no", Tone::Muted)
        };
        ListRow::new(
            &u.id,
            vec![
                Cell::new(&u.username),
                Cell::new(&u.name),
                Cell::new(&u.email),
                active,
                if su {
                    Cell::toned("yes", Tone::Warn)
                } else {
                    Cell::new("no")
                },
            ],
            vec![
                ("username", u.username.clone()),
                ("name", u.name.clone()),
                ("email", u.email.clone()),
                ("active", yes_no(u.is_active)),
                ("superuser", yes_no(su)),
                ("type", u.user_type.label().into()),
                ("path", u.path.clone()),
                ("has password", yes_no(u.has_password)),
                ("last login", u.last_login.map_or("never".into(), datetime)),
                ("id", u.id.clone()),
            ],
        )
    });
    let groups = d.groups.iter().map(|g| {
        ListRow::new(
            &g.id,
            vec![
                Cell::toned(&format!("[group] {}", g.name), Tone::Muted),
                Cell::new(&match g.member_count {
                    1 => "1 member".to_string(),
                    n => format!("{n} members"),
                }),
                Cell::new(""),
                Cell::new(""),
                Cell::new(&yes_no(g.is_superuser)),
            ],
            vec![
                ("group", g.name.clone()),
                ("members", g.member_count.to_string()),
                ("superuser", yes_no(g.is_superuser)),
                ("attributes", g.attributes.to_string()),
                ("id", g.id.clone()),
            ],
        )
    });
    users.chain(groups).chain(invitation_rows(d)).collect()
}

/// An invitation's row under Users: its flow, use and expiry (red once expired).
fn invitation_rows(d: &Data) -> impl Iterator<Item = ListRow> + '_ {
    d.invitations.iter().map(move |i| {
        let expired = i.expires_at.is_some_and(|at| at <= d.now);
        let expires = i.expires_at.map_or("never".into(), datetime);
        ListRow::new(
            &i.id,
            vec![
                Cell::toned(&format!("[invitation] {}", i.name), Tone::Muted),
                Cell::new(i.flow.as_deref().unwrap_or("")),
                Cell::toned(
                    &format!("expires {expires}"),
                    if expired { Tone::Error } else { Tone::Normal },
                ),
                Cell::new(if i.single_use { "once" } else { "multi" }),
                Cell::new(""),
            ],
            vec![
                ("invitation", i.name.clone()),
                ("flow", i.flow.clone().unwrap_or_default()),
                ("single use", yes_no(i.single_use)),
                ("expires", expires),
                ("fixed data", i.fixed_data.to_string()),
                ("created by", i.created_by.clone()),
                ("created", datetime(i.created_at)),
                ("id", i.id.clone()),
            ],
        )
    })
}

/// The Events tab's rows: the filter's answer when the audit filter is set, else the newest
/// events. The detail holds the event's fields; its context is laid out as JSON only when the
/// detail opens (`App::expand_event_detail`), not for every row at every reload.
fn event_rows(d: &Data) -> Vec<ListRow> {
    d.filtered_events
        .as_ref()
        .unwrap_or(&d.events)
        .iter()
        .map(|e| {
            let tone = if crate::domain::audit::is_failure(&e.action) {
                Tone::Error
            } else {
                Tone::Normal
            };
            ListRow::new(
                &e.id,
                vec![
                    Cell::toned(&datetime(e.created_at), Tone::Muted),
                    Cell::toned(&e.action, tone),
                    Cell::new(&e.username),
                    Cell::toned(&e.origin, Tone::Muted),
                    Cell::new(&e.client_ip),
                    Cell::new(&e.app),
                    Cell::toned(&crate::domain::audit::summary(e), Tone::Muted),
                ],
                vec![
                    ("time", crate::domain::audit::rfc3339(e.created_at)),
                    ("action", e.action.clone()),
                    ("user", e.username.clone()),
                    ("user id", e.user_id.clone().unwrap_or_else(|| "-".into())),
                    ("origin", e.origin.clone()),
                    ("client ip", e.client_ip.clone()),
                    ("application", e.app.clone()),
                    ("brand", e.brand.clone()),
                    ("id", e.id.clone()),
                ],
            )
        })
        .collect()
}
