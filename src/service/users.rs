//! Accounts from the console and the shell: create a user (optionally in the superuser group,
//! created on first use as bootstrap creates it) and set a password, each in one short write
//! transaction with the hashing done before it opens.

use serde_json::json;

use super::{Service, ServiceError, ServiceResult, objects};
use crate::blueprint::change_events::password_set_event;
use crate::domain::{Group, User, new_id};
use crate::store::{self, Conn, Topic};

/// The bootstrap admin group (authentik's superuser group).
pub const ADMIN_GROUP: &str = "authentik Admins";

/// The shortest password latchkey accepts from an admin.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// authentik's superuser group, created when missing (bootstrap and `latchkey user create
/// --superuser` share it).
pub(crate) async fn admin_group(conn: &mut Conn, now: i64) -> ServiceResult<Group> {
    if let Some(g) = store::groups::get_by_name(conn, ADMIN_GROUP).await? {
        return Ok(g);
    }
    let group = Group {
        id: new_id(),
        name: ADMIN_GROUP.into(),
        is_superuser: true,
        parent_id: None,
        attributes: json!({}),
        member_count: 0,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    store::groups::insert(conn, &group).await?;
    Ok(group)
}

impl Service {
    /// Creates an internal user named `username`; with `superuser` it joins authentik's
    /// superuser group. A name with spaces or control characters is refused.
    pub async fn create_user(
        &self,
        username: &str,
        email: &str,
        superuser: bool,
    ) -> ServiceResult<User> {
        if username.trim().is_empty()
            || username
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ServiceError::Refused(
                "a username may not be empty or contain spaces".into(),
            ));
        }
        let now = self.now();
        let user = User::new_internal(username, username, email, now);
        let mut tx = self.store().write_tx().await?;
        store::users::insert(tx.conn(), &user, None).await?;
        if superuser {
            let group = admin_group(tx.conn(), now).await?;
            store::groups::add_member(tx.conn(), &group.id, &user.id).await?;
            tx.touch(Topic::Groups);
        }
        tx.touch(Topic::Users);
        tx.commit().await?;
        Ok(user)
    }

    /// Finds a user by username.
    pub async fn user_by_username(&self, username: &str) -> ServiceResult<Option<User>> {
        let mut conn = self.store().read().await?;
        Ok(store::users::get_by_username(&mut conn, username).await?)
    }

    /// Sets a user's password (hashed before the transaction opens) and records authentik's
    /// `password_set` event; `source` says where it was set ("console", "cli").
    pub async fn set_user_password(
        &self,
        user_id: &str,
        plain: &str,
        source: &str,
    ) -> ServiceResult<()> {
        if plain.chars().count() < MIN_PASSWORD_CHARS {
            return Err(ServiceError::Refused(format!(
                "a password needs at least {MIN_PASSWORD_CHARS} characters"
            )));
        }
        let plain = plain.to_string();
        let hash = tokio::task::spawn_blocking(move || objects::hash_password(&plain))
            .await
            .map_err(|e| ServiceError::Refused(format!("hashing failed: {e}")))??;
        let now = self.now();
        let mut tx = self.store().write_tx().await?;
        let user = store::users::get(tx.conn(), user_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("the user".into()))?;
        store::objects::set_password_hash(&mut tx, user_id, &hash, now).await?;
        let mut event = password_set_event(self.actor(), &user.id, &user.username, now);
        event.context["source"] = json!(source);
        store::events::insert(tx.conn(), &event).await?;
        tx.touch(Topic::Events);
        tx.commit().await?;
        Ok(())
    }
}
