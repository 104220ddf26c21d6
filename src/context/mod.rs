//! The handle every layer below the front ends takes: the store, the injected clock, the
//! configuration and the audit-event recorder. It sits under `flows`, `oauth` and `service`, so
//! protocol code never reaches up into the admin use-cases to get at the store or the time.

mod actor;
pub mod clock;
mod events;
pub mod instances;

use std::sync::Arc;

pub use actor::local_actor;
pub use clock::{Clock, ManualClock, SystemClock};
pub use events::EventSubject;
pub use instances::{Health, InstanceInfo, Registration, ServerInstance};

use crate::store::Store;

/// Settings every layer reads, from the command line.
#[derive(Debug, Clone)]
pub struct Config {
    /// The public base URL (no trailing slash): the issuer and every absolute URL derive from it,
    /// never from a Host header.
    pub public_url: String,
    /// The brute-force throttle of sign-ins.
    pub login: LoginLimits,
    /// Where email goes out (`--smtp-url`); `None`: the email stage and "send recovery email"
    /// answer that no server is configured.
    pub smtp: Option<crate::mail::SmtpConfig>,
    /// The Have I Been Pwned range API's base URL the password policy asks (`--hibp-url`;
    /// `GET <base>/range/<5 hex digits>`).
    pub hibp_url: String,
}

/// authentik's Have I Been Pwned range API.
pub const DEFAULT_HIBP_URL: &str = "https://api.pwnedpasswords.com";

impl Config {
    /// Normalises the public URL (drops a trailing slash); default limits.
    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_string(),
            login: LoginLimits::default(),
            smtp: None,
            hibp_url: DEFAULT_HIBP_URL.to_string(),
        }
    }
}

/// When failed sign-ins are slowed and refused (see `flows::login_throttle`); README "Limits".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failures of one username from one address before that pair is refused for a while
    /// (attempts are delayed from half this count on); 0 turns the throttle off.
    pub lockout_after: i64,
    /// Failures from one address, for any usernames, before the address is refused.
    pub ip_lockout_after: i64,
    /// Failures of one username from any addresses before each attempt is delayed.
    pub slowdown_after: i64,
    /// How long failures are remembered after the last one.
    pub window_seconds: i64,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            lockout_after: 5,
            ip_lockout_after: 30,
            slowdown_after: 10,
            window_seconds: 15 * 60,
        }
    }
}

impl LoginLimits {
    /// False when the throttle is turned off.
    pub fn enabled(self) -> bool {
        self.lockout_after > 0
    }
}

/// Store + clock + configuration, cheap to clone (everything inside is shared).
#[derive(Clone)]
pub struct Context {
    store: Store,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    /// When each configuration problem was last recorded (see
    /// [`Context::report_configuration_error`]).
    reported: Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
}

impl Context {
    /// A handle over an open store.
    pub fn new(store: Store, config: Config, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            config: Arc::new(config),
            clock,
            reported: Arc::default(),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The public base URL (no trailing slash).
    pub fn public_url(&self) -> &str {
        &self.config.public_url
    }

    /// Now, from the injected clock, in unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The injected clock itself (for helpers that outlive one call).
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }
}
