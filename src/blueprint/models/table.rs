//! The table of every model latchkey understands: authentik's model and field names, each
//! field's type, and its default. The defaults of stage, policy and connector settings come from
//! their typed settings ([`crate::domain::settings`]), so they are defined once.

use std::sync::LazyLock;

use serde_json::{Value, json};

use super::{Field, ModelSpec, Ty, Variant};
use crate::domain::*;

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
/// An OAuth2 provider setting whose default is [`OAuth2Settings::default`]'s (one place: the
/// console and blueprints create providers alike, e.g. without the `password` grant).
fn o2(name: &'static str, ty: Ty) -> Field {
    let defaults = serde_json::to_value(OAuth2Settings::default()).unwrap_or_default();
    f(name, ty, defaults.get(name).cloned().unwrap_or(Value::Null))
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

/// The settings fields of one kind, in export order, each with the default its typed settings
/// give it.
fn settings_fields(defaults: Value, fields: &[(&'static str, Ty)]) -> Vec<Field> {
    fields
        .iter()
        .map(|(name, ty)| {
            f(
                name,
                *ty,
                defaults.get(*name).cloned().unwrap_or(Value::Null),
            )
        })
        .collect()
}

fn stage(name: &'static str, kind: StageKind, settings: &[(&'static str, Ty)]) -> ModelSpec {
    model(
        name,
        Kind::Stage,
        Variant::Stage(kind),
        vec![s("name", "")],
        settings_fields(StageSettings::default_for(kind).to_json(), settings),
        &["name"],
    )
}

fn policy(name: &'static str, kind: PolicyKind, settings: &[(&'static str, Ty)]) -> ModelSpec {
    model(
        name,
        Kind::Policy,
        Variant::Policy(kind),
        vec![s("name", ""), b("execution_logging", false)],
        settings_fields(PolicySettings::default_for(kind).to_json(), settings),
        &["name"],
    )
}

/// The model name of `authentik_blueprints.metaapplyblueprint` (applies a bundled blueprint).
pub const META_APPLY_BLUEPRINT: &str = "authentik_blueprints.metaapplyblueprint";

/// Every model, in the order export writes them (dependencies first).
pub static MODELS: LazyLock<Vec<ModelSpec>> = LazyLock::new(|| {
    use PolicyKind as P;
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
                b("placeholder_expression", false),
                b("initial_value_expression", false),
            ],
            vec![],
            &["name"],
        ),
        stage(
            "authentik_stages_password.passwordstage",
            S::Password,
            &[
                ("backends", Ty::StrList),
                ("configure_flow", Ty::Ref),
                ("failed_attempts_before_cancel", Ty::Int),
                ("allow_show_password", Ty::Bool),
            ],
        ),
        stage(
            "authentik_stages_authenticator_totp.authenticatortotpstage",
            S::AuthenticatorTotp,
            &[
                ("configure_flow", Ty::Ref),
                ("friendly_name", Ty::Str),
                ("digits", Ty::Int),
            ],
        ),
        stage(
            "authentik_stages_authenticator_validate.authenticatorvalidatestage",
            S::AuthenticatorValidate,
            &[
                ("device_classes", Ty::StrList),
                ("not_configured_action", en!(NotConfiguredAction)),
                ("configuration_stages", Ty::RefList),
                ("last_auth_threshold", Ty::Str),
                ("webauthn_user_verification", en!(WebauthnUserVerification)),
            ],
        ),
        stage(
            "authentik_stages_identification.identificationstage",
            S::Identification,
            &[
                ("user_fields", Ty::StrList),
                ("password_stage", Ty::Ref),
                ("captcha_stage", Ty::Ref),
                ("case_insensitive_matching", Ty::Bool),
                ("show_matched_user", Ty::Bool),
                ("enrollment_flow", Ty::Ref),
                ("recovery_flow", Ty::Ref),
                ("passwordless_flow", Ty::Ref),
                ("sources", Ty::RefList),
                ("show_source_labels", Ty::Bool),
                ("pretend_user_exists", Ty::Bool),
                ("enable_remember_me", Ty::Bool),
                ("webauthn_stage", Ty::Ref),
            ],
        ),
        stage(
            "authentik_stages_consent.consentstage",
            S::Consent,
            &[("mode", en!(ConsentMode)), ("consent_expire_in", Ty::Str)],
        ),
        stage(
            "authentik_stages_user_login.userloginstage",
            S::UserLogin,
            &[
                ("session_duration", Ty::Str),
                ("remember_me_offset", Ty::Str),
                ("terminate_other_sessions", Ty::Bool),
                ("network_binding", en!(NetworkBinding)),
                ("geoip_binding", en!(GeoipBinding)),
            ],
        ),
        stage(
            "authentik_stages_user_logout.userlogoutstage",
            S::UserLogout,
            &[],
        ),
        stage(
            "authentik_stages_user_write.userwritestage",
            S::UserWrite,
            &[
                ("user_creation_mode", en!(UserCreationMode)),
                ("create_users_as_inactive", Ty::Bool),
                ("create_users_group", Ty::Ref),
                ("user_type", en!(UserType)),
                ("user_path_template", Ty::Str),
            ],
        ),
        stage(
            "authentik_stages_prompt.promptstage",
            S::Prompt,
            &[
                ("fields", Ty::RefList),
                ("validation_policies", Ty::RefList),
            ],
        ),
        stage(
            "authentik_stages_deny.denystage",
            S::Deny,
            &[("deny_message", Ty::Str)],
        ),
        stage(
            "authentik_stages_redirect.redirectstage",
            S::Redirect,
            &[
                ("mode", en!(RedirectMode)),
                ("target_static", Ty::Str),
                ("target_flow", Ty::Ref),
                ("keep_context", Ty::Bool),
            ],
        ),
        stage(
            "authentik_endpoints.endpointstage",
            S::Endpoint,
            &[("connector", Ty::Ref), ("mode", en!(EndpointMode))],
        ),
        stage(
            "authentik_stages_invitation.invitationstage",
            S::Invitation,
            &[("continue_flow_without_invitation", Ty::Bool)],
        ),
        stage(
            "authentik_stages_authenticator_static.authenticatorstaticstage",
            S::AuthenticatorStatic,
            &[
                ("configure_flow", Ty::Ref),
                ("friendly_name", Ty::Str),
                ("token_count", Ty::Int),
                ("token_length", Ty::Int),
            ],
        ),
        stage(
            "authentik_stages_authenticator_webauthn.authenticatorwebauthnstage",
            S::AuthenticatorWebauthn,
            &[
                ("configure_flow", Ty::Ref),
                ("friendly_name", Ty::Str),
                ("user_verification", en!(WebauthnUserVerification)),
                ("resident_key_requirement", en!(ResidentKeyRequirement)),
                ("authenticator_attachment", Ty::OptStr),
                ("device_type_restrictions", Ty::StrList),
                ("max_attempts", Ty::Int),
            ],
        ),
        stage(
            "authentik_stages_email.emailstage",
            S::Email,
            &[
                ("use_global_settings", Ty::Bool),
                ("host", Ty::Str),
                ("port", Ty::Int),
                ("username", Ty::Str),
                ("use_tls", Ty::Bool),
                ("use_ssl", Ty::Bool),
                ("timeout", Ty::Int),
                ("from_address", Ty::Str),
                ("token_expiry", Ty::Str),
                ("subject", Ty::Str),
                ("template", Ty::Str),
                ("activate_user_on_success", Ty::Bool),
                ("recovery_max_attempts", Ty::Int),
                ("recovery_cache_timeout", Ty::Str),
            ],
        ),
        policy(
            "authentik_policies_expression.expressionpolicy",
            P::Expression,
            &[("expression", Ty::Str)],
        ),
        policy(
            "authentik_policies_group_membership.groupmembershippolicy",
            P::GroupMembership,
            &[("group", Ty::Ref)],
        ),
        policy(
            "authentik_policies_password.passwordpolicy",
            P::Password,
            &[
                ("password_field", Ty::Str),
                ("amount_digits", Ty::Int),
                ("amount_uppercase", Ty::Int),
                ("amount_lowercase", Ty::Int),
                ("amount_symbols", Ty::Int),
                ("length_min", Ty::Int),
                ("symbol_charset", Ty::Str),
                ("error_message", Ty::Str),
                ("check_static_rules", Ty::Bool),
                ("check_have_i_been_pwned", Ty::Bool),
                ("check_zxcvbn", Ty::Bool),
                ("hibp_allowed_count", Ty::Int),
                ("zxcvbn_score_threshold", Ty::Int),
            ],
        ),
        policy(
            "authentik_policies_reputation.reputationpolicy",
            P::Reputation,
            &[
                ("check_ip", Ty::Bool),
                ("check_username", Ty::Bool),
                ("threshold", Ty::Int),
            ],
        ),
        policy(
            "authentik_policies_event_matcher.eventmatcherpolicy",
            P::EventMatcher,
            &[
                ("action", Ty::OptStr),
                ("client_ip", Ty::OptStr),
                ("app", Ty::OptStr),
                ("model", Ty::OptStr),
            ],
        ),
        policy(
            "authentik_policies_dummy.dummypolicy",
            P::Dummy,
            &[
                ("result", Ty::Bool),
                ("wait_min", Ty::Int),
                ("wait_max", Ty::Int),
            ],
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
                o2("client_type", en!(ClientType)),
                o2("redirect_uris", Ty::RedirectUris),
                o2("grant_types", Ty::StrList),
                o2("include_claims_in_id_token", Ty::Bool),
                o2("access_code_validity", Ty::Str),
                o2("access_token_validity", Ty::Str),
                o2("refresh_token_validity", Ty::Str),
                o2("refresh_token_threshold", Ty::Str),
                o2("device_code_validity", Ty::Str),
                o2("sub_mode", en!(SubMode)),
                o2("issuer_mode", en!(IssuerMode)),
                o2("logout_uri", Ty::Str),
                o2("logout_method", en!(LogoutMethod)),
                o2("allow_plain_pkce", Ty::Bool),
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
        // Before the bindings that target it.
        model(
            "authentik_endpoints.deviceaccessgroup",
            Kind::DeviceAccessGroup,
            Variant::None,
            vec![s("name", ""), f("attributes", Ty::Json, json!({}))],
            vec![],
            &["name"],
        ),
        model(
            "authentik_events.notificationtransport",
            Kind::NotificationTransport,
            Variant::None,
            vec![
                s("name", ""),
                f("mode", en!(TransportMode), json!("local")),
                s("webhook_url", ""),
                b("send_once", false),
            ],
            vec![],
            &["name"],
        ),
        // Before the bindings that target it.
        model(
            "authentik_events.notificationrule",
            Kind::NotificationRule,
            Variant::None,
            vec![
                s("name", ""),
                rl("transports"),
                f("severity", en!(NotificationSeverity), json!("notice")),
                r("destination_group"),
                b("destination_event_user", false),
            ],
            vec![],
            &["name"],
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
            Variant::Connector(ConnectorKind::Agent),
            vec![
                s("name", ""),
                b("enabled", true),
                r("authorization_flow"),
                r("challenge_key"),
            ],
            settings_fields(
                ConnectorSettings::default_for(ConnectorKind::Agent).to_json(),
                &[
                    ("refresh_interval", Ty::Str),
                    ("auth_session_duration", Ty::Str),
                    ("auth_terminate_session_on_expiry", Ty::Bool),
                    ("nss_uid_offset", Ty::Int),
                    ("nss_gid_offset", Ty::Int),
                    ("challenge_idle_timeout", Ty::Str),
                    ("challenge_trigger_check_in", Ty::Bool),
                    ("jwt_federation_providers", Ty::RefList),
                    ("snapshot_expiry", Ty::Str),
                ],
            ),
            &["name"],
        ),
        model(
            "authentik_endpoints_connectors_agent.enrollmenttoken",
            Kind::EnrollmentToken,
            Variant::None,
            vec![
                s("name", ""),
                r("connector"),
                r("device_group"),
                f("key", Ty::Secret, Value::Null),
                b("expiring", true),
                os("expires"),
            ],
            vec![],
            &["name"],
        ),
    ]
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blueprint::models::{from_attrs, to_attrs};

    /// The settings field names of each model, and the kinds' typed settings' keys.
    fn settings_names(spec: &ModelSpec) -> Vec<&'static str> {
        spec.fields[spec.common..].iter().map(|f| f.name).collect()
    }

    fn keys(v: &Value) -> Vec<String> {
        v.as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    #[test]
    fn settings_fields_are_the_typed_settings_fields() {
        for spec in MODELS.iter() {
            let defaults = match spec.variant {
                Variant::Stage(k) => StageSettings::default_for(k).to_json(),
                Variant::Policy(k) => PolicySettings::default_for(k).to_json(),
                Variant::Connector(k) => ConnectorSettings::default_for(k).to_json(),
                Variant::None => continue,
            };
            let mut names: Vec<String> =
                settings_names(spec).iter().map(|n| n.to_string()).collect();
            names.sort();
            let mut want = keys(&defaults);
            want.sort();
            assert_eq!(names, want, "{}", spec.name);
            for field in &spec.fields[spec.common..] {
                assert_eq!(
                    Some(&field.default),
                    defaults.get(field.name),
                    "{}",
                    field.name
                );
            }
        }
    }

    #[test]
    fn choice_settings_refuse_other_values_like_other_enums() {
        let consent = crate::blueprint::models::spec("authentik_stages_consent.consentstage")
            .expect("consent model");
        let mode = consent.field("mode").expect("mode");
        assert_eq!(
            crate::blueprint::models::normalise(mode, json!("permanent")),
            Ok(json!("permanent"))
        );
        let refused = crate::blueprint::models::normalise(mode, json!("sometimes"));
        assert_eq!(
            refused,
            Err("'sometimes' is not one of: always_require, permanent, expiring".into())
        );
    }

    #[test]
    fn every_kind_has_a_model_whose_defaults_build_the_default_settings() {
        let objects = StageKind::ALL
            .iter()
            .map(|k| StageSettings::default_for(*k))
            .map(|settings| {
                Object::Stage(Stage {
                    id: "x".into(),
                    name: String::new(),
                    settings,
                    created_at: 0,
                    updated_at: 0,
                    version: 0,
                })
            })
            .chain(PolicyKind::ALL.iter().map(|k| {
                Object::Policy(Policy {
                    id: "x".into(),
                    name: String::new(),
                    settings: PolicySettings::default_for(*k),
                    execution_logging: false,
                    created_at: 0,
                    updated_at: 0,
                    version: 0,
                })
            }));
        for obj in objects {
            let spec = crate::blueprint::models::spec_of(&obj).expect("a model");
            let built = from_attrs(spec, &spec.defaults(), "x").expect("built");
            assert_eq!(built, obj, "{}", spec.name);
            assert_eq!(to_attrs(&built), spec.defaults(), "{}", spec.name);
        }
    }
}
