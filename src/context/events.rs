//! Recording audit events (authentik's action names) in their own short transaction.

use serde_json::Value;

use super::Context;
use crate::domain::actor::ORIGIN_HTTP;
use crate::domain::{Event, new_id};
use crate::store::{StoreResult, Topic, events};

/// Who and where an event is about.
#[derive(Debug, Clone, Default)]
pub struct EventSubject {
    pub username: String,
    pub user_id: Option<String>,
    pub client_ip: String,
    pub app: String,
    /// Where it came from ([`crate::domain::Actor::origin`]); empty means "http", which is
    /// where the protocol layers' events come from.
    pub origin: String,
}

impl Context {
    /// Records an event in its own short transaction and notifies the console.
    pub async fn record_event(
        &self,
        action: &str,
        subject: EventSubject,
        context: Value,
    ) -> StoreResult<()> {
        let event = Event {
            id: new_id(),
            action: action.to_string(),
            username: subject.username,
            user_id: subject.user_id,
            app: subject.app,
            client_ip: subject.client_ip,
            origin: if subject.origin.is_empty() {
                ORIGIN_HTTP.to_string()
            } else {
                subject.origin
            },
            context,
            brand: String::new(),
            created_at: self.now(),
        };
        let mut tx = self.store().write_tx().await?;
        events::insert(tx.conn(), &event).await?;
        tx.touch(Topic::Events);
        tx.commit().await
    }
}
