//! authentik's own blueprints, recreated as fixtures (`fixtures/blueprints/`): the default
//! flows, the system OAuth2 scope mappings, and goauthentik/platform's `cli.yaml` and
//! `agent.yaml`. Each applies to a fresh store, applies again without changing one row (every
//! object with its version and timestamps, and the configuration generation), and behaves.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use latchkey::blueprint::cache::ALL_KINDS;
use latchkey::blueprint::{ExportFilter, Source, read_sources};
use latchkey::context::{Config, SystemClock};
use latchkey::domain::{BindingSubject, ConnectorSettings, Kind, Object};
use latchkey::service::Service;
use latchkey::service::bootstrap::SELF_SIGNED_NAME;
use latchkey::store::{self, Store, StoreLocation};

use crate::support::{bootstrapped_service, oauth_post, spawn_server, temp_store};

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/blueprints")
        .join(path)
}

fn sources(paths: &[&str]) -> Vec<Source> {
    let files: Vec<PathBuf> = paths.iter().map(|p| fixture(p)).collect();
    read_sources(&files).expect("read fixtures")
}

/// Every object of every kind (ids, versions, timestamps included) and the configuration
/// generation: equal before and after means the apply wrote nothing.
async fn store_state(s: &Service) -> (i64, Vec<Vec<Object>>) {
    let mut conn = s.store().read().await.expect("read");
    let generation = store::config_version(&mut conn).await.expect("generation");
    let mut all = Vec::new();
    for kind in ALL_KINDS {
        all.push(store::objects::list(&mut conn, kind).await.expect("list"));
    }
    (generation, all)
}

async fn objects(s: &Service, kind: Kind) -> Vec<Object> {
    let mut conn = s.store().read().await.expect("read");
    store::objects::list(&mut conn, kind).await.expect("list")
}

/// Applies, checks it wrote something, applies again and checks that changed nothing at all.
async fn applies_then_reapplies_as_a_noop(s: &Service, srcs: &[Source]) {
    let first = s.apply_blueprints(srcs).await.expect("first apply");
    let before = store_state(s).await;
    let again = s.apply_blueprints(srcs).await.expect("second apply");
    assert!(again.is_noop(), "second apply: {again} (first: {first})");
    assert_eq!(
        store_state(s).await,
        before,
        "the second apply changed the store"
    );
}

fn service_on(store: Store) -> Service {
    Service::new(store, Config::new("http://x"), Arc::new(SystemClock))
}

const DEFAULTS: &[&str] = &[
    "default/flow-default-authentication-flow.yaml",
    "default/flow-default-invalidation-flow.yaml",
    "default/flow-default-provider-authorization-explicit-consent.yaml",
    "default/flow-default-provider-authorization-implicit-consent.yaml",
    "default/flow-default-provider-invalidation.yaml",
    "default/flow-default-user-settings-flow.yaml",
    "default/default-brand.yaml",
];

#[tokio::test]
async fn default_flows_apply_to_an_empty_store_then_reapply_as_a_noop() {
    let (_dir, store) = temp_store().await;
    let s = service_on(store);
    applies_then_reapplies_as_a_noop(&s, &sources(DEFAULTS)).await;
    // Behaves: the authentication flow's four stages in authentik's order, and the brand
    // points at it.
    let flows = objects(&s, Kind::Flow).await;
    let auth = flows
        .iter()
        .find_map(|o| match o {
            Object::Flow(f) if f.slug == "default-authentication-flow" => Some(f.clone()),
            _ => None,
        })
        .expect("authentication flow");
    let mut bindings: Vec<_> = objects(&s, Kind::FlowStageBinding)
        .await
        .into_iter()
        .filter_map(|o| match o {
            Object::FlowStageBinding(b) if b.flow_id == auth.id => Some(b),
            _ => None,
        })
        .collect();
    bindings.sort_by_key(|b| b.order);
    let stages = objects(&s, Kind::Stage).await;
    let names: Vec<String> = bindings
        .iter()
        .filter_map(|b| {
            stages.iter().find_map(|o| match o {
                Object::Stage(st) if st.id == b.stage_id => Some(st.name.clone()),
                _ => None,
            })
        })
        .collect();
    assert_eq!(
        names,
        [
            "default-authentication-identification",
            "default-authentication-password",
            "default-authentication-mfa-validation",
            "default-authentication-login",
        ]
    );
    let brands = objects(&s, Kind::Brand).await;
    assert!(brands.iter().any(|o| matches!(o,
        Object::Brand(b) if b.domain == "authentik-default"
            && b.flow_authentication_id.as_deref() == Some(auth.id.as_str()))));
}

#[tokio::test]
async fn system_oauth2_mappings_apply_then_reapply_as_a_noop() {
    let (_dir, store) = temp_store().await;
    let s = service_on(store);
    applies_then_reapplies_as_a_noop(&s, &sources(&["default/system-providers-oauth2.yaml"])).await;
    let mut scopes: Vec<(String, String)> = objects(&s, Kind::ScopeMapping)
        .await
        .into_iter()
        .filter_map(|o| match o {
            Object::ScopeMapping(m) => Some((m.managed.unwrap_or_default(), m.scope_name)),
            _ => None,
        })
        .collect();
    scopes.sort();
    let want: Vec<(String, String)> = [
        ("scope-authentik_api", "goauthentik.io/api"),
        ("scope-email", "email"),
        ("scope-offline_access", "offline_access"),
        ("scope-openid", "openid"),
        ("scope-profile", "profile"),
    ]
    .iter()
    .map(|(m, s)| {
        (
            format!("goauthentik.io/providers/oauth2/{m}"),
            s.to_string(),
        )
    })
    .collect();
    assert_eq!(scopes, want);
}

#[tokio::test]
async fn platform_cli_applies_reapplies_and_its_client_starts_a_device_authorization() {
    let server = spawn_server().await;
    let s = &server.service;
    applies_then_reapplies_as_a_noop(s, &sources(&["platform/cli.yaml"])).await;
    let providers = objects(s, Kind::Provider).await;
    let Some(Object::Provider(cli)) = providers
        .iter()
        .find(|o| matches!(o, Object::Provider(p) if p.client_id == "authentik-cli"))
    else {
        panic!("no authentik-cli provider");
    };
    let certs = objects(s, Kind::Certificate).await;
    assert!(certs.iter().any(|o| matches!(o,
        Object::Certificate(c) if c.name == SELF_SIGNED_NAME
            && cli.signing_key_id.as_deref() == Some(c.id.as_str()))));
    assert_eq!(cli.scope_mapping_ids.len(), 4);
    // Behaves: the public client starts a device authorization (RFC 8628) with no secret.
    let url = format!("{}/application/o/device/", server.base_url);
    let (status, _, body) = oauth_post(&url, None, &[("client_id", "authentik-cli")]).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["device_code"].as_str().is_some_and(|c| !c.is_empty()),
        "{body}"
    );
    assert!(body["user_code"].as_str().is_some(), "{body}");
}

#[tokio::test]
async fn platform_agent_applies_with_the_cli_it_requires_then_reapplies_as_a_noop() {
    let (_dir, s) = bootstrapped_service("http://x").await;
    applies_then_reapplies_as_a_noop(&s, &sources(&["platform/agent.yaml"])).await;

    // The CLI client came with it (metaapplyblueprint "authentik CLI").
    let providers = objects(&s, Kind::Provider).await;
    let cli_id = providers
        .iter()
        .find_map(|o| match o {
            Object::Provider(p) if p.name == "authentik-cli" => Some(p.id.clone()),
            _ => None,
        })
        .expect("the CLI provider");
    // The connector: challenge key = the self-signed certificate, federating the CLI's tokens.
    let cert_id = objects(&s, Kind::Certificate)
        .await
        .into_iter()
        .find_map(|o| match o {
            Object::Certificate(c) if c.name == SELF_SIGNED_NAME => Some(c.id),
            _ => None,
        })
        .expect("certificate");
    let connectors = objects(&s, Kind::Connector).await;
    let Some(Object::Connector(agent)) = connectors.first() else {
        panic!("no connector");
    };
    assert_eq!(agent.name, "agent");
    assert_eq!(agent.challenge_key_id.as_deref(), Some(cert_id.as_str()));
    let ConnectorSettings::Agent(settings) = &agent.settings;
    assert_eq!(settings.jwt_federation_providers, [cli_id]);

    // The device access group, opened to authentik Admins by a policy binding.
    let groups = objects(&s, Kind::DeviceAccessGroup).await;
    let Some(Object::DeviceAccessGroup(group)) = groups.first() else {
        panic!("no device access group");
    };
    assert_eq!(group.name, "workstation-prod");
    let admins = objects(&s, Kind::Group)
        .await
        .into_iter()
        .find_map(|o| match o {
            Object::Group { group, .. } if group.name == "authentik Admins" => Some(group.id),
            _ => None,
        })
        .expect("admins group");
    let bindings = objects(&s, Kind::PolicyBinding).await;
    assert!(bindings.iter().any(|o| matches!(o,
        Object::PolicyBinding(b) if b.target_id == group.id
            && b.subject == BindingSubject::Group(admins.clone()))));

    // The enrollment token: its key kept only as a digest, found by the key, never exported.
    let tokens = objects(&s, Kind::EnrollmentToken).await;
    let Some(Object::EnrollmentToken(token)) = tokens.first() else {
        panic!("no enrollment token");
    };
    assert_eq!(token.connector_id, agent.id);
    assert_eq!(token.device_group_id.as_deref(), Some(group.id.as_str()));
    assert!(!token.expiring);
    assert_ne!(token.key_digest, "test-enroll-key");
    let found = s
        .enrollment_token_for_key("test-enroll-key")
        .await
        .expect("lookup");
    assert_eq!(found.map(|t| t.id), Some(token.id.clone()));
    assert_eq!(
        s.enrollment_token_for_key("test-enroll-kez")
            .await
            .expect("lookup"),
        None
    );
    let export = s
        .export_blueprint(&ExportFilter::default())
        .await
        .expect("export");
    assert!(!export.contains("test-enroll-key"));
    assert!(!export.contains(&token.key_digest));
    assert!(export.contains("authentik_endpoints_connectors_agent.enrollmenttoken"));
    assert!(export.contains("authentik_endpoints.deviceaccessgroup"));
}

#[tokio::test]
async fn the_agent_blueprint_applied_to_a_store_without_the_cli_names_the_missing_piece_and_writes_nothing()
 {
    // Without bootstrap there is no certificate: the connector's !Find fails; the error names
    // the file, the line and the entry, and nothing (not even the CLI part) is written.
    let (_dir, store) = temp_store().await;
    let s = service_on(store);
    let before = store_state(&s).await;
    let err = s
        .apply_blueprints(&sources(&["platform/agent.yaml"]))
        .await
        .expect_err("no certificate");
    let text = err.to_string();
    assert!(text.contains("platform/cli.yaml:"), "{text}");
    assert!(text.contains("entry"), "{text}");
    assert!(text.contains("authentik Self-signed Certificate"), "{text}");
    assert_eq!(store_state(&s).await, before);
}

/// A store bootstrapped before issue 16 holds `latchkey Self-signed Certificate`: migration
/// 0026 renames it, and blueprints find it under either name.
#[tokio::test]
async fn migration_0026_renames_latchkey_certificate_and_both_names_find_it() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("old.db");
    {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .connect()
            .await
            .expect("connect");
        sqlx::migrate!("src/store/migrations")
            .run_to(25, &mut conn)
            .await
            .expect("migrations up to 0025");
        let pair = latchkey::crypto::keys::generate_self_signed(
            "latchkey Self-signed Certificate",
            &[],
            30,
            latchkey::crypto::keys::KeyAlgorithm::EcdsaP256,
        )
        .expect("key");
        sqlx::query(
            "INSERT INTO certificate_keypairs (id, name, certificate_pem, key_pem, key_type, \
             kid, fingerprint_sha256, fingerprint_sha1, not_before, not_after, created_at, \
             updated_at) VALUES ('cert-old', 'latchkey Self-signed Certificate', $1, $2, 'ec', \
             'kid', 'f256', 'f1', 0, 0, 0, 0)",
        )
        .bind(&pair.certificate_pem)
        .bind(&pair.key_pem)
        .execute(&mut conn)
        .await
        .expect("old certificate");
    }
    let store = Store::open(&StoreLocation::File(path)).await.expect("open");
    let s = service_on(store);
    let certs = objects(&s, Kind::Certificate).await;
    let names: Vec<String> = certs
        .iter()
        .filter_map(|o| match o {
            Object::Certificate(c) => Some(c.name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(names, [SELF_SIGNED_NAME]);
    for name in ["latchkey Self-signed Certificate", SELF_SIGNED_NAME] {
        let text = format!(
            "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      \
             name: by-{}\n    attrs:\n      attributes:\n        key: !Find \
             [authentik_crypto.certificatekeypair, [name, \"{name}\"]]\n",
            name.len()
        );
        s.apply_blueprints(&[Source {
            file: "find.yaml".into(),
            text,
        }])
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let groups = objects(&s, Kind::Group).await;
    let keys: Vec<String> = groups
        .iter()
        .filter_map(|o| match o {
            Object::Group { group, .. } => group.attributes["key"].as_str().map(str::to_string),
            _ => None,
        })
        .collect();
    assert_eq!(keys, ["cert-old", "cert-old"]);
}

/// `metaapplyblueprint` finds the bundled blueprints by authentik's names and paths, and the
/// ones a bundled blueprint names in turn come along (each once).
#[tokio::test]
async fn bundled_blueprints_are_found_by_authentiks_names_and_paths() {
    for identifiers in [
        "name: Default - Provider invalidation flow",
        "name: Default - Provider authorization flow (implicit consent)",
        "name: System - OAuth2 Provider - Scopes",
        "path: system/providers-oauth2.yaml",
        "path: default/flow-default-provider-invalidation.yaml",
        "name: authentik CLI",
    ] {
        let (_dir, store) = temp_store().await;
        let s = service_on(store);
        let text = format!(
            "version: 1\nentries:\n  - model: authentik_blueprints.metaapplyblueprint\n    \
             attrs:\n      identifiers:\n        {identifiers}\n"
        );
        let src = [Source {
            file: "meta.yaml".into(),
            text,
        }];
        let report = match s.apply_blueprints(&src).await {
            Ok(r) => r,
            // `authentik CLI` needs the bootstrapped certificate; the error names its entry.
            Err(e) if identifiers.contains("CLI") => {
                assert!(e.to_string().contains("platform/cli.yaml:"), "{e}");
                continue;
            }
            Err(e) => panic!("{identifiers}: {e}"),
        };
        assert!(report.created > 0, "{identifiers}: {report}");
    }
    let (_dir, s) = bootstrapped_service("http://x").await;
    let text = "version: 1\nentries:\n  - model: authentik_blueprints.metaapplyblueprint\n    \
                attrs:\n      identifiers:\n        name: authentik CLI\n";
    let src = [Source {
        file: "meta.yaml".into(),
        text: text.into(),
    }];
    s.apply_blueprints(&src).await.expect("authentik CLI");
    assert!(
        objects(&s, Kind::Application)
            .await
            .iter()
            .any(|o| matches!(o, Object::Application(a) if a.slug == "authentik-cli"))
    );
}

/// After agent.yaml the console's Connectors tab lists the device access group and the
/// enrollment token beside the connector, and never shows the token's key or its digest.
#[tokio::test]
async fn the_console_lists_what_agent_yaml_made_without_the_key() {
    use crate::console_forms::{app_over, render};
    let (_dir, s) = bootstrapped_service("http://x").await;
    s.apply_blueprints(&sources(&["platform/agent.yaml"]))
        .await
        .expect("apply");
    let mut app = app_over(&s).await;
    app.handle_key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('9'),
        crossterm::event::KeyModifiers::NONE,
    ));
    let screen = render(&mut app, 120, 40);
    assert!(screen.contains("agent"), "{screen}");
    assert!(
        screen.contains("[device group] workstation-prod"),
        "{screen}"
    );
    assert!(
        screen.contains("[enrollment token] workstation-prod"),
        "{screen}"
    );
    let digest = latchkey::crypto::secrets::digest("test-enroll-key");
    assert!(!screen.contains("test-enroll-key"));
    assert!(!screen.contains(&digest[..12]));
}

/// What agent.yaml made exports and applies to another store: the group comes before the
/// binding that targets it and the token after its connector (the key stays behind).
#[tokio::test]
async fn agent_objects_export_and_apply_to_another_store() {
    let (_dir, s) = bootstrapped_service("http://x").await;
    s.apply_blueprints(&sources(&["platform/agent.yaml"]))
        .await
        .expect("apply");
    let export = s
        .export_blueprint(&ExportFilter::default())
        .await
        .expect("export");
    let (_dir2, other) = bootstrapped_service("http://y").await;
    other
        .apply_blueprints(&[Source {
            file: "export.yaml".into(),
            text: export,
        }])
        .await
        .expect("the export applies");
    for kind in [
        Kind::DeviceAccessGroup,
        Kind::EnrollmentToken,
        Kind::Connector,
    ] {
        assert_eq!(objects(&other, kind).await.len(), 1, "{kind:?}");
    }
    let group = match objects(&other, Kind::DeviceAccessGroup).await.first() {
        Some(Object::DeviceAccessGroup(g)) => g.id.clone(),
        _ => panic!("no group"),
    };
    assert!(
        objects(&other, Kind::PolicyBinding)
            .await
            .iter()
            .any(|o| matches!(o, Object::PolicyBinding(b) if b.target_id == group))
    );
    // The key did not travel: the copy's token has a key of its own.
    assert_eq!(
        other
            .enrollment_token_for_key("test-enroll-key")
            .await
            .expect("lookup"),
        None
    );
}

/// The delete dialog's question for what agent.yaml made: the connector takes its token along,
/// the device group its policy binding and its place on the token; the deletes do exactly that.
#[tokio::test]
async fn deleting_agent_objects_says_and_does_what_happens_to_their_users() {
    use latchkey::service::usages::OnDelete;
    let (_dir, s) = bootstrapped_service("http://x").await;
    s.apply_blueprints(&sources(&["platform/agent.yaml"]))
        .await
        .expect("apply");
    let id_of = |objs: Vec<Object>| objs.first().map(|o| o.id().to_string()).expect("one");
    let group = id_of(objects(&s, Kind::DeviceAccessGroup).await);
    let connector = id_of(objects(&s, Kind::Connector).await);
    let effects = |u: Vec<latchkey::service::usages::Usage>| -> Vec<(String, OnDelete)> {
        u.into_iter()
            .map(|u| (format!("{} {}", u.kind, u.field), u.effect))
            .collect()
    };
    let on_group = effects(
        s.usages(Kind::DeviceAccessGroup, &group)
            .await
            .expect("usages"),
    );
    assert!(on_group.contains(&("enrollment token device group".into(), OnDelete::Cleared)));
    assert!(on_group.contains(&("policy binding target".into(), OnDelete::Deleted)));
    let on_connector = effects(s.usages(Kind::Connector, &connector).await.expect("usages"));
    assert!(on_connector.contains(&("enrollment token connector".into(), OnDelete::Deleted)));

    s.delete_object(Kind::DeviceAccessGroup, &group)
        .await
        .expect("delete group");
    assert!(
        !objects(&s, Kind::PolicyBinding)
            .await
            .iter()
            .any(|o| matches!(o, Object::PolicyBinding(b) if b.target_id == group))
    );
    match objects(&s, Kind::EnrollmentToken).await.first() {
        Some(Object::EnrollmentToken(t)) => assert_eq!(t.device_group_id, None),
        _ => panic!("the token stays"),
    }
    s.delete_object(Kind::Connector, &connector)
        .await
        .expect("delete connector");
    assert!(objects(&s, Kind::EnrollmentToken).await.is_empty());
}
