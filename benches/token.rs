//! Token endpoint, discovery and JWKS throughput over loopback, with the bare signing rate of the
//! same key measured in the same run for scale. An in-process server on 127.0.0.1:0 over a fresh
//! SQLite file; every issued token is recorded in SQLite as in production.
//!
//! Run: `cargo bench --bench token` (args: CLIENTS REQUESTS_PER_CLIENT; defaults 32 250).
//! Prints a Markdown table for docs/BENCHMARKS.md and the process RSS afterwards.

use std::sync::Arc;
use std::time::Instant;

use jsonwebtoken::Header;
use latchkey::blueprint::Source;
use latchkey::context::{Config, SystemClock};
use latchkey::crypto::keys::{self, KeyAlgorithm};
use latchkey::crypto::secrets;
use latchkey::http::{self, AppState};
use latchkey::oauth::Snapshot;
use latchkey::service::Service;
use latchkey::store::{self, Store, StoreLocation, Topic, grants::AuthorizationCode};
use tokio_util::sync::CancellationToken;

const FIXTURE: &str = include_str!("../fixtures/blueprints/examples/example-app.yaml");
const SECRET: &str = "example-app-secret-change-me";
const REDIRECT: &str = "http://localhost:8080/callback";

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Runs `clients` concurrent loops of `per_client` requests built by `make`; returns req/s.
async fn hammer<F>(clients: usize, per_client: usize, make: F) -> BenchResult<f64>
where
    F: Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for i in 0..per_client {
                let res = make(&http, c * per_client + i).send().await?;
                if !res.status().is_success() {
                    return Err(format!("status {}: {}", res.status(), res.text().await?).into());
                }
                res.bytes().await?;
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok((clients * per_client) as f64 / started.elapsed().as_secs_f64())
}

async fn use_key(service: &Service, alg: KeyAlgorithm) -> BenchResult<()> {
    let pair = keys::generate_self_signed("bench", &[], 30, alg)?;
    let kp = latchkey::crypto::keys::keypair_from_pem(
        &latchkey::domain::new_id(),
        &format!("bench-{alg:?}"),
        &pair.certificate_pem,
        Some(&pair.key_pem),
        None,
    )?;
    let mut conn = service.store().read().await?;
    let mut p = store::providers::get_by_name(&mut conn, "Example app provider")
        .await?
        .ok_or("no provider")?;
    drop(conn);
    p.signing_key_id = Some(kp.id.clone());
    let mut tx = service.store().write_tx().await?;
    store::certificates::insert(tx.conn(), &kp).await?;
    store::providers::update(tx.conn(), &p).await?;
    tx.touch(Topic::Providers);
    tx.commit().await?;
    Ok(())
}

/// Bare signing rate of the provider's kept key, one core, no I/O.
async fn bare_signing_rate(service: &Service) -> BenchResult<f64> {
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
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

async fn insert_codes(service: &Service, n: usize) -> BenchResult<Vec<String>> {
    let mut conn = service.store().read().await?;
    let p = store::providers::get_by_name(&mut conn, "Example app provider")
        .await?
        .ok_or("no provider")?;
    let admin = store::users::get_by_username(&mut conn, "akadmin")
        .await?
        .ok_or("no admin")?;
    drop(conn);
    let now = service.now();
    let mut codes = Vec::with_capacity(n);
    let mut tx = service.store().write_tx().await?;
    for _ in 0..n {
        let code = secrets::random_token(32);
        store::grants::insert_code(
            tx.conn(),
            &AuthorizationCode {
                id: latchkey::domain::new_id(),
                code_digest: secrets::digest(&code),
                provider_id: p.id.clone(),
                user_id: admin.id.clone(),
                session_id: None,
                redirect_uri: REDIRECT.into(),
                scope: "openid email profile".into(),
                nonce: Some("n".into()),
                code_challenge: None,
                code_challenge_method: None,
                auth_time: now,
                expires_at: now + 3600,
                consumed_at: None,
                created_at: now,
            },
        )
        .await?;
        codes.push(code);
    }
    tx.commit().await?;
    Ok(codes)
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    let clients = arg(0, 32);
    let per = arg(1, 250);
    let dir = tempfile::tempdir()?;
    let store = Store::open(&StoreLocation::File(dir.path().join("bench.db"))).await?;
    let listener = http::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let service = Service::new(store, Config::new(&base), Arc::new(SystemClock));
    service.bootstrap(Some("bench-password-1")).await?;
    service
        .apply_blueprints(&[Source {
            file: "example-app.yaml".into(),
            text: FIXTURE.into(),
        }])
        .await?;
    let cancel = CancellationToken::new();
    http::spawn_server(listener, AppState::new(service.clone()), cancel.clone());
    let token_url = format!("{base}/application/o/token/");
    println!("| scenario | alg | requests | req/s | bare signatures/s (1 core, same run) |");
    println!("|---|---|---|---|---|");
    for (name, alg) in [("RS256", None), ("ES256", Some(KeyAlgorithm::EcdsaP256))] {
        if let Some(alg) = alg {
            use_key(&service, alg).await?;
        }
        let bare = bare_signing_rate(&service).await?;
        let url = token_url.clone();
        let cc = hammer(clients, per, move |http, _| {
            http.post(&url)
                .basic_auth("example-app", Some(SECRET))
                .form(&[("grant_type", "client_credentials"), ("scope", "openid")])
        })
        .await?;
        println!(
            "| client_credentials | {name} | {} | {cc:.0} | {bare:.0} |",
            clients * per
        );
        let codes = Arc::new(insert_codes(&service, clients * per).await?);
        let url = token_url.clone();
        let ac = hammer(clients, per, move |http, i| {
            http.post(&url)
                .basic_auth("example-app", Some(SECRET))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", codes[i].as_str()),
                    ("redirect_uri", REDIRECT),
                ])
        })
        .await?;
        println!(
            "| authorization_code exchange | {name} | {} | {ac:.0} | {bare:.0} |",
            clients * per
        );
    }
    for (name, path) in [
        (
            "discovery",
            "/application/o/example-app/.well-known/openid-configuration",
        ),
        ("JWKS", "/application/o/example-app/jwks/"),
    ] {
        let url = format!("{base}{path}");
        let rate = hammer(clients, per * 4, move |http, _| http.get(&url)).await?;
        println!("| {name} | - | {} | {rate:.0} | - |", clients * per * 4);
    }
    println!();
    println!(
        "RSS after the run: {:.1} MB (server and load generator in one process)",
        rss_mb()
    );
    cancel.cancel();
    Ok(())
}
