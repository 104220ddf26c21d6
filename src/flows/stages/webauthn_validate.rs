//! The `webauthn` device class of authenticator validation (authentik's
//! `get_webauthn_challenge` / `validate_challenge_webauthn`): with a pending user, an assertion
//! over that user's credentials; without one (a password-less flow), a discoverable assertion
//! whose credential names the user. The stage's `webauthn_user_verification` is the policy.

use serde_json::{Value, json};

use super::authenticator_webauthn::stored_credential;
use super::{Reply, StageCtx};
use crate::domain::User;
use crate::domain::WebauthnUserVerification;
use crate::flows::webauthn::{self, Assertion, CeremonyError, RelyingParty};
use crate::flows::{FlowResult, actions};
use crate::store::webauthn_devices::WebauthnDeviceRow;
use crate::store::{self, webauthn_devices};
use webauthn_rs_core::proto::Credential;

/// The scratch key the assertion state is kept under.
const STATE: &str = "webauthn_state";
/// The scratch key of the options issued with it (shown again until an answer uses them).
const OPTIONS: &str = "webauthn_options";
/// authentik's auth method for a password-less sign-in (its `amr` maps it to `user`).
pub const PASSWORDLESS_METHOD: &str = "auth_webauthn_pwl";
/// The auth method of a WebAuthn second factor.
pub const WEBAUTHN_METHOD: &str = "webauthn";

/// The request options for `user` (`None`: any discoverable credential), or `None` when the
/// user has no WebAuthn device. Keeps the state in the plan.
pub async fn challenge(
    sc: &mut StageCtx<'_>,
    user_id: Option<&str>,
    uv: WebauthnUserVerification,
) -> FlowResult<Option<Value>> {
    if let Some(options) = sc.scratch(OPTIONS).filter(|v| !v.is_null()).cloned() {
        return Ok(Some(options));
    }
    let credentials = match user_id {
        Some(user_id) => {
            let rows = {
                let mut conn = sc.env.store.read().await?;
                webauthn_devices::of_user(&mut conn, user_id).await?
            };
            let creds: Vec<_> = rows
                .iter()
                .filter_map(|d| stored_credential(&d.credential))
                .collect();
            if creds.is_empty() {
                return Ok(None);
            }
            creds
        }
        None => Vec::new(),
    };
    let Ok(rp) = RelyingParty::of_public_url(&sc.env.public_url) else {
        return Ok(None);
    };
    match webauthn::start_assertion(&rp, credentials, uv) {
        Ok((options, state)) => {
            sc.set_scratch(STATE, serde_json::to_value(&state).unwrap_or(Value::Null));
            sc.set_scratch(OPTIONS, options.clone());
            Ok(Some(options))
        }
        Err(e) => {
            tracing::warn!(error = %e, "webauthn assertion not started");
            Ok(None)
        }
    }
}

/// The device the assertion names, its active owner and its stored credential, when the owner
/// may answer here: with a pending user the device must be theirs; without one the
/// authenticator's user handle must name the device's owner.
async fn owned_device(
    sc: &StageCtx<'_>,
    assertion: &Assertion,
    pending: Option<&str>,
) -> FlowResult<Option<(WebauthnDeviceRow, User, Credential)>> {
    let mut conn = sc.env.store.read().await?;
    let Some(device) =
        webauthn_devices::by_credential_id(&mut conn, &assertion.credential_id()).await?
    else {
        return Ok(None);
    };
    let Some(user) = store::users::get(&mut conn, &device.user_id)
        .await?
        .filter(|u| u.is_active)
    else {
        return Ok(None);
    };
    let owner_ok = match pending {
        Some(p) => p == device.user_id,
        None => assertion.user_handle() == Some(device.user_id.as_bytes()),
    };
    let stored = stored_credential(&device.credential).filter(|_| owner_ok);
    Ok(stored.map(|c| (device, user, c)))
}

/// Checks an assertion (the `webauthn` response field). Signs the user in as the pending user
/// when the flow had none.
pub async fn respond(sc: &mut StageCtx<'_>, answer: &str) -> FlowResult<Reply> {
    let invalid = || Reply::invalid("webauthn", "Invalid device");
    let Ok(assertion) = Assertion::parse(answer) else {
        return Ok(invalid());
    };
    let Some(state) = sc
        .scratch(STATE)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
    else {
        return Ok(Reply::invalid(
            "webauthn",
            "Reload the page to start again.",
        ));
    };
    // A challenge answers once: whatever the outcome, the next showing issues a new one.
    sc.set_scratch(STATE, Value::Null);
    sc.set_scratch(OPTIONS, Value::Null);
    let pending = sc.user_id();
    let Some((device, user, stored)) = owned_device(sc, &assertion, pending.as_deref()).await?
    else {
        return Ok(invalid());
    };
    let Ok(rp) = RelyingParty::of_public_url(&sc.env.public_url) else {
        return Ok(invalid());
    };
    let env = sc.env;
    let (updated, counter) = match webauthn::finish_assertion(&rp, &assertion, &state, &stored) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "webauthn assertion refused");
            if matches!(e, CeremonyError::PossibleClone) {
                env.event(
                    actions::SUSPICIOUS_REQUEST,
                    &user.username,
                    Some(&user.id),
                    json!({"reason": "webauthn sign counter did not advance", "device": device.name}),
                )
                .await?;
            }
            env.event(
                actions::LOGIN_FAILED,
                &user.username,
                Some(&user.id),
                json!({"device_class": "webauthn", "device": device.name, "reason": e.to_string()}),
            )
            .await?;
            return Ok(Reply::invalid("webauthn", "Assertion failed"));
        }
    };
    let won = match env.write_tx("WebAuthn sign counter").await? {
        Some(mut tx) => {
            let credential = json!(updated).to_string();
            let won = webauthn_devices::record_use(
                tx.conn(),
                &device.id,
                i64::from(counter),
                &credential,
            )
            .await?;
            if won {
                store::authenticators::mark_used(tx.conn(), &device.id, env.now).await?;
            }
            tx.commit().await?;
            won
        }
        None => true,
    };
    if !won {
        env.event(
            actions::SUSPICIOUS_REQUEST,
            &user.username,
            Some(&user.id),
            json!({"reason": "webauthn sign counter did not advance", "device": device.name}),
        )
        .await?;
        return Ok(Reply::invalid("webauthn", "Assertion failed"));
    }
    if pending.is_none() {
        sc.plan.context.pending_user = Some(user.id.clone());
        sc.plan.context.pending_user_identifier = Some(user.username.clone());
        sc.plan
            .context
            .auth_methods
            .push(PASSWORDLESS_METHOD.into());
    } else {
        sc.plan.context.auth_methods.push(WEBAUTHN_METHOD.into());
    }
    Ok(Reply::Next)
}
