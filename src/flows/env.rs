//! What a flow step runs against: the store, the time, the client and the session's user, plus
//! the effects the caller applies to the browser session afterwards
//! (`oauth::session_step` does: the flow never touches the session itself).

use serde_json::Value;

use super::FlowResult;
use super::recorder::{Mode, Recorder};
use crate::context::Context;
use crate::domain::{Event, new_id};
use crate::store::{Store, Topic, WriteTx, events};

/// Absolute session lifetime when the login stage sets none (seconds).
pub const DEFAULT_SESSION_LIFETIME: i64 = 24 * 3600;

/// The environment of one request.
#[derive(Clone)]
pub struct Env {
    /// The store.
    pub store: Store,
    /// Now (injected clock), unix seconds.
    pub now: i64,
    /// The client IP.
    pub client_ip: String,
    /// The session's user, if logged in.
    pub session_user: Option<String>,
    /// The public URL (issuer for otpauth URIs).
    pub public_url: String,
    /// The sign-in throttle's limits.
    pub login_limits: crate::context::LoginLimits,
    /// The SMTP server the email stage sends through, if one is configured.
    pub smtp: Option<crate::mail::SmtpConfig>,
    /// The Have I Been Pwned range API the password policy asks (`--hibp-url`).
    pub hibp_url: String,
    /// The HTTP request the step answers (empty outside HTTP: the console, the device seam).
    pub request: RequestInfo,
    /// Live (writes happen) or a dry run (writes are recorded, never made).
    pub mode: Mode,
}

/// The HTTP request a flow step answers, as expressions read it (`request.http_request`):
/// method, path, query and headers. The HTTP layer leaves out the headers that carry
/// credentials (`Cookie`, `Authorization`), so no expression can copy them into an event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// `GET`, `POST`, ….
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query's pairs in order.
    pub query: Vec<(String, String)>,
    /// Header names (as Django spells them: `User-Agent`) and values.
    pub headers: Vec<(String, String)>,
}

impl RequestInfo {
    /// The `Host` header the request named (with its port, as sent), which picks the brand.
    pub fn host(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("host"))
            .map(|(_, value)| value.as_str())
    }
}

/// Something the caller must do to the browser session after the step (see
/// [`crate::flows::session`]: login and logout issue a new session id).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Log the user in: new session id, bound to the user.
    Login {
        /// The user.
        user_id: String,
        /// Absolute session lifetime in seconds; 0 = the default browser session.
        session_duration: i64,
        /// End the user's other sessions.
        terminate_other_sessions: bool,
        /// What network facts the session is bound to (user login's `network_binding`).
        network_binding: crate::domain::NetworkBinding,
    },
    /// End the session.
    Logout,
    /// The plan ran to its end (not denied); carries the final context.
    Completed(Box<super::FlowContext>),
    /// A redirect stage planned another flow: the plan goes into the session under that
    /// flow's slug, where its page finds it.
    StartPlan {
        /// The target flow's slug.
        slug: String,
        /// Its plan.
        plan: Box<super::Plan>,
    },
    /// The user declined (a consent stage's Deny); carries the context, so a parked
    /// authorization request is answered `access_denied` rather than left waiting.
    Declined(Box<super::FlowContext>),
}

impl Env {
    /// The environment of one request over the handle, at the handle's "now".
    pub fn new(ctx: &Context, client_ip: &str, session_user: Option<String>) -> Self {
        Self {
            store: ctx.store().clone(),
            now: ctx.now(),
            client_ip: client_ip.to_string(),
            session_user,
            public_url: ctx.public_url().to_string(),
            login_limits: ctx.config().login,
            smtp: ctx.config().smtp.clone(),
            hibp_url: ctx.config().hibp_url.clone(),
            request: RequestInfo::default(),
            mode: Mode::Live,
        }
    }

    /// The same environment as a dry run: every write is recorded into `recorder` instead.
    pub fn dry_run(mut self, recorder: Recorder) -> Self {
        self.mode = Mode::DryRun(recorder);
        self
    }

    /// The dry run's recorder, if this is one.
    pub fn recorder(&self) -> Option<&Recorder> {
        self.mode.recorder()
    }

    /// True when writes happen; in a dry run, notes `what` as suppressed and returns false.
    /// Every write in `flows/` asks this (through [`Env::write_tx`] or directly).
    pub fn may_write(&self, what: &str) -> bool {
        match self.mode.recorder() {
            None => true,
            Some(r) => {
                r.suppressed(what);
                false
            }
        }
    }

    /// A write transaction, or `None` in a dry run (with `what` recorded as suppressed).
    pub async fn write_tx(&self, what: &str) -> FlowResult<Option<WriteTx>> {
        if !self.may_write(what) {
            return Ok(None);
        }
        Ok(Some(self.store.write_tx().await?))
    }

    /// The same environment answering `request`.
    pub fn answering(mut self, request: Option<&RequestInfo>) -> Self {
        if let Some(request) = request {
            self.request = request.clone();
        }
        self
    }

    /// Records an audit event in its own short write transaction.
    pub async fn event(
        &self,
        action: &str,
        username: &str,
        user_id: Option<&str>,
        context: Value,
    ) -> FlowResult<()> {
        if !self.may_write(&format!("event {action}")) {
            return Ok(());
        }
        let event = Event {
            id: new_id(),
            action: action.to_string(),
            username: username.to_string(),
            user_id: user_id.map(str::to_string),
            app: String::new(),
            client_ip: self.client_ip.clone(),
            origin: crate::domain::actor::ORIGIN_HTTP.to_string(),
            context,
            brand: String::new(),
            created_at: self.now,
        };
        let Some(mut tx) = self.write_tx("event").await? else {
            return Ok(());
        };
        events::insert(tx.conn(), &event).await?;
        tx.touch(Topic::Events);
        tx.commit().await?;
        Ok(())
    }
}
