//! One module per stage kind. A stage turns the plan's state into a challenge and consumes a
//! response; it never knows which view renders it.

mod authenticator_totp;
mod authenticator_validate;
mod consent;
mod deny;
mod identification;
mod password;
mod prompt;
mod redirect;
mod user_login;
mod user_logout;
mod user_write;

use serde_json::{Value, json};

use super::FlowResult;
use super::challenge::{ChallengeKind, Response};
use super::context::Plan;
use super::env::{Effect, Env};
use crate::domain::{Flow, Stage, StageKind};
use crate::store;

pub use authenticator_totp::BUILTIN_TOTP_SETUP;
pub use password::verify_user_password;

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
    fn setting(&self, key: &str) -> Option<&Value> {
        self.stage.settings.get(key).filter(|v| !v.is_null())
    }
    fn setting_str(&self, key: &str, default: &str) -> String {
        self.setting(key)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_string()
    }
    fn setting_bool(&self, key: &str, default: bool) -> bool {
        self.setting(key)
            .and_then(Value::as_bool)
            .unwrap_or(default)
    }
    fn setting_i64(&self, key: &str, default: i64) -> i64 {
        self.setting(key).and_then(Value::as_i64).unwrap_or(default)
    }
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
            kind: StageKind::AuthenticatorTotp,
            settings: json!({"digits": 6}),
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
    match sc.stage.kind {
        StageKind::Identification => Ok(identification::challenge(sc)),
        StageKind::Password => Ok(password::challenge(sc)),
        StageKind::AuthenticatorValidate => authenticator_validate::challenge(sc).await,
        StageKind::AuthenticatorTotp => authenticator_totp::challenge(sc).await,
        StageKind::Consent => consent::challenge(sc).await,
        StageKind::UserLogin => user_login::run(sc).await,
        StageKind::UserLogout => user_logout::run(sc).await,
        StageKind::UserWrite => user_write::run(sc).await,
        StageKind::Prompt => prompt::challenge(sc).await,
        StageKind::Deny => Ok(deny::challenge(sc)),
        StageKind::Redirect => Ok(redirect::challenge(sc)),
        StageKind::Endpoint => Ok(if sc.setting_str("mode", "optional") == "required" {
            Show::Deny("Endpoint device checks are not available.".into())
        } else {
            Show::Next
        }),
    }
}

/// Applies a response to the stage.
pub async fn respond(sc: &mut StageCtx<'_>, response: &Response) -> FlowResult<Reply> {
    match sc.stage.kind {
        StageKind::Identification => identification::respond(sc, response).await,
        StageKind::Password => password::respond(sc, response).await,
        StageKind::AuthenticatorValidate => authenticator_validate::respond(sc, response).await,
        StageKind::AuthenticatorTotp => authenticator_totp::respond(sc, response).await,
        StageKind::Consent => consent::respond(sc, response).await,
        StageKind::Prompt => prompt::respond(sc, response).await,
        // Stages without a form accept no response.
        _ => Ok(Reply::invalid(
            "non_field_errors",
            "This stage takes no input.",
        )),
    }
}
