//! Bootstrap on an empty store: authentik's names, one transaction, idempotent.

use std::sync::Arc;

use latchkey::context::{Config, SystemClock};
use latchkey::crypto::{jwk::SigningKey, password};
use latchkey::service::Service;
use latchkey::service::bootstrap::{self, BootstrapOutcome};
use latchkey::store;

use crate::support::{ADMIN_PASSWORD, bootstrapped_service, temp_store};

#[tokio::test]
async fn creates_authentik_defaults() {
    let (_dir, service) = bootstrapped_service("http://127.0.0.1:9000").await;
    let flows: Vec<String> = service
        .list_flows()
        .await
        .expect("flows")
        .into_iter()
        .map(|f| f.slug)
        .collect();
    for slug in [
        "default-authentication-flow",
        "default-invalidation-flow",
        "default-provider-authorization-explicit-consent",
        "default-provider-authorization-implicit-consent",
        "default-provider-invalidation-flow",
    ] {
        assert!(flows.contains(&slug.to_string()), "missing {slug}");
    }

    let auth = service
        .list_flows()
        .await
        .expect("flows")
        .into_iter()
        .find(|f| f.slug == "default-authentication-flow")
        .expect("auth flow");
    let stages = service.list_stages().await.expect("stages");
    let mut bindings: Vec<(i64, String)> = service
        .list_flow_stage_bindings()
        .await
        .expect("bindings")
        .into_iter()
        .filter(|b| b.flow_id == auth.id)
        .map(|b| {
            let stage = stages.iter().find(|s| s.id == b.stage_id).expect("stage");
            (b.order, stage.kind().as_str().to_string())
        })
        .collect();
    bindings.sort();
    assert_eq!(
        bindings,
        vec![
            (10, "identification".to_string()),
            (20, "password".to_string()),
            (30, "authenticator_validate".to_string()),
            (100, "user_login".to_string()),
        ]
    );
    let mfa = stages
        .iter()
        .find(|s| s.name == "default-authentication-mfa-validation")
        .expect("mfa stage");
    assert_eq!(mfa.settings.to_json()["not_configured_action"], "skip");

    let managed: Vec<Option<String>> = service
        .list_scope_mappings()
        .await
        .expect("mappings")
        .into_iter()
        .map(|m| m.managed)
        .collect();
    for scope in ["openid", "email", "profile", "offline_access"] {
        let id = format!("goauthentik.io/providers/oauth2/scope-{scope}");
        assert!(managed.contains(&Some(id.clone())), "missing {id}");
    }

    let brands = service.list_brands().await.expect("brands");
    assert_eq!(brands.len(), 1);
    assert_eq!(brands[0].domain, "authentik-default");
    assert!(brands[0].default);
    assert_eq!(
        brands[0].flow_authentication_id.as_deref(),
        Some(auth.id.as_str())
    );

    let certs = service.list_certificates().await.expect("certs");
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0].name, bootstrap::SELF_SIGNED_NAME);
    let key = SigningKey::from_keypair(&certs[0]).expect("key parses");
    assert_eq!(key.algorithm_name(), "RS256");
    assert_eq!(key.kid, certs[0].kid);
    let n = key.public_jwk["n"].as_str().expect("n");
    assert_eq!(n.len(), 342, "2048-bit modulus");
    let validity_days = (certs[0].not_after - certs[0].not_before) / 86400;
    assert!((365..=367).contains(&validity_days), "{validity_days}");

    let users = service.list_users().await.expect("users");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].username, "akadmin");
    let groups = service.list_groups().await.expect("groups");
    assert_eq!(groups[0].name, "authentik Admins");
    assert!(groups[0].is_superuser);
    let mut conn = service.store().read().await.expect("conn");
    assert!(
        store::groups::is_superuser(&mut conn, &users[0].id)
            .await
            .expect("su")
    );
    let hash = store::users::password_hash(&mut conn, &users[0].id)
        .await
        .expect("hash")
        .expect("has password");
    assert!(hash.starts_with("$argon2id$"));
    assert!(password::verify(ADMIN_PASSWORD, &hash));
}

#[tokio::test]
async fn second_bootstrap_changes_nothing() {
    let (_dir, service) = bootstrapped_service("http://x").await;
    let before = (
        service.list_flows().await.expect("f"),
        service.list_stages().await.expect("s"),
        service.list_certificates().await.expect("c"),
        service.list_users().await.expect("u"),
    );
    let outcome = service.bootstrap(Some("other")).await.expect("again");
    assert_eq!(outcome, BootstrapOutcome::AlreadyBootstrapped);
    let after = (
        service.list_flows().await.expect("f"),
        service.list_stages().await.expect("s"),
        service.list_certificates().await.expect("c"),
        service.list_users().await.expect("u"),
    );
    assert_eq!(before, after);
}

#[tokio::test]
async fn without_a_bootstrap_password_akadmin_waits_for_the_initial_setup() {
    let (_dir, store) = temp_store().await;
    let service = Service::new(store, Config::new("http://x/"), Arc::new(SystemClock));
    let outcome = service.bootstrap(None).await.expect("bootstrap");
    assert_eq!(
        outcome,
        BootstrapOutcome::Created {
            admin_password_set: false
        }
    );
    let users = service.list_users().await.expect("users");
    let admin = users
        .iter()
        .find(|u| u.username == "akadmin")
        .expect("akadmin");
    assert!(!admin.has_password, "no usable password, as authentik");
    let mut conn = service.store().read().await.expect("conn");
    let hash = store::users::password_hash(&mut conn, &admin.id)
        .await
        .expect("hash");
    assert_eq!(hash, None);
    drop(conn);
    assert!(service.initial_setup_pending().await.expect("pending"));
    assert_eq!(
        bootstrap::initial_setup_url("http://x/"),
        "http://x/if/flow/initial-setup/"
    );
    assert!(
        service
            .list_flows()
            .await
            .expect("flows")
            .iter()
            .any(|f| f.slug == "initial-setup"),
        "the OOBE flow is installed"
    );
}

#[tokio::test]
async fn with_a_bootstrap_password_no_initial_setup_is_pending() {
    let (_dir, service) = bootstrapped_service("http://x").await;
    assert!(!service.initial_setup_pending().await.expect("pending"));
    let users = service.list_users().await.expect("users");
    let mut conn = service.store().read().await.expect("conn");
    let hash = store::users::password_hash(&mut conn, &users[0].id)
        .await
        .expect("hash")
        .expect("set");
    assert!(password::verify(ADMIN_PASSWORD, &hash));
}
