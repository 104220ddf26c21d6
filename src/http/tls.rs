//! `latchkey serve --tls`: HTTPS with the brands' web certificates (authentik's
//! `Brand.web_certificate`). The TLS server name picks the certificate as a request's host
//! picks the brand ([`crate::domain::brand_match`]: the longest matching domain among the
//! brands that have one), else the default brand's, else the first by domain. The table is
//! rebuilt before a handshake whenever the store's configuration generation moved, so a
//! certificate rotated in the store (by this process or another) is served from the next
//! connection on, without a restart. rustls on aws-lc-rs, the provider every other TLS user
//! in the crate takes.

use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::domain::brand_match;
use crate::service::web_certificates::WebCertificate;
use crate::service::{Service, ServiceError};

/// Why HTTPS cannot start.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// No brand has a web certificate with a private key.
    #[error(
        "--tls needs a brand with a web certificate that has a private key: set one on a brand \
         (console: Brands tab, \"Web certificate\"; blueprint: `web_certificate` of \
         authentik_brands.brand) and start again"
    )]
    NoCertificate,
    /// The store could not be read.
    #[error("cannot read the brands' web certificates: {0}")]
    Store(#[from] ServiceError),
    /// rustls refused the configuration.
    #[error("cannot set up TLS: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The certificates by domain, as read at one configuration generation.
#[derive(Debug, Default)]
struct Table {
    generation: u64,
    /// (domain, key), longest domain first.
    named: Vec<(String, Arc<CertifiedKey>)>,
    /// The default brand's, else the first brand's by domain.
    fallback: Option<Arc<CertifiedKey>>,
}

impl Table {
    fn pick(&self, server_name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let host = server_name.and_then(brand_match::normalise_host);
        host.as_deref()
            .and_then(|h| {
                self.named
                    .iter()
                    .find(|(domain, _)| brand_match::domain_matches(domain, h))
            })
            .map(|(_, key)| key.clone())
            .or_else(|| self.fallback.clone())
    }
}

/// The brands' certificates as rustls serves them (a [`ResolvesServerCert`]).
pub struct TlsCertificates {
    service: Service,
    provider: Arc<CryptoProvider>,
    table: RwLock<Arc<Table>>,
    rebuild: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for TlsCertificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsCertificates").finish_non_exhaustive()
    }
}

/// One brand's certificate and key as rustls takes them; `None` (logged) when unusable.
fn certified(provider: &CryptoProvider, c: &WebCertificate) -> Option<Arc<CertifiedKey>> {
    let chain: Result<Vec<CertificateDer<'static>>, _> =
        CertificateDer::pem_slice_iter(c.certificate_pem.as_bytes()).collect();
    let key = PrivateKeyDer::from_pem_slice(c.key_pem.as_bytes());
    let built = match (chain, key) {
        (Ok(chain), Ok(key)) if !chain.is_empty() => {
            CertifiedKey::from_der(chain, key, provider).map_err(|e| e.to_string())
        }
        (Ok(_), Ok(_)) => Err("the certificate PEM holds no certificate".to_string()),
        (Err(e), _) => Err(format!("the certificate PEM cannot be read: {e}")),
        (_, Err(e)) => Err(format!("the private key PEM cannot be read: {e}")),
    };
    match built {
        Ok(k) => Some(Arc::new(k)),
        Err(why) => {
            tracing::warn!(brand = %c.domain, %why, "the brand's web certificate is not served");
            None
        }
    }
}

fn table(provider: &CryptoProvider, generation: u64, certs: &[WebCertificate]) -> Table {
    let mut named = Vec::new();
    let mut default = None;
    for c in certs {
        let Some(key) = certified(provider, c) else {
            continue;
        };
        if c.default {
            default = Some(key.clone());
        }
        named.push((c.domain.trim_end_matches('.').to_ascii_lowercase(), key));
    }
    // The store lists brands by domain: the first one is the fallback without a default.
    let fallback = default.or_else(|| named.first().map(|(_, k)| k.clone()));
    named.retain(|(domain, _)| !domain.is_empty());
    named.sort_by_key(|(domain, _)| std::cmp::Reverse(domain.len()));
    Table {
        generation,
        named,
        fallback,
    }
}

impl TlsCertificates {
    /// Reads the brands' certificates; refuses when none can be served.
    pub async fn load(service: Service) -> Result<Arc<Self>, TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let (generation, certs) = service.web_certificates().await?;
        let t = table(&provider, generation, &certs);
        if t.fallback.is_none() {
            return Err(TlsError::NoCertificate);
        }
        Ok(Arc::new(Self {
            service,
            provider,
            table: RwLock::new(Arc::new(t)),
            rebuild: tokio::sync::Mutex::new(()),
        }))
    }

    fn current(&self) -> Arc<Table> {
        match self.table.read() {
            Ok(t) => t.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Rebuilds the table when the configuration moved since it was read (cheap otherwise).
    /// A failed read keeps serving the old table; so does a table with nothing to serve.
    pub async fn refresh(&self) {
        let wanted = self.service.config_generation();
        if self.current().generation == wanted {
            return;
        }
        let _one = self.rebuild.lock().await;
        if self.current().generation == self.service.config_generation() {
            return;
        }
        match self.service.web_certificates().await {
            Ok((generation, certs)) => {
                let mut t = table(&self.provider, generation, &certs);
                if t.fallback.is_none() {
                    tracing::warn!("no brand has a usable web certificate; serving the last ones");
                    let old = self.current();
                    t.named = old.named.clone();
                    t.fallback = old.fallback.clone();
                }
                match self.table.write() {
                    Ok(mut cur) => *cur = Arc::new(t),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(t),
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot reload the web certificates"),
        }
    }

    /// The rustls server configuration over these certificates (HTTP/1.1 only, as the server
    /// speaks).
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for TlsCertificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current().pick(hello.server_name())
    }
}
