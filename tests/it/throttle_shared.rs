//! The request throttles are shared through the database: two `Store`s (two pools, as two
//! instances have) on one PostgreSQL database spend one budget per key, all or none across
//! keys and exactly under parallel load, and the device authorization endpoint of two servers
//! on one database (in-process servers, and real `latchkey serve` processes) refuses the request
//! after the limit whichever server gets it. These tests need the cluster `.ci/test` starts and
//! fail without it; the last one (the Agent throttle's order) runs on the suite's engine.

use std::sync::Arc;

use latchkey::blueprint::Source;
use latchkey::context::{Clock, Config, Context, ManualClock};
use latchkey::http::{self, AppState, DEVICE_REQUESTS_PER_MINUTE};
use latchkey::oauth::throttle::{Throttle, ThrottleError};
use latchkey::service::Service;
use latchkey::service::device::{DeviceError, DeviceVerification, LOOKUP_TRIES, Requester};
use latchkey::store::throttle_buckets::{self, Rate, Take};
use latchkey::store::{Store, StoreLocation};
use tokio_util::sync::CancellationToken;

use crate::device::{CLI, field};
use crate::pg_support::fresh_database;
use crate::store_postgres::Instance;
use crate::support::{ADMIN_PASSWORD, TestServer, client};

const T0: i64 = 1_900_000_000;
const CLI_FIXTURE: &str = include_str!("../../fixtures/blueprints/examples/authentik-cli.yaml");

/// Two stores on one fresh PostgreSQL database: what two instances open.
async fn two_stores() -> (Store, Store) {
    let location = StoreLocation::Postgres(fresh_database().await);
    let a = Store::open(&location).await.expect("open A");
    let b = Store::open(&location).await.expect("open B");
    (a, b)
}

fn context(store: Store, clock: &Arc<ManualClock>) -> Context {
    let clock: Arc<dyn Clock> = clock.clone();
    Context::new(store, Config::new("http://latchkey.test"), clock)
}

/// `None`: granted; `Some(s)`: refused, retry in `s` seconds.
async fn try_at(t: &Throttle, ctx: &Context, keys: &[&str]) -> Option<u64> {
    let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    match t.try_acquire(ctx, &keys).await {
        Ok(()) => None,
        Err(ThrottleError::Throttled { retry_after }) => Some(retry_after),
        Err(ThrottleError::Store(e)) => panic!("the store failed: {e}"),
    }
}

#[tokio::test]
async fn two_stores_on_one_database_spend_one_budget() {
    let (a, b) = two_stores().await;
    let clock = Arc::new(ManualClock::new(T0));
    let (at_a, at_b) = (context(a, &clock), context(b, &clock));
    // Each instance has its own throttle value, as each process does.
    let (t_a, t_b) = (Throttle::new("test", 4, 60), Throttle::new("test", 4, 60));
    for _ in 0..2 {
        assert_eq!(try_at(&t_a, &at_a, &["ip:1"]).await, None);
        assert_eq!(try_at(&t_b, &at_b, &["ip:1"]).await, None);
    }
    // Four tries a minute over both: the fifth waits for the refill (one every 15 s) at either.
    assert_eq!(try_at(&t_a, &at_a, &["ip:1"]).await, Some(15));
    assert_eq!(try_at(&t_b, &at_b, &["ip:1"]).await, Some(15));
    clock.advance(15);
    assert_eq!(
        try_at(&t_b, &at_b, &["ip:1"]).await,
        None,
        "refilled for both"
    );
    assert_eq!(try_at(&t_a, &at_a, &["ip:1"]).await, Some(15));
}

#[tokio::test]
async fn a_take_over_several_keys_is_all_or_none_across_instances() {
    let (a, b) = two_stores().await;
    let clock = Arc::new(ManualClock::new(T0));
    let (at_a, at_b) = (context(a, &clock), context(b, &clock));
    let (t_a, t_b) = (Throttle::new("test", 2, 60), Throttle::new("test", 2, 60));
    assert_eq!(try_at(&t_a, &at_a, &["ip:1", "session:s"]).await, None);
    assert_eq!(try_at(&t_b, &at_b, &["session:s"]).await, None);
    // The session is spent (through B): A's take for IP and session takes nothing.
    assert_eq!(try_at(&t_a, &at_a, &["ip:1", "session:s"]).await, Some(30));
    assert_eq!(try_at(&t_b, &at_b, &["ip:1", "session:other"]).await, None);
    assert_eq!(
        try_at(&t_a, &at_a, &["ip:1"]).await,
        Some(30),
        "the IP had exactly one try left"
    );
}

#[tokio::test]
async fn parallel_tries_over_two_instances_get_exactly_the_budget() {
    let (a, b) = two_stores().await;
    let clock = Arc::new(ManualClock::new(T0));
    let (at_a, at_b) = (context(a, &clock), context(b, &clock));
    let t_a = Arc::new(Throttle::new("test", 10, 3600));
    let t_b = Arc::new(Throttle::new("test", 10, 3600));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..30 {
        let (ctx, t) = if i % 2 == 0 {
            (at_a.clone(), t_a.clone())
        } else {
            (at_b.clone(), t_b.clone())
        };
        tasks.spawn(async move { try_at(&t, &ctx, &["ip:1"]).await.is_none() });
    }
    let mut granted = 0;
    while let Some(done) = tasks.join_next().await {
        granted += usize::from(done.expect("task"));
    }
    assert_eq!(granted, 10, "ten tries in all, not ten per instance");
}

/// The bucket maths of the store's unit tests, on PostgreSQL: refill, the cap, retry-after.
#[tokio::test]
async fn the_bucket_maths_is_the_same_on_postgresql() {
    let (store, _) = two_stores().await;
    let take_at = async |keys: &[&str], rate: Rate, now: i64| {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        let mut tx = store.write_tx().await.expect("tx");
        let took = throttle_buckets::take(tx.conn(), &keys, rate, now)
            .await
            .expect("take");
        tx.commit().await.expect("commit");
        took
    };
    let rate = Rate::new(10, 60);
    for _ in 0..10 {
        assert_eq!(take_at(&["k"], rate, 0).await, Take::Taken);
    }
    assert_eq!(
        take_at(&["k"], rate, 0).await,
        Take::Exhausted { retry_after: 6 }
    );
    assert_eq!(
        take_at(&["k"], rate, 5).await,
        Take::Exhausted { retry_after: 1 }
    );
    assert_eq!(take_at(&["k"], rate, 6).await, Take::Taken);
    // Past a whole period the bucket is full, not more.
    for _ in 0..10 {
        assert_eq!(take_at(&["k", "j"], rate, 10_000).await, Take::Taken);
    }
    assert_eq!(
        take_at(&["j", "k"], rate, 10_000).await,
        Take::Exhausted { retry_after: 6 }
    );
    let mut conn = store.read().await.expect("conn");
    let left = throttle_buckets::stored_tokens(&mut conn, "j")
        .await
        .expect("read");
    assert_eq!(left, Some(0), "all or none: nothing taken from j either");
}

#[tokio::test]
async fn user_code_lookups_count_across_instances() {
    let (a, b) = two_stores().await;
    let clock = Arc::new(ManualClock::new(T0));
    let seams = [
        DeviceVerification::new(context(a, &clock)),
        DeviceVerification::new(context(b, &clock)),
    ];
    let who = Requester {
        ip: "10.0.0.1",
        session_id: None,
    };
    for i in 0..LOOKUP_TRIES as usize {
        let refused = seams[i % 2].lookup_user_code("BCDF-GHJK", who).await;
        assert!(
            matches!(refused, Err(DeviceError::InvalidCode)),
            "try {i}: {refused:?}"
        );
    }
    for seam in &seams {
        assert!(matches!(
            seam.lookup_user_code("BCDF-GHJK", who).await,
            Err(DeviceError::Throttled { retry_after: 6 })
        ));
    }
}

/// A server on `location`, with the shared clock; the first one bootstraps the store.
async fn server_on(location: &StoreLocation, clock: &Arc<ManualClock>, first: bool) -> TestServer {
    let listener = http::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("addr"));
    let store = Store::open(location).await.expect("open");
    let clock: Arc<dyn Clock> = clock.clone();
    let service = Service::new(store, Config::new(&base_url), clock);
    if first {
        service
            .bootstrap(Some(ADMIN_PASSWORD))
            .await
            .expect("bootstrap");
        let cli = Source {
            file: "authentik-cli.yaml".into(),
            text: CLI_FIXTURE.into(),
        };
        service.apply_blueprints(&[cli]).await.expect("blueprint");
    }
    let cancel = CancellationToken::new();
    http::spawn_server(listener, AppState::new(service.clone()), cancel.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    TestServer::from_parts(base_url, service, cancel, dir)
}

async fn device_authorization(s: &TestServer) -> (u16, Option<String>, serde_json::Value) {
    let res = client()
        .post(format!("{}/application/o/device/", s.base_url))
        .form(&[("client_id", CLI)])
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, retry, res.json().await.unwrap_or_default())
}

#[tokio::test]
async fn device_authorization_is_throttled_across_two_servers_on_one_database() {
    let location = StoreLocation::Postgres(fresh_database().await);
    let clock = Arc::new(ManualClock::new(T0));
    let a = server_on(&location, &clock, true).await;
    let b = server_on(&location, &clock, false).await;
    let servers = [&a, &b];
    let limit = DEVICE_REQUESTS_PER_MINUTE as usize;
    for i in 0..limit {
        let (status, _, body) = device_authorization(servers[i % 2]).await;
        assert_eq!(status, 200, "request {i}: {body}");
        assert!(!field(&body, "device_code").is_empty(), "{body}");
    }
    // The limit is one client IP's over both servers together: each refuses the next request.
    for s in servers {
        let (status, retry, body) = device_authorization(s).await;
        assert_eq!(status, 429, "{}: {body}", s.base_url);
        assert_eq!(field(&body, "error"), "temporarily_unavailable");
        assert_eq!(retry.as_deref(), Some("2"), "30 a minute: one every 2 s");
        assert!(
            field(&body, "error_description").contains("retry in 2 seconds"),
            "{body}"
        );
    }
    clock.advance(2);
    assert_eq!(device_authorization(&b).await.0, 200, "one try refilled");
    assert_eq!(device_authorization(&a).await.0, 429, "and taken at B");
}

#[tokio::test]
async fn device_authorization_is_throttled_across_two_latchkey_serve_processes() {
    let (url, service) = crate::pg_support::bootstrapped_database().await;
    let cli = Source {
        file: "authentik-cli.yaml".into(),
        text: CLI_FIXTURE.into(),
    };
    service.apply_blueprints(&[cli]).await.expect("blueprint");
    let instances = [Instance::start(&url), Instance::start(&url)];
    let started = std::time::Instant::now();
    let (mut granted, mut refused) = (0, [0, 0]);
    // 1.5 times one instance's limit, alternating: unshared, each would grant all of its share.
    for i in 0..DEVICE_REQUESTS_PER_MINUTE as usize * 3 / 2 {
        let res = client()
            .post(instances[i % 2].url("/application/o/device/"))
            .form(&[("client_id", CLI)])
            .send()
            .await
            .expect("request");
        match res.status().as_u16() {
            200 => granted += 1,
            429 => {
                assert!(res.headers().get("retry-after").is_some(), "Retry-After");
                refused[i % 2] += 1;
            }
            other => panic!(
                "request {i}: {other} {}",
                res.text().await.unwrap_or_default()
            ),
        }
    }
    // The real clock runs: a try refills every 2 s while the requests go out.
    let refilled = started.elapsed().as_secs() as usize / 2 + 1;
    let limit = DEVICE_REQUESTS_PER_MINUTE as usize;
    assert!(
        (limit..=limit + refilled).contains(&granted),
        "{granted} granted over both; one client IP may start {limit} a minute"
    );
    assert!(
        refused.iter().all(|&n| n > 0),
        "each process refused: {refused:?}"
    );
}

/// One Agent API call with `Authorization: Bearer+agent <key>`: its status.
async fn agent_call(s: &TestServer, key: &str) -> u16 {
    client()
        .get(format!(
            "{}/api/v3/endpoints/agents/connectors/agent_config/",
            s.base_url
        ))
        .header("Authorization", format!("Bearer+agent {key}"))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[tokio::test]
async fn an_agent_call_spends_the_ips_try_even_when_its_tokens_bucket_is_empty() {
    let listener = http::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("addr"));
    let (dir, service) = crate::support::bootstrapped_service(&base_url).await;
    let mut state = AppState::new(service.clone());
    state.agent_throttle = Arc::new(http::AgentThrottle::new(2, 3));
    let cancel = CancellationToken::new();
    http::spawn_server(listener, state, cancel.clone());
    let s = TestServer::from_parts(base_url, service, cancel, dir);
    // Wrong keys are refused (403) but cost a try of the key and of the IP alike.
    assert_eq!(agent_call(&s, "a").await, 403);
    assert_eq!(agent_call(&s, "a").await, 403);
    assert_eq!(
        agent_call(&s, "a").await,
        429,
        "key a spent (the IP's third try)"
    );
    assert_eq!(
        agent_call(&s, "b").await,
        429,
        "the IP spent, whatever the key"
    );
}
