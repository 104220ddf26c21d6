//! Recording audit events (authentik's action names).

use serde_json::Value;

use super::{Service, ServiceResult};
use crate::domain::{Event, new_id};
use crate::store::{Topic, events};

/// Who and where an event is about.
#[derive(Debug, Clone, Default)]
pub struct EventSubject {
    pub username: String,
    pub user_id: Option<String>,
    pub client_ip: String,
    pub app: String,
}

impl Service {
    /// Records an event in its own short transaction and notifies the console.
    pub async fn record_event(
        &self,
        action: &str,
        subject: EventSubject,
        context: Value,
    ) -> ServiceResult<()> {
        let event = Event {
            id: new_id(),
            action: action.to_string(),
            username: subject.username,
            user_id: subject.user_id,
            app: subject.app,
            client_ip: subject.client_ip,
            context,
            brand: String::new(),
            created_at: self.now(),
        };
        let mut tx = self.store().write_tx().await?;
        events::insert(tx.conn(), &event).await?;
        tx.touch(Topic::Events);
        tx.commit().await?;
        Ok(())
    }

    /// The newest events, newest first.
    pub async fn recent_events(&self, limit: i64) -> ServiceResult<Vec<Event>> {
        let mut conn = self.store().read().await?;
        Ok(events::recent(&mut conn, limit).await?)
    }
}
