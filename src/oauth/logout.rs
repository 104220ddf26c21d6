//! OpenID Connect Back- and Front-Channel Logout 1.0. Back-channel: when a session ends (logout, end-session, a session
//! revoked in the console), every provider that issued tokens in it and has a back-channel
//! `logout_uri` gets a signed Logout Token by POST. Sent in the background with a short
//! timeout; a relying party that is down never delays or breaks the logout itself.

use crate::flows::LogoutFrame;
use std::time::Duration;

use serde_json::{Map, json};

use super::claims;
use super::discovery;
use super::snapshot::{ProviderEntry, Snapshot};
use crate::context::Context;
use crate::crypto::secrets;
use crate::domain::LogoutMethod;
use crate::store;

/// The `events` member that makes a JWT a Logout Token (spec §2.4).
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a relying party gets to answer.
const TIMEOUT: Duration = Duration::from_secs(5);

/// A Logout Token for `entry`: `iss`, `aud`, `iat`, `exp`, `jti`, `sub`, `sid` and `events`,
/// never a `nonce`, typed `logout+jwt` (spec §2.4).
pub fn logout_token(
    entry: &ProviderEntry,
    issuer: &str,
    subject: &str,
    sid: &str,
    now: i64,
) -> Result<String, super::errors::OAuthError> {
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(issuer));
    claims.insert("aud".into(), json!(entry.provider.client_id));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + 120));
    claims.insert("jti".into(), json!(secrets::random_token(24)));
    claims.insert("sub".into(), json!(subject));
    claims.insert("sid".into(), json!(sid));
    claims.insert("events".into(), json!({ BACKCHANNEL_EVENT: {} }));
    super::tokens::sign_with_typ(entry, &claims, Some("logout+jwt"))
}

/// Every (provider, user) that tokens were issued to in the session `sid`.
async fn parties(ctx: &Context, sid: &str) -> Vec<(String, String)> {
    let Ok(mut conn) = ctx.store().read().await else {
        return Vec::new();
    };
    store::grants::parties_of_session(&mut conn, sid)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "logout: cannot read the session's tokens");
            Vec::new()
        })
}

/// OpenID Connect Front-Channel Logout 1.0 §2: the `logout_uri` of every front-channel
/// provider that issued tokens in the session, with `iss` and `sid` added, for the sign-out
/// page to load in iframes.
pub async fn frontchannel_urls(ctx: &Context, snapshot: &Snapshot, sid: &str) -> Vec<LogoutFrame> {
    let public_url = ctx.config().public_url.clone();
    let mut out = Vec::new();
    for (provider_id, _) in parties(ctx, sid).await {
        let Some(entry) = snapshot.by_provider_id(&provider_id) else {
            continue;
        };
        let settings = &entry.provider.oauth2;
        if settings.logout_uri.is_empty() || settings.logout_method != LogoutMethod::Frontchannel {
            continue;
        }
        let Some(issuer) = discovery::issuer(&public_url, entry) else {
            continue;
        };
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("iss", &issuer)
            .append_pair("sid", sid)
            .finish();
        let sep = if settings.logout_uri.contains('?') {
            '&'
        } else {
            '?'
        };
        let url = format!("{}{sep}{query}", settings.logout_uri);
        if !out.iter().any(|f: &LogoutFrame| f.url == url) {
            out.push(LogoutFrame {
                url,
                provider_name: entry.provider.name.clone(),
            });
        }
    }
    out
}

/// Notifies the relying parties of the session whose `sid` (the digest its tokens carry)
/// ended. Returns once the requests are started; each is sent on its own task.
pub async fn session_ended(ctx: &Context, sid: &str) {
    let parties = parties(ctx, sid).await;
    if parties.is_empty() {
        return;
    }
    let snapshot = match Snapshot::load(ctx).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "back-channel logout: cannot load providers");
            return;
        }
    };
    let public_url = ctx.config().public_url.clone();
    for (provider_id, user_id) in parties {
        let Some(entry) = snapshot.by_provider_id(&provider_id) else {
            continue;
        };
        let settings = &entry.provider.oauth2;
        if settings.logout_uri.is_empty() || settings.logout_method != LogoutMethod::Backchannel {
            continue;
        }
        let Some(issuer) = discovery::issuer(&public_url, entry) else {
            continue;
        };
        let user = {
            let Ok(mut conn) = ctx.store().read().await else {
                continue;
            };
            match store::users::get(&mut conn, &user_id).await {
                Ok(Some(u)) => u,
                _ => continue,
            }
        };
        let subject = claims::subject(settings.sub_mode, &user);
        let token = match logout_token(entry, &issuer, &subject, sid, ctx.now()) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(provider = %entry.provider.name, error = %e.description, "back-channel logout: cannot sign");
                continue;
            }
        };
        let uri = settings.logout_uri.clone();
        let name = entry.provider.name.clone();
        tokio::spawn(async move { send(&name, &uri, &token).await });
    }
}

async fn send(provider: &str, uri: &str, token: &str) {
    let client = match reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "back-channel logout: no HTTP client");
            return;
        }
    };
    match client
        .post(uri)
        .form(&[("logout_token", token)])
        .send()
        .await
    {
        Ok(res) if res.status().is_success() => {
            tracing::info!(%provider, "back-channel logout delivered");
        }
        Ok(res) => {
            tracing::warn!(%provider, status = %res.status(), "back-channel logout refused by the relying party");
        }
        Err(e) => tracing::warn!(%provider, error = %e, "back-channel logout not delivered"),
    }
}
