//! Password: verifies the pending user's password with argon2id, outside any write
//! transaction, behind the sign-in throttle (`flows::login_throttle`). Unknown users cost the
//! same (a dummy hash). Failures record `login_failed` and lower the reputation; after
//! `failed_attempts_before_cancel` failures the flow is cancelled.

use serde_json::json;

use super::{Reply, Show, StageCtx};
use crate::crypto::password;
use crate::domain::PasswordSettings;
use crate::flows::challenge::{ChallengeKind, Response};
use crate::flows::env::Env;
use crate::flows::login_throttle::{self, Gate};
use crate::flows::policy::record_failed_login;
use crate::flows::{FlowResult, actions};
use crate::store::{self, users};

/// What a password check came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password is right.
    Right,
    /// Wrong password, or no such user (indistinguishable to the client).
    Wrong,
    /// Not checked: too many recent failures; the message says when to retry.
    Throttled(String),
}

/// Checks `password` for `user_id` (None = unknown user: same cost, always wrong), behind the
/// sign-in throttle. Records a failure (throttle counters, reputation, `login_failed`) and
/// re-hashes on success when the parameters changed. Hashing runs at most once per core at a
/// time, with pooled memory ([`password::verify_bounded`]).
pub async fn verify_user_password(
    env: &Env,
    user_id: Option<&str>,
    identifier: &str,
    password: &str,
) -> FlowResult<PasswordCheck> {
    let (username, stored) = match user_id {
        Some(id) => {
            let mut conn = env.store.read().await?;
            let name = store::users::get(&mut conn, id).await?.map(|u| u.username);
            (name, users::password_hash(&mut conn, id).await?)
        }
        None => (None, None),
    };
    let username = username.unwrap_or_else(|| identifier.to_string());
    match login_throttle::gate(env, &username).await? {
        Gate::Refused { until } => {
            return Ok(PasswordCheck::Throttled(login_throttle::refusal(
                until, env.now,
            )));
        }
        Gate::Wait(0) => {}
        Gate::Wait(ms) => tokio::time::sleep(std::time::Duration::from_millis(ms)).await,
    }
    let ok = password::verify_bounded(password.to_string(), stored.clone()).await?;
    if ok {
        if let (Some(id), Some(h)) = (user_id, stored)
            && password::needs_rehash(&h)
        {
            let new_hash = password::hash_bounded(password.to_string()).await?;
            if let Some(mut tx) = env.write_tx("password rehash").await? {
                users::set_password_hash(tx.conn(), id, &new_hash, env.now).await?;
                tx.commit().await?;
            }
        }
        login_throttle::succeeded(env, &username).await?;
        return Ok(PasswordCheck::Right);
    }
    login_throttle::failed(env, &username).await?;
    record_failed_login(env, &username).await?;
    env.event(
        actions::LOGIN_FAILED,
        &username,
        user_id,
        json!({"stage": "password", "username": username}),
    )
    .await?;
    Ok(PasswordCheck::Wrong)
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
    match verify_user_password(sc.env, user.as_deref(), &ident, pw).await? {
        PasswordCheck::Right => {
            sc.plan.context.auth_methods.push("password".into());
            return Ok(Reply::Next);
        }
        PasswordCheck::Throttled(message) => return Ok(Reply::invalid("password", &message)),
        PasswordCheck::Wrong => {}
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
