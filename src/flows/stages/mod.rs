//! One module per stage kind. A stage turns the plan's state into a challenge and consumes a
//! response; it never knows which view renders it.

mod authenticator_static;
mod authenticator_totp;
mod authenticator_validate;
mod authenticator_webauthn;
mod consent;
mod deny;
mod device_facts;
mod email;
mod endpoint;
mod identification;
mod invitation;
mod password;
mod prompt;
mod redirect;
mod user_login;
mod user_logout;
mod user_write;
mod webauthn_validate;

use serde_json::Value;

use super::FlowResult;
use super::challenge::{ChallengeKind, Response};
use super::context::Plan;
use super::env::{Effect, Env};
use crate::domain::{Flow, Stage, StageKind, StageSettings};
use crate::store;

pub use authenticator_totp::BUILTIN_TOTP_SETUP;
pub use consent::{CONSENT_GIVEN, CONSENT_HEADER, CONSENT_PERMISSIONS, DECLINED_MESSAGE};
pub use email::{LinkMail, SEND_FAILED, send_link_mail};
pub use password::{Backends, PasswordCheck, app_password_owner, verify_user_password};

/// Everything a stage may look at and change.
pub struct StageCtx<'a> {
    /// The request environment.
    pub env: &'a Env,
    /// The flow.
    pub flow: &'a Flow,
    /// This stage.
    pub stage: &'a Stage,
    /// The plan (context and scratch).
    pub plan: &'a mut Plan,
    /// Session effects to apply.
    pub effects: &'a mut Vec<Effect>,
}

impl StageCtx<'_> {
    fn scratch(&self, key: &str) -> Option<&Value> {
        self.plan.scratch(&self.stage.id, key)
    }
    fn set_scratch(&mut self, key: &str, value: Value) {
        let id = self.stage.id.clone();
        self.plan.set_scratch(&id, key, value);
    }
    /// The user this stage acts on: the pending user, else the session's user.
    fn user_id(&self) -> Option<String> {
        self.plan
            .context
            .pending_user
            .clone()
            .or_else(|| self.env.session_user.clone())
    }
    /// What to call the user on screen.
    fn display_user(&self) -> String {
        self.plan
            .context
            .pending_user_identifier
            .clone()
            .unwrap_or_default()
    }
}

/// The relative URL of the flow `id` names (authentik's `if-flow` URL) with the query this
/// flow was opened with, so `next` survives the detour; `None` when unset or deleted.
async fn flow_url(sc: &StageCtx<'_>, id: Option<&str>) -> FlowResult<Option<String>> {
    let Some(id) = id.filter(|i| !i.is_empty()) else {
        return Ok(None);
    };
    let flow = {
        let mut conn = sc.env.store.read().await?;
        store::flows::get(&mut conn, id).await?
    };
    Ok(flow.map(|f| flow_page_url(&f.slug, &sc.plan.context.query)))
}

/// A flow's page (`/if/flow/<slug>/`) with `query`, the parameters the current flow was opened
/// with (authentik's `reverse_with_qs` over the session's query), so `next` survives the move.
pub fn flow_page_url(slug: &str, query: &std::collections::BTreeMap<String, String>) -> String {
    let path = format!("/if/flow/{slug}/");
    if query.is_empty() {
        return path;
    }
    let encoded: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query.iter())
        .finish();
    format!("{path}?{encoded}")
}

/// What a stage shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Show {
    /// Ask the user.
    Challenge(ChallengeKind),
    /// Nothing to ask: the stage is done.
    Next,
    /// Stop the flow with a message.
    Deny(String),
}

/// What a stage made of a response.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Done: go on.
    Next,
    /// Not acceptable: `invalid_response_action` decides.
    Invalid {
        /// The field at fault (`non_field_errors` for the form).
        field: String,
        /// The message.
        message: String,
    },
    /// Stop the flow (deny or cancel).
    Deny(String),
}

impl Reply {
    fn invalid(field: &str, message: &str) -> Self {
        Reply::Invalid {
            field: field.to_string(),
            message: message.to_string(),
        }
    }
}

/// Loads a stage by id (built-in stages inserted at run time included).
pub async fn load(env: &Env, stage_id: &str) -> FlowResult<Stage> {
    if stage_id == BUILTIN_TOTP_SETUP {
        return Ok(Stage {
            id: BUILTIN_TOTP_SETUP.into(),
            name: "built-in TOTP setup".into(),
            settings: StageSettings::default_for(StageKind::AuthenticatorTotp),
            created_at: env.now,
            updated_at: env.now,
            version: 1,
        });
    }
    let mut conn = env.store.read().await?;
    store::stages::get(&mut conn, stage_id)
        .await?
        .ok_or_else(|| super::FlowError::NotFound(format!("stage {stage_id}")))
}

/// The stage's challenge (or that it needs none).
pub async fn challenge(sc: &mut StageCtx<'_>) -> FlowResult<Show> {
    // The stage outlives the context's borrow, so its settings can be read while `sc` changes.
    let stage = sc.stage;
    match &stage.settings {
        StageSettings::Identification(s) => identification::challenge(sc, s).await,
        StageSettings::Password(s) => password::challenge(sc, s).await,
        StageSettings::AuthenticatorValidate(s) => authenticator_validate::challenge(sc, s).await,
        StageSettings::AuthenticatorTotp(s) => authenticator_totp::challenge(sc, s).await,
        StageSettings::Consent(s) => consent::challenge(sc, s).await,
        StageSettings::UserLogin(s) => user_login::run(sc, s).await,
        StageSettings::UserLogout(_) => user_logout::run(sc).await,
        StageSettings::UserWrite(s) => user_write::run(sc, s).await,
        StageSettings::Prompt(s) => prompt::challenge(sc, s).await,
        StageSettings::Deny(s) => Ok(deny::challenge(s)),
        StageSettings::Redirect(s) => redirect::challenge(sc, s).await,
        StageSettings::Endpoint(s) => endpoint::challenge(sc, s).await,
        StageSettings::Invitation(s) => invitation::challenge(sc, s).await,
        StageSettings::AuthenticatorStatic(s) => authenticator_static::challenge(sc, s).await,
        StageSettings::AuthenticatorWebauthn(s) => authenticator_webauthn::challenge(sc, s).await,
        StageSettings::Email(s) => email::challenge(sc, s).await,
    }
}

/// Applies a response to the stage.
pub async fn respond(sc: &mut StageCtx<'_>, response: &Response) -> FlowResult<Reply> {
    let stage = sc.stage;
    match &stage.settings {
        StageSettings::Identification(s) => identification::respond(sc, s, response).await,
        StageSettings::Password(s) => password::respond(sc, s, response).await,
        StageSettings::AuthenticatorValidate(s) => {
            authenticator_validate::respond(sc, s, response).await
        }
        StageSettings::AuthenticatorTotp(s) => authenticator_totp::respond(sc, s, response).await,
        StageSettings::Consent(s) => consent::respond(sc, s, response).await,
        StageSettings::Prompt(s) => prompt::respond(sc, s, response).await,
        StageSettings::Endpoint(s) => endpoint::respond(sc, s, response).await,
        StageSettings::AuthenticatorStatic(s) => {
            authenticator_static::respond(sc, s, response).await
        }
        StageSettings::AuthenticatorWebauthn(s) => {
            authenticator_webauthn::respond(sc, s, response).await
        }
        StageSettings::Email(s) => email::respond(sc, s).await,
        // Stages without a form accept no response.
        _ => Ok(Reply::invalid(
            "non_field_errors",
            "This stage takes no input.",
        )),
    }
}
