//! The refresh token grant (RFC 6749 §6, §10.4): refresh tokens rotate — each is used once and
//! the answer carries its successor in the same family — and one presented again (or revoked)
//! revokes the whole family. The scope may narrow, never widen, and must keep `offline_access`;
//! the application's policies are evaluated again, so access removed since the grant ends it.
//!
//! The provider's `refresh_token_threshold` (authentik's): at zero every refresh rotates; above
//! zero a refresh token rotates only once its remaining lifetime falls below the threshold, and
//! until then a refresh answers a new access token alone and the presented token stays valid.

use super::{
    CarriedOver, GrantContext, Mint, PresentedGrant, Replay, TokenRequest,
    check_application_access, load_presented, load_user, mint, record_alone, record_consuming,
    revoke_replayed_family, scopes_of,
};
use crate::oauth::errors::OAuthError;
use crate::oauth::snapshot::ClientEntry;
use crate::oauth::tokens::Issued;
use crate::store::{self, grants::RefreshToken};

/// Exchanges `refresh_token` for a new access token and its successor.
pub(super) async fn exchange(
    ctx: &GrantContext<'_>,
    client: &ClientEntry,
    req: &TokenRequest,
) -> Result<Issued, OAuthError> {
    let old: RefreshToken = load_presented(ctx, client, req).await?;
    let now = ctx.context.now();
    if old.revoked_at.is_some() || old.consumed_at.is_some() {
        return Err(reused(ctx, req, &old, now).await);
    }
    if now >= old.expires_at {
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
    }
    let scopes = narrowed_scopes(&old, req.get("scope"))?;
    let user = load_user(ctx, &old.user_id).await?;
    // Access removed since the grant (a policy now denies): no more tokens.
    check_application_access(ctx, &client.entry, &old.user_id, &req.client_ip).await?;
    let carried = CarriedOver {
        nonce: old.nonce.as_deref(),
        auth_time: old.auth_time,
        session_id: old.session_id.as_deref(),
        family_id: &old.family_id,
    };
    let rotate = rotates(
        &client.entry.provider.oauth2.refresh_token_threshold,
        &old,
        now,
    );
    let issued = mint(ctx, Mint::redeemed(client, &user, &scopes, rotate, carried))?;
    if !rotate {
        record_alone(ctx, &issued).await?;
        return Ok(issued);
    }
    let consume = async |conn: &mut store::Conn| {
        store::grants::consume_refresh_token(conn, &old.id, now).await
    };
    if !record_consuming(ctx, &issued, consume).await? {
        // Another request rotated it first: this one is a reuse. The write lock is already
        // released when the revocation takes it again.
        return Err(reused(ctx, req, &old, now).await);
    }
    Ok(issued)
}

/// Whether this refresh replaces the presented token: always at a zero threshold, else only
/// when less than the threshold of its lifetime is left (authentik's rule).
fn rotates(threshold: &str, old: &RefreshToken, now: i64) -> bool {
    let threshold = crate::oauth::lifetimes::validity(threshold, 0);
    threshold <= 0 || old.expires_at - now < threshold
}

impl PresentedGrant for RefreshToken {
    const PARAM: &'static str = "refresh_token";
    const UNKNOWN: &'static str = "the refresh token is invalid";
    fn provider_id(&self) -> &str {
        &self.provider_id
    }
    async fn find(conn: &mut store::Conn, digest: &str) -> store::StoreResult<Option<Self>> {
        store::grants::find_refresh_token(conn, digest).await
    }
}

/// The scopes of the new tokens: the original ones, or the requested subset of them; either
/// way `offline_access` must stay (refreshing is what it grants).
fn narrowed_scopes(old: &RefreshToken, requested: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let original = scopes_of(&old.scope);
    let scopes = match requested {
        None => original,
        Some(s) => {
            let asked = scopes_of(s);
            if let Some(extra) = asked.iter().find(|s| !original.contains(s)) {
                return Err(OAuthError::invalid_scope(format!(
                    "scope '{extra}' was not granted originally"
                )));
            }
            asked
        }
    };
    if !scopes.iter().any(|s| s == "offline_access") {
        return Err(OAuthError::invalid_scope(
            "refreshing needs the offline_access scope",
        ));
    }
    Ok(scopes)
}

/// A used or revoked refresh token presented again: its whole family is revoked.
async fn reused(
    ctx: &GrantContext<'_>,
    req: &TokenRequest,
    old: &RefreshToken,
    now: i64,
) -> OAuthError {
    let replay = Replay {
        family_id: &old.family_id,
        user_id: &old.user_id,
        reason: "refresh token reused",
        answer: "the refresh token was already used",
    };
    revoke_replayed_family(ctx, req, replay, now).await
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::super::testing::{APP, CodeSpec, Fixture, OTHER_APP};

    /// A refresh token for alice with `scope`, through a real code exchange.
    async fn refresh_token_for(fx: &Fixture, scope: &'static str) -> Value {
        fx.exchange_code(&CodeSpec {
            scope,
            ..CodeSpec::default()
        })
        .await
    }

    async fn refresh(fx: &Fixture, token: &str, scope: Option<&str>) -> Result<Value, String> {
        let mut params = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
        if let Some(s) = scope {
            params.push(("scope", s));
        }
        fx.token(APP, &params).await.map_err(|e| e.code.to_string())
    }

    #[tokio::test]
    async fn refresh_token_threshold_rotates_only_near_expiry() {
        let fx = Fixture::new().await;
        fx.set_refresh_token_threshold(APP.client_id, "days=7")
            .await;
        let first = refresh_token_for(&fx, "openid offline_access").await;
        let token = first["refresh_token"].as_str().expect("refresh token");
        // 30 days left, more than the threshold: a new access token, no successor, and the
        // presented token stays valid.
        for _ in 0..2 {
            let got = refresh(&fx, token, None).await.expect("refresh");
            assert!(got["access_token"].is_string());
            assert!(got.get("refresh_token").is_none(), "{got}");
        }
        // Six days left: it rotates, and the old token is then used up.
        fx.clock.advance(24 * 86_400);
        let rotated = refresh(&fx, token, None).await.expect("rotation");
        let successor = rotated["refresh_token"].as_str().expect("successor");
        assert_ne!(successor, token);
        assert_eq!(
            refresh(&fx, token, None).await.err().as_deref(),
            Some("invalid_grant")
        );
    }

    #[tokio::test]
    async fn scope_rules() {
        let fx = Fixture::new().await;
        let cases: &[(&str, Option<&str>, Result<&str, &str>)] = &[
            ("same scopes", None, Ok("openid email offline_access")),
            (
                "narrowed",
                Some("openid offline_access"),
                Ok("openid offline_access"),
            ),
            (
                "widened",
                Some("openid profile offline_access"),
                Err("invalid_scope"),
            ),
            (
                "offline_access dropped",
                Some("openid email"),
                Err("invalid_scope"),
            ),
        ];
        for (name, scope, want) in cases {
            let first = refresh_token_for(&fx, "openid email offline_access").await;
            let token = first["refresh_token"].as_str().expect("refresh token");
            let got = refresh(&fx, token, *scope).await;
            match (want, got) {
                (Ok(scope), Ok(body)) => {
                    assert_eq!(body["scope"], *scope, "{name}");
                    assert!(body["refresh_token"].is_string(), "{name}: rotated");
                }
                (Err(want), Err(got)) => assert_eq!(&got, want, "{name}"),
                (want, got) => panic!("{name}: wanted {want:?}, got {got:?}"),
            }
        }
    }

    #[tokio::test]
    async fn without_offline_access_there_is_no_refresh_token() {
        let fx = Fixture::new().await;
        let body = refresh_token_for(&fx, "openid email").await;
        assert!(body.get("refresh_token").is_none());
    }

    #[tokio::test]
    async fn expiry_follows_the_clock() {
        let fx = Fixture::new().await;
        let validity = 30 * 86_400;
        for (name, wait, want) in [
            ("one second before expiry", validity - 1, Ok(())),
            ("at expiry", validity, Err("invalid_grant".to_string())),
        ] {
            let first = refresh_token_for(&fx, "openid offline_access").await;
            fx.clock.advance(wait);
            let got = refresh(&fx, first["refresh_token"].as_str().unwrap_or(""), None).await;
            assert_eq!(got.map(|_| ()), want, "{name}");
            fx.clock.set(super::super::testing::T0);
        }
    }

    #[tokio::test]
    async fn reuse_kills_the_family() {
        let fx = Fixture::new().await;
        let first = refresh_token_for(&fx, "openid offline_access").await;
        let old = first["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_string();
        let second = refresh(&fx, &old, None).await.expect("rotation");
        let newer = second["refresh_token"].as_str().expect("successor");
        assert!(fx.access_token_active(&second).await);

        assert_eq!(
            refresh(&fx, &old, None).await.err().as_deref(),
            Some("invalid_grant")
        );
        assert!(!fx.access_token_active(&second).await, "family revoked");
        assert!(!fx.access_token_active(&first).await, "family revoked");
        assert_eq!(
            refresh(&fx, newer, None).await.err().as_deref(),
            Some("invalid_grant"),
            "the successor dies with its family"
        );
        assert!(fx.events("suspicious_request").await >= 1);
    }

    #[tokio::test]
    async fn unknown_missing_and_other_clients_tokens() {
        let fx = Fixture::new().await;
        let first = refresh_token_for(&fx, "openid offline_access").await;
        let token = first["refresh_token"].as_str().expect("refresh");
        assert_eq!(
            refresh(&fx, "nope", None).await.err().as_deref(),
            Some("invalid_grant")
        );
        let missing = fx.token(APP, &[("grant_type", "refresh_token")]).await;
        assert_eq!(missing.expect_err("missing").code, "invalid_request");
        let other = fx
            .token(
                OTHER_APP,
                &[("grant_type", "refresh_token"), ("refresh_token", token)],
            )
            .await;
        assert_eq!(other.expect_err("other client").code, "invalid_grant");
        // The other client's attempt consumed nothing: the owner still refreshes.
        assert!(refresh(&fx, token, None).await.is_ok());
    }
}
