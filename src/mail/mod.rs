//! Outgoing email: the SMTP configuration (`--smtp-url`, `LATCHKEY_SMTP_*`), the templates the
//! email stage renders (`templates/email/`) and sending with lettre under a connect and a total
//! timeout, so an unreachable server is an error, never a hang. Nothing here logs or returns
//! the SMTP password.

mod config;
mod send;
mod templates;

pub use config::{PasswordSource, Secret, SmtpConfig, SmtpEndpoint, TlsMode};
pub use send::{Email, send};
pub use templates::{
    ACCOUNT_CONFIRMATION, PASSWORD_RESET, Rendered, TEMPLATES, Template, TemplateVars, render,
};

/// Why an email was not sent; every message is safe to show an administrator and to put in a
/// `configuration_error` event (no password, no link).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// No SMTP server is configured.
    #[error("no SMTP server is configured (set --smtp-url / LATCHKEY_SMTP_URL)")]
    NotConfigured,
    /// The SMTP URL cannot be used.
    #[error("the SMTP URL is not usable: {0}")]
    BadUrl(String),
    /// An address (from or to) is not an email address.
    #[error("not an email address: {0}")]
    BadAddress(String),
    /// The password file cannot be read.
    #[error("cannot read the SMTP password file: {0}")]
    Password(String),
    /// The stage names a template latchkey does not have.
    #[error("unknown email template '{0}'")]
    UnknownTemplate(String),
    /// The message could not be built.
    #[error("cannot build the message: {0}")]
    Build(String),
    /// The server refused, or the connection failed.
    #[error("sending failed: {0}")]
    Send(String),
    /// The server did not answer in time.
    #[error("the SMTP server did not answer within {0} s")]
    Timeout(u64),
}
