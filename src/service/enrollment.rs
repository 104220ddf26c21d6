//! The Agent's enrollment tokens: making one (the key is returned once and only its digest is
//! stored) and which token a presented key is, so the key is only ever handled as a digest.

use super::{Service, ServiceError, ServiceResult};
use crate::crypto::secrets;
use crate::domain::{Duration, EnrollmentToken, FieldError, FieldErrors, Object, new_id};
use crate::store;

/// How many letters and digits a new enrollment key has (authentik's token keys are as long).
pub const ENROLLMENT_KEY_LENGTH: usize = 60;

/// What the admin asks for when making an enrollment token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnrollmentToken {
    /// Its name.
    pub name: String,
    /// The connector a device enrolls through.
    pub connector_id: String,
    /// The device access group an enrolled device joins.
    pub device_group_id: Option<String>,
    /// How long from now the token is valid (`None`: it never expires).
    pub expires_in: Option<Duration>,
}

/// A token just made: the stored object and its key, which is never available again.
#[derive(Debug, Clone)]
pub struct CreatedEnrollmentToken {
    /// The stored token (the key as its digest only).
    pub token: EnrollmentToken,
    /// The key, for the admin to copy now.
    pub key: String,
}

impl Service {
    /// Makes an enrollment token: a random key, stored as its SHA-256 digest, saved with the
    /// same validation and change feed as any object. The key is returned here once.
    pub async fn create_enrollment_token(
        &self,
        new: &NewEnrollmentToken,
    ) -> ServiceResult<CreatedEnrollmentToken> {
        if let Some(d) = new.expires_in
            && d.seconds() <= 0
        {
            return Err(ServiceError::Invalid(FieldErrors(vec![FieldError {
                field: "expires_in".into(),
                message: "an expiring token needs a validity above zero, e.g. days=30".into(),
            }])));
        }
        let key = secrets::random_alnum(ENROLLMENT_KEY_LENGTH);
        let now = self.now();
        let token = EnrollmentToken {
            id: new_id(),
            name: new.name.trim().to_string(),
            connector_id: new.connector_id.clone(),
            device_group_id: new.device_group_id.clone(),
            key_digest: secrets::digest(&key),
            expiring: new.expires_in.is_some(),
            expires_at: new.expires_in.map(|d| now + d.seconds()),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        self.save(&Object::EnrollmentToken(token.clone()), true)
            .await?;
        Ok(CreatedEnrollmentToken { token, key })
    }

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
