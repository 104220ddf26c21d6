//! Notifications (issue 20): rules bound to policies, evaluated by the notifier for every new
//! event, deliver through a real webhook server on 127.0.0.1:0 (axum in the test) — once, again
//! after a 500, given up after the limit with a `system_task_exception` event — and through
//! a real SMTP server; a rule bound to an event matcher on `login_failed` fires when a real
//! server gets a bad password over HTTP; two notifiers on one store deliver each event once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use latchkey::blueprint::Source;
use latchkey::context::{Config, EventSubject, SystemClock};
use latchkey::domain::{Notification, NotificationSeverity};
use latchkey::service::Service;
use latchkey::service::notify::{Notifier, NotifierSettings};
use latchkey::store::{self, Store};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::flows_support::{AUTH_FLOW, add_user, admin, api_get, api_post, events_of, jar};
use crate::smtp_support::{SmtpServer, smtp_config, spawn_mail_server};
use crate::support::{self, ADMIN_PASSWORD, bootstrapped_service};

/// A webhook receiver: every POST body in order, answered with the scripted statuses (then 200).
#[derive(Clone, Default)]
struct Hook {
    received: Arc<Mutex<Vec<Value>>>,
    statuses: Arc<Mutex<Vec<u16>>>,
}

impl Hook {
    /// Starts the receiver on 127.0.0.1:0; returns it and its URL (with a token in the query,
    /// which no event may repeat).
    async fn start(statuses: &[u16]) -> (Self, String, CancellationToken) {
        let hook = Hook::default();
        hook.statuses
            .lock()
            .expect("lock")
            .extend(statuses.iter().rev());
        let app = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(hook.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!(
            "http://{}/hook?token=hook-secret-token",
            listener.local_addr().expect("addr")
        );
        let cancel = CancellationToken::new();
        let stop = cancel.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
                .expect("serve");
        });
        (hook, url, cancel)
    }

    fn received(&self) -> Vec<Value> {
        self.received.lock().expect("lock").clone()
    }

    /// Waits (up to 10 s) until `n` bodies arrived.
    async fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{n} webhook calls expected, got {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(State(hook): State<Hook>, Json(body): Json<Value>) -> StatusCode {
    hook.received.lock().expect("lock").push(body);
    let status = hook.statuses.lock().expect("lock").pop().unwrap_or(200);
    StatusCode::from_u16(status).expect("status")
}

/// A rule on `login_failed` (an event matcher), for the group `watchers` (akadmin and bob), with
/// a webhook transport to `url` and, when given, an email transport.
fn blueprint(url: &str, email: bool) -> String {
    let email_transport = if email {
        "  - model: authentik_events.notificationtransport\n    id: mail\n    identifiers: {name: mail}\n    attrs: {mode: email}\n"
    } else {
        ""
    };
    let transports = if email {
        "[!KeyOf hook, !KeyOf mail]"
    } else {
        "[!KeyOf hook]"
    };
    format!(
        r#"version: 1
metadata: {{name: notifications}}
entries:
  - model: authentik_core.group
    id: watchers
    identifiers: {{name: watchers}}
    attrs:
      users:
        - !Find [authentik_core.user, [username, akadmin]]
        - !Find [authentik_core.user, [username, bob]]
  - model: authentik_events.notificationtransport
    id: hook
    identifiers: {{name: hook}}
    attrs: {{mode: webhook, webhook_url: "{url}"}}
{email_transport}  - model: authentik_policies_event_matcher.eventmatcherpolicy
    id: failed
    identifiers: {{name: failed-logins}}
    attrs: {{action: login_failed}}
  - model: authentik_events.notificationrule
    id: rule
    identifiers: {{name: failed-logins}}
    attrs:
      severity: alert
      destination_group: !KeyOf watchers
      transports: {transports}
  - model: authentik_policies.policybinding
    identifiers: {{target: !KeyOf rule, policy: !KeyOf failed, order: 0}}
"#
    )
}

async fn apply(service: &Service, text: String) {
    service
        .apply_blueprints(&[Source {
            file: "notifications.yaml".into(),
            text,
        }])
        .await
        .expect("blueprint");
}

/// Fast settings: a short poll, retries 50 ms apart (doubling), `attempts` tries.
fn fast(attempts: i64) -> NotifierSettings {
    NotifierSettings {
        poll_interval: Duration::from_millis(20),
        max_attempts: attempts,
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        connect_timeout: Duration::from_secs(1),
        total_timeout: Duration::from_secs(2),
        ..NotifierSettings::default()
    }
}

/// A service over a bootstrapped store with bob and the rule to `url`.
async fn setup(url: &str) -> (tempfile::TempDir, Service) {
    let (dir, service) = bootstrapped_service("http://127.0.0.1:9").await;
    add_user(&service, "bob", "bob@example.test", "bob-password-1").await;
    apply(&service, blueprint(url, false)).await;
    (dir, service)
}

async fn failed_login(service: &Service, username: &str, user_id: Option<String>) {
    service
        .context()
        .record_event(
            "login_failed",
            EventSubject {
                username: username.into(),
                user_id,
                client_ip: "192.0.2.9".into(),
                ..EventSubject::default()
            },
            json!({"stage": "password", "username": username}),
        )
        .await
        .expect("event");
}

/// Runs rounds until `done` holds (10 s at most).
async fn rounds_until(notifier: &Notifier, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "the notifier did not get there");
        notifier.round().await.expect("round");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn pending(store: &Store) -> usize {
    let mut conn = store.read().await.expect("conn");
    store::notifications::pending_deliveries(&mut conn)
        .await
        .expect("pending")
        .len()
}

async fn notifications_of(service: &Service, username: &str) -> Vec<Notification> {
    let user = {
        let mut conn = service.store().read().await.expect("conn");
        store::users::get_by_username(&mut conn, username)
            .await
            .expect("user")
            .expect("exists")
    };
    service.user_notifications(&user.id).await.expect("list")
}

/// Rounds enough for every claim, retry and delivery due now to have run.
async fn settle(notifier: &Notifier) {
    for _ in 0..5 {
        notifier.round().await.expect("round");
    }
}

#[tokio::test]
async fn a_webhook_is_delivered_once_with_authentiks_body() {
    let (hook, url, _stop) = Hook::start(&[]).await;
    let (_dir, service) = setup(&url).await;
    let admin = admin(&service).await;
    failed_login(&service, "akadmin", Some(admin.id.clone())).await;
    let notifier = Notifier::new(service.clone(), fast(3)).expect("notifier");
    rounds_until(&notifier, || hook.received().len() >= 2).await;
    settle(&notifier).await;
    let mut got = hook.received();
    assert_eq!(got.len(), 2, "one POST per member, once: {got:?}");
    got.sort_by_key(|b| b["user_username"].as_str().unwrap_or_default().to_string());
    let body = "login_failed: {\"stage\":\"password\",\"username\":\"akadmin\"}";
    assert_eq!(
        got[0],
        json!({
            "body": body, "severity": "alert",
            "user_email": admin.email, "user_username": "akadmin",
            "event_user_email": admin.email, "event_user_username": "akadmin",
        })
    );
    assert_eq!(got[1]["user_username"], "bob");
    assert_eq!(got[1]["user_email"], "bob@example.test");
    assert_eq!(pending(service.store()).await, 0);
    for who in ["akadmin", "bob"] {
        let n = notifications_of(&service, who).await;
        assert_eq!(n.len(), 1, "{who}: {n:?}");
        assert_eq!(n[0].severity, NotificationSeverity::Alert);
        assert_eq!(n[0].body, body);
        assert!(!n[0].seen);
    }
    assert!(
        events_of(&service, "system_task_exception")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_500_is_retried_with_backoff_then_delivered() {
    let (hook, url, _stop) = Hook::start(&[500, 500]).await;
    let (_dir, service) = bootstrapped_service("http://127.0.0.1:9").await;
    apply(
        &service,
        blueprint(&url, false).replace(
            "        - !Find [authentik_core.user, [username, bob]]\n",
            "",
        ),
    )
    .await;
    failed_login(&service, "akadmin", None).await;
    let notifier = Notifier::new(service.clone(), fast(5)).expect("notifier");
    let started = Instant::now();
    rounds_until(&notifier, || hook.received().len() >= 3).await;
    // Two failures: 50 ms, then 100 ms before the third attempt.
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    settle(&notifier).await;
    let got = hook.received();
    assert_eq!(got.len(), 3, "two refused, the third taken: {got:?}");
    assert!(got.iter().all(|b| b == &got[0]), "the same body each time");
    assert_eq!(pending(service.store()).await, 0);
    assert!(
        events_of(&service, "system_task_exception")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_delivery_is_given_up_after_the_limit_with_an_event() {
    let (hook, url, _stop) = Hook::start(&[500; 10]).await;
    let (_dir, service) = bootstrapped_service("http://127.0.0.1:9").await;
    apply(
        &service,
        blueprint(&url, false).replace(
            "        - !Find [authentik_core.user, [username, bob]]\n",
            "",
        ),
    )
    .await;
    failed_login(&service, "akadmin", None).await;
    let notifier = Notifier::new(service.clone(), fast(3)).expect("notifier");
    let svc = service.clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        notifier.round().await.expect("round");
        if !events_of(&svc, "system_task_exception").await.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never given up: {:?}",
            hook.received()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    settle(&notifier).await;
    assert_eq!(hook.received().len(), 3, "exactly the limit of attempts");
    assert_eq!(pending(service.store()).await, 0);
    let failures = events_of(&service, "system_task_exception").await;
    assert_eq!(failures.len(), 1, "{failures:?}");
    let e = &failures[0];
    assert_eq!(e.context["notification_transport"], "hook");
    assert_eq!(e.context["status"], 500);
    assert_eq!(e.context["attempts"], 3);
    assert!(
        e.context["message"]
            .as_str()
            .is_some_and(|m| m.contains("HTTP 500")),
        "{e:?}"
    );
    let text = serde_json::to_string(e).expect("json");
    assert!(
        !text.contains("hook-secret-token"),
        "no URL in the event: {text}"
    );
    assert!(!text.contains("/hook"), "no URL in the event: {text}");
    // The failure is an event like any other: the rule does not match it, so nothing loops.
    assert_eq!(notifications_of(&service, "akadmin").await.len(), 1);
}

#[tokio::test]
async fn a_bad_password_over_http_notifies_the_groups_members() {
    let (hook, url, _stop) = Hook::start(&[]).await;
    let srv = support::spawn_server().await;
    add_user(&srv.service, "bob", "bob@example.test", "bob-password-1").await;
    apply(&srv.service, blueprint(&url, false)).await;
    let _notifier = srv
        .service
        .spawn_notifier(fast(3), srv.cancel.clone())
        .expect("notifier");
    let c = jar();
    api_get(&c, &srv.base_url, AUTH_FLOW).await;
    let v = api_post(
        &c,
        &srv.base_url,
        AUTH_FLOW,
        json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
    )
    .await;
    assert_eq!(v["component"], "ak-stage-password", "{v}");
    let v = api_post(
        &c,
        &srv.base_url,
        AUTH_FLOW,
        json!({"component": "ak-stage-password", "password": "not-the-password"}),
    )
    .await;
    assert!(v.to_string().contains("Failed to authenticate"), "{v}");
    let got = hook.wait_for(2).await;
    let mut who: Vec<&str> = got
        .iter()
        .filter_map(|b| b["user_username"].as_str())
        .collect();
    who.sort();
    assert_eq!(who, ["akadmin", "bob"]);
    assert!(
        got.iter().all(|b| b["event_user_username"] == "akadmin"),
        "{got:?}"
    );
    for member in ["akadmin", "bob"] {
        let n = notifications_of(&srv.service, member).await;
        assert_eq!(n.len(), 1, "{member}: {n:?}");
        assert_eq!(n[0].event["action"], "login_failed");
        assert_eq!(n[0].event["context"]["username"], "akadmin");
    }
    // The right password is no event the rule matches.
    let c = jar();
    api_get(&c, &srv.base_url, AUTH_FLOW).await;
    api_post(
        &c,
        &srv.base_url,
        AUTH_FLOW,
        json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
    )
    .await;
    api_post(
        &c,
        &srv.base_url,
        AUTH_FLOW,
        json!({"component": "ak-stage-password", "password": ADMIN_PASSWORD}),
    )
    .await;
    assert!(!events_of(&srv.service, "login").await.is_empty());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hook.received().len(), 2, "a login notifies nobody");
}

#[tokio::test]
async fn two_notifiers_on_one_store_deliver_each_event_once() {
    let (hook, url, _stop) = Hook::start(&[]).await;
    let (dir, service) = setup(&url).await;
    let location = support::temp_location(dir.path()).await;
    // The second instance: its own pool on the same store, as another process would have.
    let other_store = match &location {
        store::StoreLocation::File(_) => Store::open(&location).await.expect("open"),
        _ => service.store().clone(),
    };
    let other = Service::new(
        other_store,
        Config::new("http://127.0.0.1:9"),
        Arc::new(SystemClock),
    );
    let cancel = CancellationToken::new();
    let _a = service.spawn_notifier(fast(3), cancel.clone()).expect("a");
    let _b = other.spawn_notifier(fast(3), cancel.clone()).expect("b");
    for i in 0..5 {
        failed_login(&service, &format!("guess-{i}"), None).await;
    }
    hook.wait_for(10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    cancel.cancel();
    let got = hook.received();
    assert_eq!(got.len(), 10, "5 events × 2 members, each once: {got:?}");
    for i in 0..5 {
        let n = got
            .iter()
            .filter(|b| b["event_user_username"] == format!("guess-{i}"))
            .count();
        assert_eq!(n, 2, "guess-{i}");
    }
    assert_eq!(notifications_of(&service, "bob").await.len(), 5);
}

#[tokio::test]
async fn an_expression_policy_reads_the_event_from_the_request_context() {
    let (hook, url, _stop) = Hook::start(&[]).await;
    let (_dir, service) = bootstrapped_service("http://127.0.0.1:9").await;
    let text = blueprint(&url, false)
        .replace(
            "        - !Find [authentik_core.user, [username, bob]]\n",
            "",
        )
        .replace(
            "  - model: authentik_policies_event_matcher.eventmatcherpolicy\n    id: failed\n    identifiers: {name: failed-logins}\n    attrs: {action: login_failed}\n",
            "  - model: authentik_policies_expression.expressionpolicy\n    id: failed\n    identifiers: {name: guesses}\n    attrs:\n      expression: |\n        return request.context[\"event\"][\"context\"].get(\"username\", \"\").startswith(\"guess\")\n",
        );
    apply(&service, text).await;
    failed_login(&service, "akadmin", None).await;
    failed_login(&service, "guess-1", None).await;
    let notifier = Notifier::new(service.clone(), fast(3)).expect("notifier");
    rounds_until(&notifier, || !hook.received().is_empty()).await;
    settle(&notifier).await;
    let got = hook.received();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["event_user_username"], "guess-1");
}

#[tokio::test]
async fn an_email_transport_sends_through_the_smtp_server() {
    let smtp = SmtpServer::start().await;
    let s = spawn_mail_server(Some(smtp_config(&smtp.url()))).await;
    let (hook, url, _stop) = Hook::start(&[]).await;
    let mut admin = admin(&s.service).await;
    admin.email = "akadmin@example.test".into();
    add_user(&s.service, "bob", "", "bob-password-1").await;
    apply(&s.service, blueprint(&url, true)).await;
    {
        let mut tx = s.service.store().write_tx().await.expect("tx");
        store::users::update(tx.conn(), &admin)
            .await
            .expect("email");
        tx.commit().await.expect("commit");
    }
    failed_login(&s.service, "akadmin", Some(admin.id.clone())).await;
    let notifier = Notifier::new(s.service.clone(), fast(3)).expect("notifier");
    rounds_until(&notifier, || hook.received().len() >= 2).await;
    let messages = smtp.wait_for(1).await;
    settle(&notifier).await;
    assert_eq!(smtp.messages().len(), 1, "bob has no address: skipped");
    let m = &messages[0];
    assert!(m.contains("akadmin@example.test"), "{m}");
    assert!(m.contains("authentik Notification: login_failed"), "{m}");
    assert_eq!(pending(s.service.store()).await, 0);
}

#[tokio::test]
async fn the_console_user_detail_lists_what_the_user_received() {
    use crossterm::event::KeyCode;
    use latchkey::console::app::AccountSection;
    use latchkey::console::keymap::Mode;

    use crate::console_forms::{app_over, key, render, typ};

    let (hook, url, _stop) = Hook::start(&[]).await;
    let (_dir, service) = setup(&url).await;
    failed_login(&service, "mallory", None).await;
    let notifier = Notifier::new(service.clone(), fast(3)).expect("notifier");
    rounds_until(&notifier, || hook.received().len() >= 2).await;
    let mut app = app_over(&service).await;
    typ(&mut app, "0");
    app.handle_key(key(KeyCode::Home));
    for _ in 0..50 {
        if app.selected_row().map(|r| r.cells[0].text.as_str()) == Some("bob") {
            break;
        }
        app.handle_key(key(KeyCode::Down));
    }
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Detail);
    let lines = app.account_lines();
    assert_eq!(
        lines.iter().map(|l| l.section).collect::<Vec<_>>(),
        [AccountSection::Notification]
    );
    let screen = render(&mut app, 140, 40);
    assert!(screen.contains("Notifications received (1)"), "{screen}");
    assert!(
        screen.contains("* alert") && screen.contains("login_failed: {\"stage\":\"password\""),
        "{screen}"
    );
}

#[tokio::test]
async fn the_events_user_receives_it_and_send_once_posts_for_the_first_recipient_only() {
    let (hook, url, _stop) = Hook::start(&[]).await;
    let (_dir, service) = bootstrapped_service("http://127.0.0.1:9").await;
    let bob = add_user(&service, "bob", "bob@example.test", "bob-password-1").await;
    add_user(&service, "carol", "carol@example.test", "carol-password-1").await;
    let text = blueprint(&url, false)
        .replace(
            "        - !Find [authentik_core.user, [username, akadmin]]\n",
            "        - !Find [authentik_core.user, [username, carol]]\n",
        )
        .replace(
            "attrs: {mode: webhook, webhook_url: ",
            "attrs: {mode: webhook, send_once: true, webhook_url: ",
        )
        .replace(
            "      destination_group: !KeyOf watchers\n",
            "      destination_group: !KeyOf watchers\n      destination_event_user: true\n",
        );
    apply(&service, text).await;
    // Bob is both the event's user and a member: one notification; carol is the other.
    failed_login(&service, "bob", Some(bob.id.clone())).await;
    let notifier = Notifier::new(service.clone(), fast(3)).expect("notifier");
    rounds_until(&notifier, || !hook.received().is_empty()).await;
    settle(&notifier).await;
    let got = hook.received();
    assert_eq!(got.len(), 1, "send_once: one POST for the event: {got:?}");
    assert_eq!(
        got[0]["user_username"], "bob",
        "the event's user comes first"
    );
    assert_eq!(notifications_of(&service, "bob").await.len(), 1);
    assert_eq!(notifications_of(&service, "carol").await.len(), 1);
    assert!(notifications_of(&service, "akadmin").await.is_empty());
}

#[tokio::test]
async fn an_unreachable_webhook_is_given_up_saying_it_cannot_connect() {
    // A port nothing listens on.
    let port = crate::smtp_support::free_port();
    let (_dir, service) = bootstrapped_service("http://127.0.0.1:9").await;
    let url = format!("http://127.0.0.1:{port}/hook?token=hook-secret-token");
    apply(
        &service,
        blueprint(&url, false).replace(
            "        - !Find [authentik_core.user, [username, bob]]\n",
            "",
        ),
    )
    .await;
    failed_login(&service, "akadmin", None).await;
    let notifier = Notifier::new(service.clone(), fast(2)).expect("notifier");
    let deadline = Instant::now() + Duration::from_secs(10);
    let failure = loop {
        notifier.round().await.expect("round");
        if let Some(e) = events_of(&service, "system_task_exception").await.pop() {
            break e;
        }
        assert!(Instant::now() < deadline, "never given up");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let message = failure.context["message"].as_str().unwrap_or_default();
    assert!(message.contains("cannot connect"), "{message}");
    assert!(failure.context["status"].is_null());
    assert!(!failure.context.to_string().contains("hook-secret-token"));
}

#[tokio::test]
async fn the_policy_tester_matches_an_event_given_in_its_context_and_fails_without_one() {
    use latchkey::service::inspect::PolicyTestInput;

    let (_dir, service) = setup("http://127.0.0.1:9/hook").await;
    let policy = service
        .list_policies()
        .await
        .expect("policies")
        .into_iter()
        .find(|p| p.name == "failed-logins")
        .expect("the event matcher");
    let test = |context: Value| PolicyTestInput {
        policy_id: policy.id.clone(),
        user_id: None,
        context,
    };
    let hit = service
        .test_policy(&test(json!({"event": {"action": "login_failed"}})))
        .await
        .expect("test");
    assert!(hit.passing, "{hit:?}");
    assert_eq!(hit.messages, ["Action matched."]);
    let miss = service
        .test_policy(&test(json!({"event": {"action": "login"}})))
        .await
        .expect("test");
    assert!(!miss.passing, "{miss:?}");
    let none = service.test_policy(&test(Value::Null)).await.expect("test");
    assert!(!none.passing);
    assert_eq!(none.messages, ["No event in the request context."]);
}
