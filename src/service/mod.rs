//! Use-cases shared by the console and the HTTP server: every create, update and delete goes
//! through here, so both front ends apply the same validation and publish the same changes.

pub mod accounts;
pub mod agent;
pub mod api_access;
pub mod applications;
pub mod blueprints;
pub mod bootstrap;
pub mod catalog;
pub mod certificates;
pub mod dashboard;
pub mod device;
pub mod devices;
pub mod directory;
pub mod enrollment;
pub mod events;
pub mod executions;
pub mod expressions;
pub mod inspect;
pub mod invitations;
pub mod maintenance;
pub mod notify;
pub mod objects;
pub mod providers;
pub mod recovery;
pub mod sessions;
pub mod token_preview;
pub mod usages;
pub mod user_library;
pub mod users;
pub mod web_certificates;

use std::sync::Arc;

use crate::context::{Clock, Config, Context};

use crate::crypto::CryptoError;
use crate::domain::{Actor, FieldError, FieldErrors};
use crate::store::{Store, StoreError};

/// Why a use-case failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("invalid input: {0}")]
    Invalid(#[from] FieldErrors),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Refused(String),
    /// An Agent's device token was refused (the HTTP layer answers 403).
    #[error(transparent)]
    AgentRefused(#[from] devices::AgentRefusal),
}

impl ServiceError {
    /// True when the object was saved by someone else since it was loaded (reload, then retry).
    pub fn is_stale(&self) -> bool {
        matches!(self, ServiceError::Store(StoreError::Stale { .. }))
    }

    /// The fields this failure concerns, each with what to do, so a form can mark them in
    /// place; empty when the failure concerns no one field.
    pub fn field_errors(&self) -> Vec<FieldError> {
        let at = |field: &str, message: String| FieldError {
            field: field.to_string(),
            message,
        };
        match self {
            ServiceError::Invalid(errors) => errors.0.clone(),
            ServiceError::Store(StoreError::Duplicate { field, .. }) => field
                .split(", ")
                .map(|f| at(f, "already taken: choose another".into()))
                .collect(),
            ServiceError::Crypto(c) => {
                use CryptoError as C;
                let field = match c {
                    C::BadKey(_) | C::EncryptedKey | C::KeyMismatch => "key_data",
                    _ => "certificate_data",
                };
                vec![at(field, c.to_string())]
            }
            _ => Vec::new(),
        }
    }
}

/// Result alias for use-cases.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// The admin use-cases, over the [`Context`] handle; cheap to clone.
#[derive(Clone)]
pub struct Service {
    ctx: Context,
    /// Who the use-cases act for: every change they make is recorded as this actor's.
    actor: Actor,
}

impl Service {
    /// Wires a service over an open store.
    pub fn new(store: Store, config: Config, clock: Arc<dyn Clock>) -> Self {
        Self {
            ctx: Context::new(store, config, clock),
            actor: Actor::system(),
        }
    }

    /// The use-cases over an existing handle.
    pub fn from_context(ctx: Context) -> Self {
        Self {
            ctx,
            actor: Actor::system(),
        }
    }

    /// The same use-cases acting for `actor` (the console's or CLI's operating-system user, a
    /// signed-in admin over HTTP): the audit trail records their changes as theirs.
    pub fn acting_as(&self, actor: Actor) -> Self {
        Self {
            ctx: self.ctx.clone(),
            actor,
        }
    }

    /// Who the use-cases act for.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The handle the protocol layers take.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// The store (for subscribing to changes).
    pub fn store(&self) -> &Store {
        self.ctx.store()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.ctx.config()
    }

    /// Now, from the injected clock.
    pub fn now(&self) -> i64 {
        self.ctx.now()
    }
}
