//! The settings of each stage kind: authentik's stage models (`authentik/stages/<kind>/models.py`)
//! field for field, with authentik's defaults. References to other objects are ids.

use serde::{Deserialize, Serialize};

use crate::domain::enums::{StageKind, UserType, string_enum};

kind_settings!(
    /// A stage's own fields, by kind.
    StageSettings: StageKind {
        Identification(IdentificationSettings),
        Password(PasswordSettings),
        AuthenticatorValidate(AuthenticatorValidateSettings),
        AuthenticatorTotp(AuthenticatorTotpSettings),
        Consent(ConsentSettings),
        UserLogin(UserLoginSettings),
        UserLogout(UserLogoutSettings),
        UserWrite(UserWriteSettings),
        Prompt(PromptSettings),
        Deny(DenySettings),
        Redirect(RedirectSettings),
        Endpoint(EndpointSettings),
        Invitation(InvitationSettings),
        AuthenticatorStatic(AuthenticatorStaticSettings),
        AuthenticatorWebauthn(AuthenticatorWebauthnSettings),
        Email(EmailSettings),
    }
);

impl StageSettings {
    /// What the console's create form fills in for a new stage of `kind`: authentik's defaults,
    /// except where authentik's admin forms pre-select choices (identify by username or email,
    /// check the built-in password backend, accept static/TOTP/WebAuthn devices).
    pub fn for_new(kind: StageKind) -> Self {
        match kind {
            StageKind::Identification => StageSettings::Identification(IdentificationSettings {
                user_fields: vec!["username".into(), "email".into()],
                ..Default::default()
            }),
            StageKind::Password => StageSettings::Password(PasswordSettings {
                backends: vec![INBUILT_BACKEND.into()],
                ..Default::default()
            }),
            StageKind::AuthenticatorValidate => {
                StageSettings::AuthenticatorValidate(AuthenticatorValidateSettings {
                    device_classes: ["static", "totp", "webauthn"].map(String::from).to_vec(),
                    ..Default::default()
                })
            }
            other => StageSettings::default_for(other),
        }
    }

    /// The prompt stage's settings, when these are a prompt stage's.
    pub fn as_prompt(&self) -> Option<&PromptSettings> {
        match self {
            StageSettings::Prompt(p) => Some(p),
            _ => None,
        }
    }

    /// See [`StageSettings::as_prompt`].
    pub fn as_prompt_mut(&mut self) -> Option<&mut PromptSettings> {
        match self {
            StageSettings::Prompt(p) => Some(p),
            _ => None,
        }
    }
}

/// authentik's password backend for the user database with standard passwords.
pub const INBUILT_BACKEND: &str = "authentik.core.auth.InbuiltBackend";

/// Every device class authentik's authenticator validation stage knows.
pub const DEVICE_CLASSES: &[&str] = &["static", "totp", "webauthn", "duo", "sms", "email"];

/// Identification: who is logging in (authentik's `IdentificationStage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IdentificationSettings {
    /// User fields matched against the identifier (`username`, `email`, `upn`).
    pub user_fields: Vec<String>,
    /// A password stage whose field is shown on the same page.
    pub password_stage: Option<String>,
    pub captcha_stage: Option<String>,
    pub case_insensitive_matching: bool,
    pub show_matched_user: bool,
    pub enrollment_flow: Option<String>,
    pub recovery_flow: Option<String>,
    pub passwordless_flow: Option<String>,
    pub sources: Vec<String>,
    pub show_source_labels: bool,
    /// Unknown identifiers continue as if the user existed (no account enumeration).
    pub pretend_user_exists: bool,
    pub enable_remember_me: bool,
    pub webauthn_stage: Option<String>,
}

impl Default for IdentificationSettings {
    fn default() -> Self {
        Self {
            user_fields: Vec::new(),
            password_stage: None,
            captcha_stage: None,
            case_insensitive_matching: true,
            show_matched_user: true,
            enrollment_flow: None,
            recovery_flow: None,
            passwordless_flow: None,
            sources: Vec::new(),
            show_source_labels: false,
            pretend_user_exists: true,
            enable_remember_me: false,
            webauthn_stage: None,
        }
    }
}

/// Password: checks the pending user's password (authentik's `PasswordStage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordSettings {
    /// authentik's backend paths the password is checked against.
    pub backends: Vec<String>,
    pub configure_flow: Option<String>,
    /// The failure at which the flow is cancelled (authentik's `>=`: 0 cancels at the first).
    pub failed_attempts_before_cancel: i64,
    pub allow_show_password: bool,
}

impl Default for PasswordSettings {
    fn default() -> Self {
        Self {
            backends: Vec::new(),
            configure_flow: None,
            failed_attempts_before_cancel: 5,
            allow_show_password: false,
        }
    }
}

string_enum!(
    /// What authenticator validation does for a user without a device.
    NotConfiguredAction {
        Skip => ("skip", "Continue"),
        Deny => ("deny", "Deny the user access"),
        Configure => ("configure", "Force the user to configure an authenticator"),
    } default Skip
);

string_enum!(
    /// Whether WebAuthn asks the authenticator to verify the user.
    WebauthnUserVerification {
        Required => ("required", "User verification must occur"),
        Preferred => ("preferred", "User verification is preferred if available"),
        Discouraged => ("discouraged", "User verification should not occur"),
    } default Preferred
);

/// Authenticator validation: asks for a second factor (authentik's
/// `AuthenticatorValidateStage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthenticatorValidateSettings {
    /// Device classes accepted (see [`DEVICE_CLASSES`]).
    pub device_classes: Vec<String>,
    pub not_configured_action: NotConfiguredAction,
    /// Setup stages offered by `configure` (the first is used).
    pub configuration_stages: Vec<String>,
    pub last_auth_threshold: String,
    pub webauthn_user_verification: WebauthnUserVerification,
}

impl Default for AuthenticatorValidateSettings {
    fn default() -> Self {
        Self {
            device_classes: DEVICE_CLASSES.iter().map(|c| c.to_string()).collect(),
            not_configured_action: NotConfiguredAction::Skip,
            configuration_stages: Vec::new(),
            last_auth_threshold: "seconds=0".into(),
            webauthn_user_verification: WebauthnUserVerification::Preferred,
        }
    }
}

/// TOTP authenticator setup (authentik's `AuthenticatorTOTPStage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthenticatorTotpSettings {
    pub configure_flow: Option<String>,
    /// The name the new device gets (empty: "TOTP device").
    pub friendly_name: String,
    /// 6 or 8 (others are refused at save): the URI's and the confirming code's digits.
    pub digits: i64,
}

impl Default for AuthenticatorTotpSettings {
    fn default() -> Self {
        Self {
            configure_flow: None,
            friendly_name: String::new(),
            digits: 6,
        }
    }
}

/// Static authenticator setup: recovery codes shown once (authentik's
/// `AuthenticatorStaticStage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthenticatorStaticSettings {
    pub configure_flow: Option<String>,
    pub friendly_name: String,
    /// How many codes a device gets.
    pub token_count: i64,
    /// How many characters each code has.
    pub token_length: i64,
}

impl Default for AuthenticatorStaticSettings {
    fn default() -> Self {
        Self {
            configure_flow: None,
            friendly_name: String::new(),
            token_count: 6,
            token_length: 12,
        }
    }
}

string_enum!(
    /// How long a consent lasts.
    ConsentMode {
        AlwaysRequire => ("always_require", "Always require consent"),
        Permanent => ("permanent", "Consent given lasts indefinitely"),
        Expiring => ("expiring", "Consent expires"),
    } default Expiring
);

/// Consent (authentik's `ConsentStage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsentSettings {
    pub mode: ConsentMode,
    /// How long an `expiring` consent lasts (a duration such as `weeks=4`).
    pub consent_expire_in: String,
}

impl Default for ConsentSettings {
    fn default() -> Self {
        Self {
            mode: ConsentMode::Expiring,
            consent_expire_in: "weeks=4".into(),
        }
    }
}

string_enum!(
    /// What network facts a session is bound to.
    NetworkBinding {
        NoBinding => ("no_binding", "No binding"),
        BindAsn => ("bind_asn", "Bind ASN"),
        BindAsnNetwork => ("bind_asn_network", "Bind ASN and network"),
        BindAsnNetworkIp => ("bind_asn_network_ip", "Bind ASN, network and IP"),
    } default NoBinding
);

string_enum!(
    /// What GeoIP facts a session is bound to.
    GeoipBinding {
        NoBinding => ("no_binding", "No binding"),
        BindContinent => ("bind_continent", "Bind continent"),
        BindContinentCountry => ("bind_continent_country", "Bind continent and country"),
        BindContinentCountryCity => ("bind_continent_country_city", "Bind continent, country and city"),
    } default NoBinding
);

/// User login: starts the session (authentik's `UserLoginStage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserLoginSettings {
    /// `seconds=0`: the session lasts until the browser closes.
    pub session_duration: String,
    /// Above zero, "stay signed in" extends the session by this much.
    pub remember_me_offset: String,
    pub terminate_other_sessions: bool,
    pub network_binding: NetworkBinding,
    pub geoip_binding: GeoipBinding,
}

impl Default for UserLoginSettings {
    fn default() -> Self {
        Self {
            session_duration: "seconds=0".into(),
            remember_me_offset: "seconds=0".into(),
            terminate_other_sessions: false,
            network_binding: NetworkBinding::NoBinding,
            geoip_binding: GeoipBinding::NoBinding,
        }
    }
}

/// User logout (authentik's `UserLogoutStage`): no settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserLogoutSettings {}

string_enum!(
    /// When user write creates a user.
    UserCreationMode {
        NeverCreate => ("never_create", "Never create users"),
        CreateWhenRequired => ("create_when_required", "Create users when required"),
        AlwaysCreate => ("always_create", "Always create new users"),
    } default CreateWhenRequired
);

/// User write: writes prompt data to the user (authentik's `UserWriteStage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserWriteSettings {
    pub user_creation_mode: UserCreationMode,
    pub create_users_as_inactive: bool,
    /// A group (id or name) new users join.
    pub create_users_group: Option<String>,
    /// The type of a created user (a plan's `user_type` overrides it).
    pub user_type: UserType,
    /// The path of a created user, as written (empty: `users`; a plan's `user_path` overrides).
    pub user_path_template: String,
}

impl Default for UserWriteSettings {
    fn default() -> Self {
        Self {
            user_creation_mode: UserCreationMode::CreateWhenRequired,
            create_users_as_inactive: false,
            create_users_group: None,
            user_type: UserType::External,
            user_path_template: String::new(),
        }
    }
}

/// Prompt: asks for prompt fields (authentik's `PromptStage`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PromptSettings {
    /// The prompts shown, by id (or name).
    pub fields: Vec<String>,
    /// Policies the answers must pass, by id.
    pub validation_policies: Vec<String>,
}

impl PromptSettings {
    /// True when `fields` lists the prompt with this id or name.
    pub fn lists_prompt(&self, id: &str, name: Option<&str>) -> bool {
        self.fields
            .iter()
            .any(|f| f == id || Some(f.as_str()) == name)
    }

    /// Drops the prompt with this id or name from `fields`; true when it was listed.
    pub fn drop_prompt(&mut self, id: &str, name: Option<&str>) -> bool {
        let before = self.fields.len();
        self.fields.retain(|f| f != id && Some(f.as_str()) != name);
        self.fields.len() != before
    }
}

/// Deny: stops the flow (authentik's `DenyStage`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DenySettings {
    /// Shown to the user; empty shows a generic message.
    pub deny_message: String,
}

string_enum!(
    /// Where a redirect stage sends the user.
    RedirectMode {
        Static => ("static", "Static"),
        Flow => ("flow", "Flow"),
    } default Static
);

/// Redirect (authentik's `RedirectStage`): to a URL (`static`) or into another flow (`flow`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RedirectSettings {
    pub mode: RedirectMode,
    pub target_static: String,
    pub target_flow: Option<String>,
    pub keep_context: bool,
}

impl Default for RedirectSettings {
    fn default() -> Self {
        Self {
            mode: RedirectMode::Static,
            target_static: String::new(),
            target_flow: None,
            keep_context: true,
        }
    }
}

string_enum!(
    /// Whether an endpoint stage requires a device check.
    EndpointMode {
        Optional => ("optional", "Optional"),
        Required => ("required", "Required"),
    } default Optional
);

/// Endpoint: a device check through a connector (authentik's `EndpointStage`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointSettings {
    pub connector: Option<String>,
    pub mode: EndpointMode,
}

/// Invitation: lets an enrollment flow go on only with a valid invitation, whose fixed data it
/// lays over the prompt data (authentik's `InvitationStage`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InvitationSettings {
    /// Go on without an invitation instead of stopping the flow.
    pub continue_flow_without_invitation: bool,
}

string_enum!(
    /// Whether a WebAuthn registration asks for a discoverable (client-side) credential.
    ResidentKeyRequirement {
        Discouraged => ("discouraged", "Discouraged: no credential kept on the authenticator"),
        Preferred => ("preferred", "Preferred: a discoverable credential when possible"),
        Required => ("required", "Required: a discoverable credential (passkey)"),
    } default Preferred
);

string_enum!(
    /// How a WebAuthn authenticator is connected to the browser (absent: either).
    AuthenticatorAttachment {
        Platform => ("platform", "Platform: built into the device"),
        CrossPlatform => ("cross-platform", "Cross-platform: roaming, like a YubiKey"),
    } default Platform
);

/// WebAuthn authenticator setup: registers a passkey or security key (authentik's
/// `AuthenticatorWebAuthnStage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthenticatorWebauthnSettings {
    pub configure_flow: Option<String>,
    pub friendly_name: String,
    /// Asked of the authenticator at registration (authentik's `user_verification`).
    pub user_verification: WebauthnUserVerification,
    pub resident_key_requirement: ResidentKeyRequirement,
    /// `None` lets the browser offer any authenticator.
    pub authenticator_attachment: Option<AuthenticatorAttachment>,
    /// Kept for blueprints: latchkey has no authenticator metadata to restrict by.
    pub device_type_restrictions: Vec<String>,
    /// Failed registrations before the stage gives up (0: no limit).
    pub max_attempts: i64,
}

impl Default for AuthenticatorWebauthnSettings {
    fn default() -> Self {
        Self {
            configure_flow: None,
            friendly_name: String::new(),
            user_verification: WebauthnUserVerification::Preferred,
            resident_key_requirement: ResidentKeyRequirement::Preferred,
            authenticator_attachment: None,
            device_type_restrictions: Vec::new(),
            max_attempts: 0,
        }
    }
}

/// Email: sends a link with a single-use token and waits until it is opened (authentik's
/// `EmailStage`), through the server's SMTP configuration (`--smtp-url`) with
/// `use_global_settings`, else through the stage's own `host`, `port`, `use_tls`/`use_ssl`,
/// `timeout` and `from_address` (no `username`: latchkey keeps no SMTP password in a stage).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailSettings {
    pub use_global_settings: bool,
    pub host: String,
    pub port: i64,
    pub username: String,
    pub use_tls: bool,
    pub use_ssl: bool,
    pub timeout: i64,
    pub from_address: String,
    /// How long the link works: authentik's duration (`minutes=30`); a bare number (older
    /// authentik blueprints) is minutes.
    #[serde(deserialize_with = "minutes_or_duration")]
    pub token_expiry: String,
    pub subject: String,
    /// `email/password_reset.html` or `email/account_confirmation.html`.
    pub template: String,
    /// Activate the pending user when the link is opened.
    pub activate_user_on_success: bool,
    pub recovery_max_attempts: i64,
    pub recovery_cache_timeout: String,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            use_global_settings: false,
            host: "localhost".into(),
            port: 25,
            username: String::new(),
            use_tls: false,
            use_ssl: false,
            timeout: 10,
            from_address: "system@authentik.local".into(),
            token_expiry: "minutes=30".into(),
            subject: "authentik".into(),
            template: "email/password_reset.html".into(),
            activate_user_on_success: false,
            recovery_max_attempts: 5,
            recovery_cache_timeout: "minutes=5".into(),
        }
    }
}

impl EmailSettings {
    /// The window `recovery_max_attempts` counts sends in, in seconds (`recovery_cache_timeout`;
    /// 5 minutes when it does not parse).
    pub fn recovery_cache_seconds(&self) -> i64 {
        crate::domain::Duration::parse(&self.recovery_cache_timeout)
            .map(|d| d.seconds())
            .ok()
            .filter(|s| *s > 0)
            .unwrap_or(5 * 60)
    }

    /// The link's lifetime in seconds (`token_expiry`; 30 minutes when it does not parse).
    pub fn token_expiry_seconds(&self) -> i64 {
        crate::domain::Duration::parse(&self.token_expiry)
            .map(|d| d.seconds())
            .ok()
            .filter(|s| *s > 0)
            .unwrap_or(30 * 60)
    }
}

/// `token_expiry` as authentik stores it now (a duration string) or as older blueprints do
/// (an integer number of minutes).
fn minutes_or_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Expiry {
        Minutes(i64),
        Duration(String),
    }
    Ok(match Expiry::deserialize(d)? {
        Expiry::Minutes(m) => format!("minutes={m}"),
        // A blueprint's `30` may arrive as text: still minutes.
        Expiry::Duration(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            format!("minutes={s}")
        }
        Expiry::Duration(s) => s,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// authentik's defaults, as its models declare them (`authentik/stages/*/models.py`).
    fn authentik_defaults(kind: StageKind) -> Value {
        match kind {
            StageKind::Identification => json!({
                "user_fields": [], "password_stage": null, "captcha_stage": null,
                "case_insensitive_matching": true, "show_matched_user": true,
                "enrollment_flow": null, "recovery_flow": null, "passwordless_flow": null,
                "sources": [], "show_source_labels": false, "pretend_user_exists": true,
                "enable_remember_me": false, "webauthn_stage": null,
            }),
            StageKind::Password => json!({
                "backends": [], "configure_flow": null, "failed_attempts_before_cancel": 5,
                "allow_show_password": false,
            }),
            StageKind::AuthenticatorValidate => json!({
                "device_classes": ["static", "totp", "webauthn", "duo", "sms", "email"],
                "not_configured_action": "skip", "configuration_stages": [],
                "last_auth_threshold": "seconds=0", "webauthn_user_verification": "preferred",
            }),
            StageKind::AuthenticatorTotp => {
                json!({"configure_flow": null, "friendly_name": "", "digits": 6})
            }
            StageKind::Consent => json!({"mode": "expiring", "consent_expire_in": "weeks=4"}),
            StageKind::UserLogin => json!({
                "session_duration": "seconds=0", "remember_me_offset": "seconds=0",
                "terminate_other_sessions": false, "network_binding": "no_binding",
                "geoip_binding": "no_binding",
            }),
            StageKind::UserLogout => json!({}),
            StageKind::UserWrite => json!({
                "user_creation_mode": "create_when_required", "create_users_as_inactive": false,
                "create_users_group": null, "user_type": "external", "user_path_template": "",
            }),
            StageKind::Prompt => json!({"fields": [], "validation_policies": []}),
            StageKind::Deny => json!({"deny_message": ""}),
            StageKind::Redirect => json!({
                "mode": "static", "target_static": "", "target_flow": null, "keep_context": true,
            }),
            StageKind::Endpoint => json!({"connector": null, "mode": "optional"}),
            StageKind::Invitation => json!({"continue_flow_without_invitation": false}),
            StageKind::AuthenticatorStatic => json!({
                "configure_flow": null, "friendly_name": "", "token_count": 6, "token_length": 12,
            }),
            StageKind::AuthenticatorWebauthn => json!({
                "configure_flow": null, "friendly_name": "", "user_verification": "preferred",
                "resident_key_requirement": "preferred", "authenticator_attachment": null,
                "device_type_restrictions": [], "max_attempts": 0,
            }),
            StageKind::Email => json!({
                "use_global_settings": false, "host": "localhost", "port": 25, "username": "",
                "use_tls": false, "use_ssl": false, "timeout": 10,
                "from_address": "system@authentik.local", "token_expiry": "minutes=30",
                "subject": "authentik", "template": "email/password_reset.html",
                "activate_user_on_success": false, "recovery_max_attempts": 5,
                "recovery_cache_timeout": "minutes=5",
            }),
        }
    }

    #[test]
    fn defaults_are_authentiks() {
        for kind in StageKind::ALL {
            let settings = StageSettings::default_for(*kind);
            assert_eq!(settings.kind(), *kind);
            assert_eq!(settings.to_json(), authentik_defaults(*kind), "{kind}");
            assert_eq!(settings.changed_json(), json!({}), "{kind}");
        }
    }

    #[test]
    fn an_empty_or_missing_object_takes_every_default() {
        for kind in StageKind::ALL {
            for stored in [json!({}), Value::Null, json!("not an object")] {
                assert_eq!(
                    StageSettings::from_json(*kind, &stored),
                    StageSettings::default_for(*kind),
                    "{kind} from {stored}"
                );
            }
        }
    }

    #[test]
    fn todays_stored_json_round_trips() {
        // As the default blueprints store them (every field) and as the console stored them
        // (only some fields): the fields present keep their values, the rest take defaults.
        let cases = [
            (
                StageKind::Identification,
                json!({"user_fields": ["email", "username"], "password_stage": null,
                       "case_insensitive_matching": true, "show_matched_user": true,
                       "enrollment_flow": null, "recovery_flow": null, "passwordless_flow": null,
                       "sources": [], "show_source_labels": false, "pretend_user_exists": true,
                       "enable_remember_me": false, "webauthn_stage": null, "captcha_stage": null}),
            ),
            (
                StageKind::Password,
                json!({"backends": ["authentik.core.auth.InbuiltBackend"], "configure_flow": "f1",
                       "failed_attempts_before_cancel": 3, "allow_show_password": true}),
            ),
            (
                StageKind::AuthenticatorValidate,
                json!({"device_classes": ["totp"], "not_configured_action": "configure",
                       "configuration_stages": ["s1"], "last_auth_threshold": "hours=1",
                       "webauthn_user_verification": "required"}),
            ),
            (
                StageKind::UserLogin,
                json!({"session_duration": "hours=1", "remember_me_offset": "days=30",
                       "terminate_other_sessions": true, "network_binding": "bind_asn",
                       "geoip_binding": "bind_continent"}),
            ),
            (
                StageKind::Prompt,
                json!({"fields": ["p1", "name"], "validation_policies": ["v1"]}),
            ),
        ];
        for (kind, stored) in cases {
            let settings = StageSettings::from_json(kind, &stored);
            assert_eq!(settings.to_json(), stored, "{kind}");
            assert_eq!(
                StageSettings::from_json_strict(kind, stored.clone()),
                Ok(settings)
            );
        }
    }

    #[test]
    fn a_missing_field_takes_its_default() {
        let s = StageSettings::from_json(StageKind::Consent, &json!({"mode": "permanent"}));
        assert_eq!(
            s,
            StageSettings::Consent(ConsentSettings {
                mode: ConsentMode::Permanent,
                consent_expire_in: "weeks=4".into(),
            })
        );
        assert_eq!(s.changed_json(), json!({"mode": "permanent"}));
        let s = StageSettings::from_json(
            StageKind::Identification,
            &json!({"user_fields": ["username"]}),
        );
        let StageSettings::Identification(i) = s else {
            panic!("identification")
        };
        assert!(i.case_insensitive_matching && i.pretend_user_exists);
        assert_eq!(i.password_stage, None);
    }

    #[test]
    fn wrong_types_and_unknown_keys_read_as_defaults() {
        let s = StageSettings::from_json(
            StageKind::Password,
            &json!({"failed_attempts_before_cancel": "three", "allow_show_password": true,
                    "configure_flow": null, "no_such_field": 1}),
        );
        assert_eq!(
            s,
            StageSettings::Password(PasswordSettings {
                allow_show_password: true,
                ..Default::default()
            })
        );
        let s = StageSettings::from_json(
            StageKind::AuthenticatorValidate,
            &json!({"not_configured_action": "bogus"}),
        );
        assert_eq!(
            s,
            StageSettings::default_for(StageKind::AuthenticatorValidate)
        );
        assert!(
            StageSettings::from_json_strict(
                StageKind::Consent,
                json!({"mode": "bogus", "consent_expire_in": "weeks=4"})
            )
            .is_err()
        );
    }

    #[test]
    fn email_token_expiry_reads_minutes_and_durations() {
        for (stored, seconds) in [
            (json!({"token_expiry": 30}), 1800),
            (json!({"token_expiry": "45"}), 2700),
            (json!({"token_expiry": "hours=2"}), 7200),
            (json!({}), 1800),
        ] {
            let StageSettings::Email(e) = StageSettings::from_json(StageKind::Email, &stored)
            else {
                panic!("email")
            };
            assert_eq!(e.token_expiry_seconds(), seconds, "{stored}");
        }
    }

    #[test]
    fn new_stages_use_the_admin_forms_presets() {
        let StageSettings::Identification(i) = StageSettings::for_new(StageKind::Identification)
        else {
            panic!("identification")
        };
        assert_eq!(i.user_fields, ["username", "email"]);
        assert_eq!(
            StageSettings::for_new(StageKind::Password).changed_json(),
            json!({"backends": [INBUILT_BACKEND]})
        );
        assert_eq!(
            StageSettings::for_new(StageKind::Deny),
            StageSettings::default_for(StageKind::Deny)
        );
    }

    #[test]
    fn webauthn_setup_settings_read_authentiks_spellings() {
        let stored = json!({"configure_flow": "f1", "friendly_name": "Passkey",
            "user_verification": "required", "resident_key_requirement": "discouraged",
            "authenticator_attachment": "cross-platform", "device_type_restrictions": ["aaguid-1"],
            "max_attempts": 3});
        let s = StageSettings::from_json(StageKind::AuthenticatorWebauthn, &stored);
        let StageSettings::AuthenticatorWebauthn(w) = &s else {
            panic!("webauthn")
        };
        assert_eq!(w.user_verification, WebauthnUserVerification::Required);
        assert_eq!(
            w.resident_key_requirement,
            ResidentKeyRequirement::Discouraged
        );
        assert_eq!(
            w.authenticator_attachment,
            Some(AuthenticatorAttachment::CrossPlatform)
        );
        assert_eq!(s.to_json(), stored);
        // null is "no preference"; an unknown attachment is refused by the strict reader.
        let s = StageSettings::from_json(
            StageKind::AuthenticatorWebauthn,
            &json!({"authenticator_attachment": null, "resident_key_requirement": "required"}),
        );
        assert_eq!(
            s.changed_json(),
            json!({"resident_key_requirement": "required"})
        );
        assert!(
            StageSettings::from_json_strict(
                StageKind::AuthenticatorWebauthn,
                json!({"authenticator_attachment": "usb"})
            )
            .is_err()
        );
    }

    #[test]
    fn prompt_fields_are_found_and_dropped_by_id_or_name() {
        let mut p = PromptSettings {
            fields: vec!["id-1".into(), "email".into(), "id-3".into()],
            validation_policies: Vec::new(),
        };
        assert!(p.lists_prompt("id-1", None));
        assert!(p.lists_prompt("id-2", Some("email")));
        assert!(!p.lists_prompt("id-2", Some("name")));
        assert!(p.drop_prompt("id-2", Some("email")));
        assert!(!p.drop_prompt("id-2", Some("email")));
        assert_eq!(p.fields, ["id-1", "id-3"]);
    }
}
