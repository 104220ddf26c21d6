//! Issue 14's checks at save: durations longer than zero, expressions compiled (the error at
//! the field with its line), certificate validity of at least a day, connector settings as
//! typed fields, policy binding timeouts; and policy bindings on stage bindings, listed in
//! the flow detail. Every refused value leaves the store unchanged.

use crossterm::event::KeyCode;
use latchkey::console::app::App;
use latchkey::console::keymap::Mode;
use latchkey::domain::{BindingSubject, Object, StageSettings};
use latchkey::service::ServiceError;
use latchkey::service::certificates::KeyAlgorithm;

use crate::console_forms::{ctrl, focus_field, fresh, key, render, select_row, settle, typ};

/// Empties the focused field and types `text`.
fn retype(app: &mut App, field: &str, text: &str) {
    focus_field(app, field);
    for _ in 0..40 {
        app.handle_key(key(KeyCode::Backspace));
    }
    typ(app, text);
}

fn error(app: &App, field: &str) -> String {
    app.form()
        .and_then(|f| f.error(field))
        .unwrap_or_default()
        .to_string()
}

/// The field a refused save names, and its message.
fn refused_field(result: Result<(), ServiceError>) -> Vec<String> {
    match result {
        Err(e) => e.field_errors().into_iter().map(|e| e.field).collect(),
        Ok(()) => Vec::new(),
    }
}

#[tokio::test]
async fn stage_durations_must_be_longer_than_zero_where_zero_means_nothing() {
    let (_d, service, _app) = fresh().await;
    let stages = service.list_stages().await.expect("stages");
    let consent = stages
        .iter()
        .find(|s| matches!(s.settings, StageSettings::Consent(_)))
        .expect("a consent stage")
        .clone();
    for bad in ["hours=0", "hours=-2", "soon"] {
        let mut s = consent.clone();
        if let StageSettings::Consent(c) = &mut s.settings {
            c.consent_expire_in = bad.into();
        }
        assert_eq!(
            refused_field(service.save(&Object::Stage(s), false).await),
            ["consent_expire_in"],
            "{bad}"
        );
    }
    assert_eq!(service.list_stages().await.expect("stages"), stages);

    // A user login's session of zero is authentik's "until the browser closes"; minus is not.
    let login = stages
        .iter()
        .find(|s| matches!(s.settings, StageSettings::UserLogin(_)))
        .expect("a user login stage")
        .clone();
    let with = |value: &str| {
        let mut s = login.clone();
        if let StageSettings::UserLogin(l) = &mut s.settings {
            l.session_duration = value.into();
        }
        Object::Stage(s)
    };
    assert_eq!(
        refused_field(service.save(&with("hours=-2"), false).await),
        ["session_duration"]
    );
    assert!(service.save(&with("seconds=0"), false).await.is_ok());
}

#[tokio::test]
async fn a_syntax_error_is_marked_at_the_expression_with_its_line() {
    let (_d, service, mut app) = fresh().await;
    let before = service.list_policies().await.expect("policies");
    typ(&mut app, "4n");
    typ(&mut app, "Expression");
    app.handle_key(key(KeyCode::Enter));
    typ(&mut app, "broken");
    if let Some(f) = app.form_mut() {
        f.set_text("expression", "a = 1\nb = (a +)\nreturn b == 1");
    }
    focus_field(&mut app, "name");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let err = error(&app, "expression");
    assert!(err.starts_with("line 2: "), "{err}");
    assert_eq!(
        app.form().and_then(|f| f.focused()).map(|f| f.spec.key),
        Some("expression"),
        "the cursor goes to the bad expression"
    );
    let screen = render(&mut app, 120, 40);
    assert!(screen.contains("line 2: "), "{screen}");
    assert_eq!(service.list_policies().await.expect("policies"), before);

    // Fixed, it saves.
    if let Some(f) = app.form_mut() {
        f.set_text("expression", "a = 1\nreturn a == 1");
    }
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert_eq!(app.mode(), Mode::List);
    assert_eq!(
        service.list_policies().await.expect("policies").len(),
        before.len() + 1
    );
}

#[tokio::test]
async fn the_service_compiles_scope_mapping_expressions_too() {
    let (_d, service, _app) = fresh().await;
    let mut m = service
        .list_scope_mappings()
        .await
        .expect("mappings")
        .into_iter()
        .next()
        .expect("a mapping");
    let before = m.clone();
    m.expression = "#{ email: ".into();
    let err = service
        .save(&Object::ScopeMapping(m), false)
        .await
        .expect_err("refused");
    let fields = err.field_errors();
    assert_eq!(fields.len(), 1, "{fields:?}");
    assert_eq!(fields[0].field, "expression");
    assert!(fields[0].message.starts_with("line 1: "), "{fields:?}");
    let after = service.list_scope_mappings().await.expect("mappings");
    assert!(after.contains(&before), "unchanged");
}

#[tokio::test]
async fn a_certificate_must_be_valid_for_at_least_a_day() {
    let (_d, service, mut app) = fresh().await;
    let before = service.list_certificates().await.expect("certs");
    typ(&mut app, "7n");
    app.handle_key(key(KeyCode::Enter)); // Generate
    typ(&mut app, "short-lived");
    focus_field(&mut app, "common_name");
    typ(&mut app, "short.example");
    retype(&mut app, "validity_days", "0");
    let err = error(&app, "validity_days");
    assert!(err.contains("at least 1 day"), "{err}");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert_eq!(app.mode(), Mode::Form, "refused at the field");
    assert_eq!(service.list_certificates().await.expect("certs"), before);

    // The service refuses it on its own as well, naming the field.
    let err = service
        .generate_certificate("x", "x.example", &[], 0, KeyAlgorithm::EcdsaP256)
        .await
        .expect_err("0 days");
    assert_eq!(
        err.field_errors().first().map(|e| e.field.as_str()),
        Some("validity_days")
    );
    assert_eq!(service.list_certificates().await.expect("certs"), before);

    retype(&mut app, "validity_days", "1");
    assert_eq!(error(&app, "validity_days"), "");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert_eq!(
        service.list_certificates().await.expect("certs").len(),
        before.len() + 1
    );
}

/// `9n`, through the type chooser if there is one.
fn new_connector(app: &mut App, name: &str) {
    typ(app, "9n");
    if app.mode() == Mode::Choose {
        app.handle_key(key(KeyCode::Enter));
    }
    assert_eq!(app.mode(), Mode::Form);
    typ(app, name);
}

#[tokio::test]
async fn connector_settings_are_typed_fields_checked_at_the_field() {
    let (_d, service, mut app) = fresh().await;
    new_connector(&mut app, "agents");
    let keys: Vec<&str> = app
        .form()
        .expect("form")
        .fields
        .iter()
        .map(|f| f.spec.key)
        .collect();
    for k in [
        "refresh_interval",
        "enabled",
        "authorization_flow",
        "challenge_key",
        "auth_session_duration",
        "challenge_idle_timeout",
        "nss_uid_offset",
    ] {
        assert!(keys.contains(&k), "{k} in {keys:?}");
    }
    assert!(!keys.contains(&"settings"), "no free JSON: {keys:?}");

    retype(&mut app, "refresh_interval", "hours=0");
    assert!(error(&app, "refresh_interval").contains("longer than zero"));
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert!(
        service
            .list_connectors()
            .await
            .expect("connectors")
            .is_empty()
    );

    retype(&mut app, "refresh_interval", "hours=2");
    retype(&mut app, "nss_uid_offset", "3000");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let c = service
        .list_connectors()
        .await
        .expect("connectors")
        .into_iter()
        .find(|c| c.name == "agents")
        .expect("saved");
    let settings = c.settings.to_json();
    assert_eq!(settings["refresh_interval"], "hours=2");
    assert_eq!(settings["nss_uid_offset"], 3000);
}

/// The flow detail of `slug`, its cursor on the first binding line.
fn flow_detail(app: &mut App, slug: &str) {
    typ(app, "2");
    select_row(app, slug);
    app.handle_key(key(KeyCode::Enter));
    assert!(app.detail().is_some());
}

#[tokio::test]
async fn policies_bind_to_stage_bindings_from_the_flow_detail() {
    let (_d, service, mut app) = fresh().await;
    let flow = app
        .data()
        .flows
        .iter()
        .find(|f| f.slug == "default-authentication-flow")
        .expect("flow")
        .clone();
    let mut stage_bindings: Vec<_> = app
        .data()
        .bindings
        .iter()
        .filter(|b| b.flow_id == flow.id)
        .cloned()
        .collect();
    stage_bindings.sort_by_key(|b| b.order);
    let first = stage_bindings.first().expect("a stage binding").clone();
    let group = app.data().groups.first().expect("a group").clone();

    flow_detail(&mut app, "default-authentication-flow");
    typ(&mut app, "B");
    let form = app.form().expect("the policy binding form");
    assert_eq!(form.title, "Create Policy Binding");
    assert_eq!(
        form.value("target").and_then(|v| v.one()),
        Some(first.id.as_str()),
        "on the selected stage binding"
    );
    // The target picker offers flows, stage bindings and applications.
    let spec = form
        .fields
        .iter()
        .find(|f| f.spec.key == "target")
        .expect("target")
        .spec;
    let labels: Vec<String> = (spec.choices)(app.data())
        .into_iter()
        .map(|c| c.label)
        .collect();
    assert!(labels.iter().any(|l| l.starts_with("flow ")), "{labels:?}");
    assert!(
        labels
            .iter()
            .any(|l| l.starts_with("stage binding default-authentication-flow #")),
        "{labels:?}"
    );
    if let Some(f) = app.form_mut() {
        f.set_one("subject", Some(&format!("group:{}", group.id)));
    }
    retype(&mut app, "timeout", "0");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert!(error(&app, "timeout").contains("at least 1 second"));
    assert!(
        crate::support::own_policy_bindings(&service)
            .await
            .is_empty()
    );
    retype(&mut app, "timeout", "30");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let bindings = crate::support::own_policy_bindings(&service).await;
    assert_eq!(bindings.len(), 1);
    assert_eq!(bindings[0].target_id, first.id);
    assert_eq!(bindings[0].subject, BindingSubject::Group(group.id.clone()));

    // The flow detail lists it under its stage binding.
    assert!(app.form().is_none());
    assert!(app.detail().is_some(), "back in the flow detail");
    let lines = app.binding_lines();
    assert_eq!(lines.len(), stage_bindings.len() + 1, "{lines:?}");
    assert_eq!(lines[0].0, first.id);
    assert_eq!(lines[1].0, bindings[0].id);
    assert!(
        lines[1].1.contains(&format!("group {}", group.name)),
        "{lines:?}"
    );
    assert_eq!(app.flow_binding_counts(&flow.id), (stage_bindings.len(), 1));
    let screen = render(&mut app, 120, 40);
    assert!(screen.contains("policy bindings (1)"), "{screen}");

    // E on the policy binding's line edits it; X removes it and the detail stays open.
    while app.copy_cursor() < 1 {
        app.handle_key(key(KeyCode::Down));
    }
    typ(&mut app, "E");
    assert_eq!(
        app.form().map(|f| f.title.as_str()),
        Some("Update Policy Binding")
    );
    if let Some(f) = app.form_mut() {
        f.set_text("order", "5");
    }
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert_eq!(app.mode(), Mode::Detail, "back to the flow detail");
    let edited = crate::support::own_policy_bindings(&service).await;
    assert_eq!(edited[0].order, 5, "{edited:?}");
    typ(&mut app, "X");
    settle(&mut app, &service).await;
    assert_eq!(app.mode(), Mode::Delete);
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &service).await;
    assert_eq!(app.mode(), Mode::Detail, "the flow detail stays open");
    assert!(
        crate::support::own_policy_bindings(&service)
            .await
            .is_empty()
    );
    assert_eq!(app.binding_lines().len(), stage_bindings.len());

    // Bound again, deleting the stage binding takes the policy binding on it along (and says
    // so first).
    while app.copy_cursor() > 0 {
        app.handle_key(key(KeyCode::Up));
    }
    typ(&mut app, "B");
    if let Some(f) = app.form_mut() {
        f.set_one("subject", Some(&format!("group:{}", group.id)));
    }
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert_eq!(crate::support::own_policy_bindings(&service).await.len(), 1);
    let usages = service
        .usages(latchkey::domain::Kind::FlowStageBinding, &first.id)
        .await
        .expect("usages");
    assert!(
        usages.iter().any(|u| u.kind == "policy binding"
            && matches!(u.effect, latchkey::service::usages::OnDelete::Deleted)),
        "{usages:?}"
    );
    service
        .delete_object(latchkey::domain::Kind::FlowStageBinding, &first.id)
        .await
        .expect("delete");
    assert!(
        crate::support::own_policy_bindings(&service)
            .await
            .is_empty()
    );
}
