//! authentik's endpoint devices API (`/api/v3/endpoints/devices/`) read by a signed-in
//! superuser's browser session through authentik-client, the refusals of every other caller,
//! and `auth_fed` finding a device by an SSH host key its Agent reported.

use std::collections::HashMap;

use authentik_client::apis::configuration::Configuration;
use authentik_client::apis::endpoints_api as api;
use authentik_client::models;
use latchkey::http::AgentThrottle;
use latchkey::http::session::COOKIE_NAME;
use serde_json::{Value, json};

use crate::agent_api::ENROLL_KEY;
use crate::agent_api::http_api::{
    NOT_AUTHENTICATED, PERMISSION_DENIED, agent_config_for, agent_server, api_config,
    cli_access_token, enroll, full_facts, refused,
};
use crate::flows_support::{add_user, html_login, jar};
use crate::support::{ADMIN_PASSWORD, TestServer};

/// authentik-client over a browser's cookie jar signed in as `username`.
async fn browser_config(s: &TestServer, username: &str, password: &str) -> Configuration {
    let browser = jar();
    let r = html_login(&browser, &s.base_url, username, password).await;
    assert_eq!(r.status().as_u16(), 303, "signed in");
    let cookies: Vec<String> = r
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with(&format!("{COOKIE_NAME}="))),
        "the session cookie is set: {cookies:?}"
    );
    Configuration {
        base_path: format!("{}/api/v3", s.base_url),
        client: browser.into(),
        ..Configuration::default()
    }
}

fn list_all(
    c: &Configuration,
) -> impl std::future::Future<
    Output = Result<
        models::PaginatedEndpointDeviceList,
        authentik_client::apis::Error<api::EndpointsDevicesListError>,
    >,
> + '_ {
    api::endpoints_devices_list(c, None, None, None, None, None, None)
}

#[tokio::test]
async fn a_superuser_session_lists_and_reads_devices_with_their_facts() {
    let (s, clock) = agent_server(AgentThrottle::default()).await;
    let token = enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
    enroll(&s, ENROLL_KEY, "SN-2", "laptop-2").await;
    clock.advance(1);
    api::endpoints_agents_connectors_check_in_create(
        &agent_config_for(&s, &token),
        Some(full_facts(2, 3)),
    )
    .await
    .expect("check in");
    let admin = browser_config(&s, "akadmin", ADMIN_PASSWORD).await;

    let page = list_all(&admin)
        .await
        .expect("the client's PaginatedEndpointDeviceList");
    assert_eq!(page.pagination.count, 2.0);
    assert_eq!(
        (page.pagination.current, page.pagination.total_pages),
        (1.0, 1.0)
    );
    assert_eq!(
        (page.pagination.start_index, page.pagination.end_index),
        (1.0, 2.0)
    );
    assert_eq!((page.pagination.next, page.pagination.previous), (0.0, 0.0));
    let names: Vec<&str> = page.results.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["laptop-1", "laptop-2"]);
    let first = &page.results[0];
    let facts = first.facts.as_ref().expect("laptop-1 checked in");
    assert_eq!(facts.vendor, models::VendorEnum::GoauthentikIoSlashPlatform);
    let os = facts.data.os.clone().flatten().expect("os");
    assert_eq!(os.name.as_deref(), Some("Ubuntu"));
    assert_eq!(
        facts.data.software.clone().flatten().map(|s| s.len()),
        Some(2)
    );
    assert!(page.results[1].facts.is_none(), "laptop-2 never checked in");
    let group = first
        .access_group_obj
        .as_ref()
        .expect("the token's access group");
    assert_eq!(Some(Some(group.pbm_uuid)), first.access_group);

    // Pages, filters, search and ordering as DRF's.
    let second =
        api::endpoints_devices_list(&admin, None, None, Some("-name"), Some(2), Some(1), None)
            .await
            .expect("page 2");
    assert_eq!(second.results[0].name, "laptop-1");
    assert_eq!(
        (second.pagination.previous, second.pagination.next),
        (1.0, 0.0)
    );
    let by_serial = api::endpoints_devices_list(&admin, Some("SN-2"), None, None, None, None, None)
        .await
        .expect("by identifier");
    assert_eq!(by_serial.results.len(), 1);
    assert_eq!(by_serial.results[0].name, "laptop-2");
    let searched = api::endpoints_devices_list(&admin, None, None, None, None, None, Some("TOP-1"))
        .await
        .expect("search");
    assert_eq!(searched.pagination.count, 1.0);
    let (status, body) = refused(
        api::endpoints_devices_list(&admin, None, None, None, Some(3), Some(1), None).await,
    );
    assert_eq!((status, body), (404, json!({"detail": "Invalid page."})));

    // One device with its connections and the facts of each.
    let id = first.device_uuid.expect("device_uuid").to_string();
    let one = api::endpoints_devices_retrieve(&admin, &id)
        .await
        .expect("the client's EndpointDeviceDetails");
    assert_eq!(one.name, "laptop-1");
    assert_eq!(one.connections.len(), 1);
    assert_eq!(one.connections_obj[0].connector_obj.name, "agent");
    assert!(one.connections_obj[0].latest_snapshot.is_some());
    assert_eq!(one.connections[0], facts.connection);
    let (status, _) = refused(
        api::endpoints_devices_retrieve(&admin, "00000000-0000-7000-8000-000000000000").await,
    );
    assert_eq!(status, 404);
    let (status, _) = refused(api::endpoints_devices_retrieve(&admin, "not-a-uuid").await);
    assert_eq!(status, 404);
}

#[tokio::test]
async fn no_session_a_non_superuser_and_an_agent_are_refused_devices() {
    let (s, _clock) = agent_server(AgentThrottle::default()).await;
    let token = enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
    let id = s.service.list_devices().await.expect("list")[0].id.clone();

    let anonymous = api_config(&s, None);
    let not_auth = (403, json!({"detail": NOT_AUTHENTICATED}));
    assert_eq!(refused(list_all(&anonymous).await), not_auth);
    assert_eq!(
        refused(api::endpoints_devices_retrieve(&anonymous, &id).await),
        not_auth
    );

    add_user(&s.service, "bob", "bob@example.com", "bob-password-1").await;
    let bob = browser_config(&s, "bob", "bob-password-1").await;
    let denied = (403, json!({"detail": PERMISSION_DENIED}));
    assert_eq!(refused(list_all(&bob).await), denied);
    assert_eq!(
        refused(api::endpoints_devices_retrieve(&bob, &id).await),
        denied
    );

    let agent = agent_config_for(&s, &token);
    assert_eq!(refused(list_all(&agent).await), denied);
    let forged = agent_config_for(&s, "not-a-device-token");
    assert_eq!(refused(list_all(&forged).await), denied);
}

/// `full_facts` with the Agent's SSH host keys in its vendor section.
fn facts_with_host_keys(keys: &[&str]) -> models::DeviceFactsRequest {
    let mut facts = full_facts(1, 1);
    let mut vendor = HashMap::new();
    vendor.insert(
        "goauthentik.io/platform".to_string(),
        json!({"agent_version": "0.30.0", "ssh_host_keys": keys}),
    );
    facts.vendor = Some(vendor);
    facts
}

#[tokio::test]
async fn auth_fed_finds_the_device_by_an_ssh_host_key_of_its_latest_facts() {
    let (s, clock) = agent_server(AgentThrottle::default()).await;
    let token = enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
    let agent = agent_config_for(&s, &token);
    let old_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOld";
    let new_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINew";
    api::endpoints_agents_connectors_check_in_create(
        &agent,
        Some(facts_with_host_keys(&[old_key])),
    )
    .await
    .expect("first check-in");
    clock.advance(5);
    api::endpoints_agents_connectors_check_in_create(
        &agent,
        Some(facts_with_host_keys(&[new_key])),
    )
    .await
    .expect("second check-in");
    let cli_token = cli_access_token(&s, &clock).await;
    let fed = api_config(&s, Some(&cli_token));

    let session = api::endpoints_agents_connectors_auth_fed_create(&fed, new_key)
        .await
        .expect("found by the latest facts' host key");
    let device_id = s.service.list_devices().await.expect("list")[0].id.clone();
    let claims: Value = {
        let payload = session.token.split('.').nth(1).expect("a JWT");
        let bytes =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .expect("base64");
        serde_json::from_slice(&bytes).expect("claims")
    };
    assert_eq!(claims["aud"], device_id.as_str());

    let not_auth = (403, json!({"detail": NOT_AUTHENTICATED}));
    assert_eq!(
        refused(api::endpoints_agents_connectors_auth_fed_create(&fed, old_key).await),
        not_auth,
        "a key only in an older snapshot names no device"
    );
    assert_eq!(
        refused(api::endpoints_agents_connectors_auth_fed_create(&fed, "ssh-ed25519").await),
        not_auth,
        "a part of a key is no key"
    );
    api::endpoints_agents_connectors_auth_fed_create(&fed, "laptop-1")
        .await
        .expect("the name still finds it");
}
