//! authentik's endpoint objects beside the connector: device access groups (which devices a
//! policy binding lets in) and the Agent's enrollment tokens. Their end-to-end use (enrolling a
//! device) is issue 17; here they exist as objects blueprints and the console manage.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Timestamp;

/// A group of enrolled devices (authentik's `DeviceAccessGroup`); policy bindings target it to
/// say who may sign in on its devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceAccessGroup {
    pub id: String,
    pub name: String,
    pub attributes: Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}

/// A key a new device enrolls with through an Agent connector (authentik's
/// `EnrollmentToken`). Only the key's SHA-256 digest is kept; the key itself is shown once
/// where it is made and never stored, logged or exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrollmentToken {
    pub id: String,
    pub name: String,
    pub connector_id: String,
    /// The group an enrolled device joins.
    pub device_group_id: Option<String>,
    /// Hex SHA-256 of the key.
    pub key_digest: String,
    /// False: never expires (then `expires_at` is ignored).
    pub expiring: bool,
    pub expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub version: i64,
}
