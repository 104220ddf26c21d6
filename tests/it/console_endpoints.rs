//! The console's endpoint screens (issue 17): enrollment tokens made from the keyboard with
//! their key shown once, revoked after a confirmation; device access groups with their policy
//! bindings; the Agent connector's typed fields, bad values marked in place.

use crossterm::event::KeyCode;
use latchkey::console::app::App;
use latchkey::console::keymap::Mode;
use latchkey::console::tabs::TabId;
use latchkey::domain::{
    BindingSubject, Connector, ConnectorKind, ConnectorSettings, DeviceAccessGroup, Object, new_id,
};
use latchkey::service::Service;
use serde_json::json;

use crate::console_forms::{ctrl, focus_field, fresh, key, load, render, select_row, settle, typ};

/// A connector and a device access group made through the service, and the console reloaded.
pub(crate) async fn with_connector(
    service: &Service,
    app: &mut App,
) -> (Connector, DeviceAccessGroup) {
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
    let group = DeviceAccessGroup {
        // Fixed, so the detail's snapshot is stable.
        id: "019a0000-0000-7000-8000-00000000d0a6".into(),
        name: "workstations".into(),
        attributes: json!({}),
        created_at: 0,
        updated_at: 0,
        version: 0,
    };
    service
        .save(&Object::Connector(connector.clone()), true)
        .await
        .expect("connector");
    service
        .save(&Object::DeviceAccessGroup(group.clone()), true)
        .await
        .expect("group");
    app.apply_data(load(service).await);
    (connector, group)
}

/// `9n`, then the chooser's `label` entry.
fn choose_new(app: &mut App, label: &str) {
    typ(app, "9n");
    assert_eq!(app.mode(), Mode::Choose);
    for _ in 0..10 {
        let picked = app
            .chooser()
            .and_then(|p| p.visible().get(p.selected).map(|c| c.label.clone()));
        if picked.as_deref().is_some_and(|l| l.starts_with(label)) {
            app.handle_key(key(KeyCode::Enter));
            assert_eq!(app.mode(), Mode::Form);
            return;
        }
        app.handle_key(key(KeyCode::Down));
    }
    panic!("no choice {label}");
}

/// Opens the focused select's picker, filters it by `text` and takes the first match.
fn pick(app: &mut App, field: &str, text: &str) {
    focus_field(app, field);
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Picker, "{field}");
    typ(app, text);
    app.handle_key(key(KeyCode::Enter));
}

/// The key in the "shown once" window (its first line).
fn key_on_screen(app: &App) -> String {
    let m = app.message().expect("the key window");
    m.text.lines().next().unwrap_or_default().trim().to_string()
}

/// Fills the enrollment token form: name, group, expiry.
fn fill_token(app: &mut App, name: &str, expires_in: &str) {
    choose_new(app, "Enrollment Token");
    typ(app, name);
    pick(app, "device_group", "work");
    focus_field(app, "expires_in");
    typ(app, expires_in);
}

#[tokio::test]
async fn an_enrollment_token_made_from_the_keyboard_shows_its_key_once() {
    let (_d, service, mut app) = fresh().await;
    let (connector, group) = with_connector(&service, &mut app).await;
    fill_token(&mut app, "laptops", "days=30");
    assert_eq!(
        app.form()
            .and_then(|f| f.value("connector"))
            .and_then(|v| v.one()),
        Some(connector.id.as_str()),
        "the only connector is preselected"
    );
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;

    assert_eq!(app.mode(), Mode::Message, "the key window is open");
    let shown = key_on_screen(&app);
    assert_eq!(shown.len(), 60, "{shown}");
    let screen = render(&mut app, 120, 40);
    assert!(
        screen.contains(&shown),
        "the key can be read off the screen\n{screen}"
    );
    assert!(screen.contains("shown once"), "{screen}");

    // The key enrolls: the service finds the token by it, stored as its digest only.
    let token = service
        .enrollment_token_for_key(&shown)
        .await
        .expect("lookup")
        .expect("the key is the token's");
    assert_eq!(token.name, "laptops");
    assert_eq!(token.connector_id, connector.id);
    assert_eq!(token.device_group_id.as_deref(), Some(group.id.as_str()));
    assert!(token.expiring);
    assert_eq!(token.expires_at, Some(token.created_at + 30 * 86400));
    assert_eq!(token.key_digest, latchkey::crypto::secrets::digest(&shown));
    assert_ne!(token.key_digest, shown);

    // `y` copies it (the footer offers it).
    assert!(render(&mut app, 120, 40).contains("y copy"));
    typ(&mut app, "y");
    let clip = app.take_clip().expect("copied");
    assert_eq!(clip.value, shown);

    // Once closed, nothing shows it again: not the list, not the detail, not the log.
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::List);
    select_row(&mut app, "[enrollment token] laptops");
    app.handle_key(key(KeyCode::Enter));
    let detail = app.detail().expect("detail").clone();
    assert!(detail.detail.iter().all(|(_, v)| !v.contains(&shown)));
    for (w, h) in [(80, 24), (120, 40)] {
        assert!(!render(&mut app, w, h).contains(&shown));
    }
    let events = service.recent_events(50).await.expect("events");
    assert!(
        events
            .iter()
            .all(|e| !e.context.to_string().contains(&shown)),
        "no event carries the key"
    );
}

#[tokio::test]
async fn a_bad_expiry_is_marked_at_the_field_and_nothing_is_made() {
    let (_d, service, mut app) = fresh().await;
    with_connector(&service, &mut app).await;
    fill_token(&mut app, "laptops", "soon");
    let error = app
        .form()
        .and_then(|f| f.error("expires_in"))
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("hours=1"), "{error}");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert_eq!(app.mode(), Mode::Form, "the form stays open");
    assert!(
        service
            .list_enrollment_tokens()
            .await
            .expect("t")
            .is_empty()
    );

    // A zero validity is refused by the service, at the same field.
    focus_field(&mut app, "expires_in");
    for _ in 0..10 {
        app.handle_key(key(KeyCode::Backspace));
    }
    typ(&mut app, "days=0");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let error = app
        .form()
        .and_then(|f| f.error("expires_in"))
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("above zero"), "{error}");
    assert!(
        service
            .list_enrollment_tokens()
            .await
            .expect("t")
            .is_empty()
    );

    // Empty: a token that never expires.
    focus_field(&mut app, "expires_in");
    for _ in 0..10 {
        app.handle_key(key(KeyCode::Backspace));
    }
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let tokens = service.list_enrollment_tokens().await.expect("t");
    assert_eq!(tokens.len(), 1);
    assert!(!tokens[0].expiring && tokens[0].expires_at.is_none());
}

#[tokio::test]
async fn revoking_an_enrollment_token_asks_first_then_its_key_stops_working() {
    let (_d, service, mut app) = fresh().await;
    with_connector(&service, &mut app).await;
    fill_token(&mut app, "laptops", "");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let shown = key_on_screen(&app);
    app.handle_key(key(KeyCode::Enter));

    select_row(&mut app, "[enrollment token] laptops");
    typ(&mut app, "D");
    settle(&mut app, &service).await;
    assert_eq!(app.mode(), Mode::Delete);
    assert!(
        !app.dialog().expect("dialog").on_delete,
        "Cancel is focused"
    );
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &service).await;
    assert!(
        service
            .enrollment_token_for_key(&shown)
            .await
            .expect("lookup")
            .is_some(),
        "Cancel keeps it"
    );

    typ(&mut app, "D");
    settle(&mut app, &service).await;
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &service).await;
    assert!(
        service
            .list_enrollment_tokens()
            .await
            .expect("t")
            .is_empty()
    );
    assert!(
        service
            .enrollment_token_for_key(&shown)
            .await
            .expect("lookup")
            .is_none(),
        "a revoked key enrolls nothing"
    );
}

#[tokio::test]
async fn device_access_groups_are_made_and_bound_from_the_keyboard() {
    let (_d, service, mut app) = fresh().await;
    choose_new(&mut app, "Device Access Group");
    typ(&mut app, "kiosks");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let group = service
        .list_device_access_groups()
        .await
        .expect("groups")
        .into_iter()
        .find(|g| g.name == "kiosks")
        .expect("saved");

    // Its detail lists its bindings; B binds a group to it.
    select_row(&mut app, "[device group] kiosks");
    app.handle_key(key(KeyCode::Enter));
    let screen = render(&mut app, 120, 40);
    assert!(
        screen.contains("Policy / Group / User bindings (0)"),
        "{screen}"
    );
    typ(&mut app, "B");
    assert_eq!(app.mode(), Mode::Form);
    assert_eq!(
        app.form()
            .and_then(|f| f.value("target"))
            .and_then(|v| v.one()),
        Some(group.id.as_str()),
        "the binding targets the group"
    );
    pick(&mut app, "subject", "authentik Admins");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let bindings: Vec<_> = service
        .list_policy_bindings()
        .await
        .expect("bindings")
        .into_iter()
        .filter(|b| b.target_id == group.id)
        .collect();
    assert_eq!(bindings.len(), 1);
    assert!(matches!(bindings[0].subject, BindingSubject::Group(_)));
    assert!(app.detail().is_some(), "back on the group's detail");
    assert_eq!(app.binding_lines().len(), 1);
    let screen = render(&mut app, 120, 40);
    assert!(screen.contains("group authentik Admins"), "{screen}");

    // X removes it (after the dialog), and the detail stays open.
    typ(&mut app, "X");
    settle(&mut app, &service).await;
    assert_eq!(app.mode(), Mode::Delete);
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &service).await;
    assert!(
        service
            .list_policy_bindings()
            .await
            .expect("bindings")
            .iter()
            .all(|b| b.target_id != group.id)
    );
    assert!(app.detail().is_some(), "the group's detail is still open");
    assert_eq!(app.current_tab(), TabId::Connectors);
}

#[tokio::test]
async fn the_agent_connector_form_has_authentiks_fields_and_marks_bad_values() {
    let (_d, service, mut app) = fresh().await;
    choose_new(&mut app, "Agent Connector");
    typ(&mut app, "agents");
    let keys: Vec<&str> = app
        .form()
        .expect("form")
        .fields
        .iter()
        .map(|f| f.spec.key)
        .collect();
    for k in [
        "refresh_interval",
        "authorization_flow",
        "challenge_key",
        "challenge_idle_timeout",
        "nss_uid_offset",
        "nss_gid_offset",
        "auth_session_duration",
        "auth_terminate_session_on_expiry",
        "challenge_trigger_check_in",
        "jwt_federation_providers",
        "snapshot_expiry",
    ] {
        assert!(keys.contains(&k), "{k} in {keys:?}");
    }
    let field_error = |app: &App, k: &str| {
        app.form()
            .and_then(|f| f.error(k))
            .unwrap_or_default()
            .to_string()
    };
    let retype = |app: &mut App, k: &str, text: &str| {
        focus_field(app, k);
        for _ in 0..20 {
            app.handle_key(key(KeyCode::Backspace));
        }
        typ(app, text);
    };
    retype(&mut app, "snapshot_expiry", "a week");
    assert!(!field_error(&app, "snapshot_expiry").is_empty());
    retype(&mut app, "nss_uid_offset", "-5");
    assert!(
        field_error(&app, "nss_uid_offset").contains("negative"),
        "{}",
        field_error(&app, "nss_uid_offset")
    );
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert!(service.list_connectors().await.expect("c").is_empty());

    retype(&mut app, "snapshot_expiry", "days=7");
    retype(&mut app, "nss_uid_offset", "2000");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let c = service.list_connectors().await.expect("c");
    assert_eq!(c.len(), 1);
    let s = c[0].settings.to_json();
    assert_eq!(
        (s["snapshot_expiry"].as_str(), s["nss_uid_offset"].as_i64()),
        (Some("days=7"), Some(2000))
    );
}

/// The key window and a device access group's detail, at both sizes (the random key replaced
/// by a placeholder).
#[tokio::test]
async fn snapshot_endpoint_screens() {
    let (_d, service, mut app) = fresh().await;
    let (_c, group) = with_connector(&service, &mut app).await;
    fill_token(&mut app, "laptops", "days=30");
    for (w, h) in [(80, 24), (120, 40)] {
        insta::assert_snapshot!(
            format!("enrollment_token_form_{w}x{h}"),
            render(&mut app, w, h)
        );
    }
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let shown = key_on_screen(&app);
    for (w, h) in [(80, 24), (120, 40)] {
        let screen = render(&mut app, w, h).replace(&shown, &"K".repeat(shown.len()));
        insta::assert_snapshot!(format!("enrollment_key_once_{w}x{h}"), screen);
    }
    app.handle_key(key(KeyCode::Enter));
    let binding = latchkey::domain::PolicyBinding {
        target_id: group.id.clone(),
        ..crate::console_endpoints::group_binding(&service).await
    };
    service
        .save(&Object::PolicyBinding(binding), true)
        .await
        .expect("binding");
    app.apply_data(load(&service).await);
    select_row(&mut app, "[device group] workstations");
    app.handle_key(key(KeyCode::Enter));
    for (w, h) in [(80, 24), (120, 40)] {
        insta::assert_snapshot!(
            format!("device_access_group_detail_{w}x{h}"),
            render(&mut app, w, h)
        );
    }
}

/// A binding of the admins' group, order 0 (its target set by the caller).
async fn group_binding(service: &Service) -> latchkey::domain::PolicyBinding {
    let admins = service
        .list_groups()
        .await
        .expect("groups")
        .into_iter()
        .find(|g| g.name == "authentik Admins")
        .expect("admins");
    latchkey::domain::PolicyBinding {
        id: new_id(),
        target_id: String::new(),
        subject: BindingSubject::Group(admins.id),
        order: 0,
        enabled: true,
        negate: false,
        timeout: 30,
        failure_result: false,
        created_at: 0,
        updated_at: 0,
        version: 0,
    }
}
