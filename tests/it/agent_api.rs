//! The authentik Agent's side of latchkey: devices enrolled with the platform fixtures'
//! enrollment token, their check-ins, and the device token that authenticates the Agent.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use latchkey::blueprint::{Source, read_sources};
use latchkey::context::{Config, ManualClock};
use latchkey::domain::{DeviceFacts, FactSection, Kind, Object};
use latchkey::service::devices::AgentRefusal;
use latchkey::service::{Service, ServiceError};
use latchkey::store;
use serde_json::json;

use crate::support::{ADMIN_PASSWORD, temp_store};

/// The enrollment token's key in fixtures/blueprints/platform/agent.yaml.
pub(crate) const ENROLL_KEY: &str = "test-enroll-key";
const T0: i64 = 1_800_000_000;

fn platform_sources() -> Vec<Source> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/blueprints/platform");
    let files: Vec<PathBuf> = ["cli.yaml", "agent.yaml"]
        .iter()
        .map(|f| dir.join(f))
        .collect();
    read_sources(&files).expect("read platform fixtures")
}

/// A bootstrapped service on a manual clock with the platform's cli.yaml and agent.yaml.
async fn platform_service() -> (tempfile::TempDir, Service, Arc<ManualClock>) {
    let (dir, store) = temp_store().await;
    let clock = Arc::new(ManualClock::new(T0));
    let service = Service::new(store, Config::new("http://127.0.0.1"), clock.clone());
    service
        .bootstrap(Some(ADMIN_PASSWORD))
        .await
        .expect("bootstrap");
    service
        .apply_blueprints(&platform_sources())
        .await
        .expect("platform blueprints");
    (dir, service, clock)
}

/// Rows of each device table (to prove a refusal changed nothing).
async fn device_rows(s: &Service) -> Vec<i64> {
    let mut conn = s.store().read().await.expect("read");
    let mut counts = Vec::new();
    for table in [
        "devices",
        "device_connections",
        "device_tokens",
        "device_fact_snapshots",
    ] {
        counts.push(
            store::rows::count_rows(&mut conn, table)
                .await
                .expect("count"),
        );
    }
    counts
}

fn facts() -> DeviceFacts {
    DeviceFacts(json!({
        "os": {"family": "linux", "name": "Ubuntu", "version": "24.04", "arch": "x86_64"},
        "hardware": {"model": "ThinkPad", "manufacturer": "Lenovo", "serial": "SN-1",
                     "cpu_name": "i7", "cpu_count": 8, "memory_bytes": 17_179_869_184_u64},
        "software": [{"name": "openssl", "version": "3.0", "source": "dpkg"}],
        "processes": [{"id": 1, "name": "systemd"}],
    }))
}

fn refusal(err: ServiceError) -> AgentRefusal {
    match err {
        ServiceError::AgentRefused(r) => r,
        other => panic!("expected an agent refusal, got {other}"),
    }
}

#[tokio::test]
async fn enrolled_device_checks_in_and_reads_back_with_its_group_connector_and_facts() {
    let (_dir, s, clock) = platform_service().await;
    let enrolled = s
        .enroll_device(ENROLL_KEY, "SN-1", "laptop-1")
        .await
        .expect("enroll");
    assert_eq!(enrolled.device_token_key.len(), 160);
    let caller = s
        .authenticate_agent(&enrolled.device_token_key)
        .await
        .expect("the device token authenticates");
    assert_eq!(caller.device.identifier, "SN-1");
    assert_eq!(caller.connector.name, "agent");

    clock.advance(5);
    s.check_in(&caller, facts()).await.expect("check in");

    let list = s.list_devices().await.expect("list");
    assert_eq!(list.len(), 1);
    let d = &list[0];
    assert_eq!(
        (d.name.as_str(), d.identifier.as_str()),
        ("laptop-1", "SN-1")
    );
    assert_eq!(d.os_name.as_deref(), Some("Ubuntu"));
    assert_eq!(d.os_version.as_deref(), Some("24.04"));
    assert_eq!(d.last_check_in, Some(T0 + 5));
    assert_eq!(d.connector_name.as_deref(), Some("agent"));
    assert_eq!(d.access_group_name.as_deref(), Some("workstation-prod"));

    let detail = s
        .device_detail(&d.id)
        .await
        .expect("detail")
        .expect("exists");
    let snapshot = detail.facts.expect("a snapshot");
    assert_eq!(snapshot.expires_at, Some(T0 + 5 + 86_400));
    assert_eq!(snapshot.data.count(FactSection::Software), 1);
    assert_eq!(
        snapshot.data.section(FactSection::Hardware).expect("hw")["model"],
        "ThinkPad"
    );
    assert!(s.device_detail("no-such").await.expect("detail").is_none());
}

#[tokio::test]
async fn enrolling_again_keeps_the_device_and_replaces_its_token() {
    let (_dir, s, _clock) = platform_service().await;
    let first = s.enroll_device(ENROLL_KEY, "SN-1", "a").await.expect("1");
    let second = s.enroll_device(ENROLL_KEY, "SN-1", "b").await.expect("2");
    assert_eq!(first.device.id, second.device.id);
    assert_eq!(
        second.device.name, "a",
        "get-or-create keeps the first name"
    );
    assert_eq!(device_rows(&s).await, vec![1, 1, 1, 0]);
    let err = s
        .authenticate_agent(&first.device_token_key)
        .await
        .expect_err("the replaced key is refused");
    assert_eq!(refusal(err), AgentRefusal::UnknownToken);
    s.authenticate_agent(&second.device_token_key)
        .await
        .expect("the new key works");
}

#[tokio::test]
async fn wrong_keys_a_disabled_connector_an_expired_or_deleted_device_are_refused() {
    let (_dir, s, clock) = platform_service().await;
    let err = s
        .enroll_device("wrong", "SN-1", "x")
        .await
        .expect_err("wrong key");
    assert_eq!(refusal(err), AgentRefusal::UnknownToken);
    assert_eq!(device_rows(&s).await, vec![0, 0, 0, 0]);

    let enrolled = s.enroll_device(ENROLL_KEY, "SN-1", "x").await.expect("ok");
    let key = enrolled.device_token_key.clone();
    let err = s.authenticate_agent("wrong").await.expect_err("wrong");
    assert_eq!(refusal(err), AgentRefusal::UnknownToken);

    // Expired device.
    let mut device = enrolled.device.clone();
    device.expiring = true;
    device.expires_at = Some(T0 + 10);
    {
        let mut tx = s.store().write_tx().await.expect("tx");
        store::devices::update(tx.conn(), &device)
            .await
            .expect("update");
        tx.commit().await.expect("commit");
    }
    s.authenticate_agent(&key).await.expect("not yet expired");
    clock.advance(10);
    let err = s.authenticate_agent(&key).await.expect_err("expired");
    assert_eq!(refusal(err), AgentRefusal::DeviceExpired);

    // Disabled connector: refused for the device token and for enrollment.
    let mut conn = s.store().read().await.expect("read");
    let mut connector = match store::objects::list(&mut conn, Kind::Connector)
        .await
        .expect("list")
        .pop()
    {
        Some(Object::Connector(c)) => c,
        other => panic!("no connector: {other:?}"),
    };
    drop(conn);
    connector.enabled = false;
    s.save(&Object::Connector(connector), false)
        .await
        .expect("disable");
    let err = s.authenticate_agent(&key).await.expect_err("disabled");
    assert_eq!(refusal(err), AgentRefusal::ConnectorDisabled);
    let before = device_rows(&s).await;
    let err = s
        .enroll_device(ENROLL_KEY, "SN-2", "y")
        .await
        .expect_err("disabled connector");
    assert_eq!(refusal(err), AgentRefusal::ConnectorDisabled);
    assert_eq!(device_rows(&s).await, before);

    // Deleted device: its token goes with it.
    s.delete_device(&enrolled.device.id).await.expect("delete");
    assert_eq!(device_rows(&s).await, vec![0, 0, 0, 0]);
    let err = s.authenticate_agent(&key).await.expect_err("deleted");
    assert_eq!(refusal(err), AgentRefusal::UnknownToken);
}

#[tokio::test]
async fn a_device_deleted_after_its_agent_authenticated_cannot_check_in() {
    let (_dir, s, _clock) = platform_service().await;
    let enrolled = s.enroll_device(ENROLL_KEY, "SN-1", "x").await.expect("ok");
    let caller = s
        .authenticate_agent(&enrolled.device_token_key)
        .await
        .expect("auth");
    s.delete_device(&enrolled.device.id).await.expect("delete");
    let err = s.check_in(&caller, facts()).await.expect_err("gone");
    assert_eq!(refusal(err), AgentRefusal::UnknownToken);
    assert_eq!(device_rows(&s).await, vec![0, 0, 0, 0]);
    assert!(matches!(
        s.delete_device(&enrolled.device.id).await,
        Err(ServiceError::NotFound(_))
    ));
}

#[tokio::test]
async fn an_expired_enrollment_token_is_refused_and_changes_nothing() {
    let (_dir, s, clock) = platform_service().await;
    let mut conn = s.store().read().await.expect("read");
    let mut token = store::enrollment_tokens::list(&mut conn)
        .await
        .expect("list")
        .pop()
        .expect("the fixture's token");
    drop(conn);
    token.expiring = true;
    token.expires_at = Some(T0 + 60);
    {
        let mut tx = s.store().write_tx().await.expect("tx");
        store::enrollment_tokens::update(tx.conn(), &token)
            .await
            .expect("update");
        tx.commit().await.expect("commit");
    }
    clock.advance(60);
    let err = s
        .enroll_device(ENROLL_KEY, "SN-1", "x")
        .await
        .expect_err("expired");
    assert_eq!(refusal(err), AgentRefusal::UnknownToken);
    assert_eq!(device_rows(&s).await, vec![0, 0, 0, 0]);
}

#[tokio::test]
async fn expired_snapshots_go_at_the_next_check_in_but_the_newest_stays() {
    let (_dir, s, clock) = platform_service().await;
    let enrolled = s.enroll_device(ENROLL_KEY, "SN-1", "x").await.expect("ok");
    let caller = s
        .authenticate_agent(&enrolled.device_token_key)
        .await
        .expect("auth");
    s.check_in(&caller, facts()).await.expect("1");
    clock.advance(3600);
    s.check_in(&caller, facts()).await.expect("2");
    assert_eq!(device_rows(&s).await[3], 2);
    clock.advance(86_400);
    s.check_in(&caller, facts()).await.expect("3");
    // The first expired at T0+86400 and went; the second expired at T0+90000 = now and went.
    assert_eq!(device_rows(&s).await[3], 1);
}

// ---- The Agent's HTTP API, driven by authentik-client against a real listener ----

pub(crate) mod http_api {
    use std::collections::HashMap;
    use std::sync::Arc;

    use authentik_client::apis::configuration::Configuration;
    use authentik_client::apis::{Error, endpoints_api as api};
    use authentik_client::models;
    use latchkey::context::{Clock, Config, ManualClock};
    use latchkey::http::{self, AgentThrottle, AppState};
    use latchkey::service::Service;
    use latchkey::service::device::DeviceVerification;
    use latchkey::store;
    use serde_json::Value;
    use tokio_util::sync::CancellationToken;

    use super::{ENROLL_KEY, T0, device_rows, platform_sources};
    use crate::device::{field, poll, start};
    use crate::support::{ADMIN_PASSWORD, TestServer, temp_store};

    pub(crate) const PERMISSION_DENIED: &str = "You do not have permission to perform this action.";
    pub(crate) const NOT_AUTHENTICATED: &str = "Authentication credentials were not provided.";

    /// A real listener over a store with the platform fixtures, on a manual clock.
    pub async fn agent_server(throttle: AgentThrottle) -> (TestServer, Arc<ManualClock>) {
        let listener = http::bind("127.0.0.1:0").await.expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let (dir, store) = temp_store().await;
        let clock = Arc::new(ManualClock::new(T0));
        let dyn_clock: Arc<dyn Clock> = clock.clone();
        let service = Service::new(store, Config::new(&base_url), dyn_clock);
        service
            .bootstrap(Some(ADMIN_PASSWORD))
            .await
            .expect("bootstrap");
        service
            .apply_blueprints(&platform_sources())
            .await
            .expect("platform blueprints");
        let cancel = CancellationToken::new();
        let mut state = AppState::new(service.clone());
        state.agent_throttle = Arc::new(throttle);
        http::spawn_server(listener, state, cancel.clone());
        (
            TestServer::from_parts(base_url, service, cancel, dir),
            clock,
        )
    }

    /// authentik-client's configuration, with `Authorization: Bearer <token>` when given.
    pub(crate) fn api_config(s: &TestServer, bearer: Option<&str>) -> Configuration {
        Configuration {
            base_path: format!("{}/api/v3", s.base_url),
            bearer_access_token: bearer.map(str::to_string),
            ..Configuration::default()
        }
    }

    /// The configuration the Agent uses once enrolled: every request carries
    /// `Authorization: Bearer+agent <device token>`.
    pub(crate) fn agent_config_for(s: &TestServer, device_token: &str) -> Configuration {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer+agent {device_token}")
                .parse()
                .expect("header"),
        );
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .expect("client");
        Configuration {
            base_path: format!("{}/api/v3", s.base_url),
            client: client.into(),
            ..Configuration::default()
        }
    }

    /// Status and body of a refused call.
    pub(crate) fn refused<T: std::fmt::Debug, R: std::fmt::Debug>(
        r: Result<R, Error<T>>,
    ) -> (u16, Value) {
        match r {
            Err(Error::ResponseError(rc)) => (
                rc.status.as_u16(),
                serde_json::from_str(&rc.content).unwrap_or(Value::String(rc.content)),
            ),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    pub(crate) async fn enroll(s: &TestServer, key: &str, serial: &str, name: &str) -> String {
        let r = api::endpoints_agents_connectors_enroll_create(
            &api_config(s, Some(key)),
            models::EnrollRequest {
                device_serial: serial.into(),
                device_name: name.into(),
            },
        )
        .await
        .expect("enroll");
        assert_eq!(r.expires_in, Some(0));
        r.token
    }

    /// A full `DeviceFactsRequest` as the Agent sends it, with `software` and `processes`
    /// entries each.
    pub fn full_facts(software: usize, processes: usize) -> models::DeviceFactsRequest {
        let mut vendor = HashMap::new();
        vendor.insert(
            "goauthentik.io/platform".to_string(),
            serde_json::json!({"agent_version": "0.30.0"}),
        );
        models::DeviceFactsRequest {
            os: Some(Some(models::OperatingSystemRequest {
                family: models::DeviceFactsOsFamily::Linux,
                name: Some("Ubuntu".into()),
                version: Some("24.04".into()),
                arch: Some("x86_64".into()),
            })),
            disks: Some(Some(vec![models::DiskRequest {
                name: "/dev/nvme0n1p2".into(),
                mountpoint: "/".into(),
                label: Some("root".into()),
                capacity_total_bytes: Some(512_000_000_000),
                capacity_used_bytes: Some(100_000_000_000),
                encryption_enabled: Some(true),
            }])),
            network: Some(Some(models::NetworkRequest {
                hostname: "laptop-1".into(),
                firewall_enabled: Some(true),
                interfaces: vec![models::NetworkInterfaceRequest {
                    name: "wlan0".into(),
                    hardware_address: "00:11:22:33:44:55".into(),
                    ip_addresses: Some(vec!["192.168.1.20".into()]),
                    dns_servers: Some(vec!["192.168.1.1".into()]),
                }],
                gateway: Some("192.168.1.1".into()),
            })),
            hardware: Some(Some(models::HardwareRequest {
                model: Some("ThinkPad X1".into()),
                manufacturer: Some("Lenovo".into()),
                serial: "SN-1".into(),
                cpu_name: Some("Intel i7".into()),
                cpu_count: Some(8),
                memory_bytes: Some(17_179_869_184),
            })),
            software: Some(Some(
                (0..software)
                    .map(|i| models::SoftwareRequest {
                        name: format!("package-{i}"),
                        version: Some(format!("1.{i}.0")),
                        source: "dpkg".into(),
                        path: Some(format!("/usr/lib/package-{i}")),
                    })
                    .collect(),
            )),
            processes: Some(Some(
                (0..processes)
                    .map(|i| models::ProcessRequest {
                        id: i as i32 + 1,
                        name: format!("process-{i}"),
                        user: Some("root".into()),
                    })
                    .collect(),
            )),
            users: Some(Some(vec![models::DeviceUserRequest {
                id: "1000".into(),
                username: Some("alice".into()),
                name: Some("Alice".into()),
                home: Some("/home/alice".into()),
            }])),
            groups: Some(Some(vec![models::DeviceGroupRequest {
                id: "1000".into(),
                name: Some("alice".into()),
            }])),
            vendor: Some(vendor),
        }
    }

    /// An `authentik-cli` access token from a real device-code login (approved through the
    /// service seam the `/device` pages call, as tests/it/device.rs does).
    pub(crate) async fn cli_access_token(s: &TestServer, clock: &ManualClock) -> String {
        cli_access_token_of(s, clock, "akadmin").await
    }

    /// [`cli_access_token`] approved by `username`.
    async fn cli_access_token_of(s: &TestServer, clock: &ManualClock, username: &str) -> String {
        let started = start(s, Some("openid profile")).await;
        let user = s
            .service
            .list_users()
            .await
            .expect("users")
            .into_iter()
            .find(|u| u.username == username)
            .expect("user");
        DeviceVerification::new(s.service.context().clone())
            .approve(
                field(&started, "user_code"),
                &user.id,
                "test-session",
                "127.0.0.1",
            )
            .await
            .expect("approve");
        clock.advance(10);
        let (status, body) = poll(s, field(&started, "device_code")).await;
        assert_eq!(status, 200, "{body}");
        field(&body, "access_token").to_string()
    }

    #[tokio::test]
    async fn the_agent_enrolls_configures_checks_in_and_signs_in_with_the_cli_token() {
        let (s, clock) = agent_server(AgentThrottle::default()).await;
        let token = enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
        let agent = agent_config_for(&s, &token);

        let config = api::endpoints_agents_connectors_agent_config_retrieve(&agent)
            .await
            .expect("agent_config parses as the client's AgentConfig");
        let device = s.service.list_devices().await.expect("list").remove(0);
        assert_eq!(config.device_id, device.id);
        assert_eq!(config.refresh_interval, 1800);
        assert_eq!(
            config.authorization_flow.as_deref(),
            Some("default-provider-authorization-implicit-consent")
        );
        assert_eq!((config.nss_uid_offset, config.nss_gid_offset), (1000, 1000));
        let challenge = config.jwks_challenge.expect("the challenge key's JWKS");
        assert_eq!(challenge["keys"][0]["use"], "sig");
        assert!(config.jwks_auth["keys"][0]["kid"].is_string());
        assert!(!config.system_config.error_reporting.enabled);

        clock.advance(1);
        api::endpoints_agents_connectors_check_in_create(&agent, Some(full_facts(3, 4)))
            .await
            .expect("check in");
        let detail = s
            .service
            .device_detail(&device.id)
            .await
            .expect("detail")
            .expect("device");
        assert_eq!(detail.summary.os_name.as_deref(), Some("Ubuntu"));
        assert_eq!(detail.summary.last_check_in, Some(T0 + 1));
        let facts = detail.facts.expect("facts").data;
        assert_eq!(facts.0["software"].as_array().map(Vec::len), Some(3));
        assert_eq!(facts.0["processes"].as_array().map(Vec::len), Some(4));
        assert_eq!(facts.0["network"]["interfaces"][0]["name"], "wlan0");
        assert_eq!(facts.0["users"][0]["username"], "alice");
        assert_eq!(facts.0["groups"][0]["id"], "1000");
        assert_eq!(facts.0["disks"][0]["encryption_enabled"], true);
        assert_eq!(
            facts.0["vendor"]["goauthentik.io/platform"]["agent_version"],
            "0.30.0"
        );

        // auth_fed: the CLI's token (a provider the connector federates) for a session token.
        let cli_token = cli_access_token(&s, &clock).await;
        let session = api::endpoints_agents_connectors_auth_fed_create(
            &api_config(&s, Some(&cli_token)),
            "laptop-1",
        )
        .await
        .expect("auth_fed");
        assert_eq!(session.expires_in, Some(8 * 3600));
        let jwk: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(config.jwks_auth["keys"][0].clone()).expect("jwk");
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("key");
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&[device.id.as_str()]);
        validation.set_issuer(&["goauthentik.io/platform"]);
        validation.validate_exp = false; // the manual clock is in the future
        let claims = jsonwebtoken::decode::<Value>(&session.token, &key, &validation)
            .expect("signed by the key agent_config publishes")
            .claims;
        assert_eq!(claims["preferred_username"], "akadmin");
        assert_eq!(
            claims["exp"],
            claims["iat"].as_i64().unwrap_or(0) + 8 * 3600
        );

        // The login event says how, and carries no secret.
        let events = s.service.recent_events(100).await.expect("events");
        let login = events
            .iter()
            .find(|e| e.action == "login" && e.context["auth_method"] == "jwt")
            .expect("a jwt login event");
        assert_eq!(login.username, "akadmin");
        let text = login.context.to_string();
        assert!(!text.contains(&cli_token) && !text.contains(&session.token));
        assert!(!text.contains(&token));
    }

    #[tokio::test]
    async fn the_connectors_settings_reach_the_agents_config_and_sessions() {
        let (s, clock) = agent_server(AgentThrottle::default()).await;
        let token = enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
        let mut connector = s
            .service
            .list_connectors()
            .await
            .expect("connectors")
            .into_iter()
            .find(|c| c.name == "agent")
            .expect("the agent connector");
        let latchkey::domain::ConnectorSettings::Agent(a) = &mut connector.settings;
        a.refresh_interval = "hours=1".into();
        a.nss_uid_offset = 2000;
        a.nss_gid_offset = 3000;
        a.auth_terminate_session_on_expiry = true;
        a.auth_session_duration = "hours=2".into();
        let federated = std::mem::take(&mut a.jwt_federation_providers);
        s.service
            .save(
                &latchkey::domain::Object::Connector(connector.clone()),
                false,
            )
            .await
            .expect("saved");
        let config =
            api::endpoints_agents_connectors_agent_config_retrieve(&agent_config_for(&s, &token))
                .await
                .expect("agent_config");
        assert_eq!(config.refresh_interval, 3600);
        assert_eq!((config.nss_uid_offset, config.nss_gid_offset), (2000, 3000));
        assert!(config.auth_terminate_session_on_expiry);
        // Without the CLI's provider among jwt_federation_providers its token signs nobody in.
        let cli_token = cli_access_token(&s, &clock).await;
        let fed = |bearer: String| {
            let config = api_config(&s, Some(&bearer));
            async move { api::endpoints_agents_connectors_auth_fed_create(&config, "laptop-1").await }
        };
        assert_eq!(
            refused(fed(cli_token.clone()).await).0,
            403,
            "a provider the connector does not federate"
        );
        let mut connector = s
            .service
            .list_connectors()
            .await
            .expect("connectors")
            .into_iter()
            .find(|c| c.id == connector.id)
            .expect("the agent connector, as saved");
        let latchkey::domain::ConnectorSettings::Agent(a) = &mut connector.settings;
        a.jwt_federation_providers = federated;
        s.service
            .save(&latchkey::domain::Object::Connector(connector), false)
            .await
            .expect("saved");
        let session = fed(cli_token).await.expect("auth_fed");
        assert_eq!(session.expires_in, Some(2 * 3600), "auth_session_duration");
    }

    #[tokio::test]
    async fn bad_enrollment_tokens_are_403_and_change_nothing() {
        let (s, clock) = agent_server(AgentThrottle::default()).await;
        let body = models::EnrollRequest {
            device_serial: "SN-1".into(),
            device_name: "x".into(),
        };
        for bearer in [Some("wrong"), None] {
            let r = api::endpoints_agents_connectors_enroll_create(
                &api_config(&s, bearer),
                body.clone(),
            )
            .await;
            assert_eq!(
                refused(r),
                (403, serde_json::json!({"detail": PERMISSION_DENIED}))
            );
        }
        // Expired.
        let mut conn = s.service.store().read().await.expect("read");
        let mut token = store::enrollment_tokens::list(&mut conn)
            .await
            .expect("list")
            .remove(0);
        drop(conn);
        token.expiring = true;
        token.expires_at = Some(T0 + 5);
        let mut tx = s.service.store().write_tx().await.expect("tx");
        store::enrollment_tokens::update(tx.conn(), &token)
            .await
            .expect("update");
        tx.commit().await.expect("commit");
        clock.advance(5);
        let r =
            api::endpoints_agents_connectors_enroll_create(&api_config(&s, Some(ENROLL_KEY)), body)
                .await;
        assert_eq!(refused(r).0, 403);
        assert_eq!(device_rows(&s.service).await, vec![0, 0, 0, 0]);
    }

    #[tokio::test]
    async fn revoked_devices_and_disabled_connectors_are_403() {
        let (s, _clock) = agent_server(AgentThrottle::default()).await;
        let first = enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
        let second = enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
        let stale =
            api::endpoints_agents_connectors_agent_config_retrieve(&agent_config_for(&s, &first))
                .await;
        assert_eq!(
            refused(stale),
            (403, serde_json::json!({"detail": PERMISSION_DENIED}))
        );
        let agent = agent_config_for(&s, &second);
        api::endpoints_agents_connectors_agent_config_retrieve(&agent)
            .await
            .expect("the new token works");
        let none =
            api::endpoints_agents_connectors_agent_config_retrieve(&api_config(&s, None)).await;
        assert_eq!(
            refused(none),
            (403, serde_json::json!({"detail": NOT_AUTHENTICATED}))
        );

        // Disabled connector: its devices are refused, nothing stored.
        let mut conn = s.service.store().read().await.expect("read");
        let mut connector = store::connectors::list(&mut conn)
            .await
            .expect("list")
            .remove(0);
        drop(conn);
        connector.enabled = false;
        s.service
            .save(
                &latchkey::domain::Object::Connector(connector.clone()),
                false,
            )
            .await
            .expect("disable");
        let r =
            api::endpoints_agents_connectors_check_in_create(&agent, Some(full_facts(1, 1))).await;
        assert_eq!(refused(r).0, 403);
        assert_eq!(device_rows(&s.service).await[3], 0);
        connector.enabled = true;
        connector.version += 1;
        s.service
            .save(&latchkey::domain::Object::Connector(connector), false)
            .await
            .expect("enable");
        api::endpoints_agents_connectors_check_in_create(&agent, Some(full_facts(1, 1)))
            .await
            .expect("enabled again");

        // Deleted device: its token goes with it.
        let id = s.service.list_devices().await.expect("list").remove(0).id;
        s.service.delete_device(&id).await.expect("delete");
        let r = api::endpoints_agents_connectors_agent_config_retrieve(&agent).await;
        assert_eq!(refused(r).0, 403);
    }

    #[tokio::test]
    async fn oversized_malformed_and_invalid_facts_are_refused_and_store_nothing() {
        let (s, _clock) = agent_server(AgentThrottle::default()).await;
        let token = enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
        let url = format!(
            "{}/api/v3/endpoints/agents/connectors/check_in/",
            s.base_url
        );
        let post = |body: Vec<u8>| {
            reqwest::Client::new()
                .post(&url)
                .header("Authorization", format!("Bearer+agent {token}"))
                .header("Content-Type", "application/json")
                .body(body)
                .send()
        };
        // Over 1 MiB: 413 before parsing (the body is valid JSON otherwise).
        let big = serde_json::to_vec(&full_facts(12_000, 0)).expect("json");
        assert!(big.len() > latchkey_limit());
        let res = post(big).await.expect("send");
        assert_eq!(res.status().as_u16(), 413);
        let body: Value = res.json().await.expect("json body");
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("1048576")),
            "{body}"
        );

        let res = post(b"{\"os\": ".to_vec()).await.expect("send");
        assert_eq!(res.status().as_u16(), 400);
        let body: Value = res.json().await.expect("json body");
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("JSON parse error")),
            "{body}"
        );

        let res = post(br#"{"os": {"name": "x"}, "software": [{"name": "a"}]}"#.to_vec())
            .await
            .expect("send");
        assert_eq!(res.status().as_u16(), 400);
        let body: Value = res.json().await.expect("json body");
        assert_eq!(
            body,
            serde_json::json!({"os": {"family": ["This field is required."]},
                               "software": [{"source": ["This field is required."]}]})
        );
        let res = reqwest::Client::new()
            .post(&url)
            .header("Authorization", format!("Bearer+agent {token}"))
            .header("Content-Type", "text/plain")
            .body("{}")
            .send()
            .await
            .expect("send");
        assert_eq!(res.status().as_u16(), 415);
        let body: Value = res.json().await.expect("json body");
        assert_eq!(
            body,
            serde_json::json!({"detail": "Unsupported media type \"text/plain\" in request."})
        );
        let res = reqwest::Client::new().get(&url).send().await.expect("send");
        assert_eq!(res.status().as_u16(), 405);
        let body: Value = res.json().await.expect("json body");
        assert_eq!(
            body,
            serde_json::json!({"detail": "Method \"GET\" not allowed."})
        );
        assert_eq!(device_rows(&s.service).await[3], 0, "nothing stored");
    }

    fn latchkey_limit() -> usize {
        1024 * 1024
    }

    #[tokio::test]
    async fn agent_calls_are_throttled_per_token_with_retry_after() {
        let (s, _clock) = agent_server(AgentThrottle::new(3, 100)).await;
        let token = enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
        let agent = agent_config_for(&s, &token);
        for _ in 0..3 {
            api::endpoints_agents_connectors_agent_config_retrieve(&agent)
                .await
                .expect("under the limit");
        }
        let url = format!(
            "{}/api/v3/endpoints/agents/connectors/agent_config/",
            s.base_url
        );
        let res = reqwest::Client::new()
            .get(&url)
            .header("Authorization", format!("Bearer+agent {token}"))
            .send()
            .await
            .expect("send");
        assert_eq!(res.status().as_u16(), 429);
        let retry: u64 = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .expect("Retry-After");
        assert!(retry >= 1);
        // A wrong key is throttled too (guessing costs the same).
        for _ in 0..3 {
            let r = api::endpoints_agents_connectors_agent_config_retrieve(&agent_config_for(
                &s, "guess",
            ))
            .await;
            assert_eq!(refused(r).0, 403);
        }
        let r =
            api::endpoints_agents_connectors_agent_config_retrieve(&agent_config_for(&s, "guess"))
                .await;
        assert_eq!(refused(r).0, 429);
    }

    #[tokio::test]
    async fn auth_fed_refuses_unknown_tokens_and_devices_and_applies_device_policies() {
        let (s, clock) = agent_server(AgentThrottle::default()).await;
        enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
        let cli_token = cli_access_token(&s, &clock).await;
        let call = |bearer: String, device: &'static str| {
            let config = api_config(&s, Some(&bearer));
            async move { api::endpoints_agents_connectors_auth_fed_create(&config, device).await }
        };
        let not_auth = (403, serde_json::json!({"detail": NOT_AUTHENTICATED}));
        assert_eq!(refused(call("wrong".into(), "laptop-1").await), not_auth);
        assert_eq!(refused(call(cli_token.clone(), "no-such").await), not_auth);

        // Out of its access group the device has no bindings: denied as authentik denies.
        let mut device = s
            .service
            .device_detail(&s.service.list_devices().await.expect("list")[0].id)
            .await
            .expect("detail")
            .expect("device")
            .device;
        device.access_group_id = None;
        let mut tx = s.service.store().write_tx().await.expect("tx");
        store::devices::update(tx.conn(), &device)
            .await
            .expect("update");
        tx.commit().await.expect("commit");
        assert_eq!(
            refused(call(cli_token.clone(), "laptop-1").await),
            (
                400,
                serde_json::json!({"policy_result": "Policy denied access",
                                   "policy_messages": []})
            )
        );
        let logins = s
            .service
            .recent_events(100)
            .await
            .expect("events")
            .into_iter()
            .filter(|e| e.action == "login" && e.context["auth_method"] == "jwt")
            .count();
        assert_eq!(logins, 0, "no login event for a refusal");
    }

    #[tokio::test]
    async fn agent_calls_are_throttled_per_client_ip_whatever_the_key() {
        let (s, _clock) = agent_server(AgentThrottle::new(100, 3)).await;
        for key in ["a", "b", "c"] {
            let r =
                api::endpoints_agents_connectors_agent_config_retrieve(&agent_config_for(&s, key))
                    .await;
            assert_eq!(refused(r).0, 403);
        }
        let r = api::endpoints_agents_connectors_enroll_create(
            &api_config(&s, Some(ENROLL_KEY)),
            models::EnrollRequest {
                device_serial: "SN-1".into(),
                device_name: "x".into(),
            },
        )
        .await;
        let (status, body) = refused(r);
        assert_eq!(status, 429, "{body}");
        assert_eq!(device_rows(&s.service).await, vec![0, 0, 0, 0]);
    }

    #[tokio::test]
    async fn the_directory_and_version_calls_spend_the_agents_throttle() {
        let (s, _clock) = agent_server(AgentThrottle::new(3, 100)).await;
        let token = enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
        let agent = agent_config_for(&s, &token);
        authentik_client::apis::admin_api::admin_version_retrieve(&agent)
            .await
            .expect("version");
        api::endpoints_agents_connectors_agent_config_retrieve(&agent)
            .await
            .expect("config");
        authentik_client::apis::admin_api::admin_version_retrieve(&agent)
            .await
            .expect("the third call in the minute");
        let res = reqwest::Client::new()
            .get(format!("{}/api/v3/core/users/", s.base_url))
            .header("Authorization", format!("Bearer+agent {token}"))
            .send()
            .await
            .expect("send");
        assert_eq!(res.status().as_u16(), 429);
        assert!(res.headers().get("retry-after").is_some());
        let body: Value = res.json().await.expect("json");
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("Request was throttled")),
            "{body}"
        );
    }

    #[tokio::test]
    async fn an_expired_cli_token_does_not_sign_the_agent_in() {
        let (s, clock) = agent_server(AgentThrottle::default()).await;
        enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
        let cli_token = cli_access_token(&s, &clock).await;
        clock.advance(24 * 3600);
        let r = api::endpoints_agents_connectors_auth_fed_create(
            &api_config(&s, Some(&cli_token)),
            "laptop-1",
        )
        .await;
        assert_eq!(
            refused(r),
            (403, serde_json::json!({"detail": NOT_AUTHENTICATED}))
        );
    }

    #[tokio::test]
    async fn without_a_challenge_key_jwks_challenge_is_null() {
        let (s, _clock) = agent_server(AgentThrottle::default()).await;
        let token = enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
        let mut conn = s.service.store().read().await.expect("read");
        let mut connector = store::connectors::list(&mut conn)
            .await
            .expect("list")
            .remove(0);
        drop(conn);
        connector.challenge_key_id = None;
        s.service
            .save(&latchkey::domain::Object::Connector(connector), false)
            .await
            .expect("save");
        let config =
            api::endpoints_agents_connectors_agent_config_retrieve(&agent_config_for(&s, &token))
                .await
                .expect("agent_config");
        assert!(config.jwks_challenge.is_none());
        assert_eq!(config.jwks_auth["keys"].as_array().map(Vec::len), Some(1));
    }

    #[tokio::test]
    async fn the_access_groups_bindings_decide_who_signs_in_on_the_device() {
        let (s, clock) = agent_server(AgentThrottle::default()).await;
        enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
        // The fixture binds the group "authentik Admins" to workstation-prod.
        s.service.create_user("bob", "", false).await.expect("bob");
        s.service
            .create_user("carol", "", true)
            .await
            .expect("carol");
        let bob = cli_access_token_of(&s, &clock, "bob").await;
        let r = api::endpoints_agents_connectors_auth_fed_create(
            &api_config(&s, Some(&bob)),
            "laptop-1",
        )
        .await;
        assert_eq!(refused(r).0, 400, "bob is not in the bound group");
        let carol = cli_access_token_of(&s, &clock, "carol").await;
        let session = api::endpoints_agents_connectors_auth_fed_create(
            &api_config(&s, Some(&carol)),
            "laptop-1",
        )
        .await
        .expect("carol is an admin");
        assert!(!session.token.is_empty());
    }
}

#[tokio::test]
async fn a_snapshot_expires_after_its_connectors_snapshot_expiry() {
    let (_dir, s, _clock) = platform_service().await;
    let mut conn = s.store().read().await.expect("read");
    let mut connector = match store::objects::list(&mut conn, Kind::Connector)
        .await
        .expect("list")
        .pop()
    {
        Some(Object::Connector(c)) => c,
        other => panic!("no connector: {other:?}"),
    };
    drop(conn);
    let latchkey::domain::ConnectorSettings::Agent(a) = &mut connector.settings;
    a.snapshot_expiry = "hours=2".into();
    s.save(&Object::Connector(connector), false)
        .await
        .expect("save");
    let enrolled = s
        .enroll_device(ENROLL_KEY, "SN-7", "laptop-7")
        .await
        .expect("enroll");
    let caller = s
        .authenticate_agent(&enrolled.device_token_key)
        .await
        .expect("auth");
    let snapshot = s.check_in(&caller, facts()).await.expect("check in");
    assert_eq!(snapshot.expires_at, Some(T0 + 2 * 3600));
}
