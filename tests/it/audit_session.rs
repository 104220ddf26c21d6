//! A full scripted admin session against the real binary (`latchkey serve` with a log file at
//! debug level, the CLI on the same store, sign-ins and tokens over HTTP): afterwards no
//! secret it handled (passwords, a client secret, an API key, an invitation link's token, an
//! access token, the signing key) appears in any stored event or in any log line.

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::flows_support::{html_login, jar};
use crate::support::{ADMIN_PASSWORD, client};

const CLIENT_SECRET: &str =
    "audit-session-client-secret-0123456789abcdefghijklmnopqrstuvwxyz-0123456789abcdefghij";
const DAVE_PASSWORD: &str = "dave-password-for-the-audit-session";
const WRONG_PASSWORD: &str = "not-daves-password-at-all";

const BLUEPRINT: &str = r#"
version: 1
metadata:
  name: audit-session
entries:
  - model: authentik_core.user
    identifiers:
      username: dave
    attrs:
      name: Dave
      email: dave@example.com
      password: DAVE_PASSWORD
  - model: authentik_providers_oauth2.oauth2provider
    id: provider
    identifiers:
      name: session-app
    attrs:
      client_id: session-app-client
      client_secret: CLIENT_SECRET
      client_type: confidential
      authorization_flow: !Find [authentik_flows.flow, [slug, default-provider-authorization-implicit-consent]]
      invalidation_flow: !Find [authentik_flows.flow, [slug, default-provider-invalidation-flow]]
      grant_types: [client_credentials]
  - model: authentik_core.application
    identifiers:
      slug: session-app
    attrs:
      name: Session App
      provider: !KeyOf provider
"#;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn cli(db: &std::path::Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("USER", "erin")
        .env("LATCHKEY_LOG", "debug")
        .output()
        .expect("run latchkey");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn serve(db: &std::path::Path, log: &std::path::Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(db)
        .arg("--log-file")
        .arg(log)
        .env("LATCHKEY_LOG", "debug")
        .env("LATCHKEY_BOOTSTRAP_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn serve");
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

async fn wait_ready(base: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if let Ok(r) = client().get(format!("{base}/-/health/ready/")).send().await
            && r.status().as_u16() == 204
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server never became ready");
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_of_a_scripted_admin_session_reaches_an_event_or_a_log_line() {
    let dir = tempfile::tempdir().expect("dir");
    let (db, log) = (dir.path().join("session.db"), dir.path().join("server.log"));
    let mut server = serve(&db, &log);
    wait_ready(&server.base).await;

    // The CLI, on the server's store: a blueprint with a password and a client secret, an
    // API token, an invitation link.
    let bp = dir.path().join("session.yaml");
    let text = BLUEPRINT
        .replace("DAVE_PASSWORD", DAVE_PASSWORD)
        .replace("CLIENT_SECRET", CLIENT_SECRET);
    std::fs::write(&bp, text).expect("write blueprint");
    cli(&db, &["apply", bp.to_str().expect("utf-8")]);
    let key = stdout(&cli(
        &db,
        &["user", "token", "create", "akadmin", "--intent", "api"],
    ));
    let key = key.lines().last().unwrap_or_default().trim().to_string();
    assert!(key.len() >= 40, "an API key on stdout: {key}");
    let link = stdout(&cli(&db, &["invitation", "create", "new-hires"]));
    let invitation_token = link
        .split("itoken=")
        .nth(1)
        .map(|t| t.split('&').next().unwrap_or_default().to_string())
        .expect("a link with its token");
    assert!(invitation_token.len() >= 20, "{link}");

    // Over HTTP: a wrong password, then the right one; a client_credentials token; the API key.
    let b = jar();
    let failed = html_login(&b, &server.base, "dave", WRONG_PASSWORD).await;
    assert_eq!(failed.status().as_u16(), 200, "the form again");
    let ok = html_login(&b, &server.base, "dave", DAVE_PASSWORD).await;
    assert!(ok.status().is_redirection(), "signed in");
    // The server notices the CLI's writes within about a second (another process's commits).
    let deadline = Instant::now() + Duration::from_secs(10);
    let token = loop {
        let token: serde_json::Value = client()
            .post(format!("{}/application/o/token/", server.base))
            .basic_auth("session-app-client", Some(CLIENT_SECRET))
            .form(&[("grant_type", "client_credentials"), ("scope", "openid")])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("json");
        if token["error"] != "invalid_client" || Instant::now() > deadline {
            break token;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let access_token = token["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("a token: {token}"))
        .to_string();
    let me = client()
        .get(format!("{}/api/v3/endpoints/devices/", server.base))
        .header("Authorization", format!("Bearer {key}"))
        .send()
        .await
        .expect("api");
    assert_eq!(me.status().as_u16(), 200);

    // Stop the server cleanly so every log line is written.
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let start = Instant::now();
    while server.child.try_wait().ok().flatten().is_none()
        && start.elapsed() < Duration::from_secs(30)
    {
        std::thread::sleep(Duration::from_millis(50));
    }

    let store = latchkey::store::Store::open(&latchkey::store::StoreLocation::File(db.clone()))
        .await
        .expect("open");
    let (rows, private_key): (Vec<(String, String, String, String)>, String) = {
        let mut conn = store.read().await.expect("read");
        let rows = sqlx::query_as("SELECT action, username, origin, context FROM events")
            .fetch_all(&mut *conn)
            .await
            .expect("events");
        let key: (String,) = sqlx::query_as(
            "SELECT key_pem FROM certificate_keypairs WHERE key_pem IS NOT NULL AND key_pem <> '' LIMIT 1",
        )
        .fetch_one(&mut *conn)
        .await
        .expect("the signing key");
        (rows, key.0)
    };
    store.close().await;
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    for wanted in ["model_created", "password_set", "login_failed", "login"] {
        assert!(actions.contains(&wanted), "{wanted} recorded: {actions:?}");
    }
    // The CLI's changes are erin's, from the CLI.
    assert!(
        rows.iter().any(|r| r.0 == "model_created"
            && r.1.starts_with("erin@")
            && r.2 == "blueprint audit-session"),
        "{rows:?}"
    );
    let key_body: String = private_key
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .join("");
    let secrets = [
        ("the admin password", ADMIN_PASSWORD.to_string()),
        ("dave's password", DAVE_PASSWORD.to_string()),
        ("the wrong password", WRONG_PASSWORD.to_string()),
        ("the client secret", CLIENT_SECRET.to_string()),
        ("the API key", key.clone()),
        ("the invitation token", invitation_token.clone()),
        ("the access token", access_token.clone()),
        (
            "the private key",
            key_body[..40.min(key_body.len())].to_string(),
        ),
    ];
    let log_text = std::fs::read_to_string(&log).expect("the log file");
    assert!(
        log_text.lines().count() > 5,
        "the server logged: {log_text}"
    );
    for (what, secret) in &secrets {
        assert!(secret.len() >= 20, "{what} is long enough to search for");
        for row in &rows {
            let text = format!("{} {} {} {}", row.0, row.1, row.2, row.3);
            assert!(
                !text.contains(secret.as_str()),
                "{what} in a {} event: {text}",
                row.0
            );
        }
        for line in log_text.lines() {
            assert!(
                !line.contains(secret.as_str()),
                "{what} in a log line: {line}"
            );
        }
    }
}
