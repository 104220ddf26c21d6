//! Connections a stranger opens are bounded: slow headers and idle keep-alive connections are
//! closed after the header timeout, a slow body gets 408, and past the connection cap a client
//! is told 503 with Retry-After instead of being left hanging — while a well-behaved client is
//! served throughout.

use std::time::{Duration, Instant};

use latchkey::http::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{client, spawn_server_limited};

fn limits(max_connections: usize) -> Limits {
    Limits {
        header_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        max_connections,
        drain_timeout: Duration::from_secs(1),
    }
}

fn addr(base_url: &str) -> String {
    base_url.trim_start_matches("http://").to_string()
}

/// Waits until the server closes `stream` (EOF or reset); returns what it sent meanwhile.
async fn until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&got).into_owned()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

async fn healthy(base_url: &str) -> bool {
    client()
        .get(format!("{base_url}/-/health/live/"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

#[tokio::test]
async fn slowloris_connections_are_closed_after_the_header_timeout() {
    let s = spawn_server_limited(limits(200)).await;
    let mut slow = Vec::new();
    for _ in 0..40 {
        let mut c = TcpStream::connect(addr(&s.base_url))
            .await
            .expect("connect");
        c.write_all(b"GET /-/health/live/ HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("write");
        slow.push(c);
    }
    let drip = async {
        // A partial header line every 200 ms, as slowloris does, for up to 3 s.
        for i in 0..15 {
            for c in slow.iter_mut() {
                let _ = c.write_all(format!("X-{i}: y\r\n").as_bytes()).await;
            }
            assert!(
                healthy(&s.base_url).await,
                "a well-behaved client is served"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    drip.await;
    for c in slow.iter_mut() {
        let closed = until_closed(c, Duration::from_secs(2)).await;
        assert!(closed.is_some(), "a slowloris connection was left open");
    }
}

#[tokio::test]
async fn idle_connections_are_closed_and_the_cap_answers_503() {
    let s = spawn_server_limited(limits(5)).await;
    let mut idle = Vec::new();
    for _ in 0..5 {
        idle.push(
            TcpStream::connect(addr(&s.base_url))
                .await
                .expect("connect"),
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The sixth is told to come back, not left hanging.
    let mut extra = TcpStream::connect(addr(&s.base_url))
        .await
        .expect("connect");
    let answer = until_closed(&mut extra, Duration::from_secs(2))
        .await
        .expect("the server answers and closes");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    assert!(answer.contains("temporarily_unavailable"), "{answer}");
    // The idle ones are closed after the header timeout, which frees the cap.
    let started = Instant::now();
    for c in idle.iter_mut() {
        assert!(
            until_closed(c, Duration::from_secs(3)).await.is_some(),
            "an idle connection was left open"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        healthy(&s.base_url).await,
        "served again once the idle ones closed"
    );
}

#[tokio::test]
async fn a_body_that_never_finishes_gets_408() {
    let s = spawn_server_limited(limits(50)).await;
    let mut c = TcpStream::connect(addr(&s.base_url))
        .await
        .expect("connect");
    c.write_all(
        b"POST /application/o/token/ HTTP/1.1\r\nHost: x\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant",
    )
    .await
    .expect("write");
    let answer = until_closed(&mut c, Duration::from_secs(5))
        .await
        .unwrap_or_default();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/json"), "{answer}");
    assert!(answer.contains("\"invalid_request\""), "{answer}");
}

#[tokio::test]
async fn a_malformed_chunked_body_is_the_rfcs_json_error() {
    let s = spawn_server_limited(limits(50)).await;
    for path in [
        "/application/o/token/",
        "/application/o/revoke/",
        "/application/o/device/",
    ] {
        let mut c = TcpStream::connect(addr(&s.base_url))
            .await
            .expect("connect");
        c.write_all(
            format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\n\
                 Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
                 zz\r\ngrant_type=x\r\n0\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .expect("write");
        let answer = until_closed(&mut c, Duration::from_secs(5))
            .await
            .unwrap_or_default();
        assert!(answer.starts_with("HTTP/1.1 400"), "{path}: {answer}");
        assert!(answer.contains("application/json"), "{path}: {answer}");
        assert!(answer.contains("\"invalid_request\""), "{path}: {answer}");
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("cache-control: no-store"),
            "{path}"
        );
    }
}
