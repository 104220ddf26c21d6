//! The user side of the device authorization grant (RFC 8628 §3.3), as the `/device` pages
//! ([`crate::http`]) use it:
//! 1. take the code from `?code=` or a form field and call [`DeviceVerification::lookup_user_code`]
//!    with the client IP and the browser session id (lookups are throttled per IP and per
//!    session: 10 per minute each, over every instance on the store; a throttled lookup is
//!    [`DeviceError::Throttled`], answer 429);
//! 2. show the returned application name and what its scopes grant (each scope mapping's
//!    description) and ask for a POST (with CSRF token) to approve or deny, after the
//!    application's policy bindings were evaluated for the user;
//! 3. call [`DeviceVerification::approve`] with the logged-in user and session, or
//!    [`DeviceVerification::deny`]. Each is a single transition out of `pending` (a conditional
//!    UPDATE), so a code is approved or denied at most once.
//!
//! [`sign_in`] is the pages' state machine over these steps (sign-in, the brand's device-code
//! flow, Approve / Deny, the provider's authorization flow), parked in the browser session.

pub mod sign_in;

use std::sync::Arc;

use crate::context::Context;
use crate::domain::{Actor, Event, ScopeMapping};
use crate::flows::challenge::ConsentPermission;
use crate::oauth::authorize_flow::consent_permissions;
use crate::oauth::device::{display_user_code, normalize_user_code};
use crate::oauth::throttle::{Throttle, ThrottleError};
use crate::store::{self, StoreError, Topic, device_codes};

/// User-code lookups allowed per IP and per session in [`LOOKUP_PERIOD`] seconds.
pub const LOOKUP_TRIES: u32 = 10;
/// The throttle window for user-code lookups, in seconds.
pub const LOOKUP_PERIOD: u32 = 60;
/// The namespace of the user-code lookups' buckets in the store.
pub const LOOKUP_THROTTLE: &str = "device_code";

/// Why a user-code operation failed; every variant is safe to show (no code is echoed).
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// Too many lookups from this IP or session.
    #[error("too many attempts; try again in {retry_after} seconds")]
    Throttled { retry_after: u64 },
    /// Unknown, malformed, expired or already used code ("Invalid code" on the page).
    #[error("invalid code")]
    InvalidCode,
    /// The approving user does not exist or is inactive.
    #[error("the user cannot approve device codes")]
    UserNotAllowed,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A flow the sign-in runs failed (the store, hashing, a missing flow).
    #[error(transparent)]
    Flow(#[from] crate::flows::FlowError),
}

/// Who is typing the code, for throttling.
#[derive(Debug, Clone, Copy)]
pub struct Requester<'a> {
    /// The client IP (as trusted by the server's forwarded-header rules).
    pub ip: &'a str,
    /// The browser session id, when there is one.
    pub session_id: Option<&'a str>,
}

/// What the approval page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDevice {
    /// The code as shown to people (`XXXX-XXXX`), to carry into the approve/deny POST.
    pub user_code: String,
    /// The application the device wants to sign in to.
    pub application_name: String,
    /// Its slug.
    pub application_slug: String,
    /// Its id (the policy target, and the flow context's application).
    pub application_id: String,
    /// The provider's authorization flow (consent), by id.
    pub authorization_flow_id: Option<String>,
    /// The provider's own authentication flow, by id (else the brand's applies).
    pub authentication_flow_id: Option<String>,
    /// The scopes that approval grants (fixed when the device asked).
    pub scopes: Vec<String>,
    /// What those scopes grant, each with its scope mapping's description (what the
    /// confirmation page lists, and the consent the approval records).
    pub permissions: Vec<ConsentPermission>,
    /// Unix time the code expires at.
    pub expires_at: i64,
}

/// The user-code seam: lookups (throttled), approval and denial.
#[derive(Clone)]
pub struct DeviceVerification {
    ctx: Context,
    throttle: Arc<Throttle>,
}

impl DeviceVerification {
    /// A seam over the handle with the lookup throttle (its buckets are in the store, so every
    /// seam on one store, in any instance, counts against the same budget).
    pub fn new(ctx: Context) -> Self {
        Self {
            ctx,
            throttle: Arc::new(Throttle::new(LOOKUP_THROTTLE, LOOKUP_TRIES, LOOKUP_PERIOD)),
        }
    }

    /// Finds a pending, unexpired code from what the user typed (any case, spaces or
    /// punctuation) and names its application and scopes. Throttled per IP and session.
    pub async fn lookup_user_code(
        &self,
        typed: &str,
        who: Requester<'_>,
    ) -> Result<PendingDevice, DeviceError> {
        let mut keys = vec![format!("ip:{}", who.ip)];
        if let Some(s) = who.session_id {
            keys.push(format!("session:{s}"));
        }
        self.throttle
            .try_acquire(&self.ctx, &keys)
            .await
            .map_err(|e| match e {
                ThrottleError::Throttled { retry_after } => DeviceError::Throttled { retry_after },
                ThrottleError::Store(e) => DeviceError::Store(e),
            })?;
        self.pending(typed).await
    }

    /// The pending code a session already entered through [`Self::lookup_user_code`], read
    /// again on a later page. Not throttled: never call it with what a user typed.
    pub async fn pending(&self, user_code: &str) -> Result<PendingDevice, DeviceError> {
        let code = normalize_user_code(user_code).ok_or(DeviceError::InvalidCode)?;
        let mut conn = self.ctx.store().read().await?;
        let row = device_codes::find_by_user_code(&mut conn, &code)
            .await?
            .filter(|d| {
                d.status == device_codes::PENDING
                    && d.consumed_at.is_none()
                    && self.ctx.now() < d.expires_at
            })
            .ok_or(DeviceError::InvalidCode)?;
        let app = application_of(&mut conn, &row.provider_id).await?;
        let provider = store::providers::get(&mut conn, &row.provider_id)
            .await?
            .ok_or(DeviceError::InvalidCode)?;
        let scopes: Vec<String> = row
            .scope
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let mappings: Vec<ScopeMapping> = store::scope_mappings::list(&mut conn)
            .await?
            .into_iter()
            .filter(|m| provider.scope_mapping_ids.contains(&m.id))
            .collect();
        Ok(PendingDevice {
            user_code: display_user_code(&row.user_code),
            application_name: app.name,
            application_slug: app.slug,
            application_id: app.id,
            authorization_flow_id: provider.authorization_flow_id,
            authentication_flow_id: provider.authentication_flow_id,
            permissions: consent_permissions(&mappings, &scopes),
            scopes,
            expires_at: row.expires_at,
        })
    }

    /// Approves a pending code for a logged-in, active user and their session.
    pub async fn approve(
        &self,
        user_code: &str,
        user_id: &str,
        session_id: &str,
        client_ip: &str,
    ) -> Result<(), DeviceError> {
        let code = normalize_user_code(user_code).ok_or(DeviceError::InvalidCode)?;
        // The application's policy bindings apply to the approving user (checked before the
        // write transaction: policies may run expressions).
        if !self.application_allows(user_code, user_id).await? {
            return Err(DeviceError::UserNotAllowed);
        }
        let mut tx = self.ctx.store().write_tx().await?;
        let user = store::users::get(tx.conn(), user_id).await?;
        let Some(user) = user.filter(|u| u.is_active) else {
            return Err(DeviceError::UserNotAllowed);
        };
        let now = self.ctx.now();
        if !device_codes::approve(tx.conn(), &code, user_id, session_id, now).await? {
            return Err(DeviceError::InvalidCode);
        }
        let actor = Actor::http(&user.username, Some(user_id), client_ip);
        self.record_decision(&mut tx, &actor, &code, DEVICE_APPROVED)
            .await?;
        tx.touch(Topic::Tokens);
        tx.commit().await?;
        Ok(())
    }

    /// Whether the application behind a pending code admits `user_id` (its policy bindings;
    /// no bindings admit everyone, as in authentik). A policy error denies. The pages ask
    /// before the consent step; [`Self::approve`] asks again.
    pub async fn application_allows(
        &self,
        user_code: &str,
        user_id: &str,
    ) -> Result<bool, DeviceError> {
        let code = normalize_user_code(user_code).ok_or(DeviceError::InvalidCode)?;
        let app = {
            let mut conn = self.ctx.store().read().await?;
            let Some(row) = device_codes::find_by_user_code(&mut conn, &code).await? else {
                return Err(DeviceError::InvalidCode);
            };
            application_of(&mut conn, &row.provider_id).await?
        };
        let env = crate::flows::Env::new(&self.ctx, "", Some(user_id.to_string()));
        let context = crate::flows::FlowContext::default();
        let Ok(req) =
            crate::flows::policy::PolicyRequest::load(&env, Some(user_id), &context).await
        else {
            return Ok(false);
        };
        Ok(
            crate::flows::policy::evaluate_target(&env, &app.id, app.policy_engine_mode, &req)
                .await
                .map(|r| r.passing)
                .unwrap_or(false),
        )
    }

    /// Denies a pending code: the device's next poll gets `access_denied`.
    pub async fn deny(
        &self,
        user_code: &str,
        user_id: Option<&str>,
        client_ip: &str,
    ) -> Result<(), DeviceError> {
        let code = normalize_user_code(user_code).ok_or(DeviceError::InvalidCode)?;
        let mut tx = self.ctx.store().write_tx().await?;
        if !device_codes::deny(tx.conn(), &code, self.ctx.now()).await? {
            return Err(DeviceError::InvalidCode);
        }
        let username = match user_id {
            Some(id) => store::users::get(tx.conn(), id)
                .await?
                .map(|u| u.username)
                .unwrap_or_default(),
            None => String::new(),
        };
        let actor = Actor::http(&username, user_id, client_ip);
        self.record_decision(&mut tx, &actor, &code, DEVICE_DENIED)
            .await?;
        tx.touch(Topic::Tokens);
        tx.commit().await?;
        Ok(())
    }
}

/// The event of a device code approved: authentik's, as for any other authorization.
const DEVICE_APPROVED: &str = crate::flows::actions::AUTHORIZE_APPLICATION;
/// The event of a device code denied (authentik has none: a custom action, as it allows).
pub const DEVICE_DENIED: &str = "custom_device_code_denied";

impl DeviceVerification {
    /// Records the user's decision on a device code inside its transaction, naming the
    /// application and the scopes (never the codes).
    async fn record_decision(
        &self,
        tx: &mut crate::store::WriteTx,
        actor: &Actor,
        code: &str,
        action: &str,
    ) -> Result<(), DeviceError> {
        let row = device_codes::find_by_user_code(tx.conn(), code).await?;
        let (app, scopes) = match &row {
            Some(r) => (
                application_of(tx.conn(), &r.provider_id)
                    .await
                    .map(|a| a.slug)
                    .unwrap_or_default(),
                r.scope
                    .split_whitespace()
                    .map(str::to_string)
                    .collect::<Vec<_>>(),
            ),
            None => (String::new(), Vec::new()),
        };
        let context = serde_json::json!({ "flow": "device_code", "scopes": scopes });
        let mut event = Event::by(actor, action, context, self.ctx.now());
        event.app = app;
        store::events::insert(tx.conn(), &event).await?;
        tx.touch(Topic::Events);
        Ok(())
    }
}

/// The application a device code's provider serves (a code without one is invalid).
async fn application_of(
    conn: &mut crate::store::Conn,
    provider_id: &str,
) -> Result<crate::domain::Application, DeviceError> {
    store::applications::list(conn)
        .await?
        .into_iter()
        .find(|a| a.provider_id.as_deref() == Some(provider_id))
        .ok_or(DeviceError::InvalidCode)
}
