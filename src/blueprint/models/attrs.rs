//! How an object maps to and from its attributes under authentik's field names (references as
//! ids): [`to_attrs`] for export and comparison, [`from_attrs`] for import.

use serde_json::{Map, Value, json};

use super::{ModelSpec, Variant};
use crate::domain::*;
use crate::domain::{Kind, Object};

/// An object's attributes under authentik's field names (references as ids).
pub fn to_attrs(obj: &Object) -> Map<String, Value> {
    let v = match obj {
        Object::Flow(o) => json!({
            "name": o.name, "slug": o.slug, "title": o.title, "designation": o.designation,
            "authentication": o.authentication, "denied_action": o.denied_action,
            "policy_engine_mode": o.policy_engine_mode, "layout": o.layout,
            "compatibility_mode": o.compatibility_mode, "background": o.background,
        }),
        Object::Stage(o) => with_settings(json!({ "name": o.name }), &o.settings.to_json()),
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
            "placeholder_expression": o.placeholder_expression,
            "initial_value_expression": o.initial_value_expression,
        }),
        Object::Policy(o) => with_settings(
            json!({ "name": o.name, "execution_logging": o.execution_logging }),
            &o.settings.to_json(),
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
            &o.settings.to_json(),
        ),
        Object::DeviceAccessGroup(o) => super::endpoints::group_attrs(o),
        Object::EnrollmentToken(o) => super::endpoints::token_attrs(o),
        Object::NotificationTransport(o) => json!({
            "name": o.name, "mode": o.mode, "webhook_url": o.webhook_url,
            "send_once": o.send_once,
        }),
        Object::NotificationRule(o) => json!({
            "name": o.name, "transports": o.transport_ids, "severity": o.severity,
            "destination_group": o.destination_group_id,
            "destination_event_user": o.destination_event_user,
        }),
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
        self.0.get(k).map(string_list).unwrap_or_default()
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
    Ok(match (spec.kind, spec.variant) {
        (Kind::Flow, _) => Object::Flow(flow(&a, id)),
        (Kind::Stage, Variant::Stage(kind)) => Object::Stage(Stage {
            id,
            name: a.s("name"),
            settings: StageSettings::from_json_strict(kind, settings(spec, attrs))?,
            created_at: 0,
            updated_at: 0,
            version: 0,
        }),
        (Kind::FlowStageBinding, _) => Object::FlowStageBinding(stage_binding(&a, id)),
        (Kind::Prompt, _) => Object::Prompt(prompt(&a, id)),
        (Kind::Policy, Variant::Policy(kind)) => Object::Policy(Policy {
            id,
            name: a.s("name"),
            settings: PolicySettings::from_json_strict(kind, settings(spec, attrs))?,
            execution_logging: a.b("execution_logging"),
            created_at: 0,
            updated_at: 0,
            version: 0,
        }),
        (Kind::PolicyBinding, _) => Object::PolicyBinding(policy_binding(&a, id)?),
        (Kind::Application, _) => Object::Application(application(&a, id)),
        (Kind::Provider, _) => Object::Provider(provider(&a, attrs, id)?),
        (Kind::ScopeMapping, _) => Object::ScopeMapping(scope_mapping(&a, id)),
        (Kind::Certificate, _) => Object::Certificate(certificate(&a, &id)?),
        (Kind::Brand, _) => Object::Brand(brand(&a, id)),
        (Kind::Connector, Variant::Connector(kind)) => Object::Connector(Connector {
            id,
            name: a.s("name"),
            enabled: a.b("enabled"),
            authorization_flow_id: a.os("authorization_flow"),
            challenge_key_id: a.os("challenge_key"),
            settings: ConnectorSettings::from_json_strict(kind, settings(spec, attrs))?,
            created_at: 0,
            updated_at: 0,
            version: 0,
        }),
        (Kind::DeviceAccessGroup, _) => {
            Object::DeviceAccessGroup(super::endpoints::group(attrs, id))
        }
        (Kind::EnrollmentToken, _) => Object::EnrollmentToken(super::endpoints::token(attrs, id)?),
        (Kind::NotificationTransport, _) => Object::NotificationTransport(NotificationTransport {
            id,
            name: a.s("name"),
            mode: a.e("mode"),
            webhook_url: a.s("webhook_url"),
            send_once: a.b("send_once"),
            created_at: 0,
            updated_at: 0,
            version: 0,
        }),
        (Kind::NotificationRule, _) => Object::NotificationRule(NotificationRule {
            id,
            name: a.s("name"),
            severity: a.e("severity"),
            destination_group_id: a.os("destination_group"),
            destination_event_user: a.b("destination_event_user"),
            transport_ids: a.list("transports"),
            created_at: 0,
            updated_at: 0,
            version: 0,
        }),
        (Kind::User, _) => Object::User {
            user: user(&a, id),
            groups: a.list("groups"),
        },
        (Kind::Group, _) => Object::Group {
            group: group(&a, id),
            users: a.list("users"),
        },
        (kind, variant) => return Err(format!("no mapping for {kind:?}/{variant:?}")),
    })
}

/// The settings part of `attrs`: every settings field of `spec`, defaulted when absent.
fn settings(spec: &ModelSpec, attrs: &Map<String, Value>) -> Value {
    Value::Object(
        spec.fields[spec.common..]
            .iter()
            .map(|f| {
                let v = attrs.get(f.name).cloned().unwrap_or(f.default.clone());
                (f.name.to_string(), v)
            })
            .collect(),
    )
}

fn flow(a: &A<'_>, id: String) -> Flow {
    Flow {
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
    }
}

fn stage_binding(a: &A<'_>, id: String) -> FlowStageBinding {
    FlowStageBinding {
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
    }
}

fn prompt(a: &A<'_>, id: String) -> Prompt {
    Prompt {
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
        placeholder_expression: a.b("placeholder_expression"),
        initial_value_expression: a.b("initial_value_expression"),
        created_at: 0,
        updated_at: 0,
        version: 0,
    }
}

fn policy_binding(a: &A<'_>, id: String) -> Result<PolicyBinding, String> {
    let subject = match (a.os("policy"), a.os("group"), a.os("user")) {
        (Some(p), None, None) => BindingSubject::Policy(p),
        (None, Some(g), None) => BindingSubject::Group(g),
        (None, None, Some(u)) => BindingSubject::User(u),
        _ => return Err("set exactly one of policy, group or user".into()),
    };
    Ok(PolicyBinding {
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

fn application(a: &A<'_>, id: String) -> Application {
    Application {
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
    }
}

/// The provider's own columns; every other attribute is an OAuth2 setting.
const PROVIDER_COLUMNS: &[&str] = &[
    "name",
    "client_id",
    "authorization_flow",
    "authentication_flow",
    "invalidation_flow",
    "signing_key",
    "encryption_key",
    "property_mappings",
];

fn provider(a: &A<'_>, attrs: &Map<String, Value>, id: String) -> Result<Provider, String> {
    let oauth2: OAuth2Settings = serde_json::from_value(Value::Object(
        attrs
            .iter()
            .filter(|(k, _)| !PROVIDER_COLUMNS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    ))
    .map_err(|e| e.to_string())?;
    Ok(Provider {
        id,
        name: a.s("name"),
        client_id: a.s("client_id"),
        authorization_flow_id: a.os("authorization_flow"),
        authentication_flow_id: a.os("authentication_flow"),
        invalidation_flow_id: a.os("invalidation_flow"),
        signing_key_id: a.os("signing_key"),
        encryption_key_id: a.os("encryption_key"),
        // A set in authentik: a mapping listed twice is kept once, in its first place.
        scope_mapping_ids: first_of_each(a.list("property_mappings")),
        oauth2,
        created_at: 0,
        updated_at: 0,
        version: 0,
    })
}

fn scope_mapping(a: &A<'_>, id: String) -> ScopeMapping {
    ScopeMapping {
        id,
        name: a.s("name"),
        managed: a.os("managed"),
        scope_name: a.s("scope_name"),
        description: a.s("description"),
        expression: a.s("expression"),
        created_at: 0,
        updated_at: 0,
        version: 0,
    }
}

fn certificate(a: &A<'_>, id: &str) -> Result<CertificateKeypair, String> {
    let key_pem = a.os("key_data").filter(|k| !k.trim().is_empty());
    crate::crypto::keys::keypair_from_pem(
        id,
        &a.s("name"),
        &a.s("certificate_data"),
        key_pem.as_deref(),
        a.os("managed"),
    )
    .map_err(|e| format!("certificate_data/key_data: {e}"))
}

fn brand(a: &A<'_>, id: String) -> Brand {
    Brand {
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
    }
}

fn user(a: &A<'_>, id: String) -> User {
    User {
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
    }
}

fn group(a: &A<'_>, id: String) -> Group {
    Group {
        id,
        name: a.s("name"),
        is_superuser: a.b("is_superuser"),
        parent_id: a.os("parent"),
        attributes: a.json("attributes"),
        member_count: 0,
        created_at: 0,
        updated_at: 0,
        version: 0,
    }
}

/// Each value once, in the order first seen.
fn first_of_each(values: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    values
        .into_iter()
        .filter(|v| seen.insert(v.clone()))
        .collect()
}
