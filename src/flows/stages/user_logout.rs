//! User logout: ends the session and records `logout`.

use serde_json::json;

use super::{Show, StageCtx};
use crate::flows::env::Effect;
use crate::flows::{FlowResult, actions};
use crate::store;

/// Ends the session (if any).
pub async fn run(sc: &mut StageCtx<'_>) -> FlowResult<Show> {
    if let Some(user_id) = sc.env.session_user.clone() {
        let username = {
            let mut conn = sc.env.store.read().await?;
            store::users::get(&mut conn, &user_id)
                .await?
                .map(|u| u.username)
                .unwrap_or_default()
        };
        sc.env
            .event(actions::LOGOUT, &username, Some(&user_id), json!({}))
            .await?;
    }
    sc.effects.push(Effect::Logout);
    Ok(Show::Next)
}
