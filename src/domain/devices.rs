//! authentik's endpoint devices: a device (known by its serial), its connection to a connector,
//! the facts a check-in reports through that connection, and the Agent's key for it. authentik
//! keeps the token and the facts on the connection, not the device, so one device can be
//! reached through several connectors; latchkey follows that shape.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Timestamp;

/// How long a facts snapshot counts as current when the connector says nothing else
/// (authentik's `Connector.snapshot_expiry` default).
pub const DEFAULT_SNAPSHOT_EXPIRY: &str = "hours=24";

/// An enrolled machine (authentik's `Device`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Device {
    pub id: String,
    /// The serial number the Agent reported at enrollment; unique.
    pub identifier: String,
    pub name: String,
    /// The group whose policy bindings decide who may sign in on it.
    pub access_group_id: Option<String>,
    /// False: never expires (then `expires_at` is ignored).
    pub expiring: bool,
    pub expires_at: Option<Timestamp>,
    pub attributes: Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Device {
    /// True when the device has expired at `now`; its Agent is then refused.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expiring && self.expires_at.is_some_and(|at| at <= now)
    }
}

/// A device reached through one Agent connector (authentik's `AgentDeviceConnection`): what the
/// device token and the facts snapshots hang on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentDeviceConnection {
    pub id: String,
    pub device_id: String,
    pub connector_id: String,
    pub created_at: Timestamp,
}

/// The facts one check-in reported (authentik's `DeviceFactSnapshot`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceFactSnapshot {
    pub id: String,
    pub connection_id: String,
    pub data: DeviceFacts,
    pub created_at: Timestamp,
    /// From the connector's snapshot expiry; `None` never expires.
    pub expires_at: Option<Timestamp>,
}

/// The Agent's key for one connection (authentik's `DeviceToken`): only the key's SHA-256
/// digest is kept; the key is shown to the Agent once, at enrollment. It never expires; a new
/// enrollment replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceToken {
    pub id: String,
    pub connection_id: String,
    /// Hex SHA-256 of the key.
    pub key_digest: String,
    pub created_at: Timestamp,
}

/// A pending interactive sign-in of the Agent (authentik's `DeviceAuthenticationToken`): the
/// browser URL carries a random identifier, kept only as its digest; the JWT is issued once
/// (`used_at`), before `expires_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceAuthToken {
    pub id: String,
    /// Hex SHA-256 of the identifier in the sign-in URL.
    pub identifier_digest: String,
    pub device_id: String,
    pub connector_id: String,
    /// The device token that asked (the page checks the browser carries its digest).
    pub device_token_id: String,
    pub login_hint: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    /// Hex SHA-256 of the JWT issued.
    pub issued_digest: Option<String>,
}

/// The facts as authentik stores them: the `DeviceFactsRequest` JSON (os, hardware, disks,
/// network, software, users, groups, processes, vendor), kept whole so nothing the Agent sends
/// is lost and policies see exactly what authentik's would.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeviceFacts(pub Value);

/// One top-level section of the facts, in the order a detail view shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FactSection {
    Os,
    Hardware,
    Disks,
    Network,
    Software,
    Users,
    Groups,
    Processes,
    Vendor,
}

impl FactSection {
    /// Every section, in display order.
    pub const ALL: [FactSection; 9] = [
        FactSection::Os,
        FactSection::Hardware,
        FactSection::Disks,
        FactSection::Network,
        FactSection::Software,
        FactSection::Users,
        FactSection::Groups,
        FactSection::Processes,
        FactSection::Vendor,
    ];

    /// The section's key in authentik's facts JSON.
    pub fn key(self) -> &'static str {
        match self {
            FactSection::Os => "os",
            FactSection::Hardware => "hardware",
            FactSection::Disks => "disks",
            FactSection::Network => "network",
            FactSection::Software => "software",
            FactSection::Users => "users",
            FactSection::Groups => "groups",
            FactSection::Processes => "processes",
            FactSection::Vendor => "vendor",
        }
    }

    /// A heading for the section.
    pub fn title(self) -> &'static str {
        match self {
            FactSection::Os => "Operating system",
            FactSection::Hardware => "Hardware",
            FactSection::Disks => "Disks",
            FactSection::Network => "Network",
            FactSection::Software => "Software",
            FactSection::Users => "Users",
            FactSection::Groups => "Groups",
            FactSection::Processes => "Processes",
            FactSection::Vendor => "Vendor",
        }
    }
}

impl DeviceFacts {
    /// The section's JSON, if the Agent reported it (a JSON `null` counts as not reported).
    pub fn section(&self, section: FactSection) -> Option<&Value> {
        self.0.get(section.key()).filter(|v| !v.is_null())
    }

    /// How many entries a list section (software, processes, …) holds; 0 when absent.
    pub fn count(&self, section: FactSection) -> usize {
        self.section(section)
            .and_then(Value::as_array)
            .map_or(0, Vec::len)
    }

    /// `os.name`, e.g. "Ubuntu".
    pub fn os_name(&self) -> Option<&str> {
        self.os_field("name")
    }

    /// `os.version`, e.g. "24.04".
    pub fn os_version(&self) -> Option<&str> {
        self.os_field("version")
    }

    /// `os.family`, e.g. "linux".
    pub fn os_family(&self) -> Option<&str> {
        self.os_field("family")
    }

    fn os_field(&self, field: &str) -> Option<&str> {
        self.section(FactSection::Os)?.get(field)?.as_str()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn device(expiring: bool, expires_at: Option<Timestamp>) -> Device {
        Device {
            id: "d".into(),
            identifier: "SERIAL".into(),
            name: "laptop".into(),
            access_group_id: None,
            expiring,
            expires_at,
            attributes: json!({}),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn a_device_expires_only_when_expiring_and_past_its_time() {
        assert!(!device(false, Some(10)).is_expired(20));
        assert!(!device(true, None).is_expired(20));
        assert!(!device(true, Some(30)).is_expired(20));
        assert!(device(true, Some(20)).is_expired(20));
    }

    #[test]
    fn facts_sections_read_authentiks_keys() {
        let facts = DeviceFacts(json!({
            "os": {"family": "linux", "name": "Ubuntu", "version": "24.04"},
            "software": [{"name": "a"}, {"name": "b"}],
            "network": null,
        }));
        assert_eq!(facts.os_name(), Some("Ubuntu"));
        assert_eq!(facts.os_version(), Some("24.04"));
        assert_eq!(facts.os_family(), Some("linux"));
        assert_eq!(facts.count(FactSection::Software), 2);
        assert_eq!(facts.count(FactSection::Processes), 0);
        assert!(facts.section(FactSection::Network).is_none());
        assert!(DeviceFacts::default().os_name().is_none());
    }
}
