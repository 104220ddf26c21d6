//! What a token costs the server alone: the real binary (`latchkey serve`) in its own process
//! over a SQLite file, driven over loopback by concurrent keep-alive clients in this process,
//! with the server's own CPU time read from /proc before and after. "Per core" is requests
//! per CPU-second of the server process, so the load generator's share of the two cores does
//! not count against it. Every token is recorded in SQLite; client_credentials with `openid`
//! carries an access token and an ID token, as in authentik. The access token is signed for
//! every response; the ID token (no `at_hash` for this grant, as in authentik) is signed once
//! per distinct set of claims — the bench counts distinct ID tokens and reports the resulting
//! signatures per response.
//!
//! With `taskset` and two cores the server is pinned to core 1 and this process to core 0, so
//! the server's CPU-seconds are its own core's and not inflated by sharing.
//!
//! With `TOKEN_BENCH_POSTGRES=postgres://USER@HOST:PORT/postgres` (a server the bench may create
//! databases on, e.g. `.ci/pg-cluster start /tmp/bench-pg`) every scenario runs again on a fresh
//! PostgreSQL database in the same run, and the table adds PostgreSQL's own CPU per token (every
//! `postgres` process's CPU time over the run, read from /proc) and each engine's cold start
//! (spawn to ready).
//!
//! With `TOKEN_BENCH_PEER=benches/peer` (after `npm ci --prefix benches/peer`), node's
//! `oidc-provider` runs the same client_credentials, discovery and JWKS loads after latchkey, in
//! the same run, pinned and measured the same way (`benches/peer/oidc-provider.mjs`).
//!
//! With `TOKEN_BENCH_PERF=DIR`, `perf record` samples the server over every timed run (see
//! [`Profile`]).
//!
//! Run: `cargo bench --bench token_server` (args: CLIENTS REQUESTS_PER_CLIENT; default 32 250).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::Header;
use latchkey::blueprint::Source;
use latchkey::context::{Config, SystemClock};
use latchkey::crypto::keys::{self, KeyAlgorithm};
use latchkey::oauth::Snapshot;
use latchkey::service::Service;
use latchkey::store::{self, Store, StoreLocation, Topic};

const FIXTURE: &str = include_str!("../fixtures/blueprints/examples/example-app.yaml");
const SECRET: &str = "example-app-secret-change-me";

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// User + system CPU seconds the process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let ticks_per_s: f64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(") ").map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / ticks_per_s
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

/// Prepares the store: bootstrap, the example application, and the key for `alg`.
async fn prepare(db: &StoreLocation, alg: Option<KeyAlgorithm>) -> BenchResult<f64> {
    let store = Store::open(db).await?;
    let service = Service::new(
        store.clone(),
        Config::new("http://127.0.0.1"),
        Arc::new(SystemClock),
    );
    service.bootstrap(Some("bench-admin-password")).await?;
    service
        .apply_blueprints(&[Source {
            file: "example-app.yaml".into(),
            text: FIXTURE.into(),
        }])
        .await?;
    if let Some(alg) = alg {
        let pair = keys::generate_self_signed("bench", &[], 30, alg)?;
        let kp = latchkey::crypto::keys::keypair_from_pem(
            &latchkey::domain::new_id(),
            &format!("bench-{alg:?}"),
            &pair.certificate_pem,
            Some(&pair.key_pem),
            None,
        )?;
        let mut conn = store.read().await?;
        let mut p = store::providers::get_by_name(&mut conn, "Example app provider")
            .await?
            .ok_or("no provider")?;
        drop(conn);
        p.signing_key_id = Some(kp.id.clone());
        let mut tx = store.write_tx().await?;
        store::certificates::insert(tx.conn(), &kp).await?;
        store::providers::update(tx.conn(), &p).await?;
        tx.touch(Topic::Providers);
        tx.commit().await?;
    }
    // The bare signing rate of the provider's key, one core, in this process.
    let snapshot = Snapshot::load(service.context()).await?;
    let entry = snapshot.by_client_id("example-app").ok_or("no provider")?;
    let key = entry.signing_key.as_ref().ok_or("no signing key")?;
    let claims = serde_json::json!({"iss": "x", "sub": "y", "aud": "z", "exp": 1, "iat": 1});
    let mut header = Header::new(key.algorithm);
    header.kid = Some(key.kid.clone());
    let n = 2000;
    let started = Instant::now();
    for _ in 0..n {
        key.signer.sign_jwt(&header, &claims)?;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    store.close().await;
    Ok(rate)
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// User + system CPU seconds of every `postgres` process alive now (the server's backends,
/// which live as long as their pooled connections, and its background workers).
fn postgres_cpu_seconds() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .map(cpu_seconds)
        .sum()
}

/// The store a scenario runs on.
#[derive(Clone)]
enum Db {
    File(std::path::PathBuf),
    Postgres(String),
}

impl Db {
    fn engine(&self) -> &'static str {
        match self {
            Db::File(_) => "SQLite",
            Db::Postgres(_) => "PostgreSQL",
        }
    }

    fn location(&self) -> StoreLocation {
        match self {
            Db::File(path) => StoreLocation::File(path.clone()),
            Db::Postgres(url) => StoreLocation::Postgres(url.clone()),
        }
    }

    fn arg(&self) -> String {
        match self {
            Db::File(path) => path.display().to_string(),
            Db::Postgres(url) => url.clone(),
        }
    }
}

/// A fresh database on the PostgreSQL server `server` names.
async fn fresh_postgres(server: &str, name: &str) -> BenchResult<String> {
    use sqlx::Connection;
    let mut admin = sqlx::postgres::PgConnection::connect(server).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}"
    )))
    .execute(&mut admin)
    .await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    let mut url = url::Url::parse(server)?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

/// Where the server's log goes: `TOKEN_BENCH_SERVER_LOG=FILE` appends it there (with the
/// bench's `LATCHKEY_LOG`, e.g. `warn,latchkey::store::token_batch=debug` for the size of
/// every group commit); nowhere by default.
fn server_log() -> BenchResult<Stdio> {
    match std::env::var_os("TOKEN_BENCH_SERVER_LOG").filter(|v| !v.is_empty()) {
        Some(path) => Ok(std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?
            .into()),
        None => Ok(Stdio::null()),
    }
}

/// A free port on loopback.
fn free_port() -> BenchResult<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `program`, on core 1 when pinned (the server gets core 1 to itself; this process, the load
/// generator, runs on core 0).
fn server_command(program: &str) -> Command {
    match pinned() {
        true => {
            let mut c = Command::new("taskset");
            c.args(["-c", "1", program]);
            c
        }
        false => Command::new(program),
    }
}

async fn start(db: &Db) -> BenchResult<Server> {
    let port = free_port()?;
    let child = server_command(env!("CARGO_BIN_EXE_latchkey"))
        .args(["serve", "--db"])
        .arg(db.arg())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("LATCHKEY_BOOTSTRAP_PASSWORD", "bench-admin-password")
        .env(
            "LATCHKEY_LOG",
            std::env::var("LATCHKEY_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(server_log()?)
        .spawn()?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    ready(server, "/-/health/ready/", 204).await
}

/// Node's `oidc-provider` from `dir` (`benches/peer`, installed with `npm ci`), signing with
/// `alg`, with the example app's client id and secret.
async fn start_peer(dir: &std::path::Path, alg: &str) -> BenchResult<Server> {
    if !dir.join("node_modules/oidc-provider").is_dir() {
        return Err(format!(
            "{} has no node_modules/oidc-provider: run `npm ci --prefix {}` first",
            dir.display(),
            dir.display()
        )
        .into());
    }
    let port = free_port()?;
    let child = server_command("node")
        .arg(dir.join("oidc-provider.mjs"))
        .args([&port.to_string(), alg, "example-app", SECRET])
        .env("NODE_ENV", "production")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    ready(server, "/.well-known/openid-configuration", 200).await
}

/// `server` once `path` answers `status`.
async fn ready(server: Server, path: &str, status: u16) -> BenchResult<Server> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{}{path}", server.base)).send().await
            && r.status().as_u16() == status
        {
            return Ok(server);
        }
        if Instant::now() > deadline {
            return Err("the server did not become ready".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `id_token` member of a token response, found without parsing the whole body.
fn id_token_of(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("\"id_token\":\"")? + "\"id_token\":\"".len();
    let end = text[start..].find('"')? + start;
    Some(text[start..end].to_string())
}

/// The ID token's claims carry what [`CUSTOM_PROFILE`] adds (`nickname` lowercased) and not
/// the managed mapping's `given_name`: the custom mapping is the one being measured.
async fn check_custom_claims(server: &Server) -> BenchResult<()> {
    use base64::Engine;
    let body = client_credentials_profile(&reqwest::Client::new(), &server.base)
        .send()
        .await?
        .bytes()
        .await?;
    let token = id_token_of(&body).ok_or("no id_token")?;
    let payload = token.split('.').nth(1).ok_or("not a JWT")?;
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload)?)?;
    if claims.get("nickname").is_none() || claims.get("given_name").is_some() {
        return Err(format!("the custom mapping did not take effect: {claims}").into());
    }
    Ok(())
}

/// What one run measured.
struct Measured {
    /// Requests per wall-clock second.
    wall: f64,
    /// Requests per CPU-second of the server process.
    per_core: f64,
    /// CPU microseconds PostgreSQL's processes spent per request (0 on SQLite).
    postgres_us_per_request: f64,
    /// How many different ID tokens the responses carried (each one signed once).
    distinct_id_tokens: usize,
}

/// `clients` keep-alive loops of `per_client` requests.
async fn hammer<F>(
    server: &Server,
    clients: usize,
    per_client: usize,
    make: F,
) -> BenchResult<Measured>
where
    F: Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let pid = server.child.id();
    let profile = Profile::start(pid, clients * per_client)?;
    let cpu0 = cpu_seconds(pid);
    let pg0 = postgres_cpu_seconds();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let make = make.clone();
        let base = server.base.clone();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut seen = std::collections::HashSet::new();
            for _ in 0..per_client {
                let res = make(&http, &base).send().await?;
                if !res.status().is_success() {
                    return Err(format!("status {}: {}", res.status(), res.text().await?).into());
                }
                if let Some(t) = id_token_of(&res.bytes().await?) {
                    seen.insert(t);
                }
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(seen)
        }));
    }
    let mut seen = std::collections::HashSet::new();
    for t in tasks {
        seen.extend(t.await??);
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = (cpu_seconds(pid) - cpu0).max(1e-9);
    if let Some(p) = profile {
        p.stop()?;
    }
    let pg = postgres_cpu_seconds() - pg0;
    let n = (clients * per_client) as f64;
    Ok(Measured {
        wall: n / wall,
        per_core: n / cpu,
        postgres_us_per_request: pg * 1e6 / n,
        distinct_id_tokens: seen.len(),
    })
}

/// `perf record` of the server over one timed run, when `TOKEN_BENCH_PERF=DIR` asks for it:
/// `DIR/<n>-<requests>.data`, one per timed run in order (warm-ups of under 1 000 requests are
/// not recorded). Call graphs from DWARF unwinding (`.eh_frame`), so a release build without
/// frame pointers still gives whole stacks: `perf report -i FILE --no-children`, or a flame
/// graph with `perf script -i FILE | inferno-collapse-perf | inferno-flamegraph`.
struct Profile(Child);

static PROFILES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Profile {
    fn start(pid: u32, requests: usize) -> BenchResult<Option<Profile>> {
        let Some(dir) = std::env::var_os("TOKEN_BENCH_PERF").filter(|d| !d.is_empty()) else {
            return Ok(None);
        };
        if requests < 1000 {
            return Ok(None);
        }
        std::fs::create_dir_all(&dir)?;
        let n = PROFILES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let out = std::path::Path::new(&dir).join(format!("{n:02}-{requests}.data"));
        // On the load generator's core, so perf's own work never preempts the server.
        let child = Command::new("taskset")
            .args(["-c", "0", "perf", "record", "-q", "-F", "1999"])
            .args(["--call-graph", "dwarf,16384", "-p"])
            .arg(pid.to_string())
            .arg("-o")
            .arg(out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        // perf needs a moment to attach before the load starts.
        std::thread::sleep(Duration::from_millis(300));
        Ok(Some(Profile(child)))
    }

    fn stop(mut self) -> BenchResult<()> {
        Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status()?;
        self.0.wait()?;
        Ok(())
    }
}

/// Another process on the store: one short write transaction every 10 ms until `stop`;
/// returns how many it made.
async fn neighbour(db: Db, stop: tokio::sync::watch::Receiver<bool>) -> BenchResult<u64> {
    // Another latchkey process's write: through a store of its own, so it takes the writer
    // lock as latchkey does on either engine.
    let store = Store::open(&db.location()).await?;
    let mut n = 0;
    while !*stop.borrow() {
        let mut tx = store.write_tx().await?;
        sqlx::query(
            "INSERT INTO events (id, action, created_at, expires_at) VALUES ($1, 'neighbour', 0, 0)",
        )
        .bind(latchkey::domain::new_id())
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        n += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    store.close().await;
    Ok(n)
}

fn client_credentials(http: &reqwest::Client, base: &str) -> reqwest::RequestBuilder {
    with_scope(http, base, "openid")
}

fn client_credentials_profile(http: &reqwest::Client, base: &str) -> reqwest::RequestBuilder {
    with_scope(http, base, "openid profile")
}

fn with_scope(http: &reqwest::Client, base: &str, scope: &str) -> reqwest::RequestBuilder {
    token_request(http, &format!("{base}/application/o/token/"), scope)
}

/// The bench's client_credentials request (Basic authentication, a form body) to `url`.
fn token_request(http: &reqwest::Client, url: &str, scope: &str) -> reqwest::RequestBuilder {
    http.post(url)
        .basic_auth("example-app", Some(SECRET))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
}

/// The same loads against node's `oidc-provider` (see [`start_peer`]): client_credentials with
/// a JWT access token per response for each algorithm, discovery and JWKS once.
async fn run_peer(dir: &std::path::Path, clients: usize, per_client: usize) -> BenchResult<()> {
    let n = clients * per_client;
    let version = Command::new("node").arg("--version").output()?;
    let engine = format!(
        "oidc-provider (node {}, in memory)",
        String::from_utf8_lossy(&version.stdout).trim()
    );
    for alg in ["RS256", "ES256"] {
        let server = start_peer(dir, alg).await?;
        let token =
            |h: &reqwest::Client, b: &str| token_request(h, &format!("{b}/token"), "openid");
        hammer(&server, 4, 50, token).await?;
        let m = hammer(&server, clients, per_client, token).await?;
        println!(
            "| client_credentials | {engine} | {alg} | {n} | {:.0} | {:.0} | - | 1.000 | - |",
            m.wall, m.per_core
        );
        if alg == "RS256" {
            for (what, path) in [
                ("discovery", "/.well-known/openid-configuration"),
                ("JWKS", "/jwks"),
            ] {
                let m = hammer(&server, clients, per_client * 4, move |h, b| {
                    h.get(format!("{b}{path}"))
                })
                .await?;
                println!(
                    "| {what} | {engine} | - | {} | {:.0} | {:.0} | - | - | - |",
                    n * 4,
                    m.wall,
                    m.per_core
                );
            }
        }
        println!(
            "| (RSS after the run above: {:.1} MB) | {engine} | {alg} | | | | | | |",
            rss_mb(server.child.id())
        );
    }
    Ok(())
}

/// A custom profile mapping, as an admin would write one: the interpreter runs it per token.
const CUSTOM_PROFILE: &str = "return {\n    \"name\": request.user.name,\n    \"preferred_username\": request.user.username,\n    \"nickname\": request.user.username.lower(),\n    \"groups\": [g.name for g in request.user.ak_groups.all()],\n}\n";

/// Replaces the example provider's managed `profile` mapping with [`CUSTOM_PROFILE`] (the
/// running server sees the change through the store's change counters).
async fn use_custom_profile(db: &StoreLocation) -> BenchResult<()> {
    let store = Store::open(db).await?;
    let mut conn = store.read().await?;
    let mut p = store::providers::get_by_name(&mut conn, "Example app provider")
        .await?
        .ok_or("no provider")?;
    let managed = store::scope_mappings::get_by_managed(
        &mut conn,
        "goauthentik.io/providers/oauth2/scope-profile",
    )
    .await?
    .ok_or("no managed profile mapping")?;
    drop(conn);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let custom = latchkey::domain::ScopeMapping {
        id: latchkey::domain::new_id(),
        name: "custom profile".into(),
        managed: None,
        scope_name: "profile".into(),
        description: "Profile, the admin's way".into(),
        expression: CUSTOM_PROFILE.into(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    p.scope_mapping_ids.retain(|id| id != &managed.id);
    p.scope_mapping_ids.push(custom.id.clone());
    let mut tx = store.write_tx().await?;
    store::scope_mappings::insert(tx.conn(), &custom).await?;
    store::providers::update(tx.conn(), &p).await?;
    tx.touch(Topic::ScopeMappings);
    tx.touch(Topic::Providers);
    tx.commit().await?;
    store.close().await;
    // Let the server notice the change before the timed run.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(())
}

async fn run() -> BenchResult<()> {
    let clients = arg(0, 32);
    let per_client = arg(1, 250);
    let postgres = std::env::var("TOKEN_BENCH_POSTGRES")
        .ok()
        .filter(|v| !v.is_empty());
    println!(
        "| scenario | engine | alg | requests | req/s (wall) | req/s per server core | PostgreSQL CPU µs per request | signatures per response | bare signatures/s (1 core, same run) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut notes = Vec::new();
    for (name, alg) in [("RS256", None), ("ES256", Some(KeyAlgorithm::EcdsaP256))] {
        let dir =
            std::env::temp_dir().join(format!("latchkey-bench-{}-{}", std::process::id(), name));
        std::fs::create_dir_all(&dir)?;
        let mut dbs = vec![Db::File(dir.join("bench.db"))];
        if let Some(server) = &postgres {
            let db = format!("latchkey_bench_{}", name.to_lowercase());
            dbs.push(Db::Postgres(fresh_postgres(server, &db).await?));
        }
        for db in dbs {
            let rss = run_scenarios(&db, name, alg, clients, per_client, &mut notes).await?;
            if alg.is_some() {
                notes.push(format!(
                    "Server RSS after the ES256 run on {}: {rss:.1} MB (the server process alone).",
                    db.engine()
                ));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    if let Some(dir) = std::env::var_os("TOKEN_BENCH_PEER").filter(|v| !v.is_empty()) {
        run_peer(std::path::Path::new(&dir), clients, per_client).await?;
    }
    println!();
    for note in notes {
        println!("{note}");
    }
    Ok(())
}

/// Every scenario of one algorithm on one store; returns the server's RSS at the end.
async fn run_scenarios(
    db: &Db,
    name: &str,
    alg: Option<KeyAlgorithm>,
    clients: usize,
    per_client: usize,
    notes: &mut Vec<String>,
) -> BenchResult<f64> {
    let n = clients * per_client;
    let engine = db.engine();
    let bare = prepare(&db.location(), alg).await?;
    let spawned = Instant::now();
    let server = start(db).await?;
    notes.push(format!(
        "Cold start on {engine} ({name} store): {} ms from spawn to ready.",
        spawned.elapsed().as_millis()
    ));
    // Warm up: the snapshot, the service account, connections.
    hammer(&server, 4, 50, client_credentials).await?;
    let m = hammer(&server, clients, per_client, client_credentials).await?;
    // One access token per response, plus each distinct ID token once.
    let sigs = 1.0 + m.distinct_id_tokens as f64 / n as f64;
    println!(
        "| client_credentials | {engine} | {name} | {n} | {:.0} | {:.0} | {:.0} | {sigs:.3} | {bare:.0} |",
        m.wall, m.per_core, m.postgres_us_per_request
    );
    // The same load while another process writes the store (as `latchkey apply`, a console
    // elsewhere or `latchkey user create` would): a write transaction every 10 ms.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let neighbour = tokio::spawn(neighbour(db.clone(), stop_rx));
    let w = hammer(&server, clients, per_client, client_credentials).await;
    stop_tx.send(true)?;
    let writes = neighbour.await??;
    let w = w?;
    println!(
        "| client_credentials, a neighbour writing every 10 ms ({writes} writes) | {engine} | {name} | {n} | {:.0} | {:.0} | {:.0} | - | {:.0} % of the run above (wall) |",
        w.wall,
        w.per_core,
        w.postgres_us_per_request,
        100.0 * w.wall / m.wall
    );
    if alg.is_none() {
        for (what, path) in [
            (
                "discovery",
                "/application/o/example-app/.well-known/openid-configuration",
            ),
            ("JWKS", "/application/o/example-app/jwks/"),
        ] {
            let path = path.to_string();
            let m = hammer(&server, clients, per_client * 4, move |h, b| {
                h.get(format!("{b}{path}"))
            })
            .await?;
            println!(
                "| {what} | {engine} | - | {} | {:.0} | {:.0} | {:.0} | - | - |",
                n * 4,
                m.wall,
                m.per_core,
                m.postgres_us_per_request
            );
        }
    }
    if alg.is_some() {
        // Claims from scope mappings: the managed defaults (native), then a custom Python
        // mapping in their place (the interpreter, once per token).
        let m = hammer(&server, clients, per_client, client_credentials_profile).await?;
        println!(
            "| client_credentials, scope openid profile (managed mappings: native) | {engine} | {name} | {n} | {:.0} | {:.0} | {:.0} | - | - |",
            m.wall, m.per_core, m.postgres_us_per_request
        );
        use_custom_profile(&db.location()).await?;
        check_custom_claims(&server).await?;
        hammer(&server, 4, 50, client_credentials_profile).await?;
        let m = hammer(&server, clients, per_client, client_credentials_profile).await?;
        println!(
            "| client_credentials, scope openid profile (a custom Python profile mapping) | {engine} | {name} | {n} | {:.0} | {:.0} | {:.0} | - | - |",
            m.wall, m.per_core, m.postgres_us_per_request
        );
    }
    let rss = rss_mb(server.child.id());
    drop(server);
    Ok(rss)
}

/// Whether the server and the load generator each get a core of their own (needs `taskset`
/// and two cores; `TOKEN_BENCH_PIN=0` turns it off).
fn pinned() -> bool {
    std::env::var("TOKEN_BENCH_PIN").map_or(true, |v| v != "0")
        && std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
        && Command::new("taskset")
            .arg("-V")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

fn main() -> BenchResult<()> {
    if pinned() {
        // Before the runtime starts, so every thread it spawns inherits core 0.
        Command::new("taskset")
            .args(["-p", "-c", "0", &std::process::id().to_string()])
            .stdout(Stdio::null())
            .status()?;
        println!("server pinned to core 1, load generator and bare signing to core 0");
    } else {
        println!("not pinned: server and load generator share the cores");
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}
