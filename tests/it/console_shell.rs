//! Issue 14, the console's shell: state and snapshot tests of quitting in `run` and `console`,
//! keys that never fall through (tab switches from a detail, unbound keys), the tab bar at 80
//! columns, the header's server URL and health from the store's registry, messages read whole
//! (^R), a value revealed (v), the first-start message, and what `y` reports.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use latchkey::console::app::{App, AppConfig, Clip, Delivery, ServerMode};
use latchkey::console::data::Data;
use latchkey::console::first_start_message;
use latchkey::console::keymap::Mode;
use latchkey::console::tabs::{TABS, TabId, Tone};
use latchkey::context::{Health, ServerInstance};
use latchkey::service::Service;
use latchkey::service::blueprints::Source;
use latchkey::service::sessions::SessionSummary;

use crate::console_forms::{config, ctrl, fresh, key, load, render, select_row, settle, typ};

fn line(screen: &str, n: usize) -> &str {
    screen.lines().nth(n).unwrap_or_default()
}

fn status(app: &App) -> String {
    app.status().map(|s| s.text.clone()).unwrap_or_default()
}

fn in_run(app: App) -> App {
    app.with_server_mode(ServerMode::InProcess)
}

/// The message window's text as one line (wrapping and borders removed).
fn message_text(screen: &str) -> String {
    screen
        .lines()
        .map(|l| l.trim_matches(|c: char| c == '│' || c.is_whitespace()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `screen` with the detail's `id` row (a fresh UUID each run) blanked, for snapshots.
fn without_ids(screen: &str) -> String {
    screen
        .lines()
        .map(|l| match l.strip_prefix("│ id ") {
            Some(rest) => format!(
                "│ id {}",
                " ".repeat(rest.chars().count().saturating_sub(1)) + "│"
            ),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn instance(url: &str, health: Health, age: i64) -> ServerInstance {
    ServerInstance {
        id: format!("id-{url}"),
        public_url: url.into(),
        listen: "127.0.0.1:9000".into(),
        host: "idp-1".into(),
        pid: 4242,
        version: "0.1.0".into(),
        started_at: 0,
        heartbeat_age: age,
        uptime: 7_980,
        health,
    }
}

// ---- quitting -------------------------------------------------------------------------------

#[tokio::test]
async fn in_run_q_asks_first_with_cancel_focused_and_the_live_sessions() {
    let (_d, _service, app) = fresh().await;
    let mut app = in_run(app);
    typ(&mut app, "2q");
    assert_eq!(app.mode(), Mode::Quit, "q on a list asks");
    assert!(!app.should_quit());
    assert_eq!(app.quit_dialog().map(|d| d.on_quit), Some(false));
    let screen = render(&mut app, 80, 24);
    insta::assert_snapshot!("quit_dialog_80x24", screen);
    assert!(
        screen.contains("Quitting stops the server at") && screen.contains("0 live sessions"),
        "{screen}"
    );
    assert!(screen.contains("[ Cancel ]") && screen.contains("[ Quit ]"));
    insta::assert_snapshot!("quit_dialog_120x40", render(&mut app, 120, 40));
    // Enter on the focused Cancel keeps everything running.
    app.handle_key(key(KeyCode::Enter));
    assert_eq!((app.mode(), app.should_quit()), (Mode::List, false));
    typ(&mut app, "q");
    app.handle_key(key(KeyCode::Esc));
    assert_eq!((app.mode(), app.should_quit()), (Mode::List, false));
    // Tab to Quit, Enter: quits.
    typ(&mut app, "q");
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Enter));
    assert!(app.should_quit());
}

#[tokio::test]
async fn in_run_y_colon_q_and_ctrl_c_quit_and_q_in_a_detail_goes_back() {
    let (_d, _service, app) = fresh().await;
    let mut app = in_run(app);
    typ(&mut app, "q");
    typ(&mut app, "y");
    assert!(app.should_quit(), "y in the dialog quits");
    let (_d, _service, app) = fresh().await;
    let mut app = in_run(app);
    typ(&mut app, ":q");
    app.handle_key(key(KeyCode::Enter));
    assert!(app.should_quit(), ":q quits at once");
    let (_d, _service, app) = fresh().await;
    let mut app = in_run(app);
    app.handle_key(ctrl('c'));
    assert!(app.should_quit(), "Ctrl-C quits at once");
    let (_d, _service, app) = fresh().await;
    let mut app = in_run(app);
    typ(&mut app, "2");
    app.handle_key(key(KeyCode::Enter));
    typ(&mut app, "q");
    assert_eq!(app.mode(), Mode::List, "q leaves the detail first");
    assert!(!app.should_quit());
    let help: Vec<&str> = app.help_entries().iter().map(|(_, d)| *d).collect();
    assert!(help.contains(&"Back; quit (run: asks first)"), "{help:?}");
    assert!(help.contains(&"Quit at once (also :q)"), "{help:?}");
}

#[tokio::test]
async fn in_console_q_quits_at_once_and_says_nothing_about_stopping() {
    let (_d, _service, mut app) = fresh().await;
    assert_eq!(app.server_mode(), ServerMode::Elsewhere);
    typ(&mut app, "2q");
    assert!(
        app.should_quit(),
        "the server runs elsewhere: nothing to ask"
    );
    assert!(!status(&app).contains("stop"));
}

#[tokio::test]
async fn the_live_sessions_are_counted_in_the_dialog() {
    let (_d, service, app) = fresh().await;
    let mut data = load(&service).await;
    let mut app = in_run(app);
    let session = |id: &str| SessionSummary {
        id: id.into(),
        user_id: "u".into(),
        client_ip: "192.0.2.1".into(),
        user_agent: String::new(),
        created_at: 0,
        last_seen: 0,
        expires_at: i64::MAX,
    };
    data.sessions = vec![session("a"), session("b")];
    app.apply_data(data.clone());
    typ(&mut app, "q");
    assert!(app.quit_lines().join(" ").contains("2 live sessions"));
    data.sessions.truncate(1);
    app.apply_data(data);
    assert!(app.quit_lines().join(" ").contains("1 live session and"));
}

// ---- keys never fall through ----------------------------------------------------------------

#[tokio::test]
async fn five_n_from_a_detail_switches_tab_and_opens_that_tabs_form() {
    let (_d, _service, mut app) = fresh().await;
    typ(&mut app, "2");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Detail);
    typ(&mut app, "5");
    assert_eq!(app.current_tab(), TabId::Applications);
    assert_eq!(
        app.mode(),
        Mode::List,
        "a detail goes back to the new tab's list"
    );
    assert!(app.detail().is_none());
    typ(&mut app, "n");
    let title = app.form().map(|f| f.title.clone()).unwrap_or_default();
    assert!(
        app.mode() == Mode::Choose || title.contains("Application"),
        "n opens the Applications tab's form, not an edit of the flow: {title}"
    );
    assert!(!title.contains("Flow"), "{title}");
}

#[tokio::test]
async fn tab_and_digits_switch_from_detail_and_help_but_not_from_text_inputs() {
    let (_d, _service, mut app) = fresh().await;
    typ(&mut app, "2");
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(key(KeyCode::Tab));
    assert_eq!((app.current_tab(), app.mode()), (TabId::Stages, Mode::List));
    typ(&mut app, "?");
    assert_eq!(app.mode(), Mode::Help);
    typ(&mut app, "7");
    assert_eq!(
        (app.current_tab(), app.mode()),
        (TabId::Certificates, Mode::List)
    );
    app.handle_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    assert_eq!(app.current_tab(), TabId::Providers);
    // In the filter, digits are text.
    typ(&mut app, "/9");
    assert_eq!((app.current_tab(), app.filter()), (TabId::Providers, "9"));
}

#[tokio::test]
async fn an_unbound_key_does_nothing_and_says_so() {
    let (_d, _service, mut app) = fresh().await;
    typ(&mut app, "2z");
    assert_eq!(status(&app), "z: no action here — ? for help");
    assert_eq!((app.current_tab(), app.mode()), (TabId::Flows, Mode::List));
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(key(KeyCode::F(5)));
    assert_eq!(status(&app), "F5: no action here — ? for help");
    assert_eq!(app.mode(), Mode::Detail);
    // A bound key that means nothing where it is pressed says so too.
    typ(&mut app, "1n");
    assert_eq!(app.current_tab(), TabId::Dashboard);
    assert_eq!(status(&app), "n: no action here — ? for help");
    assert!(app.form().is_none());
    typ(&mut app, "2L");
    assert_eq!(status(&app), "L: no action here — ? for help");
}

#[tokio::test]
async fn every_view_footer_lists_back_help_and_quit_at_80_columns() {
    let (_d, _service, mut app) = fresh().await;
    typ(&mut app, "2");
    let list = render(&mut app, 80, 24);
    let footer = line(&list, 23);
    assert!(
        footer.contains("? help") && footer.contains("q quit") && footer.contains("/ filter"),
        "{footer}"
    );
    app.handle_key(key(KeyCode::Enter));
    let detail = render(&mut app, 80, 24);
    let footer = line(&detail, 23);
    assert!(
        footer.contains("esc back") && footer.contains("? help") && footer.contains("q quit"),
        "{footer}"
    );
    typ(&mut app, "?");
    let help = render(&mut app, 80, 24);
    assert!(line(&help, 23).contains("esc back"), "{help}");
}

// ---- the tab bar ----------------------------------------------------------------------------

#[tokio::test]
async fn all_twelve_tabs_are_named_at_80x24() {
    let (_d, _service, mut app) = fresh().await;
    assert_eq!(TABS.len(), 12);
    for (i, spec) in TABS.iter().enumerate() {
        while app.current_tab() != spec.id {
            app.handle_key(key(KeyCode::Tab));
        }
        let screen = render(&mut app, 80, 24);
        let bar = line(&screen, 1);
        for t in TABS {
            let label = match t.hotkey {
                Some(k) => format!("{k} {}", t.short),
                None => t.short.to_string(),
            };
            assert!(bar.contains(&label), "{label} in {bar:?} (tab {i})");
        }
        assert!(
            !bar.contains(">>") && !bar.contains("<<"),
            "no scrolling: {bar}"
        );
        if spec.id == TabId::Flows {
            insta::assert_snapshot!("tab_bar_80x24", screen);
        }
    }
    let wide = render(&mut app, 120, 40);
    for t in TABS {
        // The tabs without a digit (Devices, Events) keep their short names at 120.
        let name = if t.hotkey.is_some() { t.name } else { t.short };
        assert!(line(&wide, 1).contains(name), "{name} at 120");
    }
}

// ---- the header: the server's URL and health --------------------------------------------------

#[tokio::test]
async fn the_header_shows_the_serving_instance_and_its_health() {
    // `latchkey console`: no URL of its own, the registry's.
    let mut app = App::new(AppConfig {
        server_url: String::new(),
        ..config()
    });
    app.apply_data(Data::default());
    app.apply_instances(vec![]);
    let screen = render(&mut app, 120, 40);
    assert!(
        line(&screen, 0).contains("no server  (not running)"),
        "{screen}"
    );
    app.apply_instances(vec![instance("https://idp.example", Health::Live, 1)]);
    let screen = render(&mut app, 120, 40);
    assert!(
        line(&screen, 0).contains("https://idp.example live  RW"),
        "{screen}"
    );
    insta::assert_snapshot!("header_live_80x24", render(&mut app, 80, 24));
    app.apply_instances(vec![
        instance("https://idp.example", Health::Stale, 125),
        instance("https://idp2.example", Health::Live, 0),
    ]);
    let header = line(&render(&mut app, 120, 40), 0).to_string();
    assert!(
        header.contains("https://idp.example stale 2m +1"),
        "{header}"
    );
    drop(app);
    // `run`: its own URL, with its own instance's health.
    let mut run = in_run(App::new(config()));
    run.apply_instances(vec![
        instance("https://other.example", Health::Live, 0),
        instance("http://127.0.0.1:9000", Health::Live, 0),
    ]);
    let header = line(&render(&mut run, 120, 40), 0).to_string();
    assert!(header.contains("http://127.0.0.1:9000 live +1"), "{header}");
}

// ---- messages read whole --------------------------------------------------------------------

#[tokio::test]
async fn a_long_error_is_cut_on_the_status_line_and_readable_whole() {
    let (_d, service, mut app) = fresh().await;
    let long = format!(
        "/no/such/dir/{}/blueprint-at-the-end.yaml",
        "deep".repeat(40)
    );
    typ(&mut app, "2");
    typ(&mut app, &format!(":import {long}"));
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &service).await;
    let s = app.status().cloned().expect("an error");
    assert_eq!(s.tone, Tone::Error);
    let screen = render(&mut app, 80, 24);
    assert!(line(&screen, 22).contains("(^R reads all)"), "{screen}");
    assert!(!screen.contains("blueprint-at-the-end"), "cut on the line");
    app.handle_key(ctrl('r'));
    assert_eq!(app.mode(), Mode::Message);
    let screen = render(&mut app, 80, 24);
    insta::assert_snapshot!("long_error_80x24", screen);
    let text = message_text(&screen);
    assert!(
        text.replace(' ', "").contains(&long.replace(' ', "")),
        "the whole path: {text}"
    );
    typ(&mut app, "q");
    assert_eq!(app.mode(), Mode::List);
}

#[tokio::test]
async fn a_long_message_scrolls_in_its_window() {
    let (_d, _service, mut app) = fresh().await;
    let long: String = (0..60)
        .map(|i| format!("line-{i:02} of a long failure"))
        .collect::<Vec<_>>()
        .join("\n");
    app.set_status(&long.replace('\n', " "), Tone::Error);
    app.handle_key(ctrl('r'));
    let first = render(&mut app, 80, 24);
    assert!(
        first.contains("line-00") && !first.contains("line-59"),
        "{first}"
    );
    assert!(first.contains("j/k scroll: 1-"), "{first}");
    typ(&mut app, "G");
    let last = render(&mut app, 80, 24);
    assert!(
        last.contains("line-59") && !last.contains("line-00 "),
        "{last}"
    );
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::List);
}

#[tokio::test]
async fn ctrl_r_in_a_form_shows_the_focused_fields_label_and_help_whole() {
    let (_d, _service, mut app) = fresh().await;
    typ(&mut app, "2n");
    let field = app
        .form()
        .and_then(|f| f.focused())
        .map(|f| (f.spec.label, f.spec.help))
        .expect("a focused field");
    app.handle_key(ctrl('r'));
    let text = message_text(&render(&mut app, 80, 24));
    assert!(text.contains(field.0), "{text}");
    let words: Vec<&str> = field.1.split_whitespace().collect();
    assert!(text.contains(&words.join(" ")), "{text}");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Form, "back in the form");
}

#[test]
fn the_first_start_message_fits_80_columns_and_waits_to_be_acknowledged() {
    // The initial-setup URL stands in for the password earlier versions generated.
    let password = "http://127.0.0.1:9000/if/flow/initial-setup/";
    let mut app = App::new(AppConfig {
        startup_toast: Some(first_start_message(password)),
        ..config()
    });
    app.apply_data(Data::default());
    let screen = render(&mut app, 80, 24);
    insta::assert_snapshot!("first_start_80x24", screen);
    assert!(screen.contains(password), "the URL whole: {screen}");
    let text = message_text(&screen);
    assert!(text.contains("LATCHKEY_BOOTSTRAP_PASSWORD"), "{text}");
    assert!(text.contains("akadmin"), "{text}");
    for ev in [
        key(KeyCode::Char('j')),
        key(KeyCode::Char('2')),
        key(KeyCode::Char('x')),
        key(KeyCode::Tab),
    ] {
        app.handle_key(ev);
        assert!(
            render(&mut app, 80, 24).contains(password),
            "{ev:?} does not dismiss it"
        );
    }
    assert!(status(&app).contains("enter closes"), "{}", status(&app));
    app.handle_key(key(KeyCode::Enter));
    assert!(!render(&mut app, 80, 24).contains(password));
    assert_eq!(app.current_tab(), TabId::Dashboard);
}

// ---- copying and revealing ------------------------------------------------------------------

const SECRET: &str = "shell-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZ-the-end";

pub(crate) fn provider_blueprint(secret: &str) -> String {
    format!(
        r#"
version: 1
entries:
  - model: authentik_providers_oauth2.oauth2provider
    id: p
    identifiers: {{name: shell-provider}}
    attrs:
      authorization_flow: !Find [authentik_flows.flow, [slug, default-provider-authorization-implicit-consent]]
      client_id: shell-client
      client_secret: {secret}
      redirect_uris: "https://shell.example/cb"
  - model: authentik_core.application
    identifiers: {{slug: shell-app}}
    attrs:
      name: Shell app
      provider: !KeyOf p
"#
    )
}

async fn with_provider(service: &Service) {
    let sources = vec![Source {
        file: "shell.yaml".into(),
        text: provider_blueprint(SECRET),
    }];
    service.apply_blueprints(&sources).await.expect("apply");
}

#[tokio::test]
async fn ctrl_t_on_a_stored_client_secret_in_an_update_form_is_a_secret_view() {
    let (_d, service, mut app) = fresh().await;
    with_provider(&service).await;
    app.apply_data(load(&service).await);
    typ(&mut app, "6");
    select_row(&mut app, "shell-provider");
    typ(&mut app, "e");
    crate::console_forms::focus_field(&mut app, "client_secret");
    app.handle_key(ctrl('t'));
    let req = app.take_request().expect("the reveal is recorded");
    assert!(
        matches!(
            &req,
            latchkey::console::actions::Request::SecretView {
                kind: latchkey::domain::Kind::Provider,
                field: "client_secret",
                how: "reveal",
                ..
            }
        ),
        "{req:?}"
    );
    // Masking it again records nothing.
    app.handle_key(ctrl('t'));
    assert!(app.take_request().is_none());
}

#[tokio::test]
async fn y_names_what_was_sent_and_v_shows_the_secret_whole() {
    let (_d, service, mut app) = fresh().await;
    with_provider(&service).await;
    app.apply_data(load(&service).await);
    typ(&mut app, "6");
    select_row(&mut app, "shell-provider");
    app.handle_key(key(KeyCode::Enter));
    let lines = app.copy_lines();
    let id = lines
        .iter()
        .find(|l| l.label == "Client ID")
        .expect("client id line");
    assert_eq!(id.shown, "shell-client", "the client id is shown in clear");
    let secret = lines
        .iter()
        .find(|l| l.label == "Client Secret")
        .expect("secret line");
    assert!(!secret.shown.contains("shell-test-secret"), "masked");
    typ(&mut app, "G");
    typ(&mut app, "y");
    let clip = app.take_clip().expect("a copy");
    assert_eq!(
        clip,
        Clip {
            what: "the client secret".into(),
            value: SECRET.into()
        }
    );
    // Copying the secret is recorded in the audit trail (`secret_view`), without the value.
    let copied = app.take_request().expect("the copy is recorded");
    assert!(
        matches!(
            &copied,
            latchkey::console::actions::Request::SecretView {
                field: "client_secret",
                how: "copy",
                ..
            }
        ),
        "{copied:?}"
    );
    let acting = service.acting_as(latchkey::domain::Actor::local("console", "root", "box"));
    latchkey::console::actions::execute(&acting, copied).await;
    let viewed: Vec<_> = service
        .recent_events(50)
        .await
        .expect("events")
        .into_iter()
        .filter(|e| e.action == "secret_view")
        .collect();
    assert_eq!(viewed.len(), 1);
    assert_eq!(viewed[0].username, "root@box");
    assert!(!viewed[0].context.to_string().contains(SECRET));
    let n = SECRET.chars().count();
    app.clipboard_sent(&clip, &Delivery::Accepted("tmux set-clipboard on".into()));
    assert_eq!(
        status(&app),
        format!("copied the client secret (OSC 52, {n} chars)")
    );
    app.clipboard_sent(&clip, &Delivery::Unknown);
    assert_eq!(
        status(&app),
        format!("sent the client secret (OSC 52, {n} chars); not pasted? v shows it")
    );
    app.clipboard_sent(
        &clip,
        &Delivery::Dropped("tmux drops OSC 52 here (set-clipboard external)".into()),
    );
    assert_eq!(
        status(&app),
        "tmux drops OSC 52 here (set-clipboard external): v shows the client secret"
    );
    typ(&mut app, "v");
    assert_eq!(app.mode(), Mode::Message);
    assert!(matches!(
        app.take_request(),
        Some(latchkey::console::actions::Request::SecretView { how: "reveal", .. })
    ));
    let screen = render(&mut app, 80, 24);
    insta::assert_snapshot!("revealed_secret_80x24", without_ids(&screen));
    let text = message_text(&screen);
    assert!(text.replace(' ', "").contains(SECRET), "{text}");
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::Detail, "back in the provider detail");
}
