//! Flow simulation throughput: the inspector's dry run of the default authentication flow for
//! akadmin (planner, policy engine, every stage's challenge, nothing written), run N times in a
//! row over a bootstrapped SQLite file store; prints simulations per second and p50/p99.
//!
//! Run: `cargo bench --bench simulate --profile dev` (arg: N, default 500).

use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey::context::{Config, SystemClock};
use latchkey::service::Service;
use latchkey::service::inspect::SimulationInput;
use latchkey::store::{self, Store, StoreLocation};

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n = arg(0, 500).max(1);
    let dir = tempfile::tempdir()?;
    let store = Store::open(&StoreLocation::File(dir.path().join("bench.db"))).await?;
    let service = Service::new(
        store,
        Config::new("http://localhost"),
        Arc::new(SystemClock),
    );
    service.bootstrap(Some("bench-password-1")).await?;
    let admin = {
        let mut conn = service.store().read().await?;
        store::users::get_by_username(&mut conn, "akadmin")
            .await?
            .ok_or("no akadmin")?
    };
    let input = SimulationInput {
        flow_slug: "default-authentication-flow".into(),
        user_id: Some(admin.id),
        ..SimulationInput::default()
    };
    // One run first, so compiled expressions and the pool are warm.
    let first = service.simulate_flow(&input).await?;
    if first.stages.is_empty() {
        return Err("the default authentication flow planned no stage".into());
    }
    let mut times: Vec<Duration> = Vec::with_capacity(n);
    let started = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        service.simulate_flow(&input).await?;
        times.push(t.elapsed());
    }
    let total = started.elapsed();
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p) as usize];
    println!(
        "{n} simulations of default-authentication-flow ({} stages) in {:.2} s: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms",
        first.stages.len(),
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64(),
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
    Ok(())
}
