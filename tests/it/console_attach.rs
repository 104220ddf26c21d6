//! Issue 14 with the real binary under tmux (the first test on PostgreSQL too, when the tests
//! run on that engine): `latchkey serve` in one process and `latchkey
//! console` in another on the same store (the header shows the server's URL and health, an
//! application made in the console is served by the other process within about a second,
//! quitting the console leaves the server answering, a clean stop leaves the registry); `run`
//! on a served store points at `latchkey console`; `run`'s `q` asks before the server stops;
//! `5 n` from a detail; the tab bar at 80x24; the OSC 52 bytes the console writes to its pty;
//! a long error read whole; the first-start message until acknowledged.
//!
//! Every test has its own temp store, a free port (`127.0.0.1:0`) and its own tmux server,
//! killed on drop even when an assertion fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use latchkey::store::{Store, StoreLocation};

use crate::console::{Tmux, tmux_session};
use crate::console_e2e::{focus, keys, pick, text};
use crate::console_shell::provider_blueprint;

const SECRET: &str = "attach-test-secret-0123456789abcdefghijklmnopqrstuvwxyz0123456789";
const PASSWORD: &str = "attach-test-password";

/// A `latchkey serve` child, killed on drop if it is still running.
struct Served {
    child: Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    /// SIGTERM, then waits for a clean exit.
    fn stop(&mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "serve exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A provider no application uses yet (a provider serves one application, as in authentik),
/// for the application the console makes.
const SPARE_PROVIDER: &str = r#"
  - model: authentik_providers_oauth2.oauth2provider
    identifiers: {name: attach-provider}
    attrs:
      authorization_flow: !Find [authentik_flows.flow, [slug, default-provider-authorization-implicit-consent]]
      client_id: attach-client
      redirect_uris: "https://attach.example/cb"
"#;

/// Starts `latchkey serve` on `dir/x.db` with two providers from a blueprint (`shell-provider`
/// for `shell-app`, and `attach-provider` unused), and waits for the URL it serves on.
fn serve(dir: &Path) -> Served {
    serve_on(dir, &path(&dir.join("x.db")))
}

/// The store a test's processes share: `dir/x.db`, or a fresh PostgreSQL database when the
/// tests run on that engine (`LATCHKEY_TEST_ENGINE=postgres`).
fn shared_store(dir: &Path) -> String {
    if crate::pg_support::engine_is_postgres() {
        tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(crate::pg_support::fresh_database())
    } else {
        path(&dir.join("x.db"))
    }
}

/// [`serve`] on the store `db` (a path or a URL).
fn serve_on(dir: &Path, db: &str) -> Served {
    let blueprint = dir.join("provider.yaml");
    let text = format!("{}{SPARE_PROVIDER}", provider_blueprint(SECRET));
    std::fs::write(&blueprint, text).expect("write blueprint");
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .env("LATCHKEY_BOOTSTRAP_PASSWORD", PASSWORD)
        .arg("serve")
        .args(["--db", db])
        .args(["--listen", "127.0.0.1:0", "--log-file"])
        .arg(dir.join("serve.log"))
        .arg("--blueprint")
        .arg(&blueprint)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("latchkey: serving on ") {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("serve printed its URL");
    Served { child, base }
}

/// The status code of `GET path` (no redirects followed), `None` when nothing answers.
fn http_status(base: &str, path: &str) -> Option<u16> {
    let addr = base.strip_prefix("http://")?;
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

fn args(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// Waits for the pane's program to exit; returns its exit status (from `dir/status`).
fn exit_status(tmux: &Tmux, dir: &Path) -> String {
    let status_file = dir.join("status");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = std::fs::read_to_string(&status_file).unwrap_or_default();
        if !status.trim().is_empty() {
            return status.trim().to_string();
        }
        assert!(
            Instant::now() < deadline,
            "the console did not exit; screen:\n{}",
            tmux.capture()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn registry(db: &str) -> Vec<latchkey::store::instances::InstanceRow> {
    let store = Store::open(&StoreLocation::parse(db).expect("a store location"))
        .await
        .expect("open the store");
    let rows = latchkey::store::instances::list(&store)
        .await
        .expect("instances");
    store.close().await;
    rows
}

/// `latchkey run` on `dir/x.db` in a `w`x`h` tmux session.
fn run_console(dir: &Path, size: (u16, u16), env: &[&str]) -> Tmux {
    let a = args(&[
        "run",
        "--db",
        &path(&dir.join("x.db")),
        "--listen",
        "127.0.0.1:0",
        "--log-file",
        &path(&dir.join("log")),
    ]);
    tmux_session(dir, &a, size, env)
}

fn base_in_header(screen: &str) -> String {
    screen
        .lines()
        .next()
        .and_then(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with("http://127.0.0.1:"))
        })
        .expect("the server URL in the header")
        .to_string()
}

#[test]
fn a_console_in_another_process_edits_what_serve_serves_and_quitting_leaves_it_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = shared_store(dir.path());
    let mut served = serve_on(dir.path(), &db);
    let base = served.base.clone();
    let a = args(&[
        "console",
        "--db",
        &db,
        "--log-file",
        &path(&dir.path().join("log")),
    ]);
    let tmux = tmux_session(dir.path(), &a, (120, 40), &["NO_COLOR=1"]);
    let screen = tmux.wait_for("the serving instance in the header", |s| {
        s.lines()
            .next()
            .is_some_and(|l| l.contains(&format!("{base} live")))
    });
    assert!(screen.contains("1 Dashboard"), "{screen}");

    // An application made in the console, with the spare provider the blueprint made.
    keys(&tmux, &["5", "n"]);
    tmux.wait_for("the application form", |s| s.contains("Create Application"));
    text(&tmux, "Attached app");
    focus(&tmux, "Slug");
    text(&tmux, "attached-app");
    pick(&tmux, "Provider", "attach-provider");
    keys(&tmux, &["C-s"]);
    tmux.wait_for("the save", |s| {
        s.contains("created application attached-app")
    });
    let saved = Instant::now();
    let discovery = "/application/o/attached-app/.well-known/openid-configuration";
    let served_after = loop {
        if http_status(&base, discovery) == Some(200) {
            break saved.elapsed();
        }
        assert!(
            saved.elapsed() < Duration::from_secs(5),
            "serve never served the console's application"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        served_after < Duration::from_millis(2500),
        "served {served_after:?} after the console saved (about a second expected)"
    );

    // Quitting the console asks nothing and leaves the server answering.
    keys(&tmux, &["q"]);
    assert_eq!(exit_status(&tmux, dir.path()), "0");
    assert_eq!(http_status(&base, "/-/health/live/"), Some(204));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let rows = runtime.block_on(registry(&db));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].pid, i64::from(served.child.id()));
    assert_eq!(rows[0].public_url, base);

    // A clean stop removes the server from the registry.
    served.stop();
    assert!(runtime.block_on(registry(&db)).is_empty());
}

#[test]
fn run_on_a_served_store_says_to_use_the_console_and_console_needs_a_served_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("x.db");
    let served = serve(dir.path());
    let addr = served.base.trim_start_matches("http://").to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["run", "--db", &path(&db), "--listen", &addr, "--log-file"])
        .arg(dir.path().join("run.log"))
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("already serves the store")
            && stderr.contains(&format!("latchkey console --db {}", db.display())),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    drop(served);

    let console = |db: &Path| {
        Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(["console", "--db", &path(db), "--log-file"])
            .arg(dir.path().join("console.log"))
            .stdin(Stdio::null())
            .output()
            .expect("console")
    };
    let missing = dir.path().join("missing.db");
    let out = console(&missing);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("latchkey serve"), "{stderr}");
    assert!(!missing.exists(), "no store is created");
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").expect("empty file");
    let out = console(&empty);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is empty") && stderr.contains("latchkey serve"),
        "{stderr}"
    );
}

#[test]
fn in_run_q_asks_and_the_server_answers_until_quit_is_confirmed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tmux = run_console(
        dir.path(),
        (120, 40),
        &[
            "NO_COLOR=1",
            "LATCHKEY_BOOTSTRAP_PASSWORD=tmux-test-password",
        ],
    );
    let screen = tmux.wait_for("the tab bar", |s| s.contains("1 Dashboard"));
    let base = base_in_header(&screen);
    tmux.wait_for("the instance's health", |s| {
        s.lines()
            .next()
            .is_some_and(|l| l.contains(&format!("{base} live")))
    });
    keys(&tmux, &["q"]);
    let screen = tmux.wait_for("the quit dialog", |s| s.contains("stop the server?"));
    assert!(
        screen.contains("Quitting stops the server at") && screen.contains("0 live sessions"),
        "{screen}"
    );
    assert_eq!(http_status(&base, "/-/health/live/"), Some(204));
    // Cancel is focused: Enter keeps the server.
    keys(&tmux, &["Enter"]);
    tmux.wait_for("the dialog closed", |s| !s.contains("stop the server?"));
    assert_eq!(http_status(&base, "/-/health/live/"), Some(204));
    keys(&tmux, &["q"]);
    tmux.wait_for("the quit dialog again", |s| s.contains("stop the server?"));
    keys(&tmux, &["Tab", "Enter"]);
    assert_eq!(exit_status(&tmux, dir.path()), "0");
    assert_eq!(
        http_status(&base, "/-/health/live/"),
        None,
        "the server stopped with the console, as the dialog said"
    );
}

#[test]
fn at_80x24_every_tab_is_named_and_5_n_from_a_detail_opens_the_applications_form() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tmux = run_console(
        dir.path(),
        (80, 24),
        &[
            "NO_COLOR=1",
            "LATCHKEY_BOOTSTRAP_PASSWORD=tmux-test-password",
        ],
    );
    let screen = tmux.wait_for("the tab bar", |s| s.contains("1 Dash"));
    let bar = screen.lines().nth(1).unwrap_or_default();
    for label in [
        "1 Dash", "2 Flow", "3 Stage", "4 Pol", "5 Apps", "6 Prov", "7 Certs", "8 Brand", "9 Conn",
        "Dev", "0 Users", "Ev",
    ] {
        assert!(bar.contains(label), "{label} in {bar:?}");
    }
    keys(&tmux, &["2", "Enter"]);
    tmux.wait_for("a flow's detail", |s| {
        s.contains("Flows > default-authentication-flow")
    });
    keys(&tmux, &["5", "n"]);
    tmux.wait_for("the applications form", |s| {
        s.contains("Create Application")
    });
    text(&tmux, "kestra");
    let screen = tmux.wait_for("the typed name", |s| s.contains("kestra"));
    assert!(
        !screen.contains("Update Flow") && !screen.contains("default-authentication-flow"),
        "nothing went to the flow: {screen}"
    );
    keys(&tmux, &["C-c"]);
    assert_eq!(exit_status(&tmux, dir.path()), "0");
}

/// The OSC 52 sequences in what the console wrote to its pty, decoded.
fn osc52_payloads(raw: &[u8]) -> Vec<(bool, String)> {
    let text = String::from_utf8_lossy(raw);
    let mut out = Vec::new();
    let mut rest: &str = &text;
    while let Some(i) = rest.find("]52;c;") {
        let wrapped = rest[..i].ends_with("\u{1b}\u{1b}") && rest[..i].contains("\u{1b}Ptmux;");
        let after = &rest[i + "]52;c;".len()..];
        let end = after.find('\u{7}').expect("BEL ends the sequence");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&after[..end])
            .expect("base64");
        out.push((wrapped, String::from_utf8(decoded).expect("utf-8")));
        rest = &after[end..];
    }
    out
}

#[test]
fn y_writes_osc_52_plainly_unless_only_tmux_passthrough_carries_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let blueprint = dir.path().join("provider.yaml");
    std::fs::write(&blueprint, provider_blueprint(SECRET)).expect("write");
    let a = args(&[
        "run",
        "--db",
        &path(&dir.path().join("x.db")),
        "--listen",
        "127.0.0.1:0",
        "--log-file",
        &path(&dir.path().join("log")),
        "--blueprint",
        &path(&blueprint),
    ]);
    let tmux = tmux_session(
        dir.path(),
        &a,
        (120, 40),
        &[
            "NO_COLOR=1",
            "LATCHKEY_BOOTSTRAP_PASSWORD=tmux-test-password",
        ],
    );
    tmux.wait_for("the tab bar", |s| s.contains("1 Dashboard"));
    let pty: PathBuf = dir.path().join("pty.out");
    tmux.run(&[
        "pipe-pane",
        "-o",
        "-t",
        "console",
        &format!("cat >> '{}'", pty.display()),
    ]);
    keys(&tmux, &["6", "/"]);
    text(&tmux, "shell-provider");
    keys(&tmux, &["Enter", "Enter"]);
    tmux.wait_for("the provider detail", |s| {
        s.contains("URLs and credentials")
    });
    keys(&tmux, &["G"]);
    let n = SECRET.len();

    // tmux's defaults (set-clipboard external, no passthrough): sent plainly, and tmux drops it.
    keys(&tmux, &["y"]);
    tmux.wait_for("what was sent", |s| {
        s.contains("tmux drops OSC 52 here (set-clipboard external): v shows the client secret")
    });
    // set-clipboard on: plain, and tmux takes it into its paste buffer.
    tmux.run(&["set-option", "-s", "set-clipboard", "on"]);
    keys(&tmux, &["y"]);
    tmux.wait_for("the copy", |s| {
        s.contains(&format!("copied the client secret (OSC 52, {n} chars)"))
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while tmux.run(&["show-buffer"]).trim() != SECRET {
        assert!(Instant::now() < deadline, "tmux's buffer holds the secret");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Only passthrough carries it: wrapped for tmux.
    tmux.run(&["set-option", "-s", "set-clipboard", "external"]);
    tmux.run(&["set-option", "-g", "allow-passthrough", "on"]);
    keys(&tmux, &["y"]);
    tmux.wait_for("what was sent", |s| {
        s.contains(&format!(
            "sent the client secret (OSC 52, {n} chars); not pasted? v shows it"
        ))
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let payloads = loop {
        let raw = std::fs::read(&pty).unwrap_or_default();
        let p = osc52_payloads(&raw);
        if p.len() >= 3 || Instant::now() > deadline {
            break (p, raw);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (payloads, raw) = payloads;
    assert_eq!(
        payloads,
        vec![
            (false, SECRET.to_string()),
            (false, SECRET.to_string()),
            (true, SECRET.to_string())
        ]
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(SECRET);
    let raw = String::from_utf8_lossy(&raw);
    let plain = format!("\u{1b}]52;c;{b64}\u{7}");
    let wrapped = format!("\u{1b}Ptmux;\u{1b}{plain}\u{1b}\\");
    assert_eq!(
        raw.matches(&wrapped).count(),
        1,
        "the passthrough sequence, exactly"
    );
    // The wrapped sequence holds a plain one (its ESC doubled): the other two stand alone.
    assert_eq!(
        raw.matches(&plain).count(),
        3,
        "the plain sequence, exactly"
    );
    // And the value can always be read from the screen.
    keys(&tmux, &["v"]);
    let screen = tmux.wait_for("the revealed secret", |s| s.contains("Client Secret ("));
    assert!(screen.contains(SECRET), "{screen}");
    keys(&tmux, &["C-c"]);
}

#[test]
fn a_long_import_error_is_read_whole_with_ctrl_r_and_logged_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tmux = run_console(
        dir.path(),
        (80, 24),
        &[
            "NO_COLOR=1",
            "LATCHKEY_BOOTSTRAP_PASSWORD=tmux-test-password",
        ],
    );
    tmux.wait_for("the tab bar", |s| s.contains("1 Dash"));
    let long = format!(
        "/no/such/dir/{}/blueprint-at-the-end.yaml",
        "deep".repeat(30)
    );
    keys(&tmux, &["2", ":"]);
    text(&tmux, &format!("import {long}"));
    keys(&tmux, &["Enter"]);
    let screen = tmux.wait_for("the cut error", |s| s.contains("(^R reads all)"));
    assert!(!screen.contains("blueprint-at-the-end"), "{screen}");
    keys(&tmux, &["C-r"]);
    // The window wraps the path (mid-word: it has no spaces), so wait for its last words.
    let screen = tmux.wait_for("the whole error", |s| s.contains("(os error 2)"));
    let joined: String = screen
        .lines()
        .map(|l| l.trim_matches(|c: char| c == '│' || c.is_whitespace()))
        .collect();
    assert!(joined.contains(&long), "{screen}");
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
    assert!(
        log.contains("blueprint import failed") && log.contains(&long),
        "{log}"
    );
    keys(&tmux, &["Escape", "C-c"]);
    assert_eq!(exit_status(&tmux, dir.path()), "0");
}

#[test]
fn the_initial_setup_url_stays_on_screen_until_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No LATCHKEY_BOOTSTRAP_PASSWORD: akadmin has no password; the setup URL is shown.
    let tmux = run_console(dir.path(), (80, 24), &["NO_COLOR=1"]);
    let screen = tmux.wait_for("the initial-setup window", |s| s.contains("Initial setup"));
    let password = screen
        .lines()
        // The window's borders and the panels' under it (box drawing, U+2500..U+257F).
        .map(|l| {
            l.trim_matches(|c: char| ('\u{2500}'..='\u{257f}').contains(&c) || c.is_whitespace())
        })
        .find(|l| l.starts_with("http://127.0.0.1:") && l.ends_with("/if/flow/initial-setup/"))
        .unwrap_or_else(|| panic!("the initial-setup URL on screen:\n{screen}"))
        .to_string();
    assert!(screen.contains("akadmin"), "{screen}");
    keys(&tmux, &["j", "2", "x"]);
    std::thread::sleep(Duration::from_millis(300));
    let screen = tmux.capture();
    assert!(screen.contains(&password), "still there: {screen}");
    assert!(screen.contains("no action here"), "{screen}");
    keys(&tmux, &["Enter"]);
    tmux.wait_for("the window closed", |s| !s.contains(&password));
    keys(&tmux, &["C-c"]);
    assert_eq!(exit_status(&tmux, dir.path()), "0");
}
