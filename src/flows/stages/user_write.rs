//! User write: writes prompt data to the pending user, creating one when
//! `user_creation_mode` allows; a `password` value is hashed outside the transaction and
//! records `password_set`. As authentik's stage: a created user gets the stage's `user_type`
//! and its path from the plan's `user_path` or `user_path_template` (`users` when both are
//! empty), joins `create_users_group`, and prompt keys `attributes.a.b` (or `attributes_a_b`)
//! write into its nested attributes, `attributes` merges a whole mapping.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::invitation::{CONTEXT_INVITATION, InvitationInEffect};
use super::{Show, StageCtx};
use crate::crypto::password;
use crate::domain::{User, UserCreationMode, UserType, UserWriteSettings, new_id};
use crate::flows::env::Env;
use crate::flows::{FlowError, FlowResult, actions};
use crate::store::{self, WriteTx, invitations, users};

/// The prompt data a stage writes from.
type PromptData = BTreeMap<String, Value>;

fn text(data: &PromptData, key: &str) -> Option<String> {
    data.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Shown when two enrollments race on one single-use invitation and this one lost.
const INVITATION_USED_UP: &str = "This invitation was already used. Ask for a new one.";

/// Applies the prompt data (with an invitation's fixed data laid over it, so a user cannot
/// type over what the invitation fixed).
pub async fn run(sc: &mut StageCtx<'_>, s: &UserWriteSettings) -> FlowResult<Show> {
    let invitation = InvitationInEffect::of(&sc.plan.context.extra);
    let mut data = sc.plan.context.prompt_data.clone();
    if let Some(inv) = &invitation {
        data.extend(inv.fixed_data.clone());
    }
    let existing = match sc.plan.context.pending_user.clone() {
        Some(id) if s.user_creation_mode != UserCreationMode::AlwaysCreate => {
            let mut conn = sc.env.store.read().await?;
            users::get(&mut conn, &id).await?
        }
        _ => None,
    };
    if existing.is_none() && s.user_creation_mode == UserCreationMode::NeverCreate {
        return Ok(Show::Deny("No user to write to.".into()));
    }
    let hash = match text(&data, "password") {
        Some(pw) => Some(
            tokio::task::spawn_blocking(move || password::hash(&pw))
                .await
                .map_err(|e| FlowError::Task(e.to_string()))??,
        ),
        None => None,
    };
    let now = sc.env.now;
    let Some(mut tx) = sc.env.write_tx("user_write").await? else {
        return Ok(Show::Next);
    };
    let written = match existing {
        Some(user) => update_user(&mut tx, user, &data, now).await,
        None => {
            let path = new_user_path(&sc.plan.context.extra, s);
            let user_type = new_user_type(&sc.plan.context.extra, s);
            create_user(&mut tx, s, &path, user_type, &data, hash.is_some(), now).await?
        }
    };
    // A refused write is the user's problem (e.g. a taken username): the flow says so.
    let user = match written {
        Ok(user) => user,
        Err(message) => return Ok(Show::Deny(message)),
    };
    if let Some(h) = &hash {
        users::set_password_hash(tx.conn(), &user.id, h, now).await?;
    }
    // A single-use invitation goes with the write: of two enrollments on one link, the one
    // whose DELETE finds nothing rolls its user back.
    if let Some(inv) = invitation.as_ref().filter(|i| i.single_use)
        && !invitations::consume(tx.conn(), &inv.id).await?
    {
        return Ok(Show::Deny(INVITATION_USED_UP.into()));
    }
    tx.touch(store::Topic::All);
    tx.commit().await?;
    sc.plan.context.extra.remove(CONTEXT_INVITATION);
    sc.plan.context.pending_user = Some(user.id.clone());
    sc.plan.context.pending_user_identifier = Some(user.username.clone());
    record_events(sc.env, &user, hash.is_some()).await?;
    Ok(Show::Next)
}

/// Writes the prompt's username, name and email onto an existing user.
async fn update_user(
    tx: &mut WriteTx,
    mut user: User,
    data: &PromptData,
    now: i64,
) -> Result<User, String> {
    if let Some(v) = text(data, "username") {
        user.username = v;
    }
    if let Some(v) = text(data, "name") {
        user.name = v;
    }
    if let Some(v) = text(data, "email") {
        user.email = v;
    }
    write_attributes(&mut user.attributes, data);
    user.updated_at = now;
    users::update(tx.conn(), &user)
        .await
        .map_err(|e| format!("Cannot save the user: {e}"))?;
    Ok(user)
}

/// Creates a user from the prompt data (in `create_users_group` when set).
async fn create_user(
    tx: &mut WriteTx,
    s: &UserWriteSettings,
    path: &str,
    user_type: UserType,
    data: &PromptData,
    has_password: bool,
    now: i64,
) -> FlowResult<Result<User, String>> {
    let Some(username) = text(data, "username") else {
        return Ok(Err("A username is required to create a user.".into()));
    };
    let mut attributes = json!({});
    write_attributes(&mut attributes, data);
    let user = User {
        id: new_id(),
        username,
        name: text(data, "name").unwrap_or_default(),
        email: text(data, "email").unwrap_or_default(),
        is_active: !s.create_users_as_inactive,
        user_type,
        path: path.to_string(),
        attributes,
        has_password,
        last_login: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    if let Err(e) = users::insert(tx.conn(), &user, None).await {
        return Ok(Err(format!("Cannot create the user: {e}")));
    }
    if let Some(group) = &s.create_users_group {
        let gid = match store::groups::get_by_name(tx.conn(), group).await? {
            Some(g) => g.id,
            None => group.clone(),
        };
        store::groups::add_member(tx.conn(), &gid, &user.id).await?;
    }
    Ok(Ok(user))
}

/// The plan context key a flow sets to choose a created user's path (authentik's
/// `PLAN_CONTEXT_USER_PATH`).
pub const CONTEXT_USER_PATH: &str = "user_path";

/// The plan context key a flow sets to choose a created user's type (authentik's
/// `PLAN_CONTEXT_USER_TYPE`).
pub const CONTEXT_USER_TYPE: &str = "user_type";

/// A created user's type: the plan's `user_type` when it names one, else the stage's; an
/// internal service account is created as a service account, as authentik's stage does.
fn new_user_type(extra: &BTreeMap<String, Value>, s: &UserWriteSettings) -> UserType {
    let chosen = extra
        .get(CONTEXT_USER_TYPE)
        .and_then(Value::as_str)
        .and_then(UserType::parse)
        .unwrap_or(s.user_type);
    match chosen {
        UserType::InternalServiceAccount => UserType::ServiceAccount,
        other => other,
    }
}

/// Where a created user goes: the plan's `user_path`, else the stage's `user_path_template`,
/// else authentik's default `users`.
fn new_user_path(extra: &BTreeMap<String, Value>, s: &UserWriteSettings) -> String {
    let chosen = extra
        .get(CONTEXT_USER_PATH)
        .and_then(Value::as_str)
        .unwrap_or(&s.user_path_template)
        .trim()
        .trim_matches('/');
    if chosen.is_empty() {
        "users".into()
    } else {
        chosen.to_string()
    }
}

/// Writes the prompt's `attributes` mapping (merged) and its `attributes.a.b` /
/// `attributes_a_b` keys (nested, creating the levels between) into `attributes`.
fn write_attributes(attributes: &mut Value, data: &PromptData) {
    if !attributes.is_object() {
        *attributes = json!({});
    }
    for (key, value) in data {
        if key == "attributes" {
            if let (Some(target), Some(merged)) = (attributes.as_object_mut(), value.as_object()) {
                target.extend(merged.clone());
            }
            continue;
        }
        let Some(rest) = key
            .strip_prefix("attributes.")
            .or_else(|| key.strip_prefix("attributes_"))
        else {
            continue;
        };
        let path: Vec<String> = rest
            .replace('_', ".")
            .split('.')
            .map(str::to_string)
            .collect();
        if !path.iter().any(String::is_empty) {
            set_nested(attributes, &path, value.clone());
        }
    }
}

/// Sets `path` inside `target` (objects all the way; a non-object on the way is replaced).
fn set_nested(target: &mut Value, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = target;
    for part in parents {
        let Some(map) = at.as_object_mut() else {
            return;
        };
        let next = map.entry(part.clone()).or_insert_with(|| json!({}));
        if !next.is_object() {
            *next = json!({});
        }
        at = next;
    }
    if let Some(map) = at.as_object_mut() {
        map.insert(last.clone(), value);
    }
}

/// Records `user_write`, and `password_set` when a password was written.
async fn record_events(env: &Env, user: &User, password_set: bool) -> FlowResult<()> {
    env.event(
        actions::USER_WRITE,
        &user.username,
        Some(&user.id),
        json!({}),
    )
    .await?;
    if password_set {
        env.event(
            actions::PASSWORD_SET,
            &user.username,
            Some(&user.id),
            json!({}),
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_keys_write_nested_values_and_a_mapping_merges() {
        let mut data = PromptData::new();
        data.insert("attributes.org.team".into(), json!("blue"));
        data.insert("attributes_org_floor".into(), json!(3));
        data.insert("attributes".into(), json!({"locale": "de"}));
        data.insert("username".into(), json!("ann"));
        data.insert("attributes.".into(), json!("ignored"));
        let mut attrs = json!({"org": "flat", "kept": true});
        write_attributes(&mut attrs, &data);
        assert_eq!(
            attrs,
            json!({"org": {"team": "blue", "floor": 3}, "kept": true, "locale": "de"})
        );
    }

    #[test]
    fn the_type_is_the_plans_then_the_stages_and_never_an_internal_service_account() {
        let mut s = UserWriteSettings::default();
        let mut extra = BTreeMap::new();
        assert_eq!(new_user_type(&extra, &s), UserType::External);
        s.user_type = UserType::InternalServiceAccount;
        assert_eq!(new_user_type(&extra, &s), UserType::ServiceAccount);
        extra.insert(CONTEXT_USER_TYPE.into(), json!("internal"));
        assert_eq!(new_user_type(&extra, &s), UserType::Internal);
        extra.insert(CONTEXT_USER_TYPE.into(), json!("bogus"));
        assert_eq!(new_user_type(&extra, &s), UserType::ServiceAccount);
    }

    #[test]
    fn the_path_is_the_plans_then_the_templates_then_users() {
        let mut s = UserWriteSettings::default();
        let mut extra = BTreeMap::new();
        assert_eq!(new_user_path(&extra, &s), "users");
        s.user_path_template = "users/enrolled/".into();
        assert_eq!(new_user_path(&extra, &s), "users/enrolled");
        extra.insert(CONTEXT_USER_PATH.into(), json!("partners"));
        assert_eq!(new_user_path(&extra, &s), "partners");
    }
}
