//! Full login benchmark: identification + password + user_login through the JSON executor,
//! over loopback against an in-process server on 127.0.0.1:0. Prints logins/s and p50/p99.
//!
//! Run: `cargo bench --bench login` (LOGIN_BENCH_N sets the number of logins, default 40).

use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey::context::{Config, SystemClock};
use latchkey::http::{self, AppState};
use latchkey::service::Service;
use latchkey::store::{Store, StoreLocation};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "bench-admin-password-1";

async fn login(base: &str) -> Result<Duration, String> {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!("{base}/api/v3/flows/executor/default-authentication-flow/");
    let started = Instant::now();
    let step = |body: Option<Value>| {
        let c = c.clone();
        let url = url.clone();
        async move {
            let req = match body {
                Some(b) => c.post(&url).json(&b),
                None => c.get(&url),
            };
            let v: Value = req
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            Ok::<Value, String>(v)
        }
    };
    step(None).await?;
    step(Some(
        json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
    ))
    .await?;
    let done = step(Some(
        json!({"component": "ak-stage-password", "password": PASSWORD}),
    ))
    .await?;
    if done["component"] != "xak-flow-redirect" {
        return Err(format!("login did not complete: {done}"));
    }
    Ok(started.elapsed())
}

fn main() {
    let n: usize = std::env::var("LOGIN_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40)
        .clamp(1, 10_000);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            std::process::exit(1);
        }
    };
    rt.block_on(async move {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&StoreLocation::File(dir.path().join("bench.db")))
            .await
            .expect("store");
        let listener = http::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let service = Service::new(store, Config::new(&base), Arc::new(SystemClock));
        service.bootstrap(Some(PASSWORD)).await.expect("bootstrap");
        let cancel = CancellationToken::new();
        http::spawn_server(listener, AppState::new(service), cancel.clone());
        login(&base).await.expect("warm-up login");
        let mut lat = Vec::with_capacity(n);
        let t0 = Instant::now();
        for _ in 0..n {
            lat.push(login(&base).await.expect("login"));
        }
        let total = t0.elapsed();
        lat.sort();
        let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
        println!(
            "login flow: {n} logins in {:.2}s = {:.1} logins/s; p50 {:.1} ms, p99 {:.1} ms",
            total.as_secs_f64(),
            n as f64 / total.as_secs_f64(),
            pct(0.50).as_secs_f64() * 1e3,
            pct(0.99).as_secs_f64() * 1e3,
        );
        cancel.cancel();
    });
}
