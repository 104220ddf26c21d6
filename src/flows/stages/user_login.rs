//! User login: binds the pending user to a new session (the HTTP layer rotates the id) and
//! records `login`.

use serde_json::json;

use super::{Show, StageCtx};
use crate::domain::{Duration, UserLoginSettings};
use crate::flows::env::Effect;
use crate::flows::{FlowResult, actions};
use crate::store::{self, logins};

/// Logs the pending user in; an inactive or missing user is denied.
pub async fn run(sc: &mut StageCtx<'_>, s: &UserLoginSettings) -> FlowResult<Show> {
    let Some(user_id) = sc.plan.context.pending_user.clone() else {
        return Ok(Show::Deny("No pending user to log in.".into()));
    };
    let user = {
        let mut conn = sc.env.store.read().await?;
        store::users::get(&mut conn, &user_id).await?
    };
    let Some(user) = user.filter(|u| u.is_active) else {
        return Ok(Show::Deny("Failed to authenticate.".into()));
    };
    let secs = |duration: &str| {
        Duration::parse(duration)
            .map(|d| d.seconds().max(0))
            .unwrap_or(0)
    };
    // "Stay signed in" (ticked at identification) extends the session by remember_me_offset.
    let remembered = sc
        .plan
        .context
        .extra
        .get("remember_me")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let mut duration = secs(&s.session_duration);
    let offset = secs(&s.remember_me_offset);
    if remembered && offset > 0 {
        duration = duration.max(crate::flows::env::DEFAULT_SESSION_LIFETIME) + offset;
    }
    sc.effects.push(Effect::Login {
        user_id: user.id.clone(),
        session_duration: duration,
        terminate_other_sessions: s.terminate_other_sessions,
        network_binding: s.network_binding,
    });
    if let Some(mut tx) = sc.env.write_tx("last login").await? {
        logins::set_last_login(tx.conn(), &user.id, sc.env.now).await?;
        tx.commit().await?;
    }
    // authentik raises the reputation of (address, username) at every login.
    crate::flows::policy::record_successful_login(sc.env, &user.username).await?;
    let methods = sc.plan.context.auth_methods.clone();
    sc.env
        .event(
            actions::LOGIN,
            &user.username,
            Some(&user.id),
            json!({"auth_method": methods.first().cloned().unwrap_or_else(|| "password".into()),
                   "auth_method_args": {"methods": methods}}),
        )
        .await?;
    Ok(Show::Next)
}
