//! A real SMTP server for the email tests: `python3 -m aiosmtpd` on 127.0.0.1 with a free port,
//! its Mailbox handler writing each message into a temporary maildir the test reads back; and a
//! latchkey server (manual clock at the real time, so links the CLI makes line up) configured
//! to send through it. A missing aiosmtpd fails the test loudly (`.ci/run` installs it).

#![allow(dead_code)]

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use latchkey::context::{Config, ManualClock};
use latchkey::http::{self, AppState};
use latchkey::mail::SmtpConfig;
use latchkey::service::Service;
use tokio_util::sync::CancellationToken;

use crate::support::{self, ADMIN_PASSWORD};

/// A running aiosmtpd; killed (by its own handle) when dropped.
pub struct SmtpServer {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    maildir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Err(e) = self.child.kill() {
            eprintln!("aiosmtpd already gone: {e}");
        }
        let _ = self.child.wait();
    }
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    let l = StdListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

impl SmtpServer {
    /// Starts aiosmtpd and waits until it accepts connections.
    pub async fn start() -> Self {
        let probe = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .status()
            .expect("python3 must be installed");
        assert!(
            probe.success(),
            "aiosmtpd is missing: `python3 -m pip install aiosmtpd==1.4.6` (.ci/run does)"
        );
        let maildir = tempfile::tempdir().expect("maildir");
        let port = free_port();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("box"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let server = Self {
            child,
            port,
            maildir,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    /// The URL latchkey sends to.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The raw messages received so far.
    pub fn messages(&self) -> Vec<String> {
        let dir = self.maildir.path().join("box").join("new");
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut files: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    }

    /// Waits until `n` messages arrived (at most 10 s) and returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "{} of {n} messages", got.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Undoes quoted-printable (lettre encodes lines longer than 76 characters so): soft line
/// breaks joined, `=XX` decoded. Plain 7-bit text passes through unchanged.
pub fn unquote_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `flow_token=` link in a message (its text part).
pub fn link_in(message: &str) -> String {
    let message = unquote_printable(message);
    let start = message.find("http://").expect("a link in the message");
    let rest = &message[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .unwrap_or(rest.len());
    let link = &rest[..end];
    assert!(link.contains("flow_token="), "{link}");
    link.to_string()
}

/// An SMTP configuration for `url` with short limits (a test must never wait long).
pub fn smtp_config(url: &str) -> SmtpConfig {
    SmtpConfig {
        from: "latchkey@example.test".into(),
        connect_timeout: Duration::from_secs(1),
        total_timeout: Duration::from_secs(2),
        ..SmtpConfig::new(url)
    }
}

/// A bootstrapped latchkey server on 127.0.0.1:0 sending through `smtp`, with a manual clock
/// started at the real time.
pub struct MailServer {
    pub base_url: String,
    pub service: Service,
    pub clock: Arc<ManualClock>,
    pub cancel: CancellationToken,
    /// What `--db` names for the store (a file path or a PostgreSQL URL).
    pub db: String,
    _dir: tempfile::TempDir,
}

impl Drop for MailServer {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Starts a [`MailServer`].
pub async fn spawn_mail_server(smtp: Option<SmtpConfig>) -> MailServer {
    let listener = http::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("addr"));
    let dir = tempfile::tempdir().expect("tempdir");
    let location = support::temp_location(dir.path()).await;
    let db = match &location {
        latchkey::store::StoreLocation::File(p) => p.display().to_string(),
        latchkey::store::StoreLocation::Postgres(url) => url.clone(),
        other => panic!("unexpected store location {other:?}"),
    };
    let store = latchkey::store::Store::open(&location)
        .await
        .expect("open store");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    let clock = Arc::new(ManualClock::new(now));
    let config = Config {
        smtp,
        ..Config::new(&base_url)
    };
    let service = Service::new(store, config, clock.clone());
    service
        .bootstrap(Some(ADMIN_PASSWORD))
        .await
        .expect("bootstrap");
    let cancel = CancellationToken::new();
    http::spawn_server(listener, AppState::new(service.clone()), cancel.clone());
    MailServer {
        base_url,
        service,
        clock,
        cancel,
        db,
        _dir: dir,
    }
}
