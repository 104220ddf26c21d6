//! Memory under login load, and a mixed soak: the real binary (`latchkey serve`, release) on a
//! fresh store with the example app. First 10 sequential logins (the RSS after them), then for
//! SOAK_SECONDS (default 300) two clients signing in over and over (identification, password,
//! login: one argon2id hash each), two asking for client_credentials tokens and one fetching the
//! login page without a cookie. RSS is sampled every second from /proc.
//!
//! Run: `cargo bench --bench soak` (SOAK_SECONDS=60 for a shorter run).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const PASSWORD: &str = "bench-admin-password-1";

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start() -> Result<Server, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/blueprints/examples/example-app.yaml"
    );
    let child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--blueprint",
            example,
            "--db",
        ])
        .arg(dir.path().join("soak.db"))
        .env("LATCHKEY_BOOTSTRAP_PASSWORD", PASSWORD)
        .stderr(Stdio::null())
        .spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/-/health/ready/"))
        .await
        .is_err()
    {
        if started.elapsed() > Duration::from_secs(60) {
            return Err("never became ready".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(Server {
        child,
        base,
        _dir: dir,
    })
}

async fn login(base: &str) -> Result<(), String> {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!("{base}/api/v3/flows/executor/default-authentication-flow/");
    c.get(&url).send().await.map_err(|e| e.to_string())?;
    for body in [
        json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
        json!({"component": "ak-stage-password", "password": PASSWORD}),
    ] {
        let v: Value = c
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if v["response_errors"]
            .as_object()
            .is_some_and(|e| !e.is_empty())
        {
            return Err(format!("login failed: {v}"));
        }
    }
    Ok(())
}

async fn token(c: &reqwest::Client, base: &str) -> Result<(), String> {
    let res = c
        .post(format!("{base}/application/o/token/"))
        .basic_auth("example-app", Some("example-app-secret-change-me"))
        .form(&[("grant_type", "client_credentials"), ("scope", "openid")])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if res.status() != 200 {
        return Err(format!("token: {}", res.status()));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let server = start().await?;
    let pid = server.child.id();
    let base = server.base.clone();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = rss_mb(pid);
    for _ in 0..10 {
        login(&base).await?;
    }
    let after_ten = rss_mb(pid);
    println!("idle {idle:.1} MB; after 10 sequential logins {after_ten:.1} MB");

    let until = Instant::now() + Duration::from_secs(seconds);
    let logins = Arc::new(AtomicU64::new(0));
    let tokens = Arc::new(AtomicU64::new(0));
    let pages = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (base, n, errors) = (base.clone(), logins.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                match login(&base).await {
                    Ok(()) => n.fetch_add(1, Ordering::Relaxed),
                    Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for _ in 0..2 {
        let (base, n, errors) = (base.clone(), tokens.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let c = reqwest::Client::new();
            while Instant::now() < until {
                match token(&c, &base).await {
                    Ok(()) => n.fetch_add(1, Ordering::Relaxed),
                    Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    {
        let (base, n, errors) = (base.clone(), pages.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                let c = reqwest::Client::new();
                let ok = c
                    .get(format!("{base}/if/flow/default-authentication-flow/"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                if ok {
                    n.fetch_add(1, Ordering::Relaxed);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }
    let mut peak: f64 = 0.0;
    let mut samples = Vec::new();
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = rss_mb(pid);
        peak = peak.max(now);
        samples.push(now);
    }
    for t in tasks {
        t.await?;
    }
    let last = rss_mb(pid);
    samples.sort_by(f64::total_cmp);
    let median = samples.get(samples.len() / 2).copied().unwrap_or(last);
    println!(
        "soak {seconds} s: {} logins, {} tokens, {} login pages, {} errors; RSS median {median:.1} MB, \
         peak {peak:.1} MB, at the end {last:.1} MB",
        logins.load(Ordering::Relaxed),
        tokens.load(Ordering::Relaxed),
        pages.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
    );
    Ok(())
}
