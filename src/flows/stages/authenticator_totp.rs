//! TOTP setup: a fresh secret (kept in the plan until confirmed), its otpauth:// URI with the
//! stage's `digits` (6 or 8; other values are refused at save), a QR code as inline SVG and the
//! base32 secret as text; a correct code of that many digits confirms the device, named by the
//! stage's `friendly_name` (or "TOTP device").

use serde_json::{Value, json};
use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::{Reply, Show, StageCtx};
use crate::domain::{AuthenticatorTotpSettings, new_id};
use crate::flows::FlowResult;
use crate::flows::challenge::{ChallengeKind, Response};
use crate::store::{self, authenticators};

/// The id of the built-in setup stage `not_configured_action: configure` inserts when no
/// configuration stage is named.
pub const BUILTIN_TOTP_SETUP: &str = "builtin:authenticator_totp";

/// Builds a TOTP for a base32 secret.
pub fn totp(secret_b32: &str, digits: u8, issuer: &str, account: &str) -> Option<Totp> {
    let secret = Secret::try_from_base32(secret_b32).ok()?;
    let issuer: String = issuer.chars().filter(|c| *c != ':').collect();
    let account: String = account.chars().filter(|c| *c != ':').collect();
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(digits)
        .with_secret(secret)
        .with_account_name(account)
        .with_issuer(Some(issuer))
        .build()
        .ok()
}

/// Finds the 30 s step within ±1 step of `now` whose code equals `code` (constant time).
pub fn matching_step(t: &Totp, code: &str, now: i64) -> Option<i64> {
    let code = code.trim();
    let current = now.div_euclid(30);
    let mut found = None;
    for step in [current - 1, current, current + 1] {
        if step < 0 {
            continue;
        }
        let expected = t.generate((step * 30) as u64).to_string();
        if crate::crypto::secrets::constant_time_eq(&expected, code) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

fn digits(s: &AuthenticatorTotpSettings) -> u8 {
    if s.digits == 8 { 8 } else { 6 }
}

/// The new device's name: the stage's `friendly_name`, else "TOTP device".
fn device_name(s: &AuthenticatorTotpSettings) -> String {
    match s.friendly_name.trim() {
        "" => "TOTP device".to_string(),
        name => name.to_string(),
    }
}

async fn account(sc: &StageCtx<'_>) -> FlowResult<Option<(String, String)>> {
    let Some(id) = sc.user_id() else {
        return Ok(None);
    };
    let mut conn = sc.env.store.read().await?;
    Ok(store::users::get(&mut conn, &id)
        .await?
        .map(|u| (id, u.username)))
}

/// Shows the secret, URI and QR code.
pub async fn challenge(sc: &mut StageCtx<'_>, s: &AuthenticatorTotpSettings) -> FlowResult<Show> {
    let Some((_, username)) = account(sc).await? else {
        return Ok(Show::Deny("No user to set up an authenticator for.".into()));
    };
    let secret = match sc.scratch("secret").and_then(Value::as_str) {
        Some(s) => s.to_string(),
        None => {
            let mut bytes = [0u8; 20];
            rand::Rng::fill(&mut rand::rng(), &mut bytes);
            let s = Secret::from(bytes.to_vec()).to_base32();
            sc.set_scratch("secret", json!(s));
            s
        }
    };
    let Some(t) = totp(&secret, digits(s), "latchkey", &username) else {
        return Ok(Show::Deny("Cannot create an authenticator secret.".into()));
    };
    let config_url = t.to_url().unwrap_or_default();
    let qr_svg = qrcode::QrCode::new(config_url.as_bytes())
        .map(|q| {
            q.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .build()
        })
        .unwrap_or_default();
    Ok(Show::Challenge(ChallengeKind::AuthenticatorTotpSetup {
        pending_user: username,
        config_url,
        secret,
        qr_svg,
    }))
}

/// Confirms the device when the code matches.
pub async fn respond(
    sc: &mut StageCtx<'_>,
    s: &AuthenticatorTotpSettings,
    r: &Response,
) -> FlowResult<Reply> {
    let Some((user_id, username)) = account(sc).await? else {
        return Ok(Reply::Deny(
            "No user to set up an authenticator for.".into(),
        ));
    };
    let Some(secret) = sc
        .scratch("secret")
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return Ok(Reply::invalid("code", "Reload the page to get a secret."));
    };
    let code = r.get("code").unwrap_or("").trim();
    if code.len() != usize::from(digits(s)) {
        return Ok(Reply::invalid("code", "Code does not match."));
    }
    let Some(t) = totp(&secret, digits(s), "latchkey", &username) else {
        return Ok(Reply::Deny("Cannot create an authenticator secret.".into()));
    };
    let Some(step) = matching_step(&t, code, sc.env.now) else {
        return Ok(Reply::invalid("code", "Code does not match."));
    };
    let device = authenticators::DeviceRow {
        id: new_id(),
        user_id,
        kind: "totp".into(),
        name: device_name(s),
        secret,
        confirmed: true,
        last_used_step: Some(step),
        created_at: sc.env.now,
        digits: i64::from(digits(s)),
    };
    if let Some(mut tx) = sc.env.write_tx("TOTP device").await? {
        authenticators::insert(tx.conn(), &device).await?;
        tx.commit().await?;
    }
    sc.plan.context.auth_methods.push("otp".into());
    Ok(Reply::Next)
}
