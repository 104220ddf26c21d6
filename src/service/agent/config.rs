//! `GET /api/v3/endpoints/agents/connectors/agent_config/`: what an enrolled Agent configures
//! itself with (authentik's `AgentConfigSerializer`).

use serde::Serialize;
use serde_json::{Value, json};

use crate::crypto::jwk::SigningKey;
use crate::domain::{CertificateKeypair, ConnectorSettings, Duration};
use crate::service::bootstrap::SELF_SIGNED_NAME;
use crate::service::devices::AgentCaller;
use crate::service::{Service, ServiceResult};
use crate::store;

/// Seconds authentik's `system_config` reports for its caches (its defaults).
const CACHE_TIMEOUT: i64 = 300;

/// authentik's `AgentConfig`, field for field (authentik-client's `models::AgentConfig`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentConfig {
    pub device_id: String,
    /// Seconds between the Agent's refreshes and check-ins.
    pub refresh_interval: i64,
    /// The slug of the connector's authorization flow.
    pub authorization_flow: Option<String>,
    /// The key tokens issued to the Agent (`auth_fed`) are signed with, as a JWKS.
    pub jwks_auth: Value,
    /// The connector's challenge key (the endpoint stage signs with it), as a JWKS.
    pub jwks_challenge: Option<Value>,
    pub nss_uid_offset: i64,
    pub nss_gid_offset: i64,
    pub auth_terminate_session_on_expiry: bool,
    pub system_config: SystemConfig,
    pub license_status: Option<&'static str>,
}

/// authentik's `Config` (`/api/v3/root/config/`) as the Agent reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemConfig {
    pub error_reporting: ErrorReporting,
    pub capabilities: Vec<&'static str>,
    pub cache_timeout: i64,
    pub cache_timeout_flows: i64,
    pub cache_timeout_policies: i64,
}

/// Error reporting is never on in latchkey.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorReporting {
    pub enabled: bool,
    pub sentry_dsn: String,
    pub environment: String,
    pub send_pii: bool,
    pub traces_sample_rate: f64,
}

impl SystemConfig {
    fn latchkey() -> Self {
        Self {
            error_reporting: ErrorReporting {
                enabled: false,
                sentry_dsn: String::new(),
                environment: String::new(),
                send_pii: false,
                traces_sample_rate: 0.0,
            },
            capabilities: Vec::new(),
            cache_timeout: CACHE_TIMEOUT,
            cache_timeout_flows: CACHE_TIMEOUT,
            cache_timeout_policies: CACHE_TIMEOUT,
        }
    }
}

/// The public JWKS (`{"keys": [jwk]}`, `use: sig`) of a stored keypair, or `None` when it is
/// gone or unusable (logged: the Agent then cannot verify, which an admin must fix).
pub(crate) fn jwks_of(keypair: Option<CertificateKeypair>) -> Option<Value> {
    let kp = keypair?;
    match SigningKey::from_keypair(&kp) {
        Ok(key) => {
            let mut jwk = key.public_jwk;
            if let Some(map) = jwk.as_object_mut() {
                map.entry("use").or_insert_with(|| json!("sig"));
            }
            Some(json!({ "keys": [jwk] }))
        }
        Err(err) => {
            tracing::error!(keypair = %kp.name, %err, "agent key unusable");
            None
        }
    }
}

impl Service {
    /// The configuration of the caller's connector for its device.
    pub async fn agent_config(&self, caller: &AgentCaller) -> ServiceResult<AgentConfig> {
        let ConnectorSettings::Agent(settings) = &caller.connector.settings;
        let mut conn = self.store().read().await?;
        let authorization_flow = match &caller.connector.authorization_flow_id {
            Some(id) => store::flows::get(&mut conn, id).await?.map(|f| f.slug),
            None => None,
        };
        let auth_key = store::certificates::get_by_name(&mut conn, SELF_SIGNED_NAME).await?;
        let challenge_key = match &caller.connector.challenge_key_id {
            Some(id) => store::certificates::get(&mut conn, id).await?,
            None => None,
        };
        let refresh_interval = Duration::parse(&settings.refresh_interval)
            .map(Duration::seconds)
            .unwrap_or(1800);
        Ok(AgentConfig {
            device_id: caller.device.id.clone(),
            refresh_interval,
            authorization_flow,
            jwks_auth: jwks_of(auth_key).unwrap_or_else(|| json!({ "keys": [] })),
            jwks_challenge: jwks_of(challenge_key),
            nss_uid_offset: settings.nss_uid_offset,
            nss_gid_offset: settings.nss_gid_offset,
            auth_terminate_session_on_expiry: settings.auth_terminate_session_on_expiry,
            system_config: SystemConfig::latchkey(),
            license_status: Some("unlicensed"),
        })
    }
}
