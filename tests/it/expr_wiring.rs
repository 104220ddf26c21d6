//! Issue 16's wiring: expression policies and their save-time checks speak authentik's Python.
//! The seed's `oauth_scopes` policy restricts a scope to a group; an over-limit expression fails
//! closed with a `policy_exception` event naming the policy and its expression; a syntax error
//! is refused at save with its line.

use latchkey::domain::*;
use latchkey::flows::policy::{PolicyRequest, evaluate_target};
use latchkey::flows::{Env, FlowContext};
use latchkey::service::Service;
use latchkey::store;
use serde_json::json;

use crate::flows_support::*;
use crate::support;

/// The seed's OAuth2 document's policy, completed as authentik's docs complete it.
const SCOPE_POLICY: &str = "if \"my-admin-scope\" in request.context[\"oauth_scopes\"]:\n    return ak_is_group_member(request.user, name=\"my-admin-group\")\nreturn True";

async fn passes(service: &Service, target: &str, user: &User, scopes: &[&str]) -> bool {
    let env = Env::new(service.context(), "127.0.0.1", Some(user.id.clone()));
    let mut context = FlowContext {
        application: Some(target.to_string()),
        ..FlowContext::default()
    };
    context.extra.insert("oauth_scopes".into(), json!(scopes));
    let req = PolicyRequest::load(&env, Some(&user.id), &context)
        .await
        .expect("request");
    evaluate_target(&env, target, PolicyEngineMode::Any, &req)
        .await
        .expect("evaluated")
        .passing
}

#[tokio::test]
async fn the_seed_scope_policy_admits_members_and_refuses_others() {
    let (_dir, service) = support::bootstrapped_service("http://127.0.0.1:9").await;
    let now = service.now();
    let member = admin(&service).await;
    let other = User::new_internal("other", "Other", "other@example.org", now);
    let group = Group {
        id: new_id(),
        name: "my-admin-group".into(),
        is_superuser: false,
        parent_id: None,
        attributes: json!({}),
        member_count: 0,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = service.store().write_tx().await.expect("tx");
    store::users::insert(tx.conn(), &other, None)
        .await
        .expect("user");
    store::groups::insert(tx.conn(), &group)
        .await
        .expect("group");
    store::groups::add_member(tx.conn(), &group.id, &member.id)
        .await
        .expect("member");
    tx.commit().await.expect("commit");
    let policy = add_policy(
        &service,
        "admin-scope",
        PolicyKind::Expression,
        json!({"expression": SCOPE_POLICY}),
    )
    .await;
    let app = "app-with-admin-scope";
    bind(
        &service,
        app,
        BindingSubject::Policy(policy),
        Opts::default(),
    )
    .await;
    let admin_scope = ["openid", "my-admin-scope"];
    assert!(
        passes(&service, app, &member, &admin_scope).await,
        "a member"
    );
    assert!(
        !passes(&service, app, &other, &admin_scope).await,
        "a non-member"
    );
    assert!(
        passes(&service, app, &other, &["openid"]).await,
        "without the scope"
    );
    assert!(events_of(&service, "policy_exception").await.is_empty());
}

#[tokio::test]
async fn an_over_limit_expression_fails_closed_with_an_event() {
    let (_dir, service) = support::bootstrapped_service("http://127.0.0.1:9").await;
    let user = admin(&service).await;
    let policy = add_policy(
        &service,
        "too-big",
        PolicyKind::Expression,
        json!({"expression": "x = [0] * 10**9\nreturn True"}),
    )
    .await;
    bind(
        &service,
        "app-x",
        BindingSubject::Policy(policy),
        Opts::default(),
    )
    .await;
    assert!(!passes(&service, "app-x", &user, &[]).await, "fails closed");
    let events = events_of(&service, "policy_exception").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].context["policy"], "too-big");
    assert_eq!(events[0].context["limit"], "memory limit");
    assert!(
        events[0].context["expression"]
            .as_str()
            .is_some_and(|e| e.contains("10**9"))
    );
}

#[tokio::test]
async fn a_python_syntax_error_is_refused_at_save_with_its_line() {
    let (_dir, service) = support::bootstrapped_service("http://127.0.0.1:9").await;
    let now = service.now();
    let policy = Policy {
        id: new_id(),
        name: "broken".into(),
        settings: PolicySettings::from_json(
            PolicyKind::Expression,
            &json!({"expression": "x = 1\ny = (x +)\nreturn y"}),
        ),
        execution_logging: false,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let err = service
        .save(&Object::Policy(policy), true)
        .await
        .expect_err("refused");
    let fields = err.field_errors();
    assert_eq!(fields.len(), 1, "{fields:?}");
    assert_eq!(fields[0].field, "expression");
    assert!(fields[0].message.starts_with("line 2: "), "{fields:?}");
}

/// `ak_call_policy` evaluates another stored policy for the same request, its keyword
/// arguments added to the called policy's `request.context`; a policy that calls itself ends
/// at the depth limit and fails closed with an event.
#[tokio::test]
async fn ak_call_policy_evaluates_the_named_policy_with_its_kwargs() {
    let (_dir, service) = support::bootstrapped_service("http://127.0.0.1:9").await;
    let user = admin(&service).await;
    let called = "ak_message(\"checked \" + request.user.username)\nreturn request.context.get(\"foo\") == \"bar\"";
    add_policy(
        &service,
        "is-foo",
        PolicyKind::Expression,
        json!({"expression": called}),
    )
    .await;
    let caller = |foo: &str| {
        format!(
            "r = ak_call_policy(\"is-foo\", foo=\"{foo}\")\nfor m in r.messages:\n    ak_message(m)\nreturn r.passing"
        )
    };
    for (app, foo, expected) in [("app-bar", "bar", true), ("app-baz", "baz", false)] {
        let policy = add_policy(
            &service,
            &format!("calls-{foo}"),
            PolicyKind::Expression,
            json!({"expression": caller(foo)}),
        )
        .await;
        bind(
            &service,
            app,
            BindingSubject::Policy(policy),
            Opts::default(),
        )
        .await;
        assert_eq!(
            passes(&service, app, &user, &[]).await,
            expected,
            "foo={foo}"
        );
    }
    let env = Env::new(service.context(), "127.0.0.1", Some(user.id.clone()));
    let req = PolicyRequest::load(&env, Some(&user.id), &FlowContext::default())
        .await
        .expect("request");
    let result = evaluate_target(&env, "app-bar", PolicyEngineMode::Any, &req)
        .await
        .expect("evaluated");
    assert_eq!(result.messages, vec!["checked akadmin".to_string()]);
    assert!(events_of(&service, "policy_exception").await.is_empty());

    let looping = add_policy(
        &service,
        "calls-itself",
        PolicyKind::Expression,
        json!({"expression": "return ak_call_policy(\"calls-itself\").passing"}),
    )
    .await;
    bind(
        &service,
        "app-loop",
        BindingSubject::Policy(looping),
        Opts::default(),
    )
    .await;
    assert!(
        !passes(&service, "app-loop", &user, &[]).await,
        "fails closed"
    );
    let events = events_of(&service, "policy_exception").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0].context["message"]
            .as_str()
            .is_some_and(|m| m.contains("deep")),
        "{:?}",
        events[0].context
    );
}

#[tokio::test]
async fn a_parent_groups_membership_is_inherited_by_its_childrens_members() {
    let (_dir, service) = support::bootstrapped_service("http://127.0.0.1:9").await;
    let now = service.now();
    let member = admin(&service).await;
    let group = |name: &str, parent: Option<String>, attributes: serde_json::Value| Group {
        id: new_id(),
        name: name.into(),
        is_superuser: false,
        parent_id: parent,
        attributes,
        member_count: 0,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let staff = group("staff", None, json!({"badge": "gold"}));
    let ops = group("ops", Some(staff.id.clone()), json!({}));
    let mut tx = service.store().write_tx().await.expect("tx");
    for g in [&staff, &ops] {
        store::groups::insert(tx.conn(), g).await.expect("group");
    }
    store::groups::add_member(tx.conn(), &ops.id, &member.id)
        .await
        .expect("member");
    tx.commit().await.expect("commit");
    let policy = add_policy(
        &service,
        "staff-only",
        PolicyKind::Expression,
        json!({"expression": "return ak_is_group_member(request.user, name=\"staff\") and \
                              any(g.attributes.get(\"badge\") == \"gold\" for g in request.user.all_groups())"}),
    )
    .await;
    bind(
        &service,
        "staff-app",
        BindingSubject::Policy(policy),
        Opts::default(),
    )
    .await;
    assert!(
        passes(&service, "staff-app", &member, &[]).await,
        "a member of ops is in staff, ops' parent, and sees its attributes"
    );
    // Without the parent link, the same member is not.
    let mut tx = service.store().write_tx().await.expect("tx");
    let mut orphan = ops.clone();
    orphan.parent_id = None;
    store::groups::update(tx.conn(), &orphan)
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    assert!(!passes(&service, "staff-app", &member, &[]).await);
}
