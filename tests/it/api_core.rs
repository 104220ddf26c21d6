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
        (
            Some(format!("Bearer {key}")),
            "Authentication credentials were not provided.",
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
