//! The terminal console: key events -> state, rendered screens (insta snapshots at 80x24 and
//! 120x40 over a real bootstrapped store), live refresh, inert text, and the real binary under
//! tmux.

use std::process::Command;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use latchkey::console::app::{App, AppConfig};
use latchkey::console::data::{Data, DataSource};
use latchkey::console::keymap::{Action, KEYMAP, Mode};
use latchkey::console::tabs::{TABS, TabId};
use latchkey::console::theme::Theme;
use latchkey::console::view;
use latchkey::context::EventSubject;
use latchkey::domain::{
    DeniedAction, Flow, FlowAuthentication, FlowDesignation, FlowLayout, PolicyEngineMode, User,
    UserType, new_id,
};
use latchkey::service::Service;
use latchkey::store::{self, Store, StoreLocation, Topic};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::support::bootstrapped_service;

/// 2026-01-01T00:00:00Z: a fixed "now" so nothing on screen depends on the clock.
const FIXED_NOW: i64 = 1_767_225_600;
const STORE_PATH: &str = "/srv/latchkey/latchkey.db";
const SERVER_URL: &str = "http://127.0.0.1:9000";

const FLOW_SLUGS: &[&str] = &[
    "default-authentication-flow",
    "default-enrollment-flow",
    "default-invalidation-flow",
    "default-provider-authorization-explicit-consent",
    "default-provider-authorization-implicit-consent",
    "default-provider-invalidation-flow",
    "default-recovery-flow",
    "default-user-settings-flow",
    "device-code",
    "initial-setup",
];

fn config(readonly: bool) -> AppConfig {
    AppConfig {
        store_path: STORE_PATH.into(),
        server_url: SERVER_URL.into(),
        readonly,
        startup_toast: None,
        theme: Theme::default(),
    }
}

async fn load(service: &Service) -> Data {
    let mut data = DataSource::new(service.clone())
        .load()
        .await
        .expect("load data");
    data.now = FIXED_NOW;
    // Bootstrap's events carry the real clock's time: pin them too.
    for (i, e) in data.events.iter_mut().enumerate() {
        e.created_at = data.now - 60 * i as i64;
    }
    data
}

/// An app over a freshly bootstrapped store.
async fn loaded_app(readonly: bool) -> (tempfile::TempDir, Service, App) {
    let (dir, service) = bootstrapped_service(SERVER_URL).await;
    let mut app = App::new(config(readonly));
    app.apply_data(load(&service).await);
    (dir, service, app)
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn code(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        app.handle_key(key(c));
    }
}

fn slugs(app: &App) -> Vec<String> {
    app.visible_rows()
        .iter()
        .map(|r| r.cells[0].text.clone())
        .collect()
}

/// Draws the app at `w`x`h` and returns the screen as text, one line per row.
fn render(app: &mut App, w: u16, h: u16) -> String {
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

fn line(screen: &str, n: usize) -> &str {
    screen.lines().nth(n).unwrap_or_default()
}

// ---- state --------------------------------------------------------------------------------

#[tokio::test]
async fn number_keys_and_tab_cycle_switch_tabs() {
    let (_dir, _service, mut app) = loaded_app(false).await;
    assert_eq!(app.current_tab(), TabId::Dashboard);
    press(&mut app, "2");
    assert_eq!(app.current_tab(), TabId::Flows);
    press(&mut app, "0");
    assert_eq!(app.current_tab(), TabId::Users);
    press(&mut app, "7");
    assert_eq!(app.current_tab(), TabId::Certificates);
    press(&mut app, "1");
    assert_eq!(app.current_tab(), TabId::Dashboard);
    app.handle_key(code(KeyCode::Tab));
    assert_eq!(app.current_tab(), TabId::Flows);
    app.handle_key(code(KeyCode::BackTab));
    app.handle_key(code(KeyCode::BackTab));
    assert_eq!(app.current_tab(), TabId::Events, "Shift-Tab wraps around");
    app.handle_key(code(KeyCode::Tab));
    assert_eq!(app.current_tab(), TabId::Dashboard, "Tab wraps around");
    // Every tab is reachable by cycling.
    for spec in TABS.iter().skip(1) {
        app.handle_key(code(KeyCode::Tab));
        assert_eq!(app.current_tab(), spec.id);
    }
}

#[tokio::test]
async fn filter_narrows_negates_alternates_and_clears() {
    let (_dir, _service, mut app) = loaded_app(false).await;
    press(&mut app, "2");
    assert_eq!(slugs(&app), FLOW_SLUGS);

    press(&mut app, "/");
    assert_eq!(app.mode(), Mode::Filter);
    press(&mut app, "AUTHENTICATION");
    assert_eq!(
        slugs(&app),
        ["default-authentication-flow"],
        "case-insensitive"
    );
    app.handle_key(code(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::List, "Enter keeps the filter");
    assert_eq!(app.filter(), "AUTHENTICATION");
    assert_eq!(app.visible_rows().len(), 1);

    // Keys typed while filtering go to the filter, not to the keymap.
    press(&mut app, "/");
    for _ in 0.."AUTHENTICATION".len() {
        app.handle_key(code(KeyCode::Backspace));
    }
    press(&mut app, "!provider");
    assert_eq!(
        slugs(&app),
        [
            "default-authentication-flow",
            "default-enrollment-flow",
            "default-invalidation-flow",
            "default-recovery-flow",
            "default-user-settings-flow",
            "device-code",
            "initial-setup"
        ]
    );
    assert_eq!(app.current_tab(), TabId::Flows);

    app.handle_key(code(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::List);
    assert_eq!(app.filter(), "", "Esc clears");
    assert_eq!(app.visible_rows().len(), FLOW_SLUGS.len());

    press(&mut app, "/logout|explicit");
    app.handle_key(code(KeyCode::Enter));
    assert_eq!(
        slugs(&app),
        [
            "default-invalidation-flow",
            "default-provider-authorization-explicit-consent"
        ],
        "a|b matches either (the invalidation flow is named Logout)"
    );
    // Esc in the list clears a kept filter too.
    app.handle_key(code(KeyCode::Esc));
    assert_eq!(app.visible_rows().len(), FLOW_SLUGS.len());

    press(&mut app, "/zzz-nothing");
    assert!(app.visible_rows().is_empty());
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("Nothing matches the filter"), "{screen}");
}

#[tokio::test]
async fn selection_moves_with_j_k_g_and_g() {
    let (_dir, _service, mut app) = loaded_app(false).await;
    press(&mut app, "2");
    assert_eq!(app.selected_index(), 0);
    press(&mut app, "j");
    assert_eq!(app.selected_index(), 1);
    app.handle_key(code(KeyCode::Down));
    assert_eq!(app.selected_index(), 2);
    press(&mut app, "k");
    assert_eq!(app.selected_index(), 1);
    press(&mut app, "G");
    assert_eq!(app.selected_index(), FLOW_SLUGS.len() - 1);
    press(&mut app, "j");
    assert_eq!(
        app.selected_index(),
        FLOW_SLUGS.len() - 1,
        "stops at the end"
    );
    press(&mut app, "g");
    assert_eq!(app.selected_index(), 0);
    press(&mut app, "k");
    assert_eq!(app.selected_index(), 0, "stops at the top");
    assert_eq!(
        app.selected_row().map(|r| r.cells[0].text.as_str()),
        Some("default-authentication-flow")
    );
}

fn user(username: &str) -> User {
    User {
        id: new_id(),
        username: username.into(),
        name: format!("Name of {username}"),
        email: format!("{username}@example.com"),
        is_active: true,
        user_type: UserType::Internal,
        path: "users".into(),
        attributes: serde_json::json!({}),
        has_password: false,
        last_login: None,
        created_at: FIXED_NOW,
        updated_at: FIXED_NOW,
        version: 1,
    }
}

fn flow(slug: &str) -> Flow {
    Flow {
        id: new_id(),
        name: slug.into(),
        slug: slug.into(),
        title: slug.into(),
        designation: FlowDesignation::Enrollment,
        authentication: FlowAuthentication::None,
        denied_action: DeniedAction::default(),
        policy_engine_mode: PolicyEngineMode::default(),
        layout: FlowLayout::default(),
        compatibility_mode: false,
        background: String::new(),
        created_at: FIXED_NOW,
        updated_at: FIXED_NOW,
        version: 1,
    }
}

#[test]
fn paging_scrolls_and_draws_only_rows_in_view() {
    let data = Data {
        now: FIXED_NOW,
        users: (0..100).map(|i| user(&format!("user-{i:03}"))).collect(),
        ..Data::default()
    };
    let mut app = App::new(config(false));
    app.apply_data(data);
    press(&mut app, "0");
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("Users (100/100)"), "{screen}");
    assert!(screen.contains("user-000") && screen.contains("user-016"));
    assert!(!screen.contains("user-017"), "only rows in view are drawn");

    app.handle_key(code(KeyCode::PageDown));
    assert_eq!(app.selected_index(), 17, "a page is the 17 rows in view");
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("user-017"), "{screen}");
    assert!(!screen.contains("user-000"), "scrolled: {screen}");
    assert!(app.scroll_offset() > 0);

    press(&mut app, "G");
    let screen = render(&mut app, 80, 24);
    assert!(
        screen.contains("user-099") && screen.contains("100/100"),
        "{screen}"
    );
    app.handle_key(code(KeyCode::PageUp));
    assert_eq!(app.selected_index(), 99 - 17);
    press(&mut app, "g");
    assert_eq!((app.selected_index(), app.scroll_offset()), (0, 0));
}

#[tokio::test]
async fn help_toggles_and_quit_keys_work() {
    let (_dir, _service, mut app) = loaded_app(false).await;
    press(&mut app, "?");
    assert_eq!(app.mode(), Mode::Help);
    press(&mut app, "?");
    assert_eq!(app.mode(), Mode::List);
    press(&mut app, "?");
    app.handle_key(code(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::List, "Esc closes help");

    // Enter opens the detail view; q goes back before it quits.
    press(&mut app, "2");
    app.handle_key(code(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Detail);
    assert_eq!(
        app.detail().map(|d| d.title()),
        Some("default-authentication-flow")
    );
    let screen = render(&mut app, 80, 24);
    assert!(
        line(&screen, 0).contains("Flows > default-authentication-flow"),
        "breadcrumb: {screen}"
    );
    assert!(screen.contains("designation") && screen.contains("Authentication"));
    app.handle_key(code(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::List);
    app.handle_key(code(KeyCode::Enter));
    press(&mut app, "q");
    assert_eq!(app.mode(), Mode::List);
    assert!(!app.should_quit());
    press(&mut app, "q");
    assert!(app.should_quit(), "q in a list quits");

    let mut app = App::new(config(false));
    app.handle_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.should_quit(), "Ctrl-C quits");
}

#[tokio::test]
async fn readonly_hides_and_refuses_every_mutating_action() {
    let (_dir, _service, mut rw) = loaded_app(false).await;
    let (_dir2, _service2, mut ro) = loaded_app(true).await;
    press(&mut rw, "2");
    press(&mut ro, "2");
    let mutating: Vec<_> = KEYMAP.iter().filter(|b| b.mutates).collect();
    assert!(!mutating.is_empty(), "the mechanism has something to hide");
    for b in &mutating {
        let entry = b.help_entry();
        assert!(rw.help_entries().contains(&entry), "{} in rw help", b.label);
        assert!(
            !ro.help_entries().contains(&entry),
            "{} hidden in ro help",
            b.label
        );
        // The list's footer shows the list's mutating keys (forms and details have their own).
        if let Some(hint) = b
            .hint
            .filter(|_| matches!(b.action, Action::New | Action::Edit | Action::Delete))
        {
            assert!(
                rw.hints().contains(&(b.label, hint)),
                "{} in rw footer",
                b.label
            );
            assert!(
                !ro.hints().contains(&(b.label, hint)),
                "{} hidden in ro footer",
                b.label
            );
        }
    }
    let ro_screen = render(&mut ro, 120, 40);
    let rw_screen = render(&mut rw, 120, 40);
    assert!(line(&rw_screen, 39).contains("n new"), "{rw_screen}");
    assert!(!line(&ro_screen, 39).contains("new"), "{ro_screen}");
    assert!(line(&ro_screen, 0).contains("RO") && line(&rw_screen, 0).contains("RW"));

    // Pressing a mutating key in read-only mode does nothing but say why.
    press(&mut ro, "D");
    let status = ro.status().map(|s| s.text.clone()).unwrap_or_default();
    assert!(status.contains("read-only"), "{status}");
    press(&mut ro, "?");
    let screen = render(&mut ro, 120, 40);
    assert!(
        screen.contains("read-only") && !screen.contains("Delete (not built yet)"),
        "{screen}"
    );
}

#[test]
fn startup_toast_stays_until_acknowledged() {
    // Issue 14: the first-start message no longer goes with the first key; it waits in its
    // own window for enter (or esc).
    let mut app = App::new(AppConfig {
        startup_toast: Some("Bootstrapped: password s3cret (shown once)".into()),
        ..config(false)
    });
    app.apply_data(Data::default());
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("password s3cret"), "{screen}");
    app.apply_data(Data::default());
    assert!(
        render(&mut app, 80, 24).contains("s3cret"),
        "a reload keeps it"
    );
    press(&mut app, "j2");
    assert!(
        render(&mut app, 80, 24).contains("s3cret"),
        "other keys keep it"
    );
    app.handle_key(code(KeyCode::Enter));
    assert!(!render(&mut app, 80, 24).contains("s3cret"));
}

// ---- snapshots ----------------------------------------------------------------------------

#[tokio::test]
async fn snapshot_flows_list() {
    let (_dir, _service, mut app) = loaded_app(false).await;
    press(&mut app, "2");
    let small = render(&mut app, 80, 24);
    insta::assert_snapshot!("flows_80x24", small);
    let big = render(&mut app, 120, 40);
    insta::assert_snapshot!("flows_120x40", big);
    let tab_bar = line(&big, 1);
    for spec in TABS {
        // The tabs without a digit (Devices, Events) keep their short names at 120.
        let name = if spec.hotkey.is_some() {
            spec.name
        } else {
            spec.short
        };
        assert!(tab_bar.contains(name), "{name} in {tab_bar}");
    }
    for slug in FLOW_SLUGS {
        assert!(big.contains(slug), "{slug} in {big}");
    }
    assert!(big.contains("Flows (10/10)"));
    assert!(line(&big, 0).contains(STORE_PATH) && line(&big, 0).contains(SERVER_URL));
}

#[tokio::test]
async fn snapshot_dashboard() {
    let (_dir, _service, mut app) = loaded_app(false).await;
    let small = render(&mut app, 80, 24);
    insta::assert_snapshot!("dashboard_80x24", small);
    let big = render(&mut app, 120, 40);
    insta::assert_snapshot!("dashboard_120x40", big);
    assert!(big.contains("users") && big.contains("flows") && big.contains("certs expiring"));
}

#[tokio::test]
async fn snapshot_help_overlay() {
    let (_dir, _service, mut app) = loaded_app(false).await;
    press(&mut app, "2?");
    let small = render(&mut app, 80, 24);
    insta::assert_snapshot!("help_80x24", small);
    let big = render(&mut app, 120, 40);
    insta::assert_snapshot!("help_120x40", big);
    for (keys, desc) in app.help_entries() {
        assert!(big.contains(desc), "{keys}: {desc} in help");
    }
    // 80x24 cannot show every key at once: the overlay says so and scrolls to the rest.
    assert!(small.contains("j/k scroll: 1-"), "{small}");
    let last = app.help_entries().last().map(|(_, d)| *d).expect("entries");
    let cut: String = last.chars().take(20).collect();
    assert!(!small.contains(&cut), "{cut} hidden at first");
    press(&mut app, "G");
    assert_eq!(app.mode(), Mode::Help, "scrolling keeps the overlay open");
    let scrolled = render(&mut app, 80, 24);
    assert!(scrolled.contains(&cut), "{scrolled}");
}

#[tokio::test]
async fn snapshot_too_small() {
    let (_dir, _service, mut app) = loaded_app(false).await;
    let screen = render(&mut app, 59, 15);
    insta::assert_snapshot!("too_small_59x15", screen);
    assert!(screen.contains("terminal too small: 59x15, need 60x16"));
    press(&mut app, "2");
    assert_eq!(
        app.current_tab(),
        TabId::Dashboard,
        "keys except quit are ignored"
    );
    press(&mut app, "q");
    assert!(app.should_quit());
    let mut app = App::new(config(false));
    assert!(
        !render(&mut app, 60, 16).contains("too small"),
        "60x16 is enough"
    );
}

#[tokio::test]
async fn snapshot_filtered_list() {
    let (_dir, _service, mut app) = loaded_app(false).await;
    press(&mut app, "2/provider");
    let typing = render(&mut app, 80, 24);
    assert!(line(&typing, 22).contains("filter: provider_"), "{typing}");
    app.handle_key(code(KeyCode::Enter));
    let small = render(&mut app, 80, 24);
    insta::assert_snapshot!("filtered_80x24", small);
    assert!(small.contains("Flows (3/10)") && small.contains("filter: provider"));
    let big = render(&mut app, 120, 40);
    insta::assert_snapshot!("filtered_120x40", big);
    assert!(!big.contains("default-authentication-flow"));
}

#[tokio::test]
async fn narrow_terminal_collapses_tabs_and_columns() {
    let (_dir, _service, mut app) = loaded_app(false).await;
    press(&mut app, "2");
    let screen = render(&mut app, 70, 20);
    assert!(line(&screen, 1).contains("< 2 Flows (2/12) >"), "{screen}");
    assert!(
        !screen.contains("DESIGNATION"),
        "low-value column dropped: {screen}"
    );
    assert!(screen.contains("SLUG") && screen.contains("STAGES"));
    let hints = line(&screen, 19);
    assert_eq!(
        hints.split("  ").filter(|h| !h.trim().is_empty()).count(),
        4,
        "{hints}"
    );
    assert!(
        hints.contains("? help") && hints.contains("q quit"),
        "{hints}"
    );
}

// ---- live data and hostile text -----------------------------------------------------------

#[tokio::test]
async fn store_changes_refresh_the_list_and_keep_the_selection() {
    let (_dir, service, mut app) = loaded_app(false).await;
    let mut changes = service.store().subscribe();
    press(&mut app, "0");
    assert_eq!(app.selected_row().map(|r| r.title()), Some("akadmin"));

    // Another writer adds a user that sorts before the selected one.
    let mut tx = service.store().write_tx().await.expect("tx");
    store::users::insert(tx.conn(), &user("aaron"), None)
        .await
        .expect("insert");
    tx.touch(Topic::Users);
    tx.commit().await.expect("commit");
    let change = tokio::time::timeout(Duration::from_secs(5), changes.recv())
        .await
        .expect("change within 5 s")
        .expect("change");
    assert_eq!(change.topic, Topic::Users);
    app.apply_data(load(&service).await);
    let names: Vec<String> = slugs(&app);
    assert!(names.contains(&"aaron".to_string()), "{names:?}");
    assert_eq!(
        app.selected_row().map(|r| r.title()),
        Some("akadmin"),
        "selection follows the object, not the index"
    );
    assert_eq!(app.selected_index(), 1);

    // An event recorded through the service shows in the Events tab.
    service
        .context()
        .record_event(
            "login",
            EventSubject {
                username: "aaron".into(),
                client_ip: "10.0.0.7".into(),
                ..EventSubject::default()
            },
            serde_json::json!({}),
        )
        .await
        .expect("event");
    let change = tokio::time::timeout(Duration::from_secs(5), changes.recv())
        .await
        .expect("change within 5 s")
        .expect("change");
    assert_eq!(change.topic, Topic::Events);
    app.apply_data(load(&service).await);
    app.handle_key(code(KeyCode::BackTab)); // Users -> Connectors
    press(&mut app, "1");
    app.handle_key(code(KeyCode::BackTab)); // Dashboard -> Events
    assert_eq!(app.current_tab(), TabId::Events);
    let screen = render(&mut app, 120, 40);
    assert!(
        screen.contains("login") && screen.contains("aaron") && screen.contains("10.0.0.7"),
        "{screen}"
    );
}

#[tokio::test]
async fn control_and_bidi_characters_are_rendered_inert() {
    let (_dir, service, mut app) = loaded_app(false).await;
    let mut evil = user("evil\u{1b}[2Jname");
    evil.name = "\u{202e}gpj.exe".into();
    evil.email = "x\u{7}@example.com".into();
    let mut tx = service.store().write_tx().await.expect("tx");
    store::users::insert(tx.conn(), &evil, None)
        .await
        .expect("insert");
    tx.touch(Topic::Users);
    tx.commit().await.expect("commit");
    app.apply_data(load(&service).await);
    press(&mut app, "0");
    let check = |screen: &str| {
        assert!(!screen.contains('\u{1b}'), "raw ESC on screen");
        assert!(!screen.contains('\u{202e}'), "raw bidi override on screen");
        assert!(!screen.contains('\u{7}'), "raw BEL on screen");
    };
    let screen = render(&mut app, 120, 40);
    check(&screen);
    assert!(screen.contains("evil^[[2Jname"), "{screen}");
    assert!(screen.contains("\u{fffd}gpj.exe"), "{screen}");
    press(&mut app, "G");
    app.handle_key(code(KeyCode::Up)); // the last row is the group; the user is above it
    app.handle_key(code(KeyCode::Enter));
    let screen = render(&mut app, 120, 40);
    check(&screen);
    assert!(
        line(&screen, 0).contains("evil^[[2Jname"),
        "breadcrumb: {screen}"
    );
    // The filter prompt is inert too.
    app.handle_key(code(KeyCode::Esc));
    press(&mut app, "/");
    app.handle_key(code(KeyCode::Char('\u{1b}')));
    check(&render(&mut app, 80, 24));
}

#[tokio::test]
async fn events_tab_toggles_to_the_inert_server_log() {
    let (_dir, _service, mut app) = loaded_app(false).await;
    app.apply_logs(vec![
        "INFO first line".into(),
        "WARN injected \u{1b}]52;c;aGk=\u{7} end".into(),
    ]);
    app.handle_key(code(KeyCode::BackTab));
    assert_eq!(app.current_tab(), TabId::Events);
    assert!(app.hints().contains(&("L", "logs")));
    let screen = render(&mut app, 80, 24);
    // Bootstrap's own changes are the first events.
    assert!(screen.contains("model_created"), "{screen}");
    assert!(!screen.contains("Server log"), "{screen}");
    press(&mut app, "L");
    assert!(app.showing_logs());
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("Server log (2 lines"), "{screen}");
    assert!(screen.contains("INFO first line"));
    assert!(screen.contains("injected ^[]52;c;aGk=^G end"), "{screen}");
    assert!(!screen.contains('\u{1b}') && !screen.contains('\u{7}'));
    // The dashboard shows the same tail on wide terminals (beside recent events).
    press(&mut app, "1");
    assert!(render(&mut app, 150, 40).contains("INFO first line"));
    assert!(!render(&mut app, 120, 40).contains("INFO first line"));
    assert!(!render(&mut app, 80, 24).contains("INFO first line"));
}

#[tokio::test]
async fn certificate_expiry_is_coloured_by_days_left() {
    use latchkey::console::tabs::Tone;
    use ratatui::style::Color;
    let (_dir, service, _) = loaded_app(false).await;
    let base = load(&service).await;
    let not_after = base.certificates[0].not_after;
    let cases = [
        (not_after - 100 * 86_400, Tone::Ok, Color::Green),
        (not_after - 10 * 86_400, Tone::Warn, Color::Yellow),
        (not_after + 86_400, Tone::Error, Color::LightRed),
    ];
    for (now, tone, colour) in cases {
        let mut app = App::new(AppConfig {
            theme: Theme::resolve(Some("dark"), false).expect("dark"),
            ..config(false)
        });
        // A second copy of the certificate sits unselected, so its own colour shows.
        let mut certificates = base.certificates.clone();
        let mut copy = certificates[0].clone();
        copy.id = new_id();
        copy.name = "zzz-copy".into();
        certificates.push(copy);
        app.apply_data(Data {
            now,
            certificates,
            ..base.clone()
        });
        press(&mut app, "7");
        let row = app
            .visible_rows()
            .last()
            .map(|r| (*r).clone())
            .expect("the copy");
        assert_eq!(row.cells[2].tone, tone, "{}", row.cells[2].text);
        app.resize(120, 40);
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
        terminal.draw(|f| view::draw(&app, f)).expect("draw");
        let buffer = terminal.backend().buffer();
        let y = (0..40)
            .find(|&y| {
                let line: String = (0..120).map(|x| buffer[(x, y)].symbol()).collect();
                line.contains("zzz-copy")
            })
            .expect("the copy on screen");
        let line: String = (0..120).map(|x| buffer[(x, y)].symbol()).collect();
        let col = line.find(&row.cells[2].text).expect("expiry on screen");
        let x = line[..col].chars().count() as u16;
        assert_eq!(buffer[(x, y)].fg, colour, "{line}");
        if tone == Tone::Warn {
            let dash = render(&mut app, 120, 40);
            press(&mut app, "1");
            let dash_after = render(&mut app, 120, 40);
            assert!(
                !dash.contains("expires in"),
                "the cert tab is not the dashboard"
            );
            assert!(dash_after.contains("expires in 10 days"), "{dash_after}");
        }
    }
}

#[test]
fn themes_resolve_and_bad_files_name_the_key() {
    for name in ["dark", "light", "high-contrast"] {
        let theme = Theme::resolve(Some(name), false).expect(name);
        assert!(!theme.is_mono());
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[colors]\naccent = \"red\"\nslection_bg = \"blue\"\n").expect("write");
    let err = Theme::resolve(bad.to_str(), false)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("bad.toml") && err.contains("colors.slection_bg"),
        "{err}"
    );
    let missing = dir.path().join("missing.toml");
    let err = Theme::resolve(missing.to_str(), false)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("missing.toml") && err.contains("dark"),
        "{err}"
    );
    let good = dir.path().join("mine.toml");
    std::fs::write(&good, "[colors]\naccent = \"#ff8800\"\n").expect("write");
    assert!(Theme::resolve(good.to_str(), false).is_ok());
}

/// Renders with `theme` and reports whether any cell carries a colour.
fn any_colour(theme: Theme) -> bool {
    use ratatui::style::Color;
    let mut app = App::new(AppConfig {
        theme,
        ..config(false)
    });
    app.apply_data(Data::default());
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    terminal.draw(|f| view::draw(&app, f)).expect("draw");
    terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .any(|c| c.fg != Color::Reset || c.bg != Color::Reset)
}

#[test]
fn no_color_draws_without_colours() {
    assert!(any_colour(
        Theme::resolve(Some("dark"), false).expect("dark")
    ));
    assert!(!any_colour(
        Theme::resolve(Some("dark"), true).expect("dark")
    ));
}

// ---- the real binary ------------------------------------------------------------------

#[test]
fn without_a_terminal_the_console_fails_with_one_clear_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .env("LATCHKEY_BOOTSTRAP_PASSWORD", "no-tty-password")
        .arg("--db")
        .arg(dir.path().join("x.db"))
        .args(["--listen", "127.0.0.1:0", "--log-file"])
        .arg(dir.path().join("log"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("latchkey serve"), "{stderr}");
    assert!(stderr.contains("not a terminal"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout");
}

#[test]
fn a_bad_theme_file_stops_before_the_terminal_is_touched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let theme = dir.path().join("broken.toml");
    std::fs::write(&theme, "[colors]\nwarn = \"not-a-colour\"\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .env("LATCHKEY_BOOTSTRAP_PASSWORD", "theme-test-password")
        .arg("--db")
        .arg(dir.path().join("x.db"))
        .args(["--listen", "127.0.0.1:0", "--log-file"])
        .arg(dir.path().join("log"))
        .arg("--theme")
        .arg(&theme)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("broken.toml") && stderr.contains("colors.warn"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "no escape codes were written");
}

/// A tmux server of our own (its own socket), killed on drop.
pub(crate) struct Tmux {
    socket: String,
    /// The console's log file, shown when a wait times out.
    log: std::path::PathBuf,
}

impl Tmux {
    pub(crate) fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }

    pub(crate) fn run(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("run tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    pub(crate) fn capture(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "console"])
    }

    pub(crate) fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after 20 s waiting for {what}; screen:\n{screen}\nlog:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

/// Starts the real binary in a detached 120x40 tmux session named `console` over a fresh store
/// in `dir`, with `env` (`NAME=value`) added; the exit status lands in `dir/status`.
pub(crate) fn start_console(dir: &std::path::Path, env: &[&str]) -> Tmux {
    let db = dir.join("x.db");
    let log = dir.join("log");
    let args = [
        "--db".to_string(),
        db.display().to_string(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--log-file".into(),
        log.display().to_string(),
    ];
    let mut all_env = vec![
        "LATCHKEY_BOOTSTRAP_PASSWORD=tmux-test-password",
        "NO_COLOR=1",
    ];
    all_env.extend(env);
    tmux_session(dir, &args, (120, 40), &all_env)
}

/// Starts the real binary with `args` in a detached `width`x`height` tmux session named
/// `console` (its own tmux server, killed when the returned value drops), with `env` added;
/// the exit status lands in `dir/status`, and `dir/log` is shown when a wait times out.
pub(crate) fn tmux_session(
    dir: &std::path::Path,
    args: &[String],
    (width, height): (u16, u16),
    env: &[&str],
) -> Tmux {
    let available = Command::new("tmux").arg("-V").output();
    assert!(
        available.is_ok_and(|o| o.status.success()),
        "tmux is not installed: install it (e.g. `apt-get install tmux`) to run the console \
         smoke test"
    );
    let log = dir.join("log");
    // tmux sometimes loses a pane's exit status when the pty closes before the child is
    // reaped, so the shell tmux runs the command with records it in a file as well.
    let status_file = dir.join("status");
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let command = format!(
        "'{}' {}; echo $? > '{}'",
        env!("CARGO_BIN_EXE_latchkey"),
        quoted.join(" "),
        status_file.display()
    );
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let tmux = Tmux {
        socket: format!("latchkey-it-{}-{nanos}", std::process::id()),
        log,
    };
    let (w, h) = (width.to_string(), height.to_string());
    let mut cmd = vec!["new-session", "-d", "-s", "console", "-x", &w, "-y", &h];
    for e in env {
        cmd.push("-e");
        cmd.push(e);
    }
    cmd.extend([
        command.as_str(),
        ";",
        "set-option",
        "-t",
        "console",
        "remain-on-exit",
        "on",
    ]);
    tmux.run(&cmd);
    tmux
}

#[test]
fn real_binary_under_tmux_starts_switches_tabs_and_quits_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("x.db");
    let status_file = dir.path().join("status");
    let log = dir.path().join("log");
    let tmux = start_console(dir.path(), &[]);
    let screen = tmux.wait_for("the tab bar", |s| {
        s.contains("1 Dashboard") && s.contains("Dev 0 Users")
    });
    assert!(line(&screen, 0).contains("latchkey") && line(&screen, 0).contains("RW"));

    tmux.run(&["send-keys", "-t", "console", "2"]);
    let screen = tmux.wait_for("the Flows list", |s| {
        s.contains("default-authentication-flow")
    });
    assert!(screen.contains("Flows (10/10)"), "{screen}");

    // A write from another process (this test) shows up in the running console.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let other = Store::open(&StoreLocation::File(db.clone()))
            .await
            .expect("open the same store");
        let mut tx = other.write_tx().await.expect("tx");
        store::flows::insert(tx.conn(), &flow("written-by-another-process"))
            .await
            .expect("insert");
        tx.touch(Topic::Flows);
        tx.commit().await.expect("commit");
        other.close().await;
    });
    let screen = tmux.wait_for("the externally written flow", |s| {
        s.contains("written-by-another-process")
    });
    assert!(screen.contains("Flows (11/11)"), "{screen}");

    // Issue 14: `run` asks before q stops the server with the console.
    tmux.run(&["send-keys", "-t", "console", "q"]);
    tmux.wait_for("the quit confirmation", |s| s.contains("stop the server?"));
    tmux.run(&["send-keys", "-t", "console", "y"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let dead = tmux.run(&["display-message", "-p", "-t", "console", "#{pane_dead}"]);
        if dead.trim() == "1" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "latchkey did not exit within 20 s of q; screen:\n{}",
            tmux.capture()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The shell wrote latchkey's exit status once it exited.
    let status = loop {
        let status = std::fs::read_to_string(&status_file).unwrap_or_default();
        if !status.trim().is_empty() || Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status.trim(), "0", "exit status");
    let screen = tmux.capture();
    assert!(
        !screen.contains("Dashboard") && !screen.contains("default-authentication-flow"),
        "the alternate screen was left: {screen}"
    );
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        log_text.contains("server listening"),
        "logs went to the file: {log_text}"
    );
}

#[test]
fn ctrl_e_edits_a_multiline_field_in_the_editor_and_the_console_comes_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A non-interactive "editor": rewrites the file it is given.
    let editor = dir.path().join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nprintf 'return request.user.username == \"edited\"\\n' > \"$1\"\n",
    )
    .expect("write editor");
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let env = format!("EDITOR={}", editor.display());
    let tmux = start_console(dir.path(), &["VISUAL=", &env]);
    tmux.wait_for("the tab bar", |s| s.contains("1 Dashboard"));
    // Policies tab, new expression policy.
    tmux.run(&["send-keys", "-t", "console", "4", "n"]);
    let screen = tmux.wait_for("the policy type picker", |s| s.contains("Expression"));
    let down = screen
        .lines()
        .skip_while(|l| !l.contains("New: pick a type"))
        .skip(1)
        .take_while(|l| !l.contains("Expression"))
        .count();
    for _ in 0..down.saturating_sub(1) {
        tmux.run(&["send-keys", "-t", "console", "Down"]);
    }
    tmux.run(&["send-keys", "-t", "console", "Enter"]);
    tmux.wait_for("the policy form", |s| s.contains("Expression *"));
    tmux.run(&["send-keys", "-t", "console", "Tab", "Tab"]);
    tmux.wait_for("the expression focused", |s| s.contains("> Expression *"));
    tmux.run(&["send-keys", "-t", "console", "C-e"]);
    let screen = tmux.wait_for("the edited text back in the form", |s| {
        s.contains("request.user.username == \"edited\"")
    });
    assert!(screen.contains("[modified]"), "{screen}");
    // The console reads keys again: Tab moves on, Ctrl-C quits.
    tmux.run(&["send-keys", "-t", "console", "Tab"]);
    tmux.wait_for("the focus moved", |s| s.contains("> Name *"));
    tmux.run(&["send-keys", "-t", "console", "C-c"]);
    let status = dir.path().join("status");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !status.exists() {
        assert!(Instant::now() < deadline, "{}", tmux.capture());
        std::thread::sleep(Duration::from_millis(100));
    }
    let code = std::fs::read_to_string(&status).unwrap_or_default();
    assert_eq!(code.trim(), "0", "{}", tmux.capture());
}

/// Every list tab and every create form, at both sizes (timestamps pinned so the snapshots are
/// stable: events and certificate validity come from the bootstrap's real clock).
#[tokio::test]
async fn snapshot_every_list_and_every_create_form() {
    use latchkey::console::form::open;
    let (_dir, service, _) = loaded_app(false).await;
    let mut data = load(&service).await;
    for (i, e) in data.events.iter_mut().enumerate() {
        e.created_at = data.now - 60 * i as i64;
    }
    for c in &mut data.certificates {
        c.not_before = data.now - 86_400;
        c.not_after = data.now + 365 * 86_400;
        c.fingerprint_sha256 = "AB:".repeat(31) + "AB";
        c.fingerprint_sha1 = "CD:".repeat(19) + "CD";
        c.kid = "pinned-kid".into();
    }
    for u in &mut data.users {
        u.last_login = None;
    }
    for spec in TABS.iter().filter(|t| t.rows.is_some()) {
        let mut app = App::new(config(false));
        app.apply_data(data.clone());
        while app.current_tab() != spec.id {
            app.handle_key(code(KeyCode::Tab));
        }
        let name = spec.name.to_lowercase();
        insta::assert_snapshot!(format!("list_{name}_80x24"), render(&mut app, 80, 24));
        insta::assert_snapshot!(format!("list_{name}_120x40"), render(&mut app, 120, 40));
        let forms: Vec<(String, latchkey::console::form::Form)> = match open::new_choices(spec.id) {
            Some(choices) => choices
                .into_iter()
                .map(|(c, label)| (label, open::chosen_form(c, &data)))
                .collect(),
            None => open::new_form(spec.id)
                .map(|f| (spec.name.to_string(), f))
                .into_iter()
                .collect(),
        };
        for (label, mut form) in forms {
            // Generated values (client id and secret) are pinned for the snapshot.
            for key in ["client_id", "client_secret"] {
                if form.value(key).is_some() {
                    form.set_text(key, &format!("pinned-{key}"));
                }
            }
            let mut app = App::new(config(false));
            app.apply_data(data.clone());
            while app.current_tab() != spec.id {
                app.handle_key(code(KeyCode::Tab));
            }
            app.open_form_for_test(form);
            let slug: String = label
                .to_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            let big = render(&mut app, 120, 40);
            assert!(big.contains(" *"), "{label}: required fields are marked");
            insta::assert_snapshot!(format!("form_{name}_{slug}_120x40"), big);
            insta::assert_snapshot!(
                format!("form_{name}_{slug}_80x24"),
                render(&mut app, 80, 24)
            );
        }
    }
}
