//! The real binary: bad input gives one clear line and exit code 2; `serve` starts and stops.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn latchkey() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    cmd.env_remove("LATCHKEY_DB")
        .env_remove("LATCHKEY_LISTEN")
        .env("LATCHKEY_BOOTSTRAP_PASSWORD", "binary-test-password");
    cmd
}

fn one_line_error(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "exit code; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn unknown_flag_exits_2() {
    let out = latchkey().arg("--no-such-flag").output().expect("run");
    let stderr = one_line_error(&out);
    assert!(stderr.contains("--no-such-flag"), "{stderr}");
}

#[test]
fn a_hibp_url_that_is_not_an_http_url_exits_2_saying_what_to_give() {
    let out = latchkey()
        .args([
            "--hibp-url",
            "api.pwnedpasswords.com",
            "serve",
            "--db",
            ":memory:",
        ])
        .output()
        .expect("run");
    let stderr = one_line_error(&out);
    assert!(
        stderr.contains("is not an http(s) URL with a host, e.g. https://"),
        "{stderr}"
    );
}

#[test]
fn corrupt_store_exits_2_with_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("bad.db");
    std::fs::write(&db, vec![7u8; 4096]).expect("write");
    let out = latchkey()
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .output()
        .expect("run");
    let stderr = one_line_error(&out);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("not a latchkey/SQLite database"),
        "{stderr}"
    );
}

#[test]
fn read_only_store_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("ro.db");
    // Create a valid store first, then make it and its directory read-only.
    let mut child = latchkey()
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_for_file(&db);
    std::thread::sleep(Duration::from_millis(500));
    let _ = child.kill();
    let _ = child.wait();
    let mut perms = std::fs::metadata(&db).expect("meta").permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&db, perms).expect("chmod file");
    let out = latchkey()
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .output()
        .expect("run");
    let stderr = one_line_error(&out);
    assert!(stderr.contains("read-only"), "{stderr}");
    assert!(stderr.contains("chmod"), "says what to do: {stderr}");
}

#[test]
fn store_path_that_is_a_directory_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = latchkey()
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path())
        .output()
        .expect("run");
    let stderr = one_line_error(&out);
    assert!(stderr.contains("is a directory"), "{stderr}");
}

#[test]
fn port_in_use_exits_2() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = latchkey()
        .args(["serve", "--listen", &addr.to_string(), "--db"])
        .arg(dir.path().join("x.db"))
        .output()
        .expect("run");
    let stderr = one_line_error(&out);
    assert!(stderr.contains("already in use"), "{stderr}");
    assert!(stderr.contains("--listen"), "{stderr}");
}

#[test]
fn serve_becomes_ready_and_stops_on_sigterm() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = latchkey()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(dir.path().join("s.db"))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    let mut ready = false;
    while start.elapsed() < Duration::from_secs(20) {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            let _ = s.write_all(b"GET /-/health/ready/ HTTP/1.0\r\n\r\n");
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            if buf.starts_with("HTTP/1.0 204") || buf.starts_with("HTTP/1.1 204") {
                ready = true;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(ready, "server never became ready");
    let pid = child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    // Generous: on a loaded 2-core machine the drain and the runtime shutdown can take a while.
    let exit = wait_with_timeout(&mut child, Duration::from_secs(30));
    assert_eq!(exit, Some(0), "clean exit on SIGTERM");
}

fn wait_for_file(path: &std::path::Path) {
    let start = Instant::now();
    while !path.exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_with_timeout(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    None
}

#[test]
fn serve_tls_without_a_brand_certificate_exits_2_saying_what_to_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = latchkey()
        .args(["serve", "--tls", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("tls.db"))
        .output()
        .expect("run");
    let stderr = one_line_error(&out);
    assert!(
        stderr.contains("--tls needs a brand with a web certificate that has a private key"),
        "{stderr}"
    );
    assert!(
        stderr.contains("web_certificate"),
        "says what to set: {stderr}"
    );
}
