//! The authorization code grant at the token endpoint (RFC 6749 §4.1.3, RFC 7636 §4.6): the code
//! must be this client's, unexpired, unused, presented with the same `redirect_uri`, and with a
//! `code_verifier` exactly when a challenge was sent. The code is consumed in the group-committed
//! transaction that records the tokens, so only one redemption gets them; a used code presented
//! again revokes everything it produced.

use super::{
    CarriedOver, GrantContext, Mint, PresentedGrant, Replay, TokenRequest, load_presented,
    load_user, mint, revoke_replayed_family, scopes_of, server_error,
};
use crate::oauth::errors::OAuthError;
use crate::oauth::pkce;
use crate::oauth::snapshot::ClientEntry;
use crate::oauth::tokens::Issued;
use crate::store::{self, grants::AuthorizationCode, token_batch::Recorded};

/// Exchanges `code` for tokens.
pub(super) async fn exchange(
    ctx: &GrantContext<'_>,
    client: &ClientEntry,
    req: &TokenRequest,
) -> Result<Issued, OAuthError> {
    let code: AuthorizationCode = load_presented(ctx, client, req).await?;
    let now = ctx.context.now();
    if code.consumed_at.is_some() {
        return Err(replayed(ctx, req, &code, now).await);
    }
    if req.get("redirect_uri") != Some(code.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri must be identical to the one used at the authorization endpoint",
        ));
    }
    if now >= code.expires_at {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    check_verifier(&code, req.get("code_verifier"))?;
    let user = load_user(ctx, &code.user_id).await?;
    let scopes = scopes_of(&code.scope);
    let with_refresh = scopes.iter().any(|s| s == "offline_access");
    let carried = CarriedOver {
        nonce: code.nonce.as_deref(),
        auth_time: code.auth_time,
        session_id: code.session_id.as_deref(),
        family_id: store::grants::family_of_code(&code),
    };
    let minted = Mint::redeemed(client, &user, &scopes, with_refresh, carried);
    let issued = mint(ctx, minted)?;
    // The code is consumed in the same (group-committed) transaction that records the tokens,
    // and only an unused code gets them.
    let recorded = ctx
        .context
        .store()
        .record_code_exchange(
            &code.id,
            now,
            issued.access_record.clone(),
            issued.refresh.as_ref().map(|(_, r)| r.clone()),
        )
        .await
        .map_err(server_error)?;
    if recorded == Recorded::CodeAlreadyUsed {
        // Lost a race with another redemption: that is a replay too.
        return Err(replayed(ctx, req, &code, now).await);
    }
    Ok(issued)
}

impl PresentedGrant for AuthorizationCode {
    const PARAM: &'static str = "code";
    const UNKNOWN: &'static str = "the code is invalid or was issued to another client";
    fn provider_id(&self) -> &str {
        &self.provider_id
    }
    async fn find(conn: &mut store::Conn, digest: &str) -> store::StoreResult<Option<Self>> {
        store::grants::find_code(conn, digest).await
    }
}

/// PKCE (RFC 7636 §4.6): a verifier exactly when the code has a challenge, and it must match
/// with the challenge's method; one sent without a challenge is a downgrade attempt.
fn check_verifier(code: &AuthorizationCode, verifier: Option<&str>) -> Result<(), OAuthError> {
    match (&code.code_challenge, verifier) {
        (Some(challenge), Some(v)) => {
            let method = code.code_challenge_method.as_deref().unwrap_or("plain");
            if !pkce::verify(challenge, method, v) {
                return Err(OAuthError::invalid_grant("code_verifier does not match"));
            }
            Ok(())
        }
        (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is required")),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier sent but no code_challenge was used",
        )),
        (None, None) => Ok(()),
    }
}

/// A used code presented again: everything it produced is revoked (RFC 6749 §4.1.2).
async fn replayed(
    ctx: &GrantContext<'_>,
    req: &TokenRequest,
    code: &AuthorizationCode,
    now: i64,
) -> OAuthError {
    let replay = Replay {
        family_id: store::grants::family_of_code(code),
        user_id: &code.user_id,
        reason: "authorization code replayed",
        answer: "the code was already used",
    };
    revoke_replayed_family(ctx, req, replay, now).await
}

#[cfg(test)]
mod tests {
    use super::super::testing::{APP, CodeSpec, Fixture, OTHER_APP, PUBLIC_APP, REDIRECT};
    use crate::oauth::errors::OAuthError;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    struct Case {
        name: &'static str,
        code: CodeSpec,
        /// Seconds the clock moves between issuing the code and redeeming it.
        wait: i64,
        redirect_uri: Option<&'static str>,
        verifier: Option<&'static str>,
        want: Result<(), &'static str>,
    }

    fn case(name: &'static str) -> Case {
        Case {
            name,
            code: CodeSpec::default(),
            wait: 0,
            redirect_uri: Some(REDIRECT),
            verifier: None,
            want: Ok(()),
        }
    }

    fn s256() -> CodeSpec {
        CodeSpec {
            challenge: Some((CHALLENGE, "S256")),
            ..CodeSpec::default()
        }
    }

    fn cases() -> Vec<Case> {
        vec![
            case("a fresh code with its redirect_uri"),
            Case {
                wait: 59,
                ..case("one second before expiry")
            },
            Case {
                wait: 60,
                want: Err("invalid_grant"),
                ..case("expired (the clock jumped past access_code_validity)")
            },
            Case {
                redirect_uri: Some("https://app.test/other"),
                want: Err("invalid_grant"),
                ..case("another redirect_uri")
            },
            Case {
                redirect_uri: None,
                want: Err("invalid_grant"),
                ..case("no redirect_uri")
            },
            Case {
                code: CodeSpec {
                    client: OTHER_APP,
                    ..CodeSpec::default()
                },
                want: Err("invalid_grant"),
                ..case("another client's code")
            },
            Case {
                code: s256(),
                verifier: Some(VERIFIER),
                ..case("PKCE S256 with the right verifier")
            },
            Case {
                code: s256(),
                verifier: Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"),
                want: Err("invalid_grant"),
                ..case("PKCE verifier mismatch")
            },
            Case {
                code: s256(),
                want: Err("invalid_grant"),
                ..case("PKCE verifier missing")
            },
            Case {
                verifier: Some(VERIFIER),
                want: Err("invalid_grant"),
                ..case("PKCE downgrade: a verifier for a code without challenge")
            },
            Case {
                code: CodeSpec {
                    challenge: Some((VERIFIER, "plain")),
                    ..CodeSpec::default()
                },
                verifier: Some(VERIFIER),
                ..case("PKCE plain")
            },
            Case {
                code: CodeSpec {
                    challenge: Some((CHALLENGE, "plain")),
                    ..CodeSpec::default()
                },
                verifier: Some(VERIFIER),
                want: Err("invalid_grant"),
                ..case("PKCE: an S256 challenge stored as plain does not verify")
            },
        ]
    }

    #[tokio::test]
    async fn code_exchange_rules() {
        let fx = Fixture::new().await;
        for c in cases() {
            let code = fx.insert_code(&c.code).await;
            fx.clock.advance(c.wait);
            let mut params = vec![
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
            ];
            if let Some(uri) = c.redirect_uri {
                params.push(("redirect_uri", uri));
            }
            if let Some(v) = c.verifier {
                params.push(("code_verifier", v));
            }
            let got = fx.token(APP, &params).await;
            match (c.want, got) {
                (Ok(()), Ok(body)) => {
                    assert!(body["access_token"].is_string(), "{}", c.name);
                    assert!(body.get("refresh_token").is_none(), "{}", c.name);
                }
                (Err(want), Err(OAuthError { code, .. })) => assert_eq!(code, want, "{}", c.name),
                (want, got) => panic!("{}: wanted {want:?}, got {got:?}", c.name),
            }
        }
    }

    #[tokio::test]
    async fn unknown_or_missing_code() {
        let fx = Fixture::new().await;
        for (name, code, want) in [
            ("unknown code", Some("no-such-code"), "invalid_grant"),
            ("no code", None, "invalid_request"),
            ("empty code", Some(""), "invalid_request"),
        ] {
            let mut params = vec![
                ("grant_type", "authorization_code"),
                ("redirect_uri", REDIRECT),
            ];
            if let Some(code) = code {
                params.push(("code", code));
            }
            let err = fx.token(APP, &params).await.expect_err(name);
            assert_eq!(err.code, want, "{name}");
        }
    }

    #[tokio::test]
    async fn a_replayed_code_fails_and_revokes_what_it_produced() {
        let fx = Fixture::new().await;
        let code = fx
            .insert_code(&CodeSpec {
                scope: "openid offline_access",
                ..CodeSpec::default()
            })
            .await;
        let params = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ];
        let first = fx.token(APP, &params).await.expect("first redemption");
        let refresh = first["refresh_token"].as_str().expect("offline_access");
        assert!(fx.access_token_active(&first).await);

        let replay = fx.token(APP, &params).await.expect_err("replay");
        assert_eq!(replay.code, "invalid_grant");
        assert!(!fx.access_token_active(&first).await, "replay revokes");
        assert_eq!(fx.events("suspicious_request").await, 1);
        let refreshed = fx
            .token(
                APP,
                &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
            )
            .await;
        assert_eq!(refreshed.expect_err("revoked").code, "invalid_grant");
    }

    #[tokio::test]
    async fn a_public_client_redeems_its_code_without_a_secret() {
        let fx = Fixture::new().await;
        let code = fx
            .insert_code(&CodeSpec {
                client: PUBLIC_APP,
                challenge: Some((CHALLENGE, "S256")),
                ..CodeSpec::default()
            })
            .await;
        let body = fx
            .token(
                PUBLIC_APP,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", VERIFIER),
                ],
            )
            .await
            .expect("public client");
        assert!(body["id_token"].is_string());
    }

    #[tokio::test]
    async fn an_inactive_user_gets_no_tokens() {
        let fx = Fixture::new().await;
        let code = fx.insert_code(&CodeSpec::default()).await;
        fx.deactivate_alice().await;
        let err = fx
            .token(
                APP,
                &[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", REDIRECT),
                ],
            )
            .await
            .expect_err("inactive");
        assert_eq!(err.code, "invalid_grant");
    }
}
