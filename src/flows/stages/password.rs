//! Password: verifies the pending user's password against the stage's `backends` (authentik's
//! `InbuiltBackend`: the user's password, with argon2id outside any write transaction;
//! `TokenBackend`: one of the user's unexpired app passwords), behind the sign-in throttle
//! (`flows::login_throttle`). Unknown users cost the same (a dummy hash). Failures record
//! `login_failed` and lower the reputation; at the `failed_attempts_before_cancel`th failure
//! the flow is cancelled. The page links the brand's recovery flow as authentik's
//! `recovery_url`.

use serde_json::json;

use super::{Reply, Show, StageCtx, flow_url};
use crate::crypto::password;
use crate::crypto::secrets;
use crate::domain::{INBUILT_BACKEND, PasswordSettings, TOKEN_BACKEND, brand_match};
use crate::flows::challenge::{ChallengeKind, Response};
use crate::flows::env::Env;
use crate::flows::login_throttle::{self, Gate};
use crate::flows::policy::record_failed_login;
use crate::flows::{FlowResult, actions};
use crate::store::{self, users};

/// Which of authentik's password backends a password is checked against, in authentik's
/// order (the first that accepts it wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backends {
    /// `authentik.core.auth.InbuiltBackend`: the user's own password.
    pub inbuilt: bool,
    /// `authentik.core.auth.TokenBackend`: an unexpired app password of the user.
    pub token: bool,
}

impl Backends {
    /// The user database only.
    pub const INBUILT: Backends = Backends {
        inbuilt: true,
        token: false,
    };

    /// The backends a stage names. An empty list (refused at save since issue 21, but a store
    /// written before may hold one) checks the user database, as latchkey always did.
    pub fn of(list: &[String]) -> Self {
        if list.is_empty() {
            return Self::INBUILT;
        }
        Backends {
            inbuilt: list.iter().any(|b| b == INBUILT_BACKEND),
            token: list.iter().any(|b| b == TOKEN_BACKEND),
        }
    }
}

/// The id of the user `username` when `password` is one of their unexpired app passwords
/// (authentik's `TokenBackend`; the token endpoint's app-password grant asks the same).
pub async fn app_password_owner(
    conn: &mut store::Conn,
    username: &str,
    password: &str,
    now: i64,
) -> Result<Option<String>, store::StoreError> {
    let Some(user) = store::users::get_by_username(conn, username).await? else {
        return Ok(None);
    };
    let token = store::tokens::find_valid(
        conn,
        &user.id,
        store::tokens::INTENT_APP_PASSWORD,
        &secrets::digest(password),
        now,
    )
    .await?;
    Ok(token.map(|t| t.user_id))
}

/// What a password check came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password is right.
    Right,
    /// One of the user's app passwords was given (`TokenBackend`).
    AppPassword,
    /// Wrong password, or no such user (indistinguishable to the client).
    Wrong,
    /// Not checked: too many recent failures; the message says when to retry.
    Throttled(String),
}

/// Checks `password` for `user_id` (None = unknown user: same cost, always wrong) against
/// `backends`, behind the sign-in throttle. Records a failure (throttle counters, reputation,
/// `login_failed`) and re-hashes on success when the parameters changed. Hashing runs at most
/// once per core at a time, with pooled memory ([`password::verify_bounded`]); without the
/// inbuilt backend a dummy hash still costs the same time.
pub async fn verify_user_password(
    env: &Env,
    user_id: Option<&str>,
    identifier: &str,
    password: &str,
    backends: Backends,
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
    let checked_hash = if backends.inbuilt {
        stored.clone()
    } else {
        None
    };
    let ok = password::verify_bounded(password.to_string(), checked_hash).await?;
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
    if backends.token && user_id.is_some() {
        let owner = {
            let mut conn = env.store.read().await?;
            app_password_owner(&mut conn, &username, password, env.now).await?
        };
        if owner.is_some() && owner.as_deref() == user_id {
            login_throttle::succeeded(env, &username).await?;
            return Ok(PasswordCheck::AppPassword);
        }
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

/// Asks for the password of the pending user, linking the brand's recovery flow (authentik's
/// `recovery_url`, from `brand.flow_recovery`).
pub async fn challenge(sc: &mut StageCtx<'_>, s: &PasswordSettings) -> FlowResult<Show> {
    if sc.plan.context.pending_user_identifier.is_none() && sc.plan.context.pending_user.is_none() {
        return Ok(Show::Deny("No pending user.".into()));
    }
    Ok(Show::Challenge(ChallengeKind::Password {
        pending_user: sc.display_user(),
        allow_show_password: s.allow_show_password,
        recovery_url: recovery_url(sc).await?,
    }))
}

/// The absolute URL (authentik builds it with `build_absolute_uri`) of the recovery flow of the
/// brand the request's host picks, with the flow's query; `None` when the brand names none.
async fn recovery_url(sc: &StageCtx<'_>) -> FlowResult<Option<String>> {
    let brands = {
        let mut conn = sc.env.store.read().await?;
        store::brands::list(&mut conn).await?
    };
    let flow_id = brand_match::brand_for_host(&brands, sc.env.request.host())
        .and_then(|b| b.flow_recovery_id.clone());
    Ok(flow_url(sc, flow_id.as_deref())
        .await?
        .map(|path| format!("{}{path}", sc.env.public_url)))
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
    let backends = Backends::of(&s.backends);
    match verify_user_password(sc.env, user.as_deref(), &ident, pw, backends).await? {
        PasswordCheck::Right => {
            sc.plan.context.auth_methods.push("password".into());
            return Ok(Reply::Next);
        }
        PasswordCheck::AppPassword => {
            sc.plan.context.auth_methods.push("app_password".into());
            return Ok(Reply::Next);
        }
        PasswordCheck::Throttled(message) => return Ok(Reply::invalid("password", &message)),
        PasswordCheck::Wrong => {}
    }
    let failures = sc.scratch("failures").and_then(|v| v.as_i64()).unwrap_or(0) + 1;
    sc.set_scratch("failures", json!(failures));
    // authentik cancels when the failures reach the limit (`>=`), so 0 or less cancels at the
    // first failure.
    if failures >= s.failed_attempts_before_cancel {
        return Ok(Reply::Deny(
            "Too many failed attempts. The flow was cancelled; start again.".into(),
        ));
    }
    Ok(Reply::invalid("password", "Failed to authenticate."))
}
