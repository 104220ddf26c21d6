//! The store: migrations, pragmas, concurrency, change notification.

use std::sync::Arc;
use std::time::Duration;

use latchkey::domain::*;
use latchkey::store::{self, Store, StoreError, StoreLocation, Topic};

use crate::support::temp_store;

fn flow(slug: &str) -> Flow {
    Flow {
        id: new_id(),
        name: slug.into(),
        slug: slug.into(),
        title: slug.into(),
        designation: FlowDesignation::Authentication,
        authentication: FlowAuthentication::None,
        denied_action: DeniedAction::default(),
        policy_engine_mode: PolicyEngineMode::default(),
        layout: FlowLayout::default(),
        compatibility_mode: false,
        background: String::new(),
        created_at: 1,
        updated_at: 1,
        version: 1,
    }
}

#[tokio::test]
async fn migrations_create_every_table_on_an_empty_file() {
    let (_dir, store) = temp_store().await;
    let mut conn = store.read().await.expect("conn");
    assert!(
        store::flows::list(&mut conn)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store::users::list(&mut conn)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store::brands::list(&mut conn)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store::providers::list(&mut conn)
            .await
            .expect("list")
            .is_empty()
    );
}

#[tokio::test]
async fn reopening_a_migrated_file_keeps_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.db");
    {
        let store = Store::open(&StoreLocation::File(path.clone()))
            .await
            .expect("open");
        let mut tx = store.write_tx().await.expect("tx");
        store::flows::insert(tx.conn(), &flow("kept"))
            .await
            .expect("insert");
        tx.commit().await.expect("commit");
        store.close().await;
    }
    let store = Store::open(&StoreLocation::File(path))
        .await
        .expect("reopen");
    let mut conn = store.read().await.expect("conn");
    let flows = store::flows::list(&mut conn).await.expect("list");
    assert_eq!(flows.len(), 1);
    assert_eq!(flows[0].slug, "kept");
}

#[tokio::test]
async fn duplicate_slug_is_a_named_error_not_a_crash() {
    let (_dir, store) = temp_store().await;
    let mut tx = store.write_tx().await.expect("tx");
    store::flows::insert(tx.conn(), &flow("same"))
        .await
        .expect("first");
    let err = store::flows::insert(tx.conn(), &flow("same"))
        .await
        .expect_err("duplicate");
    match err {
        StoreError::Duplicate { field, value } => {
            assert_eq!(field, "slug");
            assert_eq!(value, "same");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn stale_update_is_refused() {
    let (_dir, store) = temp_store().await;
    let f = flow("v");
    let mut tx = store.write_tx().await.expect("tx");
    store::flows::insert(tx.conn(), &f).await.expect("insert");
    store::flows::update(
        tx.conn(),
        &Flow {
            name: "first".into(),
            ..f.clone()
        },
    )
    .await
    .expect("first update");
    let err = store::flows::update(
        tx.conn(),
        &Flow {
            name: "second".into(),
            ..f
        },
    )
    .await
    .expect_err("stale");
    assert!(matches!(err, StoreError::Stale { .. }), "{err:?}");
}

#[tokio::test]
async fn fifty_concurrent_writers_never_see_busy() {
    let (_dir, store) = temp_store().await;
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for i in 0..50 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = store.write_tx().await?;
            // Read-then-write inside the transaction: the pattern that deadlocks with BEGIN DEFERRED.
            let mut f = flow(&format!("flow-{i}"));
            f.name = format!("{} existing", store::flows::list(tx.conn()).await?.len());
            store::flows::insert(tx.conn(), &f).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(())
        }));
    }
    for t in tasks {
        t.await.expect("join").expect("no SQLITE_BUSY");
    }
    let mut conn = store.read().await.expect("conn");
    assert_eq!(store::flows::list(&mut conn).await.expect("list").len(), 50);
}

#[tokio::test]
async fn commit_publishes_change_and_rollback_does_not() {
    let (_dir, store) = temp_store().await;
    let mut rx = store.subscribe();
    {
        let mut tx = store.write_tx().await.expect("tx");
        store::flows::insert(tx.conn(), &flow("dropped"))
            .await
            .expect("insert");
        tx.touch(Topic::Flows);
        // dropped without commit: rolled back, nothing published
    }
    let mut tx = store.write_tx().await.expect("tx");
    store::flows::insert(tx.conn(), &flow("committed"))
        .await
        .expect("insert");
    tx.touch(Topic::Flows);
    tx.commit().await.expect("commit");
    let change = rx.recv().await.expect("change");
    assert_eq!(change.topic, Topic::Flows);
    let mut conn = store.read().await.expect("conn");
    let slugs: Vec<String> = store::flows::list(&mut conn)
        .await
        .expect("list")
        .into_iter()
        .map(|f| f.slug)
        .collect();
    assert_eq!(slugs, vec!["committed".to_string()]);
}

#[tokio::test]
async fn configuration_generation_moves_at_commit_and_only_for_configuration() {
    let (_dir, store) = temp_store().await;
    let g0 = store.config_generation();
    {
        let mut tx = store.write_tx().await.expect("tx");
        store::flows::insert(tx.conn(), &flow("rolled-back"))
            .await
            .expect("insert");
        tx.touch(Topic::Flows);
    }
    assert_eq!(store.config_generation(), g0, "a rollback changes nothing");
    let mut tx = store.write_tx().await.expect("tx");
    tx.touch(Topic::Tokens);
    tx.touch(Topic::Sessions);
    tx.commit().await.expect("commit");
    assert_eq!(
        store.config_generation(),
        g0,
        "tokens and sessions are not configuration"
    );
    let mut tx = store.write_tx().await.expect("tx");
    store::flows::insert(tx.conn(), &flow("kept"))
        .await
        .expect("insert");
    tx.touch(Topic::Flows);
    tx.commit().await.expect("commit");
    assert!(
        store.config_generation() > g0,
        "visible as soon as commit returns, before any listener runs"
    );
}

#[tokio::test]
async fn a_write_from_another_process_is_noticed_within_a_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("shared.db");
    let watcher = Store::open(&StoreLocation::File(path.clone()))
        .await
        .expect("open");
    let cancel = tokio_util::sync::CancellationToken::new();
    let mut rx = watcher.subscribe();
    watcher.spawn_external_change_poller(cancel.clone());
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A second, independent store on the same file stands in for another process: its
    // broadcast channel is its own, so only the poller can tell the watcher.
    let other = Store::open(&StoreLocation::File(path))
        .await
        .expect("open other");
    let mut tx = other.write_tx().await.expect("tx");
    store::flows::insert(tx.conn(), &flow("external"))
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    let change = tokio::time::timeout(Duration::from_millis(1500), rx.recv())
        .await
        .expect("noticed within 1.5 s")
        .expect("change");
    assert_eq!(change.topic, Topic::All);
    cancel.cancel();
}

#[tokio::test]
async fn pragmas_are_set() {
    // SQLite's own settings: on a SQLite file whichever engine the other tests use.
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&StoreLocation::File(dir.path().join("latchkey.db")))
        .await
        .expect("open");
    let mut conn = store.read().await.expect("conn");
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await
        .expect("journal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&mut *conn)
        .await
        .expect("fk");
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&mut *conn)
        .await
        .expect("sync");
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&mut *conn)
        .await
        .expect("busy");
    assert_eq!(journal, "wal");
    assert_eq!(fk, 1);
    assert_eq!(sync, 1, "NORMAL");
    assert_eq!(busy, 5000);
}

#[tokio::test]
async fn corrupt_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("corrupt.db");
    std::fs::write(&path, vec![0x42u8; 8192]).expect("write");
    let err = match Store::open(&StoreLocation::File(path)).await {
        Ok(_) => panic!("a corrupt file opened"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("not a latchkey/SQLite database"), "{err}");
}

#[tokio::test]
async fn memory_store_works_for_a_throwaway_instance() {
    let store = Store::open(&StoreLocation::Memory).await.expect("open");
    let mut tx = store.write_tx().await.expect("tx");
    store::flows::insert(tx.conn(), &flow("mem"))
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    let mut conn = store.read().await.expect("conn");
    assert_eq!(store::flows::list(&mut conn).await.expect("list").len(), 1);
}

fn access_token(i: usize, provider_id: &str, user_id: &str) -> store::grants::AccessToken {
    store::grants::AccessToken {
        id: new_id(),
        token_digest: format!("digest-{i}"),
        family_id: new_id(),
        provider_id: provider_id.into(),
        user_id: user_id.into(),
        session_id: None,
        scope: "openid".into(),
        claims: "{}".into(),
        auth_time: 1,
        expires_at: 2_000_000_000,
        revoked_at: None,
        created_at: 1,
    }
}

#[tokio::test]
async fn grouped_token_records_are_committed_before_each_caller_returns() {
    let (_dir, service) = crate::support::bootstrapped_service("http://x").await;
    let s = crate::server::create_oidc_app_on(&service, "batch").await;
    let admin = crate::flows_support::admin(&service).await;
    let store = service.store().clone();
    let mut tasks = Vec::new();
    for i in 0..64 {
        let store = store.clone();
        let t = access_token(i, &s.id, &admin.id);
        tasks.push(tokio::spawn(async move {
            store
                .record_tokens(t.clone(), None)
                .await
                .expect("recorded");
            // Visible the moment the call returns: the commit held this row.
            let mut conn = store.read().await.expect("conn");
            store::grants::find_access_token(&mut conn, &t.token_digest)
                .await
                .expect("query")
                .is_some()
        }));
    }
    for t in tasks {
        assert!(t.await.expect("join"), "recorded before the caller went on");
    }
    // A failing batch reports the failure to its callers (an unknown provider breaks the
    // foreign key), and nothing of it is written.
    let bad = access_token(1000, "no-such-provider", &admin.id);
    let err = store.record_tokens(bad.clone(), None).await;
    assert!(
        err.is_err(),
        "a foreign-key failure is an error, not a silent loss"
    );
    let mut conn = store.read().await.expect("conn");
    assert!(
        store::grants::find_access_token(&mut conn, &bad.token_digest)
            .await
            .expect("query")
            .is_none()
    );
}

#[tokio::test]
async fn a_bad_token_row_fails_only_its_own_caller_in_a_batch() {
    let (_dir, service) = crate::support::bootstrapped_service("http://x").await;
    let s = crate::server::create_oidc_app_on(&service, "batch").await;
    let admin = crate::flows_support::admin(&service).await;
    let store = service.store().clone();
    // Polled together on this test's single thread, all eleven are queued before the recorder
    // task first runs, so they share one batch; the tenth breaks a foreign key.
    let tokens: Vec<_> = (0..11)
        .map(|i| match i {
            9 => access_token(2000 + i, "no-such-provider", &admin.id),
            _ => access_token(2000 + i, &s.id, &admin.id),
        })
        .collect();
    let results =
        futures::future::join_all(tokens.iter().map(|t| store.record_tokens(t.clone(), None)))
            .await;
    let mut conn = store.read().await.expect("conn");
    for (i, (t, r)) in tokens.iter().zip(&results).enumerate() {
        let stored = store::grants::find_access_token(&mut conn, &t.token_digest)
            .await
            .expect("query")
            .is_some();
        if i == 9 {
            assert!(r.is_err(), "the bad row is refused");
            assert!(!stored, "and not written");
        } else {
            assert!(r.is_ok(), "token {i} is not failed by its neighbour: {r:?}");
            assert!(stored, "token {i} is recorded");
        }
    }
}

#[tokio::test]
async fn a_login_stamp_is_not_a_configuration_change_but_a_user_edit_is() {
    let (_dir, service) = crate::support::bootstrapped_service("http://x").await;
    let store = service.store().clone();
    let version = || {
        let store = store.clone();
        async move {
            let mut conn = store.read().await.expect("conn");
            sqlx::query_scalar::<_, i64>("SELECT config_version FROM meta WHERE id = 1")
                .fetch_one(&mut *conn)
                .await
                .expect("meta")
        }
    };
    let mut admin = crate::flows_support::admin(&service).await;
    let before = version().await;
    let mut tx = store.write_tx().await.expect("tx");
    store::logins::set_last_login(tx.conn(), &admin.id, 1_900_000_000)
        .await
        .expect("stamp");
    tx.commit().await.expect("commit");
    assert_eq!(
        version().await,
        before,
        "a login does not rebuild the configuration"
    );
    admin.name = "Renamed Admin".into();
    let mut tx = store.write_tx().await.expect("tx");
    store::users::update(tx.conn(), &admin)
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    assert!(version().await > before, "editing a user does");
}

#[tokio::test]
async fn code_exchanges_in_one_batch_consume_each_code_once() {
    use store::token_batch::Recorded;
    let (_dir, service) = crate::support::bootstrapped_service("http://x").await;
    let p = crate::server::create_oidc_app_on(&service, "batch").await;
    let admin = crate::flows_support::admin(&service).await;
    let store = service.store().clone();
    let code = |digest: &str| store::grants::AuthorizationCode {
        id: new_id(),
        code_digest: digest.into(),
        provider_id: p.id.clone(),
        user_id: admin.id.clone(),
        session_id: None,
        redirect_uri: "http://localhost:8080/cb".into(),
        scope: "openid".into(),
        nonce: None,
        code_challenge: None,
        code_challenge_method: None,
        auth_time: 1,
        expires_at: 2_000_000_000,
        consumed_at: None,
        created_at: 1,
    };
    let (a, b) = (code("code-a"), code("code-b"));
    let mut tx = store.write_tx().await.expect("tx");
    for c in [&a, &b] {
        store::grants::insert_code(tx.conn(), c)
            .await
            .expect("code");
    }
    tx.commit().await.expect("commit");
    // One batch (polled together before the recorder runs): code A twice, then code B with a
    // token that breaks a foreign key.
    let tokens = [
        access_token(3000, &p.id, &admin.id),
        access_token(3001, &p.id, &admin.id),
        access_token(3002, "no-such-provider", &admin.id),
    ];
    let results = futures::future::join_all([
        store.record_code_exchange(&a.id, 10, tokens[0].clone(), None),
        store.record_code_exchange(&a.id, 10, tokens[1].clone(), None),
        store.record_code_exchange(&b.id, 10, tokens[2].clone(), None),
    ])
    .await;
    assert_eq!(results[0].as_ref().ok(), Some(&Recorded::Stored));
    assert_eq!(
        results[1].as_ref().ok(),
        Some(&Recorded::CodeAlreadyUsed),
        "the second exchange of one code gets nothing"
    );
    assert!(results[2].is_err(), "a failed write is an error");
    let mut conn = store.read().await.expect("conn");
    let mut stored = Vec::new();
    for t in &tokens {
        stored.push(
            store::grants::find_access_token(&mut conn, &t.token_digest)
                .await
                .expect("query")
                .is_some(),
        );
    }
    assert_eq!(
        stored,
        [true, false, false],
        "only the first exchange's token"
    );
    let mut consumed = Vec::new();
    for digest in ["code-a", "code-b"] {
        consumed.push(
            store::grants::find_code(&mut conn, digest)
                .await
                .expect("query")
                .expect("code")
                .consumed_at,
        );
    }
    assert_eq!(
        consumed,
        [Some(10), None],
        "code A is used; code B, whose tokens could not be written, is not"
    );
}
