//! `latchkey store copy`, run as the real binary: a SQLite store with a live session and tokens
//! copied to PostgreSQL works there exactly as before (tokens introspect as active, the refresh
//! token refreshes, the session is still signed in, akadmin's password works, users keep their
//! numbers), PostgreSQL copies back to SQLite, and every refusal is one line with exit code 2
//! that leaves the target as it was. These tests need the cluster `.ci/test` starts.

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::sync::Arc;

use latchkey::context::{Config, SystemClock};
use latchkey::domain::Provider;
use latchkey::http::{self, AppState};
use latchkey::service::Service;
use latchkey::store::{Store, StoreLocation, rows};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::flows_support::{html_login, jar};
use crate::pg_support::fresh_database;
use crate::server::{APP_REDIRECT, browser_code_flow, client_credentials, create_oidc_app_on};
use crate::support::{ADMIN_PASSWORD, TestServer, oauth_post};

fn latchkey() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    cmd.env_remove("LATCHKEY_DB")
        .env_remove("LATCHKEY_LISTEN")
        .env_remove("LATCHKEY_BOOTSTRAP_PASSWORD");
    cmd
}

/// Runs `latchkey store copy --from FROM --to TO`.
fn store_copy(from: &str, to: &str) -> Output {
    latchkey()
        .args(["store", "copy", "--from", from, "--to", to])
        .output()
        .expect("run latchkey")
}

/// The rows per table a successful copy printed (its stdout), after asserting it succeeded.
fn copied(out: &Output) -> BTreeMap<String, i64> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    stdout
        .lines()
        .map(|line| {
            let (table, rest) = line.split_once(": ").expect("`table: N rows`");
            let n = rest.split(' ').next().expect("a count");
            (table.to_string(), n.parse().expect("a number"))
        })
        .collect()
}

/// The one-line error of a refused copy (exit code 2 asserted).
fn refusal(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "exit code; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(out.stdout.is_empty(), "nothing reported as copied");
    stderr
}

/// Rows per latchkey table.
async fn counts(store: &Store) -> BTreeMap<String, i64> {
    let mut conn = store.read().await.expect("conn");
    let tables: Vec<String> = sqlx::query_scalar(store.engine().tables_sql())
        .fetch_all(&mut *conn)
        .await
        .expect("tables");
    let mut out = BTreeMap::new();
    for t in tables {
        let n = rows::count_rows(&mut conn, &t).await.expect("count");
        out.insert(t, n);
    }
    out
}

/// (id, num_pk) of every user and group, the numbers the Agent turns into uid/gid.
async fn numbers(store: &Store) -> Vec<(String, i64)> {
    let mut conn = store.read().await.expect("conn");
    sqlx::query_as(
        "SELECT id, num_pk FROM users UNION ALL SELECT id, num_pk FROM groups ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("numbers")
}

/// Gives every user and group a number far from what the numbering trigger would pick (a
/// store that has seen deletions has such gaps), so a copy that lost them would show.
async fn renumber(store: &Store) {
    let mut tx = store.write_tx().await.expect("tx");
    sqlx::query("UPDATE users SET num_pk = num_pk + 40")
        .execute(tx.conn())
        .await
        .expect("users");
    sqlx::query("UPDATE groups SET num_pk = num_pk + 70")
        .execute(tx.conn())
        .await
        .expect("groups");
    tx.commit().await.expect("commit");
}

/// 150 groups (SQLite only), each the child of the one made after it: read in the source's
/// order, children come before their parents, in more rows than one INSERT statement takes, so
/// the copy must order a table's rows parents first.
async fn chain_of_groups(store: &Store) {
    let mut tx = store.write_tx().await.expect("tx");
    sqlx::raw_sql(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150) \
         INSERT INTO groups (id, name, created_at, updated_at, num_pk) \
         SELECT printf('chain-%03d', i), 'chain ' || i, 0, 0, 1000 + i FROM n; \
         UPDATE groups SET parent_id = printf('chain-%03d', CAST(substr(id, 7) AS INTEGER) + 1) \
         WHERE id LIKE 'chain-%' AND CAST(substr(id, 7) AS INTEGER) < 150;",
    )
    .execute(tx.conn())
    .await
    .expect("a chain of groups");
    tx.commit().await.expect("commit");
}

/// A bootstrapped store at `location` with an OIDC application.
async fn bootstrapped(location: &StoreLocation, public_url: &str) -> (Service, Provider) {
    let store = Store::open(location).await.expect("open");
    let service = Service::new(store, Config::new(public_url), Arc::new(SystemClock));
    service
        .bootstrap(Some(ADMIN_PASSWORD))
        .await
        .expect("bootstrap");
    let provider = create_oidc_app_on(&service, "app").await;
    (service, provider)
}

/// A server on `listener` over `service` (issuer: the service's public URL).
fn serve(listener: tokio::net::TcpListener, service: Service) -> TestServer {
    let base_url = format!("http://{}", listener.local_addr().expect("addr"));
    let cancel = CancellationToken::new();
    http::spawn_server(listener, AppState::new(service.clone()), cancel.clone());
    TestServer::from_parts(base_url, service, cancel, tempfile::tempdir().expect("dir"))
}

/// A server over the store at `location`, with the same public URL (so the same issuer) as
/// the server the tokens came from.
async fn serve_copy(location: &StoreLocation, public_url: &str) -> TestServer {
    let store = Store::open(location).await.expect("open the copy");
    let service = Service::new(store, Config::new(public_url), Arc::new(SystemClock));
    serve(http::bind("127.0.0.1:0").await.expect("bind"), service)
}

async fn introspect(s: &TestServer, p: &Provider, token: &str) -> bool {
    let (st, _, body) = oauth_post(
        &format!("{}/application/o/introspect/", s.base_url),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[("token", token)],
    )
    .await;
    assert_eq!(st, 200, "{body}");
    body["active"] == true
}

/// Where the authorize endpoint sends `browser`: with a signed-in session, straight back to
/// the application with a code (the provider consents implicitly); without, to a login flow.
async fn authorize_lands(s: &TestServer, browser: &reqwest::Client, p: &Provider) -> String {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &p.client_id)
        .append_pair("redirect_uri", APP_REDIRECT)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .finish();
    let res = browser
        .get(format!("{}/application/o/authorize/?{q}", s.base_url))
        .send()
        .await
        .expect("authorize");
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn str_of<'a>(body: &'a Value, key: &str) -> &'a str {
    body[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {body}"))
}

#[tokio::test]
async fn a_sqlite_store_copied_to_postgres_keeps_its_tokens_sessions_numbers_and_passwords() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("latchkey.db");
    let listener = http::bind("127.0.0.1:0").await.expect("bind");
    let public_url = format!("http://{}", listener.local_addr().expect("addr"));
    let (service, p) = bootstrapped(&StoreLocation::File(file.clone()), &public_url).await;
    renumber(service.store()).await;
    chain_of_groups(service.store()).await;
    let source = serve(listener, service);
    let browser = jar();
    let res = html_login(&browser, &source.base_url, "akadmin", ADMIN_PASSWORD).await;
    assert!(res.status().is_redirection(), "signed in at the source");
    let res = client_credentials(&source, &p, "openid").await;
    let cc: Value = res.json().await.expect("json");
    let cc_token = str_of(&cc, "access_token").to_string();
    let code =
        browser_code_flow(&source, &browser, &p, &[("scope", "openid offline_access")]).await;
    let (at, rt) = (
        str_of(&code, "access_token"),
        str_of(&code, "refresh_token"),
    );
    source.cancel.cancel();

    let url = fresh_database().await;
    let report = copied(&store_copy(&format!("sqlite:{}", file.display()), &url));
    let target = StoreLocation::Postgres(url);
    let copy = serve_copy(&target, &public_url).await;

    let (before, after) = (
        counts(source.service.store()).await,
        counts(copy.service.store()).await,
    );
    assert_eq!(before, after, "every table has the source's rows");
    for (table, n) in &before {
        let want = if table == "meta" { 0 } else { *n };
        assert_eq!(
            report.get(table).copied().unwrap_or(0),
            want,
            "{table} in {report:?}"
        );
    }
    assert!(
        before["sessions"] >= 1 && before["refresh_tokens"] >= 1,
        "{before:?}"
    );
    assert_eq!(
        numbers(source.service.store()).await,
        numbers(copy.service.store()).await
    );

    for token in [cc_token.as_str(), at, rt] {
        assert!(introspect(&copy, &p, token).await, "active on the copy");
    }
    let (st, _, refreshed) = oauth_post(
        &format!("{}/application/o/token/", copy.base_url),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await;
    assert_eq!(st, 200, "{refreshed}");
    assert!(introspect(&copy, &p, str_of(&refreshed, "access_token")).await);

    let signed_in = authorize_lands(&copy, &browser, &p).await;
    assert!(
        signed_in.starts_with(APP_REDIRECT) && signed_in.contains("code="),
        "{signed_in}"
    );
    let stranger = authorize_lands(&copy, &jar(), &p).await;
    assert!(
        !stranger.contains("code="),
        "a browser without the session: {stranger}"
    );
    let res = html_login(&jar(), &copy.base_url, "akadmin", ADMIN_PASSWORD).await;
    assert_eq!(
        res.status(),
        303,
        "akadmin signs in with its password on the copy"
    );
}

#[tokio::test]
async fn a_postgres_store_copies_to_a_sqlite_file_and_back() {
    let url = fresh_database().await;
    let listener = http::bind("127.0.0.1:0").await.expect("bind");
    let public_url = format!("http://{}", listener.local_addr().expect("addr"));
    let (service, p) = bootstrapped(&StoreLocation::Postgres(url.clone()), &public_url).await;
    renumber(service.store()).await;
    let source = serve(listener, service);
    let res = client_credentials(&source, &p, "openid").await;
    let cc: Value = res.json().await.expect("json");
    let token = str_of(&cc, "access_token").to_string();
    source.cancel.cancel();

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("backup").join("latchkey.db");
    copied(&store_copy(&url, &format!("sqlite:{}", file.display())));
    let back = fresh_database().await;
    copied(&store_copy(&file.display().to_string(), &back));

    let sqlite = serve_copy(&StoreLocation::File(file), &public_url).await;
    let postgres = serve_copy(&StoreLocation::Postgres(back), &public_url).await;
    let want = counts(source.service.store()).await;
    for copy in [&sqlite, &postgres] {
        assert_eq!(counts(copy.service.store()).await, want);
        assert_eq!(
            numbers(copy.service.store()).await,
            numbers(source.service.store()).await
        );
        assert!(
            introspect(copy, &p, &token).await,
            "active on {}",
            copy.base_url
        );
        let res = html_login(&jar(), &copy.base_url, "akadmin", ADMIN_PASSWORD).await;
        assert_eq!(res.status(), 303, "akadmin signs in on {}", copy.base_url);
    }
}

#[tokio::test]
async fn a_non_empty_target_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("latchkey.db");
    bootstrapped(&StoreLocation::File(file.clone()), "http://a.test").await;
    let url = fresh_database().await;
    let (target, _) = bootstrapped(&StoreLocation::Postgres(url.clone()), "http://b.test").await;
    let before = counts(target.store()).await;
    let err = refusal(&store_copy(&file.display().to_string(), &url));
    assert!(err.contains("is not empty"), "{err}");
    assert!(
        err.contains("applications: 1"),
        "names what it found: {err}"
    );
    assert!(err.contains("empty database"), "says what to do: {err}");
    assert_eq!(counts(target.store()).await, before, "nothing changed");
}

#[tokio::test]
async fn an_unknown_scheme_an_unreachable_target_a_missing_source_or_memory_is_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("latchkey.db");
    bootstrapped(&StoreLocation::File(file.clone()), "http://a.test").await;
    let from = file.display().to_string();

    let err = refusal(&store_copy(&from, "mysql://u@h:3306/db"));
    assert!(
        err.contains("--to mysql://") && err.contains("unknown store scheme"),
        "{err}"
    );
    let err = refusal(&store_copy("postgress://u@h/db", "x.db"));
    assert!(err.contains("--from postgress://"), "{err}");

    let err = refusal(&store_copy(
        &from,
        "postgres://latchkey@127.0.0.1:1/latchkey",
    ));
    assert!(err.contains("cannot reach the PostgreSQL server"), "{err}");

    let err = refusal(&store_copy(&from, &format!("sqlite:{from}")));
    assert!(err.contains("the same store"), "{err}");
    let err = refusal(&store_copy(&from, ":memory:"));
    assert!(err.contains("--to :memory: would be thrown away"), "{err}");
    let err = refusal(&store_copy(":memory:", &from));
    assert!(err.contains("nothing to copy"), "{err}");

    let missing = dir.path().join("nothing-here.db");
    let err = refusal(&store_copy(
        &missing.display().to_string(),
        &fresh_database().await,
    ));
    assert!(err.contains("there is no store there"), "{err}");
    assert!(!missing.exists(), "the source is never created");
}

#[tokio::test]
async fn a_source_at_another_schema_version_is_refused_naming_both_and_not_migrated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("latchkey.db");
    let (service, _) = bootstrapped(&StoreLocation::File(file.clone()), "http://a.test").await;
    let latest = schema_version(service.store()).await;
    // As a store last opened by the latchkey before the newest migration would record it.
    let mut conn = service.store().read().await.expect("conn");
    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = $1")
        .bind(latest)
        .execute(&mut *conn)
        .await
        .expect("forget the newest migration");
    drop(conn);
    let older = schema_version(service.store()).await;

    let url = fresh_database().await;
    let err = refusal(&store_copy(&file.display().to_string(), &url));
    assert!(err.contains(&format!("schema version {older}")), "{err}");
    assert!(err.contains(&format!("at {latest}")), "{err}");
    assert!(
        err.contains("upgrade the source first"),
        "says what to do: {err}"
    );
    assert_eq!(
        schema_version(service.store()).await,
        older,
        "the source is not migrated"
    );
    let target = Store::open(&StoreLocation::Postgres(url))
        .await
        .expect("open");
    assert_eq!(counts(&target).await["users"], 0);
}

async fn schema_version(store: &Store) -> i64 {
    let mut conn = store.read().await.expect("conn");
    sqlx::query_scalar("SELECT CAST(MAX(version) AS BIGINT) FROM _sqlx_migrations")
        .fetch_one(&mut *conn)
        .await
        .expect("version")
}

#[tokio::test]
async fn a_row_the_target_rejects_half_way_leaves_the_target_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("latchkey.db");
    let (service, _) = bootstrapped(&StoreLocation::File(file.clone()), "http://a.test").await;
    // SQLite stores a NUL character in text; PostgreSQL refuses it (22021). `users` comes after
    // flows, stages, groups, keys… in foreign-key order, so those are already inserted in the
    // target's transaction when this row fails it.
    let mut tx = service.store().write_tx().await.expect("tx");
    sqlx::query("UPDATE users SET name = 'Admin' || char(0) || 'istrator'")
        .execute(tx.conn())
        .await
        .expect("a NUL in a name");
    tx.commit().await.expect("commit");

    let url = fresh_database().await;
    let location = StoreLocation::Postgres(url.clone());
    let fresh = counts(&Store::open(&location).await.expect("open")).await;
    let err = refusal(&store_copy(&file.display().to_string(), &url));
    assert!(err.contains("cannot copy table users"), "{err}");
    assert!(err.contains("left empty"), "{err}");
    let target = Store::open(&location).await.expect("open");
    assert_eq!(counts(&target).await, fresh, "not one row stayed behind");
    assert!(fresh["flows"] == 0 && counts(service.store()).await["flows"] > 0);
    let mut conn = target.read().await.expect("conn");
    let meta: (i64, i64, i64) =
        sqlx::query_as("SELECT config_version, events_version, devices_version FROM meta")
            .fetch_one(&mut *conn)
            .await
            .expect("meta");
    assert_eq!(
        meta,
        (0, 0, 0),
        "the triggers' counter bumps were rolled back too"
    );
}

#[tokio::test]
async fn a_table_a_later_migration_adds_is_copied_without_being_listed_and_a_stray_one_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("latchkey.db");
    let (service, _) = bootstrapped(&StoreLocation::File(file.clone()), "http://a.test").await;
    let url = fresh_database().await;
    let target = Store::open(&StoreLocation::Postgres(url.clone()))
        .await
        .expect("open");
    let create = |flag: &str| {
        format!(
            "CREATE TABLE zz_later (id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES \
             users(id), pinned {flag} NOT NULL)"
        )
    };
    for (store, flag) in [(service.store(), "INTEGER"), (&target, "BOOLEAN")] {
        let mut conn = store.read().await.expect("conn");
        sqlx::raw_sql(sqlx::AssertSqlSafe(create(flag)))
            .execute(&mut *conn)
            .await
            .expect("create");
    }
    let mut conn = service.store().read().await.expect("conn");
    sqlx::query("INSERT INTO zz_later SELECT 'one', id, 1 FROM users")
        .execute(&mut *conn)
        .await
        .expect("insert");
    drop(conn);

    let report = copied(&store_copy(&file.display().to_string(), &url));
    assert_eq!(report.get("zz_later"), Some(&1), "{report:?}");
    let mut conn = target.read().await.expect("conn");
    let pinned: bool = sqlx::query_scalar("SELECT pinned FROM zz_later")
        .fetch_one(&mut *conn)
        .await
        .expect("a BOOLEAN got a bool");
    assert!(pinned);
    drop(conn);

    // A table the target does not have fails the copy by name instead of being left behind.
    let mut conn = service.store().read().await.expect("conn");
    sqlx::raw_sql("DROP TABLE zz_later; CREATE TABLE zz_stray (id TEXT PRIMARY KEY)")
        .execute(&mut *conn)
        .await
        .expect("create");
    drop(conn);
    let err = refusal(&store_copy(
        &file.display().to_string(),
        &fresh_database().await,
    ));
    assert!(err.contains("no table zz_stray"), "{err}");
}
