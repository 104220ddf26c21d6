//! The `/device` pages' state machine (the user side of RFC 8628 §3.3), without HTTP:
//!
//! sign in (the brand's authentication flow) → enter the user code → the brand's device-code
//! flow → Approve / Deny, naming the application, what the scopes grant, the user and the code
//! → the provider's authorization flow → the code is approved. The user is asked once: Approve
//! is the consent, so the authorization flow's consent stage records it as its mode says
//! (permanent, expiring) without asking again; Deny on the page, or a consent stage's Deny in
//! a flow the sign-in runs, denies the code. Each sign-in is parked in the session under a
//! random id, as the authorize endpoint parks its requests. Every call returns the typed next
//! step ([`DeviceNext`]) the pages render; the pages check the CSRF token and say whether it
//! matched.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{DeviceError, DeviceVerification, PendingDevice, Requester};
use crate::flows::executor::Start;
use crate::flows::session::{self, Session};
use crate::flows::stages::CONSENT_GIVEN;
use crate::flows::{ChallengeKind, lookup};
use crate::oauth::authorize_flow::consent_context;
use crate::oauth::session_step::{OAUTH_REQUEST_KEY, StepContext, StepRequest, run_step};
use crate::store;

/// The code entry page (and where sign-in comes back to).
pub const DEVICE_PATH: &str = "/device";
/// Where the device-code and authorization flows return.
pub const CONTINUE_PATH: &str = "/device/continue/";
/// How long a parked device sign-in waits (the default device-code lifetime).
const PENDING_LIFETIME: i64 = 600;
const CODE_KEY: &str = "device_user_code";
const STEP_KEY: &str = "device_step";

/// What the `/device` pages show next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceNext {
    /// The request's brand has no device-code flow: say how to set one.
    NotConfigured,
    /// There is no authentication flow to sign in with.
    NoAuthenticationFlow,
    /// The browser goes to a page on this server (the sign-in, or a flow's page).
    Redirect(String),
    /// The code entry form.
    EnterCode,
    /// The typed code was refused: the entry form again, saying why.
    CodeRefused(CodeRefusal),
    /// A form came without the session's CSRF token (an expired session or a stale form).
    Stale,
    /// Ask the signed-in user to approve or deny.
    Confirm(Box<Confirmation>),
    /// The device is signed in to this application.
    Approved { application_name: String },
    /// The user denied the request.
    UserDenied,
    /// The application's policies do not admit the user.
    NoAccess,
    /// A flow denied access, with its message.
    FlowDenied(String),
    /// The sign-in cannot go on.
    Failed(DeviceFailure),
}

/// Why a typed code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefusal {
    /// Too many lookups from this IP or session: retry after this many seconds.
    Throttled { retry_after: u64 },
    /// Unknown, malformed, expired or used.
    Invalid,
}

/// Why a device sign-in cannot go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceFailure {
    /// No sign-in with this id is in progress (or it expired, or the user is signed out).
    NotInProgress,
    /// The flow this step waits for has not completed.
    StepIncomplete,
    /// The code expired or was used meanwhile.
    CodeGone,
    /// The application's provider has no authorization flow.
    NoAuthorizationFlow,
    /// The decision form named neither Approve nor Deny.
    NoDecision,
}

/// What the Approve / Deny page names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// The parked sign-in's id, carried by the decision form.
    pub rid: String,
    /// The device's application and scopes.
    pub device: PendingDevice,
    /// Who is signed in.
    pub username: String,
}

/// Where a parked device sign-in stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The brand's device-code flow is running.
    DeviceFlow,
    /// Waiting for Approve / Deny.
    Confirm,
    /// The provider's authorization flow is running, after Approve (its consent stage
    /// records the approval instead of asking).
    Consent,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::DeviceFlow => "device_flow",
            Stage::Confirm => "confirm",
            Stage::Consent => "consent",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Stage::DeviceFlow, Stage::Confirm, Stage::Consent]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A device sign-in parked in the session.
struct Parked {
    rid: String,
    user_code: String,
    stage: Stage,
}

impl Parked {
    fn load(sess: &Session, rid: &str, now: i64) -> Option<Self> {
        let p = sess.data.oauth_pending.get(rid)?;
        if now - p.created_at >= PENDING_LIFETIME {
            return None;
        }
        Some(Self {
            rid: rid.to_string(),
            user_code: p.param(CODE_KEY)?.to_string(),
            stage: Stage::parse(p.param(STEP_KEY)?)?,
        })
    }

    fn park(&self, sess: &mut Session, now: i64) {
        let params = vec![
            (CODE_KEY.into(), self.user_code.clone()),
            (STEP_KEY.into(), self.stage.as_str().into()),
        ];
        sess.data.park(&self.rid, params, now);
    }

    fn forget(&self, sess: &mut Session) {
        sess.data.forget_parked(&self.rid);
    }
}

/// How one run of a flow ended.
enum FlowRun {
    /// Completed with no page to show (no stages, or implicit consent).
    Done,
    /// A stage needs the user: go to the flow's page.
    Waiting,
    /// The flow denied access.
    Denied(String),
}

/// The context of a flow the sign-in runs: its request id and what a consent grants
/// (authentik's consent keys, so a consent stage in any of its flows lists them); after
/// Approve, the consent is marked as already given on the confirmation page.
fn flow_context(rid: &str, device: &PendingDevice, approved: bool) -> BTreeMap<String, Value> {
    let mut extra: BTreeMap<String, Value> =
        consent_context(&device.application_name, &device.permissions)
            .into_iter()
            .collect();
    extra.insert(OAUTH_REQUEST_KEY.to_string(), json!(rid));
    if approved {
        extra.insert(CONSENT_GIVEN.to_string(), json!(true));
    }
    extra
}

/// The state machine over the user-code seam and the flow steps.
#[derive(Clone, Copy)]
pub struct DeviceSignIn<'a> {
    /// Lookups, approval and denial.
    pub verification: &'a DeviceVerification,
    /// The handle and provider snapshot the flow steps run with.
    pub step: StepContext<'a>,
}

type SignInResult = Result<DeviceNext, DeviceError>;

impl DeviceSignIn<'_> {
    fn now(&self) -> i64 {
        self.step.ctx.now()
    }

    /// The brand's device-code flow: every page needs one configured.
    async fn device_flow(&self) -> Result<Option<String>, DeviceError> {
        Ok(lookup::device_code_flow(self.step.ctx, self.step.host()).await?)
    }

    /// Sends an anonymous visitor through the brand's authentication flow and back to `back`
    /// (the provider is not known before the code is entered).
    async fn send_to_sign_in(&self, sess: &mut Session, back: &str) -> SignInResult {
        let Some(slug) = lookup::authentication_flow(self.step.ctx, self.step.host(), None).await?
        else {
            return Ok(DeviceNext::NoAuthenticationFlow);
        };
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair("next", back)
            .finish();
        session::save(self.step.ctx, sess).await?;
        Ok(DeviceNext::Redirect(format!("/if/flow/{slug}/?{q}")))
    }

    /// `GET /device[?code=…]`: the code entry form (the code from `verification_uri_complete`
    /// is filled in by the page), after signing in.
    pub async fn open(&self, sess: &mut Session, code: &str) -> SignInResult {
        if self.device_flow().await?.is_none() {
            return Ok(DeviceNext::NotConfigured);
        }
        if sess.user_id.is_none() {
            let back = if code.is_empty() {
                DEVICE_PATH.to_string()
            } else {
                let q = form_urlencoded::Serializer::new(String::new())
                    .append_pair("code", code)
                    .finish();
                format!("{DEVICE_PATH}?{q}")
            };
            return self.send_to_sign_in(sess, &back).await;
        }
        session::save(self.step.ctx, sess).await?;
        Ok(DeviceNext::EnterCode)
    }

    /// `POST /device`: checks the typed code (throttled per IP and session) and starts the
    /// steps.
    pub async fn submit_code(
        &self,
        sess: &mut Session,
        client_ip: &str,
        typed: &str,
        csrf_ok: bool,
    ) -> SignInResult {
        let Some(flow) = self.device_flow().await? else {
            return Ok(DeviceNext::NotConfigured);
        };
        if sess.user_id.is_none() {
            return self.send_to_sign_in(sess, DEVICE_PATH).await;
        }
        if !csrf_ok {
            return Ok(DeviceNext::Stale);
        }
        let sid = sess.sid();
        let who = Requester {
            ip: client_ip,
            session_id: Some(&sid),
        };
        let device = match self.verification.lookup_user_code(typed, who).await {
            Ok(d) => d,
            Err(DeviceError::Throttled { retry_after }) => {
                return Ok(DeviceNext::CodeRefused(CodeRefusal::Throttled {
                    retry_after,
                }));
            }
            Err(DeviceError::InvalidCode | DeviceError::UserNotAllowed) => {
                return Ok(DeviceNext::CodeRefused(CodeRefusal::Invalid));
            }
            Err(e) => return Err(e),
        };
        let parked = Parked {
            rid: crate::crypto::secrets::random_token(24),
            user_code: device.user_code.clone(),
            stage: Stage::DeviceFlow,
        };
        self.advance(sess, client_ip, parked, &device, &flow).await
    }

    /// `GET /device/continue/?rid=…`: where the device-code and authorization flows return.
    pub async fn resume(
        &self,
        sess: &mut Session,
        client_ip: &str,
        rid: Option<&str>,
    ) -> SignInResult {
        let Some(flow) = self.device_flow().await? else {
            return Ok(DeviceNext::NotConfigured);
        };
        let parked = rid.and_then(|rid| Parked::load(sess, rid, self.now()));
        let Some(mut parked) = parked.filter(|_| sess.user_id.is_some()) else {
            return Ok(DeviceNext::Failed(DeviceFailure::NotInProgress));
        };
        let done = sess.data.oauth_done.remove(&parked.rid);
        if sess.data.oauth_declined.remove(&parked.rid) {
            // A consent stage's Deny in a flow this sign-in ran.
            return self.deny(sess, client_ip, &parked).await;
        }
        match (parked.stage, done) {
            (Stage::DeviceFlow, true) => parked.stage = Stage::Confirm,
            (Stage::Consent, true) | (Stage::Confirm, _) => {}
            _ => return Ok(DeviceNext::Failed(DeviceFailure::StepIncomplete)),
        }
        let device = match self.verification.pending(&parked.user_code).await {
            Ok(d) => d,
            Err(e) => return self.code_gone(sess, &parked, e).await,
        };
        if parked.stage == Stage::Consent {
            return self.finish(sess, client_ip, &parked, &device).await;
        }
        self.advance(sess, client_ip, parked, &device, &flow).await
    }

    /// `POST /device/decide/`: Approve (runs the authorization flow, then approves) or Deny.
    pub async fn decide(
        &self,
        sess: &mut Session,
        client_ip: &str,
        rid: Option<&str>,
        decision: Option<&str>,
        csrf_ok: bool,
    ) -> SignInResult {
        let Some(flow) = self.device_flow().await? else {
            return Ok(DeviceNext::NotConfigured);
        };
        let parked = rid
            .and_then(|rid| Parked::load(sess, rid, self.now()))
            .filter(|p| p.stage == Stage::Confirm && sess.user_id.is_some());
        let Some(mut parked) = parked else {
            return Ok(DeviceNext::Failed(DeviceFailure::NotInProgress));
        };
        if !csrf_ok {
            return Ok(DeviceNext::Stale);
        }
        let device = match self.verification.pending(&parked.user_code).await {
            Ok(d) => d,
            Err(e) => return self.code_gone(sess, &parked, e).await,
        };
        match decision {
            Some("deny") => self.deny(sess, client_ip, &parked).await,
            Some("approve") => {
                parked.stage = Stage::Consent;
                self.advance(sess, client_ip, parked, &device, &flow).await
            }
            _ => Ok(DeviceNext::Failed(DeviceFailure::NoDecision)),
        }
    }

    /// The user denied: the code is denied (the device's next poll gets `access_denied`).
    async fn deny(&self, sess: &mut Session, client_ip: &str, parked: &Parked) -> SignInResult {
        parked.forget(sess);
        session::save(self.step.ctx, sess).await?;
        let who = sess.user_id.clone();
        match self
            .verification
            .deny(&parked.user_code, who.as_deref(), client_ip)
            .await
        {
            Ok(()) => Ok(DeviceNext::UserDenied),
            Err(e) => self.code_gone(sess, parked, e).await,
        }
    }

    /// The code was used, expired or denied meanwhile (or the store failed).
    async fn code_gone(
        &self,
        sess: &mut Session,
        parked: &Parked,
        err: DeviceError,
    ) -> SignInResult {
        parked.forget(sess);
        session::save(self.step.ctx, sess).await?;
        match err {
            DeviceError::InvalidCode => Ok(DeviceNext::Failed(DeviceFailure::CodeGone)),
            DeviceError::UserNotAllowed => Ok(DeviceNext::NoAccess),
            other => Err(other),
        }
    }

    /// Runs `slug` for the parked sign-in (its request id marks completion).
    async fn run_flow(
        &self,
        sess: &mut Session,
        client_ip: &str,
        slug: &str,
        parked: &Parked,
        device: &PendingDevice,
    ) -> Result<FlowRun, DeviceError> {
        sess.data.plans.remove(slug);
        let start = Start {
            next: Some(format!("{CONTINUE_PATH}?rid={}", parked.rid)),
            application: Some(device.application_id.clone()),
            extra: flow_context(&parked.rid, device, parked.stage == Stage::Consent),
            allow_empty: true,
            ..Start::default()
        };
        let step = run_step(self.step, sess, client_ip, slug, StepRequest::Show(start)).await?;
        if sess.data.oauth_done.remove(&parked.rid) {
            return Ok(FlowRun::Done);
        }
        if let ChallengeKind::AccessDenied { error_message } = &step.challenge.kind {
            sess.data.plans.remove(slug);
            return Ok(FlowRun::Denied(error_message.clone()));
        }
        Ok(FlowRun::Waiting)
    }

    /// The confirmation step: the application's policies first, then Approve / Deny.
    async fn confirm(
        &self,
        sess: &mut Session,
        parked: &Parked,
        device: &PendingDevice,
        user_id: &str,
    ) -> SignInResult {
        match self
            .verification
            .application_allows(&parked.user_code, user_id)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                parked.forget(sess);
                session::save(self.step.ctx, sess).await?;
                return Ok(DeviceNext::NoAccess);
            }
            Err(e) => return self.code_gone(sess, parked, e).await,
        }
        parked.park(sess, self.now());
        session::save(self.step.ctx, sess).await?;
        let username = {
            let mut conn = self.step.ctx.store().read().await?;
            store::users::get(&mut conn, user_id)
                .await?
                .map(|u| u.username)
                .unwrap_or_default()
        };
        Ok(DeviceNext::Confirm(Box::new(Confirmation {
            rid: parked.rid.clone(),
            device: device.clone(),
            username,
        })))
    }

    /// Moves a parked sign-in forward as far as it goes without the user.
    async fn advance(
        &self,
        sess: &mut Session,
        client_ip: &str,
        mut parked: Parked,
        device: &PendingDevice,
        device_flow: &str,
    ) -> SignInResult {
        let Some(user_id) = sess.user_id.clone() else {
            return Ok(DeviceNext::Failed(DeviceFailure::NotInProgress));
        };
        loop {
            let slug = match parked.stage {
                Stage::Confirm => return self.confirm(sess, &parked, device, &user_id).await,
                Stage::DeviceFlow => device_flow.to_string(),
                Stage::Consent => {
                    let authz = device.authorization_flow_id.as_deref();
                    let Some(slug) = lookup::flow_slug(self.step.ctx, authz).await? else {
                        return Ok(DeviceNext::Failed(DeviceFailure::NoAuthorizationFlow));
                    };
                    slug
                }
            };
            parked.park(sess, self.now());
            match self
                .run_flow(sess, client_ip, &slug, &parked, device)
                .await?
            {
                FlowRun::Done if parked.stage == Stage::DeviceFlow => parked.stage = Stage::Confirm,
                FlowRun::Done => return self.finish(sess, client_ip, &parked, device).await,
                FlowRun::Waiting => {
                    session::save(self.step.ctx, sess).await?;
                    return Ok(DeviceNext::Redirect(format!("/if/flow/{slug}/")));
                }
                FlowRun::Denied(msg) => {
                    parked.forget(sess);
                    session::save(self.step.ctx, sess).await?;
                    return Ok(DeviceNext::FlowDenied(msg));
                }
            }
        }
    }

    /// The authorization flow completed: approve the code for this user and session.
    async fn finish(
        &self,
        sess: &mut Session,
        client_ip: &str,
        parked: &Parked,
        device: &PendingDevice,
    ) -> SignInResult {
        let Some(user_id) = sess.user_id.clone() else {
            return Ok(DeviceNext::Failed(DeviceFailure::NotInProgress));
        };
        let sid = sess.sid();
        match self
            .verification
            .approve(&parked.user_code, &user_id, &sid, client_ip)
            .await
        {
            Ok(()) => {
                parked.forget(sess);
                session::save(self.step.ctx, sess).await?;
                Ok(DeviceNext::Approved {
                    application_name: device.application_name.clone(),
                })
            }
            Err(e) => self.code_gone(sess, parked, e).await,
        }
    }
}
