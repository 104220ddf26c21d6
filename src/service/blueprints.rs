//! Blueprints as admin use-cases: apply (all or nothing), preview (the same plan, read only)
//! and export. The format itself (YAML, tags, models) is [`crate::blueprint`].

use std::collections::HashMap;

use super::Service;
use crate::blueprint::apply::Planned;
use crate::blueprint::cache::Cache;
use crate::blueprint::{self, Blueprint, PasswordPlan, Passwords};
use crate::crypto::password;
use crate::domain::{Kind, Object};
use crate::store;

pub use crate::blueprint::{ApplyReport, BlueprintError, ExportFilter, Source, read_sources};

impl Service {
    /// Checks and applies blueprints: everything or nothing is written. The apply is planned
    /// on a consistent read, outside the write lock, so a large file (10 000 users) holds the
    /// lock only for its writes and the server's own writes go on meanwhile; if configuration
    /// changed between the plan and the write, it is planned again under the lock.
    pub async fn apply_blueprints(
        &self,
        sources: &[Source],
    ) -> Result<ApplyReport, BlueprintError> {
        let blueprints = blueprint::parse_all(sources)?;
        let passwords = self.plan_passwords(&blueprints).await?;
        let (seen, planned) = self.plan(&blueprints, &passwords).await?;
        let now = self.now();
        let mut tx = self.store().write_tx().await?;
        let report = match planned {
            Planned::Writes { writes, report }
                if store::config_version(tx.conn()).await? == seen =>
            {
                blueprint::apply::execute(&mut tx, &writes, now).await?;
                report
            }
            _ => {
                blueprint::apply::apply_in_tx(&mut tx, &blueprints, &passwords, now, self.actor())
                    .await?
            }
        };
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

    /// What [`Self::apply_blueprints`] would do, without writing: the same checks on the same
    /// plan, read only (a blueprint that deletes is tried in a transaction that is always rolled
    /// back). The console's Import shows this before asking.
    pub async fn preview_blueprints(
        &self,
        sources: &[Source],
    ) -> Result<ApplyReport, BlueprintError> {
        let blueprints = blueprint::parse_all(sources)?;
        let passwords = self.plan_passwords(&blueprints).await?;
        if let (_, Planned::Writes { report, .. }) = self.plan(&blueprints, &passwords).await? {
            return Ok(report);
        }
        let mut tx = self.store().write_tx().await?;
        let report = blueprint::apply::apply_in_tx(
            &mut tx,
            &blueprints,
            &passwords,
            self.now(),
            self.actor(),
        )
        .await?;
        drop(tx);
        Ok(report)
    }

    /// Plans the apply on one read transaction (a consistent view); returns the configuration
    /// version that view had, so the write can tell whether it is still current.
    async fn plan(
        &self,
        blueprints: &[Blueprint],
        passwords: &Passwords,
    ) -> Result<(i64, Planned), BlueprintError> {
        let mut read = self.store().read_tx().await?;
        let seen = store::config_version(read.conn()).await?;
        let cache = Cache::load(read.conn()).await?;
        read.finish().await?;
        let planned =
            blueprint::apply::plan(blueprints, passwords, cache, self.now(), self.actor()).await?;
        Ok((seen, planned))
    }

    /// Hashes (or verifies against the stored hash) every password a user entry carries, before
    /// any transaction is opened, at most one per core at a time.
    async fn plan_passwords(&self, blueprints: &[Blueprint]) -> Result<Passwords, BlueprintError> {
        let wanted = blueprint::apply::user_passwords(blueprints)?;
        let mut plans = Passwords::new();
        if wanted.is_empty() {
            return Ok(plans);
        }
        let mut conn = self.store().read().await?;
        let ids: HashMap<String, String> = store::objects::list(&mut conn, Kind::User)
            .await?
            .into_iter()
            .filter_map(|o| match o {
                Object::User { user, .. } => Some((user.username, user.id)),
                _ => None,
            })
            .collect();
        let mut checks = Vec::new();
        for (key, username, plain) in wanted {
            let stored = match ids.get(&username) {
                Some(id) => store::objects::password_hash(&mut conn, id).await?,
                None => None,
            };
            checks.push(async move {
                let matches = match &stored {
                    Some(_) => password::verify_bounded(plain.clone(), stored).await,
                    None => Ok(false),
                };
                let plan = match matches {
                    Ok(true) => PasswordPlan::Keep,
                    _ => PasswordPlan::Set(password::hash_bounded(plain).await?),
                };
                Ok::<_, crate::crypto::CryptoError>((key, plan))
            });
        }
        for done in futures::future::join_all(checks).await {
            let (key, plan) = done.map_err(|e| BlueprintError::Refused(e.to_string()))?;
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
