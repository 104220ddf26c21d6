//! Policies (expression, group membership, password, reputation, dummy), binding options
//! (order, enabled, negate, timeout, failure_result), engine modes, and the planner's edge cases
//! (authentication requirements, evaluate_on_plan, re_evaluate_policies, denied_action,
//! invalid_response_action), plus consent modes through the executor API directly.

use std::sync::Arc;

use latchkey::context::Config;
use latchkey::context::ManualClock;
use latchkey::domain::*;
use latchkey::flows::executor::{self, Start};
use latchkey::flows::{Env, Plan, Response};
use latchkey::service::Service;
use latchkey::store;
use serde_json::{Value, json};

use crate::flows_support::*;
use crate::support::{self, ADMIN_PASSWORD, spawn_server};

/// A flow "guarded" whose only stage denies with "inside": reaching it means the flow's
/// policies passed.
async fn guarded(service: &Service) -> String {
    add_flow(
        service,
        "guarded",
        FlowAuthentication::None,
        vec![(StageKind::Deny, json!({"deny_message": "inside"}))],
    )
    .await
    .0
}

async fn outcome(base: &str) -> String {
    let v = api_get(&jar(), base, "guarded").await;
    v["error_message"].as_str().unwrap_or("").to_string()
}

async fn expr(service: &Service, name: &str, source: &str) -> String {
    add_policy(
        service,
        name,
        PolicyKind::Expression,
        json!({"expression": source}),
    )
    .await
}

#[tokio::test]
async fn flows_expression_policy_results_messages_and_fail_closed() {
    let srv = spawn_server().await;
    let flow = guarded(&srv.service).await;
    let base = &srv.base_url;
    assert_eq!(outcome(base).await, "inside", "no bindings: pass");
    let deny = expr(
        &srv.service,
        "deny-msg",
        "ak_message(\"Not today\")\nreturn False",
    )
    .await;
    bind(
        &srv.service,
        &flow,
        BindingSubject::Policy(deny.clone()),
        Opts::default(),
    )
    .await;
    assert_eq!(outcome(base).await, "Not today");
    // negate flips the result but not the message.
    let mut tx = srv.service.store().write_tx().await.unwrap();
    let mut b = store::policies::bindings_of(tx.conn(), &flow)
        .await
        .unwrap()
        .remove(0);
    b.negate = true;
    store::policies::update_binding(tx.conn(), &b)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(outcome(base).await, "inside");
    // disabled bindings are ignored.
    let mut tx = srv.service.store().write_tx().await.unwrap();
    let mut b = store::policies::bindings_of(tx.conn(), &flow)
        .await
        .unwrap()
        .remove(0);
    b.negate = false;
    b.enabled = false;
    store::policies::update_binding(tx.conn(), &b)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(outcome(base).await, "inside");
}

#[tokio::test]
async fn flows_endless_expression_is_stopped_and_fails_closed() {
    let srv = spawn_server().await;
    let flow = guarded(&srv.service).await;
    let forever = expr(&srv.service, "forever", "x = 0\nwhile True:\n    x += 1").await;
    bind(
        &srv.service,
        &flow,
        BindingSubject::Policy(forever.clone()),
        Opts::default(),
    )
    .await;
    let t = std::time::Instant::now();
    assert_eq!(
        outcome(&srv.base_url).await,
        "Flow does not apply to current user."
    );
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "stopped in {:?}",
        t.elapsed()
    );
    let ev = events_of(&srv.service, "policy_exception").await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].context["policy"], "forever");
    // failure_result = true lets an erroring policy pass.
    let flow2 = add_flow(
        &srv.service,
        "lenient",
        FlowAuthentication::None,
        vec![(StageKind::Deny, json!({"deny_message": "inside"}))],
    )
    .await
    .0;
    bind(
        &srv.service,
        &flow2,
        BindingSubject::Policy(forever),
        Opts {
            failure_result: true,
            ..Opts::default()
        },
    )
    .await;
    let v = api_get(&jar(), &srv.base_url, "lenient").await;
    assert_eq!(v["error_message"], "inside");
}

#[tokio::test]
async fn flows_policy_timeout_uses_failure_result() {
    let srv = spawn_server().await;
    let flow = guarded(&srv.service).await;
    let slow = add_policy(
        &srv.service,
        "slow",
        PolicyKind::Dummy,
        json!({"result": true, "wait_min": 3}),
    )
    .await;
    bind(
        &srv.service,
        &flow,
        BindingSubject::Policy(slow.clone()),
        Opts {
            timeout: 1,
            ..Opts::default()
        },
    )
    .await;
    assert_eq!(
        outcome(&srv.base_url).await,
        "Flow does not apply to current user."
    );
    assert_eq!(events_of(&srv.service, "policy_exception").await.len(), 1);
    let quick = add_policy(
        &srv.service,
        "quick",
        PolicyKind::Dummy,
        json!({"result": true, "wait_min": 0, "wait_max": 0}),
    )
    .await;
    let flow2 = add_flow(
        &srv.service,
        "quick",
        FlowAuthentication::None,
        vec![(StageKind::Deny, json!({"deny_message": "inside"}))],
    )
    .await
    .0;
    bind(
        &srv.service,
        &flow2,
        BindingSubject::Policy(quick),
        Opts::default(),
    )
    .await;
    assert_eq!(
        api_get(&jar(), &srv.base_url, "quick").await["error_message"],
        "inside"
    );
}

#[tokio::test]
async fn flows_engine_modes_any_and_all_with_order() {
    let srv = spawn_server().await;
    let flow = guarded(&srv.service).await;
    let yes = add_policy(
        &srv.service,
        "yes",
        PolicyKind::Dummy,
        json!({"result": true, "wait_min": 0, "wait_max": 0}),
    )
    .await;
    let no = add_policy(
        &srv.service,
        "no",
        PolicyKind::Dummy,
        json!({"result": false, "wait_min": 0, "wait_max": 0}),
    )
    .await;
    bind(
        &srv.service,
        &flow,
        BindingSubject::Policy(no),
        Opts {
            order: 0,
            ..Opts::default()
        },
    )
    .await;
    bind(
        &srv.service,
        &flow,
        BindingSubject::Policy(yes),
        Opts {
            order: 1,
            ..Opts::default()
        },
    )
    .await;
    assert_eq!(
        outcome(&srv.base_url).await,
        "inside",
        "any: one passing is enough"
    );
    edit_flow(&srv.service, "guarded", |f| {
        f.policy_engine_mode = PolicyEngineMode::All
    })
    .await;
    assert_eq!(
        outcome(&srv.base_url).await,
        "Flow does not apply to current user.",
        "all: every binding must pass"
    );
}

#[tokio::test]
async fn flows_group_user_bindings_and_group_membership_policy() {
    let srv = spawn_server().await;
    add_whoami(&srv.service).await;
    let (flow, _, _) = add_flow(
        &srv.service,
        "members",
        FlowAuthentication::RequireAuthenticated,
        vec![(StageKind::Deny, json!({"deny_message": "inside"}))],
    )
    .await;
    let admins = {
        let mut conn = srv.service.store().read().await.unwrap();
        store::groups::get_by_name(&mut conn, "authentik Admins")
            .await
            .unwrap()
            .unwrap()
    };
    let admin = admin(&srv.service).await;
    let other = add_user(&srv.service, "plain", "", "plain-password-1").await;
    let check = |user: &'static str, pw: &'static str| {
        let base = srv.base_url.clone();
        async move {
            let c = jar();
            html_login(&c, &base, user, pw).await;
            api_get(&c, &base, "members").await["error_message"]
                .as_str()
                .unwrap_or("")
                .to_string()
        }
    };
    bind(
        &srv.service,
        &flow,
        BindingSubject::Group(admins.id.clone()),
        Opts::default(),
    )
    .await;
    assert_eq!(check("akadmin", ADMIN_PASSWORD).await, "inside");
    assert_eq!(
        check("plain", "plain-password-1").await,
        "Flow does not apply to current user."
    );
    // A user binding lets `plain` in too (any).
    bind(
        &srv.service,
        &flow,
        BindingSubject::User(other.id.clone()),
        Opts {
            order: 1,
            ..Opts::default()
        },
    )
    .await;
    assert_eq!(check("plain", "plain-password-1").await, "inside");
    // Group membership policy (by name), plus an expression using ak_is_group_member.
    let (flow2, _, _) = add_flow(
        &srv.service,
        "gm",
        FlowAuthentication::RequireAuthenticated,
        vec![(StageKind::Deny, json!({"deny_message": "inside"}))],
    )
    .await;
    let gm = add_policy(
        &srv.service,
        "gm",
        PolicyKind::GroupMembership,
        json!({"group": "authentik Admins"}),
    )
    .await;
    let ex = expr(&srv.service, "gm-expr", "return ak_is_group_member(request.user, name=\"authentik Admins\") and request.user.username == \"akadmin\"").await;
    bind(
        &srv.service,
        &flow2,
        BindingSubject::Policy(gm),
        Opts::default(),
    )
    .await;
    bind(
        &srv.service,
        &flow2,
        BindingSubject::Policy(ex),
        Opts {
            order: 1,
            ..Opts::default()
        },
    )
    .await;
    edit_flow(&srv.service, "gm", |f| {
        f.policy_engine_mode = PolicyEngineMode::All
    })
    .await;
    let c = jar();
    html_login(&c, &srv.base_url, "akadmin", ADMIN_PASSWORD).await;
    assert_eq!(
        api_get(&c, &srv.base_url, "gm").await["error_message"],
        "inside"
    );
    let c = jar();
    html_login(&c, &srv.base_url, "plain", "plain-password-1").await;
    assert_eq!(
        api_get(&c, &srv.base_url, "gm").await["error_message"],
        "Flow does not apply to current user."
    );
    let _ = admin;
}

#[tokio::test]
async fn flows_reputation_policy_blocks_after_failures() {
    let srv = spawn_server().await;
    // authentik semantics: the policy passes while the score is at or below the threshold; bound
    // negated on the flow it blocks a bad reputation.
    let rep = add_policy(
        &srv.service,
        "rep",
        PolicyKind::Reputation,
        json!({"check_ip": false, "check_username": true, "threshold": -3}),
    )
    .await;
    let (_, bindings, _) = add_flow(
        &srv.service,
        "guarded-login",
        FlowAuthentication::None,
        vec![
            (
                StageKind::Identification,
                json!({"user_fields": ["username"]}),
            ),
            (
                StageKind::Password,
                json!({"failed_attempts_before_cancel": 100}),
            ),
        ],
    )
    .await;
    bind(
        &srv.service,
        &bindings[1],
        BindingSubject::Policy(rep),
        Opts {
            negate: true,
            ..Opts::default()
        },
    )
    .await;
    let base = &srv.base_url;
    let c = jar();
    api_get(&c, base, "guarded-login").await;
    let v = api_post(
        &c,
        base,
        "guarded-login",
        json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
    )
    .await;
    assert_eq!(v["component"], "ak-stage-password");
    for _ in 0..3 {
        api_post(
            &c,
            base,
            "guarded-login",
            json!({"component": "ak-stage-password", "password": "bad"}),
        )
        .await;
    }
    let c = jar();
    api_get(&c, base, "guarded-login").await;
    let v = api_post(
        &c,
        base,
        "guarded-login",
        json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
    )
    .await;
    assert_eq!(
        v["component"], "xak-flow-redirect",
        "password stage skipped for a bad reputation: {v}"
    );
    assert!(!v.to_string().contains("password"));
}

#[tokio::test]
async fn flows_planner_authentication_requirements_and_denied_actions() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    let deny = json!({"deny_message": "inside"});
    for (slug, auth) in [
        ("need-auth", FlowAuthentication::RequireAuthenticated),
        ("need-anon", FlowAuthentication::RequireUnauthenticated),
        ("need-super", FlowAuthentication::RequireSuperuser),
        ("need-redirect", FlowAuthentication::RequireRedirect),
        ("need-outpost", FlowAuthentication::RequireOutpost),
    ] {
        add_flow(
            &srv.service,
            slug,
            auth,
            vec![(StageKind::Deny, deny.clone())],
        )
        .await;
    }
    let anon = jar();
    let msg = |v: Value| v["error_message"].as_str().unwrap_or("").to_string();
    assert_eq!(
        msg(api_get(&anon, base, "need-auth").await),
        "Flow requires authentication."
    );
    assert_eq!(msg(api_get(&anon, base, "need-anon").await), "inside");
    assert_eq!(
        msg(api_get(&anon, base, "need-super").await),
        "Flow requires superuser."
    );
    assert_eq!(
        msg(api_get(&anon, base, "need-redirect").await),
        "Flow requires redirect."
    );
    let v: Value = anon
        .get(format!(
            "{}?query=next%3D%2Fback",
            api_url(base, "need-redirect")
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(msg(v), "inside");
    assert_eq!(
        msg(api_get(&anon, base, "need-outpost").await),
        "Flow requires an outpost."
    );
    let admin = jar();
    html_login(&admin, base, "akadmin", ADMIN_PASSWORD).await;
    assert_eq!(msg(api_get(&admin, base, "need-auth").await), "inside");
    assert_eq!(
        msg(api_get(&admin, base, "need-anon").await),
        "Flow requires unauthenticated user."
    );
    assert_eq!(msg(api_get(&admin, base, "need-super").await), "inside");
    let plain = add_user(&srv.service, "plain", "", "plain-password-1").await;
    let p = jar();
    html_login(&p, base, &plain.username, "plain-password-1").await;
    assert_eq!(
        msg(api_get(&p, base, "need-super").await),
        "Flow requires superuser."
    );
    // An empty flow does not apply.
    add_flow(&srv.service, "empty", FlowAuthentication::None, vec![]).await;
    assert_eq!(
        msg(api_get(&anon, base, "empty").await),
        "Flow does not apply to current user."
    );
    // denied_action: continue redirects; message_continue redirects only with next; message shows.
    edit_flow(&srv.service, "need-auth", |f| {
        f.denied_action = DeniedAction::Continue
    })
    .await;
    let v = api_get(&jar(), base, "need-auth").await;
    assert_eq!(
        v,
        json!({"component": "xak-flow-redirect", "type": "redirect", "to": "/"})
    );
    edit_flow(&srv.service, "need-auth", |f| {
        f.denied_action = DeniedAction::MessageContinue
    })
    .await;
    assert_eq!(
        api_get(&jar(), base, "need-auth").await["component"],
        "ak-stage-access-denied"
    );
    let v: Value = jar()
        .get(format!(
            "{}?query=next%3D%2Fback",
            api_url(base, "need-auth")
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["to"], "/back");
    // Unknown flows: 404, not 500.
    assert_eq!(
        jar()
            .get(api_url(base, "nope"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        jar()
            .get(flow_url(base, "nope"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn flows_evaluate_on_plan_versus_re_evaluate_policies() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    let only_admin = expr(
        &srv.service,
        "only-admin",
        "return request.user.username == \"akadmin\"",
    )
    .await;
    let (flow_id, bindings, _) = add_flow(
        &srv.service,
        "staged",
        FlowAuthentication::None,
        vec![
            (
                StageKind::Identification,
                json!({"user_fields": ["username"]}),
            ),
            (
                StageKind::Deny,
                json!({"deny_message": "admins only stage"}),
            ),
        ],
    )
    .await;
    bind(
        &srv.service,
        &bindings[1],
        BindingSubject::Policy(only_admin),
        Opts::default(),
    )
    .await;
    // re_evaluate_policies (default): evaluated just before the stage, with the pending user.
    let c = jar();
    api_get(&c, base, "staged").await;
    let v = api_post(
        &c,
        base,
        "staged",
        json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
    )
    .await;
    assert_eq!(v["error_message"], "admins only stage", "{v}");
    // evaluate_on_plan only: evaluated when planning (anonymous) -> the stage is dropped.
    edit_binding(&srv.service, &flow_id, &bindings[1], |b| {
        b.evaluate_on_plan = true;
        b.re_evaluate_policies = false;
    })
    .await;
    let c = jar();
    api_get(&c, base, "staged").await;
    let v = api_post(
        &c,
        base,
        "staged",
        json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
    )
    .await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
}

#[tokio::test]
async fn flows_invalid_response_actions_retry_restart_restart_with_context() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    let no_identifier = expr(
        &srv.service,
        "no-identifier",
        "return request.context.get(\"pending_user_identifier\") is None",
    )
    .await;
    let (flow_id, bindings, _) = add_flow(
        &srv.service,
        "irr",
        FlowAuthentication::None,
        vec![
            (
                StageKind::Identification,
                json!({"user_fields": ["username"]}),
            ),
            (
                StageKind::Password,
                json!({"failed_attempts_before_cancel": 100}),
            ),
        ],
    )
    .await;
    bind(
        &srv.service,
        &bindings[0],
        BindingSubject::Policy(no_identifier),
        Opts::default(),
    )
    .await;
    let wrong = |c: reqwest::Client| {
        let base = base.clone();
        async move {
            api_get(&c, &base, "irr").await;
            let v = api_post(
                &c,
                &base,
                "irr",
                json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
            )
            .await;
            assert_eq!(v["component"], "ak-stage-password", "{v}");
            api_post(
                &c,
                &base,
                "irr",
                json!({"component": "ak-stage-password", "password": "bad"}),
            )
            .await
        }
    };
    assert_eq!(
        wrong(jar()).await["component"],
        "ak-stage-password",
        "retry"
    );
    edit_binding(&srv.service, &flow_id, &bindings[1], |b| {
        b.invalid_response_action = InvalidResponseAction::Restart
    })
    .await;
    assert_eq!(
        wrong(jar()).await["component"],
        "ak-stage-identification",
        "restart drops the context"
    );
    edit_binding(&srv.service, &flow_id, &bindings[1], |b| {
        b.invalid_response_action = InvalidResponseAction::RestartWithContext
    })
    .await;
    let v = wrong(jar()).await;
    assert_eq!(
        v["component"], "ak-stage-password",
        "restart_with_context keeps the identifier: {v}"
    );
    assert_eq!(v["pending_user"], "akadmin");
}

async fn app(service: &Service) -> String {
    let now = service.now();
    let a = Application {
        id: new_id(),
        name: "Wiki".into(),
        slug: "wiki".into(),
        provider_id: None,
        group: String::new(),
        policy_engine_mode: PolicyEngineMode::Any,
        meta_launch_url: String::new(),
        open_in_new_tab: false,
        meta_icon: String::new(),
        meta_publisher: String::new(),
        meta_description: String::new(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = service.store().write_tx().await.unwrap();
    store::applications::insert(tx.conn(), &a).await.unwrap();
    tx.commit().await.unwrap();
    a.id
}

async fn consent_round(env: &Env, app_id: &str, answer: bool) -> Value {
    let mut slot: Option<Plan> = None;
    let start = Start {
        next: None,
        application: Some(app_id.to_string()),
        extra: Default::default(),
        allow_empty: false,
        query: Default::default(),
    };
    let step = executor::get(env, "consent", &mut slot, start)
        .await
        .unwrap();
    let v = step.challenge.to_json();
    if v["component"] != "ak-stage-consent" || !answer {
        return v;
    }
    let token = v["token"].as_str().unwrap().to_string();
    let bad = executor::post(
        env,
        "consent",
        &mut slot,
        Response::from_json(&json!({"component": "ak-stage-consent", "token": "forged"})),
    )
    .await
    .unwrap();
    assert_eq!(
        bad.challenge.to_json()["component"],
        "ak-stage-consent",
        "a forged token never consents"
    );
    let step = executor::post(
        env,
        "consent",
        &mut slot,
        Response::from_json(&json!({"component": "ak-stage-consent", "token": token})),
    )
    .await
    .unwrap();
    step.challenge.to_json()
}

#[tokio::test]
async fn flows_consent_modes() {
    let (_dir, st) = support::temp_store().await;
    let clock = Arc::new(ManualClock::new(1_800_000_000));
    let service = Service::new(st, Config::new("http://localhost"), clock.clone());
    service.bootstrap(Some(ADMIN_PASSWORD)).await.unwrap();
    let app_id = app(&service).await;
    let admin = admin(&service).await;
    let (_, _, stage_ids) = add_flow(
        &service,
        "consent",
        FlowAuthentication::RequireAuthenticated,
        vec![(
            StageKind::Consent,
            json!({"mode": "expiring", "consent_expire_in": "hours=1"}),
        )],
    )
    .await;
    let env = |now: i64| Env {
        store: service.store().clone(),
        now,
        client_ip: "127.0.0.1".into(),
        session_user: Some(admin.id.clone()),
        public_url: "http://localhost".into(),
        login_limits: Default::default(),
        smtp: None,
        hibp_url: latchkey::context::DEFAULT_HIBP_URL.into(),
        request: Default::default(),
        mode: Default::default(),
    };
    let t0 = clock_now(&clock);
    let v = consent_round(&env(t0), &app_id, true).await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
    assert_eq!(
        consent_round(&env(t0 + 10), &app_id, false).await["component"],
        "xak-flow-redirect",
        "remembered"
    );
    assert_eq!(
        consent_round(&env(t0 + 3600), &app_id, false).await["component"],
        "ak-stage-consent",
        "expired"
    );
    // permanent: remembered forever.
    let set = |mode: &str| {
        let service = service.clone();
        let id = stage_ids[0].clone();
        let mode = mode.to_string();
        async move {
            let mut tx = service.store().write_tx().await.unwrap();
            let mut s = store::stages::get(tx.conn(), &id).await.unwrap().unwrap();
            s.settings =
                latchkey::domain::StageSettings::from_json(s.kind(), &json!({"mode": mode}));
            store::stages::update(tx.conn(), &s).await.unwrap();
            tx.commit().await.unwrap();
        }
    };
    set("permanent").await;
    consent_round(&env(t0 + 4000), &app_id, true).await;
    assert_eq!(
        consent_round(&env(t0 + 100 * 86_400), &app_id, false).await["component"],
        "xak-flow-redirect"
    );
    // always_require: asked every time.
    set("always_require").await;
    assert_eq!(
        consent_round(&env(t0 + 100 * 86_400), &app_id, false).await["component"],
        "ak-stage-consent"
    );
}

fn clock_now(clock: &ManualClock) -> i64 {
    use latchkey::context::Clock;
    clock.now()
}

#[tokio::test]
async fn flows_disabled_bindings_are_skipped_and_negated_ones_inverted() {
    let srv = spawn_server().await;
    let flow = guarded(&srv.service).await;
    let no = add_policy(
        &srv.service,
        "no",
        PolicyKind::Dummy,
        json!({"result": false, "wait_min": 0, "wait_max": 0}),
    )
    .await;
    let binding = bind(
        &srv.service,
        &flow,
        BindingSubject::Policy(no),
        Opts {
            enabled: false,
            ..Opts::default()
        },
    )
    .await;
    assert_eq!(
        outcome(&srv.base_url).await,
        "inside",
        "a disabled binding is not evaluated"
    );
    edit_policy_binding(&srv.service, &binding, |b| b.enabled = true).await;
    assert_eq!(
        outcome(&srv.base_url).await,
        "Flow does not apply to current user.",
        "enabled, the failing policy denies"
    );
    edit_policy_binding(&srv.service, &binding, |b| b.negate = true).await;
    assert_eq!(
        outcome(&srv.base_url).await,
        "inside",
        "negated, the failing policy passes"
    );
}

/// Changes the policy binding `id` in the store.
async fn edit_policy_binding(
    s: &latchkey::service::Service,
    id: &str,
    change: impl FnOnce(&mut latchkey::domain::PolicyBinding),
) {
    let mut conn = s.store().read().await.expect("read");
    let objects = latchkey::store::objects::list(&mut conn, latchkey::domain::Kind::PolicyBinding)
        .await
        .expect("bindings");
    drop(conn);
    let mut obj = objects
        .into_iter()
        .find(|o| o.id() == id)
        .expect("the binding");
    if let latchkey::domain::Object::PolicyBinding(b) = &mut obj {
        change(b);
    }
    s.save(&obj, false).await.expect("saved");
}
