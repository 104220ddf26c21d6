//! What ak-sysd reads besides the Agent API (issue 17, part C step 2), through
//! authentik-client's own calls against a real listener: the current brand (open) and the
//! server's version (the Agent's device token), with authentik's refusals.

use authentik_client::apis::configuration::Configuration;
use authentik_client::apis::{admin_api, core_api};
use latchkey::domain::{Connector, ConnectorKind, ConnectorSettings, Object, new_id};
use latchkey::service::Service;
use latchkey::service::enrollment::NewEnrollmentToken;

use crate::support::spawn_server;

/// authentik-client's configuration for `base`, sending `authorization` on every call (as
/// ak-sysd sends `Bearer+agent <key>`).
fn client(base: &str, authorization: Option<&str>) -> Configuration {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(a) = authorization {
        headers.insert(
            reqwest::header::AUTHORIZATION,
            reqwest::header::HeaderValue::from_str(a).expect("header"),
        );
    }
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client");
    Configuration {
        base_path: format!("{base}/api/v3"),
        client: http.into(),
        ..Configuration::default()
    }
}

/// A device enrolled through a new connector: its device token's key.
async fn device_key(service: &Service) -> String {
    let connector = Connector {
        id: new_id(),
        name: "agent".into(),
        enabled: true,
        authorization_flow_id: None,
        challenge_key_id: None,
        settings: ConnectorSettings::default_for(ConnectorKind::Agent),
        created_at: 0,
        updated_at: 0,
        version: 0,
    };
    service
        .save(&Object::Connector(connector.clone()), true)
        .await
        .expect("connector");
    let token = service
        .create_enrollment_token(&NewEnrollmentToken {
            name: "t".into(),
            connector_id: connector.id,
            device_group_id: None,
            expires_in: None,
        })
        .await
        .expect("token");
    service
        .enroll_device(&token.key, "SN-1", "ws-1")
        .await
        .expect("enroll")
        .device_token_key
}

#[tokio::test]
async fn the_current_brand_parses_with_authentiks_model_and_names_its_flows() {
    let s = spawn_server().await;
    let brand = core_api::core_brands_current_retrieve(&client(&s.base_url, None))
        .await
        .expect("CurrentBrand parses");
    let stored = s
        .service
        .list_brands()
        .await
        .expect("brands")
        .into_iter()
        .find(|b| b.default)
        .expect("the default brand");
    assert_eq!(brand.matched_domain, stored.domain);
    assert_eq!(
        brand.flow_authentication.as_deref(),
        Some("default-authentication-flow")
    );
}

#[tokio::test]
async fn the_version_answers_a_device_token_and_refuses_anyone_else() {
    let s = spawn_server().await;
    let key = device_key(&s.service).await;
    let v = admin_api::admin_version_retrieve(&client(
        &s.base_url,
        Some(&format!("Bearer+agent {key}")),
    ))
    .await
    .expect("Version parses");
    assert_eq!(v.version_current, latchkey::http::AUTHENTIK_API_VERSION);
    assert!(v.build_hash.starts_with("latchkey-"));

    for (auth, detail) in [
        (None, "Authentication credentials were not provided."),
        (
            Some("Bearer+agent wrong-key".to_string()),
            "You do not have permission to perform this action.",
        ),
        // A device key under plain `Bearer` is checked as an API token (issue 19): refused.
        (
            Some(format!("Bearer {key}")),
            "You do not have permission to perform this action.",
        ),
    ] {
        let res = crate::support::client()
            .get(format!("{}/api/v3/admin/version/", s.base_url))
            .header("authorization", auth.clone().unwrap_or_default())
            .send()
            .await
            .expect("send");
        assert_eq!(res.status().as_u16(), 403, "{auth:?}");
        let body: serde_json::Value = res.json().await.expect("json");
        assert_eq!(body, serde_json::json!({"detail": detail}), "{auth:?}");
        // authentik-client reads it as an error, not as a Version.
        assert!(
            admin_api::admin_version_retrieve(&client(&s.base_url, auth.as_deref()))
                .await
                .is_err()
        );
    }
}

/// One page of users through authentik-client's own call (as ak-sysd's NSS directory asks).
async fn users_page(
    c: &Configuration,
    page: i32,
    page_size: i32,
) -> authentik_client::models::PaginatedUserList {
    core_api::core_users_list(
        c,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        Some(page),
        Some(page_size),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    )
    .await
    .expect("PaginatedUserList parses")
}

#[tokio::test]
async fn users_and_groups_list_page_by_page_with_stable_numbers() {
    let s = spawn_server().await;
    let key = device_key(&s.service).await;
    let agent = client(&s.base_url, Some(&format!("Bearer+agent {key}")));
    let mut bob =
        crate::flows_support::add_user(&s.service, "bob", "bob@example.com", "bob-pass-1").await;
    bob.path = "users/partners".into();
    let mut tx = s.service.store().write_tx().await.expect("tx");
    latchkey::store::users::update(tx.conn(), &bob)
        .await
        .expect("bob's path");
    tx.commit().await.expect("commit");
    crate::flows_support::add_user(&s.service, "carol", "carol@example.com", "carol-pass-1").await;

    let first = users_page(&agent, 1, 2).await;
    assert_eq!(first.results[1].path.as_deref(), Some("users/partners"));
    assert_eq!(first.pagination.count as usize, 3, "akadmin, bob, carol");
    assert_eq!(
        (first.pagination.total_pages, first.pagination.next),
        (2.0, 2.0)
    );
    assert_eq!(
        (first.pagination.start_index, first.pagination.end_index),
        (1.0, 2.0)
    );
    let second = users_page(&agent, 2, 2).await;
    assert_eq!(second.results.len(), 1);
    assert_eq!(
        (second.pagination.previous, second.pagination.next),
        (1.0, 0.0)
    );
    let names: Vec<String> = first
        .results
        .iter()
        .chain(&second.results)
        .map(|u| u.username.clone())
        .collect();
    assert_eq!(names, ["akadmin", "bob", "carol"]);
    let admin = &first.results[0];
    assert!(admin.is_superuser);
    let admins = admin.groups_obj.clone().unwrap_or_default();
    assert!(
        admins.iter().any(|g| g.name == "authentik Admins"),
        "{admins:?}"
    );

    // Numbers are unique and stay: a new user takes the next one, the others keep theirs.
    let before: Vec<i32> = users_page(&agent, 1, 100)
        .await
        .results
        .iter()
        .map(|u| u.pk)
        .collect();
    let unique: std::collections::HashSet<_> = before.iter().collect();
    assert_eq!(unique.len(), before.len());
    crate::flows_support::add_user(&s.service, "aaron", "aaron@example.com", "aaron-pass-1").await;
    let after = users_page(&agent, 1, 100).await.results;
    let aaron = after.iter().find(|u| u.username == "aaron").expect("aaron");
    assert!(
        before.iter().all(|n| *n < aaron.pk),
        "{before:?} then {}",
        aaron.pk
    );
    for u in after.iter().filter(|u| u.username != "aaron") {
        assert!(before.contains(&u.pk));
    }

    let groups = core_api::core_groups_list(
        &agent,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        Some(1),
        Some(100),
        None,
    )
    .await
    .expect("PaginatedGroupList parses");
    let g = groups
        .results
        .iter()
        .find(|g| g.name == "authentik Admins")
        .expect("the admins' group");
    assert!(g.users.clone().unwrap_or_default().contains(&admin.pk));

    // Without the device token, or with a bad page: authentik's refusals.
    let anonymous = client(&s.base_url, None);
    assert!(
        core_api::core_groups_list(
            &anonymous, None, None, None, None, None, None, None, None, None, None, None, None,
            None,
        )
        .await
        .is_err()
    );
    for (query, status) in [
        ("", 403),
        ("?page=abc", 404),
        ("?page=0", 404),
        ("?page=99", 404),
        ("?page=last&page_size=2", 200),
    ] {
        let mut req =
            crate::support::client().get(format!("{}/api/v3/core/users/{query}", s.base_url));
        if status != 403 {
            req = req.header("authorization", format!("Bearer+agent {key}"));
        }
        let res = req.send().await.expect("send");
        assert_eq!(res.status().as_u16(), status, "{query}");
        let body: serde_json::Value = res.json().await.expect("json");
        if status == 200 {
            assert_eq!(body["pagination"]["current"], 2, "the last page: {body}");
        } else {
            assert!(body["detail"].is_string(), "{body}");
        }
    }
    // The admin API's session and the Agent's token both read the version.
    let version = admin_api::admin_version_retrieve(&agent)
        .await
        .expect("Version");
    assert_eq!(
        version.version_current,
        latchkey::http::AUTHENTIK_API_VERSION
    );
}
