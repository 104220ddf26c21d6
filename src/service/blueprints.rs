//! Blueprints as admin use-cases: apply (all or nothing), preview (the same transaction, always
//! rolled back) and export. The format itself (YAML, tags, models) is [`crate::blueprint`].

use super::Service;
use crate::blueprint::{self, Blueprint, PasswordPlan, Passwords};
use crate::domain::{Kind, Object};
use crate::store;

pub use crate::blueprint::{ApplyReport, BlueprintError, ExportFilter, Source, read_sources};

impl Service {
    /// Checks and applies blueprints in one transaction: everything or nothing is written.
    pub async fn apply_blueprints(
        &self,
        sources: &[Source],
    ) -> Result<ApplyReport, BlueprintError> {
        let (report, blueprints) = self.run_blueprints(sources, true).await?;
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
        Ok(self.run_blueprints(sources, false).await?.0)
    }

    /// Parses the blueprints, plans their passwords and applies them in one write transaction,
    /// committed only with `commit` and when something changed: otherwise dropping the
    /// transaction rolls it back (nothing written, no change published).
    async fn run_blueprints(
        &self,
        sources: &[Source],
        commit: bool,
    ) -> Result<(ApplyReport, Vec<Blueprint>), BlueprintError> {
        let blueprints = blueprint::parse_all(sources)?;
        let passwords = self.plan_passwords(&blueprints).await?;
        let mut tx = self.store().write_tx().await?;
        let report =
            blueprint::apply::apply_in_tx(&mut tx, &blueprints, &passwords, self.now()).await?;
        if commit && !report.is_noop() {
            tx.commit().await?;
        }
        Ok((report, blueprints))
    }

    /// Hashes (or verifies against the stored hash) every password a user entry carries, before
    /// any transaction is opened.
    async fn plan_passwords(&self, blueprints: &[Blueprint]) -> Result<Passwords, BlueprintError> {
        let wanted = blueprint::apply::user_passwords(blueprints)?;
        let mut plans = Passwords::new();
        if wanted.is_empty() {
            return Ok(plans);
        }
        let mut conn = self.store().read().await?;
        let users = store::objects::list(&mut conn, Kind::User).await?;
        for (key, username, plain) in wanted {
            let existing = users.iter().find_map(|o| match o {
                Object::User { user, .. } if user.username == username => Some(user.id.clone()),
                _ => None,
            });
            let stored = match existing {
                Some(id) => store::objects::password_hash(&mut conn, &id).await?,
                None => None,
            };
            let plan = match stored {
                Some(hash) if super::objects::password_matches(&plain, &hash) => PasswordPlan::Keep,
                _ => PasswordPlan::Set(
                    super::objects::hash_password(&plain)
                        .map_err(|e| BlueprintError::Refused(e.to_string()))?,
                ),
            };
            plans.insert(key, plan);
        }
        Ok(plans)
    }

    /// The store (or the filtered part of it) as a blueprint.
    pub async fn export_blueprint(&self, filter: &ExportFilter) -> Result<String, BlueprintError> {
        if let Some(model) = &filter.model
            && blueprint::models::spec(model).is_none()
        {
            return Err(BlueprintError::Refused(format!("unknown model '{model}'")));
        }
        let mut conn = self.store().read().await?;
        let cache = blueprint::apply::load_cache(&mut conn).await?;
        Ok(blueprint::export::render(&cache, filter))
    }
}
