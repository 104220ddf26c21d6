//! Sending one notification through one transport, as authentik's `NotificationTransport.send`
//! does: `webhook` POSTs authentik's default JSON body, `webhook_slack` the Slack/Discord
//! attachment body, `email` a message through the configured SMTP server (a recipient without
//! an address is skipped, as authentik discards it). Errors name the HTTP status or the kind of
//! failure, never the URL (it may carry a token).

use serde_json::{Value, json};

use crate::domain::{Notification, NotificationTransport, TransportMode, User};
use crate::mail::{self, Email, SmtpConfig};

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// The webhook answered with a status that is not a success.
    #[error(
        "the webhook answered HTTP {0}: check the transport's webhook_url and the receiver's logs"
    )]
    Status(u16),
    /// The webhook could not be reached or did not answer in time.
    #[error(
        "the webhook request failed: {0}; check the transport's webhook_url and that the receiver is up"
    )]
    Request(String),
    /// The email could not be sent.
    #[error("the email was not sent: {0}")]
    Mail(#[from] mail::MailError),
}

impl DeliveryError {
    /// The HTTP status, when the webhook answered one.
    pub fn status(&self) -> Option<u16> {
        match self {
            DeliveryError::Status(s) => Some(*s),
            _ => None,
        }
    }
}

/// authentik's default webhook body: the notification, its recipient and the event's user.
pub fn webhook_body(n: &Notification, user: &User) -> Value {
    let mut body = json!({
        "body": n.body, "severity": n.severity,
        "user_email": user.email, "user_username": user.username,
    });
    if let Some(event_user) = n
        .event
        .get("user")
        .filter(|u| u.as_object().is_some_and(|o| !o.is_empty()))
    {
        body["event_user_email"] = event_user.get("email").cloned().unwrap_or(Value::Null);
        body["event_user_username"] = event_user.get("username").cloned().unwrap_or(Value::Null);
    }
    body
}

/// authentik's Slack/Discord body: severity, recipient, the event's user and its string context
/// values as fields (at most 25, Discord's limit), titled with the event's action.
pub fn slack_body(n: &Notification, user: &User) -> Value {
    let mut fields = vec![
        json!({"title": "Severity", "value": n.severity, "short": true}),
        json!({"title": "Dispatched for user", "value": user.username, "short": true}),
    ];
    if let Some(name) = n.event.pointer("/user/username").and_then(Value::as_str) {
        fields.push(json!({"title": "Event user", "value": name, "short": true}));
    }
    if let Some(context) = n.event.get("context").and_then(Value::as_object) {
        for (key, value) in context {
            let Some(value) = value.as_str() else {
                continue;
            };
            if fields.len() >= 25 {
                break;
            }
            let key: String = key.chars().take(256).collect();
            let value: String = value.chars().take(1024).collect();
            fields.push(json!({"title": key, "value": value}));
        }
    }
    let title = n
        .event
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or(&n.body);
    json!({
        "username": "authentik",
        "attachments": [{
            "author_name": "authentik", "title": title, "color": "#fd4b2d", "fields": fields,
            "footer": format!("latchkey {}", env!("CARGO_PKG_VERSION")),
        }],
    })
}

/// What went wrong with a request, in words that carry no URL.
fn request_error(e: reqwest::Error) -> DeliveryError {
    let what = if e.is_timeout() {
        "no answer in time"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_redirect() {
        "redirected"
    } else {
        "the request failed"
    };
    DeliveryError::Request(format!("{what} ({})", e.without_url()))
}

async fn post(client: &reqwest::Client, url: &str, body: &Value) -> Result<(), DeliveryError> {
    let response = client
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(request_error)?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(DeliveryError::Status(status.as_u16()))
    }
}

/// The notification email (authentik's `event_notification` template's content).
fn email(n: &Notification, user: &User) -> Email {
    let title = n
        .event
        .get("action")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| n.body.chars().take(75).collect());
    let mut lines = vec![n.body.clone(), String::new()];
    if let Some(context) = n.event.get("context").and_then(Value::as_object) {
        for (key, value) in context {
            if let Some(value) = value.as_str() {
                lines.push(format!("{key}: {value}"));
            }
        }
    }
    let text = lines.join("\n");
    let html = format!(
        "<html><body><h1>{}</h1><pre>{}</pre></body></html>",
        html_escape::encode_text(&title),
        html_escape::encode_text(&text)
    );
    Email {
        to_name: user.name.clone(),
        to_address: user.email.clone(),
        subject: format!("authentik Notification: {title}"),
        text,
        html,
    }
}

/// One attempt to send `n` (for `user`) through `transport`.
pub async fn send(
    client: &reqwest::Client,
    smtp: Option<&SmtpConfig>,
    transport: &NotificationTransport,
    n: &Notification,
    user: &User,
) -> Result<(), DeliveryError> {
    match transport.mode {
        TransportMode::Local => Ok(()),
        TransportMode::Webhook => {
            post(client, &transport.webhook_url, &webhook_body(n, user)).await
        }
        TransportMode::WebhookSlack => {
            post(client, &transport.webhook_url, &slack_body(n, user)).await
        }
        TransportMode::Email => {
            if user.email.trim().is_empty() {
                tracing::info!(user = %user.username, "notification email skipped: the user has no address");
                return Ok(());
            }
            let smtp = smtp.ok_or(mail::MailError::NotConfigured)?;
            Ok(mail::send(smtp, &email(n, user)).await?)
        }
    }
}
