//! The device authorization grant (RFC 8628) on a real listener: one test per rule of
//! docs/SECURITY.md "Device flow", plus `latchkey login`/`token`/`logout` end to end.

use std::io::BufRead;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey::context::ManualClock;
use latchkey::context::{Clock, SystemClock};
use latchkey::crypto::secrets;
use latchkey::oauth::device::USER_CODE_ALPHABET;
use latchkey::service::device::{DeviceError, DeviceVerification, Requester};
use latchkey::store::{self, device_codes};
use serde_json::Value;

use crate::server::create_oidc_app;
use crate::support::{TestServer, client, spawn_server_with};

pub const CLI: &str = "authentik-cli";
const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const FIXTURE: &str = include_str!("../../fixtures/blueprints/examples/authentik-cli.yaml");
const T0: i64 = 1_900_000_000;

/// The authentik-cli fixture under another name (another public client).
fn renamed(name: &str) -> String {
    FIXTURE.replace(CLI, name)
}

pub async fn server() -> TestServer {
    spawn_server_with(Arc::new(SystemClock), &[FIXTURE.to_string()]).await
}

async fn server_at(clock: Arc<ManualClock>) -> TestServer {
    let clock: Arc<dyn Clock> = clock;
    spawn_server_with(clock, &[FIXTURE.to_string()]).await
}

async fn post(
    s: &TestServer,
    path: &str,
    auth: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = client().post(format!("{}{path}", s.base_url)).form(form);
    if let Some((id, secret)) = auth {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.json().await.unwrap_or(Value::Null))
}

/// Starts a device flow for the public CLI client.
pub async fn start(s: &TestServer, scope: Option<&str>) -> Value {
    let mut form = vec![("client_id", CLI)];
    if let Some(sc) = scope {
        form.push(("scope", sc));
    }
    let (st, _, body) = post(s, "/application/o/device/", None, &form).await;
    assert_eq!(st, 200, "{body}");
    body
}

pub async fn poll(s: &TestServer, device_code: &str) -> (u16, Value) {
    let (st, _, body) = post(
        s,
        "/application/o/token/",
        None,
        &[
            ("grant_type", GRANT),
            ("client_id", CLI),
            ("device_code", device_code),
        ],
    )
    .await;
    (st, body)
}

pub fn field<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_default()
}

async fn admin_id(s: &TestServer) -> String {
    s.service
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .find(|u| u.username == "akadmin")
        .expect("admin")
        .id
}

/// Approves through the service seam the `/device` pages call (the page path is in
/// `device_page`; these tests are about the token endpoint).
async fn approve(s: &TestServer, user_code: &str) {
    let seam = DeviceVerification::new(s.service.context().clone());
    let user = admin_id(s).await;
    seam.approve(user_code, &user, "test-session", "127.0.0.1")
        .await
        .expect("approve");
}

async fn stored(s: &TestServer, device_code: &str) -> device_codes::DeviceCode {
    let mut conn = s.service.store().read().await.expect("conn");
    device_codes::find_by_digest(&mut conn, &secrets::digest(device_code))
        .await
        .expect("query")
        .expect("row")
}

#[tokio::test]
async fn device_code_has_256_random_bits_and_is_stored_only_as_digest() {
    let s = server().await;
    let (st, headers, a) = post(&s, "/application/o/device/", None, &[("client_id", CLI)]).await;
    assert_eq!(st, 200);
    assert_eq!(headers["cache-control"], "no-store");
    let b = start(&s, None).await;
    let code = field(&a, "device_code");
    let raw = URL_SAFE_NO_PAD.decode(code).expect("base64url");
    assert!(
        raw.len() * 8 >= 128,
        "device_code carries {} bits",
        raw.len() * 8
    );
    assert_ne!(code, field(&b, "device_code"));
    assert_eq!(a["interval"], 5);
    assert_eq!(a["expires_in"], 600, "device_code_validity minutes=10");
    assert_eq!(a["verification_uri"], format!("{}/device", s.base_url));
    assert_eq!(
        field(&a, "verification_uri_complete"),
        format!("{}/device?code={}", s.base_url, field(&a, "user_code"))
    );
    let row = stored(&s, code).await;
    assert_eq!(row.device_code_digest, secrets::digest(code));
    assert_ne!(row.device_code_digest, code);
    // Nothing in the table holds the raw code.
    let mut conn = s.service.store().read().await.expect("conn");
    let hits: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM device_codes WHERE device_code_digest = $1 OR id = $2 OR user_code = $3",
    )
    .bind(code)
    .bind(code)
    .bind(code)
    .fetch_one(&mut *conn)
    .await
    .expect("count");
    assert_eq!(hits, 0);
}

#[tokio::test]
async fn user_code_alphabet_format_and_normalisation() {
    let s = server().await;
    let seam = DeviceVerification::new(s.service.context().clone());
    for i in 0..5 {
        let body = start(&s, None).await;
        let shown = field(&body, "user_code");
        let re = regex::Regex::new(&format!(
            "^[{USER_CODE_ALPHABET}]{{4}}-[{USER_CODE_ALPHABET}]{{4}}$"
        ))
        .expect("re");
        assert!(re.is_match(shown), "user code {shown:?}");
        let messy = format!(" {}. {} ", shown[..4].to_lowercase(), &shown[5..]);
        let found = seam
            .lookup_user_code(
                &messy,
                Requester {
                    ip: &format!("10.0.0.{i}"),
                    session_id: None,
                },
            )
            .await
            .expect("lookup normalises");
        assert_eq!(found.user_code, shown);
        assert_eq!(found.application_name, "authentik CLI");
        assert_eq!(found.application_slug, CLI);
        assert!(found.scopes.contains(&"openid".to_string()));
    }
    let err = seam
        .lookup_user_code(
            "BCDF-GHJK",
            Requester {
                ip: "10.1.0.1",
                session_id: None,
            },
        )
        .await;
    assert!(
        matches!(err, Err(DeviceError::InvalidCode)),
        "unknown code: {err:?}"
    );
}

#[tokio::test]
async fn pending_then_slow_down_keeps_the_raised_interval_then_tokens_after_approval() {
    let clock = Arc::new(ManualClock::new(T0));
    let s = server_at(clock.clone()).await;
    let body = start(&s, None).await;
    let code = field(&body, "device_code");
    let (st, r) = poll(&s, code).await;
    assert_eq!((st, field(&r, "error")), (400, "authorization_pending"));
    clock.advance(1);
    let (_, r) = poll(&s, code).await;
    assert_eq!(field(&r, "error"), "slow_down");
    assert_eq!(stored(&s, code).await.poll_interval, 10);
    // 6 s later is enough for the old 5 s interval, not for the raised one.
    clock.advance(6);
    let (_, r) = poll(&s, code).await;
    assert_eq!(field(&r, "error"), "slow_down", "interval must stay raised");
    assert_eq!(stored(&s, code).await.poll_interval, 15);
    clock.advance(15);
    let (_, r) = poll(&s, code).await;
    assert_eq!(field(&r, "error"), "authorization_pending");
    approve(&s, field(&body, "user_code")).await;
    clock.advance(15);
    let (st, r) = poll(&s, code).await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["token_type"], "Bearer");
    assert!(!field(&r, "access_token").is_empty());
    assert!(!field(&r, "id_token").is_empty());
}

#[tokio::test]
async fn denied_code_answers_access_denied() {
    let s = server().await;
    let body = start(&s, None).await;
    let seam = DeviceVerification::new(s.service.context().clone());
    seam.deny(field(&body, "user_code"), None, "127.0.0.1")
        .await
        .expect("deny");
    let (st, r) = poll(&s, field(&body, "device_code")).await;
    assert_eq!((st, field(&r, "error")), (400, "access_denied"));
    // A denied code cannot be approved afterwards.
    let user = admin_id(&s).await;
    assert!(matches!(
        seam.approve(field(&body, "user_code"), &user, "sess", "127.0.0.1")
            .await,
        Err(DeviceError::InvalidCode)
    ));
}

#[tokio::test]
async fn expiry_is_checked_inline_the_second_it_passes() {
    let clock = Arc::new(ManualClock::new(T0));
    let s = server_at(clock.clone()).await;
    let body = start(&s, None).await;
    let code = field(&body, "device_code");
    clock.advance(599);
    let (_, r) = poll(&s, code).await;
    assert_eq!(field(&r, "error"), "authorization_pending");
    clock.advance(1);
    let (st, r) = poll(&s, code).await;
    assert_eq!((st, field(&r, "error")), (400, "expired_token"));
    let seam = DeviceVerification::new(s.service.context().clone());
    let user = admin_id(&s).await;
    assert!(matches!(
        seam.lookup_user_code(
            field(&body, "user_code"),
            Requester {
                ip: "10.0.0.1",
                session_id: None
            }
        )
        .await,
        Err(DeviceError::InvalidCode)
    ));
    assert!(matches!(
        seam.approve(field(&body, "user_code"), &user, "sess", "127.0.0.1")
            .await,
        Err(DeviceError::InvalidCode)
    ));
}

#[tokio::test]
async fn another_clients_device_code_is_invalid_grant() {
    let s = spawn_server_with(
        Arc::new(SystemClock),
        &[FIXTURE.to_string(), renamed("other-cli")],
    )
    .await;
    let body = start(&s, None).await;
    approve(&s, field(&body, "user_code")).await;
    let (st, _, r) = post(
        &s,
        "/application/o/token/",
        None,
        &[
            ("grant_type", GRANT),
            ("client_id", "other-cli"),
            ("device_code", field(&body, "device_code")),
        ],
    )
    .await;
    assert_eq!((st, field(&r, "error")), (400, "invalid_grant"));
    // The rightful client still gets its tokens: the foreign attempt consumed nothing.
    let (st, _) = poll(&s, field(&body, "device_code")).await;
    assert_eq!(st, 200);
}

#[tokio::test]
async fn replayed_device_code_is_invalid_grant_and_revokes_its_tokens() {
    let s = server().await;
    let body = start(&s, None).await;
    approve(&s, field(&body, "user_code")).await;
    let (st, tokens) = poll(&s, field(&body, "device_code")).await;
    assert_eq!(st, 200);
    let (st, r) = poll(&s, field(&body, "device_code")).await;
    assert_eq!((st, field(&r, "error")), (400, "invalid_grant"));
    let mut conn = s.service.store().read().await.expect("conn");
    let at = store::grants::find_access_token(
        &mut conn,
        &secrets::digest(field(&tokens, "access_token")),
    )
    .await
    .expect("q")
    .expect("access token");
    assert!(
        at.revoked_at.is_some(),
        "replay must revoke the access token"
    );
    let rt = store::grants::find_refresh_token(
        &mut conn,
        &secrets::digest(field(&tokens, "refresh_token")),
    )
    .await
    .expect("q")
    .expect("refresh token");
    assert!(
        rt.revoked_at.is_some(),
        "replay must revoke the refresh token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_polls_of_an_approved_code_yield_exactly_one_success() {
    let s = Arc::new(server().await);
    let body = start(&s, None).await;
    approve(&s, field(&body, "user_code")).await;
    let code = field(&body, "device_code").to_string();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let s = s.clone();
            let code = code.clone();
            tokio::spawn(async move { poll(&s, &code).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        let (st, r) = t.await.expect("join");
        if st == 200 {
            ok += 1;
        } else {
            assert_eq!(field(&r, "error"), "invalid_grant", "{r}");
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn user_code_lookups_are_throttled_per_ip_and_per_session() {
    let clock = Arc::new(ManualClock::new(T0));
    let s = server_at(clock.clone()).await;
    let seam = DeviceVerification::new(s.service.context().clone());
    let who = |ip: &'static str, sess: Option<&'static str>| Requester {
        ip,
        session_id: sess,
    };
    for _ in 0..10 {
        let r = seam
            .lookup_user_code("BCDF-GHJK", who("10.0.0.1", Some("s1")))
            .await;
        assert!(matches!(r, Err(DeviceError::InvalidCode)), "{r:?}");
    }
    // Per IP: a new session from the same IP is still throttled.
    let r = seam
        .lookup_user_code("BCDF-GHJK", who("10.0.0.1", Some("s2")))
        .await;
    assert!(matches!(r, Err(DeviceError::Throttled { .. })), "{r:?}");
    // Per session: the same session from another IP is still throttled.
    let r = seam
        .lookup_user_code("BCDF-GHJK", who("10.0.0.2", Some("s1")))
        .await;
    assert!(matches!(r, Err(DeviceError::Throttled { .. })), "{r:?}");
    // Even a correct code is refused while throttled.
    let body = start(&s, None).await;
    let r = seam
        .lookup_user_code(field(&body, "user_code"), who("10.0.0.1", None))
        .await;
    assert!(matches!(r, Err(DeviceError::Throttled { .. })), "{r:?}");
    // Another IP and session are unaffected; the bucket refills with time.
    let r = seam
        .lookup_user_code(field(&body, "user_code"), who("10.0.0.3", Some("s3")))
        .await;
    assert!(r.is_ok(), "{r:?}");
    clock.advance(60);
    let r = seam
        .lookup_user_code(field(&body, "user_code"), who("10.0.0.1", Some("s1")))
        .await;
    assert!(r.is_ok(), "{r:?}");
}

#[tokio::test]
async fn public_client_must_not_send_a_secret_confidential_must() {
    let s = server().await;
    let (st, headers, r) = post(
        &s,
        "/application/o/device/",
        None,
        &[("client_id", CLI), ("client_secret", "anything")],
    )
    .await;
    assert_eq!((st, field(&r, "error")), (401, "invalid_client"));
    assert!(headers.contains_key("www-authenticate"));
    let (st, _, _) = post(&s, "/application/o/device/", None, &[("client_id", CLI)]).await;
    assert_eq!(st, 200);
    let (st, _, r) = post(
        &s,
        "/application/o/device/",
        None,
        &[("client_id", "nobody")],
    )
    .await;
    assert_eq!((st, field(&r, "error")), (401, "invalid_client"));
    let p = create_oidc_app(&s, "conf").await;
    let (st, _, r) = post(
        &s,
        "/application/o/device/",
        None,
        &[("client_id", &p.client_id)],
    )
    .await;
    assert_eq!((st, field(&r, "error")), (401, "invalid_client"));
    let (st, _, r) = post(
        &s,
        "/application/o/device/",
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[],
    )
    .await;
    assert_eq!(st, 200, "{r}");
    // A public client's device code also needs no secret at the token endpoint, and refuses one.
    let body = start(&s, None).await;
    let (st, _, r) = post(
        &s,
        "/application/o/token/",
        None,
        &[
            ("grant_type", GRANT),
            ("client_id", CLI),
            ("client_secret", "x"),
            ("device_code", field(&body, "device_code")),
        ],
    )
    .await;
    assert_eq!((st, field(&r, "error")), (401, "invalid_client"));
}

#[tokio::test]
async fn client_without_the_device_grant_is_unauthorized_client() {
    let no_device = renamed("web-only").replace(&format!("        - {GRANT}\n"), "");
    assert!(!no_device.contains(GRANT));
    let s = spawn_server_with(Arc::new(SystemClock), &[no_device]).await;
    let (st, _, r) = post(
        &s,
        "/application/o/device/",
        None,
        &[("client_id", "web-only")],
    )
    .await;
    assert_eq!((st, field(&r, "error")), (400, "unauthorized_client"));
}

#[tokio::test]
async fn scope_is_limited_to_the_providers_mappings() {
    let s = server().await;
    let body = start(&s, Some("openid email goauthentik.io/api made-up")).await;
    let row = stored(&s, field(&body, "device_code")).await;
    assert_eq!(row.scope, "openid email");
    let all = start(&s, None).await;
    let row = stored(&s, field(&all, "device_code")).await;
    let mut got: Vec<&str> = row.scope.split(' ').collect();
    got.sort();
    assert_eq!(got, ["email", "offline_access", "openid", "profile"]);
    approve(&s, field(&body, "user_code")).await;
    let (_, r) = poll(&s, field(&body, "device_code")).await;
    assert_eq!(r["scope"], "openid email");
}

#[tokio::test]
async fn refresh_token_only_with_offline_access() {
    let s = server().await;
    let with = start(&s, Some("openid offline_access")).await;
    let without = start(&s, Some("openid profile")).await;
    approve(&s, field(&with, "user_code")).await;
    approve(&s, field(&without, "user_code")).await;
    let (st, r) = poll(&s, field(&with, "device_code")).await;
    assert_eq!(st, 200);
    assert!(!field(&r, "refresh_token").is_empty());
    let (st, r) = poll(&s, field(&without, "device_code")).await;
    assert_eq!(st, 200);
    assert!(r.get("refresh_token").is_none(), "{r}");
}

#[tokio::test]
async fn bad_input_never_500_and_discovery_points_at_the_endpoint() {
    let s = server().await;
    let res = client()
        .post(format!("{}/application/o/device/", s.base_url))
        .body("{\"client_id\":\"x\"}")
        .header("content-type", "application/json")
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 400);
    let res = client()
        .get(format!("{}/application/o/device/", s.base_url))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status().as_u16(), 405);
    let (st, _, _) = post(
        &s,
        "/application/o/device/",
        None,
        &[("client_id", CLI), ("client_id", CLI)],
    )
    .await;
    assert_eq!(st, 400);
    let (st, r) = poll(&s, "").await;
    assert_eq!((st, field(&r, "error")), (400, "invalid_request"));
    let (st, r) = poll(&s, "not-a-code").await;
    assert_eq!((st, field(&r, "error")), (400, "invalid_grant"));
    let doc: Value = client()
        .get(format!(
            "{}/application/o/{CLI}/.well-known/openid-configuration",
            s.base_url
        ))
        .send()
        .await
        .expect("req")
        .json()
        .await
        .expect("json");
    assert_eq!(
        doc["device_authorization_endpoint"],
        format!("{}/application/o/device/", s.base_url)
    );
}

/// Runs the binary with `XDG_CONFIG_HOME` in `home`.
fn cli(home: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"));
    c.env("XDG_CONFIG_HOME", home).env_remove("LATCHKEY_DB");
    c
}

/// Runs a child to completion off the runtime (the in-process server must keep answering).
async fn run(mut c: std::process::Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || c.output())
        .await
        .expect("join")
        .expect("run latchkey")
}

fn cmd(home: &std::path::Path, arg: &str) -> std::process::Command {
    let mut c = cli(home);
    c.arg(arg);
    c
}

#[tokio::test]
async fn latchkey_login_token_logout_end_to_end() {
    use std::os::unix::fs::PermissionsExt;
    let s = server().await;
    let home = tempfile::tempdir().expect("tempdir");
    let mut child = cli(home.path())
        .args([
            "login",
            "--url",
            &format!("{}/application/o/{CLI}/", s.base_url),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn login");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = tokio::sync::oneshot::channel();
    let reader = std::thread::spawn(move || {
        let mut tx = Some(tx);
        let mut all = String::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap_or_default();
            if let Some(code) = line.strip_prefix("User code: ")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(code.trim().to_string());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let user_code = tokio::time::timeout(std::time::Duration::from_secs(30), rx)
        .await
        .expect("user code printed in time")
        .expect("user code");
    // A second client (plain HTTP, cookie jar) signs in and approves on the /device pages.
    let page = crate::device_page::sign_in_device(&s, &user_code, "approve").await;
    assert!(page.body.contains("Device signed in"), "{}", page.body);
    let status = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    let out = reader.join().expect("reader");
    assert!(
        status.status.success(),
        "login failed: {out}\n{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(
        out.contains('█') || out.contains('▀') || out.contains('▄'),
        "QR drawn: {out}"
    );
    let path = home.path().join("latchkey/tokens.json");
    let meta = std::fs::metadata(&path).expect("tokens.json");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let mut saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    let first_access = field(&saved, "access_token").to_string();
    let first_refresh = field(&saved, "refresh_token").to_string();
    assert!(!first_refresh.is_empty());

    // A fresh access token is printed as is.
    let out = run(cmd(home.path(), "token")).await;
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), first_access);

    // An expired one is refreshed first, and the rotated refresh token saved.
    saved["expires_at"] = Value::from(0);
    std::fs::write(&path, saved.to_string()).expect("write");
    let out = run(cmd(home.path(), "token")).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_ne!(printed, first_access);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    assert_eq!(field(&saved, "access_token"), printed);
    assert_ne!(
        field(&saved, "refresh_token"),
        first_refresh,
        "rotated refresh token saved"
    );
    assert_eq!(
        std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777,
        0o600
    );

    // Logout revokes at the server and deletes the file.
    let out = run(cmd(home.path(), "logout")).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!path.exists());
    let mut conn = s.service.store().read().await.expect("conn");
    let at = store::grants::find_access_token(&mut conn, &secrets::digest(&printed))
        .await
        .expect("q")
        .expect("row");
    assert!(at.revoked_at.is_some(), "logout must revoke the grant");
    drop(conn);
    let p = create_oidc_app(&s, "introspector").await;
    let (_, _, intro) = post(
        &s,
        "/application/o/introspect/",
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[("token", &printed)],
    )
    .await;
    assert_eq!(intro["active"], false);

    // Not logged in any more: one line, non-zero exit.
    let out = run(cmd(home.path(), "token")).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("not logged in"), "{err}");
}

/// Starts `latchkey login` against `s`, returning the child and the user code it printed.
async fn login_child(s: &TestServer, home: &std::path::Path) -> (std::process::Child, String) {
    let mut child = cli(home)
        .args(["login", "--url", &s.base_url])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn login");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = tokio::sync::oneshot::channel();
    // Keep draining stdout after the code so the child never writes into a closed pipe.
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(code) = line.strip_prefix("User code: ")
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(code.trim().to_string());
            }
        }
    });
    let code = tokio::time::timeout(std::time::Duration::from_secs(30), rx)
        .await
        .expect("user code printed in time")
        .expect("user code");
    (child, code)
}

async fn failed_one_line(child: std::process::Child) -> String {
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    err
}

#[tokio::test]
async fn latchkey_login_denied_fails_in_one_line() {
    let s = server().await;
    let home = tempfile::tempdir().expect("tempdir");
    let (child, code) = login_child(&s, home.path()).await;
    let page = crate::device_page::sign_in_device(&s, &code, "deny").await;
    assert!(page.body.contains("denied"), "{}", page.body);
    let err = failed_one_line(child).await;
    assert!(err.contains("denied"), "{err}");
    assert!(!home.path().join("latchkey/tokens.json").exists());
}

#[tokio::test]
async fn latchkey_login_expired_fails_in_one_line() {
    let short = FIXTURE.replace(
        "      client_type: public\n",
        "      client_type: public\n      device_code_validity: seconds=1\n",
    );
    assert_ne!(short, FIXTURE);
    let s = spawn_server_with(Arc::new(SystemClock), &[short]).await;
    let home = tempfile::tempdir().expect("tempdir");
    let (child, _code) = login_child(&s, home.path()).await;
    let err = failed_one_line(child).await;
    assert!(err.contains("expired"), "{err}");
    assert!(!home.path().join("latchkey/tokens.json").exists());
}

#[tokio::test]
async fn latchkey_login_against_an_unreachable_server_fails_in_one_line() {
    let home = tempfile::tempdir().expect("tempdir");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let out = cli(home.path())
        .args(["login", "--url", &format!("http://{addr}")])
        .output()
        .expect("login");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("cannot reach"), "{err}");
    assert!(!home.path().join("latchkey/tokens.json").exists());
}

#[tokio::test]
async fn application_policies_apply_to_the_approving_user() {
    let s = server().await;
    let body = start(&s, None).await;
    let app = s
        .service
        .list_applications()
        .await
        .expect("apps")
        .into_iter()
        .find(|a| a.provider_id.is_some())
        .expect("app");
    // Only `allowed` may use the application.
    let allowed =
        crate::flows_support::add_user(&s.service, "allowed", "a@example.com", "allowed-pass-1")
            .await;
    crate::flows_support::bind(
        &s.service,
        &app.id,
        latchkey::domain::BindingSubject::User(allowed.id.clone()),
        crate::flows_support::Opts::default(),
    )
    .await;
    let seam = DeviceVerification::new(s.service.context().clone());
    let admin = admin_id(&s).await;
    assert!(matches!(
        seam.approve(field(&body, "user_code"), &admin, "sess", "127.0.0.1")
            .await,
        Err(DeviceError::UserNotAllowed)
    ));
    let (st, r) = poll(&s, field(&body, "device_code")).await;
    assert_eq!(
        (st, field(&r, "error")),
        (400, "authorization_pending"),
        "nothing approved"
    );
    seam.approve(field(&body, "user_code"), &allowed.id, "sess", "127.0.0.1")
        .await
        .expect("an allowed user approves");
}

#[tokio::test]
async fn device_authorization_is_throttled_per_ip() {
    let s = server().await;
    let limit = latchkey::http::DEVICE_REQUESTS_PER_MINUTE as usize;
    let mut throttled = None;
    for i in 0..=limit {
        let (st, headers, body) =
            post(&s, "/application/o/device/", None, &[("client_id", CLI)]).await;
        if st == 429 {
            // Not slow_down (that tells a polling device to add 5 s): a retry after the
            // bucket refills, the same wait in the header and the description.
            assert_eq!(field(&body, "error"), "temporarily_unavailable");
            let wait = headers["retry-after"].to_str().expect("ascii").to_string();
            assert!(wait.parse::<u64>().is_ok_and(|w| w >= 1), "{wait}");
            assert!(
                field(&body, "error_description").contains(&format!("retry in {wait} seconds")),
                "{body}"
            );
            throttled = Some(i);
            break;
        }
        assert_eq!(st, 200, "{body}");
    }
    assert_eq!(
        throttled,
        Some(limit),
        "the request after the limit is refused"
    );
}
