//! The audit trail (issue 20): every change from the console, blueprints and the CLI records
//! `model_created` / `model_updated` (with a diff) / `model_deleted` with who and from where;
//! passwords set, secrets viewed and rotated, configuration errors; and no secret reaches an
//! event or a log line.

use std::process::Command;

use latchkey::domain::{Actor, Event, Kind, Object, PolicyEngineMode, new_id};
use latchkey::service::Service;
use latchkey::service::blueprints::Source;
use serde_json::Value;

use crate::server::create_oidc_app_on;
use crate::support::{ADMIN_PASSWORD, bootstrapped_service, spawn_server};

fn console_actor() -> Actor {
    Actor::local("console", "alice", "ops-box")
}

/// Events of `action` recorded after the bootstrap, oldest first.
async fn events(service: &Service, action: &str) -> Vec<Event> {
    let mut all = crate::flows_support::events_of(service, action).await;
    all.reverse();
    all
}

/// Events of `action` about the object named `name`, oldest first.
async fn events_named(service: &Service, action: &str, name: &str) -> Vec<Event> {
    let mut all = events(service, action).await;
    all.retain(|e| e.context["model"]["name"] == name);
    all
}

fn app(name: &str, slug: &str, launch: &str) -> Object {
    Object::Application(latchkey::domain::Application {
        id: new_id(),
        name: name.into(),
        slug: slug.into(),
        policy_engine_mode: PolicyEngineMode::Any,
        meta_launch_url: launch.into(),
        ..Default::default()
    })
}

fn about<'a>(events: &'a [Event], pk: &str) -> Vec<&'a Event> {
    events
        .iter()
        .filter(|e| e.context["model"]["pk"] == pk)
        .collect()
}

#[tokio::test]
async fn console_saves_and_deletes_record_model_events_with_actor_origin_and_diff() {
    let (_dir, service) = bootstrapped_service("http://localhost:9000").await;
    let console = service.acting_as(console_actor());
    let mut obj = app("Grafana", "grafana", "https://old.example/");
    console.save(&obj, true).await.expect("create");
    let id = obj.id().to_string();

    let created = events(&service, "model_created").await;
    let created = about(&created, &id);
    assert_eq!(created.len(), 1, "{created:?}");
    let e = created[0];
    assert_eq!(
        (e.username.as_str(), e.origin.as_str()),
        ("alice@ops-box", "console")
    );
    assert_eq!(e.user_id, None);
    assert_eq!(e.context["model"]["app"], "authentik_core");
    assert_eq!(e.context["model"]["model_name"], "application");
    assert_eq!(e.context["model"]["name"], "Grafana");

    // The update: only the changed field, with both values.
    let stored = service
        .list_applications()
        .await
        .expect("apps")
        .into_iter()
        .find(|a| a.id == id)
        .expect("stored");
    let mut edited = stored.clone();
    edited.meta_launch_url = "https://new.example/".into();
    obj = Object::Application(edited);
    console.save(&obj, false).await.expect("update");
    let updated = events(&service, "model_updated").await;
    let updated = about(&updated, &id);
    assert_eq!(updated.len(), 1, "{updated:?}");
    let diff = updated[0].context["diff"].as_object().expect("a diff");
    assert_eq!(diff.keys().collect::<Vec<_>>(), vec!["meta_launch_url"]);
    assert_eq!(
        diff["meta_launch_url"]["previous_value"],
        "https://old.example/"
    );
    assert_eq!(diff["meta_launch_url"]["new_value"], "https://new.example/");
    assert_eq!(updated[0].origin, "console");

    // Saving it unchanged records nothing more.
    let same = service
        .list_applications()
        .await
        .expect("apps")
        .into_iter()
        .find(|a| a.id == id)
        .expect("stored");
    console
        .save(&Object::Application(same), false)
        .await
        .expect("save again");
    assert_eq!(
        about(&events(&service, "model_updated").await, &id).len(),
        1
    );

    console
        .delete_object(Kind::Application, &id)
        .await
        .expect("delete");
    let deleted = events(&service, "model_deleted").await;
    let deleted = about(&deleted, &id);
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].username, "alice@ops-box");
    assert_eq!(deleted[0].context["attrs"]["slug"], "grafana");
}

#[tokio::test]
async fn a_refused_save_records_nothing() {
    let (_dir, service) = bootstrapped_service("http://localhost:9000").await;
    let console = service.acting_as(console_actor());
    let before = service.recent_events(5000).await.expect("events").len();
    // An application without a slug is refused by validation: no event, no object.
    let bad = app("No slug", "", "");
    assert!(console.save(&bad, true).await.is_err());
    assert_eq!(
        service.recent_events(5000).await.expect("events").len(),
        before
    );
}

#[tokio::test]
async fn a_changed_client_secret_is_masked_in_the_diff_and_recorded_as_rotated() {
    let (_dir, service) = bootstrapped_service("http://localhost:9000").await;
    let console = service.acting_as(console_actor());
    let provider = create_oidc_app_on(&service, "rotating").await;
    let old_secret = provider.oauth2.client_secret.clone();
    let mut p = service
        .list_providers()
        .await
        .expect("providers")
        .into_iter()
        .find(|x| x.id == provider.id)
        .expect("provider");
    let new_secret = "N".repeat(64) + "new-secret-value";
    p.oauth2.client_secret = new_secret.clone();
    console
        .save(&Object::Provider(p), false)
        .await
        .expect("rotate");
    let updated = events(&service, "model_updated").await;
    let updated = about(&updated, &provider.id);
    assert_eq!(updated.len(), 1);
    assert_eq!(
        updated[0].context["diff"]["client_secret"]["new_value"],
        latchkey::blueprint::change_events::MASK
    );
    let rotated = events(&service, "secret_rotate").await;
    assert_eq!(rotated.len(), 1, "{rotated:?}");
    assert_eq!(rotated[0].context["field"], "client_secret");
    assert_eq!(rotated[0].username, "alice@ops-box");
    assert_no_secret_in_events(&service, &[&old_secret, &new_secret]).await;
}

#[tokio::test]
async fn revealing_or_copying_a_secret_is_recorded_without_it() {
    let (_dir, service) = bootstrapped_service("http://localhost:9000").await;
    let console = service.acting_as(console_actor());
    let provider = create_oidc_app_on(&service, "viewed").await;
    for how in ["copy", "reveal"] {
        console
            .record_secret_view(Kind::Provider, &provider.id, "client_secret", how)
            .await
            .expect("recorded");
    }
    let viewed = events(&service, "secret_view").await;
    let hows: Vec<&Value> = viewed.iter().map(|e| &e.context["how"]).collect();
    assert_eq!(hows, vec!["copy", "reveal"]);
    assert!(viewed.iter().all(|e| e.username == "alice@ops-box"
        && e.context["model"]["pk"] == provider.id.as_str()
        && e.context["field"] == "client_secret"));
    assert_no_secret_in_events(&service, &[&provider.oauth2.client_secret]).await;
    // An object that is gone is said to be, not recorded.
    assert!(
        console
            .record_secret_view(Kind::Provider, "no-such-id", "client_secret", "copy")
            .await
            .is_err()
    );
}

const APPS_BLUEPRINT: &str = r#"
version: 1
metadata:
  name: team-apps
entries:
  - model: authentik_core.application
    identifiers:
      slug: wiki
    attrs:
      name: Wiki
      meta_launch_url: LAUNCH
"#;

#[tokio::test]
async fn blueprint_writes_name_the_blueprint_as_their_origin() {
    let (_dir, service) = bootstrapped_service("http://localhost:9000").await;
    let cli = service.acting_as(Actor::local("cli", "bob", "ci-runner"));
    let apply = |launch: &str| {
        vec![Source {
            file: "apps.yaml".into(),
            text: APPS_BLUEPRINT.replace("LAUNCH", launch),
        }]
    };
    cli.apply_blueprints(&apply("https://wiki.example/"))
        .await
        .expect("apply");
    let created = events_named(&service, "model_created", "Wiki").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].origin, "blueprint team-apps");
    assert_eq!(created[0].username, "bob@ci-runner");

    // Re-applying the same file changes nothing and records nothing.
    let count = service.recent_events(5000).await.expect("events").len();
    cli.apply_blueprints(&apply("https://wiki.example/"))
        .await
        .expect("again");
    assert_eq!(
        service.recent_events(5000).await.expect("events").len(),
        count
    );

    cli.apply_blueprints(&apply("https://wiki2.example/"))
        .await
        .expect("changed");
    let updated = events_named(&service, "model_updated", "Wiki").await;
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0].origin, "blueprint team-apps");
    assert_eq!(
        updated[0].context["diff"]["meta_launch_url"]["new_value"],
        "https://wiki2.example/"
    );
}

#[tokio::test]
async fn bootstrap_records_the_default_blueprints_objects_as_the_systems() {
    let (_dir, service) = bootstrapped_service("http://localhost:9000").await;
    let created = events(&service, "model_created").await;
    let flow = created
        .iter()
        .find(|e| {
            e.context["model"]["model_name"] == "flow"
                && e.origin == "blueprint Default - Authentication flow"
        })
        .expect("the default flow's creation");
    assert_eq!(flow.username, "");
}

#[tokio::test]
async fn a_password_set_by_an_admin_names_the_admin_and_the_account() {
    let (_dir, service) = bootstrapped_service("http://localhost:9000").await;
    let console = service.acting_as(console_actor());
    let admin = service
        .user_by_username("akadmin")
        .await
        .expect("read")
        .expect("akadmin");
    let password = "a-new-long-password-1";
    console
        .set_user_password(&admin.id, password, "console")
        .await
        .expect("set");
    let set = events(&service, "password_set").await;
    let last = set.last().expect("recorded");
    assert_eq!(last.username, "alice@ops-box");
    assert_eq!(last.context["user"]["username"], "akadmin");
    assert_no_secret_in_events(&service, &[password, ADMIN_PASSWORD]).await;
}

#[tokio::test]
async fn a_failing_scope_mapping_is_a_configuration_error_once_a_minute() {
    let s = spawn_server().await;
    let mut provider = create_oidc_app_on(&s.service, "broken-claims").await;
    let broken = latchkey::domain::ScopeMapping {
        id: new_id(),
        name: "broken mapping".into(),
        scope_name: "broken".into(),
        description: String::new(),
        expression: "return {'x': 1 / 0}".into(),
        managed: None,
        created_at: 0,
        updated_at: 0,
        version: 1,
    };
    s.service
        .save(&Object::ScopeMapping(broken.clone()), true)
        .await
        .expect("mapping");
    provider.scope_mapping_ids.push(broken.id.clone());
    provider.oauth2.grant_types = vec!["client_credentials".into()];
    s.service
        .save(&Object::Provider(provider.clone()), false)
        .await
        .expect("provider");
    for _ in 0..3 {
        let res = crate::support::client()
            .post(format!("{}/application/o/token/", s.base_url))
            .basic_auth(&provider.client_id, Some(&provider.oauth2.client_secret))
            .form(&[("grant_type", "client_credentials"), ("scope", "broken")])
            .send()
            .await
            .expect("token");
        // The failing mapping is skipped: the client still gets its token.
        assert_eq!(
            res.status().as_u16(),
            200,
            "{}",
            res.text().await.unwrap_or_default()
        );
    }
    // Recorded without waiting for the request: poll for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let errors = loop {
        let found = events(&s.service, "configuration_error").await;
        if !found.is_empty() || std::time::Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(errors.len(), 1, "three failures, one event: {errors:?}");
    assert_eq!(errors[0].context["mapping"]["name"], "broken mapping");
    assert_eq!(errors[0].origin, "system");
    let message = errors[0].context["message"].as_str().unwrap_or_default();
    assert!(message.contains("broken mapping"), "{message}");
}

#[test]
fn cli_changes_name_the_os_user_and_the_cli() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("cli.db");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .arg("--db")
            .arg(&db)
            .args(args)
            .env("USER", "carol")
            .env("LATCHKEY_BOOTSTRAP_PASSWORD", ADMIN_PASSWORD)
            .output()
            .expect("run latchkey");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let blueprint = dir.path().join("apps.yaml");
    std::fs::write(
        &blueprint,
        APPS_BLUEPRINT.replace("LAUNCH", "https://wiki.example/"),
    )
    .expect("write");
    run(&["apply", blueprint.to_str().expect("utf-8")]);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let created = rt.block_on(async {
        let store = latchkey::store::Store::open(&latchkey::store::StoreLocation::File(db.clone()))
            .await
            .expect("open");
        let all = latchkey::store::events::recent(&mut store.read().await.expect("read"), 5000)
            .await
            .expect("events");
        store.close().await;
        all
    });
    let wiki = created
        .iter()
        .find(|e| e.action == "model_created" && e.context["model"]["name"] == "Wiki")
        .expect("the apply's creation");
    assert!(wiki.username.starts_with("carol@"), "{wiki:?}");
    assert_eq!(wiki.origin, "blueprint team-apps");
    // Bootstrap (by the same command) is the system's, not carol's.
    let flow = created
        .iter()
        .find(|e| e.context["model"]["model_name"] == "flow")
        .expect("bootstrap's flow");
    assert_eq!(flow.username, "");
}

/// No stored event (any column, any depth of its context) contains any of `secrets`.
async fn assert_no_secret_in_events(service: &Service, secrets: &[&str]) {
    let mut conn = service.store().read().await.expect("read");
    let rows: Vec<(String, String, String, String)> =
        sqlx::query_as("SELECT action, username, origin, context FROM events")
            .fetch_all(&mut *conn)
            .await
            .expect("rows");
    for (action, username, origin, context) in rows {
        for secret in secrets {
            let row = format!("{action} {username} {origin} {context}");
            assert!(!row.contains(secret), "a secret in a {action} event: {row}");
        }
    }
}
