//! The admin objects, mirroring authentik's models field for field where latchkey supports them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Timestamp;
use super::enums::*;
use super::redirect::RedirectUri;
use super::settings::{ConnectorSettings, PolicySettings, StageSettings};

/// An ordered chain of stages (authentik's Flow).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub title: String,
    pub designation: FlowDesignation,
    pub authentication: FlowAuthentication,
    pub denied_action: DeniedAction,
    pub policy_engine_mode: PolicyEngineMode,
    pub layout: FlowLayout,
    pub compatibility_mode: bool,
    pub background: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// A configured stage; `settings` holds the kind's own fields (authentik's per-stage model)
/// and decides the kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub id: String,
    pub name: String,
    /// Serialised as `kind` and `settings` beside the other fields.
    #[serde(flatten)]
    pub settings: StageSettings,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

impl Stage {
    /// The stage's kind (that of its settings).
    pub fn kind(&self) -> StageKind {
        self.settings.kind()
    }
}

/// A stage placed in a flow at an order (authentik's FlowStageBinding).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowStageBinding {
    pub id: String,
    pub flow_id: String,
    pub stage_id: String,
    pub order: i64,
    pub evaluate_on_plan: bool,
    pub re_evaluate_policies: bool,
    pub invalid_response_action: InvalidResponseAction,
    pub policy_engine_mode: PolicyEngineMode,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// One field of a prompt stage (authentik's Prompt).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prompt {
    pub id: String,
    pub name: String,
    pub field_key: String,
    pub label: String,
    pub field_type: String,
    pub required: bool,
    pub placeholder: String,
    pub initial_value: String,
    pub sub_text: String,
    pub order: i64,
    /// `placeholder` is a Python expression evaluated when the field is shown (authentik's).
    #[serde(default)]
    pub placeholder_expression: bool,
    /// `initial_value` is a Python expression evaluated when the field is shown (authentik's).
    #[serde(default)]
    pub initial_value_expression: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// A policy; `settings` holds the kind's own fields and decides the kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub id: String,
    pub name: String,
    /// Serialised as `kind` and `settings` beside the other fields.
    #[serde(flatten)]
    pub settings: PolicySettings,
    pub execution_logging: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

impl Policy {
    /// The policy's kind (that of its settings).
    pub fn kind(&self) -> PolicyKind {
        self.settings.kind()
    }
}

/// What a policy binding checks: a policy, membership of a group, or one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum BindingSubject {
    Policy(String),
    Group(String),
    User(String),
}

/// A policy, group or user bound to a flow, stage binding or application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyBinding {
    pub id: String,
    pub target_id: String,
    pub subject: BindingSubject,
    pub order: i64,
    pub enabled: bool,
    pub negate: bool,
    pub timeout: i64,
    pub failure_result: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// An application users sign in to (authentik's Application). The default is the empty one
/// a new-application form starts from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub provider_id: Option<String>,
    pub group: String,
    pub policy_engine_mode: PolicyEngineMode,
    pub meta_launch_url: String,
    pub open_in_new_tab: bool,
    pub meta_icon: String,
    pub meta_publisher: String,
    pub meta_description: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// OAuth2-specific provider settings (authentik's OAuth2Provider fields beyond the base).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuth2Settings {
    pub client_type: ClientType,
    pub client_secret: String,
    pub redirect_uris: Vec<RedirectUri>,
    pub grant_types: Vec<String>,
    pub include_claims_in_id_token: bool,
    pub access_code_validity: String,
    pub access_token_validity: String,
    pub refresh_token_validity: String,
    pub refresh_token_threshold: String,
    pub device_code_validity: String,
    pub sub_mode: SubMode,
    pub issuer_mode: IssuerMode,
    pub logout_uri: String,
    /// How `logout_uri` is called when a session that used this provider ends.
    pub logout_method: LogoutMethod,
    pub allow_plain_pkce: bool,
}

/// Every grant type latchkey can serve, in authentik's spelling.
pub const ALL_GRANT_TYPES: &[&str] = &[
    "authorization_code",
    "implicit",
    "hybrid",
    "refresh_token",
    "client_credentials",
    "password",
    "urn:ietf:params:oauth:grant-type:device_code",
];

impl Default for OAuth2Settings {
    fn default() -> Self {
        Self {
            client_type: ClientType::Confidential,
            client_secret: String::new(),
            redirect_uris: Vec::new(),
            // Every grant but `password`, which stays off unless an admin enables it.
            grant_types: ALL_GRANT_TYPES
                .iter()
                .filter(|g| **g != "password")
                .map(|s| s.to_string())
                .collect(),
            include_claims_in_id_token: true,
            access_code_validity: "minutes=1".into(),
            access_token_validity: "hours=1".into(),
            refresh_token_validity: "days=30".into(),
            refresh_token_threshold: "seconds=0".into(),
            device_code_validity: "minutes=10".into(),
            sub_mode: SubMode::HashedUserId,
            issuer_mode: IssuerMode::PerProvider,
            logout_uri: String::new(),
            logout_method: LogoutMethod::Backchannel,
            allow_plain_pkce: false,
        }
    }
}

/// A provider (OAuth2/OIDC first), with the columns other objects reference kept typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub authorization_flow_id: Option<String>,
    pub authentication_flow_id: Option<String>,
    pub invalidation_flow_id: Option<String>,
    pub signing_key_id: Option<String>,
    pub encryption_key_id: Option<String>,
    pub scope_mapping_ids: Vec<String>,
    pub oauth2: OAuth2Settings,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// Maps an OAuth scope to claims through an expression (authentik's ScopeMapping).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScopeMapping {
    pub id: String,
    pub name: String,
    pub managed: Option<String>,
    pub scope_name: String,
    pub description: String,
    pub expression: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// A certificate with an optional private key; derived fields are computed once at save. The
/// default is the empty one a new-certificate form starts from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CertificateKeypair {
    pub id: String,
    pub name: String,
    pub certificate_pem: String,
    pub key_pem: Option<String>,
    pub managed: Option<String>,
    pub key_type: KeyType,
    pub kid: String,
    pub fingerprint_sha256: String,
    pub fingerprint_sha1: String,
    pub subject: String,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// Per-domain branding and default flows (authentik's Brand).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Brand {
    pub id: String,
    pub domain: String,
    pub default: bool,
    pub branding_title: String,
    pub branding_logo: String,
    pub branding_favicon: String,
    pub branding_custom_css: String,
    pub flow_authentication_id: Option<String>,
    pub flow_invalidation_id: Option<String>,
    pub flow_recovery_id: Option<String>,
    pub flow_unenrollment_id: Option<String>,
    pub flow_user_settings_id: Option<String>,
    pub flow_device_code_id: Option<String>,
    pub web_certificate_id: Option<String>,
    pub default_application_id: Option<String>,
    pub attributes: Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// An endpoint connector (the authentik Agent first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connector {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub authorization_flow_id: Option<String>,
    pub challenge_key_id: Option<String>,
    /// The kind's own fields; serialised as `kind` and `settings` beside the other fields.
    #[serde(flatten)]
    pub settings: ConnectorSettings,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

impl Connector {
    /// The connector's kind (that of its settings).
    pub fn kind(&self) -> ConnectorKind {
        self.settings.kind()
    }
}

/// A person or service account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub name: String,
    pub email: String,
    pub is_active: bool,
    pub user_type: UserType,
    pub path: String,
    pub attributes: Value,
    pub has_password: bool,
    pub last_login: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

impl User {
    /// A new internal user as authentik creates one (path `users`, no password yet); the
    /// service account of client_credentials and the console's blank form start from it too.
    pub fn new_internal(username: &str, name: &str, email: &str, now: Timestamp) -> Self {
        User {
            id: super::new_id(),
            username: username.to_string(),
            name: name.to_string(),
            email: email.to_string(),
            is_active: true,
            user_type: UserType::Internal,
            path: "users".into(),
            attributes: serde_json::json!({}),
            has_password: false,
            last_login: None,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }
}

/// A group of users; `is_superuser` grants admin rights to its members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub is_superuser: bool,
    pub parent_id: Option<String>,
    pub attributes: Value,
    pub member_count: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// An audit event with authentik's action names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub action: String,
    pub username: String,
    pub user_id: Option<String>,
    pub app: String,
    pub client_ip: String,
    /// Where it came from: "http", "console", "cli", "blueprint <name>" or "system" (see
    /// [`crate::domain::Actor`]); empty for events recorded before origins were kept.
    #[serde(default)]
    pub origin: String,
    pub context: Value,
    pub brand: String,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_stage_serialises_its_kind_and_settings_beside_its_fields() {
        let stage = Stage {
            id: "s-1".into(),
            name: "deny".into(),
            settings: StageSettings::Deny(crate::domain::DenySettings {
                deny_message: "no".into(),
            }),
            created_at: 1,
            updated_at: 2,
            version: 3,
        };
        let v = serde_json::to_value(&stage).expect("json");
        assert_eq!(
            v,
            json!({"id": "s-1", "name": "deny", "kind": "deny",
                   "settings": {"deny_message": "no"},
                   "created_at": 1, "updated_at": 2, "version": 3})
        );
        assert_eq!(serde_json::from_value::<Stage>(v).expect("stage"), stage);
        assert_eq!(stage.kind(), StageKind::Deny);
    }
}
