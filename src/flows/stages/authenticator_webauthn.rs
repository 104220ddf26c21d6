//! WebAuthn setup (authentik's `authenticator_webauthn` stage): the browser gets
//! `PublicKeyCredentialCreationOptions` built from the stage's user verification, resident key
//! and attachment settings; its answer is verified by [`crate::flows::webauthn`] and stored as a
//! `webauthn` device whose credential id is unique across all users.

use serde_json::{Value, json};

use super::{Reply, Show, StageCtx};
use crate::domain::{AuthenticatorWebauthnSettings, new_id};
use crate::flows::FlowResult;
use crate::flows::challenge::{ChallengeKind, Response};
use crate::flows::webauthn::{self, Account, RelyingParty};
use crate::store::{self, webauthn_devices};

/// The scratch key the registration state is kept under between challenge and response.
const STATE: &str = "registration_state";
/// The scratch key of the options shown with that state (the POST shows the stage again
/// before the answer is applied, so the same challenge must come back until it is used).
const OPTIONS: &str = "registration";
/// The device name when the stage has no friendly name (authentik's).
const DEFAULT_NAME: &str = "WebAuthn Device";

/// The user the credential is for: id, username, display name.
async fn account(sc: &StageCtx<'_>) -> FlowResult<Option<(String, String, String)>> {
    let Some(id) = sc.user_id() else {
        return Ok(None);
    };
    let mut conn = sc.env.store.read().await?;
    Ok(store::users::get(&mut conn, &id).await?.map(|u| {
        let display = if u.name.trim().is_empty() {
            u.username.clone()
        } else {
            u.name
        };
        (id, u.username, display)
    }))
}

/// Shows the creation options: the ones issued last until an answer uses them, then new ones.
pub async fn challenge(
    sc: &mut StageCtx<'_>,
    s: &AuthenticatorWebauthnSettings,
) -> FlowResult<Show> {
    let Some((user_id, username, display)) = account(sc).await? else {
        return Ok(Show::Deny("No user to set up an authenticator for.".into()));
    };
    if let Some(registration) = sc.scratch(OPTIONS).filter(|v| !v.is_null()).cloned() {
        return Ok(Show::Challenge(ChallengeKind::AuthenticatorWebauthnSetup {
            pending_user: username,
            registration,
        }));
    }
    let rp = match RelyingParty::of_public_url(&sc.env.public_url) {
        Ok(rp) => rp,
        Err(e) => return Ok(Show::Deny(e.to_string())),
    };
    let exclude = {
        let mut conn = sc.env.store.read().await?;
        webauthn_devices::of_user(&mut conn, &user_id).await?
    }
    .into_iter()
    .filter_map(|d| stored_credential(&d.credential).map(|c| c.cred_id))
    .collect();
    let account = Account {
        handle: &user_id,
        name: &username,
        display_name: &display,
    };
    let (registration, state) = match webauthn::start_registration(&rp, &account, s, exclude) {
        Ok(v) => v,
        Err(e) => return Ok(Show::Deny(e.to_string())),
    };
    sc.set_scratch(STATE, serde_json::to_value(&state).unwrap_or(Value::Null));
    sc.set_scratch(OPTIONS, registration.clone());
    Ok(Show::Challenge(ChallengeKind::AuthenticatorWebauthnSetup {
        pending_user: username,
        registration,
    }))
}

/// A stored credential, parsed (`None` for a row that does not hold one).
pub fn stored_credential(text: &str) -> Option<webauthn_rs_core::proto::Credential> {
    serde_json::from_str(text).ok()
}

/// What the flow ends with once `max_attempts` registrations failed.
const GAVE_UP: &str =
    "Exceeded the maximum number of attempts. Contact your administrator for help.";

/// Counts one failed registration in the plan; true when that makes `max_attempts` (above zero)
/// failures, after which authentik ends the flow instead of asking again.
fn gives_up(sc: &mut StageCtx<'_>, max_attempts: i64) -> bool {
    let failures = sc.scratch("failures").and_then(|v| v.as_i64()).unwrap_or(0) + 1;
    sc.set_scratch("failures", json!(failures));
    max_attempts > 0 && failures >= max_attempts
}

/// Verifies the browser's credential and stores the device.
pub async fn respond(
    sc: &mut StageCtx<'_>,
    s: &AuthenticatorWebauthnSettings,
    r: &Response,
) -> FlowResult<Reply> {
    let Some((user_id, _, _)) = account(sc).await? else {
        return Ok(Reply::Deny(
            "No user to set up an authenticator for.".into(),
        ));
    };
    let answer = r.get("response").unwrap_or("").trim();
    if answer.is_empty() {
        return Ok(Reply::invalid("response", "This field is required."));
    }
    let Some(state) = sc
        .scratch(STATE)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
    else {
        return Ok(Reply::invalid(
            "response",
            "Reload the page to start again.",
        ));
    };
    // A challenge answers once: whatever the outcome, the next showing issues a new one.
    sc.set_scratch(STATE, Value::Null);
    sc.set_scratch(OPTIONS, Value::Null);
    let rp = match RelyingParty::of_public_url(&sc.env.public_url) {
        Ok(rp) => rp,
        Err(e) => return Ok(Reply::Deny(e.to_string())),
    };
    let credential = match webauthn::finish_registration(&rp, answer, &state) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "webauthn registration refused");
            if gives_up(sc, s.max_attempts) {
                return Ok(Reply::Deny(GAVE_UP.into()));
            }
            return Ok(Reply::invalid(
                "response",
                &format!("Registration failed. Error: {e}"),
            ));
        }
    };
    let credential_id = webauthn::credential_id_text(&credential.cred_id);
    let exists = {
        let mut conn = sc.env.store.read().await?;
        webauthn_devices::credential_exists(&mut conn, &credential_id).await?
    };
    if exists {
        return Ok(Reply::invalid("response", "Credential ID already exists."));
    }
    let name = if s.friendly_name.trim().is_empty() {
        DEFAULT_NAME.to_string()
    } else {
        s.friendly_name.clone()
    };
    let device = webauthn_devices::WebauthnDeviceRow {
        id: new_id(),
        user_id,
        name,
        credential_id,
        credential: json!(credential).to_string(),
        sign_count: i64::from(credential.counter),
        created_at: sc.env.now,
    };
    if let Some(mut tx) = sc.env.write_tx("WebAuthn device").await? {
        webauthn_devices::insert(tx.conn(), &device).await?;
        tx.commit().await?;
    }
    Ok(Reply::Next)
}
