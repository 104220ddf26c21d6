//! Prompts (under Stages) and policy bindings (under Policies) from the keyboard (issue 7):
//! create, edit, delete, and bad input marked at the field with the store unchanged.

use crossterm::event::KeyCode;
use latchkey::console::app::App;
use latchkey::console::keymap::Mode;
use latchkey::domain::BindingSubject;
use latchkey::service::Service;

use crate::blueprint::snapshot;
use crate::console_forms::{ctrl, fresh, key, render, select_row, settle, tab, typ};

/// `n` on the current tab, then the chooser entry whose label starts with `choice`.
fn new_of(app: &mut App, choice: &str) {
    typ(app, "n");
    assert!(app.chooser().is_some(), "a type picker");
    typ(app, choice);
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Form);
}

fn focus(app: &mut App, field: &str) {
    for _ in 0..20 {
        if app.form().and_then(|f| f.focused()).map(|f| f.spec.key) == Some(field) {
            return;
        }
        tab(app, 1);
    }
    panic!("no field {field}");
}

/// Opens the focused select's picker, filters by `text` and takes the first match.
fn pick(app: &mut App, field: &str, text: &str) {
    focus(app, field);
    app.handle_key(key(KeyCode::Enter));
    typ(app, text);
    app.handle_key(key(KeyCode::Enter));
}

/// `D` on the row, the name typed when the dialog asks for it, Tab to Delete, Enter.
async fn delete_row(app: &mut App, service: &Service, row: &str, confirm: Option<&str>) {
    select_row(app, row);
    typ(app, "D");
    settle(app, service).await;
    assert_eq!(app.mode(), Mode::Delete);
    if let Some(name) = confirm {
        typ(app, name);
    }
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Enter));
    settle(app, service).await;
}

async fn save(app: &mut App, service: &Service) {
    app.handle_key(ctrl('s'));
    settle(app, service).await;
}

#[tokio::test]
async fn prompts_are_created_edited_and_deleted_from_the_stages_tab() {
    let (_dir, service, mut app) = fresh().await;
    typ(&mut app, "3");
    new_of(&mut app, "Prompt (a");
    typ(&mut app, "favourite-colour");
    tab(&mut app, 1);
    typ(&mut app, "colour");
    tab(&mut app, 1);
    typ(&mut app, "Favourite colour");
    save(&mut app, &service).await;
    assert_eq!(
        app.mode(),
        Mode::List,
        "{:?}",
        app.form().map(|f| &f.banner)
    );
    let p = service
        .list_prompts()
        .await
        .expect("prompts")
        .into_iter()
        .find(|p| p.name == "favourite-colour")
        .expect("saved");
    assert_eq!(
        (p.field_key.as_str(), p.field_type.as_str()),
        ("colour", "text")
    );
    assert!(
        app.visible_rows()
            .iter()
            .any(|r| r.cells[0].text == "[prompt] favourite-colour"),
        "listed under Stages"
    );

    // Edit: the type and the label.
    select_row(&mut app, "[prompt] favourite-colour");
    typ(&mut app, "e");
    pick(&mut app, "type", "Text area");
    focus(&mut app, "label");
    typ(&mut app, "!");
    save(&mut app, &service).await;
    let p = service
        .list_prompts()
        .await
        .expect("prompts")
        .into_iter()
        .find(|x| x.id == p.id)
        .expect("kept");
    assert_eq!(
        (p.field_type.as_str(), p.label.as_str()),
        ("text_area", "Favourite colour!")
    );

    // Delete: nothing uses it, Tab to Delete, Enter.
    delete_row(&mut app, &service, "[prompt] favourite-colour", None).await;
    assert!(
        !service
            .list_prompts()
            .await
            .expect("prompts")
            .iter()
            .any(|x| x.id == p.id)
    );
}

#[tokio::test]
async fn a_prompt_without_a_field_key_or_with_a_taken_name_is_refused_in_place() {
    let (_dir, service, mut app) = fresh().await;
    let before = snapshot(&service).await;
    typ(&mut app, "3");
    new_of(&mut app, "Prompt (a");
    typ(&mut app, "p1");
    save(&mut app, &service).await;
    let form = app.form().expect("still open");
    assert!(form.error("field_key").is_some(), "required");
    assert_eq!(before, snapshot(&service).await);
    // Save one, then try the same name again.
    focus(&mut app, "field_key");
    typ(&mut app, "k1");
    focus(&mut app, "label");
    typ(&mut app, "K1");
    save(&mut app, &service).await;
    assert_eq!(app.mode(), Mode::List);
    let after_first = snapshot(&service).await;
    new_of(&mut app, "Prompt (a");
    typ(&mut app, "p1");
    tab(&mut app, 1);
    typ(&mut app, "k2");
    tab(&mut app, 1);
    typ(&mut app, "K2");
    save(&mut app, &service).await;
    let err = app
        .form()
        .and_then(|f| f.error("name"))
        .expect("duplicate name at the field");
    assert!(err.contains("already taken"), "{err}");
    assert_eq!(after_first, snapshot(&service).await);
}

#[tokio::test]
async fn deleting_a_prompt_a_stage_uses_lists_the_stage_and_unbinds_it() {
    let (_dir, service, mut app) = fresh().await;
    // The default user settings flow's prompt stage uses these prompts.
    typ(&mut app, "3");
    select_row(&mut app, "[prompt] default-user-settings-field-name");
    typ(&mut app, "D");
    settle(&mut app, &service).await;
    let d = app.dialog().expect("dialog");
    assert!(
        d.usages
            .iter()
            .any(|u| u.kind == "prompt stage" && u.name == "default-user-settings"),
        "{:?}",
        d.usages
    );
    typ(&mut app, "default-user-settings-field-name");
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &service).await;
    let stage = service
        .list_stages()
        .await
        .expect("stages")
        .into_iter()
        .find(|s| s.name == "default-user-settings")
        .expect("stage");
    let fields = stage.settings.to_json()["fields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        fields.len(),
        2,
        "the deleted prompt left the stage: {fields:?}"
    );
}

#[tokio::test]
async fn policy_bindings_are_made_edited_and_deleted_from_the_keyboard() {
    let (_dir, service, mut app) = fresh().await;
    let before = snapshot(&service).await;
    typ(&mut app, "4");
    new_of(&mut app, "Policy / Group / User");
    // Nothing chosen: both selects are marked, nothing is written.
    save(&mut app, &service).await;
    let form = app.form().expect("open");
    assert!(form.error("target").is_some() && form.error("subject").is_some());
    assert_eq!(before, snapshot(&service).await);

    pick(&mut app, "target", "flow default-authentication-flow");
    pick(&mut app, "subject", "group authentik Admins");
    focus(&mut app, "negate");
    app.handle_key(key(KeyCode::Char(' ')));
    insta::assert_snapshot!("policy_binding_form_80x24", render(&mut app, 80, 24));
    save(&mut app, &service).await;
    assert_eq!(
        app.mode(),
        Mode::List,
        "{:?}",
        app.form().map(|f| &f.banner)
    );
    let bindings = service.list_policy_bindings().await.expect("bindings");
    let admins = service
        .list_groups()
        .await
        .expect("groups")
        .into_iter()
        .find(|g| g.name == "authentik Admins")
        .expect("admins");
    let flow = service
        .list_flows()
        .await
        .expect("flows")
        .into_iter()
        .find(|f| f.slug == "default-authentication-flow")
        .expect("flow");
    let b = bindings
        .iter()
        .find(|b| b.target_id == flow.id)
        .expect("binding saved");
    assert_eq!(b.subject, BindingSubject::Group(admins.id.clone()));
    assert!(b.negate && b.enabled);
    let screen = render(&mut app, 120, 40);
    assert!(
        screen.contains("[binding] flow default-authentication-flow #0"),
        "{screen}"
    );
    insta::assert_snapshot!("policies_with_binding_120x40", screen);

    // Edit: turn it off; then delete it.
    select_row(&mut app, "[binding] flow default-authentication-flow #0");
    typ(&mut app, "e");
    focus(&mut app, "enabled");
    app.handle_key(key(KeyCode::Char(' ')));
    save(&mut app, &service).await;
    let b = service
        .list_policy_bindings()
        .await
        .expect("bindings")
        .into_iter()
        .find(|x| x.target_id == flow.id)
        .expect("kept");
    assert!(!b.enabled);
    delete_row(
        &mut app,
        &service,
        "[binding] flow default-authentication-flow #0",
        None,
    )
    .await;
    assert!(
        !service
            .list_policy_bindings()
            .await
            .expect("bindings")
            .iter()
            .any(|x| x.target_id == flow.id)
    );
}

#[tokio::test]
async fn a_prompt_initial_value_marked_as_python_is_compiled_at_save() {
    let (_dir, service, mut app) = fresh().await;
    let before = snapshot(&service).await;
    typ(&mut app, "3");
    new_of(&mut app, "Prompt (a");
    typ(&mut app, "greeting");
    tab(&mut app, 1);
    typ(&mut app, "greeting");
    tab(&mut app, 1);
    typ(&mut app, "Greeting");
    focus(&mut app, "initial_value");
    typ(&mut app, "import os");
    focus(&mut app, "initial_value_expression");
    app.handle_key(key(KeyCode::Char(' ')));
    save(&mut app, &service).await;
    let err = app
        .form()
        .and_then(|f| f.error("initial_value"))
        .expect("refused at the field");
    assert!(
        err.contains("line 1: import of 'os' is not allowed"),
        "{err}"
    );
    assert_eq!(before, snapshot(&service).await, "nothing written");
    focus(&mut app, "initial_value");
    for _ in 0.."import os".len() {
        app.handle_key(key(KeyCode::Backspace));
    }
    typ(&mut app, "return \"Hi \" + user.username");
    save(&mut app, &service).await;
    assert_eq!(
        app.mode(),
        Mode::List,
        "{:?}",
        app.form().map(|f| &f.banner)
    );
    let p = service
        .list_prompts()
        .await
        .expect("prompts")
        .into_iter()
        .find(|p| p.name == "greeting")
        .expect("saved");
    assert!(p.initial_value_expression && !p.placeholder_expression);
    assert_eq!(p.initial_value, "return \"Hi \" + user.username");
}
