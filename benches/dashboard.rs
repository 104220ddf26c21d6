//! The dashboard over a big store: a bootstrapped SQLite file with N events (default
//! 1 000 000) spread over the last 30 days (40 % logins, 30 % authorizations over 12
//! applications, 10 % failed logins, the rest other actions), 2 000 users created over the
//! month and 30 000 access tokens over the last half hour; then `Service::dashboard_stats`
//! (every chart's counts, what a console reload adds) R times, and one dashboard frame drawn
//! into ratatui's test backend at 120x40 and 80x24 from the loaded snapshot.
//!
//! Run: `cargo bench --bench dashboard --profile dev` (args: EVENTS RUNS, default 1000000 20).

use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey::console::app::{App, AppConfig};
use latchkey::console::data::DataSource;
use latchkey::console::theme::Theme;
use latchkey::console::view;
use latchkey::context::{Config, SystemClock};
use latchkey::service::Service;
use latchkey::store::{Store, StoreLocation};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const MONTH: i64 = 30 * 86_400;

/// N events over the month before `now`, one statement (a recursive CTE), in `tx`.
const EVENTS_SQL: &str = "INSERT INTO events (id, action, username, app, client_ip, created_at, \
     expires_at) \
     WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $1) \
     SELECT printf('bench-%012d', i), \
     CASE i % 10 WHEN 0 THEN 'login_failed' WHEN 1 THEN 'model_updated' WHEN 2 THEN 'logout' \
     WHEN 3 THEN 'authorize_application' WHEN 4 THEN 'authorize_application' \
     WHEN 5 THEN 'authorize_application' ELSE 'login' END, \
     'user' || (i % 500), \
     CASE WHEN i % 10 BETWEEN 3 AND 5 THEN 'app-' || ((i * 7919) % 12) ELSE '' END, \
     '10.0.0.1', $2 - (i * $3 / $1), $2 - (i * $3 / $1) + 31536000 FROM n";

const USERS_SQL: &str = "INSERT INTO users (id, username, created_at, updated_at) \
     WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < 2000) \
     SELECT printf('bench-user-%06d', i), printf('bench-user-%06d', i), \
     $1 - i * 1296, $1 - i * 1296 FROM n";

const TOKENS_SQL: &str = "INSERT INTO access_tokens (id, token_digest, family_id, provider_id, \
     user_id, auth_time, expires_at, created_at) \
     WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < 30000) \
     SELECT printf('bench-at-%06d', i), printf('digest-%06d', i), 'family', 'bench-provider', \
     'bench-user-000000', $1 - i * 60 / 1000, $1 + 3600, $1 - i * 60 / 1000 FROM n";

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let n = samples.len().max(1);
    let at = |p: usize| samples[(n * p / 100).min(n - 1)].as_secs_f64() * 1e3;
    println!(
        "{label:<38} median {:>7.2} ms   p95 {:>7.2} ms   max {:>7.2} ms   ({n} runs)",
        at(50),
        at(95),
        samples[n - 1].as_secs_f64() * 1e3
    );
}

async fn fill(service: &Service, events: i64, now: i64) -> Result<(), Box<dyn std::error::Error>> {
    let mut tx = service.store().write_tx().await?;
    for i in 0..12 {
        sqlx::query(
            "INSERT INTO applications (id, name, slug, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(format!("bench-app-{i}"))
        .bind(format!("Application {i}"))
        .bind(format!("app-{i}"))
        .bind(now)
        .execute(tx.conn())
        .await?;
    }
    sqlx::query(
        "INSERT INTO providers (id, name, created_at, updated_at) \
         VALUES ('bench-provider', 'bench', $1, $1)",
    )
    .bind(now)
    .execute(tx.conn())
    .await?;
    sqlx::query(EVENTS_SQL)
        .bind(events)
        .bind(now)
        .bind(MONTH)
        .execute(tx.conn())
        .await?;
    sqlx::query(USERS_SQL).bind(now).execute(tx.conn()).await?;
    sqlx::query(TOKENS_SQL).bind(now).execute(tx.conn()).await?;
    tx.commit().await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let events = i64::try_from(arg(0, 1_000_000).max(1))?;
    let runs = arg(1, 20).max(1);
    let dir = tempfile::tempdir()?;
    let store = Store::open(&StoreLocation::File(dir.path().join("bench.db"))).await?;
    let service = Service::new(
        store,
        Config::new("http://localhost"),
        Arc::new(SystemClock),
    );
    service.bootstrap(Some("bench-password-1")).await?;
    let now = service.now();
    let started = Instant::now();
    fill(&service, events, now).await?;
    println!(
        "filled {events} events, 2000 users, 30000 tokens in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let first = service.dashboard_stats(now).await?;
    println!(
        "week: {} logins, {} failed, {} authorizations; month: {} logins; top app {:?}",
        first.logins_week.total(),
        first.failed_week.total(),
        first.authorizations_week.total(),
        first.logins_month.total(),
        first.top_apps.first().map(|a| (&a.slug, a.authorizations))
    );
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        service.dashboard_stats(now).await?;
        samples.push(t.elapsed());
    }
    summary("dashboard_stats", samples);

    let source = DataSource::new(service.clone());
    let mut samples = Vec::with_capacity(runs);
    let mut data = None;
    for _ in 0..runs.min(5) {
        let t = Instant::now();
        data = Some(source.load().await?);
        samples.push(t.elapsed());
    }
    summary("console reload (DataSource::load)", samples);

    let mut app = App::new(AppConfig {
        store_path: "/srv/latchkey/latchkey.db".into(),
        server_url: "http://127.0.0.1:9000".into(),
        readonly: false,
        startup_toast: None,
        theme: Theme::default(),
    });
    app.apply_data(data.ok_or("no data")?);
    for (w, h) in [(120u16, 40u16), (80, 24)] {
        app.resize(w, h);
        let mut terminal = Terminal::new(TestBackend::new(w, h))?;
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            terminal.draw(|f| view::draw(&app, f))?;
            samples.push(t.elapsed());
        }
        summary(&format!("dashboard frame {w}x{h}"), samples);
    }
    Ok(())
}
