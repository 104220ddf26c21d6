//! Writes an expression policy made into the running flow plan's context
//! (`context["flow_plan"].context[key] = value`), turned from the engine's [`PlanChange`]s into
//! the plan's own terms and applied by whoever holds the plan (the planner, the executor).
//! authentik's typed keys land in their [`FlowContext`] fields (a user object set as
//! `pending_user` becomes that user's id); any other key goes to the context's `extra`.

use serde_json::Value as Json;

use crate::expr::python::{ObjectKind, PlanChange, Value};
use crate::flows::context::FlowContext;

/// One key an expression set (`Some`) or removed (`None`) in the plan's context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanWrite {
    /// The context key.
    pub key: String,
    /// The new value as JSON (a user is its id); `None` removes the key.
    pub value: Option<Json>,
}

impl PlanWrite {
    /// The engine's change in plan terms: users and groups become their primary key.
    pub fn from_change(change: &PlanChange) -> Self {
        let value = change.value.as_ref().map(|v| match v {
            Value::Object(o) => match &o.kind {
                ObjectKind::User(u) => Json::String(u.pk.clone()),
                ObjectKind::Group(g) => Json::String(g.pk.clone()),
                _ => v.to_json(),
            },
            other => other.to_json(),
        });
        Self {
            key: change.key.clone(),
            value,
        }
    }
}

/// A string, or nothing for `None`/null; `Err` for any other shape.
fn text(value: Option<&Json>) -> Result<Option<String>, ()> {
    match value {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(()),
    }
}

/// Applies `writes` to `ctx` in order. A value of the wrong shape for a typed key (a number as
/// `pending_user`) is skipped with a warning: the plan keeps what it had.
pub fn apply(ctx: &mut FlowContext, writes: &[PlanWrite]) {
    for w in writes {
        let value = w.value.as_ref();
        let applied = match w.key.as_str() {
            "pending_user" => text(value).map(|v| ctx.pending_user = v),
            "pending_user_identifier" => text(value).map(|v| ctx.pending_user_identifier = v),
            "application" => text(value).map(|v| ctx.application = v),
            "redirect" => text(value).map(|v| ctx.redirect = v),
            "auth_methods" => match value {
                Some(Json::Array(a)) => {
                    ctx.auth_methods = a
                        .iter()
                        .filter_map(|m| m.as_str().map(str::to_string))
                        .collect();
                    Ok(())
                }
                _ => Err(()),
            },
            "prompt_data" => match value {
                Some(Json::Object(m)) => {
                    ctx.prompt_data = m.clone().into_iter().collect();
                    Ok(())
                }
                None | Some(Json::Null) => {
                    ctx.prompt_data.clear();
                    Ok(())
                }
                Some(_) => Err(()),
            },
            key => {
                match value {
                    Some(v) => ctx.extra.insert(key.to_string(), v.clone()),
                    None => ctx.extra.remove(key),
                };
                Ok(())
            }
        };
        if applied.is_err() {
            tracing::warn!(key = %w.key, "an expression wrote a value of the wrong type into the flow plan; ignored");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::expr::python::{UserFacts, user_object};

    fn change(key: &str, value: Option<Value>) -> PlanWrite {
        PlanWrite::from_change(&PlanChange {
            key: key.into(),
            value,
        })
    }

    #[test]
    fn a_user_set_as_pending_user_becomes_its_id() {
        let akadmin = UserFacts {
            pk: "u-akadmin".into(),
            username: "akadmin".into(),
            ..UserFacts::default()
        };
        let write = change(
            "pending_user",
            Some(Value::Object(user_object(Arc::new(akadmin)))),
        );
        assert_eq!(write.value, Some(json!("u-akadmin")));
        let mut ctx = FlowContext::default();
        apply(&mut ctx, &[write]);
        assert_eq!(ctx.pending_user.as_deref(), Some("u-akadmin"));
    }

    #[test]
    fn typed_keys_extra_keys_removals_and_bad_shapes() {
        let mut ctx = FlowContext {
            redirect: Some("/old".into()),
            ..FlowContext::default()
        };
        ctx.extra.insert("gone".into(), json!(1));
        apply(
            &mut ctx,
            &[
                change("redirect", Some(Value::str("/new"))),
                change("custom", Some(Value::Int(3))),
                change("gone", None),
                change(
                    "prompt_data",
                    Some(Value::dict([("email", Value::str("a@b"))])),
                ),
                change("pending_user", Some(Value::Int(7))),
            ],
        );
        assert_eq!(ctx.redirect.as_deref(), Some("/new"));
        assert_eq!(ctx.extra.get("custom"), Some(&json!(3)));
        assert!(!ctx.extra.contains_key("gone"));
        assert_eq!(ctx.prompt_data.get("email"), Some(&json!("a@b")));
        assert_eq!(ctx.pending_user, None, "a number is no user");
    }
}
