//! `POST /api/v3/endpoints/agents/connectors/enroll/`: an enrollment token's key turns a
//! machine into a device of the token's connector, with a fresh device token.

use crate::crypto::secrets;
use crate::domain::{self, AgentDeviceConnection, Device, DeviceToken};
use crate::service::devices::AgentRefusal;
use crate::service::{Service, ServiceResult};
use crate::store::{self, Topic};

/// What an enrollment made: the device and connection, and the device token's key, shown to
/// the Agent this once (only its digest is stored).
#[derive(Debug, Clone, PartialEq)]
pub struct Enrollment {
    pub device: Device,
    pub connection: AgentDeviceConnection,
    pub device_token_key: String,
}

/// Characters in a device token's key (authentik's `generate_key`: 128 alphanumerics).
const DEVICE_TOKEN_LEN: usize = 128;

impl Service {
    /// Enrolls the machine with serial `device_serial` through the enrollment token whose key
    /// is `enrollment_key`, as authentik does: the device is found by its serial or made (named
    /// `device_name`, in the token's access group, not expiring), its connection to the token's
    /// connector is made if missing, and the connection's device token is replaced (the old key
    /// stops working). A wrong or expired key, or a disabled connector, is refused and changes
    /// nothing.
    pub async fn enroll_device(
        &self,
        enrollment_key: &str,
        device_serial: &str,
        device_name: &str,
    ) -> ServiceResult<Enrollment> {
        let token = self
            .enrollment_token_for_key(enrollment_key)
            .await?
            .ok_or(AgentRefusal::UnknownToken)?;
        let now = self.now();
        let mut tx = self.store().write_tx().await?;
        let connector = store::connectors::by_id(tx.conn(), &token.connector_id)
            .await?
            .ok_or(AgentRefusal::UnknownToken)?;
        if !connector.enabled {
            return Err(AgentRefusal::ConnectorDisabled.into());
        }
        let device = match store::devices::by_identifier(tx.conn(), device_serial).await? {
            Some(device) => device,
            None => {
                let device = Device {
                    id: domain::new_id(),
                    identifier: device_serial.to_string(),
                    name: device_name.to_string(),
                    access_group_id: token.device_group_id.clone(),
                    expiring: false,
                    expires_at: None,
                    attributes: serde_json::json!({}),
                    created_at: now,
                    updated_at: now,
                };
                store::devices::insert(tx.conn(), &device).await?;
                device
            }
        };
        let connection =
            match store::devices::connection_between(tx.conn(), &device.id, &connector.id).await? {
                Some(connection) => connection,
                None => {
                    let connection = AgentDeviceConnection {
                        id: domain::new_id(),
                        device_id: device.id.clone(),
                        connector_id: connector.id.clone(),
                        created_at: now,
                    };
                    store::devices::insert_connection(tx.conn(), &connection).await?;
                    connection
                }
            };
        let key = secrets::random_alnum(DEVICE_TOKEN_LEN);
        let device_token = DeviceToken {
            id: domain::new_id(),
            connection_id: connection.id.clone(),
            key_digest: secrets::digest(&key),
            created_at: now,
        };
        store::device_tokens::replace(tx.conn(), &device_token).await?;
        tx.touch(Topic::Devices);
        tx.commit().await?;
        Ok(Enrollment {
            device,
            connection,
            device_token_key: key,
        })
    }
}
