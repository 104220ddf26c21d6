//! Exporting a certificate keypair to files the admin names: the certificate world-readable
//! (0644), the private key 0600 from the moment it exists, neither overwriting a file, and no
//! certificate left behind when the key cannot be written.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::{Service, ServiceError, ServiceResult};
use crate::domain::Object;
use crate::domain::validate::{FieldError, FieldErrors};
use crate::store;

/// The form keys the errors are attached to.
pub const CERTIFICATE_PATH: &str = "certificate_path";
/// The form key of the private key's path.
pub const KEY_PATH: &str = "key_path";

fn field_error(field: &str, message: String) -> ServiceError {
    ServiceError::Invalid(FieldErrors(vec![FieldError {
        field: field.to_string(),
        message,
    }]))
}

fn write_new(path: &Path, mode: u32, data: &str, field: &str) -> ServiceResult<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| {
            let why = match e.kind() {
                std::io::ErrorKind::AlreadyExists => {
                    "exists already: choose another path (nothing is overwritten)".to_string()
                }
                std::io::ErrorKind::NotFound => "its directory does not exist".to_string(),
                std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
                _ => e.to_string(),
            };
            field_error(field, format!("{}: {why}", path.display()))
        })?;
    file.write_all(data.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| field_error(field, format!("{}: {e}", path.display())))
}

impl Service {
    /// Writes the keypair's certificate to `certificate_path` and, when given, its private key
    /// to `key_path` (mode 0600). Errors name the field and the path.
    pub async fn export_certificate(
        &self,
        id: &str,
        certificate_path: &Path,
        key_path: Option<&Path>,
    ) -> ServiceResult<()> {
        let cert = {
            let mut conn = self.store().read().await?;
            store::certificates::get(&mut conn, id)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("certificate {id}")))?
        };
        if certificate_path.as_os_str().is_empty() {
            return Err(field_error(CERTIFICATE_PATH, "a path is required".into()));
        }
        let key = match (key_path, cert.key_pem.as_deref()) {
            (Some(p), Some(k)) => Some((p, k)),
            (Some(_), None) => {
                return Err(field_error(
                    KEY_PATH,
                    "this keypair has no private key: leave the key path empty".into(),
                ));
            }
            (None, _) => None,
        };
        if key.is_some_and(|(p, _)| p == certificate_path) {
            return Err(field_error(
                KEY_PATH,
                "use a different file than the certificate".into(),
            ));
        }
        write_new(
            certificate_path,
            0o644,
            &cert.certificate_pem,
            CERTIFICATE_PATH,
        )?;
        if let Some((path, pem)) = key
            && let Err(e) = write_new(path, 0o600, pem, KEY_PATH)
        {
            let _ = std::fs::remove_file(certificate_path);
            return Err(e);
        }
        tracing::info!(certificate = %cert.name, key = key.is_some(), "certificate exported");
        Ok(())
    }
}

/// How a new certificate's key is generated.
pub use crate::crypto::keys::KeyAlgorithm;

/// The form key of a generated certificate's validity.
pub const VALIDITY_DAYS: &str = "validity_days";

/// The longest validity a generated certificate may have (100 years).
pub const MAX_VALIDITY_DAYS: i64 = 36_500;

/// Why `days` is no validity for a new certificate: at least a day (a certificate that has
/// expired when it is made signs nothing a client accepts), at most [`MAX_VALIDITY_DAYS`].
pub fn check_validity_days(days: i64) -> Result<(), String> {
    if days < 1 {
        Err(format!(
            "{days}: a certificate must be valid for at least 1 day, e.g. 365"
        ))
    } else if days > MAX_VALIDITY_DAYS {
        Err(format!(
            "{days}: at most {MAX_VALIDITY_DAYS} days (100 years)"
        ))
    } else {
        Ok(())
    }
}

impl Service {
    /// Generates a self-signed certificate keypair valid for `validity_days` (see
    /// [`check_validity_days`]) and stores it under `name`.
    pub async fn generate_certificate(
        &self,
        name: &str,
        common_name: &str,
        sans: &[String],
        validity_days: i64,
        algorithm: KeyAlgorithm,
    ) -> ServiceResult<String> {
        check_validity_days(validity_days).map_err(|why| field_error(VALIDITY_DAYS, why))?;
        let pair =
            crate::crypto::keys::generate_self_signed(common_name, sans, validity_days, algorithm)?;
        self.import_certificate(name, &pair.certificate_pem, Some(&pair.key_pem))
            .await
    }

    /// Imports a PEM certificate (and key) under `name`, refusing invalid PEM, encrypted or
    /// weak keys and mismatched pairs with specific messages. Returns the new id.
    pub async fn import_certificate(
        &self,
        name: &str,
        certificate_pem: &str,
        key_pem: Option<&str>,
    ) -> ServiceResult<String> {
        let id = crate::domain::new_id();
        let kp = crate::crypto::keys::keypair_from_pem(&id, name, certificate_pem, key_pem, None)?;
        self.save(&Object::Certificate(kp), true).await?;
        Ok(id)
    }
}
