//! Flow tokens (authentik's `FlowToken`): a plan paused at a stage, stored with the digest of a
//! random key, resumed once when the key comes back as `?flow_token=` on the flow's URL. The
//! email stage issues one per email it sends; "create recovery link" issues one for the brand's
//! recovery flow. Restoring claims the token with one conditional UPDATE, so a link works once.

use serde_json::json;

use super::context::{PLAN_VERSION, Plan};
use super::env::Env;
use super::{FlowError, FlowResult};
use crate::crypto::secrets;
use crate::domain::{Flow, new_id};
use crate::store::flow_tokens::{self, FlowToken};

/// The query parameter that carries the key (authentik's `QS_KEY_TOKEN`).
pub const QUERY_KEY: &str = "flow_token";

/// The plan context key a restored plan carries (authentik's `PLAN_CONTEXT_IS_RESTORED`): the
/// token's id, so stages (and policies: `request.context["is_restored"]`) know the link was
/// opened.
pub const IS_RESTORED: &str = "is_restored";

/// Bytes of randomness in a key (256 bits).
const KEY_BYTES: usize = 32;

/// What to store: the plan to resume, who it is for, why, and for how long.
pub struct Issue<'a> {
    /// The flow the plan belongs to.
    pub flow: &'a Flow,
    /// The plan as it should resume.
    pub plan: &'a Plan,
    /// The pending user the link is bound to.
    pub user_id: &'a str,
    /// `flow_tokens::PURPOSE_*`.
    pub purpose: &'a str,
    /// Seconds the link works.
    pub lifetime: i64,
}

/// Stores a token and returns its key (the only copy) with its expiry; `None` in a dry run.
pub async fn issue(env: &Env, what: Issue<'_>) -> FlowResult<Option<(String, i64)>> {
    let Some(mut tx) = env.write_tx("flow token").await? else {
        return Ok(None);
    };
    let plan = serde_json::to_string(what.plan).map_err(|e| FlowError::Task(e.to_string()))?;
    let key = secrets::random_token(KEY_BYTES);
    let expires_at = env.now + what.lifetime;
    let token = FlowToken {
        id: new_id(),
        key_digest: secrets::digest(&key),
        flow_id: what.flow.id.clone(),
        user_id: what.user_id.to_string(),
        purpose: what.purpose.to_string(),
        plan,
        created_at: env.now,
        expires_at,
        used_at: None,
    };
    flow_tokens::insert(tx.conn(), &token).await?;
    tx.commit().await?;
    Ok(Some((key, expires_at)))
}

/// The absolute link that resumes a token's plan (`/if/flow/<slug>/?flow_token=<key>`).
pub fn link(public_url: &str, flow_slug: &str, key: &str) -> String {
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair(QUERY_KEY, key)
        .finish();
    format!(
        "{}/if/flow/{flow_slug}/?{query}",
        public_url.trim_end_matches('/')
    )
}

/// Why a presented key resumes nothing; the message is what the page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No token has this key, or it belongs to another flow.
    Unknown,
    /// The token was used already.
    Used,
    /// The token expired.
    Expired,
}

impl Refusal {
    /// What the user reads.
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Unknown => "This link is not valid.",
            Refusal::Used => "This link has already been used. Start again to get a new one.",
            Refusal::Expired => "This link has expired. Start again to get a new one.",
        }
    }
}

/// Claims the token with `key` for `flow` and returns its plan, marked restored; a token that
/// is unknown, of another flow, used, expired or whose plan no longer reads is refused. A used
/// token whose plan is the one `current` holds (the same browser reloading the link's page)
/// goes on with `current`.
pub async fn restore(
    env: &Env,
    flow: &Flow,
    key: &str,
    current: Option<&Plan>,
) -> FlowResult<Result<Plan, Refusal>> {
    let digest = secrets::digest(key);
    let token = {
        let mut conn = env.store.read().await?;
        flow_tokens::by_key_digest(&mut conn, &digest).await?
    };
    let Some(token) =
        token.filter(|t| secrets::constant_time_eq(&t.key_digest, &digest) && t.flow_id == flow.id)
    else {
        return Ok(Err(Refusal::Unknown));
    };
    if token.used_at.is_some() {
        let reloaded = current.filter(|p| {
            p.flow_id == flow.id
                && p.context.extra.get(IS_RESTORED).and_then(|v| v.as_str())
                    == Some(token.id.as_str())
        });
        return Ok(reloaded.cloned().ok_or(Refusal::Used));
    }
    if token.expires_at <= env.now {
        return Ok(Err(Refusal::Expired));
    }
    let Ok(mut plan) = serde_json::from_str::<Plan>(&token.plan) else {
        return Ok(Err(Refusal::Unknown));
    };
    if plan.version != PLAN_VERSION
        || plan.flow_id != flow.id
        || plan.context.pending_user.as_deref() != Some(token.user_id.as_str())
    {
        return Ok(Err(Refusal::Unknown));
    }
    let Some(mut tx) = env.write_tx("claim flow token").await? else {
        return Ok(Err(Refusal::Unknown));
    };
    let claimed = flow_tokens::claim(tx.conn(), &token.id, env.now).await?;
    tx.commit().await?;
    if !claimed {
        // Another request claimed it between the read and the UPDATE.
        return Ok(Err(Refusal::Used));
    }
    plan.context
        .extra
        .insert(IS_RESTORED.into(), json!(token.id));
    plan.context.client_ip = env.client_ip.clone();
    Ok(Ok(plan))
}
