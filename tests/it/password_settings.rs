//! Issue 21 for passwords and their neighbours: the password policy's static rules, zxcvbn and
//! Have I Been Pwned checks (against a range API served here on 127.0.0.1), the password
//! stage's backends, recovery link and cancel-after-failures, TOTP setup's digits and name, and
//! the email stage's own SMTP connection, and the settings refused at save.

use std::sync::{Arc, Mutex};

use latchkey::context::{Config, SystemClock};
use latchkey::domain::*;
use latchkey::http::{self, AppState};
use latchkey::service::Service;
use latchkey::service::accounts::{NewToken, TokenIntent};
use latchkey::store;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::flows_support::*;
use crate::support::{self, ADMIN_PASSWORD, TestServer, spawn_server};

/// A server whose password policies ask the range API at `hibp_url`.
async fn spawn_with_hibp(hibp_url: &str) -> TestServer {
    let listener = http::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("addr"));
    let (dir, st) = support::temp_store().await;
    let config = Config {
        hibp_url: hibp_url.to_string(),
        ..Config::new(&base_url)
    };
    let service = Service::new(st, config, Arc::new(SystemClock));
    service
        .bootstrap(Some(ADMIN_PASSWORD))
        .await
        .expect("bootstrap");
    let cancel = CancellationToken::new();
    http::spawn_server(listener, AppState::new(service.clone()), cancel.clone());
    TestServer::from_parts(base_url, service, cancel, dir)
}

/// A fake Have I Been Pwned range API: answers `/range/<prefix>` with `lines` and keeps every
/// path it was asked, so a test sees what left the server.
async fn spawn_range_api(lines: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let seen = asked.clone();
    let app = axum::Router::new().route(
        "/range/{prefix}",
        axum::routing::get(move |uri: axum::http::Uri| {
            let seen = seen.clone();
            async move {
                seen.lock().expect("lock").push(uri.path().to_string());
                lines
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, asked)
}

/// An enrolment flow whose prompt (username, password) is validated by one password policy
/// with `settings`.
async fn enrol_flow(service: &Service, slug: &str, settings: Value) {
    let fields = vec![
        add_prompt(service, &format!("{slug}-username"), "username", 1).await,
        add_prompt(service, &format!("{slug}-password"), "password", 2).await,
    ];
    let mut settings = settings;
    settings["password_field"] = json!(format!("{slug}-password"));
    let policy = add_policy(service, slug, PolicyKind::Password, settings).await;
    add_flow(
        service,
        slug,
        FlowAuthentication::None,
        vec![
            (
                StageKind::Prompt,
                json!({"fields": fields, "validation_policies": [policy]}),
            ),
            (StageKind::Deny, json!({"deny_message": "accepted"})),
        ],
    )
    .await;
}

/// Answers the enrolment prompt with `password`: the JSON executor's answer.
async fn try_password(base: &str, slug: &str, password: &str) -> Value {
    let c = jar();
    api_get(&c, base, slug).await;
    let mut body = json!({"component": "ak-stage-prompt"});
    body[format!("{slug}-username")] = json!("newbie");
    body[format!("{slug}-password")] = json!(password);
    api_post(&c, base, slug, body).await
}

fn refusal(v: &Value) -> &str {
    v["response_errors"]["non_field_errors"][0]["string"]
        .as_str()
        .unwrap_or("")
}

fn accepted(v: &Value) -> bool {
    v["component"] == "ak-stage-access-denied" && v["error_message"] == "accepted"
}

#[tokio::test]
async fn password_policy_check_static_rules_gates_the_static_rules() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    let rules = json!({"length_min": 20, "error_message": "Too short."});
    let mut off = rules.clone();
    off["check_static_rules"] = json!(false);
    enrol_flow(&srv.service, "static-on", rules).await;
    enrol_flow(&srv.service, "static-off", off).await;
    let v = try_password(base, "static-on", "short-one").await;
    assert_eq!(refusal(&v), "Too short.", "{v}");
    let v = try_password(base, "static-off", "short-one").await;
    assert!(accepted(&v), "static rules off: {v}");
}

#[tokio::test]
async fn password_policy_zxcvbn_fails_at_or_below_the_threshold() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    enrol_flow(
        &srv.service,
        "zx",
        json!({"check_static_rules": false, "check_zxcvbn": true, "zxcvbn_score_threshold": 2}),
    )
    .await;
    let v = try_password(base, "zx", "password1").await;
    assert!(
        refusal(&v).starts_with("Password is too weak."),
        "a weak password is refused: {v}"
    );
    let v = try_password(base, "zx", "correct-horse-battery-staple-9Zq!").await;
    assert!(accepted(&v), "{v}");
    // HTML: the same refusal on the page.
    let c = jar();
    let (_, page) = get_page(&c, base, "zx").await;
    let r = post_form(
        &c,
        base,
        "zx",
        &page,
        &[("zx-username", "newbie"), ("zx-password", "password1")],
    )
    .await;
    let page = r.text().await.expect("body");
    assert!(page.contains("Password is too weak."), "{page}");
}

/// SHA-1("password") = 5BAA6 1E4C9B93F3F0682250B6CF8331B7EE68FD8.
const RANGE: &str = "0018A45C4D1DEF81644B54AB7F969B88D65:3\r\n\
                     1E4C9B93F3F0682250B6CF8331B7EE68FD8:10\r\n\
                     011053FD0102E94D6AE2F8B83D76FAF94F6:1";

#[tokio::test]
async fn password_policy_hibp_counts_the_suffix_against_the_allowed_count() {
    let (api, asked) = spawn_range_api(RANGE).await;
    let srv = spawn_with_hibp(&api).await;
    let base = &srv.base_url;
    let hibp = |allowed: i64| {
        json!({"check_static_rules": false, "check_have_i_been_pwned": true,
               "hibp_allowed_count": allowed})
    };
    enrol_flow(&srv.service, "hibp5", hibp(5)).await;
    enrol_flow(&srv.service, "hibp10", hibp(10)).await;
    let v = try_password(base, "hibp5", "password").await;
    assert_eq!(refusal(&v), "Password exists on 10 online lists.", "{v}");
    let v = try_password(base, "hibp10", "password").await;
    assert!(accepted(&v), "10 is not more than 10: {v}");
    let v = try_password(base, "hibp5", "not-in-the-range-answer").await;
    assert!(accepted(&v), "{v}");
    // Only the 5-digit prefix left the server.
    let asked = asked.lock().expect("lock").clone();
    assert_eq!(asked[0], "/range/5BAA6", "{asked:?}");
    assert!(
        asked.iter().all(|p| p.len() == "/range/".len() + 5),
        "{asked:?}"
    );
}

#[tokio::test]
async fn password_policy_hibp_unreachable_is_an_error_not_a_pass() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let srv = spawn_with_hibp(&format!("http://127.0.0.1:{port}")).await;
    let base = &srv.base_url;
    enrol_flow(
        &srv.service,
        "down",
        json!({"check_static_rules": false, "check_have_i_been_pwned": true}),
    )
    .await;
    let v = try_password(base, "down", "password").await;
    assert_eq!(v["component"], "ak-stage-prompt", "not passed: {v}");
    assert!(
        refusal(&v).contains("password check service is unreachable"),
        "{v}"
    );
    let events = events_of(&srv.service, "configuration_error").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let recorded = events[0].context.to_string();
    assert!(
        recorded.contains(&format!("127.0.0.1:{port}")),
        "{recorded}"
    );
    for secret in [
        "password\"",
        "5BAA6",
        "5baa6",
        "1E4C9B93F3F0682250B6CF8331B7EE68FD8",
    ] {
        assert!(!recorded.contains(secret), "{secret} in {recorded}");
    }
}

/// A flow asking for a username, then the password against `backends`.
async fn password_flow(service: &Service, slug: &str, settings: Value) {
    add_flow(
        service,
        slug,
        FlowAuthentication::None,
        vec![
            (
                StageKind::Identification,
                json!({"user_fields": ["username"]}),
            ),
            (StageKind::Password, settings),
            (StageKind::Deny, json!({"deny_message": "signed in"})),
        ],
    )
    .await;
}

/// Identifies `user` and answers the password stage with `password`.
async fn sign_in(base: &str, slug: &str, user: &str, password: &str) -> Value {
    let c = jar();
    api_get(&c, base, slug).await;
    api_post(
        &c,
        base,
        slug,
        json!({"component": "ak-stage-identification", "uid_field": user}),
    )
    .await;
    api_post(
        &c,
        base,
        slug,
        json!({"component": "ak-stage-password", "password": password}),
    )
    .await
}

fn signed_in(v: &Value) -> bool {
    v["error_message"] == "signed in"
}

#[tokio::test]
async fn password_stage_backends_inbuilt_and_token() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    let user = add_user(&srv.service, "apper", "", "apper-password-1").await;
    let app_password = srv
        .service
        .create_token(
            &user.id,
            &NewToken {
                intent: TokenIntent::AppPassword,
                description: "mail client".into(),
                expires_in: None,
            },
            "test",
        )
        .await
        .expect("token")
        .key;
    let api_token = srv
        .service
        .create_token(
            &user.id,
            &NewToken {
                intent: TokenIntent::Api,
                description: "script".into(),
                expires_in: None,
            },
            "test",
        )
        .await
        .expect("token")
        .key;
    password_flow(
        &srv.service,
        "inbuilt",
        json!({"backends": [INBUILT_BACKEND]}),
    )
    .await;
    password_flow(&srv.service, "token", json!({"backends": [TOKEN_BACKEND]})).await;
    password_flow(
        &srv.service,
        "both",
        json!({"backends": [INBUILT_BACKEND, TOKEN_BACKEND]}),
    )
    .await;
    assert!(signed_in(
        &sign_in(base, "inbuilt", "apper", "apper-password-1").await
    ));
    let v = sign_in(base, "inbuilt", "apper", &app_password).await;
    assert_eq!(v["component"], "ak-stage-password", "no app passwords: {v}");
    assert!(signed_in(
        &sign_in(base, "token", "apper", &app_password).await
    ));
    let v = sign_in(base, "token", "apper", "apper-password-1").await;
    assert_eq!(
        v["component"], "ak-stage-password",
        "no login password: {v}"
    );
    let v = sign_in(base, "token", "apper", &api_token).await;
    assert_eq!(
        v["component"], "ak-stage-password",
        "an API token is no app password: {v}"
    );
    let v = sign_in(base, "token", "akadmin", &app_password).await;
    assert_eq!(
        v["component"], "ak-stage-password",
        "another user's app password: {v}"
    );
    assert!(signed_in(
        &sign_in(base, "both", "apper", "apper-password-1").await
    ));
    assert!(signed_in(
        &sign_in(base, "both", "apper", &app_password).await
    ));
    // An identification stage with the token stage embedded checks its backends in one step.
    let (_, _, stages) = add_flow(
        &srv.service,
        "token-holder",
        FlowAuthentication::None,
        vec![(StageKind::Password, json!({"backends": [TOKEN_BACKEND]}))],
    )
    .await;
    add_flow(
        &srv.service,
        "onestep-token",
        FlowAuthentication::None,
        vec![
            (
                StageKind::Identification,
                json!({"user_fields": ["username"], "password_stage": stages[0]}),
            ),
            (StageKind::Deny, json!({"deny_message": "signed in"})),
        ],
    )
    .await;
    let one_step = |password: String| async move {
        let c = jar();
        api_get(&c, base, "onestep-token").await;
        api_post(
            &c,
            base,
            "onestep-token",
            json!({"component": "ak-stage-identification", "uid_field": "apper",
                   "password": password}),
        )
        .await
    };
    assert!(signed_in(&one_step(app_password.clone()).await));
    let v = one_step("apper-password-1".into()).await;
    assert_eq!(v["component"], "ak-stage-identification", "{v}");
}

#[tokio::test]
async fn password_stage_links_the_brands_recovery_flow() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    password_flow(
        &srv.service,
        "recover",
        json!({"backends": [INBUILT_BACKEND]}),
    )
    .await;
    let recovery = {
        let mut tx = srv.service.store().write_tx().await.expect("tx");
        let flow = store::flows::get_by_slug(tx.conn(), "default-recovery-flow")
            .await
            .expect("get")
            .expect("recovery flow");
        let mut brand = store::brands::list(tx.conn())
            .await
            .expect("brands")
            .into_iter()
            .find(|b| b.default)
            .expect("default brand");
        brand.flow_recovery_id = Some(flow.id.clone());
        store::brands::update(tx.conn(), &brand)
            .await
            .expect("update");
        tx.touch(store::Topic::All);
        tx.commit().await.expect("commit");
        format!("{base}/if/flow/{}/", flow.slug)
    };
    let c = jar();
    api_get(&c, base, "recover").await;
    let v = api_post(
        &c,
        base,
        "recover",
        json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
    )
    .await;
    assert_eq!(v["component"], "ak-stage-password", "{v}");
    assert_eq!(v["recovery_url"], recovery, "{v}");
    let (_, page) = get_page(&c, base, "recover").await;
    assert!(
        page.contains(&format!("id=\"recovery\" href=\"{recovery}\"")),
        "{page}"
    );
    // Without a recovery flow on the brand there is no link.
    {
        let mut tx = srv.service.store().write_tx().await.expect("tx");
        let mut brand = store::brands::list(tx.conn())
            .await
            .expect("brands")
            .into_iter()
            .find(|b| b.default)
            .expect("default brand");
        brand.flow_recovery_id = None;
        store::brands::update(tx.conn(), &brand)
            .await
            .expect("update");
        tx.touch(store::Topic::All);
        tx.commit().await.expect("commit");
    }
    let v = api_get(&c, base, "recover").await;
    assert!(v.get("recovery_url").is_none(), "{v}");
}

#[tokio::test]
async fn password_stage_cancels_the_flow_at_failed_attempts_before_cancel() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    password_flow(
        &srv.service,
        "two",
        json!({"backends": [INBUILT_BACKEND], "failed_attempts_before_cancel": 2}),
    )
    .await;
    password_flow(
        &srv.service,
        "zero",
        json!({"backends": [INBUILT_BACKEND], "failed_attempts_before_cancel": 0}),
    )
    .await;
    let c = jar();
    api_get(&c, base, "two").await;
    api_post(
        &c,
        base,
        "two",
        json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
    )
    .await;
    let wrong = json!({"component": "ak-stage-password", "password": "wrong"});
    let v = api_post(&c, base, "two", wrong.clone()).await;
    assert_eq!(v["component"], "ak-stage-password", "first failure: {v}");
    let v = api_post(&c, base, "two", wrong.clone()).await;
    assert_eq!(v["component"], "ak-stage-access-denied", "second: {v}");
    // The plan is gone: the flow starts again at identification.
    let v = api_get(&c, base, "two").await;
    assert_eq!(v["component"], "ak-stage-identification", "{v}");
    // authentik compares with >=: 0 cancels at the first failure.
    let v = sign_in(base, "zero", "akadmin", "wrong").await;
    assert_eq!(v["component"], "ak-stage-access-denied", "{v}");
}

#[tokio::test]
async fn totp_setup_uses_digits_and_friendly_name() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    add_flow(
        &srv.service,
        "totp8",
        FlowAuthentication::None,
        vec![
            (
                StageKind::Identification,
                json!({"user_fields": ["username"]}),
            ),
            (StageKind::Password, json!({"backends": [INBUILT_BACKEND]})),
            (
                StageKind::AuthenticatorTotp,
                json!({"digits": 8, "friendly_name": "Work phone"}),
            ),
            (StageKind::Deny, json!({"deny_message": "set up"})),
        ],
    )
    .await;
    let c = jar();
    let v = sign_in_with(&c, base, "totp8").await;
    assert_eq!(v["component"], "ak-stage-authenticator-totp", "{v}");
    let url = v["config_url"].as_str().expect("config_url").to_string();
    assert!(url.contains("digits=8"), "{url}");
    let secret = url
        .split("secret=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .expect("secret")
        .to_string();
    let totp = totp_rs::Builder::new()
        .with_digits(8)
        .with_secret(totp_rs::Secret::try_from_base32(&secret).expect("base32"))
        .with_account_name("akadmin".to_string())
        .build()
        .expect("totp");
    let code = totp.generate(srv.service.now() as u64).to_string();
    assert_eq!(code.len(), 8);
    // Six digits (the code's last six, which a 6-digit check would take) are refused.
    let v = api_post(
        &c,
        base,
        "totp8",
        json!({"component": "ak-stage-authenticator-totp", "code": &code[2..]}),
    )
    .await;
    assert_eq!(v["component"], "ak-stage-authenticator-totp", "{v}");
    let v = api_post(
        &c,
        base,
        "totp8",
        json!({"component": "ak-stage-authenticator-totp", "code": code}),
    )
    .await;
    assert_eq!(v["error_message"], "set up", "{v}");
    let devices = srv.service.list_authenticators().await.expect("devices");
    let names: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["Work phone"]);
}

/// Identifies akadmin and gives the right password on `slug`.
async fn sign_in_with(c: &reqwest::Client, base: &str, slug: &str) -> Value {
    api_get(c, base, slug).await;
    api_post(
        c,
        base,
        slug,
        json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
    )
    .await;
    api_post(
        c,
        base,
        slug,
        json!({"component": "ak-stage-password", "password": ADMIN_PASSWORD}),
    )
    .await
}

/// Saving through the service (what the console and blueprints do) refuses what cannot work.
#[tokio::test]
async fn saving_refuses_unusable_password_totp_and_dummy_settings() {
    let srv = spawn_server().await;
    let now = srv.service.now();
    let stage = |settings: StageSettings| {
        Object::Stage(Stage {
            id: new_id(),
            name: format!("s-{}", new_id()),
            settings,
            created_at: now,
            updated_at: now,
            version: 1,
        })
    };
    let refused = |r: Result<(), latchkey::service::ServiceError>| {
        r.expect_err("refused")
            .field_errors()
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect::<Vec<_>>()
    };
    let ldap = stage(StageSettings::Password(PasswordSettings {
        backends: vec![LDAP_BACKEND.into()],
        ..Default::default()
    }));
    let errors = refused(srv.service.save(&ldap, true).await);
    assert_eq!(errors[0].0, "backends", "{errors:?}");
    assert!(errors[0].1.contains("no LDAP source"), "{errors:?}");
    let none = stage(StageSettings::Password(PasswordSettings::default()));
    assert_eq!(
        refused(srv.service.save(&none, true).await)[0].0,
        "backends"
    );
    let ok = stage(StageSettings::Password(PasswordSettings {
        backends: vec![INBUILT_BACKEND.into(), TOKEN_BACKEND.into()],
        ..Default::default()
    }));
    srv.service.save(&ok, true).await.expect("inbuilt + token");
    let seven = stage(StageSettings::AuthenticatorTotp(
        AuthenticatorTotpSettings {
            digits: 7,
            ..Default::default()
        },
    ));
    assert_eq!(refused(srv.service.save(&seven, true).await)[0].0, "digits");
    let dummy = Object::Policy(Policy {
        id: new_id(),
        name: "backwards".into(),
        settings: PolicySettings::Dummy(DummySettings {
            result: true,
            wait_min: 3,
            wait_max: 1,
        }),
        execution_logging: false,
        created_at: now,
        updated_at: now,
        version: 1,
    });
    assert_eq!(
        refused(srv.service.save(&dummy, true).await)[0].0,
        "wait_max"
    );
}

/// authentik's `use_global_settings: false`: the email stage sends through its own host, port
/// and from address, not the server's `--smtp-url` (pointed here at a closed port).
#[tokio::test]
async fn email_stage_without_global_settings_uses_its_own_server() {
    use crate::smtp_support::{SmtpServer, free_port, smtp_config, spawn_mail_server};
    let own = SmtpServer::start().await;
    let s = spawn_mail_server(Some(smtp_config(&format!(
        "smtp://127.0.0.1:{}",
        free_port()
    ))))
    .await;
    let base = &s.base_url;
    add_user(
        &s.service,
        "mailee",
        "mailee@example.test",
        "mailee-password-1",
    )
    .await;
    let port = own
        .url()
        .rsplit(':')
        .next()
        .expect("port")
        .parse::<i64>()
        .expect("port");
    for (slug, global) in [("own-smtp", false), ("global-smtp", true)] {
        add_flow(
            &s.service,
            slug,
            FlowAuthentication::None,
            vec![
                (
                    StageKind::Identification,
                    json!({"user_fields": ["username"]}),
                ),
                (
                    StageKind::Email,
                    json!({"use_global_settings": global, "host": "127.0.0.1", "port": port,
                           "from_address": "stage@example.test", "timeout": 5,
                           "subject": "Confirm"}),
                ),
            ],
        )
        .await;
    }
    let identify = |slug: &'static str| async move {
        let c = jar();
        api_get(&c, base, slug).await;
        api_post(
            &c,
            base,
            slug,
            json!({"component": "ak-stage-identification", "uid_field": "mailee"}),
        )
        .await
    };
    let v = identify("own-smtp").await;
    assert_eq!(v["component"], "ak-stage-email", "{v}");
    let mail = &own.wait_for(1).await[0];
    assert!(mail.contains("From: stage@example.test"), "{mail}");
    assert!(mail.contains("To: mailee@example.test"), "{mail}");
    // The same stage with the global settings goes to --smtp-url, which is closed.
    let v = identify("global-smtp").await;
    assert_eq!(v["component"], "ak-stage-access-denied", "{v}");
    assert_eq!(own.messages().len(), 1);
}
