//! The flow inspector (`i` on a flow, `:inspect <slug>`) and the live executions (`L` in the
//! inspector, `:live` for every flow): state, snapshots at 80x24 and 120x40 (dark and
//! NO_COLOR), and a login driven over HTTP step by step while the console follows it from the
//! store, without the typed password on any frame.

use crossterm::event::KeyCode;
use latchkey::console::app::App;
use latchkey::console::inspect::ItemKind;
use latchkey::console::keymap::Mode;
use latchkey::console::tabs::TabId;
use latchkey::console::theme::Theme;
use latchkey::domain::{BindingSubject, PolicyKind};
use latchkey::service::Service;
use serde_json::json;

use crate::console_forms::{app_over, config, key, load, render, select_row, settle, typ};
use crate::console_themes::render_styled;
use crate::flows_support::{
    AUTH_FLOW, Opts, add_policy, bind, events_of, get_page, jar, post_form, spawn_clock_server,
};
use crate::support::{ADMIN_PASSWORD, bootstrapped_service};

/// The authentication flow's id and its first stage binding's id.
async fn auth_flow(service: &Service) -> (String, String) {
    let data = load(service).await;
    let flow = data
        .flows
        .iter()
        .find(|f| f.slug == AUTH_FLOW)
        .expect("flow");
    let mut bindings: Vec<_> = data
        .bindings
        .iter()
        .filter(|b| b.flow_id == flow.id)
        .collect();
    bindings.sort_by_key(|b| b.order);
    (flow.id.clone(), bindings[0].id.clone())
}

/// A store whose authentication flow has a negated expression policy on the flow and a group
/// policy on its first stage binding.
pub(crate) async fn with_policies() -> (tempfile::TempDir, Service) {
    let (dir, service) = bootstrapped_service("http://127.0.0.1:9000").await;
    let (flow, first) = auth_flow(&service).await;
    let expr = add_policy(
        &service,
        "only-internal-net",
        PolicyKind::Expression,
        json!({"expression": "ak_message(\"outside\")\nreturn ak_client_ip.is_private"}),
    )
    .await;
    bind(
        &service,
        &flow,
        BindingSubject::Policy(expr),
        Opts {
            negate: true,
            ..Opts::default()
        },
    )
    .await;
    let group = load(&service).await.groups[0].id.clone();
    bind(
        &service,
        &first,
        BindingSubject::Group(group),
        Opts {
            order: 5,
            timeout: 10,
            failure_result: true,
            ..Opts::default()
        },
    )
    .await;
    (dir, service)
}

pub(crate) fn open_inspector(app: &mut App) {
    typ(app, "2");
    select_row(app, AUTH_FLOW);
    typ(app, "i");
    assert_eq!(app.mode(), Mode::Inspect);
}

#[tokio::test]
async fn i_on_a_flow_shows_its_header_bindings_and_every_policy_on_them() {
    let (_d, service) = with_policies().await;
    let mut app = app_over(&service).await;
    open_inspector(&mut app);
    let items = app.inspector_items();
    let kinds: Vec<ItemKind> = items.iter().map(|i| i.kind).collect();
    assert_eq!(kinds[0], ItemKind::FlowPolicy, "{items:?}");
    assert_eq!(kinds[1], ItemKind::StageBinding, "{items:?}");
    assert_eq!(kinds[2], ItemKind::StagePolicy, "{items:?}");
    assert!(items[0].text.contains("only-internal-net (expression)"));
    assert!(items[0].text.contains("negate"), "{}", items[0].text);
    assert!(items[2].text.contains("group "), "{}", items[2].text);
    assert!(items[2].text.contains("timeout 10s · on error pass"));
    let screen = render(&mut app, 120, 40);
    for want in [
        "designation",
        "authentication",
        "denied action",
        "policy engine mode",
        "Flow policy bindings (1)",
        "Stage bindings",
        "identification",
    ] {
        assert!(screen.contains(want), "{want}:\n{screen}");
    }

    // The selected flow policy's pane shows the expression line by line.
    assert!(
        screen.contains("return ak_client_ip.is_private"),
        "{screen}"
    );
    // Enter on a stage binding opens the stage and its bindings; its policy is one key down.
    app.handle_key(key(KeyCode::Down));
    let pane = app.inspector_pane();
    assert_eq!(pane[0].title, "Stage");
    assert!(pane[2].title.starts_with("Policies on this binding (1)"));
    app.handle_key(key(KeyCode::Enter));
    assert!(app.inspector().is_some_and(|v| v.in_pane));
    app.handle_key(key(KeyCode::Esc));
    assert!(app.inspector().is_some_and(|v| !v.in_pane));
    typ(&mut app, "j");
    assert_eq!(app.inspector_pane()[0].title, "Policy binding");
    assert!(app.inspector_pane()[0].lines[0].1.starts_with("group "));
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::List, "esc closes the inspector");
}

#[tokio::test]
async fn inspect_command_opens_a_flow_by_slug_and_says_when_there_is_none() {
    let (_d, service) = bootstrapped_service("http://127.0.0.1:9000").await;
    let mut app = app_over(&service).await;
    typ(&mut app, ":inspect default-auth");
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.command(), "inspect default-authentication-flow");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Inspect);
    assert_eq!(app.current_tab(), TabId::Flows);
    app.handle_key(key(KeyCode::Esc));
    typ(&mut app, ":inspect nope");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::List);
    let status = app.status().expect("status").text.clone();
    assert!(status.contains("no flow with slug 'nope'"), "{status}");
    // `i` means nothing outside the Flows tab.
    typ(&mut app, "3i");
    assert_eq!(app.mode(), Mode::List);
}

#[tokio::test]
async fn the_inspector_and_its_help_are_in_the_keymap_and_read_only_keeps_them() {
    let (_d, service) = bootstrapped_service("http://127.0.0.1:9000").await;
    let mut cfg = config();
    cfg.readonly = true;
    let mut app = App::new(cfg);
    app.apply_data(load(&service).await);
    open_inspector(&mut app);
    let hints = app.hints();
    assert!(
        hints.iter().any(|(k, h)| *k == "L" && *h == "live"),
        "{hints:?}"
    );
    assert!(hints.iter().any(|(k, _)| *k == "enter"), "{hints:?}");
    typ(&mut app, "?");
    assert_eq!(app.mode(), Mode::Help);
    assert!(app.help_entries().iter().any(|(k, _)| *k == "i/L"));
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(
        app.mode(),
        Mode::Inspect,
        "help closes back to the inspector"
    );
}

async fn inspector_screens(name: &str, theme: Theme) {
    let (_d, service) = with_policies().await;
    let mut app = App::new(latchkey::console::app::AppConfig { theme, ..config() });
    app.apply_data(load(&service).await);
    open_inspector(&mut app);
    app.handle_key(key(KeyCode::Down));
    for (w, h) in [(80, 24), (120, 40)] {
        insta::assert_snapshot!(
            format!("inspector_{name}_{w}x{h}"),
            render_styled(&mut app, w, h)
        );
    }
}

#[tokio::test]
async fn snapshot_inspector_dark() {
    inspector_screens("dark", Theme::resolve(Some("dark"), false).expect("dark")).await;
}

#[tokio::test]
async fn snapshot_inspector_no_color() {
    inspector_screens(
        "no_color",
        Theme::resolve(Some("dark"), true).expect("mono"),
    )
    .await;
}

/// Reads the executions from the store as the console's tick does.
async fn tick(app: &mut App, service: &Service) {
    let executions = service.live_executions().await.expect("executions");
    app.apply_executions(executions);
}

/// Every screen the console can show of the live view right now: list and pane, both sizes.
fn frames(app: &mut App) -> Vec<String> {
    let mut out = Vec::new();
    for (w, h) in [(80, 24), (120, 40)] {
        out.push(render(app, w, h));
        app.handle_key(key(KeyCode::Enter));
        for _ in 0..30 {
            out.push(render(app, w, h));
            app.handle_key(key(KeyCode::Down));
        }
        app.handle_key(key(KeyCode::Esc));
    }
    out
}

fn assert_no_secret(frames: &[String], secrets: &[&str]) {
    for f in frames {
        for s in secrets {
            assert!(!f.contains(s), "'{s}' on screen:\n{f}");
        }
    }
}

#[tokio::test]
async fn the_live_view_follows_a_login_over_http_and_never_shows_the_password() {
    const WRONG: &str = "wrong-horse-battery-9";
    let s = spawn_clock_server(None).await;
    let mut app = app_over(&s.service).await;
    typ(&mut app, "2");
    select_row(&mut app, AUTH_FLOW);
    typ(&mut app, "i");
    typ(&mut app, "L");
    assert_eq!(app.mode(), Mode::Live);
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("No flow is being executed"), "{screen}");

    let c = jar();
    let (_, page) = get_page(&c, &s.base_url, AUTH_FLOW).await;
    tick(&mut app, &s.service).await;
    let e = app.selected_execution().expect("the execution shows");
    assert_eq!(e.flow_slug, AUTH_FLOW);
    assert_eq!(e.client_ip, "127.0.0.1");
    let at = |app: &App| {
        app.selected_execution()
            .and_then(|e| e.current_stage())
            .map(|s| s.kind.clone())
    };
    assert_eq!(at(&app).as_deref(), Some("identification"));
    typ(&mut app, "L");
    assert_eq!(
        app.live_view().and_then(|v| v.flow_slug.clone()),
        None,
        "L: every flow"
    );
    assert_eq!(app.live_executions().len(), 1);
    typ(&mut app, "L");
    assert_eq!(
        app.live_view().and_then(|v| v.flow_slug.as_deref()),
        Some(AUTH_FLOW),
        "L again: the inspected flow"
    );
    let mut all = frames(&mut app);
    assert!(
        all.iter().any(|f| f.contains("(identification) current")),
        "{}",
        all[31]
    );

    let r = post_form(
        &c,
        &s.base_url,
        AUTH_FLOW,
        &page,
        &[("uid_field", "akadmin")],
    )
    .await;
    let page = r.text().await.expect("body");
    s.clock.advance(7);
    tick(&mut app, &s.service).await;
    assert_eq!(at(&app).as_deref(), Some("password"));
    let e = app.selected_execution().expect("execution");
    assert_eq!(e.pending_user.as_deref(), Some("akadmin"));
    assert!(e.stages[0].done_at.is_some(), "{e:?}");
    let frames_now = frames(&mut app);
    assert!(
        frames_now.iter().any(|f| f.contains("akadmin (pending)")),
        "{}",
        frames_now[0]
    );
    all.extend(frames_now);

    let r = post_form(&c, &s.base_url, AUTH_FLOW, &page, &[("password", WRONG)]).await;
    let page = r.text().await.expect("body");
    tick(&mut app, &s.service).await;
    assert_eq!(
        at(&app).as_deref(),
        Some("password"),
        "a wrong password stays"
    );
    all.extend(frames(&mut app));

    let r = post_form(
        &c,
        &s.base_url,
        AUTH_FLOW,
        &page,
        &[("password", ADMIN_PASSWORD)],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    s.clock.advance(3);
    tick(&mut app, &s.service).await;
    assert!(app.selected_execution().is_none(), "the login finished");
    all.extend(frames(&mut app));
    assert_no_secret(&all, &[ADMIN_PASSWORD, WRONG]);

    // The finished execution left authentik's flow_execution event with its plan history.
    let events = events_of(&s.service, "flow_execution").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let ctx = &events[0].context;
    assert_eq!(ctx["flow"], AUTH_FLOW);
    assert_eq!(ctx["outcome"], "completed");
    let done = ctx["history"].as_array().expect("history");
    assert_eq!(done.len(), ctx["plan"].as_array().expect("plan").len());
    assert!(!ctx.to_string().contains(ADMIN_PASSWORD));
}

async fn live_screens(name: &str, theme: Theme) {
    let s = spawn_clock_server(None).await;
    let c = jar();
    let (_, page) = get_page(&c, &s.base_url, AUTH_FLOW).await;
    post_form(
        &c,
        &s.base_url,
        AUTH_FLOW,
        &page,
        &[("uid_field", "akadmin")],
    )
    .await;
    let mut app = App::new(latchkey::console::app::AppConfig { theme, ..config() });
    app.apply_data(load(&s.service).await);
    typ(&mut app, ":live");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Live);
    settle(&mut app, &s.service).await;
    for (w, h) in [(80, 24), (120, 40)] {
        insta::assert_snapshot!(
            format!("live_{name}_{w}x{h}"),
            render_styled(&mut app, w, h)
        );
    }
}

#[tokio::test]
async fn snapshot_live_dark() {
    live_screens("dark", Theme::resolve(Some("dark"), false).expect("dark")).await;
}

#[tokio::test]
async fn snapshot_live_no_color() {
    live_screens(
        "no_color",
        Theme::resolve(Some("dark"), true).expect("mono"),
    )
    .await;
}

#[tokio::test]
async fn an_execution_abandoned_in_a_session_that_expires_leaves_one_flow_execution_event() {
    let s = spawn_clock_server(None).await;
    let c = jar();
    let (_, page) = get_page(&c, &s.base_url, AUTH_FLOW).await;
    s.clock.advance(4);
    post_form(
        &c,
        &s.base_url,
        AUTH_FLOW,
        &page,
        &[("uid_field", "akadmin")],
    )
    .await;
    let retention = latchkey::store::maintenance::Retention::default();
    let run = s.service.maintain(retention).await.expect("maintain");
    assert_eq!(run.abandoned, 0, "a live execution is not abandoned");
    assert!(events_of(&s.service, "flow_execution").await.is_empty());

    // The user walks away; the session expires (idle and absolute expiry both passed).
    s.clock.advance(400 * 24 * 3600);
    let run = s.service.maintain(retention).await.expect("maintain");
    assert_eq!(run.abandoned, 1);
    assert!(
        run.swept.count("sessions") >= 1,
        "reported first, then deleted in the same run: {:?}",
        run.swept
    );
    let events = events_of(&s.service, "flow_execution").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e.client_ip, "127.0.0.1");
    assert_eq!(e.context["flow"], AUTH_FLOW);
    assert_eq!(e.context["outcome"], "abandoned");
    assert_eq!(e.context["started_at"], 1_800_000_000_i64);
    let done = e.context["history"].as_array().expect("history");
    assert_eq!(done.len(), 1, "identification passed, then left: {done:?}");
    assert!(
        e.context["plan"].as_array().expect("plan").len() > done.len(),
        "the plan shows where it was left"
    );
    assert_eq!(done[0]["at"], 1_800_000_004_i64);

    // Reported once: the next run adds nothing.
    let run = s.service.maintain(retention).await.expect("maintain");
    assert_eq!(run.abandoned, 0);
    assert_eq!(events_of(&s.service, "flow_execution").await.len(), 1);
}

#[tokio::test]
async fn an_expired_session_within_its_grace_is_reported_once_and_kept_until_the_sweep() {
    let s = spawn_clock_server(None).await;
    let c = jar();
    get_page(&c, &s.base_url, AUTH_FLOW).await;
    let retention = latchkey::store::maintenance::Retention::default();
    let expiry = latchkey::store::sessions::expired_with_plans(s.service.store(), i64::MAX, 10)
        .await
        .expect("sessions")
        .iter()
        .map(|r| r.idle_expires_at.min(r.expires_at))
        .min()
        .expect("the flow's session");
    s.clock.set(expiry + 1);
    let run = s.service.maintain(retention).await.expect("maintain");
    assert_eq!(run.abandoned, 1);
    assert_eq!(run.swept.count("sessions"), 0, "still within its grace");
    let run = s.service.maintain(retention).await.expect("maintain");
    assert_eq!(run.abandoned, 0, "its plan was claimed: not reported twice");
    s.clock.set(expiry + retention.grace + 1);
    let run = s.service.maintain(retention).await.expect("maintain");
    assert_eq!((run.abandoned, run.swept.count("sessions")), (0, 1));
    let events = events_of(&s.service, "flow_execution").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].context["outcome"], "abandoned");
    assert_eq!(events[0].context["history"], json!([]));
}
