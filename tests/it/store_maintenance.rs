//! The maintenance sweep: expired codes, tokens, sessions and old events leave the store (on a
//! clock jumped past their expiry), what is still live or still needed to catch a replay stays.

use std::sync::Arc;

use latchkey::context::{EventSubject, ManualClock};
use latchkey::store::maintenance::Retention;
use latchkey::store::{self, sessions::SessionRow};
use serde_json::json;

use crate::server::{client_credentials, create_oidc_app};
use crate::support::spawn_server_with;

const T0: i64 = 1_800_000_000;

async fn count(s: &crate::support::TestServer, table: &str) -> i64 {
    let mut conn = s.service.store().read().await.expect("conn");
    sqlx_count(&mut conn, table).await
}

async fn sqlx_count(conn: &mut latchkey::store::Conn, table: &str) -> i64 {
    store::rows::count_rows(conn, table).await.expect("count")
}

fn session(id: &str, now: i64, lifetime: i64) -> SessionRow {
    SessionRow {
        id: id.into(),
        key_digest: format!("digest-{id}"),
        user_id: None,
        data: "{}".into(),
        client_ip: "127.0.0.1".into(),
        user_agent: String::new(),
        created_at: now,
        last_seen: now,
        idle_expires_at: now + lifetime,
        expires_at: now + lifetime,
    }
}

#[tokio::test]
async fn maintenance_sweeps_what_expired_and_keeps_what_is_live() {
    let clock = Arc::new(ManualClock::new(T0));
    let s = spawn_server_with(clock.clone(), &[]).await;
    let p = create_oidc_app(&s, "swept").await;
    for _ in 0..3 {
        assert_eq!(client_credentials(&s, &p, "openid").await.status(), 200);
    }
    {
        let mut tx = s.service.store().write_tx().await.expect("tx");
        store::sessions::insert(tx.conn(), &session("short", T0, 60))
            .await
            .expect("session");
        store::sessions::insert(tx.conn(), &session("long", T0, 30 * 86400))
            .await
            .expect("session");
        tx.commit().await.expect("commit");
    }
    s.service
        .context()
        .record_event("login", EventSubject::default(), json!({}))
        .await
        .expect("event");
    let retention = Retention::default();
    assert_eq!(count(&s, "access_tokens").await, 3);
    // Bootstrap's and the setup's own changes are events too.
    let events = count(&s, "events").await;
    assert!(events > 1, "{events}");

    // Nothing has expired yet: nothing goes.
    let swept = s
        .service
        .store()
        .sweep(clock_now(&clock), retention)
        .await
        .expect("sweep");
    assert_eq!(swept.total(), 0, "{swept:?}");

    // Past the access tokens' hour but within the grace: they stay (a replay is still known).
    clock.advance(3600 + 60);
    let swept = s
        .service
        .store()
        .sweep(clock_now(&clock), retention)
        .await
        .expect("sweep");
    assert_eq!(swept.count("access_tokens"), 0);
    assert_eq!(
        swept.count("sessions"),
        0,
        "the short session is within its grace"
    );

    // Past expiry plus grace: the tokens and the short session go, the rest stays.
    clock.advance(retention.grace);
    assert_eq!(client_credentials(&s, &p, "openid").await.status(), 200);
    let swept = s
        .service
        .store()
        .sweep(clock_now(&clock), retention)
        .await
        .expect("sweep");
    assert_eq!(swept.count("access_tokens"), 3, "{swept:?}");
    assert_eq!(swept.count("sessions"), 1, "{swept:?}");
    assert_eq!(count(&s, "access_tokens").await, 1, "the fresh token stays");
    assert_eq!(count(&s, "sessions").await, 1, "the long session stays");
    assert_eq!(count(&s, "events").await, events, "events live a year");

    // A year later the event goes too.
    clock.advance(366 * 86400);
    let swept = s
        .service
        .store()
        .sweep(clock_now(&clock), retention)
        .await
        .expect("sweep");
    assert_eq!(
        i64::try_from(swept.count("events")).ok(),
        Some(events),
        "{swept:?}"
    );
    assert_eq!(count(&s, "events").await, 0);
}

#[tokio::test]
async fn maintenance_deletes_in_batches_and_loses_nothing_live() {
    let clock = Arc::new(ManualClock::new(T0));
    let s = spawn_server_with(clock.clone(), &[]).await;
    let n = store::maintenance::BATCH as usize * 2 + 7;
    {
        let mut tx = s.service.store().write_tx().await.expect("tx");
        for i in 0..n {
            store::sessions::insert(tx.conn(), &session(&format!("s{i}"), T0, 60))
                .await
                .expect("session");
        }
        store::sessions::insert(tx.conn(), &session("live", T0, 86400 * 7))
            .await
            .expect("session");
        tx.commit().await.expect("commit");
    }
    clock.advance(60 + Retention::default().grace + 1);
    let swept = s
        .service
        .store()
        .sweep(clock_now(&clock), Retention::default())
        .await
        .expect("sweep");
    assert_eq!(swept.count("sessions"), n as u64);
    assert_eq!(count(&s, "sessions").await, 1);
}

fn clock_now(clock: &ManualClock) -> i64 {
    latchkey::context::Clock::now(clock)
}
