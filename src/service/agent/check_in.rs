//! `POST /api/v3/endpoints/agents/connectors/check_in/`: an enrolled Agent reports its facts;
//! they are stored as a new snapshot of its connection.

use crate::domain::devices::DEFAULT_SNAPSHOT_EXPIRY;
use crate::domain::{self, DeviceFactSnapshot, DeviceFacts, Duration};
use crate::service::devices::AgentCaller;
use crate::service::{Service, ServiceResult};
use crate::store::{self, Topic};

impl Service {
    /// Stores `facts` (already validated) as the newest snapshot of the caller's connection,
    /// expiring after the connector's snapshot expiry; the connection's older snapshots that
    /// have expired go at the same time (its newest always stays).
    pub async fn check_in(
        &self,
        caller: &AgentCaller,
        facts: DeviceFacts,
    ) -> ServiceResult<DeviceFactSnapshot> {
        let now = self.now();
        let expiry = Duration::parse(DEFAULT_SNAPSHOT_EXPIRY)
            .map(Duration::seconds)
            .unwrap_or(86_400);
        let snapshot = DeviceFactSnapshot {
            id: domain::new_id(),
            connection_id: caller.connection.id.clone(),
            data: facts,
            created_at: now,
            expires_at: Some(now + expiry),
        };
        let mut tx = self.store().write_tx().await?;
        store::devices::insert_snapshot(tx.conn(), &snapshot).await?;
        store::devices::delete_expired_snapshots(tx.conn(), &snapshot.connection_id, now).await?;
        tx.touch(Topic::Devices);
        tx.commit().await?;
        Ok(snapshot)
    }
}
