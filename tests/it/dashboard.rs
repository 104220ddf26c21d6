//! The dashboard (issue 20): its counts on a real store with rows at known times (bucket
//! bounds, the week's edge, the top applications' order, tokens per minute), the panels drawn
//! at 80x24 and 120x40, and the real binary under tmux with seeded activity.

use std::sync::Arc;

use latchkey::console::app::App;
use latchkey::console::data::DataSource;
use latchkey::context::{Config, Health, ServerInstance, SystemClock};
use latchkey::domain::{Event, User, UserType, new_id};
use latchkey::service::Service;
use latchkey::service::dashboard::{DAY, WEEK_STEP};
use latchkey::store::{self, Store, StoreLocation, Topic};

use crate::console_forms::{config, render};
use crate::support::bootstrapped_service;

/// 2026-01-01T00:00:00Z, a midnight: every bucket bound below is a round offset from it.
const MIDNIGHT: i64 = 1_767_225_600;
/// "Now" in the tests: five hours and a bit into the first 8 hours of that day.
const NOW: i64 = MIDNIGHT + 5 * 3600 + 17;
/// The week's first second: 20 buckets of 8 hours before the one holding NOW.
const WEEK_START: i64 = MIDNIGHT - 20 * WEEK_STEP;
/// The month's first second: 29 days before NOW's day.
const MONTH_START: i64 = MIDNIGHT - 29 * DAY;

fn event(action: &str, app: &str, at: i64) -> Event {
    Event {
        id: new_id(),
        action: action.into(),
        username: "alice".into(),
        user_id: None,
        app: app.into(),
        client_ip: "10.0.0.7".into(),
        origin: "http".into(),
        context: serde_json::json!({}),
        brand: String::new(),
        created_at: at,
    }
}

fn user(username: &str, created_at: i64) -> User {
    User {
        id: new_id(),
        username: username.into(),
        name: username.into(),
        email: format!("{username}@example.com"),
        is_active: true,
        user_type: UserType::Internal,
        path: "users".into(),
        attributes: serde_json::json!({}),
        has_password: false,
        last_login: None,
        created_at,
        updated_at: created_at,
        version: 1,
    }
}

fn access_token(provider_id: &str, user_id: &str, at: i64) -> store::grants::AccessToken {
    store::grants::AccessToken {
        id: new_id(),
        token_digest: new_id(),
        family_id: new_id(),
        provider_id: provider_id.into(),
        user_id: user_id.into(),
        session_id: None,
        scope: "openid".into(),
        claims: "{}".into(),
        auth_time: at,
        expires_at: at + 3600,
        revoked_at: None,
        created_at: at,
    }
}

/// What [`seed`] writes: events `(action, app, time)`, users' creation times, token times.
struct Activity {
    events: Vec<(&'static str, &'static str, i64)>,
    users: Vec<i64>,
    tokens: Vec<i64>,
}

/// Applications `alpha`, `beta`, `delta`, `gamma` (with providers), then `activity`.
async fn seed(service: &Service, activity: &Activity) {
    let mut provider = None;
    for slug in ["alpha", "beta", "delta", "gamma"] {
        provider = Some(crate::server::create_oidc_app_on(service, slug).await);
    }
    let provider = provider.expect("a provider");
    let admin = crate::flows_support::admin(service).await;
    let mut tx = service.store().write_tx().await.expect("tx");
    for (action, app, at) in &activity.events {
        store::events::insert(tx.conn(), &event(action, app, *at))
            .await
            .expect("event");
    }
    for (i, at) in activity.users.iter().enumerate() {
        store::users::insert(tx.conn(), &user(&format!("seeded-{i}"), *at), None)
            .await
            .expect("user");
    }
    for at in &activity.tokens {
        store::grants::insert_access_token(tx.conn(), &access_token(&provider.id, &admin.id, *at))
            .await
            .expect("token");
    }
    tx.touch(Topic::Events);
    tx.touch(Topic::Users);
    tx.commit().await.expect("commit");
}

/// Rows at every edge that matters around [`NOW`].
fn edges() -> Activity {
    let minute = NOW - NOW % 60;
    let mut events = vec![
        // The bucket holding now: now itself and its first second.
        ("login", "", NOW),
        ("login", "", NOW - 1),
        ("login", "", MIDNIGHT),
        // The second before: the previous bucket (and the previous day).
        ("login", "", MIDNIGHT - 1),
        // The week's first second counts; the one before only in the month.
        ("login", "", WEEK_START),
        ("login", "", WEEK_START - 1),
        // The month's first second counts; the one before nowhere.
        ("login", "", MONTH_START),
        ("login", "", MONTH_START - 1),
        ("login_failed", "", NOW - 3600),
        ("login_failed", "", MONTH_START),
        // Not charted.
        ("model_updated", "", NOW),
        ("logout", "", NOW),
    ];
    // beta 5, alpha 3, delta 3 (after alpha by slug), gamma 1; alpha's older ten and a
    // deleted application's seven do not count.
    for (app, n) in [("beta", 5), ("alpha", 3), ("delta", 3), ("gamma", 1)] {
        for i in 0..n {
            events.push(("authorize_application", app, WEEK_START + i * WEEK_STEP));
        }
    }
    for i in 0..10 {
        events.push(("authorize_application", "alpha", WEEK_START - 1 - i));
    }
    for i in 0..7 {
        events.push(("authorize_application", "gone", NOW - i));
    }
    Activity {
        events,
        users: vec![
            MIDNIGHT - 2 * DAY + 5,
            MIDNIGHT - 2 * DAY + 6,
            MONTH_START - 1,
        ],
        tokens: vec![NOW, minute, minute - 1, minute - 60, minute - 29 * 60 - 1],
    }
}

fn at(counts: &[u64], wanted: &[(usize, u64)]) -> Vec<u64> {
    let mut v = vec![0; counts.len()];
    for (i, n) in wanted {
        v[*i] = *n;
    }
    v
}

#[tokio::test]
async fn the_counts_fall_in_their_buckets_at_every_edge() {
    let (_dir, service) = bootstrapped_service("http://127.0.0.1:9000").await;
    seed(&service, &edges()).await;
    let s = service.dashboard_stats(NOW).await.expect("stats");

    assert_eq!(s.logins_week.start, WEEK_START);
    assert_eq!(s.logins_week.step, WEEK_STEP);
    let w = &s.logins_week.counts;
    assert_eq!(w, &at(w, &[(20, 3), (19, 1), (0, 1)]), "logins per 8 hours");
    assert_eq!(w.len(), 21);
    let f = &s.failed_week.counts;
    assert_eq!(f, &at(f, &[(20, 1)]), "failed logins per 8 hours");
    let a = &s.authorizations_week.counts;
    assert_eq!(
        a,
        &at(a, &[(0, 4), (1, 3), (2, 3), (3, 1), (4, 1), (20, 7)]),
        "authorizations per 8 hours (the deleted application's too)"
    );

    assert_eq!(s.logins_month.start, MONTH_START);
    let m = &s.logins_month.counts;
    assert_eq!(m.len(), 30);
    // WEEK_START is 6 days 16 hours before midnight: day 22 of the month's 30.
    assert_eq!(
        m,
        &at(m, &[(29, 3), (28, 1), (22, 2), (0, 1)]),
        "logins per day"
    );
    let fm = &s.failed_month.counts;
    assert_eq!(fm, &at(fm, &[(29, 1), (0, 1)]), "failed logins per day");
    let u = &s.users_month.counts;
    assert_eq!(u, &at(u, &[(27, 2)]), "users created per day");

    let top: Vec<(&str, u64)> = s
        .top_apps
        .iter()
        .map(|a| (a.slug.as_str(), a.authorizations))
        .collect();
    assert_eq!(
        top,
        [("beta", 5), ("alpha", 3), ("delta", 3), ("gamma", 1)],
        "most first, slug order among equals, only this week, only existing applications"
    );

    let t = &s.tokens_per_minute;
    assert_eq!(t.start, NOW - NOW % 60 - 29 * 60);
    assert_eq!(
        t.counts,
        at(&t.counts, &[(29, 2), (28, 2)]),
        "tokens per minute"
    );
}

#[tokio::test]
async fn the_week_ends_with_the_bucket_holding_now() {
    // One second into a new 8-hour bucket the week moves on: the oldest bucket drops out.
    let (_dir, service) = bootstrapped_service("http://127.0.0.1:9000").await;
    seed(&service, &edges()).await;
    let later = MIDNIGHT + WEEK_STEP;
    let s = service.dashboard_stats(later).await.expect("stats");
    assert_eq!(s.logins_week.start, WEEK_START + WEEK_STEP);
    let w = &s.logins_week.counts;
    assert_eq!(w, &at(w, &[(19, 3), (18, 1)]), "{w:?}");
}

fn instance() -> ServerInstance {
    ServerInstance {
        id: "i-1".into(),
        public_url: "http://127.0.0.1:9000".into(),
        listen: "127.0.0.1:9000".into(),
        host: "idp-1".into(),
        pid: 4242,
        version: "0.1.0".into(),
        started_at: NOW - 7_980,
        heartbeat_age: 1,
        uptime: 7_980,
        health: Health::Live,
    }
}

#[tokio::test]
async fn every_panel_is_drawn_at_80x24_and_120x40() {
    let (_dir, service) = bootstrapped_service("http://127.0.0.1:9000").await;
    seed(&service, &edges()).await;
    let mut data = DataSource::new(service.clone()).load().await.expect("load");
    data.now = NOW;
    data.dashboard = service.dashboard_stats(NOW).await.expect("stats");
    let mut app = App::new(config());
    app.apply_data(data);
    app.apply_instances(vec![instance()]);

    let small = render(&mut app, 80, 24);
    for title in [
        "Logins, last week (per 8h)",
        "Apps with most usage",
        "Recent events",
        "Instance",
        "tokens/min",
        "live  v0.1.0  up 2h13m",
    ] {
        assert!(small.contains(title), "{title} at 80x24:\n{small}");
    }
    // The legend carries each series' total over the week.
    assert!(small.contains("logins 5"), "{small}");
    assert!(small.contains("beta"), "{small}");
    let big = render(&mut app, 120, 40);
    for title in [
        "Logins and authorizations over the last week (per 8 hours)",
        "Apps with most usage",
        "Logins and failed logins per day, last month",
        "Users created per day",
        "Tokens issued per minute",
        "Recent events",
        "Servers (1)",
        "Instance",
        "certs expiring",
        "up 2h13m",
        "4 in 30 min",
    ] {
        assert!(big.contains(title), "{title} at 120x40:\n{big}");
    }
    // Nothing drawn past its panel: every row is the terminal's width, framed by borders.
    for screen in [&small, &big] {
        for l in screen.lines().skip(2).take(3) {
            assert!(l.starts_with('┌') || l.starts_with('│'), "{l}\n{screen}");
        }
    }
}

/// The terminal's screen with what changes between runs masked, keeping every width: the
/// header line, event times, the version and uptime, the port.
fn masked(screen: &str, port: u16) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let mut in_month = false;
    screen
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                return "<header: store path, URL, health>".to_string();
            }
            // The month chart counts UTC days: which day an 8-hour bucket's rows fall in
            // depends on the time of day the test runs, so its plot is masked (its totals in
            // the legend, and the bucketing in the store tests, stay checked).
            if l.contains("per day, last month") {
                in_month = true;
            } else if in_month && l.contains("-30d") {
                in_month = false;
            }
            let l = if in_month {
                mask_month_plot(l)
            } else {
                l.to_string()
            };
            let l = l.replace(&port.to_string(), "PORT!").replace(
                &format!("v{version}"),
                &format!("v{:<w$}", "X", w = version.len()),
            );
            let l = mask_datetimes(&l);
            mask_after(&l, "up ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The month chart's plot area (right of its y axis, up to the panel's closing `│`) as one
/// fill and its y labels' digits `#`, on the rows that draw it.
fn mask_month_plot(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let end = line
        .find("││")
        .map_or(chars.len(), |b| line[..b].chars().count());
    // The y axis is the first `│` after the panel's own left border.
    let Some(axis) = chars[1..end].iter().position(|c| *c == '│').map(|p| p + 1) else {
        return line.to_string();
    };
    chars[..=axis]
        .iter()
        .map(|c| if c.is_ascii_digit() { '#' } else { *c })
        .chain(std::iter::repeat_n('·', end - axis - 1))
        .chain(chars[end..].iter().copied())
        .collect()
}

/// `YYYY-MM-DD` and `HH:MM` with every digit `#`.
fn mask_datetimes(line: &str) -> String {
    mask_shape(&mask_shape(line, "0000-00-00"), "00:00")
}

/// Every run of `line` shaped like `shape` (`0` a digit, anything else itself) with its
/// digits `#`.
fn mask_shape(line: &str, shape: &str) -> String {
    let mut chars: Vec<char> = line.chars().collect();
    let n = shape.len();
    let mut i = 0;
    while i + n <= chars.len() {
        let fits = chars[i..i + n]
            .iter()
            .zip(shape.chars())
            .all(|(c, s)| match s {
                '0' => c.is_ascii_digit(),
                other => *c == other,
            });
        if fits {
            for c in &mut chars[i..i + n] {
                if c.is_ascii_digit() {
                    *c = '#';
                }
            }
            i += n;
        } else {
            i += 1;
        }
    }
    chars.into_iter().collect()
}

/// After `prefix`, a duration (`12s`, `2h13m`) and the spaces after it become `~` and spaces
/// of the same total width.
fn mask_after(line: &str, prefix: &str) -> String {
    let Some(at) = line.find(prefix) else {
        return line.to_string();
    };
    let head = &line[..at + prefix.len()];
    let rest = &line[at + prefix.len()..];
    let run = rest
        .find(|c: char| !(c.is_ascii_digit() || "dhms".contains(c)))
        .unwrap_or(rest.len());
    if run == 0 {
        return line.to_string();
    }
    let after = &rest[run..];
    let spaces = after.len() - after.trim_start_matches(' ').len();
    format!(
        "{head}~{}{}",
        " ".repeat(run + spaces - 1),
        &after[spaces..]
    )
}

/// Waits while a minute or an 8-hour bucket is about to turn, so the activity seeded now is
/// still in the same buckets when the console counts it.
fn away_from_bucket_edges() {
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        if now % 60 < 45 && now % WEEK_STEP > 120 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

/// Activity around the real clock's `now`: a chart shape that does not depend on the time
/// of day (every charted row in a closed bucket, at a whole-bucket offset), the newest events
/// one second apart.
fn live(now: i64) -> Activity {
    let bucket = now - now % WEEK_STEP;
    let minute = now - now % 60;
    let mut events = Vec::new();
    for k in 1..21_i64 {
        let start = bucket - k * WEEK_STEP;
        for i in 0..(k % 7 + 1) {
            events.push(("login", "", start + i));
        }
        if k % 3 == 0 {
            events.push(("login_failed", "", start + 100));
        }
        for i in 0..(k % 4) {
            events.push(("authorize_application", "beta", start + 200 + i));
        }
    }
    for d in 7..30_i64 {
        for i in 0..(d % 5) {
            events.push(("login", "", bucket - d * DAY + i));
        }
    }
    for i in 0..3 {
        events.push((
            "authorize_application",
            "alpha",
            bucket - WEEK_STEP + 300 + i,
        ));
    }
    // The newest, one a second: what "Recent events" lists.
    for (i, action) in [
        "login",
        "authorize_application",
        "login_failed",
        "model_updated",
        "logout",
        "login",
        "authorize_application",
        "login",
        "login",
        "login",
    ]
    .iter()
    .enumerate()
    {
        let app = if action.starts_with("authorize") {
            "gamma"
        } else {
            ""
        };
        events.push((action, app, now - 30 - i as i64));
    }
    Activity {
        events,
        users: (1..6).map(|d| bucket - d * DAY * 3 + 50).collect(),
        tokens: (1..30)
            .flat_map(|m| (0..(m % 6)).map(move |i| minute - m * 60 + i))
            .collect(),
    }
}

async fn tmux_dashboard(cols: u16, rows: u16) -> String {
    let (tmux, _dir, db, port) = crate::console_forms::run_under_tmux("dash", cols, rows);
    tmux.wait_for("the dashboard", |s| s.contains("Apps with most usage"));
    away_from_bucket_edges();
    let store = Store::open(&StoreLocation::File(db.clone()))
        .await
        .expect("open the console's store");
    let service = Service::new(
        store.clone(),
        Config::new("http://127.0.0.1"),
        Arc::new(SystemClock),
    );
    seed(&service, &live(service.now())).await;
    store.close().await;
    let screen = tmux.wait_for("the seeded activity", |s| {
        s.contains("gamma") && s.contains("beta") && s.contains("alpha")
    });
    // One more reload's worth, so nothing is caught half-drawn.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let again = tmux.wait_for("the same screen", |s| s.contains("gamma"));
    assert_eq!(
        masked(&screen, port),
        masked(&again, port),
        "a steady screen"
    );
    masked(&again, port)
}

#[tokio::test(flavor = "multi_thread")]
async fn real_binary_under_tmux_draws_the_dashboard_at_80x24_and_120x40() {
    let small = tmux_dashboard(80, 24).await;
    for title in [
        "Logins, last week (per 8h)",
        "Apps with most usage",
        "Recent events",
    ] {
        assert!(small.contains(title), "{title}:\n{small}");
    }
    insta::assert_snapshot!("dashboard_tmux_80x24", small);
    let big = tmux_dashboard(120, 40).await;
    for title in [
        "Logins and authorizations over the last week (per 8 hours)",
        "Users created per day",
        "Tokens issued per minute",
        "Servers (1)",
    ] {
        assert!(big.contains(title), "{title}:\n{big}");
    }
    insta::assert_snapshot!("dashboard_tmux_120x40", big);
}
