//! The brands' web certificates (authentik's `Brand.web_certificate`), for `latchkey serve
//! --tls`: which certificate and key each brand's domain is served with.

use super::{Service, ServiceResult};
use crate::store;

/// One brand's web certificate, with its private key (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebCertificate {
    /// The brand's domain (the TLS server names it answers).
    pub domain: String,
    /// Whether it is the default brand (its certificate answers every other name).
    pub default: bool,
    /// The certificate chain, PEM.
    pub certificate_pem: String,
    /// The private key, PEM.
    pub key_pem: String,
}

impl Service {
    /// The store's configuration generation: it moves at every commit that changed
    /// configuration, here or in another process sharing the store.
    pub fn config_generation(&self) -> u64 {
        self.store().config_generation()
    }

    /// Every brand whose web certificate exists and has a private key, read in one snapshot,
    /// with the configuration generation it was read at (a cache of it is current while
    /// [`Service::config_generation`] still answers that).
    pub async fn web_certificates(&self) -> ServiceResult<(u64, Vec<WebCertificate>)> {
        let generation = self.config_generation();
        let mut tx = self.store().read_tx().await?;
        let brands = store::brands::list(tx.conn()).await?;
        let mut out = Vec::new();
        for b in brands {
            let Some(id) = b.web_certificate_id.as_deref() else {
                continue;
            };
            let Some(kp) = store::certificates::get(tx.conn(), id).await? else {
                continue;
            };
            let Some(key_pem) = kp.key_pem.filter(|k| !k.trim().is_empty()) else {
                continue;
            };
            out.push(WebCertificate {
                domain: b.domain,
                default: b.default,
                certificate_pem: kp.certificate_pem,
                key_pem,
            });
        }
        Ok((generation, out))
    }
}
