//! Cold start and idle memory of the real binary: `latchkey serve` on a fresh store (bootstrap
//! included: RSA-2048 key generation, argon2id hash, default blueprints) and on an existing one,
//! timed from process start to the first 204 from `/-/health/ready/`; then the idle RSS.
//!
//! Run: `cargo bench --bench startup` (arg: RUNS, default 5).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn ready(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    if s.write_all(b"GET /-/health/ready/ HTTP/1.0\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.0 204") || buf.starts_with("HTTP/1.1 204")
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Starts `serve`, returns (ms to ready, idle RSS in MB after 2 s).
fn one(db: &std::path::Path) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let port = free_port()?;
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(db)
        .env("LATCHKEY_BOOTSTRAP_PASSWORD", "bench-password-1")
        .stderr(Stdio::null())
        .spawn()?;
    while !ready(port) {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            return Err("never became ready".into());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    std::thread::sleep(Duration::from_secs(2));
    let rss = rss_kb(child.id()) as f64 / 1024.0;
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    Ok((ms, rss))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir()?;
    let mut fresh = Vec::new();
    let mut warm = Vec::new();
    let mut rss = Vec::new();
    for i in 0..runs {
        let db = dir.path().join(format!("s{i}.db"));
        let (ms, _) = one(&db)?;
        fresh.push(ms);
        let (ms, r) = one(&db)?;
        warm.push(ms);
        rss.push(r);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    println!("| measurement | median of {runs} |");
    println!("|---|---|");
    println!(
        "| cold start, fresh store (bootstrap) → ready | {:.0} ms |",
        median(&mut fresh)
    );
    println!(
        "| cold start, existing store → ready | {:.0} ms |",
        median(&mut warm)
    );
    println!("| idle RSS 2 s after ready | {:.1} MB |", median(&mut rss));
    Ok(())
}
