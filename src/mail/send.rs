//! Sending one message with lettre: the transport is built from the parsed URL for this send
//! (the configuration is small and sends are rare), with lettre's per-command timeout as the
//! connect limit and a tokio timeout around the whole send.

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::MailError;
use super::config::{SmtpConfig, SmtpEndpoint, TlsMode};

/// One message to send: a plain-text and an HTML alternative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The recipient's display name (may be empty).
    pub to_name: String,
    /// The recipient's address.
    pub to_address: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

fn mailbox(name: &str, address: &str) -> Result<Mailbox, MailError> {
    let address = address
        .trim()
        .parse()
        .map_err(|_| MailError::BadAddress(address.to_string()))?;
    let name = (!name.trim().is_empty()).then(|| name.trim().to_string());
    Ok(Mailbox::new(name, address))
}

fn message(config: &SmtpConfig, email: &Email) -> Result<Message, MailError> {
    Message::builder()
        .from(mailbox("", &config.from)?)
        .to(mailbox(&email.to_name, &email.to_address)?)
        .subject(email.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|e| MailError::Build(e.to_string()))
}

fn transport(
    config: &SmtpConfig,
    endpoint: &SmtpEndpoint,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let tls_error = |e: lettre::transport::smtp::Error| MailError::BadUrl(e.to_string());
    let builder = match endpoint.tls {
        TlsMode::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&endpoint.host),
        TlsMode::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&endpoint.host)
            .map_err(tls_error)?,
        TlsMode::Implicit => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&endpoint.host).map_err(tls_error)?
        }
    };
    let mut builder = builder
        .port(endpoint.port)
        .timeout(Some(config.connect_timeout));
    if let Some(user) = &endpoint.username {
        let password = config.password.read()?;
        let password = password.as_ref().map(|s| s.expose()).unwrap_or_default();
        builder = builder.credentials(Credentials::new(user.clone(), password.to_string()));
    }
    Ok(builder.build())
}

/// Sends `email` through the configured server; errors say why without any secret.
pub async fn send(config: &SmtpConfig, email: &Email) -> Result<(), MailError> {
    let endpoint = SmtpEndpoint::parse(&config.url)?;
    let message = message(config, email)?;
    let transport = transport(config, &endpoint)?;
    match tokio::time::timeout(config.total_timeout, transport.send(message)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(MailError::Send(e.to_string())),
        Err(_) => Err(MailError::Timeout(config.total_timeout.as_secs())),
    }
}
