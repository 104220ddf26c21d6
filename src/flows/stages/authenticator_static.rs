//! Static authenticator setup (authentik's `AuthenticatorStaticStage`): recovery codes are made
//! when the stage is first shown, kept in the plan until the user confirms, shown that once, and
//! saved as SHA-256 digests only. Each code later works once in authenticator validation.

use serde_json::{Value, json};

use super::{Reply, Show, StageCtx};
use crate::crypto::secrets;
use crate::domain::{AuthenticatorStaticSettings, new_id};
use crate::flows::FlowResult;
use crate::flows::challenge::{ChallengeKind, Response};
use crate::store::{self, authenticators, static_tokens};

/// The device kind of recovery codes in `authenticator_devices` (authentik's device class).
pub const STATIC_KIND: &str = "static";

/// authentik's name for a static device when the stage names none.
const DEFAULT_NAME: &str = "Static Token";

/// The codes waiting in the plan, if any.
fn pending_codes(sc: &StageCtx<'_>) -> Option<Vec<String>> {
    let list = sc.scratch("codes")?.as_array()?;
    let codes: Vec<String> = list
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    (!codes.is_empty()).then_some(codes)
}

/// Fresh codes of the stage's count and length (letters and digits).
fn new_codes(s: &AuthenticatorStaticSettings) -> Vec<String> {
    let count = s.token_count.clamp(1, 50) as usize;
    let length = s.token_length.clamp(8, 64) as usize;
    (0..count).map(|_| secrets::random_alnum(length)).collect()
}

async fn username(sc: &StageCtx<'_>, user_id: &str) -> FlowResult<Option<String>> {
    let mut conn = sc.env.store.read().await?;
    Ok(store::users::get(&mut conn, user_id)
        .await?
        .map(|u| u.username))
}

/// Shows the codes (made now on the first visit, the same ones on a reload). Without a user
/// there is nothing to set up, so the stage is skipped, as authentik does.
pub async fn challenge(sc: &mut StageCtx<'_>, s: &AuthenticatorStaticSettings) -> FlowResult<Show> {
    let Some(user_id) = sc.user_id() else {
        return Ok(Show::Next);
    };
    let Some(username) = username(sc, &user_id).await? else {
        return Ok(Show::Next);
    };
    let codes = match pending_codes(sc) {
        Some(codes) => codes,
        None => {
            let codes = new_codes(s);
            sc.set_scratch("codes", json!(codes));
            codes
        }
    };
    Ok(Show::Challenge(ChallengeKind::AuthenticatorStaticSetup {
        pending_user: username,
        codes,
    }))
}

/// Saves the shown codes as a confirmed static device (digests only) and forgets them.
pub async fn respond(
    sc: &mut StageCtx<'_>,
    s: &AuthenticatorStaticSettings,
    _r: &Response,
) -> FlowResult<Reply> {
    let Some(user_id) = sc.user_id() else {
        return Ok(Reply::Next);
    };
    let Some(codes) = pending_codes(sc) else {
        return Ok(Reply::invalid(
            "non_field_errors",
            "Reload the page to get your recovery codes.",
        ));
    };
    let name = if s.friendly_name.trim().is_empty() {
        DEFAULT_NAME.to_string()
    } else {
        s.friendly_name.trim().to_string()
    };
    let device = authenticators::DeviceRow {
        id: new_id(),
        user_id,
        kind: STATIC_KIND.into(),
        name,
        secret: String::new(),
        confirmed: true,
        last_used_step: None,
        created_at: sc.env.now,
        digits: 6,
    };
    let digests: Vec<String> = codes.iter().map(|c| secrets::digest(c)).collect();
    if let Some(mut tx) = sc.env.write_tx("static authenticator device").await? {
        authenticators::insert(tx.conn(), &device).await?;
        static_tokens::insert_all(tx.conn(), &device.id, &digests).await?;
        tx.commit().await?;
    }
    sc.set_scratch("codes", Value::Null);
    Ok(Reply::Next)
}
