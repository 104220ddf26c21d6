//! Console forms and dialogs (issue 7): key events -> form state -> service, bad input that
//! must leave the store untouched, snapshots of forms, pickers, the delete dialog and the
//! provider detail, and an OAuth2 client built entirely from the keyboard then used over HTTP.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use latchkey::console::actions::execute;
use latchkey::console::app::{App, AppConfig, osc52};
use latchkey::console::data::{Data, DataSource};
use latchkey::console::form::field::FieldValue;
use latchkey::console::keymap::Mode;
use latchkey::console::tabs::TabId;
use latchkey::console::theme::Theme;
use latchkey::console::view;
use latchkey::domain::MatchingMode;
use latchkey::service::Service;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::support::{bootstrapped_service, client, spawn_server};

const FIXED_NOW: i64 = 1_767_225_600;
const SERVER_URL: &str = "http://127.0.0.1:9000";

pub(crate) fn config() -> AppConfig {
    AppConfig {
        store_path: "/srv/latchkey/latchkey.db".into(),
        server_url: SERVER_URL.into(),
        readonly: false,
        startup_toast: None,
        theme: Theme::default(),
    }
}

pub(crate) async fn load(service: &Service) -> Data {
    let mut data = DataSource::new(service.clone()).load().await.expect("load");
    data.now = FIXED_NOW;
    data
}

pub(crate) async fn app_over(service: &Service) -> App {
    let mut app = App::new(config());
    app.apply_data(load(service).await);
    app
}

pub(crate) async fn fresh() -> (tempfile::TempDir, Service, App) {
    let (dir, service) = bootstrapped_service(SERVER_URL).await;
    let app = app_over(&service).await;
    (dir, service, app)
}

pub(crate) fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

pub(crate) fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

pub(crate) fn typ(app: &mut App, text: &str) {
    for c in text.chars() {
        app.handle_key(key(KeyCode::Char(c)));
    }
}

pub(crate) fn tab(app: &mut App, n: usize) {
    for _ in 0..n {
        app.handle_key(key(KeyCode::Tab));
    }
}

/// Runs every request the app made against the service, then reloads like the event loop.
pub(crate) async fn settle(app: &mut App, service: &Service) {
    while let Some(req) = app.take_request() {
        let out = execute(service, req).await;
        app.apply_outcome(out);
    }
    app.apply_data(load(service).await);
}

pub(crate) fn render(app: &mut App, w: u16, h: u16) -> String {
    app.resize(w, h);
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    terminal.draw(|f| view::draw(app, f)).expect("draw");
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

pub(crate) fn focus_field(app: &mut App, field: &str) {
    for _ in 0..40 {
        if app.form().and_then(|f| f.focused()).map(|f| f.spec.key) == Some(field) {
            return;
        }
        tab(app, 1);
    }
    panic!("no field {field}");
}

pub(crate) fn select_row(app: &mut App, first_cell: &str) {
    app.handle_key(key(KeyCode::Home));
    for _ in 0..200 {
        if app.selected_row().map(|r| r.cells[0].text.as_str()) == Some(first_cell) {
            return;
        }
        app.handle_key(key(KeyCode::Down));
    }
    panic!("no row {first_cell}");
}

async fn flow_slugs(service: &Service) -> Vec<String> {
    service
        .list_flows()
        .await
        .expect("flows")
        .into_iter()
        .map(|f| f.slug)
        .collect()
}

/// Opens "new flow" and fills name, title and slug.
fn new_flow(app: &mut App, slug: &str) {
    typ(app, "2");
    typ(app, "n");
    assert_eq!(app.mode(), Mode::Form);
    typ(app, "My flow");
    tab(app, 1);
    typ(app, "Welcome");
    tab(app, 1);
    typ(app, slug);
}

// ---- create / validate ----------------------------------------------------------------------

#[tokio::test]
async fn a_flow_is_created_from_the_keyboard() {
    let (_d, service, mut app) = fresh().await;
    new_flow(&mut app, "my-flow");
    let form = app.form().expect("form");
    assert_eq!(form.invalid_count(), 0);
    assert!(form.dirty);
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert_eq!(app.mode(), Mode::List, "the form closes after saving");
    assert!(flow_slugs(&service).await.contains(&"my-flow".to_string()));
    let status = app.status().map(|s| s.text.clone()).unwrap_or_default();
    assert!(status.contains("created flow my-flow"), "{status}");
}

#[tokio::test]
async fn a_bad_slug_is_shown_at_the_field_and_nothing_is_written() {
    let (_d, service, mut app) = fresh().await;
    let before = service.list_flows().await.expect("flows");
    new_flow(&mut app, "has space");
    let form = app.form().expect("form");
    assert!(
        form.error("slug").is_some_and(|e| e.contains("no spaces")),
        "{:?}",
        form.error("slug")
    );
    assert_eq!(form.invalid_count(), 1);
    app.handle_key(ctrl('s'));
    assert!(
        app.take_request().is_none(),
        "an invalid form never asks to save"
    );
    assert_eq!(
        app.form().expect("form").focused().map(|f| f.spec.key),
        Some("slug")
    );
    settle(&mut app, &service).await;
    assert_eq!(service.list_flows().await.expect("flows"), before);
    // Required fields left empty are counted too.
    let mut app2 = app_over(&service).await;
    typ(&mut app2, "2n");
    app2.handle_key(ctrl('s'));
    let f = app2.form().expect("form");
    assert_eq!(f.error("name"), Some("required"));
    assert!(f.invalid_count() >= 3);
    assert!(app2.take_request().is_none());
}

#[tokio::test]
async fn a_duplicate_slug_comes_back_at_the_field_not_as_a_crash() {
    let (_d, service, mut app) = fresh().await;
    let before = service.list_flows().await.expect("flows");
    new_flow(&mut app, "default-authentication-flow");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert_eq!(app.mode(), Mode::Form, "the form stays open");
    let form = app.form().expect("form");
    assert_eq!(form.error("slug"), Some("already taken: choose another"));
    assert_eq!(form.focused().map(|f| f.spec.key), Some("slug"));
    assert_eq!(service.list_flows().await.expect("flows"), before);
}

#[tokio::test]
async fn esc_asks_before_dropping_edits() {
    let (_d, _service, mut app) = fresh().await;
    typ(&mut app, "2n");
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::List, "an untouched form closes at once");
    typ(&mut app, "n");
    typ(&mut app, "x");
    app.handle_key(key(KeyCode::Esc));
    assert!(app.form().is_some_and(|f| f.confirm_discard));
    typ(&mut app, "n");
    assert_eq!(app.mode(), Mode::Form, "anything but y keeps editing");
    assert_eq!(
        app.form()
            .and_then(|f| f.value("name"))
            .map(|v| v.text().to_string()),
        Some("x".into())
    );
    app.handle_key(key(KeyCode::Esc));
    typ(&mut app, "y");
    assert_eq!(app.mode(), Mode::List);
}

#[tokio::test]
async fn single_letter_keys_type_into_fields_instead_of_acting() {
    let (_d, _service, mut app) = fresh().await;
    typ(&mut app, "2n");
    typ(&mut app, "q?Dn123");
    assert_eq!(app.mode(), Mode::Form);
    assert_eq!(
        app.form()
            .and_then(|f| f.value("name"))
            .map(|v| v.text().to_string()),
        Some("q?Dn123".into())
    );
    assert!(!app.should_quit());
}

#[tokio::test]
async fn selects_open_a_filterable_picker_and_toggles_flip() {
    let (_d, _service, mut app) = fresh().await;
    typ(&mut app, "2n");
    focus_field(&mut app, "designation");
    app.handle_key(key(KeyCode::Enter));
    assert!(app.form().is_some_and(|f| f.picker.is_some()));
    typ(&mut app, "enrol");
    let visible: Vec<String> = app
        .form()
        .and_then(|f| f.picker.as_ref())
        .map(|p| p.visible().iter().map(|c| c.label.clone()).collect())
        .unwrap_or_default();
    assert_eq!(
        visible,
        vec!["Enrollment".to_string(), "Unenrollment".to_string()]
    );
    app.handle_key(key(KeyCode::Enter));
    let form = app.form().expect("form");
    assert!(form.picker.is_none());
    assert_eq!(
        form.value("designation"),
        Some(&FieldValue::One(Some("enrollment".into())))
    );
    // Esc in a picker cancels without changing the value.
    app.handle_key(key(KeyCode::Enter));
    typ(&mut app, "recov");
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(
        app.form().and_then(|f| f.value("designation")),
        Some(&FieldValue::One(Some("enrollment".into())))
    );
    focus_field(&mut app, "compatibility_mode");
    app.handle_key(key(KeyCode::Char(' ')));
    assert_eq!(
        app.form().and_then(|f| f.value("compatibility_mode")),
        Some(&FieldValue::Bool(true))
    );
    // Shift-Tab goes back.
    app.handle_key(key(KeyCode::BackTab));
    assert_eq!(
        app.form().and_then(|f| f.focused()).map(|f| f.spec.key),
        Some("layout")
    );
}

/// Opens the new-provider form (Providers tab, first choice).
fn new_provider(app: &mut App, name: &str) {
    typ(app, "6n");
    assert_eq!(app.mode(), Mode::Choose);
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Form);
    typ(app, name);
}

fn set_redirect(app: &mut App, url: &str, regex: bool) {
    focus_field(app, "redirect_uris");
    typ(app, url);
    if regex {
        app.handle_key(ctrl('o'));
    }
}

#[tokio::test]
async fn secrets_are_masked_revealed_and_regenerated() {
    let (_d, _service, mut app) = fresh().await;
    new_provider(&mut app, "p");
    focus_field(&mut app, "client_secret");
    let before = app
        .form()
        .and_then(|f| f.value("client_secret"))
        .map(|v| v.text().to_string())
        .unwrap_or_default();
    assert_eq!(before.len(), 128);
    let screen = render(&mut app, 120, 40);
    assert!(!screen.contains(&before[..16]), "masked on screen");
    app.handle_key(ctrl('t'));
    let screen = render(&mut app, 120, 40);
    assert!(
        screen.contains(&before[before.len() - 16..]),
        "Ctrl-T reveals"
    );
    // A secret this create form generated is the admin's own: no secret_view.
    assert!(app.take_request().is_none());
    app.handle_key(ctrl('g'));
    let after = app
        .form()
        .and_then(|f| f.value("client_secret"))
        .map(|v| v.text().to_string())
        .unwrap_or_default();
    assert_eq!(after.len(), 128);
    assert_ne!(before, after, "Ctrl-G generates a new secret");
    focus_field(&mut app, "client_id");
    let id = app
        .form()
        .and_then(|f| f.value("client_id"))
        .map(|v| v.text().to_string())
        .unwrap_or_default();
    app.handle_key(ctrl('g'));
    let id2 = app
        .form()
        .and_then(|f| f.value("client_id"))
        .map(|v| v.text().to_string())
        .unwrap_or_default();
    assert_eq!(id2.len(), 40);
    assert_ne!(id, id2);
}

#[tokio::test]
async fn durations_are_checked_live_with_a_preview() {
    let (_d, service, mut app) = fresh().await;
    let before = service.list_providers().await.expect("providers");
    new_provider(&mut app, "p");
    focus_field(&mut app, "access_token_validity");
    for _ in 0..10 {
        app.handle_key(key(KeyCode::Backspace));
    }
    typ(&mut app, "hours=1;minutes=2");
    assert!(
        app.form()
            .and_then(|f| f.error("access_token_validity"))
            .is_none()
    );
    let screen = render(&mut app, 120, 40);
    assert!(screen.contains("= 1h 2m"), "{screen}");
    typ(&mut app, ";fortnights=3");
    let err = app
        .form()
        .and_then(|f| f.error("access_token_validity"))
        .unwrap_or_default()
        .to_string();
    assert!(err.contains("hours=1;minutes=2"), "{err}");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert_eq!(service.list_providers().await.expect("providers"), before);
}

#[tokio::test]
async fn redirect_uris_are_checked_before_anything_is_written() {
    let (_d, service, mut app) = fresh().await;
    let before = service.list_providers().await.expect("providers");
    // A regex that does not compile names the position.
    new_provider(&mut app, "p");
    set_redirect(&mut app, "https://app\\.example/(cb", true);
    let err = app
        .form()
        .and_then(|f| f.error("redirect_uris"))
        .unwrap_or_default()
        .to_string();
    assert!(err.contains("invalid regex at position"), "{err}");
    app.handle_key(ctrl('s'));
    assert!(app.take_request().is_none());
    // http:// only for loopback.
    let mut app = app_over(&service).await;
    new_provider(&mut app, "p");
    set_redirect(&mut app, "http://app.example/cb", false);
    let err = app
        .form()
        .and_then(|f| f.error("redirect_uris"))
        .unwrap_or_default()
        .to_string();
    assert!(err.contains("loopback"), "{err}");
    for _ in 0.."http://app.example/cb".len() {
        app.handle_key(key(KeyCode::Backspace));
    }
    typ(&mut app, "http://127.0.0.1:8080/cb");
    assert!(app.form().and_then(|f| f.error("redirect_uris")).is_none());
    // Script schemes never.
    let mut app = app_over(&service).await;
    new_provider(&mut app, "p");
    set_redirect(&mut app, "javascript:alert(1)", false);
    assert!(app.form().and_then(|f| f.error("redirect_uris")).is_some());
    // A catch-all asks for confirmation; anything but y goes back without writing.
    let mut app = app_over(&service).await;
    new_provider(&mut app, "p");
    set_redirect(&mut app, ".*", true);
    assert!(app.form().and_then(|f| f.error("redirect_uris")).is_none());
    app.handle_key(ctrl('s'));
    let warn = app
        .form()
        .and_then(|f| f.confirm_warnings.clone())
        .unwrap_or_default();
    assert!(warn.contains("matches any URL"), "{warn}");
    typ(&mut app, "n");
    assert!(app.take_request().is_none());
    // An unescaped dot warns too.
    let mut app = app_over(&service).await;
    new_provider(&mut app, "p");
    set_redirect(&mut app, "https://app.example/cb", true);
    app.handle_key(ctrl('s'));
    let warn = app
        .form()
        .and_then(|f| f.confirm_warnings.clone())
        .unwrap_or_default();
    assert!(warn.contains("unescaped '.'"), "{warn}");
    app.handle_key(key(KeyCode::Esc));
    assert!(app.take_request().is_none());
    settle(&mut app, &service).await;
    assert_eq!(service.list_providers().await.expect("providers"), before);
    // Confirming with y saves.
    app.handle_key(ctrl('s'));
    typ(&mut app, "y");
    settle(&mut app, &service).await;
    let after = service.list_providers().await.expect("providers");
    assert_eq!(after.len(), before.len() + 1);
}

#[tokio::test]
async fn the_redirect_uri_list_adds_removes_and_switches_rows() {
    let (_d, _service, mut app) = fresh().await;
    new_provider(&mut app, "p");
    set_redirect(&mut app, "https://a.example/cb", false);
    app.handle_key(ctrl('n'));
    typ(&mut app, "https://b\\.example/.*");
    app.handle_key(ctrl('o'));
    let uris = |app: &App| match app.form().and_then(|f| f.value("redirect_uris")) {
        Some(FieldValue::Uris(u)) => u
            .iter()
            .map(|r| (r.matching_mode, r.url.clone()))
            .collect::<Vec<_>>(),
        _ => Vec::new(),
    };
    assert_eq!(
        uris(&app),
        vec![
            (MatchingMode::Strict, "https://a.example/cb".to_string()),
            (MatchingMode::Regex, "https://b\\.example/.*".to_string())
        ]
    );
    app.handle_key(key(KeyCode::Up));
    typ(&mut app, "2");
    app.handle_key(ctrl('x'));
    assert_eq!(
        uris(&app),
        vec![(MatchingMode::Regex, "https://b\\.example/.*".to_string())]
    );
}

#[tokio::test]
async fn multi_select_checklist_toggles_with_space() {
    let (_d, _service, mut app) = fresh().await;
    new_provider(&mut app, "p");
    focus_field(&mut app, "scope_mappings");
    let before = app
        .form()
        .and_then(|f| f.value("scope_mappings"))
        .map(|v| v.many().len())
        .unwrap_or(0);
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(key(KeyCode::Char(' ')));
    app.handle_key(key(KeyCode::Enter));
    let after = app
        .form()
        .and_then(|f| f.value("scope_mappings"))
        .map(|v| v.many().len())
        .unwrap_or(0);
    assert_eq!(
        after + 1,
        before,
        "space unticked the first (preselected) mapping"
    );
}

#[tokio::test]
async fn certificates_generate_and_bad_imports_say_exactly_why() {
    let (_d, service, mut app) = fresh().await;
    typ(&mut app, "7n");
    app.handle_key(key(KeyCode::Enter)); // Generate
    typ(&mut app, "gen-cert");
    tab(&mut app, 1);
    typ(&mut app, "auth.example");
    tab(&mut app, 1);
    typ(&mut app, "auth.example, login.example");
    focus_field(&mut app, "alg");
    app.handle_key(key(KeyCode::Enter));
    typ(&mut app, "ed25519");
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let certs = service.list_certificates().await.expect("certs");
    let c = certs
        .iter()
        .find(|c| c.name == "gen-cert")
        .expect("generated");
    assert_eq!(c.key_type, latchkey::domain::KeyType::Ed25519);

    let before = service.list_certificates().await.expect("certs");
    typ(&mut app, "n");
    app.handle_key(key(KeyCode::Down));
    app.handle_key(key(KeyCode::Enter)); // Import
    typ(&mut app, "bad");
    tab(&mut app, 1);
    typ(
        &mut app,
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----",
    );
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let err = app
        .form()
        .and_then(|f| f.error("certificate_data"))
        .unwrap_or_default()
        .to_string();
    assert!(err.contains("not valid PEM"), "{err}");
    // A key that belongs to another certificate.
    let other = latchkey::crypto::keys::generate_self_signed(
        "x",
        &[],
        30,
        latchkey::crypto::keys::KeyAlgorithm::EcdsaP256,
    )
    .expect("gen");
    if let Some(f) = app.form_mut() {
        f.set_text("certificate_data", &c.certificate_pem);
        f.set_text("key_data", &other.key_pem);
    }
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let err = app
        .form()
        .and_then(|f| f.error("key_data"))
        .unwrap_or_default()
        .to_string();
    assert!(err.contains("does not belong"), "{err}");
    // An encrypted key.
    if let Some(f) = app.form_mut() {
        f.set_text(
            "key_data",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----",
        );
    }
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let err = app
        .form()
        .and_then(|f| f.error("key_data"))
        .unwrap_or_default()
        .to_string();
    assert!(err.contains("encrypted"), "{err}");
    assert_eq!(service.list_certificates().await.expect("certs"), before);
}

// ---- edit --------------------------------------------------------------------------------

#[tokio::test]
async fn editing_saves_and_a_stale_version_says_reload() {
    let (_d, service, mut app) = fresh().await;
    typ(&mut app, "2");
    select_row(&mut app, "default-invalidation-flow");
    typ(&mut app, "e");
    assert_eq!(app.form().map(|f| f.title.as_str()), Some("Update Flow"));
    focus_field(&mut app, "title");
    typ(&mut app, "!");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let flows = service.list_flows().await.expect("flows");
    let f = flows
        .iter()
        .find(|f| f.slug == "default-invalidation-flow")
        .expect("flow");
    assert!(f.title.ends_with('!'), "{}", f.title);

    // Someone else saves meanwhile.
    typ(&mut app, "e");
    focus_field(&mut app, "title");
    typ(&mut app, "?");
    let mut other = f.clone();
    other.title = "changed elsewhere".into();
    service
        .save(&latchkey::domain::Object::Flow(other), false)
        .await
        .expect("save");
    app.handle_key(ctrl('s'));
    while let Some(req) = app.take_request() {
        let out = execute(&service, req).await;
        app.apply_outcome(out);
    }
    let form = app.form().expect("form stays");
    assert_eq!(
        form.banner.as_deref(),
        Some("changed by someone else meanwhile: r to reload")
    );
    app.apply_data(load(&service).await);
    typ(&mut app, "r");
    assert_eq!(
        app.form()
            .and_then(|f| f.value("title"))
            .map(|v| v.text().to_string()),
        Some("changed elsewhere".into())
    );
}

#[tokio::test]
async fn the_last_superuser_cannot_be_deactivated_or_deleted() {
    let (_d, service, mut app) = fresh().await;
    let before = service.list_users().await.expect("users");
    typ(&mut app, "0");
    select_row(&mut app, "akadmin");
    typ(&mut app, "e");
    focus_field(&mut app, "is_active");
    app.handle_key(key(KeyCode::Char(' ')));
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let banner = app
        .form()
        .and_then(|f| f.banner.clone())
        .unwrap_or_default();
    assert!(banner.contains("last active superuser"), "{banner}");
    app.handle_key(key(KeyCode::Esc));
    typ(&mut app, "y");
    typ(&mut app, "D");
    settle(&mut app, &service).await;
    let d = app.dialog().expect("dialog");
    assert!(
        d.blocked()
            .is_some_and(|b| b.contains("last active superuser"))
    );
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Enter));
    assert!(app.take_request().is_none());
    assert_eq!(service.list_users().await.expect("users"), before);
    // The service refuses it too, whatever the caller.
    let admin = before
        .iter()
        .find(|u| u.username == "akadmin")
        .expect("admin");
    assert!(
        service
            .delete_object(latchkey::domain::Kind::User, &admin.id)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn users_get_groups_and_passwords() {
    let (_d, service, mut app) = fresh().await;
    typ(&mut app, "0n");
    app.handle_key(key(KeyCode::Enter)); // User
    typ(&mut app, "alice");
    focus_field(&mut app, "groups");
    app.handle_key(key(KeyCode::Enter));
    typ(&mut app, "Admins");
    app.handle_key(key(KeyCode::Char(' ')));
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let alice = service
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .find(|u| u.username == "alice")
        .expect("alice");
    assert!(
        service
            .superuser_ids()
            .await
            .expect("su")
            .contains(&alice.id)
    );
    select_row(&mut app, "alice");
    typ(&mut app, "P");
    typ(&mut app, "short");
    tab(&mut app, 1);
    typ(&mut app, "short");
    assert!(app.form().and_then(|f| f.error("password")).is_some());
    app.handle_key(ctrl('s'));
    assert!(app.take_request().is_none());
    if let Some(f) = app.form_mut() {
        f.set_text("password", "a-long-password");
        f.set_text("password_repeat", "a-long-password");
    }
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let alice = service
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .find(|u| u.username == "alice")
        .expect("alice");
    assert!(alice.has_password);
}

// ---- delete ------------------------------------------------------------------------------

#[tokio::test]
async fn deleting_a_flow_lists_what_happens_and_needs_the_slug_typed() {
    let (_d, service, mut app) = fresh().await;
    typ(&mut app, "2");
    select_row(&mut app, "default-authentication-flow");
    typ(&mut app, "D");
    settle(&mut app, &service).await;
    assert_eq!(app.mode(), Mode::Delete);
    let d = app.dialog().expect("dialog");
    assert!(!d.on_delete, "Cancel is focused");
    assert!(
        d.usages
            .iter()
            .any(|u| u.kind == "brand" && u.effect.label() == "reference cleared"),
        "{:?}",
        d.usages
    );
    assert!(
        d.usages
            .iter()
            .any(|u| u.kind == "stage binding" && u.effect.label() == "binding removed")
    );
    // Enter on Cancel cancels.
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::List);
    typ(&mut app, "D");
    settle(&mut app, &service).await;
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Enter));
    assert!(
        app.take_request().is_none(),
        "not armed before the slug is typed"
    );
    typ(&mut app, "default-authentication-flow");
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &service).await;
    assert!(
        !flow_slugs(&service)
            .await
            .contains(&"default-authentication-flow".to_string())
    );
    let brands = service.list_brands().await.expect("brands");
    assert!(brands.iter().all(|b| b.flow_authentication_id.is_none()));
}

#[tokio::test]
async fn deletes_that_a_restrict_reference_forbids_are_refused() {
    let (_d, service, mut app) = fresh().await;
    // A provider that signs with the self-signed certificate and uses the authorization flow.
    new_provider(&mut app, "refs");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let before_flows = service.list_flows().await.expect("flows");
    let before_certs = service.list_certificates().await.expect("certs");
    typ(&mut app, "2");
    select_row(&mut app, "default-provider-authorization-explicit-consent");
    typ(&mut app, "D");
    settle(&mut app, &service).await;
    let d = app.dialog().expect("dialog");
    let blocked = d.blocked().unwrap_or_default();
    assert!(blocked.contains("provider 'refs'"), "{blocked}");
    typ(&mut app, "default-provider-authorization-explicit-consent");
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Enter));
    assert!(app.take_request().is_none());
    app.handle_key(key(KeyCode::Esc));
    typ(&mut app, "7");
    select_row(&mut app, "authentik Self-signed Certificate");
    typ(&mut app, "D");
    settle(&mut app, &service).await;
    let blocked = app.dialog().and_then(|d| d.blocked()).unwrap_or_default();
    assert!(blocked.contains("signing key"), "{blocked}");
    assert_eq!(service.list_flows().await.expect("flows"), before_flows);
    assert_eq!(
        service.list_certificates().await.expect("certs"),
        before_certs
    );
}

#[tokio::test]
async fn stage_bindings_are_created_from_the_flow_detail() {
    let (_d, service, mut app) = fresh().await;
    typ(&mut app, "3n");
    assert!(app.chooser().is_some());
    typ(&mut app, "deny");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(
        app.form().map(|f| f.title.as_str()),
        Some("Create Deny Stage")
    );
    typ(&mut app, "no-entry");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let stage = service
        .list_stages()
        .await
        .expect("stages")
        .into_iter()
        .find(|s| s.name == "no-entry")
        .expect("stage");
    assert_eq!(stage.settings.to_json()["deny_message"], "");
    typ(&mut app, "2");
    select_row(&mut app, "default-invalidation-flow");
    app.handle_key(key(KeyCode::Enter));
    typ(&mut app, "b");
    app.handle_key(key(KeyCode::Enter));
    typ(&mut app, "no-entry");
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let bindings = service.list_flow_stage_bindings().await.expect("bindings");
    assert!(bindings.iter().any(|b| b.stage_id == stage.id));
}

// ---- provider detail and OSC 52 ------------------------------------------------------------

#[test]
fn osc52_is_base64_and_wrapped_for_tmux() {
    assert_eq!(osc52("hi", false), "\x1b]52;c;aGk=\x07");
    assert_eq!(osc52("hi", true), "\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\");
}

// ---- snapshots -----------------------------------------------------------------------------

#[tokio::test]
async fn snapshot_create_form_and_field_error() {
    let (_d, _service, mut app) = fresh().await;
    typ(&mut app, "2n");
    typ(&mut app, "My flow");
    tab(&mut app, 1);
    typ(&mut app, "Welcome");
    insta::assert_snapshot!("create_flow_80x24", render(&mut app, 80, 24));
    insta::assert_snapshot!("create_flow_120x40", render(&mut app, 120, 40));
    tab(&mut app, 1);
    typ(&mut app, "my flow");
    insta::assert_snapshot!("field_error_80x24", render(&mut app, 80, 24));
    insta::assert_snapshot!("field_error_120x40", render(&mut app, 120, 40));
    focus_field(&mut app, "designation");
    app.handle_key(key(KeyCode::Enter));
    insta::assert_snapshot!("picker_80x24", render(&mut app, 80, 24));
    insta::assert_snapshot!("picker_120x40", render(&mut app, 120, 40));
}

#[tokio::test]
async fn snapshot_delete_dialog() {
    let (_d, service, mut app) = fresh().await;
    typ(&mut app, "2");
    select_row(&mut app, "default-authentication-flow");
    typ(&mut app, "D");
    settle(&mut app, &service).await;
    typ(&mut app, "default-auth");
    insta::assert_snapshot!("delete_dialog_80x24", render(&mut app, 80, 24));
    insta::assert_snapshot!("delete_dialog_120x40", render(&mut app, 120, 40));
}

/// Builds a certificate, an OAuth2 provider (strict redirect URI, the new certificate) and an
/// application from the keyboard; returns the provider's name.
async fn build_client(app: &mut App, service: &Service) {
    typ(app, "7n");
    app.handle_key(key(KeyCode::Enter));
    typ(app, "kbd-cert");
    tab(app, 1);
    typ(app, "kbd.example");
    focus_field(app, "alg");
    app.handle_key(key(KeyCode::Enter));
    typ(app, "P-256");
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(ctrl('s'));
    settle(app, service).await;
    assert!(app.form().is_none(), "certificate saved");

    new_provider(app, "kbd-provider");
    set_redirect(app, "https://kbd.example/callback", false);
    focus_field(app, "signing_key");
    app.handle_key(key(KeyCode::Enter));
    typ(app, "kbd-cert");
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(ctrl('s'));
    settle(app, service).await;
    assert!(app.form().is_none(), "provider saved: {:?}", app.status());

    typ(app, "5n");
    typ(app, "Keyboard app");
    tab(app, 1);
    typ(app, "kbd-app");
    focus_field(app, "provider");
    app.handle_key(key(KeyCode::Enter));
    typ(app, "kbd-provider");
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(ctrl('s'));
    settle(app, service).await;
    assert!(
        app.form().is_none(),
        "application saved: {:?}",
        app.status()
    );
}

#[tokio::test]
async fn snapshot_provider_detail_lists_urls_and_copies() {
    let (_d, service, mut app) = fresh().await;
    build_client(&mut app, &service).await;
    typ(&mut app, "6");
    select_row(&mut app, "kbd-provider");
    app.handle_key(key(KeyCode::Enter));
    let lines = app.copy_lines();
    let labels: Vec<&str> = lines.iter().map(|l| l.label.as_str()).collect();
    assert!(
        labels.contains(&"Issuer")
            && labels.contains(&"JWKS URL")
            && labels.contains(&"Device URL")
    );
    assert_eq!(
        lines[0].value,
        format!("{SERVER_URL}/application/o/kbd-app/")
    );
    typ(&mut app, "y");
    assert_eq!(
        app.take_clipboard().as_deref(),
        Some(lines[0].value.as_str())
    );
    app.handle_key(key(KeyCode::Char('G')));
    typ(&mut app, "y");
    let p = service
        .list_providers()
        .await
        .expect("p")
        .into_iter()
        .find(|p| p.name == "kbd-provider")
        .expect("p");
    assert_eq!(app.take_clipboard(), Some(p.oauth2.client_secret.clone()));
    app.handle_key(key(KeyCode::Char('g')));
    // The detail never shows the random client id or secret.
    // The detail's plain `client id` and `id` rows (from the list) are random: scrub them,
    // keeping the width.
    let scrub = |screen: String| {
        screen
            .replace(&p.client_id, &format!("{:<40}", "<client-id>"))
            .replace(&p.id, &format!("{:<36}", "<id>"))
    };
    let screen = render(&mut app, 120, 40);
    assert!(
        !screen.contains(&p.oauth2.client_secret[..20]),
        "the secret is never drawn"
    );
    insta::assert_snapshot!("provider_detail_120x40", scrub(screen));
    app.handle_key(key(KeyCode::Down));
    let screen = render(&mut app, 80, 24);
    assert!(!screen.contains(&p.oauth2.client_secret[..20]));
    insta::assert_snapshot!("provider_detail_80x24", scrub(screen));
}

// ---- end to end over HTTP ------------------------------------------------------------------

#[tokio::test]
async fn a_client_built_from_the_keyboard_gets_tokens_over_http() {
    let server = spawn_server().await;
    let service = server.service.clone();
    let mut app = app_over(&service).await;
    build_client(&mut app, &service).await;
    let http = client();
    let res = http
        .get(format!(
            "{}/application/o/kbd-app/.well-known/openid-configuration",
            server.base_url
        ))
        .send()
        .await
        .expect("discovery");
    assert_eq!(res.status().as_u16(), 200);
    let p = service
        .list_providers()
        .await
        .expect("p")
        .into_iter()
        .find(|p| p.name == "kbd-provider")
        .expect("p");
    assert_eq!(
        p.oauth2.redirect_uris[0].url,
        "https://kbd.example/callback"
    );
    assert_eq!(
        p.oauth2.redirect_uris[0].matching_mode,
        MatchingMode::Strict
    );
    let certs = service.list_certificates().await.expect("certs");
    assert_eq!(
        p.signing_key_id.as_deref(),
        certs
            .iter()
            .find(|c| c.name == "kbd-cert")
            .map(|c| c.id.as_str())
    );
    let res = http
        .post(format!("{}/application/o/token/", server.base_url))
        .basic_auth(&p.client_id, Some(&p.oauth2.client_secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "openid")])
        .send()
        .await
        .expect("token");
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));

    // Edit the redirect URI in the console; the store sees the change.
    typ(&mut app, "6");
    select_row(&mut app, "kbd-provider");
    typ(&mut app, "e");
    focus_field(&mut app, "redirect_uris");
    typ(&mut app, "/v2");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let p = service
        .list_providers()
        .await
        .expect("p")
        .into_iter()
        .find(|p| p.name == "kbd-provider")
        .expect("p");
    assert_eq!(
        p.oauth2.redirect_uris[0].url,
        "https://kbd.example/callback/v2"
    );
}

#[tokio::test]
async fn the_type_chooser_and_forms_exist_for_every_list_tab() {
    let (_d, _service, mut app) = fresh().await;
    for (digit, tab_id) in [
        ('2', TabId::Flows),
        ('3', TabId::Stages),
        ('4', TabId::Policies),
        ('5', TabId::Applications),
        ('6', TabId::Providers),
        ('7', TabId::Certificates),
        ('8', TabId::Brands),
        ('9', TabId::Connectors),
        ('0', TabId::Users),
    ] {
        typ(&mut app, &digit.to_string());
        assert_eq!(app.current_tab(), tab_id);
        typ(&mut app, "n");
        if app.mode() == Mode::Choose {
            app.handle_key(key(KeyCode::Enter));
        }
        assert_eq!(app.mode(), Mode::Form, "{tab_id:?}");
        assert!(!app.form().expect("form").fields.is_empty());
        app.handle_key(key(KeyCode::Esc));
        assert_eq!(app.mode(), Mode::List);
    }
}

// ---- the real binary under tmux --------------------------------------------------------------

/// A tmux server of our own (its own socket), killed on drop.
pub(crate) struct Tmux {
    pub(crate) socket: String,
    pub(crate) log: std::path::PathBuf,
}

impl Tmux {
    pub(crate) fn run(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    pub(crate) fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.run(&["send-keys", "-t", "console", k]);
        }
    }

    pub(crate) fn text(&self, text: &str) {
        self.run(&["send-keys", "-t", "console", "-l", text]);
    }

    pub(crate) fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let screen = self.run(&["capture-pane", "-p", "-t", "console"]);
            if pred(&screen) {
                return screen;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}\nlog:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// `latchkey run` (console and server) under its own tmux server, `cols`x`rows`, on a fresh
/// store in a temp dir and a free port; fails loudly when tmux is missing. Returns the tmux
/// handle (killed on drop), the temp dir guard, the store file and the port.
pub(crate) fn run_under_tmux(
    name: &str,
    cols: u16,
    rows: u16,
) -> (Tmux, tempfile::TempDir, std::path::PathBuf, u16) {
    let available = std::process::Command::new("tmux").arg("-V").output();
    assert!(
        available.is_ok_and(|o| o.status.success()),
        "tmux is not installed"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("x.db");
    let log = dir.path().join("log");
    let command = format!(
        "'{}' --db '{}' --listen 127.0.0.1:{port} --log-file '{}'",
        env!("CARGO_BIN_EXE_latchkey"),
        db.display(),
        log.display()
    );
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let tmux = Tmux {
        socket: format!("latchkey-{name}-{}-{nanos}", std::process::id()),
        log,
    };
    let (cols, rows) = (cols.to_string(), rows.to_string());
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "console",
        "-x",
        &cols,
        "-y",
        &rows,
        "-e",
        "LATCHKEY_BOOTSTRAP_PASSWORD=tmux-test-password",
        "-e",
        "NO_COLOR=1",
        &command,
    ]);
    (tmux, dir, db, port)
}

async fn stored_provider(db: &std::path::Path, name: &str) -> latchkey::domain::Provider {
    let store =
        latchkey::store::Store::open(&latchkey::store::StoreLocation::File(db.to_path_buf()))
            .await
            .expect("open the console's store");
    let mut conn = store.read().await.expect("conn");
    let p = latchkey::store::providers::list(&mut conn)
        .await
        .expect("providers")
        .into_iter()
        .find(|p| p.name == name)
        .expect("the provider made in the console");
    drop(conn);
    store.close().await;
    p
}

#[tokio::test(flavor = "multi_thread")]
async fn real_binary_under_tmux_builds_an_oauth2_client_from_the_keyboard() {
    let (tmux, _dir, db, port) = run_under_tmux("forms", 120, 40);
    tmux.wait_for("the tab bar", |s| {
        s.contains("1 Dashboard") && s.contains("0 Users")
    });

    // A certificate: Certificates, n, Generate.
    tmux.keys(&["7", "n"]);
    tmux.wait_for("the type chooser", |s| s.contains("Generate a self-signed"));
    tmux.keys(&["Enter"]);
    tmux.wait_for("the certificate form", |s| {
        s.contains("Generate Certificate")
    });
    tmux.text("tmux-cert");
    tmux.keys(&["Tab"]);
    tmux.text("tmux.example");
    tmux.keys(&["Tab", "Tab", "Tab", "Enter"]);
    tmux.text("P-256");
    tmux.keys(&["Enter", "C-s"]);
    tmux.wait_for("the certificate", |s| {
        s.contains("generated certificate tmux-cert")
    });

    // A provider with a strict redirect URI, signed with the new certificate.
    tmux.keys(&["6", "n"]);
    tmux.wait_for("the provider chooser", |s| {
        s.contains("OAuth2/OpenID Provider")
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for("the provider form", |s| {
        s.contains("Create OAuth2/OpenID Provider")
    });
    tmux.text("tmux-provider");
    for _ in 0..6 {
        tmux.keys(&["Tab"]);
    }
    tmux.text("https://tmux.example/callback");
    tmux.keys(&["Tab", "Enter"]);
    tmux.text("tmux-cert");
    tmux.keys(&["Enter", "C-s"]);
    tmux.wait_for("the provider", |s| {
        s.contains("created provider tmux-provider")
    });

    // An application using it.
    tmux.keys(&["5", "n"]);
    tmux.wait_for("the application form", |s| s.contains("Create Application"));
    tmux.text("Tmux app");
    tmux.keys(&["Tab"]);
    tmux.text("tmux-app");
    tmux.keys(&["Tab", "Enter"]);
    tmux.text("tmux-provider");
    tmux.keys(&["Enter", "C-s"]);
    tmux.wait_for("the application", |s| {
        s.contains("created application tmux-app")
    });

    // The instance serves it.
    let base = format!("http://127.0.0.1:{port}");
    let http = client();
    let res = http
        .get(format!(
            "{base}/application/o/tmux-app/.well-known/openid-configuration"
        ))
        .send()
        .await
        .expect("discovery");
    assert_eq!(res.status().as_u16(), 200);
    let p = stored_provider(&db, "tmux-provider").await;
    assert_eq!(
        p.oauth2.redirect_uris[0].url,
        "https://tmux.example/callback"
    );
    let res = http
        .post(format!("{base}/application/o/token/"))
        .basic_auth(&p.client_id, Some(&p.oauth2.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token");
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()));

    // Edit the redirect URI in the console.
    tmux.keys(&["6", "/"]);
    tmux.text("tmux-provider");
    tmux.keys(&["Enter", "e"]);
    tmux.wait_for("the edit form", |s| {
        s.contains("Update OAuth2/OpenID Provider")
    });
    for _ in 0..6 {
        tmux.keys(&["Tab"]);
    }
    tmux.text("/v2");
    tmux.keys(&["C-s"]);
    tmux.wait_for("the save", |s| s.contains("saved provider tmux-provider"));
    let p = stored_provider(&db, "tmux-provider").await;
    assert_eq!(
        p.oauth2.redirect_uris[0].url,
        "https://tmux.example/callback/v2"
    );
    tmux.keys(&["q"]);
}

#[tokio::test]
async fn hostile_names_render_inert_in_forms_and_dialogs() {
    let (_d, service, mut app) = fresh().await;
    typ(&mut app, "2n");
    typ(&mut app, "evil\u{1b}[31mred\u{202e}rtl\u{7}");
    tab(&mut app, 1);
    typ(&mut app, "t");
    tab(&mut app, 1);
    typ(&mut app, "evil-flow");
    for focused in [false, true] {
        if focused {
            app.handle_key(key(KeyCode::BackTab));
            app.handle_key(key(KeyCode::BackTab));
        }
        let screen = render(&mut app, 120, 40);
        assert!(
            !screen.contains('\u{1b}') && !screen.contains('\u{202e}') && !screen.contains('\u{7}'),
            "focused={focused}: {screen:?}"
        );
    }
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    select_row(&mut app, "evil-flow");
    typ(&mut app, "D");
    settle(&mut app, &service).await;
    let screen = render(&mut app, 120, 40);
    assert!(!screen.contains('\u{1b}') && !screen.contains('\u{202e}'));
}

#[tokio::test]
async fn duplicate_usernames_and_domains_are_messages_at_the_field() {
    let (_d, service, mut app) = fresh().await;
    let users = service.list_users().await.expect("users");
    typ(&mut app, "0n");
    app.handle_key(key(KeyCode::Enter));
    typ(&mut app, "akadmin");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert_eq!(
        app.form().and_then(|f| f.error("username")),
        Some("already taken: choose another")
    );
    assert_eq!(service.list_users().await.expect("users"), users);

    let brands = service.list_brands().await.expect("brands");
    let mut app = app_over(&service).await;
    typ(&mut app, "8n");
    typ(&mut app, &brands[0].domain);
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert_eq!(
        app.form().and_then(|f| f.error("domain")),
        Some("already taken: choose another")
    );
    assert_eq!(service.list_brands().await.expect("brands"), brands);
}

#[tokio::test]
async fn stage_kinds_have_their_own_fields_under_authentik_names() {
    let (_d, service, mut app) = fresh().await;
    typ(&mut app, "3");
    select_row(&mut app, "default-authentication-password");
    typ(&mut app, "e");
    let keys: Vec<&str> = app
        .form()
        .expect("form")
        .fields
        .iter()
        .map(|f| f.spec.key)
        .collect();
    assert_eq!(
        keys,
        vec![
            "name",
            "backends",
            "failed_attempts_before_cancel",
            "allow_show_password"
        ]
    );
    focus_field(&mut app, "failed_attempts_before_cancel");
    app.handle_key(key(KeyCode::Backspace));
    typ(&mut app, "x");
    assert!(
        app.form()
            .and_then(|f| f.error("failed_attempts_before_cancel"))
            .is_some()
    );
    app.handle_key(key(KeyCode::Backspace));
    typ(&mut app, "3");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let stage = service
        .list_stages()
        .await
        .expect("stages")
        .into_iter()
        .find(|s| s.name == "default-authentication-password")
        .expect("stage");
    assert_eq!(stage.settings.to_json()["failed_attempts_before_cancel"], 3);
    assert_eq!(
        stage.settings.to_json()["backends"][0],
        "authentik.core.auth.InbuiltBackend"
    );

    // A new consent stage: a duration field checked live.
    typ(&mut app, "n");
    typ(&mut app, "Consent");
    app.handle_key(key(KeyCode::Enter));
    typ(&mut app, "my-consent");
    focus_field(&mut app, "consent_expire_in");
    typ(&mut app, ";x=1");
    assert!(
        app.form()
            .and_then(|f| f.error("consent_expire_in"))
            .is_some()
    );
    for _ in 0..4 {
        app.handle_key(key(KeyCode::Backspace));
    }
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let stage = service
        .list_stages()
        .await
        .expect("stages")
        .into_iter()
        .find(|s| s.name == "my-consent")
        .expect("stage");
    assert_eq!(stage.settings.to_json()["mode"], "expiring");
    assert_eq!(stage.settings.to_json()["consent_expire_in"], "weeks=4");
}

// ---- command line and palette --------------------------------------------------------------

#[tokio::test]
async fn the_command_line_completes_switches_tabs_opens_flows_and_quits() {
    let (_d, _service, mut app) = fresh().await;
    typ(&mut app, ":");
    assert_eq!(app.mode(), Mode::Command);
    typ(&mut app, "fl");
    assert_eq!(
        app.completions(),
        vec!["flows".to_string(), "flow ".to_string()]
    );
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.command(), "flow", "completes the common prefix");
    typ(&mut app, "s");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.current_tab(), TabId::Flows);
    assert_eq!(app.mode(), Mode::List);

    typ(&mut app, ":flow default-inv");
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.command(), "flow default-invalidation-flow");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Detail);
    assert_eq!(
        app.detail().map(|r| r.cells[0].text.as_str()),
        Some("default-invalidation-flow")
    );

    app.handle_key(key(KeyCode::Esc));
    typ(&mut app, ":nonsense");
    app.handle_key(key(KeyCode::Enter));
    assert!(
        app.status()
            .is_some_and(|s| s.text.contains("unknown command"))
    );
    typ(&mut app, ":certs");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.current_tab(), TabId::Certificates);
    typ(&mut app, ":q");
    app.handle_key(key(KeyCode::Enter));
    assert!(app.should_quit());
}

#[tokio::test]
async fn the_palette_lists_the_keymap_and_runs_the_pick() {
    let (_d, _service, mut app) = fresh().await;
    typ(&mut app, "2");
    app.handle_key(ctrl('p'));
    assert_eq!(app.mode(), Mode::Palette);
    let labels: Vec<String> = app
        .palette()
        .map(|p| p.visible().iter().map(|c| c.label.clone()).collect())
        .unwrap_or_default();
    assert!(
        labels
            .iter()
            .any(|l| l.contains("Edit the selected object")),
        "{labels:?}"
    );
    typ(&mut app, "new object");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Form, "the palette ran `n`");
    assert_eq!(app.form().map(|f| f.title.as_str()), Some("Create Flow"));
    app.handle_key(key(KeyCode::Esc));
    let mut ro = App::new(AppConfig {
        readonly: true,
        ..config()
    });
    ro.apply_data(app.data().clone());
    typ(&mut ro, "2");
    ro.handle_key(ctrl('p'));
    let labels: Vec<String> = ro
        .palette()
        .map(|p| p.visible().iter().map(|c| c.label.clone()).collect())
        .unwrap_or_default();
    assert!(
        !labels.iter().any(|l| l.contains("New object")),
        "read-only hides mutating actions"
    );
}

#[tokio::test]
async fn an_event_detail_shows_its_context_line_by_line_and_inert() {
    let (_d, service, mut app) = fresh().await;
    service
        .context()
        .record_event(
            "login_failed",
            latchkey::context::EventSubject { username: "mallory".into(), ..Default::default() },
            serde_json::json!({ "stage": "password", "reason": "bad\u{1b}[2Jpassword", "attempts": 3 }),
        )
        .await
        .expect("event");
    app.apply_data(load(&service).await);
    app.handle_key(key(KeyCode::BackTab)); // Events is the last tab
    assert_eq!(app.current_tab(), TabId::Events);
    let time = app
        .visible_rows()
        .iter()
        .find(|r| r.cells[1].text == "login_failed")
        .map(|r| r.cells[0].text.clone())
        .unwrap_or_default();
    select_row(&mut app, &time);
    app.handle_key(key(KeyCode::Enter));
    // Issue 20: the context is laid out as indented JSON, one line per detail line.
    let detail = app.detail().expect("detail").detail.clone();
    let line = |text: &str| (String::new(), text.to_string());
    assert!(
        detail.contains(&("context".to_string(), "{".to_string())),
        "{detail:?}"
    );
    assert!(
        detail.contains(&line("  \"stage\": \"password\",")),
        "{detail:?}"
    );
    assert!(detail.contains(&line("  \"attempts\": 3")));
    let reason = detail
        .iter()
        .find(|(_, v)| v.contains("\"reason\""))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    assert!(
        !reason.contains('\u{1b}') && reason.contains("password"),
        "{reason:?}"
    );
}

#[tokio::test]
async fn stage_bindings_are_edited_and_removed_from_the_flow_detail() {
    let (_d, service, mut app) = fresh().await;
    typ(&mut app, "2");
    select_row(&mut app, "default-authentication-flow");
    app.handle_key(key(KeyCode::Enter));
    let lines = app.binding_lines();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(
        lines[1].1.contains("default-authentication-password"),
        "{lines:?}"
    );
    let screen = render(&mut app, 120, 40);
    assert!(screen.contains("Stage bindings (4)"), "{screen}");
    app.handle_key(key(KeyCode::Down));
    typ(&mut app, "E");
    assert_eq!(
        app.form().map(|f| f.title.as_str()),
        Some("Update Stage Binding")
    );
    focus_field(&mut app, "order");
    app.handle_key(key(KeyCode::Backspace));
    app.handle_key(key(KeyCode::Backspace));
    typ(&mut app, "25");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert_eq!(app.mode(), Mode::Detail, "back to the flow detail");
    let id = lines[1].0.clone();
    let b = service
        .list_flow_stage_bindings()
        .await
        .expect("b")
        .into_iter()
        .find(|b| b.id == id)
        .expect("binding");
    assert_eq!(b.order, 25);
    // Remove it: the dialog (nothing else uses a binding) needs no typing.
    let at = app
        .binding_lines()
        .iter()
        .position(|(i, _)| *i == id)
        .expect("listed");
    while app.copy_cursor() > at {
        app.handle_key(key(KeyCode::Up));
    }
    while app.copy_cursor() < at {
        app.handle_key(key(KeyCode::Down));
    }
    typ(&mut app, "X");
    settle(&mut app, &service).await;
    assert_eq!(app.mode(), Mode::Delete);
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &service).await;
    assert_eq!(app.mode(), Mode::Detail);
    assert!(
        service
            .list_flow_stage_bindings()
            .await
            .expect("b")
            .iter()
            .all(|b| b.id != id)
    );
    assert!(
        service
            .list_stages()
            .await
            .expect("s")
            .iter()
            .any(|s| s.name == "default-authentication-password"),
        "the stage stays"
    );
}

#[tokio::test]
async fn scope_mappings_are_listed_under_providers_and_edited_and_deleted() {
    let (_d, service, mut app) = fresh().await;
    typ(&mut app, "6n");
    typ(&mut app, "Scope");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(
        app.form().map(|f| f.title.as_str()),
        Some("Create Scope Mapping")
    );
    typ(&mut app, "groups-claim");
    tab(&mut app, 1);
    typ(&mut app, "groups");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    select_row(&mut app, "[scope] groups-claim");
    typ(&mut app, "e");
    assert_eq!(
        app.form().map(|f| f.title.as_str()),
        Some("Update Scope Mapping")
    );
    focus_field(&mut app, "description");
    typ(&mut app, "Your groups");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let m = service
        .list_scope_mappings()
        .await
        .expect("m")
        .into_iter()
        .find(|m| m.name == "groups-claim")
        .expect("mapping");
    assert_eq!(m.description, "Your groups");
    // A mapping a provider uses: the dialog says the provider loses it.
    let mapping = service
        .list_scope_mappings()
        .await
        .expect("m")
        .into_iter()
        .find(|m| m.managed.is_some())
        .expect("managed");
    new_provider(&mut app, "uses-mappings");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    select_row(&mut app, &format!("[scope] {}", mapping.name));
    typ(&mut app, "D");
    settle(&mut app, &service).await;
    let d = app.dialog().expect("dialog");
    assert!(
        d.usages
            .iter()
            .any(|u| u.kind == "provider" && u.name == "uses-mappings"),
        "{:?}",
        d.usages
    );
    app.handle_key(key(KeyCode::Esc));
    select_row(&mut app, "[scope] groups-claim");
    typ(&mut app, "D");
    settle(&mut app, &service).await;
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &service).await;
    assert!(
        service
            .list_scope_mappings()
            .await
            .expect("m")
            .iter()
            .all(|m| m.name != "groups-claim")
    );
}

#[tokio::test]
async fn left_and_right_cycle_a_select_like_radio_buttons() {
    let (_d, _service, mut app) = fresh().await;
    typ(&mut app, "2n");
    focus_field(&mut app, "policy_engine_mode");
    let v = |app: &App| {
        app.form()
            .and_then(|f| f.value("policy_engine_mode"))
            .cloned()
    };
    assert_eq!(v(&app), Some(FieldValue::One(Some("any".into()))));
    app.handle_key(key(KeyCode::Right));
    assert_eq!(v(&app), Some(FieldValue::One(Some("all".into()))));
    app.handle_key(key(KeyCode::Right));
    assert_eq!(v(&app), Some(FieldValue::One(Some("any".into()))), "wraps");
    app.handle_key(key(KeyCode::Left));
    assert_eq!(v(&app), Some(FieldValue::One(Some("all".into()))));
    assert!(app.form().is_some_and(|f| f.dirty));
}

/// A self-signed RSA-1024 certificate and key (openssl req -x509 -newkey rsa:1024): too weak.
const WEAK_CERT: &str = "-----BEGIN CERTIFICATE-----\nMIICCjCCAXOgAwIBAgIUVbkLgOYPX4EHL3XcDmqOlbPDPIowDQYJKoZIhvcNAQEL\nBQAwFzEVMBMGA1UEAwwMd2Vhay5leGFtcGxlMB4XDTI2MTEyMjIyNTAzMVoXDTM2\nMTExOTIyNTAzMVowFzEVMBMGA1UEAwwMd2Vhay5leGFtcGxlMIGfMA0GCSqGSIb3\nDQEBAQUAA4GNADCBiQKBgQCsiSuxJJXoYPiB9+zhTNO76PoH6ZMxusc5AErO4SAX\n6eoqsSdc2uOXsT8J4aiEer9r73NAt/JIB+xKDM2nPVbze+vXK15zFgc69O4brN7t\nPeHMAlPeQnmhtKQcpKdhk+Nhd1OXMJ1k73ovQCbNWXSf9yPQt6DY63izn9Tv1bbR\nBwIDAQABo1MwUTAdBgNVHQ4EFgQUZ/v9Tqaa3k8NdyT1WKr4lFxLhOQwHwYDVR0j\nBBgwFoAUZ/v9Tqaa3k8NdyT1WKr4lFxLhOQwDwYDVR0TAQH/BAUwAwEB/zANBgkq\nhkiG9w0BAQsFAAOBgQCcnYVE3lU16GIfA9qd3QwHl9eRRHtu2d/JcxgClvXym5Uk\nOZ8VRAI4LJ5n3CIC5/TYb2P4Cbdt8VRbOnGg6QEyLixFJdGS5tLqD5aIG+SgJaeX\nKXXB+WY8ys0SuF7r9KB8a0uKFoHAuEPoSWaVwHjz+65uxqZLA7RpdQN+gHXiSA==\n-----END CERTIFICATE-----\n";
const WEAK_KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBAKyJK7Eklehg+IH3\n7OFM07vo+gfpkzG6xzkASs7hIBfp6iqxJ1za45exPwnhqIR6v2vvc0C38kgH7EoM\nzac9VvN769crXnMWBzr07hus3u094cwCU95CeaG0pBykp2GT42F3U5cwnWTvei9A\nJs1ZdJ/3I9C3oNjreLOf1O/VttEHAgMBAAECgYAFsGw5ZhxvUis/ld5Au5jLvG3q\nLuCEpkUFcyYEVlYJk9P93mOO40TX7qdGeyNkYuvG8llZi/c4OtKmym9JkXM5fDXs\nzVeBjAcXYXU7MrVr/SPLC/9mCNqFHzYCgqOdtnd+LDRGQU9/aMFVOgGgcnNitHwv\nSEzWC6UDGLO4SbPosQJBAOVOnioLiEAZ32InnX1ZvXHTQFIwngwg3BDh/uQG4hZG\nDVpdz397NUAhKxg4YSRRC8gtPALRlHfBlHqL2KJSeG8CQQDAnsLdguiFiH8qdHA2\nyqRq0u+yN59tXd5uMnPqyPiM/ZBUHHaX7hhvpRJzLFNSLrIrinN6oUM13tZxXGbC\nHgzpAkBzscjnWc4y2Vr1wRsa5a5JwdZQIat8Xw/pjLz3++kSZ+HQ2Ega/+UMKDAA\nFmIc2q9hHkGLAocwLQFnGywAKjANAkALogr2wc81MVcswzd7t6VSZkbfpohUXJTw\nZs+lYFnSegXbbpSi/FgxdfC1T/oAPp24D3aF83NRr5GX6xKxqorxAkEAl7rQt2Ym\nUc7jQ40Glqro76E82Y3fhVp6fh6xJfIAOUOluJru+9nqMyJPNSGRyXaQNs2W2mXG\n3GboaDZGXh7Wjg==\n-----END PRIVATE KEY-----\n";

#[tokio::test]
async fn a_weak_rsa_import_is_refused_at_the_field() {
    let (_d, service, mut app) = fresh().await;
    let before = service.list_certificates().await.expect("certs");
    typ(&mut app, "7n");
    app.handle_key(key(KeyCode::Down));
    app.handle_key(key(KeyCode::Enter));
    typ(&mut app, "weak");
    if let Some(f) = app.form_mut() {
        f.set_text("certificate_data", WEAK_CERT);
        f.set_text("key_data", WEAK_KEY);
    }
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let err = app
        .form()
        .and_then(|f| f.error("certificate_data"))
        .unwrap_or_default()
        .to_string();
    assert!(err.contains("at least 2048 bits"), "{err}");
    assert_eq!(service.list_certificates().await.expect("certs"), before);
}

#[tokio::test]
async fn snapshot_provider_form_with_a_redirect_uri_error() {
    let (_d, _service, mut app) = fresh().await;
    new_provider(&mut app, "grafana");
    set_redirect(
        &mut app,
        "https://grafana.example/login/generic_oauth",
        false,
    );
    app.handle_key(ctrl('n'));
    typ(&mut app, "http://grafana.example/(");
    app.handle_key(ctrl('o'));
    // The client ID is shown in clear: a fixed one keeps the screen deterministic (the
    // secret is masked).
    if let Some(f) = app.form_mut() {
        f.set_text("client_id", "grafana-client-id");
    }
    insta::assert_snapshot!("provider_form_80x24", render(&mut app, 80, 24));
    insta::assert_snapshot!("provider_form_120x40", render(&mut app, 120, 40));
}

#[tokio::test]
async fn ctrl_c_quits_even_from_a_form() {
    let (_d, _service, mut app) = fresh().await;
    typ(&mut app, "2n");
    typ(&mut app, "half typed");
    app.handle_key(ctrl('c'));
    assert!(app.should_quit());
}

#[tokio::test]
async fn the_last_superuser_cannot_lose_its_group_either() {
    let (_d, service, mut app) = fresh().await;
    let groups = service.list_groups().await.expect("groups");
    let members = service.memberships().await.expect("m");
    typ(&mut app, "0");
    select_row(&mut app, "[group] authentik Admins");
    // Demoting the group.
    typ(&mut app, "e");
    focus_field(&mut app, "is_superuser");
    app.handle_key(key(KeyCode::Char(' ')));
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let banner = app
        .form()
        .and_then(|f| f.banner.clone())
        .unwrap_or_default();
    assert!(banner.contains("no active superuser"), "{banner}");
    app.handle_key(key(KeyCode::Esc));
    typ(&mut app, "y");
    // Deleting the group.
    typ(&mut app, "D");
    settle(&mut app, &service).await;
    let name = app.dialog().map(|d| d.name.clone()).unwrap_or_default();
    typ(&mut app, &name);
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &service).await;
    let err = app
        .dialog()
        .and_then(|d| d.error.clone())
        .unwrap_or_default();
    assert!(err.contains("no active superuser"), "{err}");
    assert_eq!(service.list_groups().await.expect("groups"), groups);
    assert_eq!(service.memberships().await.expect("m"), members);
}

#[tokio::test]
async fn deleting_a_user_lists_its_memberships_and_needs_the_username() {
    let (_d, service, mut app) = fresh().await;
    typ(&mut app, "0n");
    app.handle_key(key(KeyCode::Enter));
    typ(&mut app, "bob");
    focus_field(&mut app, "groups");
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(key(KeyCode::Char(' ')));
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    select_row(&mut app, "bob");
    typ(&mut app, "D");
    settle(&mut app, &service).await;
    let d = app.dialog().expect("dialog");
    assert!(
        d.usages
            .iter()
            .any(|u| u.kind == "group" && u.field == "membership"),
        "{:?}",
        d.usages
    );
    assert!(d.needs_typing());
    typ(&mut app, "bob");
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &service).await;
    assert!(
        service
            .list_users()
            .await
            .expect("users")
            .iter()
            .all(|u| u.username != "bob")
    );
}

#[tokio::test]
async fn expression_and_group_membership_policies_are_created() {
    let (_d, service, mut app) = fresh().await;
    typ(&mut app, "4n");
    typ(&mut app, "Expression");
    app.handle_key(key(KeyCode::Enter));
    typ(&mut app, "only-admins");
    focus_field(&mut app, "expression");
    for _ in 0.."return True".len() {
        app.handle_key(key(KeyCode::Backspace));
    }
    // Compiled at save as authentik's Python.
    typ(&mut app, "return (");
    app.handle_key(key(KeyCode::Enter)); // a new line, not the next field
    typ(&mut app, "    request.user.is_superuser");
    app.handle_key(key(KeyCode::Enter));
    typ(&mut app, ")");
    assert_eq!(
        app.form().and_then(|f| f.focused()).map(|f| f.spec.key),
        Some("expression")
    );
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let p = service
        .list_policies()
        .await
        .expect("p")
        .into_iter()
        .find(|p| p.name == "only-admins")
        .expect("policy");
    assert_eq!(
        p.settings.to_json()["expression"],
        "return (\n    request.user.is_superuser\n)"
    );

    typ(&mut app, "n");
    typ(&mut app, "Group membership");
    app.handle_key(key(KeyCode::Enter));
    typ(&mut app, "admins-group");
    app.handle_key(ctrl('s'));
    assert!(
        app.form().and_then(|f| f.error("group")).is_some(),
        "the group is required"
    );
    assert!(app.take_request().is_none());
    focus_field(&mut app, "group");
    app.handle_key(key(KeyCode::Enter));
    typ(&mut app, "Admins");
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let groups = service.list_groups().await.expect("g");
    let admins = groups
        .iter()
        .find(|g| g.name == "authentik Admins")
        .expect("admins");
    let p = service
        .list_policies()
        .await
        .expect("p")
        .into_iter()
        .find(|p| p.name == "admins-group")
        .expect("policy");
    assert_eq!(p.settings.to_json()["group"], admins.id.as_str());
}

#[tokio::test]
async fn brands_take_flows_including_the_device_code_flow_and_bad_json_is_refused() {
    let (_d, service, mut app) = fresh().await;
    let before = service.list_brands().await.expect("b");
    typ(&mut app, "8n");
    typ(&mut app, "login.example");
    focus_field(&mut app, "flow_device_code");
    app.handle_key(key(KeyCode::Enter));
    typ(&mut app, "device-code");
    app.handle_key(key(KeyCode::Enter));
    focus_field(&mut app, "attributes");
    typ(&mut app, "{ nope");
    let err = app
        .form()
        .and_then(|f| f.error("attributes"))
        .unwrap_or_default()
        .to_string();
    assert!(err.contains("invalid JSON at line"), "{err}");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert_eq!(service.list_brands().await.expect("b"), before);
    if let Some(f) = app.form_mut() {
        f.set_text(
            "attributes",
            "{\"settings\": {\"theme\": {\"base\": \"dark\"}}}",
        );
    }
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let flows = service.list_flows().await.expect("f");
    let device = flows
        .iter()
        .find(|f| f.slug == "device-code")
        .expect("device flow");
    let b = service
        .list_brands()
        .await
        .expect("b")
        .into_iter()
        .find(|b| b.domain == "login.example")
        .expect("brand");
    assert_eq!(b.flow_device_code_id.as_deref(), Some(device.id.as_str()));
    assert_eq!(b.attributes["settings"]["theme"]["base"], "dark");
}
