//! The generic writes behind every admin object: list, insert, update and delete any [`Object`]
//! inside a caller's transaction, dispatching to each aggregate's own file. The console's saves,
//! the blueprint importer and bootstrap all write through here.

use std::collections::HashMap;

use super::{Conn, StoreResult, Topic, WriteTx};
use crate::domain::{Kind, Object};

/// Every stored object of `kind` (users and groups with their memberships).
pub async fn list(conn: &mut Conn, kind: Kind) -> StoreResult<Vec<Object>> {
    Ok(match kind {
        Kind::Flow => wrap(super::flows::list(conn).await?, Object::Flow),
        Kind::Stage => wrap(super::stages::list(conn).await?, Object::Stage),
        Kind::FlowStageBinding => wrap(
            super::flows::all_bindings(conn).await?,
            Object::FlowStageBinding,
        ),
        Kind::Prompt => wrap(super::stages::list_prompts(conn).await?, Object::Prompt),
        Kind::Policy => wrap(super::policies::list(conn).await?, Object::Policy),
        Kind::PolicyBinding => wrap(
            super::policies::all_bindings(conn).await?,
            Object::PolicyBinding,
        ),
        Kind::Application => wrap(super::applications::list(conn).await?, Object::Application),
        Kind::Provider => wrap(super::providers::list(conn).await?, Object::Provider),
        Kind::ScopeMapping => wrap(
            super::scope_mappings::list(conn).await?,
            Object::ScopeMapping,
        ),
        Kind::Certificate => wrap(super::certificates::list(conn).await?, Object::Certificate),
        Kind::Brand => wrap(super::brands::list(conn).await?, Object::Brand),
        Kind::Connector => wrap(super::connectors::list(conn).await?, Object::Connector),
        Kind::DeviceAccessGroup => wrap(
            super::device_access_groups::list(conn).await?,
            Object::DeviceAccessGroup,
        ),
        Kind::EnrollmentToken => wrap(
            super::enrollment_tokens::list(conn).await?,
            Object::EnrollmentToken,
        ),
        Kind::NotificationTransport => wrap(
            super::notifications::list_transports(conn).await?,
            Object::NotificationTransport,
        ),
        Kind::NotificationRule => wrap(
            super::notifications::list_rules(conn).await?,
            Object::NotificationRule,
        ),
        Kind::User => {
            let mut groups_of = memberships(conn, |(user, group)| (user, group)).await?;
            super::users::list(conn)
                .await?
                .into_iter()
                .map(|user| Object::User {
                    groups: groups_of.remove(&user.id).unwrap_or_default(),
                    user,
                })
                .collect()
        }
        Kind::Group => {
            let mut members_of = memberships(conn, |(user, group)| (group, user)).await?;
            super::groups::list(conn)
                .await?
                .into_iter()
                .map(|group| Object::Group {
                    users: members_of.remove(&group.id).unwrap_or_default(),
                    group,
                })
                .collect()
        }
    })
}

/// The stored object of `kind` with `id` (the state a change's audit diff starts from). The
/// large tables are read by key; the small ones (bindings, prompts, mappings, brands, …) are
/// listed and searched.
pub async fn get(conn: &mut Conn, kind: Kind, id: &str) -> StoreResult<Option<Object>> {
    Ok(match kind {
        Kind::Flow => super::flows::get(conn, id).await?.map(Object::Flow),
        Kind::Stage => super::stages::get(conn, id).await?.map(Object::Stage),
        Kind::Policy => super::policies::get(conn, id).await?.map(Object::Policy),
        Kind::Application => super::applications::get(conn, id)
            .await?
            .map(Object::Application),
        Kind::Provider => super::providers::get(conn, id).await?.map(Object::Provider),
        Kind::Certificate => super::certificates::get(conn, id)
            .await?
            .map(Object::Certificate),
        Kind::Connector => super::connectors::by_id(conn, id)
            .await?
            .map(Object::Connector),
        Kind::User => match super::users::get(conn, id).await? {
            Some(user) => {
                let mut groups: Vec<String> = super::groups::of_user(conn, id)
                    .await?
                    .into_iter()
                    .map(|g| g.id)
                    .collect();
                groups.sort();
                Some(Object::User { user, groups })
            }
            None => None,
        },
        _ => list(conn, kind).await?.into_iter().find(|o| o.id() == id),
    })
}

/// Every membership in one query, grouped by one side (`side` picks `(key, value)` from
/// `(user id, group id)`); each list sorted.
async fn memberships(
    conn: &mut Conn,
    side: fn((String, String)) -> (String, String),
) -> StoreResult<HashMap<String, Vec<String>>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for pair in super::groups::all_memberships(conn).await? {
        let (k, v) = side(pair);
        out.entry(k).or_default().push(v);
    }
    for list in out.values_mut() {
        list.sort();
    }
    Ok(out)
}

fn wrap<T>(items: Vec<T>, f: fn(T) -> Object) -> Vec<Object> {
    items.into_iter().map(f).collect()
}

/// Inserts `obj` (validated by the caller with [`crate::domain::validate_object`]) (created/updated set to `now`, version 1); records its topic.
pub async fn insert(tx: &mut WriteTx, obj: &Object, now: i64) -> StoreResult<()> {
    let mut obj = obj.clone();
    let id = obj.id().to_string();
    obj.set_meta(&id, now, now, 1);
    let conn = tx.conn();
    match &obj {
        Object::Flow(o) => super::flows::insert(conn, o).await?,
        Object::Stage(o) => super::stages::insert(conn, o).await?,
        Object::FlowStageBinding(o) => super::flows::insert_binding(conn, o).await?,
        Object::Prompt(o) => super::stages::insert_prompt(conn, o).await?,
        Object::Policy(o) => super::policies::insert(conn, o).await?,
        Object::PolicyBinding(o) => super::policies::insert_binding(conn, o).await?,
        Object::Application(o) => super::applications::insert(conn, o).await?,
        Object::Provider(o) => super::providers::insert(conn, o).await?,
        Object::ScopeMapping(o) => super::scope_mappings::insert(conn, o).await?,
        Object::Certificate(o) => super::certificates::insert(conn, o).await?,
        Object::Brand(o) => super::brands::insert(conn, o).await?,
        Object::Connector(o) => super::connectors::insert(conn, o).await?,
        Object::DeviceAccessGroup(o) => super::device_access_groups::insert(conn, o).await?,
        Object::EnrollmentToken(o) => super::enrollment_tokens::insert(conn, o).await?,
        Object::NotificationTransport(o) => super::notifications::insert_transport(conn, o).await?,
        Object::NotificationRule(o) => super::notifications::insert_rule(conn, o).await?,
        Object::User { user, groups } => {
            super::users::insert(conn, user, None).await?;
            for g in groups {
                super::groups::add_member(conn, g, &user.id).await?;
            }
        }
        Object::Group { group, users } => {
            super::groups::insert(conn, group).await?;
            for u in users {
                super::groups::add_member(conn, &group.id, u).await?;
            }
        }
    }
    tx.touch(Topic::of_kind(obj.kind()));
    Ok(())
}

/// Updates `obj` (validated by the caller) (its `version` must be the stored one); memberships are set to
/// exactly the listed ones. Records its topic.
pub async fn update(tx: &mut WriteTx, obj: &Object, now: i64) -> StoreResult<()> {
    let mut obj = obj.clone();
    let (id, created, _, version) = obj.meta();
    obj.set_meta(&id, created, now, version);
    let conn = tx.conn();
    match &obj {
        Object::Flow(o) => super::flows::update(conn, o).await?,
        Object::Stage(o) => super::stages::update(conn, o).await?,
        Object::FlowStageBinding(o) => super::flows::update_binding(conn, o).await?,
        Object::Prompt(o) => super::stages::update_prompt(conn, o).await?,
        Object::Policy(o) => super::policies::update(conn, o).await?,
        Object::PolicyBinding(o) => super::policies::update_binding(conn, o).await?,
        Object::Application(o) => super::applications::update(conn, o).await?,
        Object::Provider(o) => super::providers::update(conn, o).await?,
        Object::ScopeMapping(o) => super::scope_mappings::update(conn, o).await?,
        Object::Certificate(o) => super::certificates::update(conn, o).await?,
        Object::Brand(o) => super::brands::update(conn, o).await?,
        Object::Connector(o) => super::connectors::update(conn, o).await?,
        Object::DeviceAccessGroup(o) => super::device_access_groups::update(conn, o).await?,
        Object::EnrollmentToken(o) => super::enrollment_tokens::update(conn, o).await?,
        Object::NotificationTransport(o) => super::notifications::update_transport(conn, o).await?,
        Object::NotificationRule(o) => super::notifications::update_rule(conn, o).await?,
        Object::User { user, groups } => {
            super::users::update(conn, user).await?;
            let current: Vec<String> = super::groups::of_user(conn, &user.id)
                .await?
                .into_iter()
                .map(|g| g.id)
                .collect();
            for g in current.iter().filter(|g| !groups.contains(g)) {
                super::groups::remove_member(conn, g, &user.id).await?;
            }
            for g in groups.iter().filter(|g| !current.contains(g)) {
                super::groups::add_member(conn, g, &user.id).await?;
            }
            tx.touch(Topic::Groups);
        }
        Object::Group { group, users } => {
            super::groups::update(conn, group).await?;
            let current = super::groups::member_ids(conn, &group.id).await?;
            for u in current.iter().filter(|u| !users.contains(u)) {
                super::groups::remove_member(conn, &group.id, u).await?;
            }
            for u in users.iter().filter(|u| !current.contains(u)) {
                super::groups::add_member(conn, &group.id, u).await?;
            }
            tx.touch(Topic::Users);
        }
    }
    tx.touch(Topic::of_kind(obj.kind()));
    Ok(())
}

/// Deletes the object of `kind` with `id`. Records its topic.
pub async fn delete(tx: &mut WriteTx, kind: Kind, id: &str) -> StoreResult<()> {
    let conn = tx.conn();
    match kind {
        Kind::Flow => super::flows::delete(conn, id).await?,
        Kind::Stage => super::stages::delete(conn, id).await?,
        Kind::FlowStageBinding => super::flows::delete_binding(conn, id).await?,
        Kind::Prompt => {
            // Prompt stages list their fields by id (or name) in settings: drop it there too,
            // so no stage keeps a dangling field.
            let name = super::stages::list_prompts(conn)
                .await?
                .into_iter()
                .find(|p| p.id == id)
                .map(|p| p.name);
            for mut stage in super::stages::list(conn).await? {
                let dropped = stage
                    .settings
                    .as_prompt_mut()
                    .is_some_and(|p| p.drop_prompt(id, name.as_deref()));
                if dropped {
                    super::stages::update(conn, &stage).await?;
                }
            }
            super::stages::delete_prompt(conn, id).await?
        }
        Kind::Policy => super::policies::delete(conn, id).await?,
        Kind::PolicyBinding => super::policies::delete_binding(conn, id).await?,
        Kind::Application => super::applications::delete(conn, id).await?,
        Kind::Provider => super::providers::delete(conn, id).await?,
        Kind::ScopeMapping => super::scope_mappings::delete(conn, id).await?,
        Kind::Certificate => super::certificates::delete(conn, id).await?,
        Kind::Brand => super::brands::delete(conn, id).await?,
        Kind::Connector => super::connectors::delete(conn, id).await?,
        Kind::DeviceAccessGroup => super::device_access_groups::delete(conn, id).await?,
        Kind::EnrollmentToken => super::enrollment_tokens::delete(conn, id).await?,
        Kind::NotificationTransport => super::notifications::delete_transport(conn, id).await?,
        Kind::NotificationRule => super::notifications::delete_rule(conn, id).await?,
        Kind::User => super::users::delete(conn, id).await?,
        Kind::Group => super::groups::delete(conn, id).await?,
    }
    tx.touch(Topic::of_kind(kind));
    Ok(())
}

/// Sets a user's password hash (hashed by the caller, before the transaction).
pub async fn set_password_hash(
    tx: &mut WriteTx,
    user_id: &str,
    hash: &str,
    now: i64,
) -> StoreResult<()> {
    super::users::set_password_hash(tx.conn(), user_id, hash, now).await?;
    tx.touch(Topic::Users);
    Ok(())
}

/// The stored password hash of a user, read outside any transaction (to decide before writing
/// whether a blueprint's password differs).
pub async fn password_hash(conn: &mut Conn, user_id: &str) -> StoreResult<Option<String>> {
    super::users::password_hash(conn, user_id).await
}
