//! The settings of each connector kind: authentik's connector models
//! (`authentik/endpoints/connectors/<kind>/models.py`) beyond the columns every connector has.

use serde::{Deserialize, Serialize};

use crate::domain::enums::ConnectorKind;

kind_settings!(
    /// A connector's own fields, by kind.
    ConnectorSettings: ConnectorKind {
        Agent(AgentConnectorSettings),
    }
);

/// The authentik Agent (authentik's `AgentConnector`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentConnectorSettings {
    /// How often the agent refreshes its configuration and checks in.
    pub refresh_interval: String,
    /// How long a session the agent starts lasts.
    pub auth_session_duration: String,
    pub auth_terminate_session_on_expiry: bool,
    pub nss_uid_offset: i64,
    pub nss_gid_offset: i64,
    pub challenge_idle_timeout: String,
    pub challenge_trigger_check_in: bool,
    /// OAuth2 providers whose tokens can authenticate the agent, by id.
    pub jwt_federation_providers: Vec<String>,
    /// How long a device's facts snapshot is kept (authentik's `Connector.snapshot_expiry`).
    pub snapshot_expiry: String,
}

impl Default for AgentConnectorSettings {
    fn default() -> Self {
        Self {
            refresh_interval: "minutes=30".into(),
            auth_session_duration: "hours=8".into(),
            auth_terminate_session_on_expiry: false,
            nss_uid_offset: 1000,
            nss_gid_offset: 1000,
            challenge_idle_timeout: "seconds=3".into(),
            challenge_trigger_check_in: false,
            jwt_federation_providers: Vec::new(),
            snapshot_expiry: "hours=24".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_are_authentiks() {
        let s = ConnectorSettings::default_for(ConnectorKind::Agent);
        assert_eq!(s.kind(), ConnectorKind::Agent);
        assert_eq!(
            s.to_json(),
            json!({
                "refresh_interval": "minutes=30", "auth_session_duration": "hours=8",
                "auth_terminate_session_on_expiry": false, "nss_uid_offset": 1000,
                "nss_gid_offset": 1000, "challenge_idle_timeout": "seconds=3",
                "challenge_trigger_check_in": false, "jwt_federation_providers": [],
                "snapshot_expiry": "hours=24",
            })
        );
    }

    #[test]
    fn todays_stored_json_round_trips_and_missing_fields_take_defaults() {
        // The console stored `{}`; a blueprint stores every field.
        assert_eq!(
            ConnectorSettings::from_json(ConnectorKind::Agent, &json!({})),
            ConnectorSettings::default_for(ConnectorKind::Agent)
        );
        let stored = json!({
            "refresh_interval": "hours=1", "auth_session_duration": "hours=8",
            "auth_terminate_session_on_expiry": true, "nss_uid_offset": 2000,
            "nss_gid_offset": 1000, "challenge_idle_timeout": "seconds=3",
            "challenge_trigger_check_in": false, "jwt_federation_providers": ["p-1"],
            "snapshot_expiry": "days=7",
        });
        let s = ConnectorSettings::from_json(ConnectorKind::Agent, &stored);
        assert_eq!(s.to_json(), stored);
        let ConnectorSettings::Agent(a) =
            ConnectorSettings::from_json(ConnectorKind::Agent, &json!({"nss_uid_offset": 5}));
        assert_eq!(a.nss_uid_offset, 5);
        assert_eq!(a.refresh_interval, "minutes=30");
    }
}
