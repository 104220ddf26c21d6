//! Each stage kind's own fields, stored in the stage's `settings` under authentik's field
//! names (as in `fixtures/blueprints/default/*.yaml`), so blueprints round-trip unchanged.

use serde_json::{Value, json};

use super::field::{Choice, FieldKind, FieldSpec, FieldValue, no_choices};
use crate::console::data::Data;
use crate::domain::Object;
use crate::domain::{Stage, StageKind};

fn stage(o: &mut Object) -> Option<&mut Stage> {
    match o {
        Object::Stage(s) => Some(s),
        _ => None,
    }
}

fn read(o: &Object, key: &str) -> Value {
    match o {
        Object::Stage(s) => s.settings.get(key).cloned().unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn write(o: &mut Object, key: &str, value: Value) {
    if let Some(s) = stage(o) {
        if !s.settings.is_object() {
            s.settings = json!({});
        }
        if let Some(map) = s.settings.as_object_mut() {
            map.insert(key.to_string(), value);
        }
    }
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

/// One setting field; `$conv` names how the JSON value maps to the field value.
macro_rules! st {
    (text $kind:expr, $key:literal, $label:literal, $help:literal, $req:expr) => {
        FieldSpec {
            key: $key,
            label: $label,
            help: $help,
            required: $req,
            kind: $kind,
            choices: no_choices,
            get: |o| FieldValue::Text(read(o, $key).as_str().unwrap_or_default().to_string()),
            set: |o, v| write(o, $key, json!(v.text())),
        }
    };
    (bool $key:literal, $label:literal, $help:literal) => {
        FieldSpec {
            key: $key,
            label: $label,
            help: $help,
            required: false,
            kind: FieldKind::Toggle,
            choices: no_choices,
            get: |o| FieldValue::Bool(read(o, $key).as_bool().unwrap_or(false)),
            set: |o, v| write(o, $key, json!(v.flag())),
        }
    };
    (int $key:literal, $label:literal, $help:literal) => {
        FieldSpec {
            key: $key,
            label: $label,
            help: $help,
            required: true,
            kind: FieldKind::Number,
            choices: no_choices,
            get: |o| {
                FieldValue::Text(
                    read(o, $key)
                        .as_i64()
                        .map(|n| n.to_string())
                        .unwrap_or_default(),
                )
            },
            set: |o, v| {
                if let Ok(n) = v.text().trim().parse::<i64>() {
                    write(o, $key, json!(n));
                }
            },
        }
    };
    (one $choices:expr, $key:literal, $label:literal, $help:literal, $req:expr) => {
        FieldSpec {
            key: $key,
            label: $label,
            help: $help,
            required: $req,
            kind: FieldKind::Select,
            choices: $choices,
            get: |o| FieldValue::One(read(o, $key).as_str().map(str::to_string)),
            set: |o, v| write(o, $key, v.one().map_or(Value::Null, |s| json!(s))),
        }
    };
    (many $choices:expr, $key:literal, $label:literal, $help:literal) => {
        FieldSpec {
            key: $key,
            label: $label,
            help: $help,
            required: false,
            kind: FieldKind::MultiSelect,
            choices: $choices,
            get: |o| {
                FieldValue::Many(
                    read(o, $key)
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                )
            },
            set: |o, v| write(o, $key, json!(v.many())),
        }
    };
}

fn password_stages(d: &Data) -> Vec<Choice> {
    d.stages
        .iter()
        .filter(|s| s.kind == StageKind::Password)
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
                "user_fields",
                "User fields",
                "Fields a user can identify themselves with. If no fields are selected, the user will only be able to use sources."
            ),
            st!(one password_stages, "password_stage", "Password stage",
                "When selected, a password field is shown on the same page instead of a separate page.", false),
            st!(bool "case_insensitive_matching", "Case insensitive matching", "When enabled, user fields are matched regardless of their casing."),
            st!(bool "show_matched_user", "Show matched user", "When a valid username/email has been entered, and this option is enabled, the user's username and avatar will be shown."),
            st!(bool "pretend_user_exists", "Pretend user exists", "When enabled, the stage will always accept the given user identifier and continue."),
            st!(bool "enable_remember_me", "Enable \"Remember me on this device\"", ""),
            st!(one flows, "enrollment_flow", "Enrollment flow", "Optional enrollment flow, which is linked at the bottom of the page.", false),
            st!(one flows, "recovery_flow", "Recovery flow", "Optional recovery flow, which is linked at the bottom of the page.", false),
        ],
        StageKind::Password => vec![
            st!(
                many | _
                    | fixed(&[
                        (
                            "authentik.core.auth.InbuiltBackend",
                            "User database + standard password"
                        ),
                        (
                            "authentik.core.auth.TokenBackend",
                            "User database + app passwords"
                        ),
                    ]),
                "backends",
                "Backends",
                "Selection of backends to test the password against."
            ),
            st!(int "failed_attempts_before_cancel", "Failed attempts before cancel",
                "How many attempts a user has before the flow is canceled. To lock the user out, use a reputation policy and a user_write stage."),
            st!(bool "allow_show_password", "Allow show password", "Show a button to reveal the password."),
        ],
        StageKind::Consent => vec![
            st!(
                one | _
                    | fixed(&[
                        ("always_require", "Always require consent"),
                        ("permanent", "Consent given lasts indefinitely"),
                        ("expiring", "Consent expires")
                    ]),
                "mode",
                "Mode",
                "",
                true
            ),
            st!(text FieldKind::Duration, "consent_expire_in", "Consent expires in", "Offset after which consent expires.", true),
        ],
        StageKind::UserLogin => vec![
            st!(text FieldKind::Duration, "session_duration", "Session duration", "Determines how long a session lasts. Default of 0 seconds means that the sessions lasts until the browser is closed.", true),
            st!(text FieldKind::Duration, "remember_me_offset", "Stay signed in offset", "If set to a duration above 0, the user will have the option to choose to \"stay signed in\".", true),
            st!(bool "terminate_other_sessions", "Terminate other sessions", "When enabled, all previous sessions of the user will be terminated."),
        ],
        StageKind::UserLogout => Vec::new(),
        StageKind::Deny => vec![
            st!(text FieldKind::Text, "deny_message", "Deny message", "Message shown when this stage is run.", false),
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
                "device_classes",
                "Device classes",
                "Device classes which can be used to authenticate."
            ),
            st!(
                one | _
                    | fixed(&[
                        ("skip", "Continue"),
                        ("deny", "Deny the user access"),
                        ("configure", "Force the user to configure an authenticator")
                    ]),
                "not_configured_action",
                "Not configured action",
                "",
                true
            ),
            st!(text FieldKind::Duration, "last_auth_threshold", "Last validation threshold",
                "If the user has successfully authenticated with a device in the classes listed above within this configured duration, this stage will be skipped.", true),
        ],
        _ => return None,
    })
}
