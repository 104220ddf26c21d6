//! OAuth error codes (RFC 6749 §4.1.2.1, §5.2; RFC 7009; RFC 8628 §3.5) with the HTTP status each
//! one takes, so every endpoint answers the same way.

/// An OAuth error, with a description safe to show the client (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    /// The RFC error code (`invalid_request`, `invalid_client`, …).
    pub code: &'static str,
    /// A human description for `error_description`.
    pub description: String,
    /// Seconds a throttled client must wait (answered 429 with this `Retry-After`).
    pub throttled_for: Option<u64>,
}

impl OAuthError {
    fn new(code: &'static str, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            throttled_for: None,
        }
    }

    /// Too many requests from this client: retry in `seconds` (429, `Retry-After: seconds`).
    /// Not `slow_down`, which tells a polling device to lengthen its interval.
    pub fn throttled(what: &str, seconds: u64) -> Self {
        Self {
            throttled_for: Some(seconds),
            ..Self::new(
                "temporarily_unavailable",
                format!("too many {what} from this address; retry in {seconds} seconds"),
            )
        }
    }

    /// The request is malformed.
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new("invalid_request", d)
    }
    /// Client authentication failed (answered with 401 and `WWW-Authenticate`).
    pub fn invalid_client(d: impl Into<String>) -> Self {
        Self::new("invalid_client", d)
    }
    /// The grant (code, refresh token, credentials) is invalid, expired, revoked or not ours.
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new("invalid_grant", d)
    }
    /// The client may not use this grant type.
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new("unauthorized_client", d)
    }
    /// The grant type is unknown.
    pub fn unsupported_grant_type(d: impl Into<String>) -> Self {
        Self::new("unsupported_grant_type", d)
    }
    /// The scope is invalid or wider than allowed.
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new("invalid_scope", d)
    }
    /// The token type is not supported (RFC 7009).
    pub fn unsupported_token_type(d: impl Into<String>) -> Self {
        Self::new("unsupported_token_type", d)
    }
    /// Something failed on our side; the client may retry.
    pub fn server_error(d: impl Into<String>) -> Self {
        Self::new("server_error", d)
    }
    /// The server cannot answer now (the store was busy past its deadline); retry shortly.
    /// Answered with 503 and `Retry-After` (RFC 6749 §4.1.2.1's `temporarily_unavailable`).
    pub fn temporarily_unavailable(d: impl Into<String>) -> Self {
        Self::new("temporarily_unavailable", d)
    }

    /// A failure of ours, logged with its details and answered without them: a busy store is
    /// `temporarily_unavailable` (retry), anything else `server_error`.
    pub fn internal<E: std::fmt::Display + 'static>(what: &str, e: E) -> Self {
        let busy = (&e as &dyn std::any::Any)
            .downcast_ref::<crate::store::StoreError>()
            .is_some_and(crate::store::StoreError::is_busy);
        if busy {
            tracing::warn!(error = %e, "{what}: store busy");
            return Self::temporarily_unavailable("the server is busy; retry in a second");
        }
        tracing::error!(error = %e, "{what}");
        Self::server_error("the server could not complete the request; try again")
    }

    /// Seconds the client should wait before retrying, for answers that have one.
    pub fn retry_after(&self) -> Option<u64> {
        self.throttled_for
            .or((self.code == "temporarily_unavailable").then_some(1))
    }

    /// Device flow: the user has not finished yet.
    pub fn authorization_pending() -> Self {
        Self::new(
            "authorization_pending",
            "the user has not approved the request yet",
        )
    }

    /// Device flow: the client polls faster than allowed; it must add 5 s to its interval.
    pub fn slow_down() -> Self {
        Self::new(
            "slow_down",
            "polling too fast: wait 5 more seconds between requests from now on",
        )
    }
    /// Device flow: the user refused the request.
    pub fn access_denied() -> Self {
        Self::new("access_denied", "the user denied the request")
    }
    /// Device flow: the device code expired before the user approved it.
    pub fn expired_token() -> Self {
        Self::new(
            "expired_token",
            "the device code has expired; start the device flow again",
        )
    }

    /// The HTTP status this error is sent with.
    pub fn status(&self) -> u16 {
        if self.throttled_for.is_some() {
            return 429;
        }
        match self.code {
            "invalid_client" => 401,
            "server_error" => 500,
            "temporarily_unavailable" => 503,
            _ => 400,
        }
    }
}
