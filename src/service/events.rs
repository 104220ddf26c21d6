//! Reading the audit trail (recording is [`crate::context::Context::record_event`]).

use super::{Service, ServiceResult};
use crate::domain::Event;
use crate::store::events;

impl Service {
    /// The newest events, newest first.
    pub async fn recent_events(&self, limit: i64) -> ServiceResult<Vec<Event>> {
        let mut conn = self.store().read().await?;
        Ok(events::recent(&mut conn, limit).await?)
    }
}
