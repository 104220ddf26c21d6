//! The Flows tab's blueprint Import (issue 3): `I` or `:import PATH` → a preview of what would
//! change with nothing written → Apply in one transaction, or Cancel. Bad files are named at the
//! path field with their line; read-only consoles refuse it everywhere.

use crossterm::event::KeyCode;
use latchkey::console::app::App;
use latchkey::console::keymap::Mode;
use latchkey::console::tabs::TabId;
use latchkey::service::Service;

use crate::blueprint::snapshot;
use crate::console_forms::{config, ctrl, fresh, key, load, render, settle, typ};
use crate::support::bootstrapped_service;

fn example_app() -> String {
    format!(
        "{}/fixtures/blueprints/examples/example-app.yaml",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// `2`, `I`, the path typed, Ctrl-S, and the preview run.
async fn preview_via_form(app: &mut App, service: &Service, path: &str) {
    typ(app, "2");
    assert_eq!(app.current_tab(), TabId::Flows);
    typ(app, "I");
    assert_eq!(app.mode(), Mode::Form);
    typ(app, path);
    app.handle_key(ctrl('s'));
    settle(app, service).await;
}

fn path_error(app: &App) -> Option<String> {
    app.form()?
        .fields
        .iter()
        .find(|f| f.spec.key == "path")?
        .error
        .clone()
}

async fn has_app(service: &Service, slug: &str) -> bool {
    service
        .list_applications()
        .await
        .expect("apps")
        .iter()
        .any(|a| a.slug == slug)
}

#[tokio::test]
async fn import_previews_without_writing_then_applies_on_confirm() {
    let (_dir, service, mut app) = fresh().await;
    let before = snapshot(&service).await;
    preview_via_form(&mut app, &service, &example_app()).await;
    assert_eq!(app.mode(), Mode::Import);
    let d = app.import_dialog().expect("dialog");
    assert!(d.report.created >= 2, "{:?}", d.report);
    assert!(!d.on_apply, "Cancel is focused");
    assert_eq!(before, snapshot(&service).await, "a preview writes nothing");

    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &service).await;
    assert_eq!(app.mode(), Mode::List);
    assert!(app.import_dialog().is_none());
    let status = app.status().expect("status").text.clone();
    assert!(
        status.contains("imported") && status.contains("created"),
        "{status}"
    );
    assert!(has_app(&service, "example-app").await);

    // Again: nothing would change, and the dialog says so.
    preview_via_form(&mut app, &service, &example_app()).await;
    let d = app.import_dialog().expect("dialog");
    assert!(d.report.is_noop(), "{:?}", d.report);
    assert!(render(&mut app, 80, 24).contains("Nothing would change"));
}

#[tokio::test]
async fn cancel_and_escape_change_nothing() {
    let (_dir, service, mut app) = fresh().await;
    let before = snapshot(&service).await;
    preview_via_form(&mut app, &service, &example_app()).await;
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::List, "Enter on Cancel closes");
    assert!(app.take_request().is_none());
    preview_via_form(&mut app, &service, &example_app()).await;
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::List);
    assert!(app.take_request().is_none());
    assert_eq!(before, snapshot(&service).await);
}

#[tokio::test]
async fn a_bad_blueprint_is_named_at_the_path_field_and_nothing_is_written() {
    let (_dir, service, mut app) = fresh().await;
    let before = snapshot(&service).await;
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "version: 1\nentries:\n  - model: authentik_flows.flow\n    identifiers: {slug: ok}\n    attrs: {name: Ok}\n  - model: authentik_flows.flow\n    identifiers: {slug: bad}\n    attrs:\n      compatibility_mode: definitely\n",
    )
    .expect("write");
    let shown = bad.display().to_string();
    preview_via_form(&mut app, &service, &shown).await;
    assert_eq!(app.mode(), Mode::Form, "the form stays open");
    let err = path_error(&app).expect("error at the path field");
    assert!(err.contains(&format!("{shown}:9")), "{err}");
    assert!(
        err.contains("entry 2") && err.contains("compatibility_mode"),
        "{err}"
    );
    let screen = render(&mut app, 120, 40);
    assert!(screen.contains("compatibility_mode"), "{screen}");

    // A missing file, then an empty path.
    let form = app.form_mut().expect("form");
    form.fields[0].value = latchkey::console::form::field::FieldValue::Text(String::new());
    app.handle_key(key(KeyCode::Esc));
    typ(&mut app, "I");
    typ(&mut app, "/nonexistent/blueprint.yaml");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let err = path_error(&app).expect("missing file named");
    assert!(err.contains("/nonexistent/blueprint.yaml"), "{err}");
    assert_eq!(before, snapshot(&service).await);
}

#[tokio::test]
async fn colon_import_goes_straight_to_the_preview_and_completes() {
    let (_dir, service, mut app) = fresh().await;
    typ(&mut app, ":imp");
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.command(), "import ");
    typ(&mut app, &example_app());
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &service).await;
    assert_eq!(app.current_tab(), TabId::Flows);
    assert_eq!(app.mode(), Mode::Import);
    // `:import` alone asks for the file.
    app.handle_key(key(KeyCode::Esc));
    typ(&mut app, ":import");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Form);
}

#[tokio::test]
async fn read_only_consoles_refuse_import_everywhere() {
    let (_dir, service) = bootstrapped_service("http://127.0.0.1:9000").await;
    let mut cfg = config();
    cfg.readonly = true;
    let mut app = App::new(cfg);
    app.apply_data(load(&service).await);
    let before = snapshot(&service).await;
    typ(&mut app, "2");
    typ(&mut app, "I");
    assert_eq!(app.mode(), Mode::List);
    assert!(app.status().expect("status").text.contains("read-only"));
    assert!(!app.hints().iter().any(|(_, h)| *h == "import"));
    assert!(!app.help_entries().iter().any(|(k, _)| *k == "I"));
    typ(&mut app, ":imp");
    assert!(app.completions().is_empty(), "{:?}", app.completions());
    app.handle_key(key(KeyCode::Esc));
    typ(&mut app, &format!(":import {}", example_app()));
    app.handle_key(key(KeyCode::Enter));
    assert!(app.take_request().is_none());
    assert!(app.status().expect("status").text.contains("read-only"));
    assert_eq!(before, snapshot(&service).await);
}

#[tokio::test]
async fn snapshot_import_dialog() {
    let (_dir, service, mut app) = fresh().await;
    preview_via_form(
        &mut app,
        &service,
        "fixtures/blueprints/examples/example-app.yaml",
    )
    .await;
    assert_eq!(app.mode(), Mode::Import, "{:?}", path_error(&app));
    insta::assert_snapshot!("import_dialog_80x24", render(&mut app, 80, 24));
    app.handle_key(key(KeyCode::Tab));
    insta::assert_snapshot!("import_dialog_120x40", render(&mut app, 120, 40));
}
