//! The inspector's dry runs from the console: `s` in the inspector (simulate), `t` on a policy
//! (test), on an application (check access) and on an OAuth2 provider (token preview). Each
//! goes form → service → result view in-process, writes nothing (every table's rows and the
//! change counters identical before and after), and its result is snapshotted at 80x24 and
//! 120x40, dark and NO_COLOR.

use crossterm::event::KeyCode;
use latchkey::console::actions::{Outcome, execute};
use latchkey::console::app::App;
use latchkey::console::dry_run::{DryRunAnswer, ResultView};
use latchkey::console::keymap::Mode;
use latchkey::console::theme::Theme;
use latchkey::domain::{BindingSubject, PolicyKind};
use latchkey::service::Service;
use latchkey::service::inspect::{PolicyTestInput, SimulationInput};
use latchkey::service::token_preview::TokenPreviewInput;
use serde_json::{Value, json};

use crate::console_forms::{
    app_over, config, ctrl, focus_field, key, load, render, select_row, typ,
};
use crate::console_inspector::{open_inspector, with_policies};
use crate::console_themes::render_styled;
use crate::flows_simulate::dump;
use crate::flows_support::{Opts, add_policy, add_user, admin, bind};
use crate::server::create_oidc_app_on;
use crate::support::bootstrapped_service;

/// Runs the app's requests like the event loop, asserting that none of them wrote anything.
async fn run_writing_nothing(app: &mut App, service: &Service) {
    let mut changes = service.store().subscribe();
    let before = dump(service).await;
    let mut ran = 0;
    while let Some(req) = app.take_request() {
        let out = execute(service, req).await;
        app.apply_outcome(out);
        ran += 1;
    }
    assert!(ran > 0, "the form made no request");
    assert_eq!(before, dump(service).await, "a dry run wrote");
    assert!(changes.try_recv().is_err(), "a dry run published a change");
}

/// Picks `name` in the focused select's picker (typing filters it).
fn pick(app: &mut App, name: &str) {
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Picker);
    typ(app, name);
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Form);
}

fn result(app: &App) -> ResultView {
    assert_eq!(app.mode(), Mode::Result, "status: {:?}", app.status());
    app.dry_run_result().expect("a result").clone()
}

fn section<'a>(v: &'a ResultView, title: &str) -> &'a [(String, String)] {
    &v.sections
        .iter()
        .find(|s| s.title.starts_with(title))
        .unwrap_or_else(|| panic!("no section {title}: {v:?}"))
        .lines
}

fn has(lines: &[(String, String)], key: &str, value_part: &str) -> bool {
    lines
        .iter()
        .any(|(k, v)| k.trim() == key && v.contains(value_part))
}

#[tokio::test]
async fn s_in_the_inspector_simulates_for_a_picked_user_and_writes_nothing() {
    let (_d, service) = with_policies().await;
    let mut app = app_over(&service).await;
    open_inspector(&mut app);
    typ(&mut app, "s");
    assert_eq!(app.mode(), Mode::Form);
    assert!(app.form().expect("form").title.contains("Simulate"));
    // Anonymous from 127.0.0.1: the negated "only-internal-net" policy on the flow denies it.
    app.handle_key(ctrl('s'));
    run_writing_nothing(&mut app, &service).await;
    let v = result(&app);
    assert!(has(section(&v, "Flow "), "result", "denied"), "{v:?}");
    let policies = section(&v, "Policies");
    assert!(
        has(
            policies,
            "policy only-internal-net",
            "not passing (negated)"
        ),
        "{policies:?}"
    );
    assert!(has(
        policies,
        "policy only-internal-net",
        "message: outside"
    ));
    typ(&mut app, "q");
    assert_eq!(app.mode(), Mode::Inspect, "q closes the result");

    // akadmin from a public address: the flow plans; n/p step through the challenges.
    typ(&mut app, "s");
    pick(&mut app, "akadm");
    focus_field(&mut app, "client_ip");
    typ(&mut app, "8.8.8.8");
    focus_field(&mut app, "context");
    typ(&mut app, "{\"note\": 1}");
    app.handle_key(ctrl('s'));
    run_writing_nothing(&mut app, &service).await;
    let v = result(&app);
    assert!(has(section(&v, "Flow "), "result", "plans"), "{v:?}");
    let plan = section(&v, "Plan");
    assert!(
        plan.iter().any(|(_, s)| s.contains("identification")),
        "{plan:?}"
    );
    assert!(!v.steps.is_empty(), "{v:?}");
    assert_eq!(v.step, 0);
    assert!(has(&v.steps[0].lines, "user sees", ""), "{:?}", v.steps[0]);
    assert!(has(&v.steps[0].lines, "challenge", "component"));
    typ(&mut app, "n");
    assert_eq!(result(&app).step, 1.min(v.steps.len() - 1));
    typ(&mut app, "p");
    assert_eq!(result(&app).step, 0);
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("Stage 1/"), "{screen}");
    app.handle_key(key(KeyCode::Esc));
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.mode(), Mode::List);
}

#[tokio::test]
async fn t_on_a_policy_tests_it_with_messages_logs_and_the_error_line() {
    let (_d, service) = bootstrapped_service("http://127.0.0.1:9000").await;
    add_policy(
        &service,
        "greets-admins",
        PolicyKind::Expression,
        json!({"expression": "ak_logger.info('checking')\nak_message('hi ' + request.user.username)\nreturn request.context.get('k') == 'v'"}),
    )
    .await;
    add_policy(
        &service,
        "raises",
        PolicyKind::Expression,
        json!({"expression": "a = 1\nb = 2\nreturn undefined_name"}),
    )
    .await;
    let mut app = app_over(&service).await;
    typ(&mut app, "4");
    select_row(&mut app, "greets-admins");
    typ(&mut app, "t");
    assert_eq!(app.mode(), Mode::Form);
    pick(&mut app, "akadmin");
    focus_field(&mut app, "context");
    typ(&mut app, "{\"k\": \"v\"}");
    app.handle_key(ctrl('s'));
    run_writing_nothing(&mut app, &service).await;
    let v = result(&app);
    assert!(has(section(&v, "Result"), "result", "passing"), "{v:?}");
    assert!(
        has(section(&v, "Messages"), "message", "hi akadmin"),
        "{v:?}"
    );
    assert!(has(section(&v, "Log output"), "log", "checking"), "{v:?}");
    typ(&mut app, "q");

    select_row(&mut app, "raises");
    typ(&mut app, "t");
    app.handle_key(ctrl('s'));
    run_writing_nothing(&mut app, &service).await;
    let v = result(&app);
    let r = section(&v, "Result");
    assert!(has(r, "result", "not passing"), "{v:?}");
    assert!(has(r, "error", ""), "{v:?}");
    assert!(has(r, "line", "3"), "{v:?}");
}

#[tokio::test]
async fn t_on_an_application_checks_access_and_names_the_deciding_binding() {
    let (_d, service) = bootstrapped_service("http://127.0.0.1:9000").await;
    add_user(&service, "plain", "plain@example.com", "plain-password-1").await;
    create_oidc_app_on(&service, "inspect-app").await;
    let only_admin = add_policy(
        &service,
        "inspect-admin",
        PolicyKind::Expression,
        json!({"expression": "return request.user.username == 'akadmin'"}),
    )
    .await;
    let app_id = load(&service)
        .await
        .applications
        .iter()
        .find(|a| a.slug == "inspect-app")
        .expect("app")
        .id
        .clone();
    bind(
        &service,
        &app_id,
        BindingSubject::Policy(only_admin),
        Opts::default(),
    )
    .await;
    let mut app = app_over(&service).await;
    typ(&mut app, "5");
    select_row(&mut app, "inspect-app");
    for (user, allowed) in [("akadmin", "yes"), ("plain", "no")] {
        typ(&mut app, "t");
        assert_eq!(app.mode(), Mode::Form);
        pick(&mut app, user);
        app.handle_key(ctrl('s'));
        run_writing_nothing(&mut app, &service).await;
        let v = result(&app);
        assert!(
            has(section(&v, "Result"), "allowed", allowed),
            "{user}: {v:?}"
        );
        assert!(
            has(section(&v, "Deciding"), "policy inspect-admin", ""),
            "{user}: {v:?}"
        );
        typ(&mut app, "q");
    }
}

#[tokio::test]
async fn t_on_a_provider_previews_the_tokens_and_userinfo() {
    let (_d, service) = bootstrapped_service("http://127.0.0.1:9000").await;
    add_user(&service, "plain", "plain@example.com", "plain-password-1").await;
    let provider = create_oidc_app_on(&service, "inspect-app").await;
    let mut app = app_over(&service).await;
    typ(&mut app, "6");
    select_row(&mut app, &provider.name);
    typ(&mut app, "t");
    assert_eq!(app.mode(), Mode::Form);
    pick(&mut app, "plain");
    app.handle_key(ctrl('s'));
    run_writing_nothing(&mut app, &service).await;
    let v = result(&app);
    assert!(
        has(section(&v, "ID token"), "aud", &provider.client_id),
        "{v:?}"
    );
    assert!(
        has(section(&v, "Access token"), "scope", "openid profile email"),
        "{v:?}"
    );
    assert!(
        has(section(&v, "Userinfo"), "email", "plain@example.com"),
        "{v:?}"
    );
}

#[tokio::test]
async fn read_only_keeps_the_dry_run_keys() {
    let (_d, service) = bootstrapped_service("http://127.0.0.1:9000").await;
    let mut cfg = config();
    cfg.readonly = true;
    let mut app = App::new(cfg);
    app.apply_data(load(&service).await);
    open_inspector(&mut app);
    assert!(
        app.hints()
            .iter()
            .any(|(k, h)| *k == "s" && *h == "simulate")
    );
    typ(&mut app, "s");
    assert_eq!(
        app.mode(),
        Mode::Form,
        "s opens the simulation read-only too"
    );
    assert!(app.hints().iter().any(|(k, h)| *k == "^S" && *h == "run"));
    app.handle_key(ctrl('s'));
    run_writing_nothing(&mut app, &service).await;
    assert!(result(&app).title.contains("Simulate"));
}

// ---- snapshots ------------------------------------------------------------------------------

/// Fixed values for what changes from run to run (ids, times, keys), so snapshots are stable.
fn stable(v: &mut Value, dynamic: &[String]) {
    match v {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if ["iat", "exp", "auth_time", "nbf"].contains(&k.as_str()) && v.is_number() {
                    *v = json!(1_767_225_600);
                } else {
                    stable(v, dynamic);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| stable(i, dynamic)),
        Value::String(s) => {
            for (i, d) in dynamic.iter().enumerate() {
                if !d.is_empty() && s.contains(d.as_str()) {
                    *s = s.replace(d.as_str(), &format!("<id-{i}>"));
                }
            }
        }
        _ => {}
    }
}

fn snap(app: &mut App, name: &str, theme_name: &str) {
    for (w, h) in [(80, 24), (120, 40)] {
        insta::assert_snapshot!(
            format!("dry_run_{name}_{theme_name}_{w}x{h}"),
            render_styled(app, w, h)
        );
    }
}

fn themed(theme: &Theme) -> App {
    App::new(latchkey::console::app::AppConfig {
        theme: theme.clone(),
        ..config()
    })
}

fn themes() -> [(&'static str, Theme); 2] {
    [
        ("dark", Theme::resolve(Some("dark"), false).expect("dark")),
        (
            "no_color",
            Theme::resolve(Some("dark"), true).expect("mono"),
        ),
    ]
}

fn show(app: &mut App, title: &str, answer: DryRunAnswer) {
    app.apply_outcome(Outcome::DryRun {
        title: title.into(),
        answer: Box::new(answer),
    });
}

#[tokio::test]
async fn snapshot_simulation_result() {
    let (_d, service) = with_policies().await;
    let data = load(&service).await;
    let admin = admin(&service).await;
    let mut sim = service
        .simulate_flow(&SimulationInput {
            flow_slug: crate::flows_support::AUTH_FLOW.into(),
            user_id: Some(admin.id.clone()),
            client_ip: "8.8.8.8".into(),
            ..SimulationInput::default()
        })
        .await
        .expect("simulate");
    let mut dynamic: Vec<String> = data.bindings.iter().map(|b| b.id.clone()).collect();
    dynamic.extend(data.policy_bindings.iter().map(|b| b.id.clone()));
    dynamic.extend(data.stages.iter().map(|s| s.id.clone()));
    dynamic.extend(data.flows.iter().map(|f| f.id.clone()));
    dynamic.push(admin.id.clone());
    for t in &mut sim.policies {
        t.elapsed_us = 42;
    }
    for d in &mut sim.dropped {
        d.by.iter_mut().for_each(|t| t.elapsed_us = 42);
    }
    for s in &mut sim.steps {
        stable(&mut s.challenge, &dynamic);
    }
    if let Some(d) = &mut sim.denial {
        d.binding_id = d.binding_id.as_ref().map(|_| "<binding>".into());
    }
    for (name, theme) in themes() {
        let mut app = themed(&theme);
        app.apply_data(data.clone());
        open_inspector(&mut app);
        show(
            &mut app,
            "Simulate default-authentication-flow",
            DryRunAnswer::Simulation(sim.clone()),
        );
        snap(&mut app, "simulation", name);
    }
}

#[tokio::test]
async fn snapshot_policy_test() {
    let (_d, service) = bootstrapped_service("http://127.0.0.1:9000").await;
    let admin = admin(&service).await;
    for (name, expression) in [
        (
            "policy_test",
            "ak_logger.info('checking the user')\nak_message('hi ' + request.user.username)\nreturn undefined_name",
        ),
        (
            "policy_test_pass",
            "ak_logger.info('checking the user')\nak_message('hi ' + request.user.username)\nreturn request.user.username == 'akadmin'",
        ),
    ] {
        let policy = add_policy(
            &service,
            name,
            PolicyKind::Expression,
            json!({ "expression": expression }),
        )
        .await;
        let mut t = service
            .test_policy(&PolicyTestInput {
                policy_id: policy,
                user_id: Some(admin.id.clone()),
                context: Value::Null,
            })
            .await
            .expect("test");
        t.elapsed_us = 1234;
        let data = load(&service).await;
        for (theme_name, theme) in themes() {
            let mut app = themed(&theme);
            app.apply_data(data.clone());
            typ(&mut app, "4");
            show(
                &mut app,
                &format!("Test policy {name}"),
                DryRunAnswer::PolicyTest(t.clone()),
            );
            snap(&mut app, name, theme_name);
        }
    }
}

#[tokio::test]
async fn snapshot_token_preview() {
    let (_d, service) = bootstrapped_service("http://127.0.0.1:9000").await;
    let user = add_user(&service, "plain", "plain@example.com", "plain-password-1").await;
    let provider = create_oidc_app_on(&service, "inspect-app").await;
    let mut p = service
        .preview_tokens(&TokenPreviewInput {
            provider_id: provider.id.clone(),
            user_id: user.id.clone(),
            scopes: vec!["openid".into(), "profile".into(), "email".into()],
        })
        .await
        .expect("preview");
    let sub = p.id_token["sub"].as_str().unwrap_or_default().to_string();
    let dynamic = vec![
        provider.client_id.clone(),
        user.id.clone(),
        sub,
        provider.id.clone(),
    ];
    for v in [&mut p.id_token, &mut p.access_token, &mut p.userinfo] {
        stable(v, &dynamic);
    }
    let data = load(&service).await;
    for (name, theme) in themes() {
        let mut app = themed(&theme);
        app.apply_data(data.clone());
        typ(&mut app, "6");
        show(
            &mut app,
            "Token preview of inspect-app provider",
            DryRunAnswer::Tokens(p.clone()),
        );
        snap(&mut app, "token_preview", name);
    }
}
