//! Flows that log people in: the planner (bindings + policies → plan), the executor (a state
//! machine over the plan kept in the session), one module per stage kind, and the policy engine.
//! Nothing here knows about HTTP: stages produce [`challenge::Challenge`]s and consume
//! [`challenge::Response`]s; `http/` renders them as HTML or authentik's JSON.

pub mod challenge;
pub mod context;
pub mod env;
pub mod executor;
pub mod flow_token;
pub mod login_throttle;
pub mod lookup;
pub mod planner;
pub mod policy;
pub mod recorder;
pub mod session;
pub mod session_binding;
pub mod simulate;
pub mod stages;
pub mod webauthn;

pub use challenge::{Challenge, ChallengeKind, LogoutFrame, Response};
pub use context::{FlowContext, Plan, PlannedStage};
pub use env::{Effect, Env, RequestInfo};
pub use recorder::{Mode, PolicyTrace, Recorder};

use crate::store::StoreError;

/// Why a flow step failed for reasons other than the user's input.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Hashing failed.
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    /// No flow has this slug.
    #[error("flow {0} not found")]
    NotFound(String),
    /// A blocking task panicked or was cancelled.
    #[error("internal task failed: {0}")]
    Task(String),
}

/// Result alias for flow operations.
pub type FlowResult<T> = Result<T, FlowError>;

/// Events the flow engine records (authentik's action names).
pub mod actions {
    /// A user logged in.
    pub const LOGIN: &str = "login";
    /// A login attempt failed.
    pub const LOGIN_FAILED: &str = "login_failed";
    /// A user logged out.
    pub const LOGOUT: &str = "logout";
    /// A password was set.
    pub const PASSWORD_SET: &str = "password_set";
    /// A policy errored.
    pub const POLICY_EXCEPTION: &str = "policy_exception";
    /// A policy decided something worth recording (latchkey: a flow denied by a binding).
    pub const POLICY_EXECUTION: &str = "policy_execution";
    /// Something looked like an attack (replayed code, throttled attempts).
    pub const SUSPICIOUS_REQUEST: &str = "suspicious_request";
    /// A user was written by user_write.
    pub const USER_WRITE: &str = "user_write";
    /// An invitation let someone into an enrollment flow.
    pub const INVITATION_USED: &str = "invitation_used";
    /// The email stage sent its email.
    pub const EMAIL_SENT: &str = "email_sent";
    /// A user authorized an application (its slug in the event's `app`), also by approving a
    /// device code.
    pub const AUTHORIZE_APPLICATION: &str = "authorize_application";
    /// Something is configured so that it cannot work (authentik's `configuration_error`).
    pub const CONFIGURATION_ERROR: &str = "configuration_error";
}
