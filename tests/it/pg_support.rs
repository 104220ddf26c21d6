//! PostgreSQL for the tests: a fresh database per test on the throwaway cluster `.ci/test`
//! starts (`LATCHKEY_TEST_POSTGRES` names it). Tests that need PostgreSQL fail, never skip,
//! when it is not there.

#![allow(dead_code)]

use sqlx::Connection;

/// The variable naming the cluster: `postgres://USER@HOST:PORT/postgres`.
pub const SERVER_VAR: &str = "LATCHKEY_TEST_POSTGRES";
/// `LATCHKEY_TEST_ENGINE=postgres` puts every store of the shared setup on PostgreSQL.
pub const ENGINE_VAR: &str = "LATCHKEY_TEST_ENGINE";

/// The cluster's URL; panics with what to do when no cluster was started.
pub fn server_url() -> String {
    match std::env::var(SERVER_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{SERVER_VAR} is not set: this test needs a PostgreSQL server. Run the tests with \
             `bash .ci/test` (it starts a throwaway cluster), or start one with \
             `.ci/pg-cluster start /tmp/lk-pg` and export {SERVER_VAR}=$(cat /tmp/lk-pg/url)"
        ),
    }
}

/// True when the shared setup should use PostgreSQL.
pub fn engine_is_postgres() -> bool {
    match std::env::var(ENGINE_VAR).as_deref() {
        Ok("postgres") => true,
        Ok("sqlite") | Ok("") | Err(_) => false,
        Ok(other) => panic!("{ENGINE_VAR}={other}: use `postgres` or `sqlite`"),
    }
}

/// The URL of database `name` on the cluster.
pub fn database_url(name: &str) -> String {
    let mut url = url::Url::parse(&server_url()).expect("LATCHKEY_TEST_POSTGRES is not a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Creates an empty database with a unique name and returns its URL.
pub async fn fresh_database() -> String {
    let name = format!("lk_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::postgres::PgConnection::connect(&server_url())
        .await
        .expect("connect to the PostgreSQL test cluster");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    admin.close().await.expect("close");
    database_url(&name)
}

/// A fresh database, bootstrapped (akadmin with the tests' password) through a service of the
/// test's own, as the console or a first instance would; returns its URL and that service.
pub async fn bootstrapped_database() -> (String, latchkey::service::Service) {
    use latchkey::store::{Store, StoreLocation};
    let url = fresh_database().await;
    let store = Store::open(&StoreLocation::Postgres(url.clone()))
        .await
        .expect("open");
    let service = latchkey::service::Service::new(
        store,
        latchkey::context::Config::new("http://latchkey.test"),
        std::sync::Arc::new(latchkey::context::SystemClock),
    );
    service
        .bootstrap(Some(crate::support::ADMIN_PASSWORD))
        .await
        .expect("bootstrap");
    (url, service)
}
