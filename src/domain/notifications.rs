//! authentik's notification objects (`authentik/events/models.py`): transports say how a
//! notification leaves (`local` only keeps it for the user, `webhook`, `webhook_slack`,
//! `email`), rules say which events make one (their bound policies), with which severity and
//! for whom; a notification is what one user received for one event.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Timestamp;
use super::enums::string_enum;

string_enum!(
    /// How a transport sends (authentik's `TransportMode`).
    TransportMode {
        Local => ("local", "authentik inbuilt notifications"),
        Webhook => ("webhook", "Generic Webhook"),
        WebhookSlack => ("webhook_slack", "Slack Webhook (Slack/Discord)"),
        Email => ("email", "Email"),
    } default Local
);

string_enum!(
    /// A notification's severity (authentik's `NotificationSeverity`).
    NotificationSeverity {
        Notice => ("notice", "Notice"),
        Warning => ("warning", "Warning"),
        Alert => ("alert", "Alert"),
    } default Notice
);

/// How a rule's notifications are sent (authentik's `NotificationTransport`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationTransport {
    pub id: String,
    pub name: String,
    pub mode: TransportMode,
    /// Where `webhook` and `webhook_slack` POST to.
    pub webhook_url: String,
    /// Send once per event, to the first recipient only (a chat channel).
    pub send_once: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// Which events notify whom (authentik's `NotificationRule`): a policy binding target whose
/// policies are evaluated with the event in the request context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationRule {
    pub id: String,
    pub name: String,
    pub severity: NotificationSeverity,
    /// The group whose members receive it.
    pub destination_group_id: Option<String>,
    /// The event's own user receives it too.
    pub destination_event_user: bool,
    /// The transports, by id (sorted).
    pub transport_ids: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// One notification one user received (authentik's `Notification`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    pub user_id: String,
    /// The rule that made it (none once deleted).
    pub rule_id: Option<String>,
    pub severity: NotificationSeverity,
    /// The event's summary (its `message`, else `action: context`).
    pub body: String,
    pub event_id: Option<String>,
    /// A copy of the event as policies saw it (events expire before notifications do).
    pub event: Value,
    pub seen: bool,
    pub created_at: Timestamp,
}

/// authentik's `Event.summary`: the context's `message` when there is one, else
/// `action: context`.
pub fn event_summary(action: &str, context: &Value) -> String {
    match context.get("message").and_then(Value::as_str) {
        Some(m) => m.to_string(),
        None => format!("{action}: {context}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_summary_is_the_message_else_action_and_context() {
        assert_eq!(
            event_summary("login_failed", &json!({"message": "bad password"})),
            "bad password"
        );
        assert_eq!(
            event_summary("login_failed", &json!({"username": "bob"})),
            "login_failed: {\"username\":\"bob\"}"
        );
    }
}
