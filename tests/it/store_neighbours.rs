//! Another process writing the same store (`latchkey apply`, `latchkey user create`, a console
//! in another process) never makes a request fail: writes queue behind its lock, and only a lock
//! held past the busy deadline is answered — with a retryable 503, never a 500.

use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey::context::{Config, SystemClock};
use latchkey::http::{self, AppState};
use latchkey::service::Service;
use latchkey::store::{Store, StoreLocation, StoreOptions};
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio_util::sync::CancellationToken;

use crate::server::{client_credentials, create_oidc_app};
use crate::support::{ADMIN_PASSWORD, TestServer, spawn_server};

/// A connection of its own to the store: to the database it is another process.
enum Neighbour {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

async fn neighbour(s: &TestServer) -> Neighbour {
    match s.service.store().location().clone() {
        StoreLocation::File(path) => {
            let opts = SqliteConnectOptions::new()
                .filename(path)
                .busy_timeout(Duration::from_secs(30));
            Neighbour::Sqlite(
                SqliteConnection::connect_with(&opts)
                    .await
                    .expect("neighbour"),
            )
        }
        StoreLocation::Postgres(url) => {
            Neighbour::Postgres(PgConnection::connect(&url).await.expect("neighbour"))
        }
        StoreLocation::Memory => panic!("a shared store"),
    }
}

/// Holds the write lock for `hold` (SQLite's `BEGIN IMMEDIATE`, PostgreSQL's writer lock, as
/// another latchkey process takes them), writing an event row, then commits.
async fn write_while_holding(conn: &mut Neighbour, hold: Duration) {
    let insert = "INSERT INTO events (id, action, created_at, expires_at) \
                  VALUES ($1, 'neighbour', 0, 0)";
    match conn {
        Neighbour::Sqlite(conn) => {
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut *conn)
                .await
                .expect("begin");
            sqlx::query(insert)
                .bind(latchkey::domain::new_id())
                .execute(&mut *conn)
                .await
                .expect("insert");
            tokio::time::sleep(hold).await;
            sqlx::query("COMMIT")
                .execute(&mut *conn)
                .await
                .expect("commit");
        }
        Neighbour::Postgres(conn) => {
            let mut tx = conn.begin().await.expect("begin");
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(latchkey::store::WRITER_LOCK_KEY)
                .execute(&mut *tx)
                .await
                .expect("lock");
            sqlx::query(insert)
                .bind(latchkey::domain::new_id())
                .execute(&mut *tx)
                .await
                .expect("insert");
            tokio::time::sleep(hold).await;
            tx.commit().await.expect("commit");
        }
    }
}

#[tokio::test]
async fn a_neighbour_writing_all_the_time_never_fails_a_token_request() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "neighbours").await;
    let mut other = neighbour(&s).await;
    let until = Instant::now() + Duration::from_secs(3);
    let writer = async {
        let mut n = 0;
        while Instant::now() < until {
            // A transaction of 150 ms every ~170 ms: the lock is free only briefly.
            write_while_holding(&mut other, Duration::from_millis(150)).await;
            n += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        n
    };
    let requests = async {
        let mut statuses = Vec::new();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (s, p) = (&s, &p);
            tasks.push(async move {
                let mut got = Vec::new();
                while Instant::now() < until {
                    got.push(client_credentials(s, p, "openid").await.status().as_u16());
                }
                got
            });
        }
        for got in futures::future::join_all(tasks).await {
            statuses.extend(got);
        }
        statuses
    };
    let (written, statuses) = tokio::join!(writer, requests);
    assert!(written >= 10, "the neighbour wrote {written} times");
    assert!(statuses.len() >= 10, "{} requests", statuses.len());
    let failed: Vec<_> = statuses.iter().filter(|s| **s != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {} failed: {failed:?}",
        failed.len(),
        statuses.len()
    );
}

/// A server whose store gives up on a neighbour's lock after `busy` (the default is seconds).
async fn spawn_with_busy_timeout(busy: Duration) -> TestServer {
    let listener = http::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("addr"));
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open_with(
        &crate::support::temp_location(dir.path()).await,
        StoreOptions { busy_timeout: busy },
    )
    .await
    .expect("open");
    let service = Service::new(store, Config::new(&base_url), Arc::new(SystemClock));
    service
        .bootstrap(Some(ADMIN_PASSWORD))
        .await
        .expect("bootstrap");
    let cancel = CancellationToken::new();
    http::spawn_server(listener, AppState::new(service.clone()), cancel.clone());
    TestServer::from_parts(base_url, service, cancel, dir)
}

#[tokio::test]
async fn a_lock_held_past_the_deadline_is_a_retryable_503_not_a_500() {
    let s = spawn_with_busy_timeout(Duration::from_millis(300)).await;
    let p = create_oidc_app(&s, "held").await;
    assert_eq!(client_credentials(&s, &p, "openid").await.status(), 200);

    let mut other = neighbour(&s).await;
    let holder = write_while_holding(&mut other, Duration::from_secs(2));
    let request = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        client_credentials(&s, &p, "openid").await
    };
    let ((), res) = tokio::join!(holder, request);
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: serde_json::Value = res.json().await.expect("json");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    // Once the neighbour committed, the very next request succeeds.
    assert_eq!(client_credentials(&s, &p, "openid").await.status(), 200);
}

/// A blueprint of `n` users (no passwords: hashing is not what is measured here).
fn users_blueprint(n: usize) -> String {
    let mut text = String::from("version: 1\nmetadata:\n  name: many users\nentries:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - model: authentik_core.user\n    identifiers:\n      username: user{i}\n    \
             attrs:\n      name: User {i}\n      email: user{i}@example.com\n"
        ));
    }
    text
}

#[tokio::test]
async fn an_apply_is_planned_without_the_write_lock() {
    // The store gives up on a held lock after 300 ms: anything that needs the write lock while
    // the neighbour holds it for a second fails.
    let s = spawn_with_busy_timeout(Duration::from_millis(300)).await;
    let sources = [latchkey::service::blueprints::Source {
        file: "many.yaml".into(),
        text: users_blueprint(300),
    }];
    let mut other = neighbour(&s).await;
    let held = write_while_holding(&mut other, Duration::from_secs(1));
    let preview = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        s.service.preview_blueprints(&sources).await
    };
    let ((), preview) = tokio::join!(held, preview);
    let preview = preview.expect("a preview is a plan on a read: it never needs the lock");
    assert_eq!(preview.created, 300);
    let applied = s.service.apply_blueprints(&sources).await.expect("apply");
    assert_eq!(applied.created, 300);
    assert_eq!(
        s.service
            .apply_blueprints(&sources)
            .await
            .expect("again")
            .unchanged,
        300,
        "re-applying changes nothing"
    );
}
