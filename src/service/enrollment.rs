//! The Agent's enrollment tokens seen from a device: which token a presented key is. The
//! enrollment endpoint that uses it is issue 17; the lookup is here so the key is only ever
//! handled as a digest.

use super::{Service, ServiceResult};
use crate::crypto::secrets;
use crate::domain::EnrollmentToken;
use crate::store;

impl Service {
    /// The unexpired enrollment token whose key is `key`: found by the key's SHA-256 digest,
    /// then compared in constant time. The key is never logged.
    pub async fn enrollment_token_for_key(
        &self,
        key: &str,
    ) -> ServiceResult<Option<EnrollmentToken>> {
        let digest = secrets::digest(key);
        let mut conn = self.store().read().await?;
        let found = store::enrollment_tokens::by_key_digest(&mut conn, &digest).await?;
        let now = self.now();
        Ok(found.filter(|t| {
            secrets::constant_time_eq(&t.key_digest, &digest)
                && (!t.expiring || t.expires_at.is_none_or(|at| at > now))
        }))
    }
}
