//! Consent: always_require, permanent, or expiring after `consent_expire_in` (default weeks=4);
//! remembered in the consents table. The response must echo the challenge's token; it consents,
//! or with `deny` declines: nothing is recorded and the flow ends with an
//! [`Effect::Declined`], so a parked authorization request is answered `access_denied`.
//!
//! What is asked comes from the plan context, under authentik's keys: the OAuth endpoints set
//! [`CONSENT_HEADER`] and [`CONSENT_PERMISSIONS`] (each requested scope with its scope mapping's
//! description).

use serde_json::{Value, json};

use super::{Reply, Show, StageCtx};
use crate::crypto::secrets;
use crate::domain::{ConsentMode, ConsentSettings, Duration, new_id};
use crate::flows::FlowResult;
use crate::flows::challenge::{ChallengeKind, ConsentPermission, Response};
use crate::flows::env::Effect;
use crate::store::{self, consents};

/// Context key: the sentence the consent page opens with (authentik's `consent_header`).
pub const CONSENT_HEADER: &str = "consent_header";
/// Context key: what the consent grants, a list of `{id, name}` (authentik's
/// `consent_permissions`).
pub const CONSENT_PERMISSIONS: &str = "consent_permissions";
/// Context key: the user already approved these permissions on another page (the `/device`
/// confirmation), so the stage records the consent as its mode says without asking again.
pub const CONSENT_GIVEN: &str = "latchkey/consent_given";
/// What the flow says after a Deny when no parked request takes the answer.
pub const DECLINED_MESSAGE: &str = "You denied the request.";

/// The permissions the plan context names (none when it names none).
fn permissions(sc: &StageCtx<'_>) -> Vec<ConsentPermission> {
    sc.plan
        .context
        .extra
        .get(CONSENT_PERMISSIONS)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// The permissions as a consent row keeps them: the scope names, space-separated.
fn permission_ids(perms: &[ConsentPermission]) -> String {
    perms
        .iter()
        .map(|p| p.id.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn consent_given(sc: &StageCtx<'_>) -> bool {
    sc.plan
        .context
        .extra
        .get(CONSENT_GIVEN)
        .and_then(Value::as_bool)
        == Some(true)
}

/// Skips when a live consent exists (unless always_require) or the user approved elsewhere
/// (recording it); else asks.
pub async fn challenge(sc: &mut StageCtx<'_>, s: &ConsentSettings) -> FlowResult<Show> {
    let (Some(user), Some(app_id)) = (sc.user_id(), sc.plan.context.application.clone()) else {
        return Ok(Show::Next);
    };
    let perms = permissions(sc);
    if consent_given(sc) {
        record(sc, s, &user, &app_id, &perms).await?;
        return Ok(Show::Next);
    }
    let (app, has) = {
        let mut conn = sc.env.store.read().await?;
        (
            store::applications::get(&mut conn, &app_id).await?,
            consents::has_live(
                &mut conn,
                &user,
                &app_id,
                &permission_ids(&perms),
                sc.env.now,
            )
            .await?,
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
    let header_text = match sc.plan.context.extra.get(CONSENT_HEADER) {
        Some(Value::String(h)) => h.clone(),
        _ => {
            let app_name = app.map(|a| a.name).unwrap_or_default();
            format!("You're about to sign into {app_name}.")
        }
    };
    Ok(Show::Challenge(ChallengeKind::Consent {
        pending_user: sc.display_user(),
        header_text,
        permissions: perms,
        token,
    }))
}

/// When the token matches: records the consent (unless always_require), or with `deny`
/// declines without recording anything.
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
    if r.get("deny") == Some("true") {
        sc.effects
            .push(Effect::Declined(Box::new(sc.plan.context.clone())));
        return Ok(Reply::Deny(DECLINED_MESSAGE.to_string()));
    }
    let (Some(user), Some(app_id)) = (sc.user_id(), sc.plan.context.application.clone()) else {
        return Ok(Reply::Next);
    };
    let perms = permissions(sc);
    record(sc, s, &user, &app_id, &perms).await?;
    Ok(Reply::Next)
}

/// Remembers the consent as the stage's mode says (always_require remembers nothing).
async fn record(
    sc: &StageCtx<'_>,
    s: &ConsentSettings,
    user: &str,
    app_id: &str,
    perms: &[ConsentPermission],
) -> FlowResult<()> {
    let expires = match s.mode {
        ConsentMode::AlwaysRequire => return Ok(()),
        ConsentMode::Permanent => None,
        ConsentMode::Expiring => {
            let d = Duration::parse(&s.consent_expire_in)
                .map(|d| d.seconds())
                .unwrap_or(4 * 7 * 86_400);
            Some(sc.env.now + d)
        }
    };
    let Some(mut tx) = sc.env.write_tx("consent").await? else {
        return Ok(());
    };
    consents::upsert(
        tx.conn(),
        &new_id(),
        user,
        app_id,
        &permission_ids(perms),
        expires,
        sc.env.now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
