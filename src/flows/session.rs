//! Browser sessions, below the HTTP layer: what a session holds (CSRF token, flow plans, parked
//! authorization requests) and how it is persisted — loaded by its cookie value, saved, replaced
//! by a new id at login and logout. The cookie carries a random value; the store keeps only its
//! SHA-256 digest plus the data (versioned JSON). Idle and absolute expiry and the user's
//! `is_active` are checked on every load, so deleting a session or deactivating a user takes
//! effect on the very next request.
//!
//! A visitor without a live session gets a fresh anonymous one that is written only when it is
//! first saved (nothing is stored for a visitor until there is state worth keeping). Every write
//! returns its error: a session write that is lost must be answered as a failure, never as if the
//! state were kept. HTTP owns the cookie itself (`Set-Cookie`, CSRF checks); this module never
//! sees a header.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::Plan;
use super::session_binding::{BindingBroken, NetworkBound};
use crate::context::Context;
use crate::crypto::secrets;
use crate::domain::{NetworkBinding, new_id};
use crate::store::{StoreResult, sessions};

/// A session unused this long (seconds) is gone.
pub const IDLE_TIMEOUT: i64 = 2 * 3600;
/// Absolute lifetime when the login stage sets none (seconds).
pub const DEFAULT_LIFETIME: i64 = super::env::DEFAULT_SESSION_LIFETIME;
/// Absolute lifetime of an anonymous session (a sign-in in progress, a parked authorization
/// request): short, so what a stranger makes the store keep goes soon.
pub const ANONYMOUS_LIFETIME: i64 = 30 * 60;
/// Anonymous sessions kept per client IP and in all; past either the oldest go (see
/// [`sessions::AnonymousCaps`]).
pub const ANONYMOUS_CAPS: sessions::AnonymousCaps = sessions::AnonymousCaps {
    per_ip: 256,
    total: 20_000,
};
/// Version of [`SessionData`]; other versions are discarded.
pub const DATA_VERSION: u32 = 1;
/// How long anything parked in `oauth_pending` is kept (authorize requests and device
/// sign-ins share the map; each kind may expire its own sooner).
pub const PARKED_LIFETIME: i64 = 3600;

/// What a session holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionData {
    /// Serialisation version.
    pub v: u32,
    /// The CSRF token every form carries.
    pub csrf: String,
    /// Flow plans in progress, keyed by flow slug.
    pub plans: BTreeMap<String, Plan>,
    /// When the user last authenticated (OIDC `auth_time`, `max_age`).
    #[serde(default)]
    pub auth_time: Option<i64>,
    /// OAuth authorization requests waiting for their authorization flow, by request id.
    #[serde(default)]
    pub oauth_pending: BTreeMap<String, PendingAuthorization>,
    /// Request ids whose authorization flow completed (consumed once by the authorize endpoint).
    #[serde(default)]
    pub oauth_done: BTreeSet<String>,
    /// Request ids whose authorization flow the user declined (consent Deny), consumed once
    /// like `oauth_done`.
    #[serde(default)]
    pub oauth_declined: BTreeSet<String>,
    /// Where a flow that ended in a logout goes once the front-channel logout page is answered.
    #[serde(default)]
    pub logout_continue: Option<String>,
    /// The network the login stage bound the session to (`network_binding`), if any.
    #[serde(default)]
    pub network_binding: Option<NetworkBound>,
}

/// An authorization request parked while the user goes through the provider's flow.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PendingAuthorization {
    /// The original request parameters, validated again when the flow completes.
    pub params: Vec<(String, String)>,
    /// When it was parked (pending requests older than the session's idle time are dropped).
    pub created_at: i64,
}

impl PendingAuthorization {
    /// The parked parameter `key`, if any.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl SessionData {
    /// Parks `params` under `rid` (keeping its first parking time when it is parked again) and
    /// drops parked requests older than [`PARKED_LIFETIME`]: how sign-ins that run a flow
    /// (the device code's, the Agent's) remember where they are between requests.
    pub fn park(&mut self, rid: &str, params: Vec<(String, String)>, now: i64) {
        self.oauth_pending
            .retain(|_, p| now - p.created_at < PARKED_LIFETIME);
        let created_at = self.oauth_pending.get(rid).map_or(now, |p| p.created_at);
        self.oauth_pending
            .insert(rid.to_string(), PendingAuthorization { params, created_at });
    }

    /// Forgets the request parked under `rid` and its flow's outcome.
    pub fn forget_parked(&mut self, rid: &str) {
        self.oauth_pending.remove(rid);
        self.oauth_done.remove(rid);
        self.oauth_declined.remove(rid);
    }

    fn fresh() -> Self {
        Self {
            v: DATA_VERSION,
            csrf: secrets::random_token(32),
            ..Default::default()
        }
    }

    fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// A loaded session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Row id (never the cookie value).
    pub row_id: String,
    /// The cookie value; only sent back in Set-Cookie, never logged.
    cookie_value: String,
    /// Whether the row exists in the store (a fresh anonymous session is written on first save).
    stored: bool,
    /// The client IP it was loaded for (recorded when the row is written).
    client_ip: String,
    /// Set when the cookie must be (re)sent: a row was written under a new cookie value.
    pub set_cookie: bool,
    /// Max-Age for the cookie, when the session has a fixed lifetime.
    pub max_age: Option<i64>,
    /// Set when the request named the session by a cookie name no longer issued: the answer
    /// expires that cookie (the HTTP layer sets and reads this; it survives login and logout,
    /// which replace the session but not the browser's old cookie).
    pub cookie_renamed: bool,
    /// The logged-in user.
    pub user_id: Option<String>,
    /// The data.
    pub data: SessionData,
}

impl Session {
    /// A new anonymous session, not stored yet.
    fn anonymous(client_ip: &str) -> Self {
        Self {
            row_id: new_id(),
            cookie_value: secrets::random_token(32),
            stored: false,
            client_ip: client_ip.to_string(),
            set_cookie: false,
            max_age: None,
            cookie_renamed: false,
            user_id: None,
            data: SessionData::fresh(),
        }
    }

    /// The cookie value, for `Set-Cookie` only.
    pub fn cookie_value(&self) -> &str {
        &self.cookie_value
    }

    /// Whether the session exists in the store (a fresh anonymous one does not yet).
    pub fn is_stored(&self) -> bool {
        self.stored
    }

    /// Whether this request, from the address the session was loaded for, breaks the network
    /// binding of a signed-in session (see [`super::session_binding`]).
    pub fn binding_broken(&self) -> Option<BindingBroken> {
        self.user_id.as_ref()?;
        self.data.network_binding.as_ref()?.check(&self.client_ip)
    }

    /// The session id tokens and logout messages carry (`sid`): a digest of the row id.
    pub fn sid(&self) -> String {
        secrets::digest(&self.row_id)
    }

    /// The row for this session with `lifetime` seconds to live from `now`.
    fn row(&self, now: i64, lifetime: i64) -> sessions::SessionRow {
        sessions::SessionRow {
            id: self.row_id.clone(),
            key_digest: secrets::digest(&self.cookie_value),
            user_id: self.user_id.clone(),
            data: self.data.to_json(),
            client_ip: self.client_ip.clone(),
            user_agent: String::new(),
            created_at: now,
            last_seen: now,
            idle_expires_at: (now + IDLE_TIMEOUT).min(now + lifetime),
            expires_at: now + lifetime,
        }
    }
}

/// The live session whose cookie value is `cookie_value`, or a fresh anonymous one (not
/// stored until [`save`]). Only reads.
pub async fn load(
    ctx: &Context,
    cookie_value: Option<&str>,
    client_ip: &str,
) -> StoreResult<Session> {
    let Some(raw) = cookie_value else {
        return Ok(Session::anonymous(client_ip));
    };
    let Some(row) = sessions::find_live(ctx.store(), &secrets::digest(raw), ctx.now()).await?
    else {
        return Ok(Session::anonymous(client_ip));
    };
    let data = serde_json::from_str::<SessionData>(&row.data)
        .ok()
        .filter(|d| d.v == DATA_VERSION && !d.csrf.is_empty())
        .unwrap_or_else(SessionData::fresh);
    Ok(Session {
        row_id: row.id,
        cookie_value: raw.to_string(),
        stored: true,
        client_ip: client_ip.to_string(),
        set_cookie: false,
        max_age: None,
        cookie_renamed: false,
        user_id: row.user_id,
        data,
    })
}

/// Saves the data and slides the idle expiry; a fresh session is written here first (and its
/// cookie must then be sent). A session that is gone meanwhile is an error.
pub async fn save(ctx: &Context, session: &mut Session) -> StoreResult<()> {
    let now = ctx.now();
    if !session.stored {
        sessions::create(
            ctx.store(),
            &session.row(now, ANONYMOUS_LIFETIME),
            ANONYMOUS_CAPS,
        )
        .await?;
        session.stored = true;
        session.set_cookie = true;
        return Ok(());
    }
    sessions::update_data(
        ctx.store(),
        &session.row_id,
        &session.data.to_json(),
        now,
        now + IDLE_TIMEOUT,
    )
    .await
}

/// How a login stage logs a user in.
#[derive(Debug, Clone, Copy)]
pub struct Login<'a> {
    /// The user.
    pub user_id: &'a str,
    /// Absolute session lifetime in seconds; 0 = the default browser session.
    pub session_duration: i64,
    /// End the user's other sessions.
    pub terminate_other_sessions: bool,
    /// What network facts the session is bound to.
    pub network_binding: NetworkBinding,
}

/// Logs a user in: the old session is replaced by one under a new id and cookie (no session
/// fixation), in one write transaction; flow plans carry over, the CSRF token is renewed.
pub async fn login(ctx: &Context, session: &mut Session, login: Login<'_>) -> StoreResult<()> {
    let lifetime = if login.session_duration > 0 {
        login.session_duration
    } else {
        DEFAULT_LIFETIME
    };
    let mut fresh = Session::anonymous(&session.client_ip);
    fresh.cookie_renamed = session.cookie_renamed;
    fresh.user_id = Some(login.user_id.to_string());
    fresh.data = session.data.clone();
    fresh.data.csrf = secrets::random_token(32);
    fresh.data.auth_time = Some(ctx.now());
    fresh.data.network_binding = NetworkBound::at_login(login.network_binding, &session.client_ip);
    let row = fresh.row(ctx.now(), lifetime);
    sessions::replace(
        ctx.store(),
        &session.row_id,
        &row,
        login.terminate_other_sessions,
    )
    .await?;
    fresh.stored = true;
    fresh.set_cookie = true;
    if login.session_duration > 0 {
        fresh.max_age = Some(login.session_duration);
    }
    *session = fresh;
    Ok(())
}

/// Ends the session and starts a fresh anonymous one (stored, its cookie to be sent), in one
/// write transaction. Returns the ended session's `sid` when someone was signed in, so the
/// caller can tell the relying parties (see `oauth::logout::sign_out`).
pub async fn logout(ctx: &Context, session: &mut Session) -> StoreResult<Option<String>> {
    let ended = session.user_id.is_some().then(|| session.sid());
    let mut fresh = Session::anonymous(&session.client_ip);
    fresh.cookie_renamed = session.cookie_renamed;
    let row = fresh.row(ctx.now(), ANONYMOUS_LIFETIME);
    sessions::replace(ctx.store(), &session.row_id, &row, false).await?;
    fresh.stored = true;
    fresh.set_cookie = true;
    *session = fresh;
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::context::{Config, ManualClock};
    use crate::store::{Store, StoreError, StoreLocation};

    async fn context() -> Context {
        let store = Store::open(&StoreLocation::Memory).await.expect("store");
        Context::new(
            store,
            Config::new("http://localhost"),
            Arc::new(ManualClock::new(1_000_000)),
        )
    }

    #[tokio::test]
    async fn a_fresh_session_is_written_on_first_save_and_found_by_its_cookie() {
        let ctx = context().await;
        let mut s = load(&ctx, None, "10.0.0.1").await.expect("load");
        assert!(!s.set_cookie, "nothing written, no cookie yet");
        let raw = s.cookie_value().to_string();
        assert!(
            load(&ctx, Some(&raw), "10.0.0.1")
                .await
                .expect("load")
                .row_id
                != s.row_id
        );
        s.data.logout_continue = Some("/x".into());
        save(&ctx, &mut s).await.expect("save");
        assert!(s.set_cookie);
        let again = load(&ctx, Some(&raw), "10.0.0.1").await.expect("load");
        assert_eq!(again.row_id, s.row_id);
        assert_eq!(again.data.logout_continue.as_deref(), Some("/x"));
        assert!(!again.set_cookie);
    }

    #[tokio::test]
    async fn saving_a_session_that_is_gone_is_an_error_not_silence() {
        let ctx = context().await;
        let mut s = load(&ctx, None, "").await.expect("load");
        save(&ctx, &mut s).await.expect("first save");
        {
            let mut tx = ctx.store().write_tx().await.expect("tx");
            sessions::delete(tx.conn(), &s.row_id)
                .await
                .expect("delete");
            tx.commit().await.expect("commit");
        }
        let err = save(&ctx, &mut s).await.expect_err("the write is lost");
        assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    }

    #[tokio::test]
    async fn logout_issues_a_new_anonymous_session_and_names_the_ended_one() {
        let ctx = context().await;
        let mut s = load(&ctx, None, "").await.expect("load");
        save(&ctx, &mut s).await.expect("save");
        let anonymous = logout(&ctx, &mut s).await.expect("logout");
        assert_eq!(anonymous, None, "nobody was signed in");
        let old_cookie = s.cookie_value().to_string();
        s.user_id = Some("someone".into());
        let sid = s.sid();
        let ended = logout(&ctx, &mut s).await.expect("logout");
        assert_eq!(ended, Some(sid));
        assert!(s.user_id.is_none() && s.set_cookie);
        assert_ne!(s.cookie_value(), old_cookie);
        let old = load(&ctx, Some(&old_cookie), "").await.expect("load");
        assert_ne!(old.row_id, s.row_id, "the old cookie names nothing");
    }
}
