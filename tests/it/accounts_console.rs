//! The admin's care of accounts in the console's user detail (issue 19): app passwords made
//! with `T` work at the token endpoint's password and client_credentials grants and stop when
//! revoked with `R`; an API token is shown once and stored only as a digest; `M` resets MFA so
//! the old factors fail. State-level over a real server, and the real binary under tmux.

use std::time::{Duration, Instant};

use crossterm::event::KeyCode;
use latchkey::console::app::{AccountSection, App};
use latchkey::console::keymap::Mode;
use latchkey::console::tabs::TabId;
use latchkey::crypto::secrets;
use latchkey::domain::*;
use latchkey::service::Service;
use latchkey::store::{self, Topic};
use serde_json::{Value, json};

use crate::console::start_console;
use crate::console_forms::{app_over, ctrl, key, settle, typ};
use crate::flows_support::*;
use crate::server::create_oidc_app_on;
use crate::support::{oauth_post, spawn_server};

const BOB_PASSWORD: &str = "bob-login-password-1";

/// Opens the users-tab row whose first cell is `name`.
fn open_user(app: &mut App, name: &str) {
    typ(app, "0");
    assert_eq!(app.current_tab(), TabId::Users);
    app.handle_key(key(KeyCode::Home));
    for _ in 0..50 {
        if app.selected_row().map(|r| r.cells[0].text.as_str()) == Some(name) {
            app.handle_key(key(KeyCode::Enter));
            assert_eq!(app.mode(), Mode::Detail);
            return;
        }
        app.handle_key(key(KeyCode::Down));
    }
    panic!("no user row {name}");
}

/// An OAuth2 application whose provider allows the password grant; returns (client id, secret).
async fn password_grant_app(service: &Service, slug: &str) -> (String, String) {
    let mut p = create_oidc_app_on(service, slug).await;
    p.oauth2.grant_types.push("password".into());
    let mut tx = service.store().write_tx().await.expect("tx");
    store::providers::update(tx.conn(), &p)
        .await
        .expect("update");
    tx.touch(Topic::Providers);
    tx.commit().await.expect("commit");
    (p.client_id, p.oauth2.client_secret)
}

/// The token endpoint's answer to `grant` with `username` and `password`: (status, body).
async fn grant(
    base: &str,
    client: &(String, String),
    grant: &str,
    username: &str,
    password: &str,
) -> (u16, Value) {
    let (st, _, body) = oauth_post(
        &format!("{base}/application/o/token/"),
        Some((&client.0, &client.1)),
        &[
            ("grant_type", grant),
            ("username", username),
            ("password", password),
        ],
    )
    .await;
    (st, body)
}

/// Both app-password grants succeed (true) or both are refused with `invalid_grant` (false).
async fn app_password_works(base: &str, client: &(String, String), user: &str, key: &str) -> bool {
    let (a, body_a) = grant(base, client, "password", user, key).await;
    let (b, body_b) = grant(base, client, "client_credentials", user, key).await;
    match (a, b) {
        (200, 200) => {
            assert!(body_a["access_token"].is_string() && body_b["access_token"].is_string());
            true
        }
        (400, 400) => {
            assert_eq!(body_a["error"], "invalid_grant", "{body_a}");
            assert_eq!(body_b["error"], "invalid_grant", "{body_b}");
            false
        }
        other => panic!("the grants disagree: {other:?} {body_a} {body_b}"),
    }
}

/// `T`, the intent cycled `steps` times from app password, a description, `^S`; returns the
/// key the message window shows once.
async fn new_token_in_console(
    app: &mut App,
    service: &Service,
    steps: usize,
    description: &str,
) -> String {
    app.handle_key(key(KeyCode::Char('T')));
    assert_eq!(app.mode(), Mode::Form);
    for _ in 0..steps {
        app.handle_key(key(KeyCode::Right));
    }
    app.handle_key(key(KeyCode::Tab));
    typ(app, description);
    app.handle_key(ctrl('s'));
    settle(app, service).await;
    let m = app.message().expect("the key is shown in a message window");
    let clip = m.copy.clone().expect("y copies the key");
    assert_eq!(clip.value.len(), 60);
    assert!(m.text.contains(&clip.value), "{}", m.text);
    clip.value
}

/// The bytes of a SQLite store file and its WAL.
fn store_bytes(db: &std::path::Path) -> Vec<u8> {
    let mut all = std::fs::read(db).unwrap_or_default();
    all.extend(std::fs::read(format!("{}-wal", db.display())).unwrap_or_default());
    all
}

#[tokio::test]
async fn console_app_password_works_at_both_grants_until_revoked_and_api_tokens_are_digests() {
    // A SQLite file of this test's own, so it can be searched for the keys.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("accounts.db");
    let (service, base, cancel) = server_over(&db, true).await;
    let s = Served {
        service,
        base_url: base,
    };
    let client = password_grant_app(&s.service, "ci").await;
    add_user(&s.service, "bob", "bob@example.com", BOB_PASSWORD).await;
    let mut app = app_over(&s.service).await;
    open_user(&mut app, "bob");

    let app_pw = new_token_in_console(&mut app, &s.service, 0, "ci runner").await;
    app.handle_key(key(KeyCode::Enter)); // closes the message: the key is gone from the console
    assert!(app.message().is_none());
    assert!(app_password_works(&s.base_url, &client, "bob", &app_pw).await);
    assert!(
        !app_password_works(&s.base_url, &client, "bob", BOB_PASSWORD).await,
        "the login password is no app password"
    );
    let lines = app.account_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0].section, AccountSection::Token);
    assert!(lines[0].text.contains("app_password") && lines[0].text.contains("ci runner"));
    assert!(!lines[0].text.contains(&app_pw));

    // An API token: shown once, stored as a digest, no password.
    let api_key = new_token_in_console(&mut app, &s.service, 1, "api").await;
    app.handle_key(key(KeyCode::Enter));
    assert!(!app_password_works(&s.base_url, &client, "bob", &api_key).await);
    let tokens = s.service.list_tokens().await.expect("tokens");
    let api = tokens
        .iter()
        .find(|t| t.intent == "api")
        .expect("api token");
    {
        let mut conn = s.service.store().read().await.expect("conn");
        let stored = store::tokens::of_user(&mut conn, &api.user_id)
            .await
            .expect("tokens");
        let row = stored.iter().find(|t| t.id == api.id).expect("row");
        assert_eq!(row.key_digest, secrets::digest(&api_key));
    }
    let bytes = store_bytes(&db);
    assert!(!bytes.is_empty(), "the store file was read");
    for k in [&app_pw, &api_key] {
        assert!(
            !bytes.windows(k.len()).any(|w| w == k.as_bytes()),
            "a key is in the store file"
        );
    }
    let created = events_of(&s.service, "model_created").await;
    assert!(created.iter().any(|e| e.context["intent"] == "api"));
    for e in &created {
        let text = e.context.to_string();
        assert!(
            !text.contains(&app_pw) && !text.contains(&api_key),
            "{text}"
        );
    }

    // R on the app password (the second token line: newest first), confirmed: it stops working.
    let index = app
        .account_lines()
        .iter()
        .position(|l| l.text.contains("app_password"))
        .expect("app password line");
    for _ in 0..index {
        app.handle_key(key(KeyCode::Down));
    }
    app.handle_key(key(KeyCode::Char('R')));
    assert_eq!(app.mode(), Mode::Delete);
    app.handle_key(key(KeyCode::Enter)); // Cancel is focused: nothing happens
    settle(&mut app, &s.service).await;
    assert!(app_password_works(&s.base_url, &client, "bob", &app_pw).await);
    app.handle_key(key(KeyCode::Char('R')));
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &s.service).await;
    let status = app.status().expect("status").text.clone();
    assert!(
        status.contains("revoked token bob-app-password"),
        "{status}"
    );
    assert_eq!(app.mode(), Mode::Detail, "the user detail stays open");
    assert!(!app_password_works(&s.base_url, &client, "bob", &app_pw).await);
    assert_eq!(app.account_lines().len(), 1);
    cancel.cancel();
}

/// A server and its base URL.
struct Served {
    service: Service,
    base_url: String,
}

#[tokio::test]
async fn console_revokes_a_consent_and_deletes_one_authenticator() {
    let s = spawn_server().await;
    let bob = add_user(&s.service, "bob", "bob@example.com", BOB_PASSWORD).await;
    create_oidc_app_on(&s.service, "wiki").await;
    let app_id = s
        .service
        .list_applications()
        .await
        .expect("apps")
        .into_iter()
        .find(|a| a.slug == "wiki")
        .expect("wiki")
        .id;
    {
        let now = s.service.now();
        let mut tx = s.service.store().write_tx().await.expect("tx");
        store::consents::upsert(
            tx.conn(),
            &new_id(),
            &bob.id,
            &app_id,
            "openid email",
            None,
            now,
        )
        .await
        .expect("consent");
        store::authenticators::insert(tx.conn(), &totp_device(&bob.id, now))
            .await
            .expect("device");
        tx.touch(Topic::Users);
        tx.commit().await.expect("commit");
    }
    let mut app = app_over(&s.service).await;
    open_user(&mut app, "bob");
    let lines = app.account_lines();
    assert_eq!(
        lines.iter().map(|l| l.section).collect::<Vec<_>>(),
        [AccountSection::Authenticator, AccountSection::Consent]
    );
    let screen = crate::console_forms::render(&mut app, 120, 40);
    assert!(
        screen.contains("Authenticators (1)") && screen.contains("Consents (1)"),
        "{screen}"
    );
    assert!(
        screen.contains("wiki") && screen.contains("openid email"),
        "{screen}"
    );

    app.handle_key(key(KeyCode::Down)); // the consent
    app.handle_key(key(KeyCode::Char('R')));
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &s.service).await;
    assert!(
        s.service
            .user_consents(&bob.id)
            .await
            .expect("consents")
            .is_empty()
    );
    app.handle_key(key(KeyCode::Char('R'))); // the authenticator
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &s.service).await;
    assert!(
        s.service
            .user_authenticators(&bob.id)
            .await
            .expect("devices")
            .is_empty()
    );
    let deleted = events_of(&s.service, "model_deleted").await;
    assert_eq!(deleted.len(), 2, "one event per change");
    assert!(
        deleted
            .iter()
            .all(|e| e.context["user"]["username"] == "bob" && e.context["source"] == "console")
    );
    assert!(
        deleted
            .iter()
            .all(|e| !e.context.to_string().contains(TOTP_SECRET)),
        "no secret in an event"
    );
}

const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const CODES: [&str; 2] = ["carolcode0001", "carolcode0002"];
const CAROL_PASSWORD: &str = "carol-password-1";
const MFA_FLOW: &str = "mfa-check";

fn totp_device(user_id: &str, now: i64) -> store::authenticators::DeviceRow {
    store::authenticators::DeviceRow {
        id: new_id(),
        user_id: user_id.into(),
        kind: "totp".into(),
        name: "phone".into(),
        secret: TOTP_SECRET.into(),
        confirmed: true,
        last_used_step: None,
        created_at: now,
        digits: 6,
    }
}

/// Gives carol a TOTP device and two recovery codes, as the setup stages store them.
async fn give_carol_factors(service: &Service, user_id: &str) {
    let now = service.now();
    let static_device = store::authenticators::DeviceRow {
        id: new_id(),
        kind: "static".into(),
        name: "Static Token".into(),
        secret: String::new(),
        ..totp_device(user_id, now)
    };
    let mut tx = service.store().write_tx().await.expect("tx");
    store::authenticators::insert(tx.conn(), &totp_device(user_id, now))
        .await
        .expect("totp");
    store::authenticators::insert(tx.conn(), &static_device)
        .await
        .expect("static");
    let digests: Vec<String> = CODES.iter().map(|c| secrets::digest(c)).collect();
    store::static_tokens::insert_all(tx.conn(), &static_device.id, &digests)
        .await
        .expect("codes");
    tx.touch(Topic::Users);
    tx.commit().await.expect("commit");
}

/// Runs the MFA check flow (password, then a second factor that must be there) for carol
/// with `code`; returns the last challenge.
async fn mfa_check(base: &str, code: &str) -> Value {
    let c = jar();
    api_get(&c, base, MFA_FLOW).await;
    api_post(
        &c,
        base,
        MFA_FLOW,
        json!({"component": "ak-stage-identification", "uid_field": "carol"}),
    )
    .await;
    let v = api_post(
        &c,
        base,
        MFA_FLOW,
        json!({"component": "ak-stage-password", "password": CAROL_PASSWORD}),
    )
    .await;
    if v["component"] != "ak-stage-authenticator-validate" {
        return v;
    }
    api_post(
        &c,
        base,
        MFA_FLOW,
        json!({"component": "ak-stage-authenticator-validate", "code": code}),
    )
    .await
}

fn totp_now(now: i64) -> String {
    totp_rs::Builder::new()
        .with_secret(totp_rs::Secret::try_from_base32(TOTP_SECRET).expect("secret"))
        .with_account_name("carol".to_string())
        .with_issuer(Some("latchkey".to_string()))
        .build()
        .expect("totp")
        .generate(now as u64)
        .to_string()
}

/// A server of this test over a SQLite store file (bootstrapped first when `bootstrap`, else
/// the one the console under tmux made).
async fn server_over(
    db: &std::path::Path,
    bootstrap: bool,
) -> (Service, String, tokio_util::sync::CancellationToken) {
    let listener = latchkey::http::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let store = store::Store::open(&store::StoreLocation::File(db.to_path_buf()))
        .await
        .expect("open the console's store");
    let service = Service::new(
        store,
        latchkey::context::Config::new(&base),
        std::sync::Arc::new(latchkey::context::SystemClock),
    );
    if bootstrap {
        service
            .bootstrap(Some(crate::support::ADMIN_PASSWORD))
            .await
            .expect("bootstrap");
    }
    let cancel = tokio_util::sync::CancellationToken::new();
    latchkey::http::spawn_server(
        listener,
        latchkey::http::AppState::new(service.clone()),
        cancel.clone(),
    );
    (service, base, cancel)
}

/// The first run of exactly 60 letters and digits on the screen (a key shown once).
fn key_on_screen(screen: &str) -> Option<String> {
    screen
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.len() == 60)
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_tmux_mfa_reset_fails_the_old_factors_and_an_app_password_works_until_revoked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("x.db");
    let tmux = start_console(dir.path(), &[]);
    tmux.wait_for("the tab bar", |s| s.contains("0 Users"));
    let (service, base, cancel) = server_over(&db, false).await;
    let carol = add_user(&service, "carol", "carol@example.com", CAROL_PASSWORD).await;
    give_carol_factors(&service, &carol.id).await;
    add_flow(
        &service,
        MFA_FLOW,
        FlowAuthentication::None,
        vec![
            (
                StageKind::Identification,
                json!({"user_fields": ["username"]}),
            ),
            (
                StageKind::Password,
                json!({"backends": ["authentik.core.auth.InbuiltBackend"]}),
            ),
            (
                StageKind::AuthenticatorValidate,
                json!({"device_classes": ["static", "totp"], "not_configured_action": "deny"}),
            ),
        ],
    )
    .await;
    let client = password_grant_app(&service, "tmux-app").await;
    // Before the reset: a recovery code passes the check.
    let v = mfa_check(&base, CODES[0]).await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");

    let send = |keys: &[&str]| {
        let mut args = vec!["send-keys", "-t", "console"];
        args.extend(keys);
        tmux.run(&args);
    };
    send(&["0"]);
    send(&["/"]);
    send(&["-l", "carol"]);
    send(&["Enter"]);
    tmux.wait_for("carol in the users list", |s| {
        s.contains("carol@example.com")
    });
    send(&["Enter"]);
    tmux.wait_for("carol's authenticators", |s| {
        s.contains("Authenticators (2)")
    });
    send(&["M"]);
    tmux.wait_for("the MFA reset dialog", |s| s.contains("Reset MFA of carol"));
    send(&["Tab"]);
    send(&["Enter"]);
    tmux.wait_for("the reset's message", |s| {
        s.contains("MFA reset: deleted 2 authenticator(s) of carol")
    });
    assert!(
        service
            .user_authenticators(&carol.id)
            .await
            .expect("devices")
            .is_empty()
    );
    // The old factors fail: the unused recovery code and the phone's code.
    for code in [CODES[1].to_string(), totp_now(service.now())] {
        let v = mfa_check(&base, &code).await;
        assert_eq!(v["component"], "ak-stage-access-denied", "{code}: {v}");
    }

    // An app password made in the console works at both grants, until revoked there.
    send(&["T"]);
    tmux.wait_for("the token form", |s| s.contains("New token for carol"));
    send(&["Tab"]);
    send(&["-l", "tmux"]);
    send(&["C-s"]);
    let screen = tmux.wait_for("the key shown once", |s| key_on_screen(s).is_some());
    let app_pw = key_on_screen(&screen).expect("key");
    assert!(app_password_works(&base, &client, "carol", &app_pw).await);
    send(&["Enter"]);
    tmux.wait_for("the token line", |s| {
        s.contains("App passwords and API tokens (1)")
    });
    send(&["G"]);
    send(&["R"]);
    tmux.wait_for("the revoke dialog", |s| {
        s.contains("Revoke token carol-app-password")
    });
    send(&["Tab"]);
    send(&["Enter"]);
    tmux.wait_for("the revoke's message", |s| {
        s.contains("revoked token carol-app-password")
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while app_password_works(&base, &client, "carol", &app_pw).await {
        assert!(
            Instant::now() < deadline,
            "the revoked app password still works"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    cancel.cancel();
}
