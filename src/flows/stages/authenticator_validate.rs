//! Authenticator validation (TOTP, static recovery codes, WebAuthn): TOTP codes are single use
//! within their window (one conditional UPDATE of `last_used_step`), a recovery code is used by
//! one conditional DELETE of its digest, and attempts are throttled per user; WebAuthn
//! assertions are [`super::webauthn_validate`]'s, also without a pending user (password-less).
//! Each validation notes the device's `last_used_at`; with `last_auth_threshold` above zero a
//! user whose allowed device passed within the threshold is not asked again.

use serde_json::json;

use super::authenticator_static::STATIC_KIND;
use super::authenticator_totp::{BUILTIN_TOTP_SETUP, matching_step, totp};
use super::{Reply, Show, StageCtx, webauthn_validate};
use crate::crypto::secrets;
use crate::domain::{
    AuthenticatorValidateSettings, Duration, InvalidResponseAction, NotConfiguredAction,
    PolicyEngineMode,
};
use crate::flows::challenge::{ChallengeKind, Response};
use crate::flows::context::PlannedStage;
use crate::flows::{FlowResult, actions};
use crate::store::{self, authenticators, static_tokens};

/// Failed attempts allowed per user per window.
pub const MAX_FAILURES: i64 = 5;
/// The throttling window in seconds.
pub const WINDOW: i64 = 300;

/// Asks for a code, or applies `not_configured_action` when the user has no device.
pub async fn challenge(
    sc: &mut StageCtx<'_>,
    s: &AuthenticatorValidateSettings,
) -> FlowResult<Show> {
    let webauthn_allowed = s.device_classes.iter().any(|c| c == "webauthn");
    let uv = s.webauthn_user_verification;
    let Some(user_id) = sc.user_id() else {
        // No pending user: a password-less flow, where the credential names the user.
        let options = match webauthn_allowed {
            true => webauthn_validate::challenge(sc, None, uv).await?,
            false => None,
        };
        return Ok(match options {
            Some(webauthn) => Show::Challenge(ChallengeKind::AuthenticatorValidate {
                pending_user: String::new(),
                device_classes: vec!["webauthn".into()],
                webauthn: Some(webauthn),
            }),
            None => Show::Deny("No pending user.".into()),
        });
    };
    if validated_within_threshold(sc, &user_id, s).await? {
        return Ok(Show::Next);
    }
    let mut classes = {
        let mut conn = sc.env.store.read().await?;
        offered_classes(&mut conn, &user_id, s).await?
    };
    let webauthn = match webauthn_allowed {
        true => webauthn_validate::challenge(sc, Some(&user_id), uv).await?,
        false => None,
    };
    if classes.is_empty() && webauthn.is_none() {
        return Ok(match s.not_configured_action {
            NotConfiguredAction::Deny => {
                Show::Deny("No (allowed) MFA authenticator configured.".into())
            }
            NotConfiguredAction::Configure => {
                let stage_id = s
                    .configuration_stages
                    .first()
                    .map_or(BUILTIN_TOTP_SETUP, String::as_str)
                    .to_string();
                sc.plan.insert_next(PlannedStage {
                    binding_id: String::new(),
                    stage_id,
                    re_evaluate_policies: false,
                    invalid_response_action: InvalidResponseAction::Retry,
                    policy_engine_mode: PolicyEngineMode::Any,
                    admitted: true,
                });
                Show::Next
            }
            NotConfiguredAction::Skip => Show::Next,
        });
    }
    if webauthn.is_some() {
        classes.push("webauthn".to_string());
    }
    Ok(Show::Challenge(ChallengeKind::AuthenticatorValidate {
        pending_user: sc.display_user(),
        device_classes: classes,
        webauthn,
    }))
}

/// True when `last_auth_threshold` is above zero and a confirmed device of the user, of a class
/// the stage accepts, passed a validation within it.
async fn validated_within_threshold(
    sc: &StageCtx<'_>,
    user_id: &str,
    s: &AuthenticatorValidateSettings,
) -> FlowResult<bool> {
    let threshold = Duration::parse(&s.last_auth_threshold).map_or(0, |d| d.seconds());
    if threshold <= 0 {
        return Ok(false);
    }
    let mut conn = sc.env.store.read().await?;
    let last = authenticators::last_used_of_kinds(&mut conn, user_id, &s.device_classes).await?;
    Ok(last.is_some_and(|at| at >= sc.env.now - threshold))
}

/// The device classes the user has and the stage accepts (`device_classes`): `totp`, then
/// `static`.
async fn offered_classes(
    conn: &mut store::Conn,
    user_id: &str,
    s: &AuthenticatorValidateSettings,
) -> FlowResult<Vec<String>> {
    let mut classes = Vec::new();
    if accepts(s, TOTP_KIND)
        && !authenticators::confirmed_of_user(conn, user_id, TOTP_KIND)
            .await?
            .is_empty()
    {
        classes.push(TOTP_KIND.to_string());
    }
    if accepts(s, STATIC_KIND)
        && !authenticators::confirmed_of_user(conn, user_id, STATIC_KIND)
            .await?
            .is_empty()
    {
        classes.push(STATIC_KIND.to_string());
    }
    Ok(classes)
}

/// The device class of TOTP authenticators.
const TOTP_KIND: &str = "totp";

/// Whether the stage lists the device class `class`.
fn accepts(s: &AuthenticatorValidateSettings, class: &str) -> bool {
    s.device_classes.iter().any(|c| c == class)
}

/// Uses a recovery code of the user: true when it was unused (and is now used). A dry run
/// only looks.
async fn use_static_code(sc: &StageCtx<'_>, user_id: &str, code: &str) -> FlowResult<bool> {
    let digest = secrets::digest(code);
    match sc.env.write_tx("recovery code used").await? {
        Some(mut tx) => {
            let used = static_tokens::consume(tx.conn(), user_id, &digest).await?;
            if let Some(device) = &used {
                authenticators::mark_used(tx.conn(), device, sc.env.now).await?;
            }
            tx.commit().await?;
            Ok(used.is_some())
        }
        None => {
            let mut conn = sc.env.store.read().await?;
            Ok(static_tokens::exists(&mut conn, user_id, &digest).await?)
        }
    }
}

/// Checks the code against the user's devices.
pub async fn respond(
    sc: &mut StageCtx<'_>,
    s: &AuthenticatorValidateSettings,
    r: &Response,
) -> FlowResult<Reply> {
    if let Some(answer) = r.get("webauthn").map(str::trim).filter(|a| !a.is_empty()) {
        return webauthn_validate::respond(sc, answer).await;
    }
    let Some(user_id) = sc.user_id() else {
        return Ok(Reply::Deny("No pending user.".into()));
    };
    let code = r.get("code").unwrap_or("").trim().to_string();
    if code.is_empty() {
        return Ok(Reply::invalid("code", "This field is required."));
    }
    let env = sc.env;
    let (devices, failures, username) = {
        let mut conn = env.store.read().await?;
        let devices = if accepts(s, TOTP_KIND) {
            authenticators::confirmed_of_user(&mut conn, &user_id, TOTP_KIND).await?
        } else {
            Vec::new()
        };
        (
            devices,
            authenticators::failures(&mut conn, &user_id, env.now, WINDOW).await?,
            store::users::get(&mut conn, &user_id)
                .await?
                .map(|u| u.username)
                .unwrap_or_default(),
        )
    };
    if failures >= MAX_FAILURES {
        env.event(
            actions::SUSPICIOUS_REQUEST,
            &username,
            Some(&user_id),
            json!({"reason": "otp throttled"}),
        )
        .await?;
        return Ok(Reply::invalid(
            "code",
            "Too many attempts; wait a few minutes and try again.",
        ));
    }
    for d in &devices {
        // Exactly the device's length: the last six digits of an 8-digit code are the 6-digit
        // code of the same step.
        let Some(digits) = u8::try_from(d.digits)
            .ok()
            .filter(|n| code.len() == usize::from(*n))
        else {
            continue;
        };
        let Some(t) = totp(&d.secret, digits, "latchkey", &username) else {
            continue;
        };
        if let Some(step) = matching_step(&t, &code, env.now) {
            let won = match env.write_tx("authenticator step used").await? {
                Some(mut tx) => {
                    let won = authenticators::consume_step(tx.conn(), &d.id, step).await?;
                    if won {
                        authenticators::mark_used(tx.conn(), &d.id, env.now).await?;
                    }
                    tx.commit().await?;
                    won
                }
                None => true,
            };
            if won {
                sc.plan.context.auth_methods.push("otp".into());
                return Ok(Reply::Next);
            }
            env.event(
                actions::SUSPICIOUS_REQUEST,
                &username,
                Some(&user_id),
                json!({"reason": "otp code replayed"}),
            )
            .await?;
            break;
        }
    }
    if accepts(s, STATIC_KIND) && use_static_code(sc, &user_id, &code).await? {
        sc.plan.context.auth_methods.push("otp".into());
        return Ok(Reply::Next);
    }
    if let Some(mut tx) = env.write_tx("authenticator failure").await? {
        authenticators::record_failure(tx.conn(), &user_id, env.now, WINDOW).await?;
        tx.commit().await?;
    }
    Ok(Reply::invalid("code", "Invalid code."))
}
