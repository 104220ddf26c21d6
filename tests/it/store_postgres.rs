//! PostgreSQL as the shared store: bad `--db` input is one line and exit code 2, and two real
//! `latchkey serve` processes on one database behave as one identity provider (codes, tokens,
//! revocation and configuration are shared through the database, not either process's memory).
//! These tests need the cluster `.ci/test` starts and fail without it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use latchkey::crypto::secrets;
use latchkey::domain::Provider;
use latchkey::service::Service;
use latchkey::store::{self, Store, StoreLocation};
use serde_json::Value;

use crate::pg_support::{bootstrapped_database, database_url, fresh_database, server_url};
use crate::server::create_oidc_app_on;
use crate::support::{ADMIN_PASSWORD, oauth_post};

fn latchkey() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    cmd.env_remove("LATCHKEY_DB")
        .env_remove("LATCHKEY_LISTEN")
        .env("LATCHKEY_BOOTSTRAP_PASSWORD", ADMIN_PASSWORD);
    cmd
}

/// Runs `latchkey export --db <db>` and returns its one-line error (exit code 2 asserted).
fn export_error(db: &str, cwd: &std::path::Path) -> String {
    let out = latchkey()
        .current_dir(cwd)
        .args(["export", "--db", db])
        .output()
        .expect("run latchkey");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "exit code; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    stderr
}

fn entries(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn an_unknown_url_scheme_is_refused_and_creates_nothing() {
    let cwd = tempfile::tempdir().expect("tempdir");
    for db in ["mysql://user@host:3306/db", "postgress://user@host/db"] {
        let err = export_error(db, cwd.path());
        assert!(err.contains("unknown store scheme"), "{err}");
        assert!(err.contains("postgres://"), "says what works: {err}");
    }
    assert!(entries(cwd.path()).is_empty(), "{:?}", entries(cwd.path()));
}

#[test]
fn a_postgres_url_is_never_taken_as_a_file_path() {
    let cwd = tempfile::tempdir().expect("tempdir");
    // Nothing listens on port 1: before PostgreSQL support this created ./postgres:/… instead.
    let err = export_error("postgres://latchkey@127.0.0.1:1/latchkey", cwd.path());
    assert!(err.contains("cannot reach the PostgreSQL server"), "{err}");
    assert!(err.contains("host and port"), "says what to check: {err}");
    assert!(entries(cwd.path()).is_empty(), "{:?}", entries(cwd.path()));
}

#[test]
fn a_missing_database_says_to_create_it() {
    let cwd = tempfile::tempdir().expect("tempdir");
    let url = database_url(&format!("lk_missing_{}", uuid::Uuid::new_v4().simple()));
    let err = export_error(&url, cwd.path());
    assert!(err.contains("does not exist"), "{err}");
    assert!(err.contains("CREATE DATABASE"), "says what to do: {err}");
}

#[test]
fn a_wrong_user_is_refused_with_what_to_check() {
    let cwd = tempfile::tempdir().expect("tempdir");
    let mut url = url::Url::parse(&server_url()).expect("url");
    url.set_username("nobody_here").expect("user");
    let err = export_error(url.as_str(), cwd.path());
    assert!(err.contains("nobody_here"), "names the user: {err}");
}

#[tokio::test]
async fn a_schema_from_a_newer_latchkey_is_refused_and_left_alone() {
    let url = fresh_database().await;
    let store = Store::open(&StoreLocation::Postgres(url.clone()))
        .await
        .expect("open");
    let mut conn = store.read().await.expect("conn");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, '\\x00'::bytea, 0)",
    )
    .execute(&mut *conn)
    .await
    .expect("a future migration");
    drop(conn);
    store.close().await;
    let cwd = tempfile::tempdir().expect("tempdir");
    let err = export_error(&url, cwd.path());
    assert!(err.contains("newer latchkey"), "{err}");
    assert!(err.contains("9999"), "names the migration: {err}");
    // Nothing was changed: the store still opens for a binary that knows 9999 (here: its row
    // is still there).
    let store = Store::open(&StoreLocation::Postgres(url.clone())).await;
    assert!(store.is_err(), "still refused");
}

#[tokio::test]
async fn the_store_opens_and_migrates_an_empty_database_once() {
    let url = fresh_database().await;
    let location = StoreLocation::Postgres(url);
    let first = Store::open(&location).await.expect("first open");
    let mut conn = first.read().await.expect("conn");
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&mut *conn)
        .await
        .expect("count");
    drop(conn);
    first.close().await;
    let second = Store::open(&location).await.expect("second open");
    let mut conn = second.read().await.expect("conn");
    let again: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&mut *conn)
        .await
        .expect("count");
    assert_eq!(applied, again, "nothing applied twice");
    assert!(applied >= 1);
}

/// One `latchkey serve` process on the shared database.
pub(crate) struct Instance {
    base_url: String,
    child: Child,
}

impl Instance {
    pub(crate) fn start(db: &str) -> Instance {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let child = latchkey()
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--db",
                db,
            ])
            .stderr(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn latchkey serve");
        let base_url = format!("http://127.0.0.1:{port}");
        let mut instance = Instance { base_url, child };
        instance.wait_ready();
        instance
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("latchkey serve exited early: {status}");
            }
            if self.answers_ready() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("latchkey serve never became ready");
    }

    fn answers_ready(&self) -> bool {
        use std::io::{Read, Write};
        let addr = self.base_url.trim_start_matches("http://");
        let Ok(mut s) = std::net::TcpStream::connect(addr) else {
            return false;
        };
        if s.write_all(b"GET /-/health/ready/ HTTP/1.0\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut buf = String::new();
        s.read_to_string(&mut buf).is_ok()
            && (buf.starts_with("HTTP/1.0 204") || buf.starts_with("HTTP/1.1 204"))
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bootstrapped database, a service of the test's own on it (to set things up as the console
/// would), and two server processes A and B on it.
async fn two_instances() -> (Service, Instance, Instance) {
    let (url, service) = bootstrapped_database().await;
    let a = Instance::start(&url);
    let b = Instance::start(&url);
    (service, a, b)
}

/// Creates an application through the test's own service (a third process, as a console would
/// be) and waits until both instances serve it: each notices a commit by another process
/// through the database within about a second.
async fn create_app(service: &Service, slug: &str, instances: [&Instance; 2]) -> Provider {
    let p = create_oidc_app_on(service, slug).await;
    for at in instances {
        let url = at.url(&format!(
            "/application/o/{slug}/.well-known/openid-configuration"
        ));
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let res = crate::support::client()
                .get(&url)
                .send()
                .await
                .expect("discovery");
            if res.status() == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} never served {slug}",
                at.base_url
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    p
}

async fn client_credentials(at: &Instance, p: &Provider) -> (u16, Value) {
    let (st, _, body) = oauth_post(
        &at.url("/application/o/token/"),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[("grant_type", "client_credentials"), ("scope", "openid")],
    )
    .await;
    (st, body)
}

async fn introspect(at: &Instance, p: &Provider, token: &str) -> bool {
    let (st, _, body) = oauth_post(
        &at.url("/application/o/introspect/"),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[("token", token)],
    )
    .await;
    assert_eq!(st, 200, "{body}");
    body["active"] == true
}

/// An authorization code for akadmin, written as the authorize endpoint would.
async fn issue_code(service: &Service, p: &Provider) -> String {
    let admin = service
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .find(|u| u.username == "akadmin")
        .expect("akadmin");
    crate::oauth_checklist_token::issue_code(service, p, &admin.id, "openid offline_access").await
}

async fn exchange(at: &Instance, p: &Provider, code: &str) -> (u16, Value) {
    let (st, _, body) = oauth_post(
        &at.url("/application/o/token/"),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", crate::oauth_checklist_token::REDIRECT),
        ],
    )
    .await;
    (st, body)
}

async fn refresh(at: &Instance, p: &Provider, token: &str) -> (u16, Value) {
    let (st, _, body) = oauth_post(
        &at.url("/application/o/token/"),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await;
    (st, body)
}

#[tokio::test]
async fn a_token_issued_by_one_instance_is_introspected_and_revoked_at_the_other() {
    let (service, a, b) = two_instances().await;
    let p = create_app(&service, "shared", [&a, &b]).await;
    let (st, body) = client_credentials(&a, &p).await;
    assert_eq!(st, 200, "{body}");
    let token = body["access_token"].as_str().expect("access token");
    assert!(introspect(&b, &p, token).await, "B knows A's token");
    let (st, _, body) = oauth_post(
        &b.url("/application/o/revoke/"),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[("token", token)],
    )
    .await;
    assert_eq!(st, 200, "{body}");
    assert!(!introspect(&a, &p, token).await, "revoked at B, dead at A");
}

#[tokio::test]
async fn a_code_redeemed_at_one_instance_and_replayed_at_the_other_revokes_what_it_gave() {
    let (service, a, b) = two_instances().await;
    let p = create_app(&service, "codes", [&a, &b]).await;
    let code = issue_code(&service, &p).await;
    let (st, first) = exchange(&b, &p, &code).await;
    assert_eq!(st, 200, "{first}");
    let at = first["access_token"].as_str().expect("at");
    let rt = first["refresh_token"].as_str().expect("rt");
    assert!(introspect(&a, &p, at).await);
    let (st, replay) = exchange(&a, &p, &code).await;
    assert_eq!((st, replay["error"].as_str()), (400, Some("invalid_grant")));
    assert!(!introspect(&b, &p, at).await, "access token revoked");
    assert!(!introspect(&b, &p, rt).await, "refresh token revoked");
}

#[tokio::test]
async fn fifty_parallel_redemptions_over_two_instances_give_one_success() {
    let (service, a, b) = two_instances().await;
    let p = create_app(&service, "race", [&a, &b]).await;
    let code = issue_code(&service, &p).await;
    let attempts = (0..50).map(|i| {
        let at = if i % 2 == 0 { &a } else { &b };
        exchange(at, &p, &code)
    });
    let results = futures::future::join_all(attempts).await;
    let ok = results.iter().filter(|(st, _)| *st == 200).count();
    let refused = results
        .iter()
        .filter(|(st, body)| *st == 400 && body["error"] == "invalid_grant")
        .count();
    assert_eq!(ok, 1, "{results:?}");
    assert_eq!(
        refused, 49,
        "every other attempt is invalid_grant: {results:?}"
    );
}

#[tokio::test]
async fn twenty_parallel_refreshes_over_two_instances_give_one_winner_and_reuse_kills_the_family() {
    let (service, a, b) = two_instances().await;
    let p = create_app(&service, "refresh", [&a, &b]).await;
    let code = issue_code(&service, &p).await;
    let (st, first) = exchange(&a, &p, &code).await;
    assert_eq!(st, 200, "{first}");
    let rt = first["refresh_token"].as_str().expect("rt").to_string();
    let attempts = (0..20).map(|i| {
        let at = if i % 2 == 0 { &a } else { &b };
        refresh(at, &p, &rt)
    });
    let results = futures::future::join_all(attempts).await;
    let winners: Vec<&Value> = results
        .iter()
        .filter(|(st, _)| *st == 200)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (st, body) in results.iter().filter(|(st, _)| *st != 200) {
        assert_eq!((*st, body["error"].as_str()), (400, Some("invalid_grant")));
    }
    // The reuse was seen: the family is dead, the winner's tokens included.
    let new_at = winners[0]["access_token"].as_str().expect("at");
    let new_rt = winners[0]["refresh_token"].as_str().expect("rt");
    assert!(
        !introspect(&b, &p, new_rt).await,
        "the winner's refresh token died"
    );
    assert!(
        !introspect(&a, &p, new_at).await,
        "the winner's access token died"
    );
}

#[tokio::test]
async fn a_provider_edited_elsewhere_is_enforced_by_both_instances() {
    let (service, a, b) = two_instances().await;
    let mut p = create_app(&service, "edited", [&a, &b]).await;
    assert_eq!(client_credentials(&a, &p).await.0, 200);
    assert_eq!(client_credentials(&b, &p).await.0, 200);
    let old = p.clone();
    p.oauth2.client_secret = secrets::random_alnum(64);
    p.updated_at = service.now();
    let mut tx = service.store().write_tx().await.expect("tx");
    store::providers::update(tx.conn(), &p)
        .await
        .expect("update");
    tx.touch(store::Topic::Providers);
    tx.commit().await.expect("commit");
    p.version += 1;
    // Each instance notices the commit through the database within about a second.
    for at in [&a, &b] {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (st, _) = client_credentials(at, &old).await;
            if st == 401 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the old secret still works at {}",
                at.base_url
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            client_credentials(at, &p).await.0,
            200,
            "the new secret works"
        );
    }
}

/// One client's loop until `until`: client_credentials at `at`, keeping every token answered
/// 200 and counting the other outcomes (a killed instance's refused connections among them).
async fn issue_until(at: String, p: Provider, until: Instant) -> (Vec<String>, Vec<String>) {
    let http = crate::support::client();
    let (mut tokens, mut failures) = (Vec::new(), Vec::new());
    while Instant::now() < until {
        let res = http
            .post(format!("{at}/application/o/token/"))
            .basic_auth(&p.client_id, Some(&p.oauth2.client_secret))
            .form(&[("grant_type", "client_credentials"), ("scope", "openid")])
            .send()
            .await;
        match res {
            Ok(r) if r.status() == 200 => {
                let body: Value = r.json().await.expect("json");
                tokens.push(body["access_token"].as_str().expect("at").to_string());
            }
            Ok(r) => failures.push(format!("status {}", r.status())),
            Err(e) => failures.push(format!("{e}")),
        }
    }
    (tokens, failures)
}

#[tokio::test]
async fn kill_9_of_one_instance_under_load_loses_no_answered_token_and_the_other_keeps_serving() {
    let (service, mut a, b) = two_instances().await;
    let p = create_app(&service, "killed", [&a, &b]).await;
    let until = Instant::now() + Duration::from_secs(3);
    let mut load = Vec::new();
    for i in 0..8 {
        let at = if i % 2 == 0 { &a } else { &b };
        load.push(tokio::spawn(issue_until(
            at.base_url.clone(),
            p.clone(),
            until,
        )));
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    a.child.kill().expect("kill -9");
    a.child.wait().expect("reaped");
    let mut answered_by = [Vec::new(), Vec::new()];
    let mut failures_at_b = Vec::new();
    for (i, task) in load.into_iter().enumerate() {
        let (tokens, failures) = task.await.expect("client");
        if i % 2 == 1 {
            failures_at_b.extend(failures);
        }
        answered_by[i % 2].extend(tokens);
    }
    assert!(
        failures_at_b.is_empty(),
        "B failed while A died: {failures_at_b:?}"
    );
    assert!(
        !answered_by[0].is_empty(),
        "A answered before it was killed"
    );
    assert!(
        answered_by[1].len() > answered_by[0].len() / 2,
        "B kept serving"
    );
    for token in answered_by.iter().flatten() {
        assert!(
            introspect(&b, &p, token).await,
            "an answered token is recorded"
        );
    }
}

#[test]
fn apply_user_create_and_export_work_on_postgres_as_on_sqlite() {
    let url = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(fresh_database());
    let run = |args: &[&str]| {
        let out = latchkey()
            .args(args)
            .args(["--db", &url])
            .output()
            .expect("run latchkey");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{args:?}: {stderr}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let blueprint = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/blueprints/examples/example-app.yaml"
    );
    run(&["apply", blueprint]);
    run(&["user", "create", "alice", "--email", "alice@example.com"]);
    let exported = run(&["export"]);
    assert!(exported.contains("example-app"), "{exported}");
    assert!(exported.contains("alice@example.com"), "{exported}");
}

/// Starts a device authorization for `authentik-cli` at `at`, retrying while the instance has
/// not noticed the blueprint yet.
async fn device_authorization(at: &Instance) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (st, _, body) = oauth_post(
            &at.url("/application/o/device/"),
            None,
            &[("client_id", "authentik-cli")],
        )
        .await;
        if st == 200 {
            return body;
        }
        assert!(Instant::now() < deadline, "{st}: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn parallel_device_code_polls_over_two_instances_get_one_pending_and_slow_down() {
    let (service, a, b) = two_instances().await;
    service
        .apply_blueprints(&[latchkey::blueprint::Source {
            file: "authentik-cli.yaml".into(),
            text: include_str!("../../fixtures/blueprints/examples/authentik-cli.yaml").into(),
        }])
        .await
        .expect("blueprint");
    let started = device_authorization(&a).await;
    device_authorization(&b).await;
    let device_code = started["device_code"].as_str().expect("device_code");
    let token_urls = [
        a.url("/application/o/token/"),
        b.url("/application/o/token/"),
    ];
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", device_code),
        ("client_id", "authentik-cli"),
    ];
    let polls = (0..10).map(|i| oauth_post(&token_urls[i % 2], None, &form));
    let answers: Vec<String> = futures::future::join_all(polls)
        .await
        .into_iter()
        .map(|(_, _, body)| body["error"].as_str().unwrap_or("none").to_string())
        .collect();
    let pending = answers
        .iter()
        .filter(|e| *e == "authorization_pending")
        .count();
    let slow = answers.iter().filter(|e| *e == "slow_down").count();
    assert_eq!((pending, slow), (1, 9), "{answers:?}");
}
