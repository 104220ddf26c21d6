//! authentik's model names and field names for every object latchkey has: which fields each
//! model accepts (with type and authentik's default) and how an object maps to and from its
//! attributes.

use std::sync::LazyLock;

use serde_json::{Map, Value, json};

use crate::domain::redirect::RedirectUri;
use crate::domain::*;
use crate::domain::{Kind, Object};

/// A field's type, which decides what values it accepts.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// Text (numbers are accepted and kept as text).
    Str,
    /// Text or null.
    OptStr,
    /// true or false.
    Bool,
    /// A whole number.
    Int,
    /// One of an enum's authentik spellings: (is valid, the choices for messages).
    Enum(fn(&str) -> bool, fn() -> String),
    /// Another object's id (from !KeyOf / !Find) or null.
    Ref,
    /// A list of other objects' ids.
    RefList,
    /// A list of strings.
    StrList,
    /// A JSON mapping (attributes).
    Json,
    /// OAuth2 redirect URIs: the list form or the older newline-separated string.
    RedirectUris,
    /// Write-only (a user's password): accepted, never exported.
    Secret,
}

/// One field of a model.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub default: Value,
}

/// Which variant of a kind-with-settings a model is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// A kind without variants.
    None,
    /// One stage kind.
    Stage(StageKind),
    /// One policy kind.
    Policy(PolicyKind),
}

/// One authentik model latchkey understands.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    pub name: &'static str,
    pub kind: Kind,
    pub variant: Variant,
    /// Fields common to the kind (`name`, …), then the variant's settings fields.
    pub fields: Vec<Field>,
    /// How many leading fields are common (the rest go into `settings`).
    pub common: usize,
    /// The fields that identify an object on export.
    pub natural_key: &'static [&'static str],
}

impl ModelSpec {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Every accepted field name, for error messages.
    pub fn field_names(&self) -> String {
        self.fields
            .iter()
            .map(|f| f.name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// authentik's defaults for every field.
    pub fn defaults(&self) -> Map<String, Value> {
        self.fields
            .iter()
            .filter(|f| !matches!(f.ty, Ty::Secret))
            .map(|f| (f.name.to_string(), f.default.clone()))
            .collect()
    }

    /// True when `obj` is an object of this model (kind and variant).
    pub fn matches(&self, obj: &Object) -> bool {
        match (obj, self.variant) {
            (Object::Stage(s), Variant::Stage(k)) => s.kind == k,
            (Object::Policy(p), Variant::Policy(k)) => p.kind == k,
            (o, Variant::None) => o.kind() == self.kind,
            _ => false,
        }
    }
}

fn f(name: &'static str, ty: Ty, default: Value) -> Field {
    Field { name, ty, default }
}

macro_rules! en {
    ($t:ty) => {
        Ty::Enum(|s| <$t>::parse(s).is_some(), <$t>::choices)
    };
}

fn s(name: &'static str, default: &str) -> Field {
    f(name, Ty::Str, json!(default))
}
fn b(name: &'static str, default: bool) -> Field {
    f(name, Ty::Bool, json!(default))
}
fn i(name: &'static str, default: i64) -> Field {
    f(name, Ty::Int, json!(default))
}
fn r(name: &'static str) -> Field {
    f(name, Ty::Ref, Value::Null)
}
fn rl(name: &'static str) -> Field {
    f(name, Ty::RefList, json!([]))
}
fn sl(name: &'static str, default: &[&str]) -> Field {
    f(name, Ty::StrList, json!(default))
}
fn os(name: &'static str) -> Field {
    f(name, Ty::OptStr, Value::Null)
}

fn model(
    name: &'static str,
    kind: Kind,
    variant: Variant,
    common: Vec<Field>,
    settings: Vec<Field>,
    natural_key: &'static [&'static str],
) -> ModelSpec {
    let n = common.len();
    let mut fields = common;
    fields.extend(settings);
    ModelSpec {
        name,
        kind,
        variant,
        fields,
        common: n,
        natural_key,
    }
}

fn stage(name: &'static str, kind: StageKind, settings: Vec<Field>) -> ModelSpec {
    model(
        name,
        Kind::Stage,
        Variant::Stage(kind),
        vec![s("name", "")],
        settings,
        &["name"],
    )
}

fn policy(name: &'static str, kind: PolicyKind, settings: Vec<Field>) -> ModelSpec {
    model(
        name,
        Kind::Policy,
        Variant::Policy(kind),
        vec![s("name", ""), b("execution_logging", false)],
        settings,
        &["name"],
    )
}

/// The model name of `authentik_blueprints.metaapplyblueprint` (applies a bundled blueprint).
pub const META_APPLY_BLUEPRINT: &str = "authentik_blueprints.metaapplyblueprint";

/// Every model, in the order export writes them (dependencies first).
pub static MODELS: LazyLock<Vec<ModelSpec>> = LazyLock::new(|| {
    use StageKind as S;
    vec![
        model(
            "authentik_crypto.certificatekeypair",
            Kind::Certificate,
            Variant::None,
            vec![
                s("name", ""),
                s("certificate_data", ""),
                os("key_data"),
                os("managed"),
            ],
            vec![],
            &["name"],
        ),
        model(
            "authentik_providers_oauth2.scopemapping",
            Kind::ScopeMapping,
            Variant::None,
            vec![
                s("name", ""),
                os("managed"),
                s("scope_name", ""),
                s("description", ""),
                s("expression", ""),
            ],
            vec![],
            &["name"],
        ),
        model(
            "authentik_core.group",
            Kind::Group,
            Variant::None,
            vec![
                s("name", ""),
                b("is_superuser", false),
                r("parent"),
                f("attributes", Ty::Json, json!({})),
                rl("users"),
            ],
            vec![],
            &["name"],
        ),
        model(
            "authentik_core.user",
            Kind::User,
            Variant::None,
            vec![
                s("username", ""),
                s("name", ""),
                s("email", ""),
                b("is_active", true),
                f("type", en!(UserType), json!("internal")),
                s("path", "users"),
                f("attributes", Ty::Json, json!({})),
                rl("groups"),
                f("password", Ty::Secret, Value::Null),
            ],
            vec![],
            &["username"],
        ),
        model(
            "authentik_flows.flow",
            Kind::Flow,
            Variant::None,
            vec![
                s("name", ""),
                s("slug", ""),
                s("title", ""),
                f("designation", en!(FlowDesignation), json!("authentication")),
                f("authentication", en!(FlowAuthentication), json!("none")),
                f(
                    "denied_action",
                    en!(DeniedAction),
                    json!("message_continue"),
                ),
                f("policy_engine_mode", en!(PolicyEngineMode), json!("any")),
                f("layout", en!(FlowLayout), json!("stacked")),
                b("compatibility_mode", false),
                s("background", ""),
            ],
            vec![],
            &["slug"],
        ),
        model(
            "authentik_stages_prompt.prompt",
            Kind::Prompt,
            Variant::None,
            vec![
                s("name", ""),
                s("field_key", ""),
                s("label", ""),
                s("type", "text"),
                b("required", true),
                s("placeholder", ""),
                s("initial_value", ""),
                s("sub_text", ""),
                i("order", 0),
            ],
            vec![],
            &["name"],
        ),
        stage(
            "authentik_stages_password.passwordstage",
            S::Password,
            vec![
                sl("backends", &[]),
                r("configure_flow"),
                i("failed_attempts_before_cancel", 5),
                b("allow_show_password", false),
            ],
        ),
        stage(
            "authentik_stages_authenticator_totp.authenticatortotpstage",
            S::AuthenticatorTotp,
            vec![r("configure_flow"), s("friendly_name", ""), i("digits", 6)],
        ),
        stage(
            "authentik_stages_authenticator_validate.authenticatorvalidatestage",
            S::AuthenticatorValidate,
            vec![
                sl(
                    "device_classes",
                    &["static", "totp", "webauthn", "duo", "sms", "email"],
                ),
                s("not_configured_action", "skip"),
                rl("configuration_stages"),
                s("last_auth_threshold", "seconds=0"),
                s("webauthn_user_verification", "preferred"),
            ],
        ),
        stage(
            "authentik_stages_identification.identificationstage",
            S::Identification,
            vec![
                sl("user_fields", &[]),
                r("password_stage"),
                r("captcha_stage"),
                b("case_insensitive_matching", true),
                b("show_matched_user", true),
                r("enrollment_flow"),
                r("recovery_flow"),
                r("passwordless_flow"),
                rl("sources"),
                b("show_source_labels", false),
                b("pretend_user_exists", true),
                b("enable_remember_me", false),
                r("webauthn_stage"),
            ],
        ),
        stage(
            "authentik_stages_consent.consentstage",
            S::Consent,
            vec![s("mode", "expiring"), s("consent_expire_in", "weeks=4")],
        ),
        stage(
            "authentik_stages_user_login.userloginstage",
            S::UserLogin,
            vec![
                s("session_duration", "seconds=0"),
                s("remember_me_offset", "seconds=0"),
                b("terminate_other_sessions", false),
                s("network_binding", "no_binding"),
                s("geoip_binding", "no_binding"),
            ],
        ),
        stage(
            "authentik_stages_user_logout.userlogoutstage",
            S::UserLogout,
            vec![],
        ),
        stage(
            "authentik_stages_user_write.userwritestage",
            S::UserWrite,
            vec![
                s("user_creation_mode", "create_when_required"),
                b("create_users_as_inactive", false),
                r("create_users_group"),
                s("user_type", "external"),
                s("user_path_template", ""),
            ],
        ),
        stage(
            "authentik_stages_prompt.promptstage",
            S::Prompt,
            vec![rl("fields"), rl("validation_policies")],
        ),
        stage(
            "authentik_stages_deny.denystage",
            S::Deny,
            vec![s("deny_message", "")],
        ),
        stage(
            "authentik_stages_redirect.redirectstage",
            S::Redirect,
            vec![
                s("mode", "static"),
                s("target_static", ""),
                r("target_flow"),
                b("keep_context", true),
            ],
        ),
        stage(
            "authentik_endpoints.endpointstage",
            S::Endpoint,
            vec![r("connector"), s("mode", "optional")],
        ),
        policy(
            "authentik_policies_expression.expressionpolicy",
            PolicyKind::Expression,
            vec![s("expression", "")],
        ),
        policy(
            "authentik_policies_group_membership.groupmembershippolicy",
            PolicyKind::GroupMembership,
            vec![r("group")],
        ),
        policy(
            "authentik_policies_password.passwordpolicy",
            PolicyKind::Password,
            vec![
                s("password_field", "password"),
                i("amount_digits", 0),
                i("amount_uppercase", 0),
                i("amount_lowercase", 0),
                i("amount_symbols", 0),
                i("length_min", 0),
                s("symbol_charset", "!\\\"#$%&'()*+,-./:;<=>?@[]^_`{|}~ "),
                s("error_message", ""),
                b("check_static_rules", true),
                b("check_have_i_been_pwned", true),
                b("check_zxcvbn", true),
                i("hibp_allowed_count", 0),
                i("zxcvbn_score_threshold", 2),
            ],
        ),
        policy(
            "authentik_policies_reputation.reputationpolicy",
            PolicyKind::Reputation,
            vec![
                b("check_ip", true),
                b("check_username", true),
                i("threshold", -5),
            ],
        ),
        policy(
            "authentik_policies_event_matcher.eventmatcherpolicy",
            PolicyKind::EventMatcher,
            vec![os("action"), os("client_ip"), os("app"), os("model")],
        ),
        policy(
            "authentik_policies_dummy.dummypolicy",
            PolicyKind::Dummy,
            vec![b("result", false), i("wait_min", 5), i("wait_max", 30)],
        ),
        model(
            "authentik_flows.flowstagebinding",
            Kind::FlowStageBinding,
            Variant::None,
            vec![
                r("target"),
                r("stage"),
                i("order", 0),
                b("evaluate_on_plan", false),
                b("re_evaluate_policies", true),
                f(
                    "invalid_response_action",
                    en!(InvalidResponseAction),
                    json!("retry"),
                ),
                f("policy_engine_mode", en!(PolicyEngineMode), json!("any")),
            ],
            vec![],
            &["target", "stage", "order"],
        ),
        model(
            "authentik_providers_oauth2.oauth2provider",
            Kind::Provider,
            Variant::None,
            vec![
                s("name", ""),
                s("client_id", ""),
                s("client_secret", ""),
                r("authorization_flow"),
                r("authentication_flow"),
                r("invalidation_flow"),
                r("signing_key"),
                r("encryption_key"),
                rl("property_mappings"),
                f("client_type", en!(ClientType), json!("confidential")),
                f("redirect_uris", Ty::RedirectUris, json!([])),
                sl("grant_types", ALL_GRANT_TYPES),
                b("include_claims_in_id_token", true),
                s("access_code_validity", "minutes=1"),
                s("access_token_validity", "hours=1"),
                s("refresh_token_validity", "days=30"),
                s("refresh_token_threshold", "seconds=0"),
                s("device_code_validity", "minutes=10"),
                f("sub_mode", en!(SubMode), json!("hashed_user_id")),
                f("issuer_mode", en!(IssuerMode), json!("per_provider")),
                s("logout_uri", ""),
                f("logout_method", en!(LogoutMethod), json!("backchannel")),
                b("allow_plain_pkce", false),
            ],
            vec![],
            &["name"],
        ),
        model(
            "authentik_core.application",
            Kind::Application,
            Variant::None,
            vec![
                s("name", ""),
                s("slug", ""),
                r("provider"),
                s("group", ""),
                f("policy_engine_mode", en!(PolicyEngineMode), json!("any")),
                s("meta_launch_url", ""),
                b("open_in_new_tab", false),
                s("meta_icon", ""),
                s("meta_publisher", ""),
                s("meta_description", ""),
            ],
            vec![],
            &["slug"],
        ),
        model(
            "authentik_policies.policybinding",
            Kind::PolicyBinding,
            Variant::None,
            vec![
                r("target"),
                r("policy"),
                r("group"),
                r("user"),
                i("order", 0),
                b("enabled", true),
                b("negate", false),
                i("timeout", 30),
                b("failure_result", false),
            ],
            vec![],
            &["target", "policy", "group", "user", "order"],
        ),
        model(
            "authentik_brands.brand",
            Kind::Brand,
            Variant::None,
            vec![
                s("domain", ""),
                b("default", false),
                s("branding_title", "latchkey"),
                s("branding_logo", ""),
                s("branding_favicon", ""),
                s("branding_custom_css", ""),
                r("flow_authentication"),
                r("flow_invalidation"),
                r("flow_recovery"),
                r("flow_unenrollment"),
                r("flow_user_settings"),
                r("flow_device_code"),
                r("web_certificate"),
                r("default_application"),
                f("attributes", Ty::Json, json!({})),
            ],
            vec![],
            &["domain"],
        ),
        model(
            "authentik_endpoints_connectors_agent.agentconnector",
            Kind::Connector,
            Variant::None,
            vec![
                s("name", ""),
                b("enabled", true),
                r("authorization_flow"),
                r("challenge_key"),
            ],
            vec![
                s("refresh_interval", "minutes=30"),
                s("auth_session_duration", "hours=8"),
                b("auth_terminate_session_on_expiry", false),
                i("nss_uid_offset", 1000),
                i("nss_gid_offset", 1000),
                s("challenge_idle_timeout", "seconds=3"),
                b("challenge_trigger_check_in", false),
                rl("jwt_federation_providers"),
            ],
            &["name"],
        ),
    ]
});

/// The model called `name`.
pub fn spec(name: &str) -> Option<&'static ModelSpec> {
    MODELS.iter().find(|m| m.name == name)
}

/// The model an object belongs to.
pub fn spec_of(obj: &Object) -> Option<&'static ModelSpec> {
    MODELS.iter().find(|m| m.matches(obj))
}

/// Checks `value` against the field's type and returns it normalised (scalars to strings for
/// text fields, authentik's older newline-separated `redirect_uris` string to the list form).
pub fn normalise(field: &Field, value: Value) -> Result<Value, String> {
    let got = type_name(&value);
    let bad = |want: &str| Err(format!("expected {want}, got {got}"));
    match field.ty {
        Ty::Str | Ty::Secret => match value {
            Value::String(_) => Ok(value),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            _ => bad("a string"),
        },
        Ty::OptStr | Ty::Ref => match value {
            Value::String(_) | Value::Null => Ok(value),
            _ => bad(if matches!(field.ty, Ty::Ref) {
                "a reference (!KeyOf, !Find or an id) or null"
            } else {
                "a string or null"
            }),
        },
        Ty::Bool => match value {
            Value::Bool(_) => Ok(value),
            _ => bad("true or false"),
        },
        Ty::Int => match &value {
            Value::Number(n) if n.is_i64() => Ok(value),
            _ => bad("an integer"),
        },
        Ty::Enum(valid, choices) => match &value {
            Value::String(s) if valid(s) => Ok(value),
            Value::String(s) => Err(format!("'{s}' is not one of: {}", choices())),
            _ => bad("a string"),
        },
        Ty::RefList | Ty::StrList => match &value {
            Value::Array(items) if items.iter().all(Value::is_string) => Ok(value),
            Value::Null => Ok(json!([])),
            _ => bad("a list of strings"),
        },
        Ty::Json => match value {
            Value::Object(_) => Ok(value),
            Value::Null => Ok(json!({})),
            _ => bad("a mapping"),
        },
        Ty::RedirectUris => redirect_uris(value),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn redirect_uris(value: Value) -> Result<Value, String> {
    let list: Vec<RedirectUri> = match value {
        Value::Null => Vec::new(),
        Value::String(text) => text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| match l {
                "*" | ".*" => RedirectUri {
                    matching_mode: MatchingMode::Regex,
                    url: ".*".into(),
                    redirect_uri_type: RedirectUriType::Authorization,
                },
                _ => RedirectUri::strict(l),
            })
            .collect(),
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                let uri: RedirectUri = serde_json::from_value(item).map_err(|e| {
                    format!("each entry needs matching_mode (strict|regex) and url: {e}")
                })?;
                out.push(uri);
            }
            out
        }
        other => {
            return Err(format!(
                "expected a list of {{matching_mode, url}} or a newline-separated string, got {}",
                type_name(&other)
            ));
        }
    };
    serde_json::to_value(list).map_err(|e| e.to_string())
}

/// An object's attributes under authentik's field names (references as ids).
pub fn to_attrs(obj: &Object) -> Map<String, Value> {
    let v = match obj {
        Object::Flow(o) => json!({
            "name": o.name, "slug": o.slug, "title": o.title, "designation": o.designation,
            "authentication": o.authentication, "denied_action": o.denied_action,
            "policy_engine_mode": o.policy_engine_mode, "layout": o.layout,
            "compatibility_mode": o.compatibility_mode, "background": o.background,
        }),
        Object::Stage(o) => with_settings(json!({ "name": o.name }), &o.settings),
        Object::FlowStageBinding(o) => json!({
            "target": o.flow_id, "stage": o.stage_id, "order": o.order,
            "evaluate_on_plan": o.evaluate_on_plan, "re_evaluate_policies": o.re_evaluate_policies,
            "invalid_response_action": o.invalid_response_action,
            "policy_engine_mode": o.policy_engine_mode,
        }),
        Object::Prompt(o) => json!({
            "name": o.name, "field_key": o.field_key, "label": o.label, "type": o.field_type,
            "required": o.required, "placeholder": o.placeholder,
            "initial_value": o.initial_value, "sub_text": o.sub_text, "order": o.order,
        }),
        Object::Policy(o) => with_settings(
            json!({ "name": o.name, "execution_logging": o.execution_logging }),
            &o.settings,
        ),
        Object::PolicyBinding(o) => {
            let (p, g, u) = match &o.subject {
                BindingSubject::Policy(id) => (Some(id), None, None),
                BindingSubject::Group(id) => (None, Some(id), None),
                BindingSubject::User(id) => (None, None, Some(id)),
            };
            json!({
                "target": o.target_id, "policy": p, "group": g, "user": u, "order": o.order,
                "enabled": o.enabled, "negate": o.negate, "timeout": o.timeout,
                "failure_result": o.failure_result,
            })
        }
        Object::Application(o) => json!({
            "name": o.name, "slug": o.slug, "provider": o.provider_id, "group": o.group,
            "policy_engine_mode": o.policy_engine_mode, "meta_launch_url": o.meta_launch_url,
            "open_in_new_tab": o.open_in_new_tab, "meta_icon": o.meta_icon,
            "meta_publisher": o.meta_publisher, "meta_description": o.meta_description,
        }),
        Object::Provider(o) => {
            let base = json!({
                "name": o.name, "client_id": o.client_id,
                "authorization_flow": o.authorization_flow_id,
                "authentication_flow": o.authentication_flow_id,
                "invalidation_flow": o.invalidation_flow_id,
                "signing_key": o.signing_key_id, "encryption_key": o.encryption_key_id,
                "property_mappings": o.scope_mapping_ids,
            });
            with_settings(base, &serde_json::to_value(&o.oauth2).unwrap_or_default())
        }
        Object::ScopeMapping(o) => json!({
            "name": o.name, "managed": o.managed, "scope_name": o.scope_name,
            "description": o.description, "expression": o.expression,
        }),
        Object::Certificate(o) => json!({
            "name": o.name, "certificate_data": o.certificate_pem, "key_data": o.key_pem,
            "managed": o.managed,
        }),
        Object::Brand(o) => json!({
            "domain": o.domain, "default": o.default, "branding_title": o.branding_title,
            "branding_logo": o.branding_logo, "branding_favicon": o.branding_favicon,
            "branding_custom_css": o.branding_custom_css,
            "flow_authentication": o.flow_authentication_id,
            "flow_invalidation": o.flow_invalidation_id, "flow_recovery": o.flow_recovery_id,
            "flow_unenrollment": o.flow_unenrollment_id,
            "flow_user_settings": o.flow_user_settings_id,
            "flow_device_code": o.flow_device_code_id, "web_certificate": o.web_certificate_id,
            "default_application": o.default_application_id, "attributes": o.attributes,
        }),
        Object::Connector(o) => with_settings(
            json!({
                "name": o.name, "enabled": o.enabled,
                "authorization_flow": o.authorization_flow_id, "challenge_key": o.challenge_key_id,
            }),
            &o.settings,
        ),
        Object::User { user: o, groups } => json!({
            "username": o.username, "name": o.name, "email": o.email, "is_active": o.is_active,
            "type": o.user_type, "path": o.path, "attributes": o.attributes, "groups": groups,
        }),
        Object::Group { group: o, users } => json!({
            "name": o.name, "is_superuser": o.is_superuser, "parent": o.parent_id,
            "attributes": o.attributes, "users": users,
        }),
    };
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn with_settings(base: Value, settings: &Value) -> Value {
    let mut out = base;
    if let (Value::Object(o), Value::Object(s)) = (&mut out, settings) {
        for (k, v) in s {
            o.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    out
}

/// Reads typed values out of a complete, already type-checked attribute map.
struct A<'a>(&'a Map<String, Value>);

impl A<'_> {
    fn s(&self, k: &str) -> String {
        self.0
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }
    fn os(&self, k: &str) -> Option<String> {
        self.0.get(k).and_then(Value::as_str).map(str::to_string)
    }
    fn b(&self, k: &str) -> bool {
        self.0.get(k).and_then(Value::as_bool).unwrap_or_default()
    }
    fn i(&self, k: &str) -> i64 {
        self.0.get(k).and_then(Value::as_i64).unwrap_or_default()
    }
    fn list(&self, k: &str) -> Vec<String> {
        self.0
            .get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
    fn json(&self, k: &str) -> Value {
        self.0.get(k).cloned().unwrap_or_else(|| json!({}))
    }
    fn e<T: std::str::FromStr + Default>(&self, k: &str) -> T {
        self.s(k).parse().unwrap_or_default()
    }
}

/// Builds an object of `spec` from a complete attribute map (defaults, then the stored object,
/// then the blueprint's identifiers and attrs), with the given id.
pub fn from_attrs(
    spec: &ModelSpec,
    attrs: &Map<String, Value>,
    id: &str,
) -> Result<Object, String> {
    let a = A(attrs);
    let id = id.to_string();
    let settings = || -> Value {
        Value::Object(
            spec.fields[spec.common..]
                .iter()
                .map(|f| {
                    let v = attrs.get(f.name).cloned().unwrap_or(f.default.clone());
                    (f.name.to_string(), v)
                })
                .collect(),
        )
    };
    Ok(match (spec.kind, spec.variant) {
        (Kind::Flow, _) => Object::Flow(Flow {
            id,
            name: a.s("name"),
            slug: a.s("slug"),
            title: a.s("title"),
            designation: a.e("designation"),
            authentication: a.e("authentication"),
            denied_action: a.e("denied_action"),
            policy_engine_mode: a.e("policy_engine_mode"),
            layout: a.e("layout"),
            compatibility_mode: a.b("compatibility_mode"),
            background: a.s("background"),
            created_at: 0,
            updated_at: 0,
            version: 0,
        }),
        (Kind::Stage, Variant::Stage(kind)) => Object::Stage(Stage {
            id,
            name: a.s("name"),
            kind,
            settings: settings(),
            created_at: 0,
            updated_at: 0,
            version: 0,
        }),
        (Kind::FlowStageBinding, _) => Object::FlowStageBinding(FlowStageBinding {
            id,
            flow_id: a.s("target"),
            stage_id: a.s("stage"),
            order: a.i("order"),
            evaluate_on_plan: a.b("evaluate_on_plan"),
            re_evaluate_policies: a.b("re_evaluate_policies"),
            invalid_response_action: a.e("invalid_response_action"),
            policy_engine_mode: a.e("policy_engine_mode"),
            created_at: 0,
            updated_at: 0,
            version: 0,
        }),
        (Kind::Prompt, _) => Object::Prompt(Prompt {
            id,
            name: a.s("name"),
            field_key: a.s("field_key"),
            label: a.s("label"),
            field_type: a.s("type"),
            required: a.b("required"),
            placeholder: a.s("placeholder"),
            initial_value: a.s("initial_value"),
            sub_text: a.s("sub_text"),
            order: a.i("order"),
            created_at: 0,
            updated_at: 0,
            version: 0,
        }),
        (Kind::Policy, Variant::Policy(kind)) => Object::Policy(Policy {
            id,
            name: a.s("name"),
            kind,
            settings: settings(),
            execution_logging: a.b("execution_logging"),
            created_at: 0,
            updated_at: 0,
            version: 0,
        }),
        (Kind::PolicyBinding, _) => {
            let subject = match (a.os("policy"), a.os("group"), a.os("user")) {
                (Some(p), None, None) => BindingSubject::Policy(p),
                (None, Some(g), None) => BindingSubject::Group(g),
                (None, None, Some(u)) => BindingSubject::User(u),
                _ => return Err("set exactly one of policy, group or user".into()),
            };
            Object::PolicyBinding(PolicyBinding {
                id,
                target_id: a.s("target"),
                subject,
                order: a.i("order"),
                enabled: a.b("enabled"),
                negate: a.b("negate"),
                timeout: a.i("timeout"),
                failure_result: a.b("failure_result"),
                created_at: 0,
                updated_at: 0,
                version: 0,
            })
        }
        (Kind::Application, _) => Object::Application(Application {
            id,
            name: a.s("name"),
            slug: a.s("slug"),
            provider_id: a.os("provider"),
            group: a.s("group"),
            policy_engine_mode: a.e("policy_engine_mode"),
            meta_launch_url: a.s("meta_launch_url"),
            open_in_new_tab: a.b("open_in_new_tab"),
            meta_icon: a.s("meta_icon"),
            meta_publisher: a.s("meta_publisher"),
            meta_description: a.s("meta_description"),
            created_at: 0,
            updated_at: 0,
            version: 0,
        }),
        (Kind::Provider, _) => {
            let oauth2: OAuth2Settings = serde_json::from_value(Value::Object(
                attrs
                    .iter()
                    .filter(|(k, _)| {
                        !matches!(
                            k.as_str(),
                            "name"
                                | "client_id"
                                | "authorization_flow"
                                | "authentication_flow"
                                | "invalidation_flow"
                                | "signing_key"
                                | "encryption_key"
                                | "property_mappings"
                        )
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ))
            .map_err(|e| e.to_string())?;
            Object::Provider(Provider {
                id,
                name: a.s("name"),
                client_id: a.s("client_id"),
                authorization_flow_id: a.os("authorization_flow"),
                authentication_flow_id: a.os("authentication_flow"),
                invalidation_flow_id: a.os("invalidation_flow"),
                signing_key_id: a.os("signing_key"),
                encryption_key_id: a.os("encryption_key"),
                scope_mapping_ids: a.list("property_mappings"),
                oauth2,
                created_at: 0,
                updated_at: 0,
                version: 0,
            })
        }
        (Kind::ScopeMapping, _) => Object::ScopeMapping(ScopeMapping {
            id,
            name: a.s("name"),
            managed: a.os("managed"),
            scope_name: a.s("scope_name"),
            description: a.s("description"),
            expression: a.s("expression"),
            created_at: 0,
            updated_at: 0,
            version: 0,
        }),
        (Kind::Certificate, _) => {
            let key_pem = a.os("key_data").filter(|k| !k.trim().is_empty());
            Object::Certificate(
                crate::crypto::keys::keypair_from_pem(
                    &id,
                    &a.s("name"),
                    &a.s("certificate_data"),
                    key_pem.as_deref(),
                    a.os("managed"),
                )
                .map_err(|e| format!("certificate_data/key_data: {e}"))?,
            )
        }
        (Kind::Brand, _) => Object::Brand(Brand {
            id,
            domain: a.s("domain"),
            default: a.b("default"),
            branding_title: a.s("branding_title"),
            branding_logo: a.s("branding_logo"),
            branding_favicon: a.s("branding_favicon"),
            branding_custom_css: a.s("branding_custom_css"),
            flow_authentication_id: a.os("flow_authentication"),
            flow_invalidation_id: a.os("flow_invalidation"),
            flow_recovery_id: a.os("flow_recovery"),
            flow_unenrollment_id: a.os("flow_unenrollment"),
            flow_user_settings_id: a.os("flow_user_settings"),
            flow_device_code_id: a.os("flow_device_code"),
            web_certificate_id: a.os("web_certificate"),
            default_application_id: a.os("default_application"),
            attributes: a.json("attributes"),
            created_at: 0,
            updated_at: 0,
            version: 0,
        }),
        (Kind::Connector, _) => Object::Connector(Connector {
            id,
            name: a.s("name"),
            kind: ConnectorKind::Agent,
            enabled: a.b("enabled"),
            authorization_flow_id: a.os("authorization_flow"),
            challenge_key_id: a.os("challenge_key"),
            settings: settings(),
            created_at: 0,
            updated_at: 0,
            version: 0,
        }),
        (Kind::User, _) => Object::User {
            user: User {
                id,
                username: a.s("username"),
                name: a.s("name"),
                email: a.s("email"),
                is_active: a.b("is_active"),
                user_type: a.e("type"),
                path: a.s("path"),
                attributes: a.json("attributes"),
                has_password: false,
                last_login: None,
                created_at: 0,
                updated_at: 0,
                version: 0,
            },
            groups: a.list("groups"),
        },
        (Kind::Group, _) => Object::Group {
            group: Group {
                id,
                name: a.s("name"),
                is_superuser: a.b("is_superuser"),
                parent_id: a.os("parent"),
                attributes: a.json("attributes"),
                member_count: 0,
                created_at: 0,
                updated_at: 0,
                version: 0,
            },
            users: a.list("users"),
        },
        (kind, variant) => return Err(format!("no mapping for {kind:?}/{variant:?}")),
    })
}
