//! The first start: on an empty store, create a working instance in one transaction, with
//! authentik's names so authentik blueprints that reference them apply unchanged.

use serde_json::{Value, json};

use super::{Service, ServiceResult};
use crate::crypto::{keys, password, secrets};
use crate::domain::*;
use crate::store::{self, Topic};

/// The bootstrap admin's username (authentik's).
pub const ADMIN_USERNAME: &str = "akadmin";
/// The bootstrap admin group (authentik's).
pub const ADMIN_GROUP: &str = "authentik Admins";
/// The bootstrapped signing keypair.
pub const SELF_SIGNED_NAME: &str = "latchkey Self-signed Certificate";
/// The default brand's domain (authentik's).
pub const DEFAULT_BRAND_DOMAIN: &str = "authentik-default";

/// What a bootstrap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapOutcome {
    /// The store already held an instance; nothing was written.
    AlreadyBootstrapped,
    /// A new instance was created. `generated_password` is set when the admin password was
    /// generated (to be shown once) rather than taken from the environment.
    Created { generated_password: Option<String> },
}

struct FlowSpec {
    slug: &'static str,
    name: &'static str,
    title: &'static str,
    designation: FlowDesignation,
    authentication: FlowAuthentication,
    /// (order, stage name)
    stages: &'static [(i64, &'static str)],
}

const FLOWS: &[FlowSpec] = &[
    FlowSpec {
        slug: "default-authentication-flow",
        name: "Welcome to latchkey!",
        title: "Welcome to latchkey!",
        designation: FlowDesignation::Authentication,
        authentication: FlowAuthentication::None,
        stages: &[
            (10, "default-authentication-identification"),
            (20, "default-authentication-password"),
            (30, "default-authentication-mfa-validation"),
            (100, "default-authentication-login"),
        ],
    },
    FlowSpec {
        slug: "default-invalidation-flow",
        name: "Logout",
        title: "Default Invalidation Flow",
        designation: FlowDesignation::Invalidation,
        authentication: FlowAuthentication::None,
        stages: &[(0, "default-invalidation-logout")],
    },
    FlowSpec {
        slug: "default-provider-authorization-explicit-consent",
        name: "Authorize Application",
        title: "Redirecting to %(app)s",
        designation: FlowDesignation::Authorization,
        authentication: FlowAuthentication::RequireAuthenticated,
        stages: &[(0, "default-provider-authorization-consent")],
    },
    FlowSpec {
        slug: "default-provider-authorization-implicit-consent",
        name: "Authorize Application",
        title: "Redirecting to %(app)s",
        designation: FlowDesignation::Authorization,
        authentication: FlowAuthentication::RequireAuthenticated,
        stages: &[],
    },
    FlowSpec {
        slug: "default-provider-invalidation-flow",
        name: "Logged out of application",
        title: "You've logged out of %(app)s.",
        designation: FlowDesignation::Invalidation,
        authentication: FlowAuthentication::None,
        stages: &[],
    },
];

fn stage_specs() -> Vec<(&'static str, StageKind, Value)> {
    vec![
        (
            "default-authentication-identification",
            StageKind::Identification,
            json!({
                "user_fields": ["email", "username"],
                "case_insensitive_matching": true,
                "show_matched_user": true,
                "pretend_user_exists": true,
                "password_stage": null,
                "enable_remember_me": false,
            }),
        ),
        (
            "default-authentication-password",
            StageKind::Password,
            json!({
                "backends": ["authentik.core.auth.InbuiltBackend", "authentik.core.auth.TokenBackend"],
                "failed_attempts_before_cancel": 5,
                "allow_show_password": false,
            }),
        ),
        (
            "default-authentication-mfa-validation",
            StageKind::AuthenticatorValidate,
            json!({
                "device_classes": ["static", "totp"],
                "not_configured_action": "skip",
                "last_auth_threshold": "seconds=0",
            }),
        ),
        (
            "default-authentication-login",
            StageKind::UserLogin,
            json!({
                "session_duration": "seconds=0",
                "remember_me_offset": "seconds=0",
                "terminate_other_sessions": false,
            }),
        ),
        (
            "default-invalidation-logout",
            StageKind::UserLogout,
            json!({}),
        ),
        (
            "default-provider-authorization-consent",
            StageKind::Consent,
            json!({ "mode": "expiring", "consent_expire_in": "weeks=4" }),
        ),
    ]
}

/// authentik's default scope mappings: (managed suffix, name, scope, description, expression).
const SCOPES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "scope-openid",
        "authentik default OAuth Mapping: OpenID 'openid'",
        "openid",
        "",
        "#{}",
    ),
    (
        "scope-email",
        "authentik default OAuth Mapping: OpenID 'email'",
        "email",
        "Email address",
        "#{ email: request.user.email, email_verified: false }",
    ),
    (
        "scope-profile",
        "authentik default OAuth Mapping: OpenID 'profile'",
        "profile",
        "General Profile Information",
        "#{ name: request.user.name, given_name: request.user.name, \
         preferred_username: request.user.username, nickname: request.user.username, \
         groups: request.user.groups }",
    ),
    (
        "scope-offline_access",
        "authentik default OAuth Mapping: OpenID 'offline_access'",
        "offline_access",
        "Access to request new tokens without interaction",
        "#{}",
    ),
    (
        "scope-authentik_api",
        "authentik default OAuth Mapping: authentik API access",
        "goauthentik.io/api",
        "authentik API Access on behalf of your user",
        "#{}",
    ),
];

/// The managed-id prefix of the default scope mappings.
pub const SCOPE_MANAGED_PREFIX: &str = "goauthentik.io/providers/oauth2/";

impl Service {
    /// Creates the first instance if the store is empty; a second call changes nothing.
    /// `admin_password` comes from `LATCHKEY_BOOTSTRAP_PASSWORD`; when `None` one is generated.
    pub async fn bootstrap(&self, admin_password: Option<&str>) -> ServiceResult<BootstrapOutcome> {
        {
            let mut conn = self.store().read().await?;
            if is_bootstrapped(&mut conn).await? {
                return Ok(BootstrapOutcome::AlreadyBootstrapped);
            }
        }
        // Slow work (key generation, hashing) happens before the write transaction.
        let generated = admin_password.is_none().then(|| secrets::random_alnum(24));
        let password_plain = admin_password
            .map(str::to_string)
            .or_else(|| generated.clone())
            .unwrap_or_default();
        let password_hash = password::hash(&password_plain)?;
        let pair =
            keys::generate_self_signed(SELF_SIGNED_NAME, &[], 365, keys::KeyAlgorithm::Rsa2048)?;
        let facts = keys::inspect(&pair.certificate_pem, Some(&pair.key_pem))?;
        let now = self.now();

        let mut tx = self.store().write_tx().await?;
        // Re-check under the write lock: another process may have bootstrapped meanwhile.
        if is_bootstrapped(tx.conn()).await? {
            return Ok(BootstrapOutcome::AlreadyBootstrapped);
        }
        let conn = tx.conn();

        let keypair = CertificateKeypair {
            id: new_id(),
            name: SELF_SIGNED_NAME.into(),
            certificate_pem: pair.certificate_pem,
            key_pem: Some(pair.key_pem),
            managed: Some("goauthentik.io/crypto/self-signed".into()),
            key_type: facts.key_type,
            kid: String::new(),
            fingerprint_sha256: facts.fingerprint_sha256,
            fingerprint_sha1: facts.fingerprint_sha1,
            subject: facts.subject,
            not_before: facts.not_before,
            not_after: facts.not_after,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let kid = crate::crypto::jwk::SigningKey::from_keypair(&keypair)?.kid;
        store::certificates::insert(conn, &CertificateKeypair { kid, ..keypair }).await?;

        let mut stage_ids = std::collections::HashMap::new();
        for (name, kind, settings) in stage_specs() {
            let stage = Stage {
                id: new_id(),
                name: name.into(),
                kind,
                settings,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            store::stages::insert(conn, &stage).await?;
            stage_ids.insert(name, stage.id);
        }

        let mut flow_ids = std::collections::HashMap::new();
        for spec in FLOWS {
            let flow = Flow {
                id: new_id(),
                name: spec.name.into(),
                slug: spec.slug.into(),
                title: spec.title.into(),
                designation: spec.designation,
                authentication: spec.authentication,
                denied_action: DeniedAction::default(),
                policy_engine_mode: PolicyEngineMode::default(),
                layout: FlowLayout::default(),
                compatibility_mode: false,
                background: String::new(),
                created_at: now,
                updated_at: now,
                version: 1,
            };
            store::flows::insert(conn, &flow).await?;
            for (order, stage_name) in spec.stages {
                let stage_id = stage_ids.get(stage_name).cloned().unwrap_or_default();
                let binding = FlowStageBinding {
                    id: new_id(),
                    flow_id: flow.id.clone(),
                    stage_id,
                    order: *order,
                    evaluate_on_plan: false,
                    re_evaluate_policies: true,
                    invalid_response_action: InvalidResponseAction::Retry,
                    policy_engine_mode: PolicyEngineMode::Any,
                    created_at: now,
                    updated_at: now,
                    version: 1,
                };
                store::flows::insert_binding(conn, &binding).await?;
            }
            flow_ids.insert(spec.slug, flow.id);
        }

        for (suffix, name, scope, description, expression) in SCOPES {
            let mapping = ScopeMapping {
                id: new_id(),
                name: (*name).into(),
                managed: Some(format!("{SCOPE_MANAGED_PREFIX}{suffix}")),
                scope_name: (*scope).into(),
                description: (*description).into(),
                expression: (*expression).into(),
                created_at: now,
                updated_at: now,
                version: 1,
            };
            store::scope_mappings::insert(conn, &mapping).await?;
        }

        let brand = Brand {
            id: new_id(),
            domain: DEFAULT_BRAND_DOMAIN.into(),
            default: true,
            branding_title: "latchkey".into(),
            branding_logo: String::new(),
            branding_favicon: String::new(),
            branding_custom_css: String::new(),
            flow_authentication_id: flow_ids.get("default-authentication-flow").cloned(),
            flow_invalidation_id: flow_ids.get("default-invalidation-flow").cloned(),
            flow_recovery_id: None,
            flow_unenrollment_id: None,
            flow_user_settings_id: None,
            flow_device_code_id: None,
            web_certificate_id: None,
            default_application_id: None,
            attributes: json!({}),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        store::brands::insert(conn, &brand).await?;

        let group = Group {
            id: new_id(),
            name: ADMIN_GROUP.into(),
            is_superuser: true,
            parent_id: None,
            attributes: json!({}),
            member_count: 0,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        store::groups::insert(conn, &group).await?;
        let admin = User {
            id: new_id(),
            username: ADMIN_USERNAME.into(),
            name: "latchkey Default Admin".into(),
            email: "root@localhost".into(),
            is_active: true,
            user_type: UserType::Internal,
            path: "users".into(),
            attributes: json!({}),
            has_password: true,
            last_login: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        store::users::insert(conn, &admin, Some(&password_hash)).await?;
        store::groups::add_member(conn, &group.id, &admin.id).await?;

        tx.touch(Topic::All);
        tx.commit().await?;
        tracing::info!("bootstrapped a new instance");
        Ok(BootstrapOutcome::Created {
            generated_password: generated,
        })
    }
}

async fn is_bootstrapped(conn: &mut store::Conn) -> ServiceResult<bool> {
    let users = store::users::count(conn).await?;
    let brands = store::brands::list(conn).await?.len();
    Ok(users > 0 || brands > 0)
}
