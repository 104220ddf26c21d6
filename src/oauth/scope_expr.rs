//! Scope mappings evaluated as authentik's Python (`user`, `request`, `token`, `provider`;
//! a dict of claims), compiled once per distinct text, with the tight mapping limits: they run
//! on the token endpoint's path. Managed mappings with their default text run natively
//! ([`super::scope_defaults`]) and never reach the interpreter.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::claims::{ClaimsUser, ScopeEvaluator};
use super::scope_defaults;
use super::snapshot::ProviderEntry;
use crate::domain::{Provider, ScopeMapping};
use crate::expr::python::{
    self, Cache, GroupFacts, Input, Limits, NoHost, Object, RequestFacts, Signature, UserFacts,
    Value,
};

/// The production evaluator. Look-ups (`ak_user_by`) are not offered to scope mappings: the
/// token endpoint evaluates them synchronously, without the store.
#[derive(Debug, Default)]
pub struct ExpressionScopes {
    cache: Cache,
}

impl ScopeEvaluator for ExpressionScopes {
    fn evaluate(
        &self,
        mapping: &ScopeMapping,
        user: &ClaimsUser,
        entry: &ProviderEntry,
        scopes: &[String],
    ) -> Result<Map<String, Json>, String> {
        if let Some(default) = scope_defaults::native(mapping) {
            return Ok((default.claims)(user));
        }
        if mapping.expression.trim().is_empty() {
            return Ok(Map::new());
        }
        if crate::expr::looks_like_rhai(&mapping.expression) {
            return Err(crate::expr::RHAI_REFUSED.into());
        }
        let program = self
            .cache
            .program(&mapping.expression, &Signature::scope_mapping())
            .map_err(|e| e.to_string())?;
        let input = mapping_input(user, provider_object(&entry.provider), scopes);
        python::evaluate_sync(&program, &input, Limits::MAPPING, &NoHost)
            .claims()
            .map_err(|e| e.to_string())
    }
}

/// `provider`: the OAuth2 provider the token is for.
pub fn provider_object(p: &Provider) -> Object {
    Object::plain(
        "OAuth2Provider",
        vec![
            ("pk".into(), Value::str(&p.id)),
            ("name".into(), Value::str(&p.name)),
            ("client_id".into(), Value::str(&p.client_id)),
        ],
    )
}

/// `request` (with `user`), `token` and `provider` for one mapping evaluation.
pub fn mapping_input(user: &ClaimsUser, provider: Object, scopes: &[String]) -> Input {
    let groups = user
        .group_records
        .iter()
        .map(GroupFacts::from_domain)
        .collect();
    let facts = UserFacts::from_domain(&user.user, groups);
    let scope = Value::List(scopes.iter().map(Value::str).collect());
    let user_value = Value::Object(python::user_object(Arc::new(facts.clone())));
    let token = Object::plain(
        "AccessToken",
        vec![("scope".into(), scope), ("user".into(), user_value)],
    );
    Input {
        request: RequestFacts {
            user: facts,
            ..RequestFacts::default()
        },
        vars: vec![
            ("token".into(), Value::Object(token)),
            ("provider".into(), Value::Object(provider)),
        ],
        now: time::OffsetDateTime::now_utc().unix_timestamp(),
        ..Input::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Group, User};
    use crate::expr::python::Signature;

    fn user() -> ClaimsUser {
        let admins = Group {
            id: "g-1".into(),
            name: "admins".into(),
            is_superuser: false,
            parent_id: None,
            attributes: serde_json::json!({"team": "core"}),
            member_count: 1,
            created_at: 0,
            updated_at: 0,
            version: 1,
        };
        ClaimsUser::new(
            User::new_internal("alice", "Alice Liddell", "a@example.org", 0),
            vec![admins],
        )
    }

    fn claims(source: &str) -> Map<String, Json> {
        let program = python::compile(source, &Signature::scope_mapping()).expect("compiles");
        let provider = Object::plain("OAuth2Provider", vec![("name".into(), Value::str("p"))]);
        let input = mapping_input(&user(), provider, &["openid".into(), "profile".into()]);
        python::evaluate_sync(&program, &input, Limits::MAPPING, &NoHost)
            .claims()
            .expect("a dict")
    }

    #[test]
    fn an_authentik_style_profile_mapping_gives_name_and_preferred_username() {
        let c = claims(
            "return {\n    \"name\": request.user.name,\n    \"preferred_username\": user.username,\n    \"groups\": [g.name for g in user.ak_groups.all()],\n    \"team\": user.group_attributes().get(\"team\"),\n    \"scopes\": token.scope,\n}",
        );
        assert_eq!(c["name"], "Alice Liddell");
        assert_eq!(c["preferred_username"], "alice");
        assert_eq!(c["groups"], serde_json::json!(["admins"]));
        assert_eq!(c["team"], "core");
        assert_eq!(c["scopes"], serde_json::json!(["openid", "profile"]));
    }

    #[test]
    fn every_managed_default_runs_natively_as_the_interpreter_would() {
        for d in scope_defaults::DEFAULTS {
            assert_eq!((d.claims)(&user()), claims(d.expression), "{}", d.managed);
        }
    }
}
