//! The console's Events tab as an audit tool (issue 20): the audit filter popup (`f`) is
//! answered through the service, so it reaches past the events kept in view and survives
//! reloads, Esc drops it; Enter opens the whole event with its context as JSON (scrollable);
//! `y` copies the event as JSON (OSC 52); the origin is a column. Keys on the App over a real
//! store, then the real binary under tmux for the screens (insta snapshots at 80x24 and 120x40).

use std::sync::Arc;

use crossterm::event::KeyCode;
use latchkey::console::actions::execute;
use latchkey::console::app::App;
use latchkey::console::data::{DataSource, EVENT_LIMIT};
use latchkey::console::keymap::Mode;
use latchkey::console::tabs::TabId;
use latchkey::context::{Config, SystemClock};
use latchkey::domain::{Event, UserMatch};
use latchkey::service::Service;
use latchkey::store::{self, Store, StoreLocation, Topic};
use serde_json::{Value, json};

use crate::console::tmux_session;
use crate::console_forms::{config, ctrl, key, render, typ};
use crate::support::{ADMIN_PASSWORD, bootstrapped_service};

const FIXED_NOW: i64 = 1_767_225_600;

fn real_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[allow(clippy::too_many_arguments)]
fn event(
    id: &str,
    action: &str,
    user: &str,
    origin: &str,
    ip: &str,
    app: &str,
    at: i64,
    context: Value,
) -> Event {
    Event {
        id: id.into(),
        action: action.into(),
        username: user.into(),
        user_id: Some(format!("u-{user}")),
        app: app.into(),
        client_ip: ip.into(),
        origin: origin.into(),
        context,
        brand: String::new(),
        created_at: at,
    }
}

async fn insert(store: &Store, events: &[Event]) {
    let mut tx = store.write_tx().await.expect("tx");
    for e in events {
        store::events::insert(tx.conn(), e).await.expect("insert");
    }
    tx.touch(Topic::Events);
    tx.commit().await.expect("commit");
}

/// Reloads as the console's loop does: with the audit filter in effect.
async fn reload(app: &mut App, service: &Service) {
    let mut data = DataSource::new(service.clone())
        .load_with(app.event_filter())
        .await
        .expect("load");
    data.now = FIXED_NOW;
    app.apply_data(data);
}

/// Runs what the app asked the service for, as the loop does.
async fn settle(app: &mut App, service: &Service) {
    while let Some(req) = app.take_request() {
        let out = execute(service, req).await;
        app.apply_outcome(out);
    }
}

async fn events_tab(service: &Service, readonly: bool) -> App {
    let mut app = App::new(latchkey::console::app::AppConfig {
        readonly,
        ..config()
    });
    reload(&mut app, service).await;
    app.handle_key(key(KeyCode::BackTab));
    assert_eq!(app.current_tab(), TabId::Events);
    app
}

fn users(app: &App) -> Vec<String> {
    app.visible_rows()
        .iter()
        .map(|r| r.cells[2].text.clone())
        .collect()
}

#[tokio::test]
async fn the_audit_filter_reaches_past_the_events_in_view_and_esc_drops_it() {
    let (_dir, service) = bootstrapped_service("http://127.0.0.1:9000").await;
    let now = real_now();
    // One old login, then more newer events than the console keeps in view.
    let mut trail = vec![event(
        "old-login",
        "login",
        "old-ann",
        "http",
        "10.9.9.9",
        "",
        now - 30 * 86_400,
        json!({}),
    )];
    for i in 0..(EVENT_LIMIT + 20) {
        trail.push(event(
            &format!("noise-{i:04}"),
            "model_updated",
            "noise",
            "console",
            "",
            "",
            now - 86_400 + i,
            json!({}),
        ));
    }
    insert(service.store(), &trail).await;
    let mut app = events_tab(&service, false).await;
    assert_eq!(app.total_rows(), EVENT_LIMIT as usize);
    assert!(!users(&app).contains(&"old-ann".to_string()), "out of view");

    app.handle_key(key(KeyCode::Char('f')));
    assert_eq!(app.mode(), Mode::EventFilter);
    typ(&mut app, "login");
    app.handle_key(key(KeyCode::Tab));
    typ(&mut app, "ann");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::List);
    assert_eq!(app.event_filter().actions, ["login"]);
    assert_eq!(
        app.event_filter().user,
        Some(UserMatch::Contains("ann".into()))
    );
    settle(&mut app, &service).await;
    assert_eq!(
        users(&app),
        ["old-ann"],
        "found by the store, not in memory"
    );
    let status = app.status().map(|s| s.text.clone()).unwrap_or_default();
    assert!(
        status.contains("1 event where action login, user ~ann"),
        "{status}"
    );
    let screen = render(&mut app, 120, 40);
    assert!(screen.contains("where action login, user ~ann"), "{screen}");

    // A reload asks again with the filter.
    insert(
        service.store(),
        &[event(
            "new-login",
            "login",
            "joanna",
            "http",
            "",
            "",
            now,
            json!({}),
        )],
    )
    .await;
    reload(&mut app, &service).await;
    assert_eq!(users(&app), ["joanna", "old-ann"]);

    // The `/` filter narrows what was loaded; Esc drops it first, then the audit filter.
    app.handle_key(key(KeyCode::Char('/')));
    typ(&mut app, "joanna");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(users(&app), ["joanna"]);
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(users(&app), ["joanna", "old-ann"]);
    assert!(!app.event_filter().is_unfiltered());
    app.handle_key(key(KeyCode::Esc));
    assert!(app.event_filter().is_unfiltered());
    assert_eq!(app.total_rows(), EVENT_LIMIT as usize);
    assert!(app.take_request().is_none(), "no query without criteria");
}

#[tokio::test]
async fn the_filter_popup_types_edits_refuses_bad_times_and_works_read_only() {
    let (_dir, service) = bootstrapped_service("http://127.0.0.1:9000").await;
    let mut app = events_tab(&service, true).await;
    assert!(
        app.hints().contains(&("f", "audit filter")),
        "{:?}",
        app.hints()
    );
    app.handle_key(key(KeyCode::Char('f')));
    assert_eq!(app.mode(), Mode::EventFilter, "read-only keeps the filter");
    assert!(app.hints().contains(&("enter", "apply")));
    // Letters that are keys elsewhere are typed here.
    typ(&mut app, "qy?/jk");
    assert_eq!(
        app.event_filter_form().map(|f| f.values[0].as_str()),
        Some("qy?/jk")
    );
    app.handle_key(key(KeyCode::Backspace));
    assert_eq!(
        app.event_filter_form().map(|f| f.values[0].as_str()),
        Some("qy?/j")
    );
    app.handle_key(ctrl('x'));
    assert_eq!(
        app.event_filter_form().map(|f| f.values[0].as_str()),
        Some("")
    );
    for _ in 0..5 {
        app.handle_key(key(KeyCode::Tab));
    }
    typ(&mut app, "soon");
    app.handle_key(key(KeyCode::Enter));
    let f = app.event_filter_form().expect("still open");
    assert_eq!(f.focus, 5);
    let error = f.error.clone().unwrap_or_default();
    assert!(
        error.starts_with("Since: \"soon\" is not a time"),
        "{error}"
    );
    assert!(render(&mut app, 80, 24).contains("is not a time"));
    app.handle_key(key(KeyCode::BackTab));
    assert_eq!(app.event_filter_form().map(|f| f.focus), Some(4));
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::List);
    assert!(app.event_filter().is_unfiltered(), "Esc applies nothing");
    assert!(app.take_request().is_none());
    // Not on other tabs.
    app.handle_key(key(KeyCode::Char('2')));
    app.handle_key(key(KeyCode::Char('f')));
    assert_eq!(app.mode(), Mode::List);
}

#[tokio::test]
async fn enter_shows_the_whole_event_and_y_copies_it_as_json() {
    let (_dir, service) = bootstrapped_service("http://127.0.0.1:9000").await;
    let context = json!({
        "model": {"app": "authentik_core", "model_name": "user", "pk": "u-7", "name": "bob"},
        "diff": {"email": {"old": "bob@old.example", "new": "bob@new.example"},
                 "name": {"old": "Bob", "new": "Robert"}},
        "lines": (0..40).map(|i| format!("line {i}")).collect::<Vec<_>>(),
    });
    insert(
        service.store(),
        &[event(
            "ev-top",
            "model_updated",
            "root@ops",
            "console",
            "",
            "",
            real_now() + 3_600,
            context,
        )],
    )
    .await;
    let mut app = events_tab(&service, false).await;
    let top = app.visible_rows()[0].cells.clone();
    assert_eq!(top[3].text, "console", "the origin column");
    assert_eq!(top[6].text, "user bob (email, name)", "the short context");

    // y from the list.
    app.handle_key(key(KeyCode::Char('y')));
    let clip = app.take_clip().expect("copied");
    let v: Value = serde_json::from_str(&clip.value).expect("json");
    assert_eq!(v["pk"], "ev-top");
    assert_eq!(v["origin"], "console");
    assert_eq!(v["user"]["username"], "root@ops");
    assert_eq!(v["context"]["diff"]["name"]["new"], "Robert");

    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Detail);
    let detail = app.detail().expect("detail").detail.clone();
    let field = |k: &str| {
        detail
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field("origin").as_deref(), Some("console"));
    assert_eq!(field("context").as_deref(), Some("{"));
    assert!(
        detail
            .iter()
            .any(|(_, v)| v.contains("\"new\": \"bob@new.example\"")),
        "{detail:?}"
    );
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("\"model_name\": \"user\""), "{screen}");
    // Scrolls with j/k and the page keys; a reload keeps the JSON.
    app.handle_key(key(KeyCode::PageDown));
    let paged = app.detail_scroll();
    assert!(paged > 10, "{paged}");
    app.handle_key(key(KeyCode::Char('k')));
    assert_eq!(app.detail_scroll(), paged - 1);
    app.handle_key(key(KeyCode::Char('j')));
    app.handle_key(key(KeyCode::Char('j')));
    assert_eq!(app.detail_scroll(), paged + 1);
    app.handle_key(key(KeyCode::PageUp));
    app.handle_key(key(KeyCode::PageUp));
    assert_eq!(app.detail_scroll(), 0);
    reload(&mut app, &service).await;
    let again = app.detail().expect("detail").detail.clone();
    assert_eq!(again, detail, "laid out once, again after a reload");

    // y in the detail copies the same object; v shows it whole.
    app.handle_key(key(KeyCode::Char('y')));
    let from_detail = app.take_clip().expect("copied");
    assert_eq!(from_detail.value, clip.value);
    let status = app.status().map(|s| s.text.clone()).unwrap_or_default();
    assert!(
        status.contains("the model_updated event as JSON"),
        "{status}"
    );
    app.handle_key(key(KeyCode::Char('v')));
    assert_eq!(app.mode(), Mode::Message);
    let shown = app.message().expect("message").text.clone();
    assert!(shown.contains("\"pk\": \"ev-top\""), "{shown}");
}

// ---- the real binary under tmux ---------------------------------------------------------------

/// A bootstrapped SQLite store with a fixed slice of audit trail by `auditor`.
async fn audited_store(db: &std::path::Path) {
    let store = Store::open(&StoreLocation::File(db.to_path_buf()))
        .await
        .expect("open");
    let service = Service::new(
        store.clone(),
        Config::new("http://127.0.0.1:9"),
        Arc::new(SystemClock),
    );
    service
        .bootstrap(Some(ADMIN_PASSWORD))
        .await
        .expect("bootstrap");
    let t = FIXED_NOW;
    insert(
        &store,
        &[
            event("ev-1", "login_failed", "auditor", "http", "203.0.113.9", "", t, json!({"message": "Invalid password", "stage": "default-authentication-password"})),
            event("ev-2", "login", "auditor", "http", "203.0.113.9", "", t + 60, json!({"auth_method": "password"})),
            event("ev-3", "authorize_application", "auditor", "http", "203.0.113.9", "grafana", t + 120, json!({"authorized_application": {"app": "authentik_core", "model_name": "application", "name": "Grafana", "pk": "app-1"}, "scope": "openid profile"})),
            event("ev-4", "model_created", "auditor", "blueprint team-apps", "", "", t + 180, json!({"model": {"app": "authentik_core", "model_name": "application", "name": "wiki", "pk": "app-2"}})),
            event("ev-5", "model_updated", "auditor", "console", "", "", t + 240, json!({"model": {"app": "authentik_core", "model_name": "user", "name": "bob", "pk": "u-7"}, "diff": {"email": {"old": "bob@old.example", "new": "bob@new.example"}, "is_active": {"old": true, "new": false}}})),
        ],
    )
    .await;
    store.close().await;
}

/// The screen with its first line (the header: the temp store's path) masked.
fn masked(screen: &str) -> String {
    let mut lines = screen.lines();
    let header = lines.next().unwrap_or_default();
    assert!(header.contains("latchkey"), "{screen}");
    std::iter::once("<header: latchkey, the store, no server>")
        .chain(lines)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn snapshot_the_events_tab_under_tmux() {
    for (w, h) in [(80u16, 24u16), (120, 40)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("x.db");
        audited_store(&db).await;
        let args: Vec<String> = [
            "console",
            "--db",
            &db.display().to_string(),
            "--log-file",
            &dir.path().join("log").display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let tmux = tmux_session(dir.path(), &args, (w, h), &["NO_COLOR=1"]);
        let send = |keys: &[&str]| {
            for k in keys {
                tmux.run(&["send-keys", "-t", "console", k]);
            }
        };
        tmux.wait_for("the tab bar", |s| s.contains("Dash"));
        send(&["BTab", "f", "Tab"]);
        tmux.wait_for("the filter popup", |s| s.contains("Filter events"));
        tmux.run(&["send-keys", "-t", "console", "-l", "=auditor"]);
        send(&["Enter"]);
        let list = tmux.wait_for("the filtered list", |s| {
            s.contains("where user =auditor") && s.contains("Events (5/5)")
        });
        insta::assert_snapshot!(format!("events_list_{w}x{h}"), masked(&list));
        send(&["Enter"]);
        let detail = tmux.wait_for("the detail", |s| s.contains("\"diff\": {"));
        insta::assert_snapshot!(format!("events_detail_{w}x{h}"), masked(&detail));
        send(&["q", "q"]);
    }
}
