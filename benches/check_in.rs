//! Agent check-in throughput: an in-process server on 127.0.0.1:0 over a fresh SQLite file with
//! the platform's agent fixtures, DEVICES enrolled devices, each posting CHECK_INS check-ins of
//! realistic facts (200 software entries, 300 processes, ≈ 35 KiB of JSON) concurrently; prints
//! check-ins per second and the latency percentiles.
//!
//! Run: `cargo bench --bench check_in --profile dev` (args: DEVICES CHECK_INS_PER_DEVICE).

use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey::blueprint::Source;
use latchkey::context::{Config, SystemClock};
use latchkey::http::{self, AgentThrottle, AppState};
use latchkey::service::Service;
use latchkey::store::{Store, StoreLocation};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const CLI: &str = include_str!("../fixtures/blueprints/platform/cli.yaml");
const AGENT: &str = include_str!("../fixtures/blueprints/platform/agent.yaml");
const ENROLL_KEY: &str = "test-enroll-key";

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// Facts of the size a workstation reports.
fn facts(serial: &str) -> Value {
    let software: Vec<Value> = (0..200)
        .map(|i| {
            json!({"name": format!("package-{i}"), "version": format!("1.{i}.0-ubuntu1"),
                   "source": "dpkg", "path": format!("/usr/share/doc/package-{i}")})
        })
        .collect();
    let processes: Vec<Value> = (0..300)
        .map(|i| json!({"id": 1000 + i, "name": format!("process-{i}"), "user": "root"}))
        .collect();
    json!({
        "os": {"family": "linux", "name": "Ubuntu", "version": "24.04", "arch": "x86_64"},
        "hardware": {"model": "ThinkPad X1", "manufacturer": "Lenovo", "serial": serial,
                     "cpu_name": "Intel i7", "cpu_count": 8, "memory_bytes": 17_179_869_184_u64},
        "disks": [{"name": "/dev/nvme0n1p2", "mountpoint": "/", "capacity_total_bytes": 512_000_000_000_u64,
                   "capacity_used_bytes": 100_000_000_000_u64, "encryption_enabled": true}],
        "network": {"hostname": serial, "firewall_enabled": true, "gateway": "10.0.0.1",
                    "interfaces": [{"name": "eth0", "hardware_address": "00:11:22:33:44:55",
                                    "ip_addresses": ["10.0.0.20"], "dns_servers": ["10.0.0.1"]}]},
        "software": software,
        "processes": processes,
        "users": [{"id": "1000", "username": "alice", "name": "Alice", "home": "/home/alice"}],
        "groups": [{"id": "1000", "name": "alice"}],
        "vendor": {"goauthentik.io/platform": {"agent_version": "0.30.0"}},
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let devices = arg(0, 8);
    let per_device = arg(1, 50);
    let dir = tempfile::tempdir()?;
    let store = Store::open(&StoreLocation::File(dir.path().join("bench.db"))).await?;
    let listener = http::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let service = Service::new(store, Config::new(&base), Arc::new(SystemClock));
    service.bootstrap(Some("bench-password-1")).await?;
    let sources = [("cli.yaml", CLI), ("agent.yaml", AGENT)].map(|(file, text)| Source {
        file: file.into(),
        text: text.into(),
    });
    service.apply_blueprints(&sources).await?;
    let cancel = CancellationToken::new();
    let mut state = AppState::new(service.clone());
    // The bench measures the check-in itself, not the throttle.
    state.agent_throttle = Arc::new(AgentThrottle::new(1_000_000, 1_000_000));
    http::spawn_server(listener, state, cancel.clone());

    let http = reqwest::Client::new();
    let mut agents = Vec::new();
    for i in 0..devices {
        let serial = format!("SN-{i}");
        let enrolled = service
            .enroll_device(ENROLL_KEY, &serial, &format!("laptop-{i}"))
            .await?;
        let body = serde_json::to_vec(&facts(&serial))?;
        agents.push((enrolled.device_token_key, body));
    }
    let body_len = agents.first().map_or(0, |(_, b)| b.len());
    let url = format!("{base}/api/v3/endpoints/agents/connectors/check_in/");
    let started = Instant::now();
    let tasks: Vec<_> = agents
        .into_iter()
        .map(|(token, body)| {
            let (http, url) = (http.clone(), url.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_device);
                let mut failed = 0usize;
                for _ in 0..per_device {
                    let t = Instant::now();
                    let res = http
                        .post(&url)
                        .header("Authorization", format!("Bearer+agent {token}"))
                        .header("Content-Type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    match res {
                        Ok(r) if r.status().as_u16() == 204 => latencies.push(t.elapsed()),
                        _ => failed += 1,
                    }
                }
                (latencies, failed)
            })
        })
        .collect();
    let (mut latencies, mut failed) = (Vec::new(), 0);
    for t in tasks {
        let (l, f) = t.await?;
        latencies.extend(l);
        failed += f;
    }
    let secs = started.elapsed().as_secs_f64();
    cancel.cancel();
    latencies.sort();
    println!(
        "check-ins: {devices} devices x {per_device}, {body_len} bytes each: {} stored, {failed} \
         failed in {secs:.2} s = {:.1} check-ins/s; p50 {:.1} ms, p99 {:.1} ms",
        latencies.len(),
        latencies.len() as f64 / secs,
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
    );
    if failed > 0 {
        return Err(format!("{failed} check-ins failed").into());
    }
    Ok(())
}
