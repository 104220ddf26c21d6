//! Server-side sessions and CSRF. The cookie carries a random id; the store keeps only its
//! SHA-256 digest plus the session data (versioned JSON: CSRF token and flow plans per slug).
//! Idle and absolute expiry and the user's `is_active` are checked inline on every request, so
//! deleting a session or deactivating a user takes effect on the very next request.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::crypto::secrets;
use crate::domain::new_id;
use crate::flows::Plan;
use crate::store::{StoreResult, sessions};

/// The session cookie's name.
pub const COOKIE_NAME: &str = "latchkey_session";
/// A session unused this long (seconds) is gone.
pub const IDLE_TIMEOUT: i64 = 2 * 3600;
/// Absolute lifetime when the login stage sets none (seconds).
pub const DEFAULT_LIFETIME: i64 = crate::flows::env::DEFAULT_SESSION_LIFETIME;
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
    pub oauth_done: std::collections::BTreeSet<String>,
    /// Where a flow that ended in a logout goes once the front-channel logout page is answered.
    #[serde(default)]
    pub logout_continue: Option<String>,
}

/// An authorization request parked while the user goes through the provider's flow.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PendingAuthorization {
    /// The original request parameters, validated again when the flow completes.
    pub params: Vec<(String, String)>,
    /// When it was parked (pending requests older than the session's idle time are dropped).
    pub created_at: i64,
}

impl SessionData {
    fn fresh() -> Self {
        Self {
            v: DATA_VERSION,
            csrf: secrets::random_token(32),
            plans: BTreeMap::new(),
            auth_time: None,
            oauth_pending: BTreeMap::new(),
            oauth_done: Default::default(),
            logout_continue: None,
        }
    }
}

/// A loaded session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Row id (never the cookie value).
    pub row_id: String,
    /// The cookie value; only sent back in Set-Cookie, never logged.
    cookie_value: String,
    /// Set when the cookie must be (re)sent.
    pub set_cookie: bool,
    /// Max-Age for the cookie, when the session has a fixed lifetime.
    pub max_age: Option<i64>,
    /// The logged-in user.
    pub user_id: Option<String>,
    /// The data.
    pub data: SessionData,
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE_NAME)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

async fn create(
    ctx: &Context,
    user_id: Option<String>,
    data: SessionData,
    lifetime: i64,
    client_ip: &str,
) -> StoreResult<Session> {
    let now = ctx.now();
    let raw = secrets::random_token(32);
    let row = sessions::SessionRow {
        id: new_id(),
        key_digest: secrets::digest(&raw),
        user_id: user_id.clone(),
        data: serde_json::to_string(&data).unwrap_or_else(|_| "{}".into()),
        client_ip: client_ip.to_string(),
        user_agent: String::new(),
        created_at: now,
        last_seen: now,
        idle_expires_at: (now + IDLE_TIMEOUT).min(now + lifetime),
        expires_at: now + lifetime,
    };
    let mut tx = ctx.store().write_tx().await?;
    sessions::insert(tx.conn(), &row).await?;
    tx.commit().await?;
    Ok(Session {
        row_id: row.id,
        cookie_value: raw,
        set_cookie: true,
        max_age: None,
        user_id,
        data,
    })
}

/// Loads the request's session, or starts a new anonymous one (not yet stored data).
pub async fn load(ctx: &Context, headers: &HeaderMap, client_ip: &str) -> StoreResult<Session> {
    if let Some(raw) = cookie_value(headers) {
        let row = {
            let mut conn = ctx.store().read().await?;
            sessions::get_live(&mut conn, &secrets::digest(&raw), ctx.now()).await?
        };
        if let Some(row) = row {
            let data = serde_json::from_str::<SessionData>(&row.data)
                .ok()
                .filter(|d| d.v == DATA_VERSION && !d.csrf.is_empty())
                .unwrap_or_else(SessionData::fresh);
            return Ok(Session {
                row_id: row.id,
                cookie_value: raw,
                set_cookie: false,
                max_age: None,
                user_id: row.user_id,
                data,
            });
        }
    }
    create(ctx, None, SessionData::fresh(), DEFAULT_LIFETIME, client_ip).await
}

/// Saves the data and slides the idle expiry.
pub async fn save(ctx: &Context, session: &Session) -> StoreResult<()> {
    let now = ctx.now();
    let data = serde_json::to_string(&session.data).unwrap_or_else(|_| "{}".into());
    let mut tx = ctx.store().write_tx().await?;
    sessions::save(tx.conn(), &session.row_id, &data, now, now + IDLE_TIMEOUT).await?;
    tx.commit().await?;
    Ok(())
}

/// Logs `user_id` in: the old session is deleted and a new id issued (no session fixation);
/// flow plans carry over, the CSRF token is renewed.
pub async fn login(
    ctx: &Context,
    session: &mut Session,
    user_id: &str,
    session_duration: i64,
    terminate_other_sessions: bool,
    client_ip: &str,
) -> StoreResult<()> {
    let lifetime = if session_duration > 0 {
        session_duration
    } else {
        DEFAULT_LIFETIME
    };
    let mut data = session.data.clone();
    data.csrf = secrets::random_token(32);
    data.auth_time = Some(ctx.now());
    {
        let mut tx = ctx.store().write_tx().await?;
        sessions::delete(tx.conn(), &session.row_id).await?;
        tx.commit().await?;
    }
    let mut fresh = create(ctx, Some(user_id.to_string()), data, lifetime, client_ip).await?;
    if session_duration > 0 {
        fresh.max_age = Some(session_duration);
    }
    if terminate_other_sessions {
        let mut tx = ctx.store().write_tx().await?;
        sessions::delete_other_of_user(tx.conn(), user_id, &fresh.row_id).await?;
        tx.commit().await?;
    }
    *session = fresh;
    Ok(())
}

/// Ends the session and starts a fresh anonymous one.
pub async fn logout(ctx: &Context, session: &mut Session, client_ip: &str) -> StoreResult<()> {
    {
        let mut tx = ctx.store().write_tx().await?;
        sessions::delete(tx.conn(), &session.row_id).await?;
        tx.commit().await?;
    }
    if session.user_id.is_some() {
        // Relying parties with a back-channel logout URI learn that this session ended.
        crate::oauth::logout::session_ended(ctx, &secrets::digest(&session.row_id)).await;
    }
    *session = create(ctx, None, SessionData::fresh(), DEFAULT_LIFETIME, client_ip).await?;
    Ok(())
}

/// The Set-Cookie value: HttpOnly, SameSite=Lax, Path=/, Secure when the public URL is https.
pub fn set_cookie_header(ctx: &Context, session: &Session) -> String {
    let mut c = format!(
        "{COOKIE_NAME}={}; HttpOnly; SameSite=Lax; Path=/",
        session.cookie_value
    );
    if ctx.config().public_url.starts_with("https://") {
        c.push_str("; Secure");
    }
    if let Some(age) = session.max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    c
}

/// Checks a submitted CSRF token against the session's, in constant time.
pub fn csrf_ok(session: &Session, given: Option<&str>) -> bool {
    match given {
        Some(g) if !g.is_empty() && !session.data.csrf.is_empty() => {
            secrets::constant_time_eq(g, &session.data.csrf)
        }
        _ => false,
    }
}
