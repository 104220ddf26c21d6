//! `latchkey apply` of many users, as an admin would run it: the real binary on a fresh store
//! (bootstrapped first), a blueprint of N users without passwords (hashing is not what is
//! measured). While it runs, another connection writes a row every 10 ms, as a server on the
//! same store would; the longest such write is reported — it shows how long the apply held the
//! write lock (planning runs outside it).
//!
//! Run: `cargo bench --bench apply` (args: user counts, default `1000 10000`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

fn blueprint(n: usize) -> String {
    let mut text = String::from("version: 1\nmetadata:\n  name: many users\nentries:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - model: authentik_core.user\n    identifiers:\n      username: user{i}\n    \
             attrs:\n      name: User {i}\n      email: user{i}@example.com\n"
        ));
    }
    text
}

fn latchkey(db: &std::path::Path, args: &[&str]) -> Result<Duration, Box<dyn std::error::Error>> {
    let started = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .arg("--db")
        .arg(db)
        .env("LATCHKEY_BOOTSTRAP_PASSWORD", "bench-password-1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(format!("latchkey {args:?} failed: {status}").into());
    }
    Ok(started.elapsed())
}

/// Writes one row every 10 ms until `stop`; returns the longest single write.
async fn neighbour(db: std::path::PathBuf, stop: tokio::sync::watch::Receiver<bool>) -> Duration {
    let opts = SqliteConnectOptions::new()
        .filename(db)
        .busy_timeout(Duration::from_secs(60));
    let Ok(mut conn) = SqliteConnection::connect_with(&opts).await else {
        return Duration::ZERO;
    };
    let mut worst = Duration::ZERO;
    while !*stop.borrow() {
        let started = Instant::now();
        let done = sqlx::query(
            "INSERT INTO events (id, action, created_at, expires_at) VALUES ($1, 'bench', 0, 0)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .execute(&mut conn)
        .await;
        if done.is_ok() {
            worst = worst.max(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    worst
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let counts: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let counts = if counts.is_empty() {
        vec![1000, 10_000]
    } else {
        counts
    };
    println!("users  apply (s)  users/s  longest neighbour write (ms)  re-apply (s)");
    for n in counts {
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("latchkey.db");
        let file = dir.path().join("users.yaml");
        std::fs::write(&file, blueprint(n))?;
        let file = file.to_string_lossy().to_string();
        // Bootstrap first, so the timed run is the apply alone.
        latchkey(&db, &["export", "--output", "/dev/null"])?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let writer = tokio::spawn(neighbour(db.clone(), stop_rx));
        let took = tokio::task::spawn_blocking({
            let db = db.clone();
            let file = file.clone();
            move || latchkey(&db, &["apply", &file]).map_err(|e| e.to_string())
        })
        .await??;
        stop_tx.send(true)?;
        let worst = writer.await?;
        let again = latchkey(&db, &["apply", &file])?;
        println!(
            "{n:>5}  {:>9.2}  {:>7.0}  {:>28.0}  {:>12.2}",
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64(),
            worst.as_secs_f64() * 1000.0,
            again.as_secs_f64()
        );
    }
    Ok(())
}
