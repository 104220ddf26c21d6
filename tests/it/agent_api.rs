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
const ENROLL_KEY: &str = "test-enroll-key";
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
    assert_eq!(enrolled.device_token_key.len(), 128);
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
