//! Endpoint devices as the console, the endpoint stage and the Agent's API read them: the
//! device list, one device with its latest facts, and which device an Agent's key belongs to.

use serde::Serialize;

use super::{Service, ServiceError, ServiceResult};
use crate::crypto::secrets;
use crate::domain::{AgentDeviceConnection, Connector, Device, DeviceFactSnapshot, Timestamp};
use crate::store::{self, Topic};

/// Why an Agent's key was refused. The HTTP layer answers every one alike (403 with DRF's
/// `PermissionDenied` body, as authentik does), so a caller learns nothing about which check
/// failed; the variants exist for tests and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AgentRefusal {
    /// No token has this key (never issued, replaced by a new enrollment, or its device went).
    #[error("unknown agent token")]
    UnknownToken,
    /// The token's connector is disabled.
    #[error("the connector is disabled")]
    ConnectorDisabled,
    /// The token's device has expired.
    #[error("the device has expired")]
    DeviceExpired,
}

/// The device, connection and connector an Agent's device token stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentCaller {
    pub device: Device,
    pub connection: AgentDeviceConnection,
    pub connector: Connector,
    /// The id of the device token that authenticated (for throttling and events; not the key).
    pub token_id: String,
}

/// One device as a list shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceSummary {
    pub id: String,
    pub name: String,
    /// The serial number.
    pub identifier: String,
    /// From the latest facts snapshot.
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    /// When the latest facts snapshot was stored.
    pub last_check_in: Option<Timestamp>,
    pub connector_id: Option<String>,
    pub connector_name: Option<String>,
    pub access_group_id: Option<String>,
    pub access_group_name: Option<String>,
}

/// One device with everything a detail view shows: the summary, the device itself and its
/// latest facts (read sections with `facts.data.section(FactSection::…)`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceDetail {
    pub summary: DeviceSummary,
    pub device: Device,
    pub facts: Option<DeviceFactSnapshot>,
}

fn summary_of(l: store::devices::DeviceListing) -> DeviceSummary {
    DeviceSummary {
        id: l.device.id,
        name: l.device.name,
        identifier: l.device.identifier,
        os_name: l.os_name,
        os_version: l.os_version,
        last_check_in: l.last_check_in,
        connector_id: l.connector_id,
        connector_name: l.connector_name,
        access_group_id: l.device.access_group_id,
        access_group_name: l.access_group_name,
    }
}

impl Service {
    /// Every enrolled device, by name then serial.
    pub async fn list_devices(&self) -> ServiceResult<Vec<DeviceSummary>> {
        let mut conn = self.store().read().await?;
        let listings = store::devices::listings(&mut conn).await?;
        Ok(listings.into_iter().map(summary_of).collect())
    }

    /// One device with its latest facts, or `None` when there is no such device.
    pub async fn device_detail(&self, id: &str) -> ServiceResult<Option<DeviceDetail>> {
        let mut tx = self.store().read_tx().await?;
        let Some(listing) = store::devices::listing(tx.conn(), id).await? else {
            return Ok(None);
        };
        let facts = store::devices::latest_snapshot(tx.conn(), id).await?;
        tx.finish().await?;
        let device = listing.device.clone();
        Ok(Some(DeviceDetail {
            summary: summary_of(listing),
            device,
            facts,
        }))
    }

    /// Deletes a device with its connections, device tokens and facts (its Agent is refused
    /// from then on); `NotFound` when there is no such device.
    pub async fn delete_device(&self, id: &str) -> ServiceResult<()> {
        let mut tx = self.store().write_tx().await?;
        if !store::devices::delete(tx.conn(), id).await? {
            return Err(ServiceError::NotFound(format!("device {id}")));
        }
        tx.touch(Topic::Devices);
        tx.commit().await?;
        Ok(())
    }

    /// Which device an Agent's device token (`Authorization: Bearer+agent <key>`) stands for:
    /// found by the key's SHA-256 digest, compared in constant time; refused when unknown, when
    /// its connector is disabled or when its device has expired. The key is never logged.
    pub async fn authenticate_agent(&self, key: &str) -> ServiceResult<AgentCaller> {
        let digest = secrets::digest(key);
        let mut tx = self.store().read_tx().await?;
        let token = store::device_tokens::by_key_digest(tx.conn(), &digest)
            .await?
            .filter(|t| secrets::constant_time_eq(&t.key_digest, &digest))
            .ok_or(AgentRefusal::UnknownToken)?;
        let connection = store::devices::connection(tx.conn(), &token.connection_id)
            .await?
            .ok_or(AgentRefusal::UnknownToken)?;
        let device = store::devices::by_id(tx.conn(), &connection.device_id)
            .await?
            .ok_or(AgentRefusal::UnknownToken)?;
        let connector = store::connectors::by_id(tx.conn(), &connection.connector_id)
            .await?
            .ok_or(AgentRefusal::UnknownToken)?;
        tx.finish().await?;
        if !connector.enabled {
            return Err(AgentRefusal::ConnectorDisabled.into());
        }
        if device.is_expired(self.now()) {
            return Err(AgentRefusal::DeviceExpired.into());
        }
        Ok(AgentCaller {
            device,
            connection,
            connector,
            token_id: token.id,
        })
    }
}
