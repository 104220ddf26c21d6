//! `latchkey serve --tls` (issue 21: `Brand.web_certificate`): HTTPS on 127.0.0.1:0 with the
//! brands' certificates, checked by clients that trust only one brand's certificate and reach
//! the listener under the brand's host name (`resolve`), so the TLS server name is the brand's.

use std::net::SocketAddr;

use latchkey::crypto::keys::{KeyAlgorithm, generate_self_signed, keypair_from_pem};
use latchkey::domain::*;
use latchkey::http::{self, AppState, Limits, tls::TlsCertificates};
use latchkey::service::Service;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::{TestServer, bootstrapped_service};

/// A self-signed certificate for `name` stored under `name`; returns (id, certificate PEM).
async fn certificate(service: &Service, name: &str) -> (String, String) {
    let id = service
        .generate_certificate(name, name, &[name.to_string()], 30, KeyAlgorithm::EcdsaP256)
        .await
        .expect("certificate");
    let pem = service
        .list_certificates()
        .await
        .expect("list")
        .into_iter()
        .find(|c| c.id == id)
        .expect("stored")
        .certificate_pem;
    (id, pem)
}

async fn brand(service: &Service, domain: &str, certificate: Option<String>) {
    let b = Brand {
        id: new_id(),
        domain: domain.into(),
        default: false,
        branding_title: domain.into(),
        branding_logo: String::new(),
        branding_favicon: String::new(),
        branding_custom_css: String::new(),
        flow_authentication_id: None,
        flow_invalidation_id: None,
        flow_recovery_id: None,
        flow_unenrollment_id: None,
        flow_user_settings_id: None,
        flow_device_code_id: None,
        web_certificate_id: certificate,
        default_application_id: None,
        attributes: json!({}),
        created_at: 0,
        updated_at: 0,
        version: 0,
    };
    service.save(&Object::Brand(b), true).await.expect("brand");
}

/// Starts the HTTPS server over `service`; returns the server and its address.
async fn serve_tls(service: Service, dir: tempfile::TempDir) -> (TestServer, SocketAddr) {
    let listener = http::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let certs = TlsCertificates::load(service.clone())
        .await
        .expect("certificates");
    let cancel = CancellationToken::new();
    let state = AppState::new(service.clone());
    http::spawn_tls_server(listener, state, Limits::default(), certs, cancel.clone());
    let server = TestServer::from_parts(format!("https://{addr}"), service, cancel, dir);
    (server, addr)
}

/// A client that trusts only `pem` and reaches `addr` as `host`.
fn trusting(pem: &str, host: &str, addr: SocketAddr) -> reqwest::Client {
    let cert = reqwest::Certificate::from_pem(pem.as_bytes()).expect("pem");
    reqwest::Client::builder()
        .tls_certs_only([cert])
        .resolve(host, addr)
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

/// GET the health endpoint as `host` with a client trusting only `pem`: the status, or the
/// error's text.
async fn health(pem: &str, host: &str, addr: SocketAddr) -> Result<u16, String> {
    let url = format!("https://{host}:{}/-/health/live/", addr.port());
    trusting(pem, host, addr)
        .get(url)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("{e:?}"))
}

#[tokio::test]
async fn each_brand_is_served_its_own_certificate_by_server_name() {
    let (dir, service) = bootstrapped_service("https://alpha.test").await;
    let (alpha_cert, alpha_pem) = certificate(&service, "alpha.test").await;
    let (beta_cert, beta_pem) = certificate(&service, "beta.test").await;
    brand(&service, "alpha.test", Some(alpha_cert)).await;
    brand(&service, "beta.test", Some(beta_cert)).await;
    let (_server, addr) = serve_tls(service, dir).await;

    assert_eq!(health(&alpha_pem, "alpha.test", addr).await, Ok(204));
    assert_eq!(health(&beta_pem, "beta.test", addr).await, Ok(204));
    // The other brand's certificate is not trusted by a client that trusts only one.
    assert!(health(&alpha_pem, "beta.test", addr).await.is_err());
    assert!(health(&beta_pem, "alpha.test", addr).await.is_err());
}

#[tokio::test]
async fn a_certificate_rotated_in_the_store_is_served_on_the_next_connection() {
    let (dir, service) = bootstrapped_service("https://alpha.test").await;
    let (cert_id, old_pem) = certificate(&service, "alpha.test").await;
    brand(&service, "alpha.test", Some(cert_id.clone())).await;
    let (server, addr) = serve_tls(service, dir).await;
    assert_eq!(health(&old_pem, "alpha.test", addr).await, Ok(204));

    let fresh = generate_self_signed(
        "alpha.test",
        &["alpha.test".into()],
        30,
        KeyAlgorithm::EcdsaP256,
    )
    .expect("fresh pair");
    let stored = server
        .service
        .list_certificates()
        .await
        .expect("list")
        .into_iter()
        .find(|c| c.id == cert_id)
        .expect("stored");
    let mut rotated = keypair_from_pem(
        &cert_id,
        &stored.name,
        &fresh.certificate_pem,
        Some(&fresh.key_pem),
        None,
    )
    .expect("keypair");
    rotated.version = stored.version;
    rotated.created_at = stored.created_at;
    server
        .service
        .save(&Object::Certificate(rotated), false)
        .await
        .expect("rotate");

    assert_eq!(
        health(&fresh.certificate_pem, "alpha.test", addr).await,
        Ok(204)
    );
    assert!(health(&old_pem, "alpha.test", addr).await.is_err());
}

#[tokio::test]
async fn tls_is_refused_when_no_brand_has_a_certificate_with_a_key() {
    let (_dir, service) = bootstrapped_service("https://alpha.test").await;
    // A certificate without its key cannot serve TLS either.
    let pair = generate_self_signed(
        "alpha.test",
        &["alpha.test".into()],
        30,
        KeyAlgorithm::EcdsaP256,
    )
    .expect("pair");
    let id = service
        .import_certificate("no-key", &pair.certificate_pem, None)
        .await
        .expect("import");
    brand(&service, "alpha.test", Some(id)).await;
    let err = TlsCertificates::load(service).await.expect_err("refused");
    assert!(
        err.to_string()
            .contains("--tls needs a brand with a web certificate"),
        "{err}"
    );
}

#[tokio::test]
async fn tls_connections_keep_the_cap_and_a_silent_handshake_ends_at_the_header_timeout() {
    use tokio::io::AsyncReadExt;
    let (dir, service) = bootstrapped_service("https://alpha.test").await;
    let (cert_id, pem) = certificate(&service, "alpha.test").await;
    brand(&service, "alpha.test", Some(cert_id)).await;
    let listener = http::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let certs = TlsCertificates::load(service.clone())
        .await
        .expect("certificates");
    let cancel = CancellationToken::new();
    let limits = Limits {
        header_timeout: std::time::Duration::from_millis(300),
        max_connections: 1,
        ..Limits::default()
    };
    http::spawn_tls_server(
        listener,
        AppState::new(service.clone()),
        limits,
        certs,
        cancel.clone(),
    );
    let _server = TestServer::from_parts(format!("https://{addr}"), service, cancel, dir);

    // A silent client holds the only connection until the handshake timeout closes it.
    let mut silent = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut buf = [0u8; 16];
    // Over the cap: closed at once (a TLS client could not read the plain 503).
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let mut over = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let read = tokio::time::timeout(std::time::Duration::from_millis(250), over.read(&mut buf))
        .await
        .expect("closed before the handshake timeout");
    assert_eq!(read.expect("read"), 0);
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), silent.read(&mut buf))
        .await
        .expect("closed within the timeout");
    assert_eq!(read.expect("read"), 0, "closed without an answer");
    // Then the slot is free again.
    assert_eq!(health(&pem, "alpha.test", addr).await, Ok(204));
}
