//! Each stage and connector kind's own fields, read from and written to the object's typed
//! settings; a field's key is authentik's field name (as in `fixtures/blueprints/default/*.yaml`),
//! so blueprints round-trip unchanged.

use super::field::{Choice, FieldKind, FieldSpec, FieldValue, no_choices};
use crate::console::data::Data;
use crate::domain::*;

/// A settings struct that typed fields reach inside the object being edited: a stage's
/// settings of one kind, or an agent connector's.
trait InObject: Sized {
    /// The struct, when the object holds settings of this kind.
    fn inside(o: &Object) -> Option<&Self>;
    /// The struct to change, when the object holds settings of this kind.
    fn inside_mut(o: &mut Object) -> Option<&mut Self>;
}

impl<T: SettingsOf<StageSettings>> InObject for T {
    fn inside(o: &Object) -> Option<&Self> {
        match o {
            Object::Stage(s) => T::of(&s.settings),
            _ => None,
        }
    }
    fn inside_mut(o: &mut Object) -> Option<&mut Self> {
        match o {
            Object::Stage(s) => T::of_mut(&mut s.settings),
            _ => None,
        }
    }
}

impl InObject for AgentConnectorSettings {
    fn inside(o: &Object) -> Option<&Self> {
        match o {
            Object::Connector(c) => Self::of(&c.settings),
            _ => None,
        }
    }
    fn inside_mut(o: &mut Object) -> Option<&mut Self> {
        match o {
            Object::Connector(c) => Self::of_mut(&mut c.settings),
            _ => None,
        }
    }
}

/// The settings of kind `T` of the object being edited.
fn settings<T: InObject>(o: &Object) -> Option<&T> {
    T::inside(o)
}

/// See [`settings`].
fn settings_mut<T: InObject>(o: &mut Object) -> Option<&mut T> {
    T::inside_mut(o)
}

fn fixed(items: &[(&str, &str)]) -> Vec<Choice> {
    items
        .iter()
        .map(|(id, label)| Choice {
            id: (*id).into(),
            label: (*label).into(),
        })
        .collect()
}

/// One settings field: `$ty.$field` names the settings struct and its field (whose name is
/// the form key); the first word says how the field is edited.
macro_rules! st {
    (text $kind:expr, $ty:ident . $field:ident, $label:literal, $help:literal, $req:expr) => {
        FieldSpec {
            key: stringify!($field),
            label: $label,
            help: $help,
            required: $req,
            kind: $kind,
            choices: no_choices,
            get: |o| {
                FieldValue::Text(
                    settings::<$ty>(o)
                        .map(|s| s.$field.clone())
                        .unwrap_or_default(),
                )
            },
            set: |o, v| {
                if let Some(s) = settings_mut::<$ty>(o) {
                    s.$field = v.text().to_string();
                }
            },
        }
    };
    (bool $ty:ident . $field:ident, $label:literal, $help:literal) => {
        FieldSpec {
            key: stringify!($field),
            label: $label,
            help: $help,
            required: false,
            kind: FieldKind::Toggle,
            choices: no_choices,
            get: |o| FieldValue::Bool(settings::<$ty>(o).is_some_and(|s| s.$field)),
            set: |o, v| {
                if let Some(s) = settings_mut::<$ty>(o) {
                    s.$field = v.flag();
                }
            },
        }
    };
    (int $ty:ident . $field:ident, $label:literal, $help:literal) => {
        FieldSpec {
            key: stringify!($field),
            label: $label,
            help: $help,
            required: true,
            kind: FieldKind::Number,
            choices: no_choices,
            get: |o| {
                FieldValue::Text(
                    settings::<$ty>(o)
                        .map(|s| s.$field.to_string())
                        .unwrap_or_default(),
                )
            },
            set: |o, v| {
                if let (Some(s), Ok(n)) = (settings_mut::<$ty>(o), v.text().trim().parse::<i64>()) {
                    s.$field = n;
                }
            },
        }
    };
    (choice $enum:ident, $ty:ident . $field:ident, $label:literal, $help:literal) => {
        FieldSpec {
            key: stringify!($field),
            label: $label,
            help: $help,
            required: true,
            kind: FieldKind::Select,
            choices: |_| {
                $enum::ALL
                    .iter()
                    .map(|c| Choice {
                        id: c.as_str().into(),
                        label: c.label().into(),
                    })
                    .collect()
            },
            get: |o| FieldValue::One(settings::<$ty>(o).map(|s| s.$field.as_str().to_string())),
            set: |o, v| {
                if let (Some(s), Some(c)) = (settings_mut::<$ty>(o), v.one().and_then($enum::parse))
                {
                    s.$field = c;
                }
            },
        }
    };
    (maybe $enum:ident, $ty:ident . $field:ident, $label:literal, $help:literal) => {
        FieldSpec {
            key: stringify!($field),
            label: $label,
            help: $help,
            required: false,
            kind: FieldKind::Select,
            choices: |_| {
                $enum::ALL
                    .iter()
                    .map(|c| Choice {
                        id: c.as_str().into(),
                        label: c.label().into(),
                    })
                    .collect()
            },
            get: |o| {
                FieldValue::One(
                    settings::<$ty>(o).and_then(|s| s.$field.map(|c| c.as_str().to_string())),
                )
            },
            set: |o, v| {
                if let Some(s) = settings_mut::<$ty>(o) {
                    s.$field = v.one().and_then($enum::parse);
                }
            },
        }
    };
    (one $choices:expr, $ty:ident . $field:ident, $label:literal, $help:literal, $req:expr) => {
        FieldSpec {
            key: stringify!($field),
            label: $label,
            help: $help,
            required: $req,
            kind: FieldKind::Select,
            choices: $choices,
            get: |o| FieldValue::One(settings::<$ty>(o).and_then(|s| s.$field.clone())),
            set: |o, v| {
                if let Some(s) = settings_mut::<$ty>(o) {
                    s.$field = v.one().map(str::to_string);
                }
            },
        }
    };
    (many $choices:expr, $ty:ident . $field:ident, $label:literal, $help:literal) => {
        FieldSpec {
            key: stringify!($field),
            label: $label,
            help: $help,
            required: false,
            kind: FieldKind::MultiSelect,
            choices: $choices,
            get: |o| {
                FieldValue::Many(
                    settings::<$ty>(o)
                        .map(|s| s.$field.clone())
                        .unwrap_or_default(),
                )
            },
            set: |o, v| {
                if let Some(s) = settings_mut::<$ty>(o) {
                    s.$field = v.many().to_vec();
                }
            },
        }
    };
}

fn password_stages(d: &Data) -> Vec<Choice> {
    d.stages
        .iter()
        .filter(|s| s.kind() == StageKind::Password)
        .map(|s| Choice {
            id: s.id.clone(),
            label: s.name.clone(),
        })
        .collect()
}

fn flows(d: &Data) -> Vec<Choice> {
    d.flows
        .iter()
        .map(|f| Choice {
            id: f.id.clone(),
            label: f.slug.clone(),
        })
        .collect()
}

/// The typed fields of a stage kind; `None` for kinds edited as JSON.
pub fn fields(kind: StageKind) -> Option<Vec<FieldSpec>> {
    Some(match kind {
        StageKind::Identification => vec![
            st!(
                many | _ | fixed(&[("username", "Username"), ("email", "Email"), ("upn", "UPN")]),
                IdentificationSettings.user_fields,
                "User fields",
                "Fields a user can identify themselves with. If no fields are selected, the user will only be able to use sources."
            ),
            st!(one password_stages, IdentificationSettings.password_stage, "Password stage",
                "When selected, a password field is shown on the same page instead of a separate page.", false),
            st!(bool IdentificationSettings.case_insensitive_matching, "Case insensitive matching", "When enabled, user fields are matched regardless of their casing."),
            st!(bool IdentificationSettings.show_matched_user, "Show matched user", "When a valid username/email has been entered, and this option is enabled, the user's username and avatar will be shown."),
            st!(bool IdentificationSettings.pretend_user_exists, "Pretend user exists", "When enabled, the stage will always accept the given user identifier and continue."),
            st!(bool IdentificationSettings.enable_remember_me, "Enable \"Remember me on this device\"", ""),
            st!(one flows, IdentificationSettings.enrollment_flow, "Enrollment flow", "Optional enrollment flow, which is linked at the bottom of the page.", false),
            st!(one flows, IdentificationSettings.recovery_flow, "Recovery flow", "Optional recovery flow, which is linked at the bottom of the page.", false),
            st!(one flows, IdentificationSettings.passwordless_flow, "Passwordless flow", "Optional passwordless flow, which is linked at the bottom of the page. When configured, users can use this flow to authenticate with a WebAuthn authenticator, without entering any details.", false),
        ],
        StageKind::Password => vec![
            st!(
                many | _
                    | fixed(&[
                        (INBUILT_BACKEND, "User database + standard password"),
                        (
                            "authentik.core.auth.TokenBackend",
                            "User database + app passwords"
                        ),
                    ]),
                PasswordSettings.backends,
                "Backends",
                "Selection of backends to test the password against."
            ),
            st!(int PasswordSettings.failed_attempts_before_cancel, "Failed attempts before cancel",
                "How many attempts a user has before the flow is canceled. To lock the user out, use a reputation policy and a user_write stage."),
            st!(bool PasswordSettings.allow_show_password, "Allow show password", "Show a button to reveal the password."),
        ],
        StageKind::Consent => vec![
            st!(choice ConsentMode, ConsentSettings.mode, "Mode", ""),
            st!(text FieldKind::Duration, ConsentSettings.consent_expire_in, "Consent expires in", "Offset after which consent expires.", true),
        ],
        StageKind::UserLogin => vec![
            st!(text FieldKind::Duration, UserLoginSettings.session_duration, "Session duration", "Determines how long a session lasts. Default of 0 seconds means that the sessions lasts until the browser is closed.", true),
            st!(text FieldKind::Duration, UserLoginSettings.remember_me_offset, "Stay signed in offset", "If set to a duration above 0, the user will have the option to choose to \"stay signed in\".", true),
            st!(bool UserLoginSettings.terminate_other_sessions, "Terminate other sessions", "When enabled, all previous sessions of the user will be terminated."),
        ],
        StageKind::UserLogout => Vec::new(),
        StageKind::Invitation => vec![
            st!(bool InvitationSettings.continue_flow_without_invitation, "Continue flow without invitation",
                "If this flag is set, this stage will jump to the next stage when no invitation is given. By default this stage will cancel the flow when no invitation is given."),
        ],
        StageKind::Deny => vec![
            st!(text FieldKind::Text, DenySettings.deny_message, "Deny message", "Message shown when this stage is run.", false),
        ],
        StageKind::AuthenticatorValidate => vec![
            st!(
                many | _
                    | fixed(&[
                        ("static", "Static Tokens"),
                        ("totp", "TOTP Authenticators"),
                        ("webauthn", "WebAuthn Authenticators"),
                        ("duo", "Duo Authenticators"),
                        ("sms", "SMS-based Authenticators"),
                        ("email", "Email-based Authenticators")
                    ]),
                AuthenticatorValidateSettings.device_classes,
                "Device classes",
                "Device classes which can be used to authenticate."
            ),
            st!(choice NotConfiguredAction, AuthenticatorValidateSettings.not_configured_action, "Not configured action", ""),
            st!(text FieldKind::Duration, AuthenticatorValidateSettings.last_auth_threshold, "Last validation threshold",
                "If the user has successfully authenticated with a device in the classes listed above within this configured duration, this stage will be skipped.", true),
            st!(choice WebauthnUserVerification, AuthenticatorValidateSettings.webauthn_user_verification, "WebAuthn User verification", ""),
        ],
        StageKind::AuthenticatorWebauthn => vec![
            st!(text FieldKind::Text, AuthenticatorWebauthnSettings.friendly_name, "Authenticator type name",
                "Display name of this authenticator, used by users when they enroll an authenticator.", false),
            st!(choice WebauthnUserVerification, AuthenticatorWebauthnSettings.user_verification, "User verification", ""),
            st!(choice ResidentKeyRequirement, AuthenticatorWebauthnSettings.resident_key_requirement, "Resident key requirement", ""),
            st!(maybe AuthenticatorAttachment, AuthenticatorWebauthnSettings.authenticator_attachment, "Authenticator Attachment",
                "No preference is sent when empty."),
            st!(one flows, AuthenticatorWebauthnSettings.configure_flow, "Configuration flow",
                "Flow used by an authenticated user to configure this Stage. If empty, user will not be able to configure this stage.", false),
        ],
        StageKind::AuthenticatorStatic => vec![
            st!(text FieldKind::Text, AuthenticatorStaticSettings.friendly_name, "Authenticator name", "The device name users see; empty: Static Token.", false),
            st!(int AuthenticatorStaticSettings.token_count, "Token count", "How many recovery codes a user gets (1 to 50)."),
            st!(int AuthenticatorStaticSettings.token_length, "Token length", "Characters per recovery code (8 to 64)."),
            st!(one flows, AuthenticatorStaticSettings.configure_flow, "Configuration flow", "Flow a user runs to set up recovery codes from their settings.", false),
        ],
        StageKind::Email => vec![
            st!(text FieldKind::Text, EmailSettings.subject, "Subject", "Subject of the email sent.", true),
            st!(text FieldKind::Text, EmailSettings.template, "Template",
                "email/password_reset.html or email/account_confirmation.html.", true),
            st!(text FieldKind::Duration, EmailSettings.token_expiry, "Token expiry",
                "Time the token sent is valid (Format: hours=3;minutes=17;seconds=300).", true),
            st!(bool EmailSettings.activate_user_on_success, "Activate pending user on success",
                "When a user returns from the email successfully, their account will be activated."),
            st!(bool EmailSettings.use_global_settings, "Use global connection settings",
                "latchkey always sends through the server's SMTP configuration (--smtp-url)."),
        ],
        _ => return None,
    })
}

fn oauth2_providers(d: &Data) -> Vec<Choice> {
    d.providers
        .iter()
        .map(|p| Choice {
            id: p.id.clone(),
            label: p.name.clone(),
        })
        .collect()
}

/// The authentik Agent connector's own fields (authentik's `AgentConnectorForm`), in its order.
pub fn agent_fields() -> Vec<FieldSpec> {
    vec![
        st!(text FieldKind::Duration, AgentConnectorSettings.refresh_interval, "Refresh interval",
            "Interval how frequently the agent tries to update its config.", true),
        st!(text FieldKind::Duration, AgentConnectorSettings.auth_session_duration, "Session duration",
            "Configure how long an authenticated session is valid for.", true),
        st!(bool AgentConnectorSettings.auth_terminate_session_on_expiry, "Terminate on expiry",
            "Terminate authenticated sessions on token expiry."),
        st!(many oauth2_providers, AgentConnectorSettings.jwt_federation_providers, "Federated OIDC Providers",
            "JWTs signed by the selected providers can be used to authenticate to devices."),
        st!(text FieldKind::Duration, AgentConnectorSettings.challenge_idle_timeout, "Challenge idle timeout",
            "Duration the flow executor will wait before continuing without a response.", true),
        st!(bool AgentConnectorSettings.challenge_trigger_check_in, "Trigger check-in",
            "Trigger check-in on device."),
        st!(int AgentConnectorSettings.nss_uid_offset, "NSS User ID offset",
            "The start for uidNumbers, this number is added to the user's ID to make sure that the numbers aren't too low for POSIX users."),
        st!(text FieldKind::Duration, AgentConnectorSettings.snapshot_expiry, "Snapshot expiry",
            "How long a device's reported facts are kept.", true),
        st!(int AgentConnectorSettings.nss_gid_offset, "NSS Group ID offset",
            "The start for gidNumbers, this number is added to a number generated from the group's ID to make sure that the numbers aren't too low for POSIX groups."),
    ]
}
