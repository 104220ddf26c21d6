//! The device code grant at the token endpoint (RFC 8628 §3.4–3.5): a device polls with its
//! `device_code` until the user approved or denied it at `/device`. Expiry is checked inline
//! against the injected clock; a poll sooner than the interval is `slow_down`, which raises the
//! stored interval for good; redemption is one conditional UPDATE so parallel polls yield one
//! success; and a redeemed code presented again revokes every token it produced.
//! The device authorization endpoint that hands out codes is [`crate::oauth::device`].

use super::{
    CarriedOver, GrantContext, Mint, PresentedGrant, Replay, TokenRequest, load_presented,
    load_user, mint, record_consuming, revoke_replayed_family, scopes_of, server_error,
};
use crate::oauth::errors::OAuthError;
use crate::oauth::snapshot::ClientEntry;
use crate::oauth::tokens::Issued;
use crate::store::device_codes::{self, DeviceCode};
use crate::store::{Conn, StoreResult};

/// What `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: i64 = 5;

/// Exchanges an approved `device_code` for tokens, or answers why not yet.
pub(super) async fn exchange(
    ctx: &GrantContext<'_>,
    client: &ClientEntry,
    req: &TokenRequest,
) -> Result<Issued, OAuthError> {
    let code: DeviceCode = load_presented(ctx, client, req).await?;
    if code.consumed_at.is_some() {
        return Err(replayed(ctx, req, &code).await);
    }
    let now = ctx.context.now();
    if now >= code.expires_at {
        return Err(OAuthError::expired_token());
    }
    match code.status.as_str() {
        device_codes::DENIED => return Err(OAuthError::access_denied()),
        device_codes::APPROVED => {}
        _ => return Err(pending_poll(ctx, &code, now).await),
    }
    let user_id = code
        .user_id
        .as_deref()
        .ok_or_else(|| server_error("approved device code without a user"))?;
    let user = load_user(ctx, user_id).await?;
    let scopes = scopes_of(&code.scope);
    let with_refresh = scopes.iter().any(|s| s == "offline_access");
    let carried = CarriedOver {
        nonce: None,
        auth_time: code.auth_time.unwrap_or(now),
        session_id: code.session_id.as_deref(),
        family_id: family_of(&code),
    };
    let issued = mint(
        ctx,
        Mint::redeemed(client, &user, &scopes, with_refresh, carried),
    )?;
    let consume = async |conn: &mut Conn| device_codes::consume(conn, &code.id, now).await;
    if !record_consuming(ctx, &issued, consume).await? {
        // A parallel poll redeemed it between our read and this write.
        return Err(OAuthError::invalid_grant(
            "the device code was already used",
        ));
    }
    Ok(issued)
}

impl PresentedGrant for DeviceCode {
    const PARAM: &'static str = "device_code";
    const UNKNOWN: &'static str = "the device code is invalid or was issued to another client";
    fn provider_id(&self) -> &str {
        &self.provider_id
    }
    async fn find(conn: &mut Conn, digest: &str) -> StoreResult<Option<Self>> {
        device_codes::find_by_digest(conn, digest).await
    }
}

/// The grant family of the tokens a device code produces (its own id for old rows).
fn family_of(code: &DeviceCode) -> &str {
    code.family_id.as_deref().unwrap_or(&code.id)
}

/// A poll of a pending code: `authorization_pending`, or `slow_down` when it came sooner than
/// the interval (which then grows by [`SLOW_DOWN_STEP`] and stays grown for every later poll).
async fn pending_poll(ctx: &GrantContext<'_>, code: &DeviceCode, now: i64) -> OAuthError {
    let result = async {
        let mut tx = ctx.context.store().write_tx().await?;
        let too_fast = device_codes::record_poll(tx.conn(), &code.id, now, SLOW_DOWN_STEP).await?;
        tx.commit().await?;
        Ok::<_, crate::store::StoreError>(too_fast)
    }
    .await;
    match result {
        Err(e) => server_error(e),
        Ok(true) => OAuthError::slow_down(),
        Ok(false) => OAuthError::authorization_pending(),
    }
}

/// A redeemed device code presented again (a stolen-code signal): its tokens are revoked.
async fn replayed(ctx: &GrantContext<'_>, req: &TokenRequest, code: &DeviceCode) -> OAuthError {
    let replay = Replay {
        family_id: family_of(code),
        user_id: code.user_id.as_deref().unwrap_or(""),
        reason: "device code replayed",
        answer: "the device code was already used",
    };
    revoke_replayed_family(ctx, req, replay, ctx.context.now()).await
}

#[cfg(test)]
mod tests {
    use super::super::testing::{DeviceStart, Fixture, OTHER_APP, PUBLIC_APP};
    use super::SLOW_DOWN_STEP;
    use crate::oauth::device::DEFAULT_INTERVAL;

    /// One poll: the wait before it, and the error code it gets (`None`: tokens).
    type Poll = (i64, Option<&'static str>);

    /// What happens to the code before the polls.
    #[derive(Clone, Copy)]
    enum User {
        Nothing,
        Approves,
        Denies,
    }

    #[tokio::test]
    async fn polling_rules() {
        let ok = None;
        let i = DEFAULT_INTERVAL;
        let cases: &[(&str, User, &[Poll])] = &[
            (
                "pending",
                User::Nothing,
                &[(0, Some("authorization_pending"))],
            ),
            (
                "polling at the interval stays pending",
                User::Nothing,
                &[
                    (0, Some("authorization_pending")),
                    (i, Some("authorization_pending")),
                ],
            ),
            (
                "too fast is slow_down, and the interval grows for good",
                User::Nothing,
                &[
                    (0, Some("authorization_pending")),
                    (1, Some("slow_down")),
                    (i + SLOW_DOWN_STEP, Some("authorization_pending")),
                    (i, Some("slow_down")),
                ],
            ),
            ("denied", User::Denies, &[(0, Some("access_denied"))]),
            ("approved", User::Approves, &[(0, ok)]),
            (
                "replay after redemption",
                User::Approves,
                &[(0, ok), (i, Some("invalid_grant"))],
            ),
            (
                "expired (clock past device_code_validity)",
                User::Nothing,
                &[(600, Some("expired_token"))],
            ),
            (
                "approved but expired",
                User::Approves,
                &[(600, Some("expired_token"))],
            ),
        ];
        let fx = Fixture::new().await;
        for (name, user, polls) in cases {
            let start = fx.start_device(PUBLIC_APP).await;
            match user {
                User::Nothing => {}
                User::Approves => fx.approve_device(&start).await,
                User::Denies => fx.deny_device(&start).await,
            }
            for (n, (wait, want)) in polls.iter().enumerate() {
                fx.clock.advance(*wait);
                let got = fx.poll_device(PUBLIC_APP, &start).await;
                assert_eq!(
                    got.as_ref().err().map(|e| e.code),
                    *want,
                    "{name}, poll {n}: {got:?}"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_replay_revokes_the_tokens_the_code_produced() {
        let fx = Fixture::new().await;
        let start = fx.start_device(PUBLIC_APP).await;
        fx.approve_device(&start).await;
        let tokens = fx.poll_device(PUBLIC_APP, &start).await.expect("tokens");
        assert!(fx.access_token_active(&tokens).await);
        let replay = fx.poll_device(PUBLIC_APP, &start).await;
        assert_eq!(replay.expect_err("replay").code, "invalid_grant");
        assert!(!fx.access_token_active(&tokens).await);
        assert_eq!(fx.events("suspicious_request").await, 1);
    }

    #[tokio::test]
    async fn unknown_missing_and_other_clients_codes() {
        let fx = Fixture::new().await;
        let start = fx.start_device(PUBLIC_APP).await;
        let unknown = DeviceStart {
            device_code: "nope".into(),
            ..start.clone()
        };
        let err = fx
            .poll_device(PUBLIC_APP, &unknown)
            .await
            .expect_err("unknown");
        assert_eq!(err.code, "invalid_grant");
        let missing = DeviceStart {
            device_code: String::new(),
            ..start.clone()
        };
        let err = fx
            .poll_device(PUBLIC_APP, &missing)
            .await
            .expect_err("missing");
        assert_eq!(err.code, "invalid_request");
        let err = fx
            .poll_device(OTHER_APP, &start)
            .await
            .expect_err("other client");
        assert_eq!(err.code, "invalid_grant");
    }
}
