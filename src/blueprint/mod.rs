//! authentik blueprints: read (YAML with tags and line numbers), check, apply in one
//! transaction, and export. The default objects bootstrap creates are blueprints too
//! (`fixtures/blueprints/default/`, embedded at build time).

pub mod apply;
pub mod document;
pub mod error;
pub mod export;
pub mod models;
pub mod resolve;
pub mod yaml;

use std::path::Path;

pub use apply::{ApplyReport, PasswordPlan, Passwords};
pub use document::{Blueprint, Source};
pub use error::{BlueprintError, Location};
pub use export::ExportFilter;

use crate::service::Service;
use crate::service::objects::{self, Kind, Object};

/// The blueprints bootstrap applies, in order (embedded so the binary needs no files).
pub const DEFAULT_BLUEPRINTS: &[(&str, &str)] = &[
    (
        "default/flow-default-authentication-flow.yaml",
        include_str!("../../fixtures/blueprints/default/flow-default-authentication-flow.yaml"),
    ),
    (
        "default/flow-default-invalidation-flow.yaml",
        include_str!("../../fixtures/blueprints/default/flow-default-invalidation-flow.yaml"),
    ),
    (
        "default/flow-default-provider-authorization.yaml",
        include_str!("../../fixtures/blueprints/default/flow-default-provider-authorization.yaml"),
    ),
    (
        "default/system-providers-oauth2.yaml",
        include_str!("../../fixtures/blueprints/default/system-providers-oauth2.yaml"),
    ),
    (
        "default/flow-default-user-settings-flow.yaml",
        include_str!("../../fixtures/blueprints/default/flow-default-user-settings-flow.yaml"),
    ),
    (
        "default/default-brand.yaml",
        include_str!("../../fixtures/blueprints/default/default-brand.yaml"),
    ),
    (
        "default/flow-device-code.yaml",
        include_str!("../../fixtures/blueprints/default/flow-device-code.yaml"),
    ),
];

/// Reads blueprint files (refusing huge ones before reading them whole).
pub fn read_sources(paths: &[impl AsRef<Path>]) -> Result<Vec<Source>, BlueprintError> {
    let mut out = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let file = path.display().to_string();
        let read_err = |reason: String| BlueprintError::Read {
            file: file.clone(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| read_err(e.to_string()))?;
        if meta.len() > yaml::MAX_FILE_BYTES as u64 {
            return Err(BlueprintError::at(
                &Location {
                    file: file.clone(),
                    line: 1,
                    entry: None,
                },
                format!(
                    "the file is {} bytes; blueprints larger than {} bytes are refused",
                    meta.len(),
                    yaml::MAX_FILE_BYTES
                ),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| read_err(e.to_string()))?;
        out.push(Source { file, text });
    }
    Ok(out)
}

/// Parses and checks every source; the first problem is returned. A bundled blueprint that a
/// source names in a `metaapplyblueprint` entry comes just before it (once).
pub fn parse_all(sources: &[Source]) -> Result<Vec<Blueprint>, BlueprintError> {
    let mut out: Vec<Blueprint> = Vec::new();
    for source in sources {
        let bp = document::parse(source)?;
        for key in &bp.requires {
            let file = bundled_file(key);
            if out.iter().any(|b| b.file == file) {
                continue;
            }
            if let Some((_, text)) = DEFAULT_BLUEPRINTS.iter().find(|(k, _)| k == key) {
                out.push(document::parse(&Source {
                    file,
                    text: (*text).to_string(),
                })?);
            }
        }
        out.push(bp);
    }
    Ok(out)
}

fn bundled_file(key: &str) -> String {
    format!("fixtures/blueprints/{key}")
}

/// The embedded default blueprints, checked.
pub fn defaults() -> Result<Vec<Blueprint>, BlueprintError> {
    let sources: Vec<Source> = DEFAULT_BLUEPRINTS
        .iter()
        .map(|(file, text)| Source {
            file: bundled_file(file),
            text: (*text).to_string(),
        })
        .collect();
    parse_all(&sources)
}

impl Service {
    /// Checks and applies blueprints in one transaction: everything or nothing is written.
    pub async fn apply_blueprints(
        &self,
        sources: &[Source],
    ) -> Result<ApplyReport, BlueprintError> {
        let blueprints = parse_all(sources)?;
        let passwords = self.plan_passwords(&blueprints).await?;
        let mut tx = self.store().write_tx().await?;
        let report = apply::apply_in_tx(&mut tx, &blueprints, &passwords, self.now()).await?;
        if report.is_noop() {
            // Dropping the transaction rolls back: nothing to commit, no change published.
            drop(tx);
        } else {
            tx.commit().await?;
        }
        for bp in &blueprints {
            tracing::info!(file = %bp.file, name = %bp.name, "blueprint applied");
        }
        Ok(report)
    }

    /// What [`Self::apply_blueprints`] would do, without writing: the same checks and the same
    /// transaction, always rolled back. The console's Import shows this before asking.
    pub async fn preview_blueprints(
        &self,
        sources: &[Source],
    ) -> Result<ApplyReport, BlueprintError> {
        let blueprints = parse_all(sources)?;
        let passwords = self.plan_passwords(&blueprints).await?;
        let mut tx = self.store().write_tx().await?;
        let report = apply::apply_in_tx(&mut tx, &blueprints, &passwords, self.now()).await?;
        drop(tx);
        Ok(report)
    }

    /// Hashes (or verifies against the stored hash) every password a user entry carries, before
    /// any transaction is opened.
    async fn plan_passwords(&self, blueprints: &[Blueprint]) -> Result<Passwords, BlueprintError> {
        let wanted = apply::user_passwords(blueprints)?;
        let mut plans = Passwords::new();
        if wanted.is_empty() {
            return Ok(plans);
        }
        let mut conn = self.store().read().await?;
        let users = objects::list(&mut conn, Kind::User).await?;
        for (key, username, plain) in wanted {
            let existing = users.iter().find_map(|o| match o {
                Object::User { user, .. } if user.username == username => Some(user.id.clone()),
                _ => None,
            });
            let stored = match existing {
                Some(id) => objects::password_hash(&mut conn, &id).await?,
                None => None,
            };
            let plan = match stored {
                Some(hash) if objects::password_matches(&plain, &hash) => PasswordPlan::Keep,
                _ => PasswordPlan::Set(objects::hash_password(&plain)?),
            };
            plans.insert(key, plan);
        }
        Ok(plans)
    }

    /// The store (or the filtered part of it) as a blueprint.
    pub async fn export_blueprint(&self, filter: &ExportFilter) -> Result<String, BlueprintError> {
        if let Some(model) = &filter.model
            && models::spec(model).is_none()
        {
            return Err(BlueprintError::Service(
                crate::service::ServiceError::Refused(format!("unknown model '{model}'")),
            ));
        }
        let mut conn = self.store().read().await?;
        let cache = apply::load_cache(&mut conn).await?;
        Ok(export::render(&cache, filter))
    }
}
