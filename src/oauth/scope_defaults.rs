//! authentik's managed scope mappings (`goauthentik.io/providers/oauth2/scope-*`) in native
//! Rust: while a managed mapping still carries latchkey's default text for it, its claims are
//! computed here, so default tokens never enter the interpreter (the token endpoint is a hot
//! path). The texts are the ones the bundled blueprint seeds (a test keeps the two equal).

use serde_json::{Map, Value, json};

use super::claims::ClaimsUser;
use crate::domain::ScopeMapping;

/// One managed mapping: its id, its default Python text and the native equivalent.
pub struct DefaultMapping {
    /// authentik's managed id.
    pub managed: &'static str,
    /// The default expression, as seeded.
    pub expression: &'static str,
    /// What the expression returns, computed natively.
    pub claims: fn(&ClaimsUser) -> Map<String, Value>,
}

const NO_CLAIMS: &str = "# The provider adds this scope's protocol claims itself.\nreturn {}\n";

/// The managed mappings with a native implementation.
pub const DEFAULTS: &[DefaultMapping] = &[
    DefaultMapping {
        managed: "goauthentik.io/providers/oauth2/scope-openid",
        expression: NO_CLAIMS,
        claims: |_| Map::new(),
    },
    DefaultMapping {
        managed: "goauthentik.io/providers/oauth2/scope-email",
        expression: "return {\n    \"email\": request.user.email,\n    \"email_verified\": False,\n}\n",
        claims: email,
    },
    DefaultMapping {
        managed: "goauthentik.io/providers/oauth2/scope-profile",
        expression: "return {\n    \"name\": request.user.name,\n    \"given_name\": request.user.name,\n    \"preferred_username\": request.user.username,\n    \"nickname\": request.user.username,\n    \"groups\": [g.name for g in request.user.ak_groups.all()],\n}\n",
        claims: profile,
    },
    DefaultMapping {
        managed: "goauthentik.io/providers/oauth2/scope-offline_access",
        expression: NO_CLAIMS,
        claims: |_| Map::new(),
    },
    DefaultMapping {
        managed: "goauthentik.io/providers/oauth2/scope-authentik_api",
        expression: NO_CLAIMS,
        claims: |_| Map::new(),
    },
];

/// The native implementation of `mapping`, when it is managed and its expression is still the
/// default text (whitespace at the ends aside); an edited mapping runs in the interpreter.
pub fn native(mapping: &ScopeMapping) -> Option<&'static DefaultMapping> {
    let managed = mapping.managed.as_deref()?;
    DEFAULTS
        .iter()
        .find(|d| d.managed == managed && d.expression.trim() == mapping.expression.trim())
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
    use super::DEFAULTS;

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
}
