//! User write: writes prompt data to the pending user, creating one when
//! `user_creation_mode` allows; a `password` value is hashed outside the transaction and
//! records `password_set`.

use serde_json::{Value, json};

use super::{Show, StageCtx};
use crate::crypto::password;
use crate::domain::{User, UserType, new_id};
use crate::flows::{FlowError, FlowResult, actions};
use crate::store::{self, users};

fn text(data: &std::collections::BTreeMap<String, Value>, key: &str) -> Option<String> {
    data.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Applies the prompt data.
pub async fn run(sc: &mut StageCtx<'_>) -> FlowResult<Show> {
    let data = sc.plan.context.prompt_data.clone();
    let mode = sc.setting_str("user_creation_mode", "create_when_required");
    let existing = match sc.plan.context.pending_user.clone() {
        Some(id) if mode != "always_create" => {
            let mut conn = sc.env.store.read().await?;
            users::get(&mut conn, &id).await?
        }
        _ => None,
    };
    if existing.is_none() && mode == "never_create" {
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
    let mut tx = sc.env.store.write_tx().await?;
    let user = match existing {
        Some(mut u) => {
            if let Some(v) = text(&data, "username") {
                u.username = v;
            }
            if let Some(v) = text(&data, "name") {
                u.name = v;
            }
            if let Some(v) = text(&data, "email") {
                u.email = v;
            }
            u.updated_at = now;
            if let Err(e) = users::update(tx.conn(), &u).await {
                return Ok(Show::Deny(format!("Cannot save the user: {e}")));
            }
            u
        }
        None => {
            let Some(username) = text(&data, "username") else {
                return Ok(Show::Deny(
                    "A username is required to create a user.".into(),
                ));
            };
            let u = User {
                id: new_id(),
                username,
                name: text(&data, "name").unwrap_or_default(),
                email: text(&data, "email").unwrap_or_default(),
                is_active: !sc.setting_bool("create_users_as_inactive", false),
                user_type: UserType::Internal,
                path: "users".into(),
                attributes: json!({}),
                has_password: hash.is_some(),
                last_login: None,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            if let Err(e) = users::insert(tx.conn(), &u, None).await {
                return Ok(Show::Deny(format!("Cannot create the user: {e}")));
            }
            if let Some(group) = sc.setting("create_users_group").and_then(Value::as_str) {
                let gid = match store::groups::get_by_name(tx.conn(), group).await? {
                    Some(g) => g.id,
                    None => group.to_string(),
                };
                store::groups::add_member(tx.conn(), &gid, &u.id).await?;
            }
            u
        }
    };
    if let Some(h) = &hash {
        users::set_password_hash(tx.conn(), &user.id, h, now).await?;
    }
    tx.touch(store::Topic::All);
    tx.commit().await?;
    sc.plan.context.pending_user = Some(user.id.clone());
    sc.plan.context.pending_user_identifier = Some(user.username.clone());
    sc.env
        .event(
            actions::USER_WRITE,
            &user.username,
            Some(&user.id),
            json!({}),
        )
        .await?;
    if hash.is_some() {
        sc.env
            .event(
                actions::PASSWORD_SET,
                &user.username,
                Some(&user.id),
                json!({}),
            )
            .await?;
    }
    Ok(Show::Next)
}
