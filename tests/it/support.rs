//! Shared setup: real SQLite files in temp dirs (or, with `LATCHKEY_TEST_ENGINE=postgres`, a
//! fresh database each on a real PostgreSQL server), a real listener on 127.0.0.1:0.

#![allow(dead_code)]

use std::sync::Arc;

use latchkey::blueprint::Source;
use latchkey::context::{Clock, Config, SystemClock};
use latchkey::http::{self, AppState};
use latchkey::service::Service;
use latchkey::store::{Store, StoreLocation};
use tokio_util::sync::CancellationToken;

/// The bootstrap password every test instance uses.
pub const ADMIN_PASSWORD: &str = "test-admin-password-1";

/// A fresh store file in its own temp dir (kept alive by the returned guard), or a fresh
/// PostgreSQL database when the tests run on that engine.
pub async fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let location = temp_location(dir.path()).await;
    let store = Store::open(&location).await.expect("open store");
    (dir, store)
}

/// Where a test's store lives: a file in `dir`, or a fresh PostgreSQL database.
pub async fn temp_location(dir: &std::path::Path) -> StoreLocation {
    if crate::pg_support::engine_is_postgres() {
        StoreLocation::Postgres(crate::pg_support::fresh_database().await)
    } else {
        StoreLocation::File(dir.join("latchkey.db"))
    }
}

/// A service over a fresh, bootstrapped store.
pub async fn bootstrapped_service(public_url: &str) -> (tempfile::TempDir, Service) {
    let (dir, store) = temp_store().await;
    let service = Service::new(store, Config::new(public_url), Arc::new(SystemClock));
    service
        .bootstrap(Some(ADMIN_PASSWORD))
        .await
        .expect("bootstrap");
    (dir, service)
}

/// A running server on 127.0.0.1:0 over a bootstrapped store.
pub struct TestServer {
    pub base_url: String,
    pub service: Service,
    pub cancel: CancellationToken,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// A server a test started itself (with its own store options), kept like the others.
    pub fn from_parts(
        base_url: String,
        service: Service,
        cancel: CancellationToken,
        dir: tempfile::TempDir,
    ) -> Self {
        Self {
            base_url,
            service,
            cancel,
            _dir: dir,
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Starts a real server; the public URL is the bound address.
pub async fn spawn_server() -> TestServer {
    let listener = http::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("addr"));
    let (dir, service) = bootstrapped_service(&base_url).await;
    let cancel = CancellationToken::new();
    http::spawn_server(listener, AppState::new(service.clone()), cancel.clone());
    TestServer {
        base_url,
        service,
        cancel,
        _dir: dir,
    }
}

/// Starts a real server over a bootstrapped store with an injected clock (a `ManualClock` for
/// expiry tests), after applying `blueprints` (YAML texts) so the first request sees them.
pub async fn spawn_server_with(clock: Arc<dyn Clock>, blueprints: &[String]) -> TestServer {
    let listener = http::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("addr"));
    let (dir, store) = temp_store().await;
    let service = Service::new(store, Config::new(&base_url), clock);
    service
        .bootstrap(Some(ADMIN_PASSWORD))
        .await
        .expect("bootstrap");
    if !blueprints.is_empty() {
        let sources: Vec<Source> = blueprints
            .iter()
            .enumerate()
            .map(|(i, text)| Source {
                file: format!("test-{i}.yaml"),
                text: text.clone(),
            })
            .collect();
        service
            .apply_blueprints(&sources)
            .await
            .expect("blueprints");
    }
    let cancel = CancellationToken::new();
    http::spawn_server(listener, AppState::new(service.clone()), cancel.clone());
    TestServer {
        base_url,
        service,
        cancel,
        _dir: dir,
    }
}

/// An HTTP client that does not follow redirects (tests look at each hop).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// POSTs a form to an OAuth endpoint, with Basic client authentication when given; returns the
/// status, the headers and the JSON body (`Null` when the body is not JSON).
pub async fn oauth_post(
    url: &str,
    auth: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let mut req = client().post(url).form(form);
    if let Some((id, secret)) = auth {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.json().await.unwrap_or(serde_json::Value::Null);
    (status, headers, body)
}

/// [`spawn_server`] with explicit connection limits (small timeouts for the abuse tests).
pub async fn spawn_server_limited(limits: http::Limits) -> TestServer {
    let listener = http::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("addr"));
    let (dir, service) = bootstrapped_service(&base_url).await;
    let cancel = CancellationToken::new();
    http::spawn_server_with_limits(
        listener,
        AppState::new(service.clone()),
        limits,
        cancel.clone(),
    );
    TestServer {
        base_url,
        service,
        cancel,
        _dir: dir,
    }
}

/// The policies of the bundled initial-setup flow (`flow-oobe.yaml`) are named so.
const INITIAL_SETUP_POLICY_PREFIX: &str = "default-oobe-";

/// The store's policies, without those of the bundled initial-setup flow: what a test made.
pub async fn own_policies(service: &Service) -> Vec<latchkey::domain::Policy> {
    service
        .list_policies()
        .await
        .expect("policies")
        .into_iter()
        .filter(|p| !p.name.starts_with(INITIAL_SETUP_POLICY_PREFIX))
        .collect()
}

/// The store's policy bindings, without those of the bundled initial-setup flow's policies.
pub async fn own_policy_bindings(service: &Service) -> Vec<latchkey::domain::PolicyBinding> {
    let setup: Vec<String> = service
        .list_policies()
        .await
        .expect("policies")
        .into_iter()
        .filter(|p| p.name.starts_with(INITIAL_SETUP_POLICY_PREFIX))
        .map(|p| p.id)
        .collect();
    service
        .list_policy_bindings()
        .await
        .expect("policy bindings")
        .into_iter()
        .filter(|b| {
            !matches!(&b.subject, latchkey::domain::BindingSubject::Policy(id) if setup.contains(id))
        })
        .collect()
}

/// Makes every `event` (`INSERT`, `UPDATE`, `DELETE`) on `table` fail with `message`, through
/// a trigger named `name` (each engine's own syntax): how tests make a store write fail for
/// real.
pub async fn block_writes(store: &Store, name: &str, event: &str, table: &str, message: &str) {
    let sql = match store.engine() {
        latchkey::store::Engine::Sqlite => format!(
            "CREATE TRIGGER {name} BEFORE {event} ON {table} \
             BEGIN SELECT RAISE(ABORT, '{message}'); END"
        ),
        latchkey::store::Engine::Postgres => format!(
            "CREATE FUNCTION {name}_fn() RETURNS trigger LANGUAGE plpgsql AS \
             $body$ BEGIN RAISE EXCEPTION '{message}'; END $body$; \
             CREATE TRIGGER {name} BEFORE {event} ON {table} \
             FOR EACH ROW EXECUTE FUNCTION {name}_fn();"
        ),
    };
    run_in_write_tx(store, sql, "create the blocking trigger").await;
}

/// Runs `sql` (DDL of a test's own) in one write transaction of `store`.
async fn run_in_write_tx(store: &Store, sql: String, what: &str) {
    let mut tx = store.write_tx().await.expect("tx");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(tx.conn())
        .await
        .expect(what);
    tx.commit().await.expect("commit");
}

/// Removes a trigger [`block_writes`] made.
pub async fn unblock_writes(store: &Store, name: &str, table: &str) {
    let sql = match store.engine() {
        latchkey::store::Engine::Sqlite => format!("DROP TRIGGER {name}"),
        latchkey::store::Engine::Postgres => {
            format!("DROP TRIGGER {name} ON {table}; DROP FUNCTION {name}_fn();")
        }
    };
    run_in_write_tx(store, sql, "drop the blocking trigger").await;
}

/// Makes every COMMIT of a transaction that inserted into `table` fail (the insert itself
/// succeeds): SQLite through a deferred foreign key the trigger `name` breaks, PostgreSQL
/// through a deferred constraint trigger that raises. How tests make a group commit fail for
/// real, after its rows were written.
pub async fn fail_commits_after_insert(store: &Store, name: &str, table: &str) {
    let sql = match store.engine() {
        latchkey::store::Engine::Sqlite => format!(
            "CREATE TABLE {name}_parent (id INTEGER PRIMARY KEY); \
             CREATE TABLE {name}_child (parent INTEGER \
                 REFERENCES {name}_parent(id) DEFERRABLE INITIALLY DEFERRED); \
             CREATE TRIGGER {name} AFTER INSERT ON {table} \
             BEGIN INSERT INTO {name}_child (parent) VALUES (1); END"
        ),
        latchkey::store::Engine::Postgres => format!(
            "CREATE FUNCTION {name}_fn() RETURNS trigger LANGUAGE plpgsql AS \
             $body$ BEGIN RAISE EXCEPTION 'commit refused by {name}'; END $body$; \
             CREATE CONSTRAINT TRIGGER {name} AFTER INSERT ON {table} \
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {name}_fn();"
        ),
    };
    run_in_write_tx(store, sql, "create the commit guard").await;
}

/// Removes what [`fail_commits_after_insert`] made.
pub async fn allow_commits(store: &Store, name: &str, table: &str) {
    let sql = match store.engine() {
        latchkey::store::Engine::Sqlite => {
            format!("DROP TRIGGER {name}; DROP TABLE {name}_child; DROP TABLE {name}_parent;")
        }
        latchkey::store::Engine::Postgres => {
            format!("DROP TRIGGER {name} ON {table}; DROP FUNCTION {name}_fn();")
        }
    };
    run_in_write_tx(store, sql, "drop the commit guard").await;
}

/// The claims of a JWT without checking its signature (the tests that need it verified use
/// `server::verify_jwt`).
pub fn unverified_claims(jwt: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64");
    serde_json::from_slice(&bytes).expect("json")
}
