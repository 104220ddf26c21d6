//! `POST /api/v3/endpoints/agents/connectors/check_in/`: an enrolled Agent reports its facts;
//! they are stored as a new snapshot of its connection.

use crate::domain::devices::DEFAULT_SNAPSHOT_EXPIRY;
use crate::domain::{self, ConnectorSettings, DeviceFactSnapshot, DeviceFacts, Duration};
use crate::service::devices::{AgentCaller, AgentRefusal};
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
        let ConnectorSettings::Agent(settings) = &caller.connector.settings;
        // The connector's expiry was validated when saved; an unreadable one (older stores)
        // falls back to authentik's default.
        let expiry = Duration::parse(&settings.snapshot_expiry)
            .or_else(|_| Duration::parse(DEFAULT_SNAPSHOT_EXPIRY))
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
        // The device may have been deleted since its token was checked: refused, not a 500.
        store::devices::connection(tx.conn(), &snapshot.connection_id)
            .await?
            .ok_or(AgentRefusal::UnknownToken)?;
        store::devices::insert_snapshot(tx.conn(), &snapshot).await?;
        store::devices::delete_expired_snapshots(tx.conn(), &snapshot.connection_id, now).await?;
        tx.touch(Topic::Devices);
        tx.commit().await?;
        Ok(snapshot)
    }
}
