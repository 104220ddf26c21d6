//! `POST /api/v3/endpoints/agents/connectors/auth_fed/?device=<name>`: the Agent's federated
//! sign-in. An access token of an OAuth2 provider the device's connector federates (e.g. the
//! `authentik-cli` token from the device flow) is exchanged for a token the Agent's session
//! runs on, once the device's access group (or the device) lets the user in.

use jsonwebtoken::Header;
use serde_json::json;

use crate::context::EventSubject;
use crate::crypto::jwk::SigningKey;
use crate::crypto::secrets;
use crate::domain::{ConnectorSettings, Device, Duration, PolicyEngineMode, User};
use crate::flows::policy::{PolicyRequest, evaluate_target};
use crate::flows::{Env, FlowContext, actions};
use crate::service::bootstrap::SELF_SIGNED_NAME;
use crate::service::inspect::flow_error;
use crate::service::{Service, ServiceError, ServiceResult};
use crate::store::{self, Conn};

/// The issuer of the tokens the Agent's sessions run on (authentik's `PLATFORM_ISSUER`).
pub const PLATFORM_ISSUER: &str = "goauthentik.io/platform";

/// What the Agent receives: its session token and how many seconds it lasts.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSession {
    pub token: String,
    pub expires_in: i64,
}

/// Why a federated sign-in was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFedRefusal {
    /// No such device, or the token is not a live access token of a provider its connector
    /// federates, or its user is inactive (authentik: not authenticated, 403).
    #[error("not authenticated")]
    NotAuthenticated,
    /// The device's policies deny the user (authentik: 400 with the policy messages).
    #[error("policy denied access")]
    PolicyDenied(Vec<String>),
}

/// The device, user and federating connector a presented token stands for.
struct Federated {
    device: Device,
    user: User,
    connector: crate::domain::Connector,
    token_id: String,
    provider_id: String,
}

async fn federated(
    conn: &mut Conn,
    raw_token: &str,
    device_name: &str,
    now: i64,
) -> ServiceResult<Option<Federated>> {
    let Some(device) = store::devices::by_name_or_ssh_host_key(conn, device_name).await? else {
        return Ok(None);
    };
    let mut connectors = Vec::new();
    for connection in store::devices::connections_of(conn, &device.id).await? {
        if let Some(c) = store::connectors::by_id(conn, &connection.connector_id).await? {
            connectors.push(c);
        }
    }
    let digest = secrets::digest(raw_token);
    let Some(at) = store::grants::find_access_token(conn, &digest)
        .await?
        .filter(|t| secrets::constant_time_eq(&t.token_digest, &digest))
        .filter(|t| t.revoked_at.is_none() && now < t.expires_at)
    else {
        return Ok(None);
    };
    let federates = |c: &crate::domain::Connector| {
        let ConnectorSettings::Agent(a) = &c.settings;
        c.enabled && a.jwt_federation_providers.contains(&at.provider_id)
    };
    let Some(connector) = connectors.into_iter().find(federates) else {
        return Ok(None);
    };
    let Some(user) = store::users::get(conn, &at.user_id)
        .await?
        .filter(|u| u.is_active)
    else {
        return Ok(None);
    };
    Ok(Some(Federated {
        device,
        user,
        connector,
        token_id: at.id,
        provider_id: at.provider_id,
    }))
}

impl Service {
    /// Exchanges `raw_token` for the Agent's session token on the device named `device_name`,
    /// as authentik's `auth_fed` does, and records a `login` event (method `jwt`; no secret).
    pub async fn agent_auth_fed(
        &self,
        raw_token: &str,
        device_name: &str,
        client_ip: &str,
    ) -> ServiceResult<Result<AgentSession, AuthFedRefusal>> {
        let now = self.now();
        let found = {
            let mut conn = self.store().read().await?;
            federated(&mut conn, raw_token, device_name, now).await?
        };
        let Some(fed) = found else {
            return Ok(Err(AuthFedRefusal::NotAuthenticated));
        };
        let (passing, messages) = self
            .device_policies(&fed.device, &fed.user, client_ip)
            .await?;
        if !passing {
            return Ok(Err(AuthFedRefusal::PolicyDenied(messages)));
        }
        let ConnectorSettings::Agent(settings) = &fed.connector.settings;
        let lifetime = Duration::parse(&settings.auth_session_duration)
            .map(Duration::seconds)
            .unwrap_or(8 * 3600);
        let token = self
            .sign_agent_token(&fed.device, &fed.user, None, (now, now + lifetime))
            .await?;
        let subject = EventSubject {
            username: fed.user.username.clone(),
            user_id: Some(fed.user.id.clone()),
            client_ip: client_ip.to_string(),
            ..EventSubject::default()
        };
        let context = json!({
            "auth_method": "jwt",
            "auth_method_args": {"jwt": {"token_id": fed.token_id},
                                 "provider": {"pk": fed.provider_id}},
            "device": {"pk": fed.device.id, "name": fed.device.name},
        });
        self.context()
            .record_event(actions::LOGIN, subject, context)
            .await?;
        Ok(Ok(AgentSession {
            token,
            expires_in: lifetime,
        }))
    }

    /// authentik's `check_device_policies`: the device's access group lets the user in, else
    /// the device's own bindings must; a target without bindings denies.
    pub(crate) async fn device_policies(
        &self,
        device: &Device,
        user: &User,
        client_ip: &str,
    ) -> ServiceResult<(bool, Vec<String>)> {
        let env = Env::new(self.context(), client_ip, Some(user.id.clone()));
        let req = PolicyRequest::load(&env, Some(&user.id), &FlowContext::default())
            .await
            .map_err(flow_error)?;
        let mut messages = Vec::new();
        let targets = device
            .access_group_id
            .iter()
            .chain(std::iter::once(&device.id));
        for target in targets {
            let has_bindings = {
                let mut conn = self.store().read().await?;
                store::policies::bindings_of(&mut conn, target)
                    .await?
                    .iter()
                    .any(|b| b.enabled)
            };
            if !has_bindings {
                continue;
            }
            let result = evaluate_target(&env, target, PolicyEngineMode::Any, &req)
                .await
                .map_err(flow_error)?;
            if result.passing {
                return Ok((true, result.messages));
            }
            messages.extend(result.messages);
        }
        Ok((false, messages))
    }

    /// A token signed as authentik's `agent_auth_issue_token` signs it: by the instance's own
    /// key (latchkey's self-signed certificate), `iss` the platform, `aud` the device; `jti`
    /// when the token stands for a stored sign-in (the interactive one).
    pub(crate) async fn sign_agent_token(
        &self,
        device: &Device,
        user: &User,
        jti: Option<&str>,
        (now, exp): (i64, i64),
    ) -> ServiceResult<String> {
        let kp = {
            let mut conn = self.store().read().await?;
            store::certificates::get_by_name(&mut conn, SELF_SIGNED_NAME).await?
        }
        .ok_or_else(|| ServiceError::NotFound(format!("certificate {SELF_SIGNED_NAME}")))?;
        let key = SigningKey::from_keypair(&kp)?;
        let mut header = Header::new(key.algorithm);
        header.kid = Some(key.kid.clone());
        let mut claims = json!({
            "iss": PLATFORM_ISSUER,
            "aud": device.id,
            "iat": now,
            "exp": exp,
            "preferred_username": user.username,
        });
        if let Some(jti) = jti {
            claims["jti"] = json!(jti);
        }
        Ok(key.signer.sign_jwt(&header, &claims)?)
    }
}
