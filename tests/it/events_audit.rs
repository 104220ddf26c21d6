//! The audit trail's queries (issue 20): every criterion of `EventFilter` narrows the store's
//! answer on a real store (each case lists exactly the events it must return, so an ignored
//! criterion fails it), the cursor query hands out what comes after, a follower hands out each
//! event once even when one commits late, and `latchkey events` through the real binary:
//! JSON Lines in authentik's shape, `--action`, `--since` refusing garbage, `--follow`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey::context::{Config, Context, EventSubject, SystemClock};
use latchkey::domain::{Event, EventCursor, EventFilter, UserMatch};
use latchkey::service::Service;
use latchkey::store::{self, Store, StoreLocation};
use serde_json::{Value, json};

use crate::support::temp_store;

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600;

/// `(id, action, username, app, client ip, origin, seconds after T0)`.
type Spec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    i64,
);

/// The fixed trail every test here starts from.
const TRAIL: &[Spec] = &[
    ("e1", "login", "ann", "grafana", "10.0.0.1", "http", 0),
    ("e2", "login_failed", "Annabel", "", "10.0.0.2", "http", 10),
    ("e3", "model_updated", "root@host", "", "", "console", 20),
    (
        "e4",
        "model_created",
        "bob",
        "",
        "",
        "blueprint default-flows",
        30,
    ),
    ("e5", "logout", "bob", "wiki", "10.0.0.1", "http", 40),
    ("e6", "model_deleted", "bob", "", "", "blueprints", 50),
    ("e7", "login", "50%_off", "", "10.0.0.3", "http", 60),
];

fn event((id, action, user, app, ip, origin, at): Spec) -> Event {
    Event {
        id: id.to_string(),
        action: action.to_string(),
        username: user.to_string(),
        user_id: (!user.contains('@')).then(|| format!("u-{user}")),
        app: app.to_string(),
        client_ip: ip.to_string(),
        origin: origin.to_string(),
        context: json!({"model": {"app": "authentik_core", "model_name": "user", "name": user}}),
        brand: String::new(),
        created_at: T0 + at,
    }
}

async fn insert(store: &Store, events: &[Event]) {
    let mut tx = store.write_tx().await.expect("tx");
    for e in events {
        store::events::insert(tx.conn(), e).await.expect("insert");
    }
    tx.commit().await.expect("commit");
}

async fn trail_store() -> (tempfile::TempDir, Store) {
    let (dir, store) = temp_store().await;
    insert(
        &store,
        &TRAIL.iter().copied().map(event).collect::<Vec<_>>(),
    )
    .await;
    (dir, store)
}

fn ids(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.id.as_str()).collect()
}

fn filter() -> EventFilter {
    EventFilter {
        limit: 100,
        ..EventFilter::default()
    }
}

#[tokio::test]
async fn every_criterion_narrows_the_indexed_query() {
    let (_dir, store) = trail_store().await;
    let exact = |u: &str| Some(UserMatch::Exact(u.into()));
    let contains = |u: &str| Some(UserMatch::Contains(u.into()));
    let cases: Vec<(&str, EventFilter, Vec<&str>)> = vec![
        (
            "nothing",
            filter(),
            vec!["e7", "e6", "e5", "e4", "e3", "e2", "e1"],
        ),
        (
            "one action",
            EventFilter {
                actions: vec!["login".into()],
                ..filter()
            },
            vec!["e7", "e1"],
        ),
        (
            "two actions",
            EventFilter {
                actions: vec!["login".into(), "logout".into()],
                ..filter()
            },
            vec!["e7", "e5", "e1"],
        ),
        (
            "exact user",
            EventFilter {
                user: exact("ann"),
                ..filter()
            },
            vec!["e1"],
        ),
        (
            "exact user is exact",
            EventFilter {
                user: exact("Ann"),
                ..filter()
            },
            vec![],
        ),
        (
            "user substring ignores case",
            EventFilter {
                user: contains("ANN"),
                ..filter()
            },
            vec!["e2", "e1"],
        ),
        (
            "a % is no wildcard",
            EventFilter {
                user: contains("%"),
                ..filter()
            },
            vec!["e7"],
        ),
        (
            "a _ is no wildcard",
            EventFilter {
                user: contains("0_"),
                ..filter()
            },
            vec![],
        ),
        (
            "%_ literally",
            EventFilter {
                user: contains("%_"),
                ..filter()
            },
            vec!["e7"],
        ),
        (
            "application",
            EventFilter {
                app: Some("grafana".into()),
                ..filter()
            },
            vec!["e1"],
        ),
        (
            "client ip",
            EventFilter {
                client_ip: Some("10.0.0.1".into()),
                ..filter()
            },
            vec!["e5", "e1"],
        ),
        (
            "origin",
            EventFilter {
                origin: Some("http".into()),
                ..filter()
            },
            vec!["e7", "e5", "e2", "e1"],
        ),
        (
            "a word matches its qualified origins only",
            EventFilter {
                origin: Some("blueprint".into()),
                ..filter()
            },
            vec!["e4"],
        ),
        (
            "a qualified origin",
            EventFilter {
                origin: Some("blueprint default-flows".into()),
                ..filter()
            },
            vec!["e4"],
        ),
        (
            "since is inclusive",
            EventFilter {
                since: Some(T0 + 50),
                ..filter()
            },
            vec!["e7", "e6"],
        ),
        (
            "until is exclusive",
            EventFilter {
                until: Some(T0 + 10),
                ..filter()
            },
            vec!["e1"],
        ),
        (
            "a time range",
            EventFilter {
                since: Some(T0 + 10),
                until: Some(T0 + 40),
                ..filter()
            },
            vec!["e4", "e3", "e2"],
        ),
        (
            "criteria combine",
            EventFilter {
                actions: vec!["login".into(), "logout".into()],
                client_ip: Some("10.0.0.1".into()),
                user: exact("bob"),
                ..filter()
            },
            vec!["e5"],
        ),
        (
            "the limit keeps the newest",
            EventFilter {
                limit: 2,
                ..filter()
            },
            vec!["e7", "e6"],
        ),
    ];
    let mut conn = store.read().await.expect("conn");
    for (what, f, want) in cases {
        let got = store::events::query(&mut conn, &f).await.expect("query");
        assert_eq!(ids(&got), want, "{what}");
    }
}

#[tokio::test]
async fn the_cursor_query_hands_out_what_comes_after_oldest_first() {
    let (_dir, store) = trail_store().await;
    // Two more in e7's second: ids break the tie.
    let mut a = event(("e7a", "login", "carl", "", "", "http", 60));
    let mut b = a.clone();
    b.id = "e7b".into();
    a.username = "carla".into();
    insert(&store, &[b, a]).await;
    let mut conn = store.read().await.expect("conn");
    let after = |c: &str, at: i64| EventCursor {
        created_at: T0 + at,
        id: c.to_string(),
    };
    let got = store::events::after(&mut conn, &filter(), &after("e3", 20))
        .await
        .expect("after");
    assert_eq!(ids(&got), ["e4", "e5", "e6", "e7", "e7a", "e7b"]);
    let got = store::events::after(&mut conn, &filter(), &after("e7", 60))
        .await
        .expect("after");
    assert_eq!(ids(&got), ["e7a", "e7b"], "the same second, later ids");
    let logins = EventFilter {
        actions: vec!["login".into()],
        limit: 2,
        ..filter()
    };
    let got = store::events::after(&mut conn, &logins, &after("e1", 0))
        .await
        .expect("after");
    assert_eq!(ids(&got), ["e7", "e7a"], "filtered, and at most the limit");
    let got = store::events::after(&mut conn, &filter(), &after("e7b", 60))
        .await
        .expect("after");
    assert!(got.is_empty());
}

#[tokio::test]
async fn the_exact_criteria_walk_their_indexes() {
    if crate::pg_support::engine_is_postgres() {
        // The plan below is SQLite's; PostgreSQL chooses by its statistics.
        return;
    }
    let (_dir, store) = trail_store().await;
    let mut conn = store.read().await.expect("conn");
    for (column, index) in [
        ("action", "events_action_created"),
        ("username", "events_username_created"),
        ("app", "events_app_created"),
        ("client_ip", "events_client_ip_created"),
    ] {
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT id FROM events WHERE {column} = 'x' \
             ORDER BY created_at DESC, id DESC LIMIT 5"
        );
        let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *conn)
            .await
            .expect("plan");
        let plan: Vec<&str> = rows.iter().map(|r| r.3.as_str()).collect();
        assert!(plan.iter().any(|p| p.contains(index)), "{column}: {plan:?}");
    }
}

fn service(store: Store) -> Service {
    Service::new(
        store,
        Config::new("http://127.0.0.1:9"),
        Arc::new(SystemClock),
    )
}

#[tokio::test]
async fn a_follower_hands_out_each_event_once_even_when_one_commits_late() {
    let (_dir, store) = temp_store().await;
    let s = service(store.clone());
    let now = s.now();
    let at = |id: &str, secs_ago: i64| {
        let mut e = event(("x", "login", "ann", "", "", "http", 0));
        e.id = id.to_string();
        e.created_at = now - secs_ago;
        e
    };
    insert(&store, &[at("b-1", 60), at("b-2", 50)]).await;
    let mut follower = s.follow_events(EventFilter {
        actions: vec!["login".into()],
        limit: 10,
        ..EventFilter::default()
    });
    assert_eq!(
        ids(&follower.poll().await.expect("backlog")),
        ["b-1", "b-2"]
    );
    assert!(follower.poll().await.expect("poll").is_empty());

    insert(&store, &[at("n-5", 0)]).await;
    let mut other = at("n-6", 0);
    other.action = "logout".into();
    insert(&store, &[other]).await;
    assert_eq!(ids(&follower.poll().await.expect("poll")), ["n-5"]);
    assert!(follower.poll().await.expect("poll").is_empty(), "once");

    // An event made before n-5 (an earlier time, a smaller id) whose transaction commits only
    // now: a cursor past n-5 alone would never show it.
    insert(&store, &[at("n-1", 3)]).await;
    assert_eq!(ids(&follower.poll().await.expect("poll")), ["n-1"]);
    assert!(follower.poll().await.expect("poll").is_empty());

    // More than one page at once: every one, in order.
    let many: Vec<Event> = (0..25).map(|i| at(&format!("p-{i:02}"), -1)).collect();
    insert(&store, &many).await;
    let got = follower.poll().await.expect("poll");
    assert_eq!(got.len(), 25);
    assert_eq!(got.first().map(|e| e.id.as_str()), Some("p-00"));
    assert_eq!(got.last().map(|e| e.id.as_str()), Some("p-24"));
}

// ---- `latchkey events` through the binary ----------------------------------------------------

fn latchkey(db: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    c.env_remove("LATCHKEY_DB")
        .env_remove("LATCHKEY_LISTEN")
        .arg("--db")
        .arg(db)
        .arg("events");
    c
}

fn run(db: &std::path::Path, args: &[&str]) -> Output {
    latchkey(db).args(args).output().expect("run")
}

fn stdout_of(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// A SQLite file with the fixed trail (the binary reads it as another process would).
async fn trail_file() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("events.db");
    let store = Store::open(&StoreLocation::File(db.clone()))
        .await
        .expect("open");
    insert(
        &store,
        &TRAIL.iter().copied().map(event).collect::<Vec<_>>(),
    )
    .await;
    store.close().await;
    (dir, db)
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test]
async fn json_lines_carry_authentiks_fields_and_action_filters() {
    let (_dir, db) = trail_file().await;
    let all = json_lines(&stdout_of(&run(&db, &["--json"])));
    let pks: Vec<&str> = all.iter().filter_map(|v| v["pk"].as_str()).collect();
    assert_eq!(
        pks,
        ["e1", "e2", "e3", "e4", "e5", "e6", "e7"],
        "oldest first"
    );
    let first = &all[0];
    assert_eq!(first["action"], "login");
    assert_eq!(first["user"], json!({"pk": "u-ann", "username": "ann"}));
    assert_eq!(first["app"], "grafana");
    assert_eq!(first["client_ip"], "10.0.0.1");
    assert_eq!(first["created"], "2026-01-01T00:00:00Z");
    assert_eq!(first["origin"], "http");
    assert_eq!(first["context"]["model"]["name"], "ann");
    assert_eq!(all[2]["user"], json!({"pk": null, "username": "root@host"}));
    assert_eq!(all[2]["client_ip"], Value::Null);

    let out = run(&db, &["--json", "--action", "login", "--action", "logout"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let some = json_lines(&stdout_of(&out));
    let pks: Vec<&str> = some.iter().filter_map(|v| v["pk"].as_str()).collect();
    assert_eq!(pks, ["e1", "e5", "e7"]);
    assert!(
        stderr.contains("3 events (action login|logout)"),
        "{stderr}"
    );

    let out = run(
        &db,
        &[
            "--json",
            "--user-contains",
            "ANN",
            "--since",
            "2026-01-01T00:00:05Z",
            "--limit",
            "5",
        ],
    );
    let pks: Vec<String> = json_lines(&stdout_of(&out))
        .iter()
        .map(|v| v["pk"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(pks, ["e2"]);
}

#[tokio::test]
async fn the_table_is_for_people() {
    let (_dir, db) = trail_file().await;
    let text = stdout_of(&run(&db, &["--origin", "blueprint", "--user", "bob"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    for col in ["TIME (UTC)", "ACTION", "USER", "ORIGIN", "APP", "CONTEXT"] {
        assert!(lines[0].contains(col), "{text}");
    }
    assert!(
        lines[1].starts_with("2026-01-01 00:00:30  model_created"),
        "{text}"
    );
    assert!(lines[1].contains("blueprint default-flows"), "{text}");
    assert!(lines[1].ends_with("user bob"), "{text}");
}

#[tokio::test]
async fn bad_times_and_missing_stores_are_refused_in_one_line() {
    let (dir, db) = trail_file().await;
    for (flag, value) in [("--since", "yesterday"), ("--until", "1y"), ("--since", "")] {
        let out = run(&db, &[flag, value]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(out.stdout.is_empty());
        assert!(stderr.contains(&format!("{flag}: ")), "{stderr}");
        for form in ["30m, 1h, 2d", "2026-01-31", "RFC 3339"] {
            assert!(stderr.contains(form), "{flag} {value}: {stderr}");
        }
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
    // A mistyped action is refused, saying what is accepted, not answered with no events.
    let out = run(&db, &["--action", "logn"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("'logn' is not an event action"), "{stderr}");
    assert!(stderr.contains("custom_"), "{stderr}");
    let missing = dir.path().join("none.db");
    let out = run(&missing, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no store"));
    assert!(!missing.exists(), "reading creates no store");
}

/// Lines the child prints, read on a thread so the test can wait with a deadline.
fn lines_of(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for_line(
    rx: &std::sync::mpsc::Receiver<String>,
    what: &str,
    pred: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if pred(&line) => return line,
            Ok(_) => {}
            Err(e) => panic!("no line with {what}: {e}"),
        }
    }
}

fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("the follower did not stop");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn follow_prints_events_recorded_after_it_started_until_input_ends() {
    let (_dir, db) = trail_file().await;
    let mut child = latchkey(&db)
        .args(["--follow", "--json", "--action", "login"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let rx = lines_of(&mut child);
    // The backlog first (the newest logins, oldest first).
    wait_for_line(&rx, "the backlog", |l| l.contains("\"pk\":\"e7\""));

    // Recorded through the library by another process's store on the same file.
    let store = Store::open(&StoreLocation::File(db.clone()))
        .await
        .expect("open");
    let ctx = Context::new(store.clone(), Config::new(""), Arc::new(SystemClock));
    for (action, user) in [("logout", "not-shown"), ("login", "late-ann")] {
        ctx.record_event(
            action,
            EventSubject {
                username: user.into(),
                client_ip: "192.0.2.7".into(),
                ..EventSubject::default()
            },
            json!({"message": "after the follower started"}),
        )
        .await
        .expect("record");
    }
    let line = wait_for_line(&rx, "the new login", |l| l.contains("late-ann"));
    let v: Value = serde_json::from_str(&line).expect("json");
    assert_eq!(v["action"], "login");
    assert_eq!(v["client_ip"], "192.0.2.7");
    assert_eq!(v["origin"], "http");
    assert_eq!(v["context"]["message"], "after the follower started");

    // Closing its input ends it, cleanly; nothing else was printed (not the logout).
    drop(child.stdin.take());
    let status = wait_exit(&mut child);
    assert!(status.success(), "{status}");
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(rest.iter().all(|l| !l.contains("not-shown")), "{rest:?}");
    store.close().await;
}

#[tokio::test]
async fn follow_stops_at_sigint() {
    let (_dir, db) = trail_file().await;
    let mut child = latchkey(&db)
        .args(["--follow"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let rx = lines_of(&mut child);
    wait_for_line(&rx, "the header", |l| l.contains("ACTION"));
    wait_for_line(&rx, "the backlog", |l| l.contains("50%_off"));
    // /dev/null as input does not end it: it is still running a second later.
    std::thread::sleep(Duration::from_millis(1000));
    assert!(
        child.try_wait().expect("wait").is_none(),
        "stopped at /dev/null"
    );
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let status = wait_exit(&mut child);
    assert!(status.success(), "{status}");
}
