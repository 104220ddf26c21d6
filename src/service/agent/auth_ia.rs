//! The Agent's interactive sign-in (authentik's `auth_ia/` and `AgentInteractiveAuth`):
//!
//! 1. `POST /api/v3/endpoints/agents/connectors/auth_ia/` (the Agent, by its device token)
//!    stores a pending sign-in and answers the URL the Agent opens in a browser
//!    ([`Service::agent_auth_ia`]);
//! 2. the browser opens it carrying `X-Authentik-Platform-Auth-DTH` (the device token's SHA-256)
//!    → sign in if anonymous → the device's policies → the connector's authorization flow →
//!    a JWT for the device is issued once and handed to the Agent through
//!    `goauthentik.io://platform/finished?ak-auth-ia-token=…` ([`AgentSignIn`]).
//!
//! The sign-in is parked in the browser session under a random id (as `/device` parks its
//! sign-ins); the URL's identifier is a secret, kept only as its digest, never in the session.

use std::collections::BTreeMap;

use serde_json::json;

use crate::crypto::secrets;
use crate::domain::{DeviceAuthToken, new_id};
use crate::flows::executor::Start;
use crate::flows::session::{self, Session};
use crate::flows::{ChallengeKind, lookup};
use crate::oauth::session_step::{OAUTH_REQUEST_KEY, StepContext, StepRequest, run_step};
use crate::service::devices::AgentCaller;
use crate::service::inspect::flow_error;
use crate::service::{Service, ServiceResult};
use crate::store;

/// Where the browser opens a sign-in: `{AUTHENTICATE_PATH}{identifier}/`.
pub const AUTHENTICATE_PATH: &str = "/endpoints/agent/authenticate/";
/// Where the sign-in and the authorization flow return (`?rid=` names the parked sign-in).
pub const FINISH_PATH: &str = "/endpoints/agent/authenticate/finish/";
/// Where the browser hands the JWT to the Agent (authentik's `QS_AGENT_IA_TOKEN` query key).
pub const FINISHED_URL: &str = "goauthentik.io://platform/finished";
/// The query key of the issued JWT.
pub const IA_TOKEN_PARAM: &str = "ak-auth-ia-token";
/// The header carrying the device token's SHA-256 (hex).
pub const DEVICE_TOKEN_HASH_HEADER: &str = "X-Authentik-Platform-Auth-DTH";
/// How long the Agent's URL can be opened and the sign-in finished (10 minutes).
pub const PENDING_LIFETIME: i64 = 600;
/// How long the issued JWT lasts (authentik: three days).
pub const ISSUED_LIFETIME: i64 = 3 * 86_400;
const TOKEN_KEY: &str = "agent_auth_token";
const STEP_KEY: &str = "agent_auth_step";

/// What the browser is shown next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentSignInNext {
    /// No such sign-in, or it was used or expired (authentik: 404).
    NotFound,
    /// The browser did not carry the device token's digest (authentik: 400 "Invalid device
    /// token").
    InvalidDeviceToken,
    /// Go to a page on this server (the sign-in, or a flow's page).
    Redirect(String),
    /// There is no authentication flow to sign in with.
    NoAuthenticationFlow,
    /// The connector has no authorization flow (or it is gone).
    NoAuthorizationFlow,
    /// The device's policies deny the user ("Permission denied"), with their messages.
    Denied(Vec<String>),
    /// The authorization flow denied access, with its message.
    FlowDenied(String),
    /// No sign-in with this id is in progress in this session.
    NotInProgress,
    /// Done: hand the JWT to the Agent at this `goauthentik.io://` URL.
    Finished(String),
}

type Next = ServiceResult<AgentSignInNext>;

impl Service {
    /// Stores a pending interactive sign-in for the calling Agent and answers the URL its
    /// browser opens (with `?login_hint=` when one is given, as authentik does).
    pub async fn agent_auth_ia(
        &self,
        caller: &AgentCaller,
        login_hint: Option<&str>,
    ) -> ServiceResult<String> {
        let now = self.now();
        let identifier = uuid::Uuid::new_v4().to_string();
        let token = DeviceAuthToken {
            id: new_id(),
            identifier_digest: secrets::digest(&identifier),
            device_id: caller.device.id.clone(),
            connector_id: caller.connector.id.clone(),
            device_token_id: caller.token_id.clone(),
            login_hint: login_hint.map(str::to_string),
            created_at: now,
            expires_at: now + PENDING_LIFETIME,
            used_at: None,
            issued_digest: None,
        };
        let mut tx = self.store().write_tx().await?;
        store::device_auth_tokens::insert(tx.conn(), &token).await?;
        tx.commit().await?;
        let mut url = format!(
            "{}{AUTHENTICATE_PATH}{identifier}/",
            self.context().config().public_url
        );
        if let Some(hint) = login_hint {
            let q = form_urlencoded::Serializer::new(String::new())
                .append_pair("login_hint", hint)
                .finish();
            url.push('?');
            url.push_str(&q);
        }
        Ok(url)
    }

    /// The pending (unused, unexpired) sign-in `id`.
    async fn pending_auth_token(&self, id: &str) -> ServiceResult<Option<DeviceAuthToken>> {
        let now = self.now();
        let mut conn = self.store().read().await?;
        Ok(store::device_auth_tokens::by_id(&mut conn, id)
            .await?
            .filter(|t| t.used_at.is_none() && now < t.expires_at))
    }
}

/// Where a parked sign-in stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The brand's authentication flow is running (the visitor was anonymous).
    SignIn,
    /// The connector's authorization flow is running.
    Authorize,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::SignIn => "sign_in",
            Stage::Authorize => "authorize",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Stage::SignIn, Stage::Authorize]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A sign-in parked in the browser session: the stored sign-in's id (not its identifier).
struct Parked {
    rid: String,
    token_id: String,
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
            token_id: p.param(TOKEN_KEY)?.to_string(),
            stage: Stage::parse(p.param(STEP_KEY)?)?,
        })
    }

    fn park(&self, sess: &mut Session, now: i64) {
        let params = vec![
            (TOKEN_KEY.into(), self.token_id.clone()),
            (STEP_KEY.into(), self.stage.as_str().into()),
        ];
        sess.data.park(&self.rid, params, now);
    }

    fn forget(&self, sess: &mut Session) {
        sess.data.forget_parked(&self.rid);
    }

    fn finish_path(&self) -> String {
        format!("{FINISH_PATH}?rid={}", self.rid)
    }
}

/// The browser side of the interactive sign-in, over the service and the flow steps.
#[derive(Clone, Copy)]
pub struct AgentSignIn<'a> {
    /// The device policies and the token signing.
    pub service: &'a Service,
    /// The handle and provider snapshot the flow steps run with.
    pub step: StepContext<'a>,
}

impl AgentSignIn<'_> {
    fn now(&self) -> i64 {
        self.step.ctx.now()
    }

    /// `GET /endpoints/agent/authenticate/<identifier>/`: checks the sign-in is pending and the
    /// browser carries `device_token_hash` (the device token's SHA-256, constant-time), then
    /// parks it and goes as far as it can.
    pub async fn open(
        &self,
        sess: &mut Session,
        client_ip: &str,
        identifier: &str,
        device_token_hash: Option<&str>,
    ) -> Next {
        let digest = secrets::digest(identifier);
        let now = self.now();
        let mut conn = self.step.ctx.store().read().await?;
        let token = store::device_auth_tokens::by_identifier_digest(&mut conn, &digest)
            .await?
            .filter(|t| secrets::constant_time_eq(&t.identifier_digest, &digest))
            .filter(|t| t.used_at.is_none() && now < t.expires_at);
        let Some(token) = token else {
            return Ok(AgentSignInNext::NotFound);
        };
        let device_token = store::device_tokens::by_id(&mut conn, &token.device_token_id).await?;
        drop(conn);
        let presented = device_token_hash.unwrap_or("").trim().to_ascii_lowercase();
        let matches =
            device_token.is_some_and(|d| secrets::constant_time_eq(&d.key_digest, &presented));
        if !matches {
            return Ok(AgentSignInNext::InvalidDeviceToken);
        }
        let parked = Parked {
            rid: secrets::random_token(24),
            token_id: token.id,
            stage: Stage::SignIn,
        };
        self.advance(sess, client_ip, parked).await
    }

    /// `GET /endpoints/agent/authenticate/finish/?rid=…`: where the sign-in and the
    /// authorization flow return.
    pub async fn resume(&self, sess: &mut Session, client_ip: &str, rid: Option<&str>) -> Next {
        let Some(parked) = rid.and_then(|rid| Parked::load(sess, rid, self.now())) else {
            return Ok(AgentSignInNext::NotInProgress);
        };
        match parked.stage {
            Stage::SignIn => self.advance(sess, client_ip, parked).await,
            Stage::Authorize if sess.data.oauth_done.remove(&parked.rid) => {
                self.issue(sess, &parked).await
            }
            Stage::Authorize => Ok(AgentSignInNext::NotInProgress),
        }
    }

    /// Sign-in when anonymous, then the device's policies, then the authorization flow.
    async fn advance(&self, sess: &mut Session, client_ip: &str, mut parked: Parked) -> Next {
        let ctx = self.step.ctx;
        let Some(token) = self.service.pending_auth_token(&parked.token_id).await? else {
            return self.end(sess, &parked, AgentSignInNext::NotFound).await;
        };
        let Some(user_id) = sess.user_id.clone() else {
            let Some(slug) = lookup::authentication_flow(ctx, self.step.host(), None).await? else {
                return self
                    .end(sess, &parked, AgentSignInNext::NoAuthenticationFlow)
                    .await;
            };
            parked.park(sess, self.now());
            session::save(ctx, sess).await?;
            let q = form_urlencoded::Serializer::new(String::new())
                .append_pair("next", &parked.finish_path())
                .finish();
            return Ok(AgentSignInNext::Redirect(format!("/if/flow/{slug}/?{q}")));
        };
        let (device, connector, user) = {
            let mut conn = ctx.store().read().await?;
            (
                store::devices::by_id(&mut conn, &token.device_id).await?,
                store::connectors::by_id(&mut conn, &token.connector_id).await?,
                store::users::get(&mut conn, &user_id).await?,
            )
        };
        let (Some(device), Some(connector), Some(user)) = (device, connector, user) else {
            return self.end(sess, &parked, AgentSignInNext::NotFound).await;
        };
        let (passing, messages) = self
            .service
            .device_policies(&device, &user, client_ip)
            .await?;
        if !passing {
            return self
                .end(sess, &parked, AgentSignInNext::Denied(messages))
                .await;
        }
        let flow = connector.authorization_flow_id.as_deref();
        let Some(slug) = lookup::flow_slug(ctx, flow).await? else {
            return self
                .end(sess, &parked, AgentSignInNext::NoAuthorizationFlow)
                .await;
        };
        parked.stage = Stage::Authorize;
        parked.park(sess, self.now());
        sess.data.plans.remove(&slug);
        let start = Start {
            next: Some(parked.finish_path()),
            application: None,
            extra: BTreeMap::from([(OAUTH_REQUEST_KEY.to_string(), json!(parked.rid))]),
            allow_empty: true,
            ..Start::default()
        };
        let step = run_step(self.step, sess, client_ip, &slug, StepRequest::Show(start))
            .await
            .map_err(flow_error)?;
        if sess.data.oauth_done.remove(&parked.rid) {
            return self.issue(sess, &parked).await;
        }
        if let ChallengeKind::AccessDenied { error_message } = &step.challenge.kind {
            sess.data.plans.remove(&slug);
            let denied = AgentSignInNext::FlowDenied(error_message.clone());
            return self.end(sess, &parked, denied).await;
        }
        session::save(ctx, sess).await?;
        Ok(AgentSignInNext::Redirect(format!("/if/flow/{slug}/")))
    }

    /// The authorization flow completed: issue the JWT once (the stored sign-in is claimed by
    /// a conditional UPDATE) and hand it to the Agent.
    async fn issue(&self, sess: &mut Session, parked: &Parked) -> Next {
        let ctx = self.step.ctx;
        let now = self.now();
        let token = self.service.pending_auth_token(&parked.token_id).await?;
        let (Some(token), Some(user_id)) = (token, sess.user_id.clone()) else {
            return self.end(sess, parked, AgentSignInNext::NotFound).await;
        };
        let (device, user) = {
            let mut conn = ctx.store().read().await?;
            (
                store::devices::by_id(&mut conn, &token.device_id).await?,
                store::users::get(&mut conn, &user_id).await?,
            )
        };
        let (Some(device), Some(user)) = (device, user.filter(|u| u.is_active)) else {
            return self.end(sess, parked, AgentSignInNext::NotFound).await;
        };
        let jwt = self
            .service
            .sign_agent_token(
                &device,
                &user,
                Some(&token.id),
                (now, now + ISSUED_LIFETIME),
            )
            .await?;
        let mut tx = ctx.store().write_tx().await?;
        let claimed =
            store::device_auth_tokens::claim(tx.conn(), &token.id, &secrets::digest(&jwt), now)
                .await?;
        tx.commit().await?;
        if !claimed {
            return self.end(sess, parked, AgentSignInNext::NotFound).await;
        }
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair(IA_TOKEN_PARAM, &jwt)
            .finish();
        let finished = AgentSignInNext::Finished(format!("{FINISHED_URL}?{q}"));
        self.end(sess, parked, finished).await
    }

    /// Forgets the parked sign-in and answers `next`.
    async fn end(&self, sess: &mut Session, parked: &Parked, next: AgentSignInNext) -> Next {
        parked.forget(sess);
        session::save(self.step.ctx, sess).await?;
        Ok(next)
    }
}
