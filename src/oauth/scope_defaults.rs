//! authentik's managed scope mappings (`goauthentik.io/providers/oauth2/scope-*`) in native
//! Rust: while a managed mapping still carries latchkey's default text for it, or authentik's
//! own default text (an authentik blueprint or an export from authentik applied unchanged), its
//! claims are computed here, so default tokens never enter the interpreter (the token endpoint
//! is a hot path). latchkey's texts are the ones the bundled blueprint seeds (a test keeps the
//! two equal); authentik's are known by their [`fingerprint`] only (comment lines aside), so
//! their text is not copied here.

use serde_json::{Map, Value, json};

use super::claims::ClaimsUser;
use crate::domain::ScopeMapping;
use crate::expr::python::fingerprint;

/// One managed mapping: its id, its default Python text and the native equivalent.
pub struct DefaultMapping {
    /// authentik's managed id.
    pub managed: &'static str,
    /// The default expression, as seeded.
    pub expression: &'static str,
    /// The [`fingerprint`] of authentik's default expression for it (authentik's system
    /// blueprint `System - OAuth2 Provider - Scopes`).
    pub authentik: &'static str,
    /// What the expression returns, computed natively.
    pub claims: fn(&ClaimsUser) -> Map<String, Value>,
}

const NO_CLAIMS: &str = "# The provider adds this scope's protocol claims itself.\nreturn {}\n";
/// authentik's three claim-less mappings differ only in their comments: `return {}`.
const AUTHENTIK_NO_CLAIMS: &str =
    "7df8f0cd9e1cd0b204a760783671c0ccca4a3258dc7c51f59e9e2295c6c25315";

/// The managed mappings with a native implementation.
pub const DEFAULTS: &[DefaultMapping] = &[
    DefaultMapping {
        managed: "goauthentik.io/providers/oauth2/scope-openid",
        expression: NO_CLAIMS,
        authentik: AUTHENTIK_NO_CLAIMS,
        claims: |_| Map::new(),
    },
    DefaultMapping {
        managed: "goauthentik.io/providers/oauth2/scope-email",
        expression: "return {\n    \"email\": request.user.email,\n    \"email_verified\": False,\n}\n",
        authentik: "d1200eabeffc3b7f379e9c1636367b69befb0b1ac2b5d82b7be20e78667f2b94",
        claims: email,
    },
    DefaultMapping {
        managed: "goauthentik.io/providers/oauth2/scope-profile",
        expression: "return {\n    \"name\": request.user.name,\n    \"given_name\": request.user.name,\n    \"preferred_username\": request.user.username,\n    \"nickname\": request.user.username,\n    \"groups\": [g.name for g in request.user.ak_groups.all()],\n}\n",
        authentik: "10d67d0e915e60cd3d575c52371bff5d8cd1832c886bcb7d45f82d930d4a7f7c",
        claims: profile,
    },
    DefaultMapping {
        managed: "goauthentik.io/providers/oauth2/scope-offline_access",
        expression: NO_CLAIMS,
        authentik: AUTHENTIK_NO_CLAIMS,
        claims: |_| Map::new(),
    },
    DefaultMapping {
        managed: "goauthentik.io/providers/oauth2/scope-authentik_api",
        expression: NO_CLAIMS,
        authentik: AUTHENTIK_NO_CLAIMS,
        claims: |_| Map::new(),
    },
];

/// The native implementation of `mapping`, when it is managed and its expression is still
/// latchkey's or authentik's default text (comment lines and whitespace at line ends aside);
/// an edited mapping runs in the interpreter. latchkey's own text is compared as it is (the
/// common case costs no digest); any other text is fingerprinted (about a microsecond).
pub fn native(mapping: &ScopeMapping) -> Option<&'static DefaultMapping> {
    let managed = mapping.managed.as_deref()?;
    let default = DEFAULTS.iter().find(|d| d.managed == managed)?;
    if default.expression.trim() == mapping.expression.trim() {
        return Some(default);
    }
    let print = fingerprint(&mapping.expression);
    (print == default.authentik || print == fingerprint(default.expression)).then_some(default)
}

fn email(user: &ClaimsUser) -> Map<String, Value> {
    object(json!({"email": user.user.email, "email_verified": false}))
}

fn profile(user: &ClaimsUser) -> Map<String, Value> {
    let u = &user.user;
    object(json!({
        "name": u.name, "given_name": u.name,
        "preferred_username": u.username, "nickname": u.username,
        "groups": user.groups,
    }))
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bundled blueprint seeds exactly these texts (so fresh stores take the native path).
    #[test]
    fn the_bundled_blueprint_seeds_the_default_texts() {
        let yaml = include_str!("../../fixtures/blueprints/default/system-providers-oauth2.yaml");
        for d in DEFAULTS {
            let indented: String = d
                .expression
                .lines()
                .map(|l| format!("        {l}\n"))
                .collect();
            assert!(
                yaml.contains(&indented),
                "{} not seeded as:\n{indented}",
                d.managed
            );
        }
    }

    fn mapping(managed: &str, expression: &str) -> ScopeMapping {
        ScopeMapping {
            id: "m".into(),
            name: "m".into(),
            managed: Some(managed.into()),
            scope_name: "s".into(),
            description: String::new(),
            expression: expression.into(),
            created_at: 0,
            updated_at: 0,
            version: 1,
        }
    }

    /// authentik's default texts (recreated here with other comments: only the code counts)
    /// take the native path; an edited one does not.
    #[test]
    fn authentik_default_texts_are_native_and_edits_are_not() {
        let profile = "return {\n    # our own words here\n    \"name\": request.user.name,\n    \"given_name\": request.user.name,\n    \"preferred_username\": request.user.username,\n    \"nickname\": request.user.username,\n    \"groups\": [group.name for group in request.user.ak_groups.all()],\n}\n";
        let email =
            "return {\n    \"email\": request.user.email,\n    \"email_verified\": False\n}\n";
        let api = "# what this scope is for, in other words\nreturn {}\n";
        let cases = [
            ("scope-profile", profile, true),
            ("scope-email", email, true),
            ("scope-authentik_api", api, true),
            ("scope-openid", api, true),
            ("scope-email", &email.replace("False", "True"), false),
            ("scope-profile", &profile.replace("nickname", "nick"), false),
            ("scope-email", profile, false),
        ];
        for (managed, text, native_path) in cases {
            let m = mapping(&format!("goauthentik.io/providers/oauth2/{managed}"), text);
            assert_eq!(native(&m).is_some(), native_path, "{managed}: {text}");
        }
        // Not managed: always the interpreter.
        let unmanaged = ScopeMapping {
            managed: None,
            ..mapping("", email)
        };
        assert!(native(&unmanaged).is_none());
    }
}
