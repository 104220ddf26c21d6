//! The settings of each policy kind: authentik's policy models (`authentik/policies/<kind>/`)
//! field for field, with authentik's defaults.

use serde::{Deserialize, Serialize};

use crate::domain::enums::PolicyKind;

kind_settings!(
    /// A policy's own fields, by kind.
    PolicySettings: PolicyKind {
        Expression(ExpressionSettings),
        GroupMembership(GroupMembershipSettings),
        Password(PasswordPolicySettings),
        Reputation(ReputationSettings),
        EventMatcher(EventMatcherSettings),
        Dummy(DummySettings),
    }
);

impl PolicySettings {
    /// What the console's create form fills in for a new policy of `kind`: authentik's
    /// defaults, with an expression that passes.
    pub fn for_new(kind: PolicyKind) -> Self {
        match kind {
            PolicyKind::Expression => PolicySettings::Expression(ExpressionSettings {
                expression: "return True".into(),
            }),
            other => PolicySettings::default_for(other),
        }
    }
}

/// Expression: a sandboxed script returning true or false (authentik's `ExpressionPolicy`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExpressionSettings {
    pub expression: String,
}

/// Group membership: passes for members of one group (authentik's `GroupMembershipPolicy`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupMembershipSettings {
    /// The group, by id (or name).
    pub group: Option<String>,
}

/// authentik's default symbol set (Python's `string.punctuation` and a space).
pub const DEFAULT_SYMBOL_CHARSET: &str = "!\\\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ ";

/// Password strength (authentik's `PasswordPolicy`): the static rules (length and character
/// classes), Have I Been Pwned's range API and zxcvbn, each when its `check_*` flag is on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordPolicySettings {
    /// The prompt field holding the password.
    pub password_field: String,
    pub amount_digits: i64,
    pub amount_uppercase: i64,
    pub amount_lowercase: i64,
    pub amount_symbols: i64,
    pub length_min: i64,
    /// The characters counted as symbols.
    pub symbol_charset: String,
    /// Shown when the password fails; empty shows a generic message.
    pub error_message: String,
    pub check_static_rules: bool,
    pub check_have_i_been_pwned: bool,
    pub check_zxcvbn: bool,
    pub hibp_allowed_count: i64,
    pub zxcvbn_score_threshold: i64,
}

impl Default for PasswordPolicySettings {
    fn default() -> Self {
        Self {
            password_field: "password".into(),
            amount_digits: 0,
            amount_uppercase: 0,
            amount_lowercase: 0,
            amount_symbols: 0,
            length_min: 0,
            symbol_charset: DEFAULT_SYMBOL_CHARSET.into(),
            error_message: String::new(),
            check_static_rules: true,
            check_have_i_been_pwned: false,
            check_zxcvbn: false,
            hibp_allowed_count: 0,
            zxcvbn_score_threshold: 2,
        }
    }
}

/// Reputation: passes while the score is at or below `threshold` (authentik's
/// `ReputationPolicy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReputationSettings {
    pub check_ip: bool,
    pub check_username: bool,
    pub threshold: i64,
}

impl Default for ReputationSettings {
    fn default() -> Self {
        Self {
            check_ip: true,
            check_username: true,
            threshold: -5,
        }
    }
}

/// Event matcher: matches events for notifications (authentik's `EventMatcherPolicy`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventMatcherSettings {
    pub action: Option<String>,
    pub client_ip: Option<String>,
    pub app: Option<String>,
    pub model: Option<String>,
}

/// Dummy: a fixed result after a wait, for testing bindings (authentik's `DummyPolicy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DummySettings {
    pub result: bool,
    /// Seconds: the wait is drawn from `[wait_min, wait_max]` (refused at save when above
    /// `wait_max`).
    pub wait_min: i64,
    pub wait_max: i64,
}

impl Default for DummySettings {
    fn default() -> Self {
        Self {
            result: false,
            wait_min: 5,
            wait_max: 30,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    /// authentik's defaults, as its models declare them (`authentik/policies/*/models.py`).
    fn authentik_defaults(kind: PolicyKind) -> Value {
        match kind {
            PolicyKind::Expression => json!({"expression": ""}),
            PolicyKind::GroupMembership => json!({"group": null}),
            PolicyKind::Password => json!({
                "password_field": "password", "amount_digits": 0, "amount_uppercase": 0,
                "amount_lowercase": 0, "amount_symbols": 0, "length_min": 0,
                "symbol_charset": r##"!\"#$%&'()*+,-./:;<=>?@[\]^_`{|}~ "##, "error_message": "",
                "check_static_rules": true, "check_have_i_been_pwned": false,
                "check_zxcvbn": false, "hibp_allowed_count": 0, "zxcvbn_score_threshold": 2,
            }),
            PolicyKind::Reputation => {
                json!({"check_ip": true, "check_username": true, "threshold": -5})
            }
            PolicyKind::EventMatcher => {
                json!({"action": null, "client_ip": null, "app": null, "model": null})
            }
            PolicyKind::Dummy => json!({"result": false, "wait_min": 5, "wait_max": 30}),
        }
    }

    #[test]
    fn defaults_are_authentiks() {
        for kind in PolicyKind::ALL {
            let settings = PolicySettings::default_for(*kind);
            assert_eq!(settings.kind(), *kind);
            assert_eq!(settings.to_json(), authentik_defaults(*kind), "{kind}");
            assert_eq!(
                PolicySettings::from_json(*kind, &json!({})),
                settings,
                "{kind}"
            );
        }
    }

    #[test]
    fn todays_stored_json_round_trips() {
        let cases = [
            (PolicyKind::Expression, json!({"expression": "return True"})),
            (PolicyKind::GroupMembership, json!({"group": "g-1"})),
            (
                PolicyKind::Password,
                json!({"password_field": "password", "amount_digits": 1, "amount_uppercase": 1,
                       "amount_lowercase": 1, "amount_symbols": 0, "length_min": 12,
                       "symbol_charset": "!?", "error_message": "Too weak.",
                       "check_static_rules": true, "check_have_i_been_pwned": true,
                       "check_zxcvbn": true, "hibp_allowed_count": 0,
                       "zxcvbn_score_threshold": 2}),
            ),
            (
                PolicyKind::Reputation,
                json!({"check_ip": false, "check_username": true, "threshold": -3}),
            ),
            (
                PolicyKind::EventMatcher,
                json!({"action": "login", "client_ip": null, "app": null, "model": null}),
            ),
            (
                PolicyKind::Dummy,
                json!({"result": true, "wait_min": 0, "wait_max": 1}),
            ),
        ];
        for (kind, stored) in cases {
            let settings = PolicySettings::from_json(kind, &stored);
            assert_eq!(settings.to_json(), stored, "{kind}");
        }
    }

    #[test]
    fn a_missing_field_takes_its_default() {
        assert_eq!(
            PolicySettings::from_json(PolicyKind::Dummy, &json!({"result": true})),
            PolicySettings::Dummy(DummySettings {
                result: true,
                wait_min: 5,
                wait_max: 30,
            })
        );
        let PolicySettings::Password(p) =
            PolicySettings::from_json(PolicyKind::Password, &json!({"length_min": 10}))
        else {
            panic!("password")
        };
        assert_eq!(p.length_min, 10);
        assert_eq!(p.password_field, "password");
        assert_eq!(p.symbol_charset, DEFAULT_SYMBOL_CHARSET);
    }

    #[test]
    fn new_expression_policies_pass() {
        assert_eq!(
            PolicySettings::for_new(PolicyKind::Expression).to_json(),
            json!({"expression": "return True"})
        );
        assert_eq!(
            PolicySettings::for_new(PolicyKind::Dummy),
            PolicySettings::default_for(PolicyKind::Dummy)
        );
    }
}
