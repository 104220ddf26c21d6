//! One enum over every kind of admin object, so the console's forms, the blueprint importer and
//! the generic store writes share one notion of "an object" and of when two are the same.

use serde_json::Value;

use super::validate::{check_required, check_slug};
use super::*;

/// Every kind of admin object this layer can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Flow,
    Stage,
    FlowStageBinding,
    Prompt,
    Policy,
    PolicyBinding,
    Application,
    Provider,
    ScopeMapping,
    Certificate,
    Brand,
    Connector,
    DeviceAccessGroup,
    EnrollmentToken,
    NotificationTransport,
    NotificationRule,
    User,
    Group,
}

/// One admin object of any kind. Users and groups carry their memberships (sorted ids) so a
/// write can set them together with the object.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Flow(Flow),
    Stage(Stage),
    FlowStageBinding(FlowStageBinding),
    Prompt(Prompt),
    Policy(Policy),
    PolicyBinding(PolicyBinding),
    Application(Application),
    Provider(Provider),
    ScopeMapping(ScopeMapping),
    Certificate(CertificateKeypair),
    Brand(Brand),
    Connector(Connector),
    DeviceAccessGroup(DeviceAccessGroup),
    EnrollmentToken(EnrollmentToken),
    NotificationTransport(NotificationTransport),
    NotificationRule(NotificationRule),
    User { user: User, groups: Vec<String> },
    Group { group: Group, users: Vec<String> },
}

/// Applies `$body` to the common bookkeeping fields of whatever object `$obj` holds.
macro_rules! each {
    ($obj:expr, $o:ident => $body:expr) => {
        match $obj {
            Object::Flow($o) => $body,
            Object::Stage($o) => $body,
            Object::FlowStageBinding($o) => $body,
            Object::Prompt($o) => $body,
            Object::Policy($o) => $body,
            Object::PolicyBinding($o) => $body,
            Object::Application($o) => $body,
            Object::Provider($o) => $body,
            Object::ScopeMapping($o) => $body,
            Object::Certificate($o) => $body,
            Object::Brand($o) => $body,
            Object::Connector($o) => $body,
            Object::DeviceAccessGroup($o) => $body,
            Object::EnrollmentToken($o) => $body,
            Object::NotificationTransport($o) => $body,
            Object::NotificationRule($o) => $body,
            Object::User { user: $o, .. } => $body,
            Object::Group { group: $o, .. } => $body,
        }
    };
}

impl Object {
    /// The object's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Object::Flow(_) => Kind::Flow,
            Object::Stage(_) => Kind::Stage,
            Object::FlowStageBinding(_) => Kind::FlowStageBinding,
            Object::Prompt(_) => Kind::Prompt,
            Object::Policy(_) => Kind::Policy,
            Object::PolicyBinding(_) => Kind::PolicyBinding,
            Object::Application(_) => Kind::Application,
            Object::Provider(_) => Kind::Provider,
            Object::ScopeMapping(_) => Kind::ScopeMapping,
            Object::Certificate(_) => Kind::Certificate,
            Object::Brand(_) => Kind::Brand,
            Object::Connector(_) => Kind::Connector,
            Object::DeviceAccessGroup(_) => Kind::DeviceAccessGroup,
            Object::EnrollmentToken(_) => Kind::EnrollmentToken,
            Object::NotificationTransport(_) => Kind::NotificationTransport,
            Object::NotificationRule(_) => Kind::NotificationRule,
            Object::User { .. } => Kind::User,
            Object::Group { .. } => Kind::Group,
        }
    }

    /// The object's id.
    pub fn id(&self) -> &str {
        each!(self, o => o.id.as_str())
    }

    /// The version used for the optimistic check on update.
    pub fn version(&self) -> i64 {
        each!(self, o => o.version)
    }

    pub(crate) fn set_meta(&mut self, id: &str, created: i64, updated: i64, version: i64) {
        each!(self, o => {
            o.id = id.to_string();
            o.created_at = created;
            o.updated_at = updated;
            o.version = version;
        })
    }

    pub(crate) fn meta(&self) -> (String, i64, i64, i64) {
        each!(self, o => (o.id.clone(), o.created_at, o.updated_at, o.version))
    }

    /// Becomes what the store holds after inserting it at `now` (version 1).
    pub fn stored_as_new(&mut self, now: i64) {
        let id = self.id().to_string();
        self.set_meta(&id, now, now, 1);
    }

    /// Becomes what the store holds after updating it at `now` (the version moves on).
    pub fn stored_as_update(&mut self, now: i64) {
        let (id, created, _, version) = self.meta();
        self.set_meta(&id, created, now, version + 1);
    }

    /// Becomes what the store holds after a user's password was set at `now`.
    pub fn stored_with_password(&mut self, now: i64) {
        if let Object::User { user, .. } = self {
            user.has_password = true;
        }
        self.stored_as_update(now);
    }

    /// Makes `self` carry `other`'s id, timestamps and version (so content can be compared).
    pub fn adopt_meta(&mut self, other: &Object) {
        let (id, c, u, v) = other.meta();
        self.set_meta(&id, c, u, v);
    }

    /// True when both hold the same content, ignoring id, timestamps, version and derived
    /// counters; set-like lists compare in any order.
    pub fn same_content(&self, other: &Object) -> bool {
        let mut a = self.clone();
        let mut b = other.clone();
        a.normalise();
        b.normalise();
        b.adopt_meta(&a);
        a == b
    }

    fn normalise(&mut self) {
        match self {
            Object::Provider(p) => {
                p.scope_mapping_ids.sort();
                p.scope_mapping_ids.dedup();
            }
            Object::NotificationRule(r) => {
                r.transport_ids.sort();
                r.transport_ids.dedup();
            }
            Object::User { user, groups } => {
                user.has_password = false;
                user.last_login = None;
                groups.sort();
                groups.dedup();
            }
            Object::Group { group, users } => {
                group.member_count = 0;
                users.sort();
                users.dedup();
            }
            _ => {}
        }
    }
}

/// A duration field: authentik's syntax, and longer than zero (or zero when `zero_ok`): a
/// validity of `hours=-5` would mint tokens born expired.
fn check_duration(e: &mut FieldErrors, field: &str, value: &str, zero_ok: bool) {
    match Duration::parse(value) {
        Err(_) => e.add(
            field,
            format!("'{value}' is not in the format 'hours=3;minutes=1'"),
        ),
        Ok(d) if d.seconds() < 0 || (d.seconds() == 0 && !zero_ok) => e.add(
            field,
            format!(
                "'{value}' must be {} zero, e.g. 'minutes=10'",
                if zero_ok { "at least" } else { "longer than" }
            ),
        ),
        Ok(_) => {}
    }
}

/// A stage's duration settings: `(field, value, zero allowed)`. Zero means "off" where
/// authentik documents it so (a session until the browser closes, no "stay signed in", no
/// skipping of the second factor); a consent that expires at once means nothing.
fn stage_durations(settings: &StageSettings) -> Vec<(&'static str, &str, bool)> {
    match settings {
        StageSettings::Consent(c) => vec![("consent_expire_in", &c.consent_expire_in, false)],
        StageSettings::UserLogin(l) => vec![
            ("session_duration", &l.session_duration, true),
            ("remember_me_offset", &l.remember_me_offset, true),
        ],
        StageSettings::AuthenticatorValidate(v) => {
            vec![("last_auth_threshold", &v.last_auth_threshold, true)]
        }
        StageSettings::Email(m) => {
            vec![("recovery_cache_timeout", &m.recovery_cache_timeout, false)]
        }
        _ => Vec::new(),
    }
}

/// Recovery codes: how many (1 to 50) and how long (8 to 64 characters: shorter codes could be
/// guessed within the throttle's budget).
fn check_static_codes(e: &mut FieldErrors, s: &super::AuthenticatorStaticSettings) {
    if !(1..=50).contains(&s.token_count) {
        e.add(
            "token_count",
            format!("{} codes: use 1 to 50, e.g. 6", s.token_count),
        );
    }
    if !(8..=64).contains(&s.token_length) {
        e.add(
            "token_length",
            format!("{} characters: use 8 to 64, e.g. 12", s.token_length),
        );
    }
}

/// A webhook transport needs an absolute http(s) URL to POST to (authentik's
/// `DomainlessURLValidator`); other modes ignore the field.
fn check_webhook_url(e: &mut FieldErrors, t: &NotificationTransport) {
    if !matches!(t.mode, TransportMode::Webhook | TransportMode::WebhookSlack) {
        return;
    }
    let ok = url::Url::parse(&t.webhook_url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if !ok {
        e.add(
            "webhook_url",
            // Not the value: a webhook URL often carries its credential.
            "is not an http(s) URL with a host: give the full URL, e.g. \
             https://hooks.example.com/authentik"
                .to_string(),
        );
    }
}

/// Checks the fields of an object that the type system cannot (required text, slugs, one
/// subject per policy binding, redirect URI schemes, durations of providers, stages and
/// connectors, binding timeouts).
pub fn validate(obj: &Object) -> Result<(), FieldErrors> {
    let mut e = FieldErrors::default();
    match obj {
        Object::Flow(f) => {
            check_required(&mut e, "name", &f.name);
            check_slug(&mut e, "slug", &f.slug);
            super::flow_support::check_flow_support(&mut e, f);
        }
        Object::Stage(s) => {
            check_required(&mut e, "name", &s.name);
            for (field, value, zero_ok) in stage_durations(&s.settings) {
                check_duration(&mut e, field, value, zero_ok);
            }
            if let StageSettings::AuthenticatorStatic(st) = &s.settings {
                check_static_codes(&mut e, st);
            }
            for (field, message) in stage_refusals(&s.settings) {
                e.add(field, message);
            }
        }
        Object::FlowStageBinding(b) => {
            check_required(&mut e, "target", &b.flow_id);
            check_required(&mut e, "stage", &b.stage_id);
        }
        Object::Prompt(p) => {
            check_required(&mut e, "name", &p.name);
            check_required(&mut e, "field_key", &p.field_key);
        }
        Object::Policy(p) => {
            check_required(&mut e, "name", &p.name);
            for (field, message) in policy_refusals(&p.settings) {
                e.add(field, message);
            }
        }
        Object::PolicyBinding(b) => {
            check_required(&mut e, "target", &b.target_id);
            if b.timeout < 1 {
                e.add(
                    "timeout",
                    format!("{} must be at least 1 second, e.g. 30", b.timeout),
                );
            }
        }
        Object::Application(a) => {
            check_required(&mut e, "name", &a.name);
            check_slug(&mut e, "slug", &a.slug);
        }
        Object::Provider(p) => {
            check_required(&mut e, "name", &p.name);
            check_required(&mut e, "client_id", &p.client_id);
            for uri in &p.oauth2.redirect_uris {
                if super::redirect::is_forbidden_scheme(&uri.url) {
                    e.add(
                        "redirect_uris",
                        format!("'{}' uses a forbidden scheme", uri.url),
                    );
                } else if uri.matching_mode == MatchingMode::Regex
                    && let Err(why) = super::redirect::anchored(&uri.url)
                {
                    e.add("redirect_uris", format!("'{}': {why}", uri.url));
                }
            }
            let o = &p.oauth2;
            for (field, value, zero_ok) in [
                ("access_code_validity", &o.access_code_validity, false),
                ("access_token_validity", &o.access_token_validity, false),
                ("refresh_token_validity", &o.refresh_token_validity, false),
                ("refresh_token_threshold", &o.refresh_token_threshold, true),
                ("device_code_validity", &o.device_code_validity, false),
            ] {
                check_duration(&mut e, field, value, zero_ok);
            }
            for grant in &p.oauth2.grant_types {
                if !ALL_GRANT_TYPES.contains(&grant.as_str()) {
                    e.add(
                        "grant_types",
                        format!("'{grant}' is not one of: {}", ALL_GRANT_TYPES.join(", ")),
                    );
                }
            }
        }
        Object::ScopeMapping(m) => {
            check_required(&mut e, "name", &m.name);
            check_required(&mut e, "scope_name", &m.scope_name);
        }
        Object::Certificate(c) => {
            check_required(&mut e, "name", &c.name);
            check_required(&mut e, "certificate_data", &c.certificate_pem);
        }
        Object::Brand(b) => check_required(&mut e, "domain", &b.domain),
        Object::Connector(c) => {
            check_required(&mut e, "name", &c.name);
            let ConnectorSettings::Agent(a) = &c.settings;
            for (field, value) in [
                ("refresh_interval", &a.refresh_interval),
                ("auth_session_duration", &a.auth_session_duration),
                ("challenge_idle_timeout", &a.challenge_idle_timeout),
                ("snapshot_expiry", &a.snapshot_expiry),
            ] {
                check_duration(&mut e, field, value, false);
            }
            // authentik's PositiveIntegerField: a negative offset maps ids below 0.
            for (field, value) in [
                ("nss_uid_offset", a.nss_uid_offset),
                ("nss_gid_offset", a.nss_gid_offset),
            ] {
                if value < 0 {
                    e.add(
                        field,
                        format!("{value} is negative: use 0 or more, e.g. 1000"),
                    );
                }
            }
        }
        Object::DeviceAccessGroup(g) => check_required(&mut e, "name", &g.name),
        Object::EnrollmentToken(t) => {
            check_required(&mut e, "name", &t.name);
            check_required(&mut e, "connector", &t.connector_id);
        }
        Object::NotificationTransport(t) => {
            check_required(&mut e, "name", &t.name);
            check_webhook_url(&mut e, t);
        }
        Object::NotificationRule(r) => check_required(&mut e, "name", &r.name),
        Object::User { user, .. } => check_required(&mut e, "username", &user.username),
        Object::Group { group, .. } => check_required(&mut e, "name", &group.name),
    }
    e.into_result()
}

/// The strings of a JSON list, in order (other items and other values give none).
pub fn string_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// True for `null`, `false`, `0`, empty strings, lists and maps (authentik's truthiness).
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}
