//! Use-cases shared by the console and the HTTP server: every create, update and delete goes
//! through here, so both front ends apply the same validation and publish the same changes.

pub mod admin;
pub mod bootstrap;
pub mod catalog;
pub mod cert_export;
pub mod clock;
pub mod console_queries;
pub mod device;
pub mod events;
pub mod objects;

use std::sync::Arc;

pub use clock::{Clock, SystemClock};

use crate::crypto::CryptoError;
use crate::domain::FieldErrors;
use crate::store::{Store, StoreError};

/// Settings the use-cases need from the command line.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The public base URL (no trailing slash): the issuer and every absolute URL derive from it,
    /// never from a Host header.
    pub public_url: String,
}

impl ServiceConfig {
    /// Normalises the public URL (drops a trailing slash).
    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_string(),
        }
    }
}

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
}

/// Result alias for use-cases.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// The use-case layer: the store, configuration and injected clock, cheap to clone.
#[derive(Clone)]
pub struct Service {
    store: Store,
    config: Arc<ServiceConfig>,
    clock: Arc<dyn Clock>,
}

impl Service {
    /// Wires a service over an open store.
    pub fn new(store: Store, config: ServiceConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            config: Arc::new(config),
            clock,
        }
    }

    /// The store (for subscribing to changes).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// Now, from the injected clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
