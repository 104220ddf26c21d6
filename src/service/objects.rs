//! Small helpers the admin use-cases share: password hashing outside transactions and the
//! client credentials authentik generates.

use super::{ServiceError, ServiceResult};

/// Turns a JSON value into a [`ServiceError::Refused`] naming `what` (for callers mapping
/// settings that fail to decode).
pub fn refused(what: &str, err: impl std::fmt::Display) -> ServiceError {
    ServiceError::Refused(format!("{what}: {err}"))
}

/// Hashes a password with argon2id (slow: call before opening a transaction).
pub fn hash_password(plain: &str) -> ServiceResult<String> {
    Ok(crate::crypto::password::hash(plain)?)
}

/// True when `plain` matches the stored hash (slow: call outside a transaction).
pub fn password_matches(plain: &str, hash: &str) -> bool {
    crate::crypto::password::verify(plain, hash)
}

/// A new OAuth2 client id as authentik generates it (40 random letters and digits).
pub fn generate_client_id() -> String {
    crate::crypto::secrets::new_client_id()
}

/// A new OAuth2 client secret as authentik generates it (128 random letters and digits).
pub fn generate_client_secret() -> String {
    crate::crypto::secrets::new_client_secret()
}
