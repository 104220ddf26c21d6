//! Invitation: an enrollment flow goes on only with a valid invitation (authentik's
//! `InvitationStageView`). The token comes from the link's `itoken` (or `token`) query parameter,
//! or a prompt's `token` field; the invitation's fixed data is laid over the prompt data and kept
//! in the context, so the user write stage enforces it again and consumes a single-use
//! invitation in the same transaction that creates the user.

use serde_json::{Value, json};

use super::{Show, StageCtx};
use crate::crypto::secrets;
use crate::domain::InvitationSettings;
use crate::flows::{FlowResult, actions};
use crate::store::invitations::{self, InvitationRow};

/// The query parameter an invitation link carries (authentik's `INVITATION_TOKEN_KEY`).
pub const TOKEN_PARAM: &str = "itoken";
/// The other name authentik reads (`?token=`, or a prompt field with this key).
pub const TOKEN_FIELD: &str = "token";
/// The context key the invitation in effect is kept under ([`InvitationInEffect`] as JSON).
pub const CONTEXT_INVITATION: &str = "invitation";

/// What the rest of the flow needs to know about the invitation that let the user in.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InvitationInEffect {
    /// The invitation's id.
    pub id: String,
    /// Its name (for events).
    pub name: String,
    /// Consumed by the user write.
    pub single_use: bool,
    /// The data fixed over the prompt's.
    pub fixed_data: serde_json::Map<String, Value>,
}

impl InvitationInEffect {
    /// The invitation in effect in `extra`, if any.
    pub fn of(extra: &std::collections::BTreeMap<String, Value>) -> Option<Self> {
        extra
            .get(CONTEXT_INVITATION)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }
}

const NO_INVITATION: &str =
    "This page needs an invitation: open the invitation link you were sent.";
const BAD_INVITATION: &str = "This invitation is not valid: it was already used, has expired or is for another flow. \
     Ask for a new one.";

/// The token the user came with, if any.
fn presented_token(sc: &StageCtx<'_>) -> Option<String> {
    let ctx = &sc.plan.context;
    ctx.query
        .get(TOKEN_PARAM)
        .or_else(|| ctx.query.get(TOKEN_FIELD))
        .cloned()
        .or_else(|| {
            ctx.prompt_data
                .get(TOKEN_FIELD)
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .filter(|t| !t.is_empty())
}

/// Whether `row` admits this flow now.
fn admits(row: &InvitationRow, flow_id: &str, now: i64) -> bool {
    row.expires_at.is_none_or(|at| at > now) && row.flow_id.as_deref().is_none_or(|f| f == flow_id)
}

/// Checks the invitation and lays its data over the prompt's; asks nothing.
pub async fn challenge(sc: &mut StageCtx<'_>, s: &InvitationSettings) -> FlowResult<Show> {
    let refuse = |message: &str| {
        if s.continue_flow_without_invitation {
            Show::Next
        } else {
            Show::Deny(message.to_string())
        }
    };
    let Some(token) = presented_token(sc) else {
        return Ok(refuse(NO_INVITATION));
    };
    // The token is a secret: once read it leaves the plan, which the session stores (a flow
    // restarted from its initial context asks for the link again).
    for ctx in [&mut sc.plan.context, &mut sc.plan.initial_context] {
        for key in [TOKEN_PARAM, TOKEN_FIELD] {
            ctx.query.remove(key);
        }
        ctx.prompt_data.remove(TOKEN_FIELD);
    }
    let digest = secrets::digest(&token);
    let found = {
        let mut conn = sc.env.store.read().await?;
        invitations::by_token_digest(&mut conn, &digest).await?
    };
    let Some(row) = found.filter(|r| {
        secrets::constant_time_eq(&r.token_digest, &digest) && admits(r, &sc.flow.id, sc.env.now)
    }) else {
        return Ok(refuse(BAD_INVITATION));
    };
    let fixed_data = match serde_json::from_str::<Value>(&row.fixed_data) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    for (k, v) in &fixed_data {
        sc.plan.context.prompt_data.insert(k.clone(), v.clone());
    }
    let in_effect = InvitationInEffect {
        id: row.id.clone(),
        name: row.name.clone(),
        single_use: row.single_use,
        fixed_data,
    };
    sc.plan.context.extra.insert(
        CONTEXT_INVITATION.into(),
        serde_json::to_value(&in_effect).unwrap_or(Value::Null),
    );
    sc.plan
        .context
        .extra
        .insert("invitation_in_effect".into(), Value::Bool(true));
    sc.env
        .event(
            actions::INVITATION_USED,
            "",
            None,
            json!({"invitation": row.name, "flow": sc.flow.slug}),
        )
        .await?;
    Ok(Show::Next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(flow_id: Option<&str>, expires_at: Option<i64>) -> InvitationRow {
        InvitationRow {
            id: "i".into(),
            name: "n".into(),
            token_digest: "d".into(),
            flow_id: flow_id.map(str::to_string),
            fixed_data: "{}".into(),
            single_use: true,
            expires_at,
            created_by: String::new(),
            created_at: 0,
        }
    }

    #[test]
    fn expiry_and_flow_decide() {
        assert!(admits(&row(None, None), "f", 100));
        assert!(admits(&row(Some("f"), Some(101)), "f", 100));
        assert!(
            !admits(&row(None, Some(100)), "f", 100),
            "expired at its instant"
        );
        assert!(!admits(&row(Some("g"), None), "f", 100), "another flow's");
    }
}
