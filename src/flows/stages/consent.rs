//! Consent: always_require, permanent, or expiring after `consent_expire_in` (default weeks=4);
//! remembered in the consents table. The response must echo the challenge's token.

use serde_json::{Value, json};

use super::{Reply, Show, StageCtx};
use crate::crypto::secrets;
use crate::domain::{ConsentMode, ConsentSettings, Duration, new_id, string_list};
use crate::flows::FlowResult;
use crate::flows::challenge::{ChallengeKind, Response};
use crate::store::{self, consents};

fn permissions(sc: &StageCtx<'_>) -> Vec<String> {
    sc.plan
        .context
        .extra
        .get("oauth_scopes")
        .map(string_list)
        .unwrap_or_default()
}

/// Skips when a live consent exists (unless always_require); else asks.
pub async fn challenge(sc: &mut StageCtx<'_>, s: &ConsentSettings) -> FlowResult<Show> {
    let (Some(user), Some(app_id)) = (sc.user_id(), sc.plan.context.application.clone()) else {
        return Ok(Show::Next);
    };
    let perms = permissions(sc).join(" ");
    let (app, has) = {
        let mut conn = sc.env.store.read().await?;
        (
            store::applications::get(&mut conn, &app_id).await?,
            consents::has_live(&mut conn, &user, &app_id, &perms, sc.env.now).await?,
        )
    };
    if s.mode != ConsentMode::AlwaysRequire && has {
        return Ok(Show::Next);
    }
    let token = match sc.scratch("token").and_then(Value::as_str) {
        Some(t) => t.to_string(),
        None => {
            let t = secrets::random_token(24);
            sc.set_scratch("token", json!(t));
            t
        }
    };
    let app_name = app.map(|a| a.name).unwrap_or_default();
    Ok(Show::Challenge(ChallengeKind::Consent {
        pending_user: sc.display_user(),
        header_text: format!("You're about to sign into {app_name}."),
        permissions: permissions(sc),
        token,
    }))
}

/// Records the consent (unless always_require) when the token matches.
pub async fn respond(
    sc: &mut StageCtx<'_>,
    s: &ConsentSettings,
    r: &Response,
) -> FlowResult<Reply> {
    let expected = sc
        .scratch("token")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let given = r.get("token").unwrap_or("");
    if expected.is_empty() || !secrets::constant_time_eq(&expected, given) {
        return Ok(Reply::invalid("token", "Invalid consent token."));
    }
    let (Some(user), Some(app_id)) = (sc.user_id(), sc.plan.context.application.clone()) else {
        return Ok(Reply::Next);
    };
    let expires = match s.mode {
        ConsentMode::AlwaysRequire => return Ok(Reply::Next),
        ConsentMode::Permanent => None,
        ConsentMode::Expiring => {
            let d = Duration::parse(&s.consent_expire_in)
                .map(|d| d.seconds())
                .unwrap_or(4 * 7 * 86_400);
            Some(sc.env.now + d)
        }
    };
    let perms = permissions(sc).join(" ");
    let mut tx = sc.env.store.write_tx().await?;
    consents::upsert(
        tx.conn(),
        &new_id(),
        &user,
        &app_id,
        &perms,
        expires,
        sc.env.now,
    )
    .await?;
    tx.commit().await?;
    Ok(Reply::Next)
}
