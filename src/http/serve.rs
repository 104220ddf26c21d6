//! The accept loop: every connection a stranger can open is bounded. A request head must arrive
//! within [`Limits::header_timeout`] (hyper's header-read timer, which also runs while a
//! keep-alive connection waits for its next request, so idle connections close then too); a
//! whole request, body included, within [`Limits::request_timeout`] (the router's timeout
//! layer, so the OAuth endpoints answer it as JSON); and at most
//! [`Limits::max_connections`] are served at once — one more is answered `503` with
//! `Retry-After` and closed, never left hanging. With `--tls` ([`super::tls`]) the same limits
//! hold, and the TLS handshake must also end within the header timeout.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::tls::TlsCertificates;

/// What the server allows a client, from the command line (README "Limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A request head (new, slow or after an idle keep-alive pause) must be complete this soon.
    pub header_timeout: Duration,
    /// A whole request, body included, must be answered this soon (else `408`).
    pub request_timeout: Duration,
    /// Connections served at once; more are answered `503` with `Retry-After`.
    pub max_connections: usize,
    /// How long draining connections get at shutdown before they are dropped.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// What a client at the connection cap is told before the connection closes.
const BUSY_ANSWER: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\n\
cache-control: no-store\r\n\
retry-after: 1\r\n\
connection: close\r\n\
content-length: 97\r\n\r\n\
{\"error\":\"temporarily_unavailable\",\"error_description\":\"too many connections; retry in a second\"}";

/// Serves `app` on `listener` until `cancel` fires, then lets open connections finish (up to
/// the drain timeout). With `tls`, every connection is a TLS one first: its handshake must end
/// within the header timeout too, under the same connection cap.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<Arc<TlsCertificates>>,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    let acceptor = match &tls {
        Some(certs) => Some(TlsAcceptor::from(
            certs.server_config().map_err(std::io::Error::other)?,
        )),
        None => None,
    };
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    loop {
        let (stream, peer) = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            if tls.is_none() {
                tokio::spawn(refuse_busy(stream));
            }
            // A TLS client cannot read a plain answer: the connection just closes.
            continue;
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        let app = app.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move { Ok::<_, Infallible>(app.oneshot(req).await.into_response()) }
        });
        let watcher = graceful.watcher();
        let http = http.clone();
        let handshake = acceptor.clone().zip(tls.clone());
        let handshake_timeout = limits.header_timeout;
        tokio::spawn(async move {
            let result = match handshake {
                None => {
                    watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await
                }
                Some((acceptor, certs)) => {
                    certs.refresh().await;
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls_stream)) => {
                            let conn = http.serve_connection(TokioIo::new(tls_stream), service);
                            watcher.watch(conn).await
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, %peer, "TLS handshake failed");
                            Ok(())
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            Ok(())
                        }
                    }
                }
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, %peer, "connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout; dropping them");
    }
    Ok(())
}

/// Tells a client over the connection cap to come back, then closes (never waiting long on it).
async fn refuse_busy(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(BUSY_ANSWER).await?;
        stream.shutdown().await
    })
    .await;
}

/// `Router::oneshot` answers `Result<Response, Infallible>`.
trait IntoResponse {
    fn into_response(self) -> axum::response::Response;
}

impl IntoResponse for Result<axum::response::Response, Infallible> {
    fn into_response(self) -> axum::response::Response {
        match self {
            Ok(r) => r,
            Err(never) => match never {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busy_answer_is_well_formed() {
        let text = std::str::from_utf8(BUSY_ANSWER).expect("ascii");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|v| v.parse().ok())
            .expect("content-length");
        assert_eq!(len, body.len());
        let json: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(json["error"], "temporarily_unavailable");
    }
}
