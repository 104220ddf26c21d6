//! Saving and deleting admin objects for the console's forms and dialogs, each in its own write
//! transaction, with the one rule the schema cannot hold: an instance never loses its last
//! active superuser. Plus the small helpers other use-cases share (hashing outside
//! transactions, authentik's generated client credentials).

use super::usages::{OnDelete, Usage};
use super::{Service, ServiceError, ServiceResult};
use crate::blueprint::change_events;
use crate::domain::{FieldErrors, Kind, Object};
use crate::store;

/// How many active users hold superuser rights, as seen inside `tx`.
async fn active_superusers(tx: &mut store::WriteTx) -> ServiceResult<usize> {
    let conn = tx.conn();
    let mut n = 0;
    for user in store::users::list(conn).await? {
        if user.is_active && store::groups::is_superuser(conn, &user.id).await? {
            n += 1;
        }
    }
    Ok(n)
}

/// Refuses (rolling the transaction back when it is dropped) a write that leaves no active
/// superuser where there was one: deleting or deactivating the last one, taking it out of its
/// superuser group, or deleting or demoting that group.
async fn keep_a_superuser(tx: &mut store::WriteTx, before: usize) -> ServiceResult<()> {
    if before > 0 && active_superusers(tx).await? == 0 {
        return Err(ServiceError::Refused(
            "this would leave no active superuser: the last active superuser cannot be deleted, \
             deactivated or lose its superuser group"
                .into(),
        ));
    }
    Ok(())
}

impl Service {
    /// Validates (see [`validate_for_save`]) and writes one object (insert when `is_new`, else
    /// an optimistic update), in its own transaction. Deactivating the last active superuser
    /// is refused.
    pub async fn save(&self, obj: &Object, is_new: bool) -> ServiceResult<()> {
        validate_for_save(obj)?;
        let now = self.now();
        let mut tx = self.store().write_tx().await?;
        let before = active_superusers(&mut tx).await?;
        let previous = if is_new {
            store::objects::insert(&mut tx, obj, now).await?;
            None
        } else {
            let previous = store::objects::get(tx.conn(), obj.kind(), obj.id()).await?;
            store::objects::update(&mut tx, obj, now).await?;
            previous
        };
        keep_a_superuser(&mut tx, before).await?;
        change_events::record_change(&mut tx, self.actor(), previous.as_ref(), Some(obj), now)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes one object after checking the references that would refuse it, in its own
    /// transaction; the schema cascades or clears the rest.
    pub async fn delete_object(&self, kind: Kind, id: &str) -> ServiceResult<()> {
        if kind == Kind::User && self.is_last_superuser(id).await? {
            return Err(ServiceError::Refused(
                "this is the last active superuser: it cannot be deleted".into(),
            ));
        }
        let blockers: Vec<Usage> = self
            .usages(kind, id)
            .await?
            .into_iter()
            .filter(|u| u.effect == OnDelete::Blocks)
            .collect();
        if let Some(b) = blockers.first() {
            return Err(ServiceError::Refused(format!(
                "still used by {} '{}' as {}: change that first",
                b.kind, b.name, b.field
            )));
        }
        let mut tx = self.store().write_tx().await?;
        let before = active_superusers(&mut tx).await?;
        let previous = store::objects::get(tx.conn(), kind, id).await?;
        store::objects::delete(&mut tx, kind, id).await?;
        keep_a_superuser(&mut tx, before).await?;
        if let Some(old) = &previous {
            change_events::record_change(&mut tx, self.actor(), Some(old), None, self.now())
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records authentik's `secret_view`: the actor revealed or copied (`how`) secret `field`
    /// of an object. The value is never part of the event.
    pub async fn record_secret_view(
        &self,
        kind: Kind,
        id: &str,
        field: &str,
        how: &str,
    ) -> ServiceResult<()> {
        let obj = {
            let mut conn = self.store().read().await?;
            store::objects::get(&mut conn, kind, id).await?
        };
        let obj = obj.ok_or_else(|| ServiceError::NotFound(format!("the {kind:?}")))?;
        let event = change_events::secret_view_event(self.actor(), &obj, field, how, self.now());
        Ok(self.context().insert_event(event).await?)
    }

    /// True when `user_id` is the only active user with superuser rights.
    pub async fn is_last_superuser(&self, user_id: &str) -> ServiceResult<bool> {
        let supers = self.superuser_ids().await?;
        if !supers.contains(user_id) {
            return Ok(false);
        }
        let active = self
            .list_users()
            .await?
            .into_iter()
            .filter(|u| u.is_active && supers.contains(&u.id))
            .count();
        Ok(active <= 1)
    }
}

/// Everything a console save checks before writing: the domain's rules, and that the
/// object's expressions compile (blueprints, which may carry another engine's syntax, check
/// the domain's rules only). Every refusal names its field.
pub fn validate_for_save(obj: &Object) -> Result<(), FieldErrors> {
    let mut errors = crate::domain::validate_object(obj)
        .err()
        .unwrap_or_default();
    if let Err(more) = super::expressions::check_object(obj) {
        errors.0.extend(more.0);
    }
    errors.into_result()
}

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
