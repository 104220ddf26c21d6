//! Client errors: each one a single line that says what happened and what to do.

/// Why a client command failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached (connection refused, DNS, TLS, timeout).
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The server answered something that is not what a latchkey/authentik server sends.
    #[error("unexpected answer from {url}: {reason}")]
    BadResponse { url: String, reason: String },
    /// The server refused the request with an OAuth error.
    #[error("the server refused: {0}")]
    Refused(String),
    /// The user denied the sign-in at the verification page.
    #[error("the sign-in was denied at the verification page")]
    Denied,
    /// Nobody approved the code in time.
    #[error("the code expired before it was approved; run `latchkey login` again")]
    Expired,
    /// No stored tokens.
    #[error("not logged in; run `latchkey login --url URL` first")]
    NotLoggedIn,
    /// The stored session cannot be renewed any more.
    #[error("the session has ended ({0}); run `latchkey login` again")]
    SessionEnded(String),
    /// The command line is inconsistent.
    #[error("{0}")]
    Usage(String),
    /// The token file could not be read or written.
    #[error("token file {path}: {reason}")]
    TokenFile { path: String, reason: String },
}

impl ClientError {
    /// A request to `url` that could not be sent or answered (connection, DNS, TLS, timeout);
    /// the URL is said once, here, not again in reqwest's own text.
    pub(crate) fn unreachable(url: &str, err: reqwest::Error) -> Self {
        ClientError::Unreachable {
            url: url.to_string(),
            reason: one_line(&err.without_url()),
        }
    }
}

/// An error and its sources on one line.
pub(crate) fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out.replace(['\n', '\r'], " ")
}
