//! Device polling throughput: an in-process server on 127.0.0.1:0, one pending device code per
//! client, N concurrent clients each polling a bounded number of times; prints the rate of
//! `authorization_pending` answers. The server's clock steps 10 s per reading so every poll is
//! on time (otherwise the server rightly answers `slow_down`); the codes live for ten years.
//!
//! Run: `cargo bench --bench device_poll --profile dev` (args: CLIENTS POLLS_PER_CLIENT).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use latchkey::blueprint::Source;
use latchkey::context::{Clock, Config};
use latchkey::http::{self, AppState};
use latchkey::service::Service;
use latchkey::store::{Store, StoreLocation};
use tokio_util::sync::CancellationToken;

const FIXTURE: &str = include_str!("../fixtures/blueprints/examples/authentik-cli.yaml");
const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A clock that moves 10 s forward every time it is read.
struct SteppingClock(AtomicI64);

impl Clock for SteppingClock {
    fn now(&self) -> i64 {
        self.0.fetch_add(10, Ordering::SeqCst)
    }
}

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
    let clients = arg(0, 16);
    let polls = arg(1, 200);
    let dir = tempfile::tempdir()?;
    let store = Store::open(&StoreLocation::File(dir.path().join("bench.db"))).await?;
    let listener = http::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let clock = Arc::new(SteppingClock(AtomicI64::new(1_900_000_000)));
    let service = Service::new(store, Config::new(&base), clock);
    service.bootstrap(Some("bench-password-1")).await?;
    let text = FIXTURE.replace(
        "      client_type: public\n",
        "      client_type: public\n      device_code_validity: days=3650\n",
    );
    service
        .apply_blueprints(&[Source {
            file: "bench.yaml".into(),
            text,
        }])
        .await?;
    let cancel = CancellationToken::new();
    http::spawn_server(listener, AppState::new(service), cancel.clone());
    let http = reqwest::Client::new();
    let mut codes = Vec::new();
    for _ in 0..clients {
        let body: serde_json::Value = http
            .post(format!("{base}/application/o/device/"))
            .form(&[("client_id", "authentik-cli")])
            .send()
            .await?
            .json()
            .await?;
        let code = body["device_code"].as_str().unwrap_or_default().to_string();
        if code.is_empty() {
            return Err(format!("device authorization failed: {body}").into());
        }
        codes.push(code);
    }
    let started = Instant::now();
    let tasks: Vec<_> = codes
        .into_iter()
        .map(|code| {
            let http = http.clone();
            let url = format!("{base}/application/o/token/");
            tokio::spawn(async move {
                let (mut pending, mut other) = (0usize, 0usize);
                for _ in 0..polls {
                    let res = http
                        .post(&url)
                        .form(&[
                            ("grant_type", GRANT),
                            ("client_id", "authentik-cli"),
                            ("device_code", code.as_str()),
                        ])
                        .send()
                        .await;
                    let body: serde_json::Value = match res {
                        Ok(r) => r.json().await.unwrap_or_default(),
                        Err(_) => serde_json::Value::Null,
                    };
                    if body["error"] == "authorization_pending" {
                        pending += 1;
                    } else {
                        other += 1;
                    }
                }
                (pending, other)
            })
        })
        .collect();
    let (mut pending, mut other) = (0, 0);
    for t in tasks {
        let (p, o) = t.await?;
        pending += p;
        other += o;
    }
    let secs = started.elapsed().as_secs_f64();
    cancel.cancel();
    println!(
        "device polling: {clients} clients x {polls} polls: {pending} authorization_pending, \
         {other} other, {secs:.2} s, {:.0} authorization_pending answers/s",
        pending as f64 / secs
    );
    Ok(())
}
