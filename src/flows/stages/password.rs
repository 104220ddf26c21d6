//! Password: verifies the pending user's password with argon2id, outside any write
//! transaction. Unknown users cost the same (`verify_dummy`). Failures record `login_failed` and
//! lower the reputation; after `failed_attempts_before_cancel` failures the flow is cancelled.

use serde_json::json;

use super::{Reply, Show, StageCtx};
use crate::crypto::password;
use crate::domain::PasswordSettings;
use crate::flows::challenge::{ChallengeKind, Response};
use crate::flows::env::Env;
use crate::flows::policy::record_failed_login;
use crate::flows::{FlowError, FlowResult, actions};
use crate::store::{self, users};

/// Checks `password` for `user_id` (None = unknown user: same cost, always false). Records the
/// failure (event + reputation) and re-hashes on success when the parameters changed.
pub async fn verify_user_password(
    env: &Env,
    user_id: Option<&str>,
    identifier: &str,
    password: &str,
) -> FlowResult<bool> {
    let stored = match user_id {
        Some(id) => {
            let mut conn = env.store.read().await?;
            users::password_hash(&mut conn, id).await?
        }
        None => None,
    };
    let pw = password.to_string();
    let stored_clone = stored.clone();
    let ok = tokio::task::spawn_blocking(move || match stored_clone {
        Some(h) => password::verify(&pw, &h),
        None => {
            password::verify_dummy(&pw);
            false
        }
    })
    .await
    .map_err(|e| FlowError::Task(e.to_string()))?;
    if ok {
        if let (Some(id), Some(h)) = (user_id, stored)
            && password::needs_rehash(&h)
        {
            let pw = password.to_string();
            let new_hash = tokio::task::spawn_blocking(move || password::hash(&pw))
                .await
                .map_err(|e| FlowError::Task(e.to_string()))??;
            let mut tx = env.store.write_tx().await?;
            users::set_password_hash(tx.conn(), id, &new_hash, env.now).await?;
            tx.commit().await?;
        }
        return Ok(true);
    }
    let username = match user_id {
        Some(id) => {
            let mut conn = env.store.read().await?;
            store::users::get(&mut conn, id).await?.map(|u| u.username)
        }
        None => None,
    }
    .unwrap_or_else(|| identifier.to_string());
    record_failed_login(env, &username).await?;
    env.event(
        actions::LOGIN_FAILED,
        &username,
        user_id,
        json!({"stage": "password", "username": username}),
    )
    .await?;
    Ok(false)
}

/// Asks for the password of the pending user.
pub fn challenge(sc: &mut StageCtx<'_>, s: &PasswordSettings) -> Show {
    if sc.plan.context.pending_user_identifier.is_none() && sc.plan.context.pending_user.is_none() {
        return Show::Deny("No pending user.".into());
    }
    Show::Challenge(ChallengeKind::Password {
        pending_user: sc.display_user(),
        allow_show_password: s.allow_show_password,
    })
}

/// Verifies the password; counts failures toward cancelling the flow.
pub async fn respond(
    sc: &mut StageCtx<'_>,
    s: &PasswordSettings,
    r: &Response,
) -> FlowResult<Reply> {
    let Some(pw) = r.get("password").filter(|p| !p.is_empty()) else {
        return Ok(Reply::invalid("password", "This field is required."));
    };
    let user = sc.plan.context.pending_user.clone();
    let ident = sc.display_user();
    if verify_user_password(sc.env, user.as_deref(), &ident, pw).await? {
        sc.plan.context.auth_methods.push("password".into());
        return Ok(Reply::Next);
    }
    let failures = sc.scratch("failures").and_then(|v| v.as_i64()).unwrap_or(0) + 1;
    sc.set_scratch("failures", json!(failures));
    let limit = s.failed_attempts_before_cancel;
    if limit > 0 && failures >= limit {
        return Ok(Reply::Deny(
            "Too many failed attempts. The flow was cancelled; start again.".into(),
        ));
    }
    Ok(Reply::invalid("password", "Failed to authenticate."))
}
