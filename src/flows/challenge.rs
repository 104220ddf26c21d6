//! Challenges (what a stage asks) and responses (what the user sent), as plain data. The HTML
//! view and the JSON view render the same values; component names and field names are
//! authentik's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::domain::{Flow, FlowDesignation, FlowLayout};

/// Where authentik's flow pages send "cancel" (`flow_info.cancel_url`).
pub const CANCEL_URL: &str = "/flows/-/cancel/";

/// One thing a consent grants: a scope and the description of its scope mapping (authentik's
/// `ConsentPermission`, `{id, name}`), so the user reads "Email address", not `email`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentPermission {
    /// The scope name.
    pub id: String,
    /// The scope mapping's description (may be empty, as authentik allows).
    pub name: String,
}

/// One field of a prompt challenge.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptField {
    /// The response key.
    pub field_key: String,
    /// Human label.
    pub label: String,
    /// authentik's prompt type (text, email, password, number, checkbox, hidden, …).
    pub field_type: String,
    /// Must be non-empty.
    pub required: bool,
    /// Placeholder text.
    pub placeholder: String,
    /// Pre-filled value.
    pub initial_value: String,
    /// Help text.
    pub sub_text: String,
    /// Order.
    pub order: i64,
}

/// What a stage asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum ChallengeKind {
    /// `ak-stage-identification`.
    Identification {
        /// Which fields identify a user (username, email).
        user_fields: Vec<String>,
        /// Whether a password field is embedded.
        password_fields: bool,
        /// Offer "stay signed in" (user_login's `remember_me_offset` applies when ticked).
        enable_remember_me: bool,
        /// authentik's `show_source_labels` (latchkey offers no sources, so it labels nothing).
        show_source_labels: bool,
        /// The stage's enrollment flow (`enrollment_flow`), linked as "Sign up".
        enroll_url: Option<String>,
        /// The stage's password-less flow (`/if/flow/<slug>/`), linked from the page.
        passwordless_url: Option<String>,
        /// The recovery flow's page (`recovery_flow`), linked as "Forgot password?".
        recovery_url: Option<String>,
    },
    /// `ak-stage-password`.
    Password {
        /// Who is logging in, as typed.
        pending_user: String,
        /// Offer a show-password toggle.
        allow_show_password: bool,
        /// The brand's recovery flow, absolute (authentik's `recovery_url`), linked as
        /// "Forgot password?".
        recovery_url: Option<String>,
    },
    /// `ak-stage-authenticator-validate` (TOTP, WebAuthn).
    AuthenticatorValidate {
        /// Who is logging in.
        pending_user: String,
        /// Device classes offered.
        device_classes: Vec<String>,
        /// The `webauthn` class's `PublicKeyCredentialRequestOptions`, when it is offered.
        webauthn: Option<Value>,
    },
    /// `ak-stage-authenticator-totp`: set up a TOTP device.
    AuthenticatorTotpSetup {
        /// Who sets it up (authentik's `pending_user`).
        pending_user: String,
        /// The otpauth:// URI.
        config_url: String,
        /// The secret in base32, for manual entry.
        secret: String,
        /// The QR code as an SVG document.
        qr_svg: String,
    },
    /// `ak-stage-consent`.
    Consent {
        /// Who consents.
        pending_user: String,
        /// Header text (names the application).
        header_text: String,
        /// Permissions asked for, each scope with its mapping's description.
        permissions: Vec<ConsentPermission>,
        /// Echoed back by the response.
        token: String,
    },
    /// `ak-stage-prompt`.
    Prompt {
        /// The fields.
        fields: Vec<PromptField>,
    },
    /// `ak-stage-access-denied`.
    AccessDenied {
        /// Why.
        error_message: String,
    },
    /// `ak-stage-authenticator-webauthn`: register a passkey or security key.
    AuthenticatorWebauthnSetup {
        /// Who registers it.
        pending_user: String,
        /// The `PublicKeyCredentialCreationOptions` (authentik's `registration`).
        registration: Value,
    },
    /// `ak-stage-endpoint-agent`: the device's Agent is asked to sign `challenge`; the page
    /// waits `challenge_idle_timeout` seconds for it before answering without a device.
    EndpointAgent {
        /// The JWT the connector's challenge key signed.
        challenge: String,
        /// Seconds to wait for the Agent.
        challenge_idle_timeout: i64,
    },
    /// `xak-flow-redirect`: the flow is done (or leaves).
    Redirect {
        /// Where to.
        to: String,
    },
    /// `ak-stage-email`: an email with a link was sent; the flow goes on when it is opened.
    Email,
    /// `ak-provider-iframe-logout`: front-channel relying parties whose logout URLs the browser
    /// loads (OpenID Connect Front-Channel Logout 1.0) before the flow goes on; shown after a
    /// logout that ended a session they had tokens in.
    ProviderIframeLogout {
        /// What to load.
        logout_urls: Vec<LogoutFrame>,
    },
    /// `ak-stage-authenticator-static`: recovery codes, shown once; answering saves them.
    AuthenticatorStaticSetup {
        /// Who sets them up (authentik's `pending_user`).
        pending_user: String,
        /// The codes, in clear this once (only their digests are stored).
        codes: Vec<String>,
    },
}

/// One relying party's front-channel logout URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutFrame {
    /// The URL with `iss` and `sid` added.
    pub url: String,
    /// Which provider it belongs to (shown to the user, and in authentik's JSON).
    pub provider_name: String,
}

impl ChallengeKind {
    /// authentik's component name.
    pub fn component(&self) -> &'static str {
        match self {
            ChallengeKind::Identification { .. } => "ak-stage-identification",
            ChallengeKind::Password { .. } => "ak-stage-password",
            ChallengeKind::AuthenticatorValidate { .. } => "ak-stage-authenticator-validate",
            ChallengeKind::AuthenticatorTotpSetup { .. } => "ak-stage-authenticator-totp",
            ChallengeKind::Consent { .. } => "ak-stage-consent",
            ChallengeKind::Prompt { .. } => "ak-stage-prompt",
            ChallengeKind::AccessDenied { .. } => "ak-stage-access-denied",
            ChallengeKind::EndpointAgent { .. } => "ak-stage-endpoint-agent",
            ChallengeKind::AuthenticatorWebauthnSetup { .. } => "ak-stage-authenticator-webauthn",
            ChallengeKind::Redirect { .. } => "xak-flow-redirect",
            ChallengeKind::ProviderIframeLogout { .. } => "ak-provider-iframe-logout",
            ChallengeKind::AuthenticatorStaticSetup { .. } => "ak-stage-authenticator-static",
            ChallengeKind::Email => "ak-stage-email",
        }
    }
}

/// What a challenge tells the client about its flow besides the title: authentik's
/// `flow_designation` and the `flow_info` members a client's page layout needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowInfo {
    /// What the flow is for (authentik's identification challenge requires it).
    pub designation: FlowDesignation,
    /// The page layout.
    pub layout: FlowLayout,
    /// The background image URL (empty: the brand's default).
    pub background: String,
}

impl FlowInfo {
    /// The flow's own designation, layout and background.
    pub fn of(flow: &Flow) -> Self {
        Self {
            designation: flow.designation,
            layout: flow.layout,
            background: flow.background.clone(),
        }
    }
}

/// A challenge plus what every challenge carries: flow info and errors from the last response.
#[derive(Debug, Clone, PartialEq)]
pub struct Challenge {
    /// The stage's question.
    pub kind: ChallengeKind,
    /// The flow's title.
    pub title: String,
    /// The flow slug.
    pub flow_slug: String,
    /// The flow's designation, layout and background.
    pub flow: FlowInfo,
    /// Errors per field (`non_field_errors` for the whole form).
    pub errors: BTreeMap<String, Vec<String>>,
    /// Messages from policies (ak_message).
    pub messages: Vec<String>,
    /// Who the flow was for, as authentik names them on an access-denied challenge
    /// (`pending_user`): the identifier typed, else the pending user's username, else the
    /// session's user; empty for an anonymous visitor.
    pub pending_user: String,
}

impl Challenge {
    /// A challenge without errors, outside any flow (error pages): authentik's defaults for
    /// the flow info.
    pub fn new(kind: ChallengeKind, title: &str, flow_slug: &str) -> Self {
        Self {
            kind,
            title: title.to_string(),
            flow_slug: flow_slug.to_string(),
            flow: FlowInfo::default(),
            errors: BTreeMap::new(),
            messages: Vec::new(),
            pending_user: String::new(),
        }
    }

    /// A challenge of `flow` without errors; `title` is the flow's title as shown (the
    /// application's name substituted).
    pub fn for_flow(kind: ChallengeKind, flow: &Flow, title: &str) -> Self {
        Self {
            flow: FlowInfo::of(flow),
            ..Self::new(kind, title, &flow.slug)
        }
    }

    /// The same flow's challenge asking something else (errors and messages dropped).
    pub fn replaced(self, kind: ChallengeKind) -> Self {
        Self {
            kind,
            errors: BTreeMap::new(),
            messages: Vec::new(),
            ..self
        }
    }

    /// The same challenge naming `user` as the one the flow was for (see
    /// [`Challenge::pending_user`]).
    pub fn with_pending_user(self, user: String) -> Self {
        Self {
            pending_user: user,
            ..self
        }
    }

    /// Adds an error on `field`.
    pub fn with_error(mut self, field: &str, message: &str) -> Self {
        self.errors
            .entry(field.to_string())
            .or_default()
            .push(message.to_string());
        self
    }

    /// authentik's JSON shape.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("component".into(), json!(self.kind.component()));
        if let ChallengeKind::Redirect { to } = &self.kind {
            m.insert("type".into(), json!("redirect"));
            m.insert("to".into(), json!(to));
            return Value::Object(m);
        }
        self.kind.insert_fields(&mut m, &self.flow);
        if let ChallengeKind::AccessDenied { .. } = self.kind {
            m.insert("pending_user".into(), json!(self.pending_user));
        }
        m.insert(
            "flow_info".into(),
            json!({
                "title": self.title,
                "background": self.flow.background,
                "cancel_url": CANCEL_URL,
                "layout": self.flow.layout.as_str(),
            }),
        );
        m.insert("response_errors".into(), self.errors_json());
        if !self.messages.is_empty() {
            m.insert("messages".into(), json!(self.messages));
        }
        Value::Object(m)
    }

    /// `response_errors`: per field, authentik's `{string, code}` list.
    fn errors_json(&self) -> Value {
        let errors: Map<String, Value> = self
            .errors
            .iter()
            .map(|(k, v)| {
                let list: Vec<Value> = v
                    .iter()
                    .map(|s| json!({"string": s, "code": "invalid"}))
                    .collect();
                (k.clone(), json!(list))
            })
            .collect();
        Value::Object(errors)
    }
}

impl ChallengeKind {
    /// Adds the kind's own members of authentik's JSON shape (a redirect has none here);
    /// every member authentik-client's model of the component requires is present.
    fn insert_fields(&self, m: &mut Map<String, Value>, flow: &FlowInfo) {
        let mut put = |k: &str, v: Value| {
            m.insert(k.into(), v);
        };
        match self {
            ChallengeKind::Redirect { .. } => {}
            ChallengeKind::Identification {
                user_fields,
                password_fields,
                enable_remember_me,
                show_source_labels,
                enroll_url,
                passwordless_url,
                recovery_url,
            } => {
                if let Some(url) = enroll_url {
                    put("enroll_url", json!(url));
                }
                if let Some(url) = passwordless_url {
                    put("passwordless_url", json!(url));
                }
                if let Some(url) = recovery_url {
                    put("recovery_url", json!(url));
                }
                put("flow_designation", json!(flow.designation.as_str()));
                put("user_fields", json!(user_fields));
                put("password_fields", json!(password_fields));
                put("primary_action", json!("Log in"));
                put("sources", json!([]));
                put("show_source_labels", json!(show_source_labels));
                put("enable_remember_me", json!(enable_remember_me));
            }
            ChallengeKind::Password {
                pending_user,
                allow_show_password,
                recovery_url,
            } => {
                put("pending_user", json!(pending_user));
                put("pending_user_avatar", json!(""));
                put("allow_show_password", json!(allow_show_password));
                if let Some(url) = recovery_url {
                    put("recovery_url", json!(url));
                }
            }
            ChallengeKind::AuthenticatorValidate {
                pending_user,
                device_classes,
                webauthn,
            } => {
                put("pending_user", json!(pending_user));
                put("pending_user_avatar", json!(""));
                let devices: Vec<Value> = device_classes
                    .iter()
                    .map(|c| {
                        let challenge = match (c.as_str(), webauthn) {
                            ("webauthn", Some(options)) => options.clone(),
                            _ => json!({}),
                        };
                        json!({"device_class": c, "device_uid": "", "challenge": challenge, "last_used": null})
                    })
                    .collect();
                put("device_challenges", json!(devices));
                put("configuration_stages", json!([]));
            }
            ChallengeKind::AuthenticatorTotpSetup {
                pending_user,
                config_url,
                ..
            } => {
                put("pending_user", json!(pending_user));
                put("pending_user_avatar", json!(""));
                put("config_url", json!(config_url));
            }
            ChallengeKind::Consent {
                pending_user,
                header_text,
                permissions,
                token,
            } => {
                put("pending_user", json!(pending_user));
                put("pending_user_avatar", json!(""));
                put("header_text", json!(header_text));
                put("permissions", json!(permissions));
                put("additional_permissions", json!([]));
                put("token", json!(token));
            }
            ChallengeKind::Prompt { fields } => {
                let fields: Vec<Value> = fields.iter().map(PromptField::to_json).collect();
                put("fields", json!(fields));
            }
            ChallengeKind::AccessDenied { error_message } => {
                // Who the flow was for is the challenge's, not the kind's: `to_json` sets it.
                put("pending_user", json!(""));
                put("pending_user_avatar", json!(""));
                put("error_message", json!(error_message));
            }
            ChallengeKind::EndpointAgent {
                challenge,
                challenge_idle_timeout,
            } => {
                put("challenge", json!(challenge));
                put("challenge_idle_timeout", json!(challenge_idle_timeout));
            }
            ChallengeKind::AuthenticatorWebauthnSetup {
                pending_user,
                registration,
            } => {
                put("pending_user", json!(pending_user));
                put("pending_user_avatar", json!(""));
                put("registration", registration.clone());
            }
            ChallengeKind::ProviderIframeLogout { logout_urls } => {
                let list: Vec<Value> = logout_urls
                    .iter()
                    .map(|f| json!({"url": f.url, "provider_name": f.provider_name, "binding": "redirect"}))
                    .collect();
                put("logout_urls", json!(list));
            }
            ChallengeKind::AuthenticatorStaticSetup {
                pending_user,
                codes,
            } => {
                put("pending_user", json!(pending_user));
                put("pending_user_avatar", json!(""));
                put("codes", json!(codes));
            }
            ChallengeKind::Email => {}
        }
    }
}

impl PromptField {
    /// authentik's JSON shape of a prompt field.
    fn to_json(&self) -> Value {
        json!({
            "field_key": self.field_key, "label": self.label, "type": self.field_type,
            "required": self.required, "placeholder": self.placeholder,
            "initial_value": self.initial_value, "order": self.order,
            "sub_text": self.sub_text, "choices": null,
        })
    }
}

/// What the user sent: the component they answered and the fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    /// The component the client thinks it answers.
    pub component: Option<String>,
    /// Field values.
    pub fields: BTreeMap<String, String>,
}

impl Response {
    /// Builds a response from a JSON object; non-object bodies give an empty response.
    pub fn from_json(value: &Value) -> Self {
        let mut out = Response::default();
        let Value::Object(map) = value else {
            return out;
        };
        for (k, v) in map {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                // A WebAuthn credential (`response`, `webauthn`) arrives as an object; the
                // stage reads it as JSON text, as the HTML form posts it.
                Value::Object(_) => v.to_string(),
                _ => continue,
            };
            if k == "component" {
                out.component = Some(s);
            } else {
                out.fields.insert(k.clone(), s);
            }
        }
        out
    }

    /// Builds a response from form pairs (the first value of a repeated key wins).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut out = Response::default();
        for (k, v) in pairs {
            if k == "component" {
                out.component.get_or_insert(v);
            } else {
                out.fields.entry(k).or_insert(v);
            }
        }
        out
    }

    /// A field's value, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }
}
