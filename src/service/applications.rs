//! Creating an application together with its provider (authentik's "Create with Provider"),
//! the first step of every integration guide: both are checked, then both are written in one
//! transaction, so a bad field in either leaves nothing half-saved.

use super::objects::validate_for_save;
use super::{Service, ServiceError, ServiceResult};
use crate::domain::{Application, FieldError, FieldErrors, Object, Provider};
use crate::store::{self, StoreError};

/// Errors about the provider's fields carry this prefix (`provider.name`), so a form that
/// edits both objects marks the right one of two fields with the same name.
pub const PROVIDER_FIELD_PREFIX: &str = "provider.";

/// `errors` with every field name prefixed by `prefix`.
fn prefixed(errors: FieldErrors, prefix: &str) -> impl Iterator<Item = FieldError> + '_ {
    errors.0.into_iter().map(move |e| FieldError {
        field: format!("{prefix}{}", e.field),
        message: e.message,
    })
}

/// A provider's unique-column clash, named as a provider field.
fn provider_duplicate(err: StoreError) -> ServiceError {
    match err {
        StoreError::Duplicate { field, value } => {
            let field = field
                .split(", ")
                .map(|f| format!("{PROVIDER_FIELD_PREFIX}{f}"))
                .collect::<Vec<_>>()
                .join(", ");
            ServiceError::Store(StoreError::Duplicate { field, value })
        }
        other => ServiceError::Store(other),
    }
}

impl Service {
    /// Creates `application` using the new `provider`, in one transaction: the application's
    /// provider is set to it, both are validated first (every bad field of either is reported,
    /// the provider's prefixed with [`PROVIDER_FIELD_PREFIX`]), and a clash with a stored
    /// object (a taken slug, provider name or client ID) writes neither.
    pub async fn create_application_with_provider(
        &self,
        application: &Application,
        provider: &Provider,
    ) -> ServiceResult<()> {
        let app = Object::Application(Application {
            provider_id: Some(provider.id.clone()),
            ..application.clone()
        });
        let provider = Object::Provider(provider.clone());
        let mut errors = validate_for_save(&app).err().unwrap_or_default();
        if let Err(e) = validate_for_save(&provider) {
            let more: Vec<FieldError> = prefixed(e, PROVIDER_FIELD_PREFIX).collect();
            errors.0.extend(more);
        }
        errors.into_result()?;
        let now = self.now();
        let mut tx = self.store().write_tx().await?;
        store::objects::insert(&mut tx, &provider, now)
            .await
            .map_err(provider_duplicate)?;
        store::objects::insert(&mut tx, &app, now).await?;
        tx.commit().await?;
        Ok(())
    }
}
