//! What a Python expression policy sees, loaded from the store before the evaluation: the user
//! with its groups (direct and inherited) and authenticators, the flow context as authentik's
//! `request.context` keys, and a [`Host`] over the store for `ak_user_by`.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::{PolicyRequest, evaluate_policy};
use crate::domain::{Group, User};
use crate::expr::python::{
    CalledPolicy, GroupFacts, Host, Lookup, Object, RequestFacts, UserFacts, Value, matches_user,
};
use crate::flows::context::CONTEXT_DEVICE;
use crate::flows::env::Env;
use crate::store::{self, Conn, StoreResult, authenticators};

/// A stored user as expressions see it: direct groups, the ancestors of those groups, and the
/// kinds of its confirmed authenticators.
pub async fn user_facts(conn: &mut Conn, user: &User) -> StoreResult<UserFacts> {
    let direct = store::groups::of_user(conn, &user.id).await?;
    let all = store::groups::list(conn).await?;
    let mut facts =
        UserFacts::from_domain(user, direct.iter().map(GroupFacts::from_domain).collect());
    facts.inherited_groups = ancestors(&direct, &all);
    facts.authenticators = authenticators::confirmed_kinds(conn, &user.id).await?;
    Ok(facts)
}

/// The parents (transitively) of `direct` that are not themselves direct groups.
fn ancestors(direct: &[Group], all: &[Group]) -> Vec<GroupFacts> {
    let by_id: HashMap<&str, &Group> = all.iter().map(|g| (g.id.as_str(), g)).collect();
    let mut seen: Vec<&str> = direct.iter().map(|g| g.id.as_str()).collect();
    let mut out = Vec::new();
    for g in direct {
        let mut parent = g.parent_id.as_deref();
        while let Some(id) = parent {
            if seen.contains(&id) {
                break;
            }
            seen.push(id);
            let Some(p) = by_id.get(id) else { break };
            out.push(GroupFacts::from_domain(p));
            parent = p.parent_id.as_deref();
        }
    }
    out
}

/// `request` for an expression policy: the user (authentik's `AnonymousUser` without one) and
/// the flow context under authentik's keys (`pending_user`, `prompt_data`, `application`, the
/// plan's other keys such as `oauth_scopes`).
pub fn request_facts(req: &PolicyRequest, env: &Env) -> RequestFacts {
    let ctx = &req.context;
    let user = req.expr_user.clone().unwrap_or_else(UserFacts::anonymous);
    let mut context: Vec<(String, Value)> = ctx
        .extra
        .iter()
        .map(|(k, v)| match k.as_str() {
            CONTEXT_DEVICE => (k.clone(), device_object(v)),
            _ => (k.clone(), Value::from(v)),
        })
        .collect();
    let prompt_data = ctx
        .prompt_data
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v)));
    context.push(("prompt_data".into(), Value::dict(prompt_data)));
    if req.context.pending_user.is_some()
        && let Some(u) = &req.expr_user
    {
        let pending = crate::expr::python::user_object(std::sync::Arc::new(u.clone()));
        context.push(("pending_user".into(), Value::Object(pending)));
    }
    let opt = |s: &Option<String>| s.clone().map_or(Value::None, Value::Str);
    context.push(("application".into(), opt(&ctx.application)));
    context.push((
        "pending_user_identifier".into(),
        opt(&ctx.pending_user_identifier),
    ));
    context.push((
        "auth_methods".into(),
        Value::List(ctx.auth_methods.iter().map(Value::str).collect()),
    ));
    let client_ip = ctx
        .client_ip
        .parse()
        .or_else(|_| env.client_ip.parse())
        .ok();
    RequestFacts {
        user,
        http: Some(crate::expr::python::HttpFacts {
            method: env.request.method.clone(),
            path: env.request.path.clone(),
            query: env.request.query.clone(),
            headers: env.request.headers.clone(),
            client_ip,
            base_url: env.public_url.clone(),
        }),
        context,
        ..RequestFacts::default()
    }
}

/// The endpoint stage's device as authentik's expressions read it (`device.name`,
/// `device.access_group.name`, `device.cached_facts.data["os"]`): objects with attributes
/// where authentik has model instances, dicts for the facts and attributes.
fn device_object(device: &Json) -> Value {
    let Some(fields) = device.as_object() else {
        return Value::from(device);
    };
    let attrs = |class: &str, map: &Map<String, Json>, nested: &[&str]| {
        let attrs = map
            .iter()
            .map(|(k, v)| match v {
                Json::Object(inner) if nested.contains(&k.as_str()) => {
                    let attrs = inner
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::from(v)))
                        .collect();
                    (k.clone(), Value::Object(Object::plain(k, attrs)))
                }
                _ => (k.clone(), Value::from(v)),
            })
            .collect();
        Value::Object(Object::plain(class, attrs))
    };
    attrs("Device", fields, &["access_group", "cached_facts"])
}

/// How deep `ak_call_policy` may nest (a policy calling itself ends here, failing closed).
pub const MAX_CALL_DEPTH: u8 = 4;

/// Store look-ups for an expression evaluated in a flow or an application check.
pub struct StoreHost<'a> {
    /// Where look-ups go.
    pub env: &'a Env,
    /// The request being evaluated: `ak_call_policy` evaluates the named policy for it.
    pub req: &'a PolicyRequest,
    /// The calling policy's time limit, which a called policy gets too.
    pub timeout: Duration,
}

/// A called policy's evaluation, boxed: a policy that calls a policy is a recursive future.
type CallFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<CalledPolicy>, String>> + Send + 'a>>;

impl Host for StoreHost<'_> {
    async fn user_by(&self, lookups: &[Lookup]) -> Result<Option<UserFacts>, String> {
        let found = async {
            let mut conn = self.env.store.read().await?;
            for user in store::users::list(&mut conn).await? {
                let bare = UserFacts::from_domain(&user, Vec::new());
                if matches_user(&bare, lookups) {
                    return user_facts(&mut conn, &user).await.map(Some);
                }
            }
            Ok(None)
        };
        found.await.map_err(|e: store::StoreError| e.to_string())
    }

    /// authentik's `ak_call_policy`: the named policy for the same request, `kwargs` added to
    /// its context; its messages come back with the result. Boxed with its type spelled out:
    /// a policy that calls a policy is a recursive future.
    #[allow(refining_impl_trait)]
    fn call_policy(&self, name: &str, kwargs: &Map<String, Json>) -> CallFuture<'_> {
        let (name, kwargs) = (name.to_string(), kwargs.clone());
        Box::pin(async move {
            if self.req.call_depth >= MAX_CALL_DEPTH {
                return Err(format!(
                    "ak_call_policy({name:?}): policies call each other more than {MAX_CALL_DEPTH} deep"
                ));
            }
            let policy = {
                let mut conn = self.env.store.read().await.map_err(|e| e.to_string())?;
                store::policies::get_by_name(&mut conn, &name)
                    .await
                    .map_err(|e| e.to_string())?
            };
            let Some(policy) = policy else {
                return Ok(None);
            };
            let mut req = self.req.clone();
            req.call_depth += 1;
            req.context
                .extra
                .extend(kwargs.iter().map(|(k, v)| (k.clone(), v.clone())));
            let (passing, messages) = evaluate_policy(self.env, &policy, &req, self.timeout)
                .await
                .map_err(|e| e.to_string())?;
            Ok(Some(CalledPolicy {
                passing,
                messages,
                raw_result: Value::Bool(passing),
            }))
        })
    }
}
