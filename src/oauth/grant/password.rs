//! authentik's app-password grant: `username` plus one of that user's unexpired app passwords
//! (never their login password), sent with `grant_type=password` or with `client_credentials`
//! and a `username` (RFC 6749 §4.3's shape). Tokens for that user, limited to the provider's
//! scopes and subject to the application's policies, without a refresh token; the sign-in is
//! recorded as a `login` event.

use serde_json::json;

use super::{
    GrantContext, TokenRequest, check_application_access, granted_scopes, issue_fresh, load_user,
    server_error,
};
use crate::context::EventSubject;
use crate::oauth::claims::ClaimsUser;
use crate::oauth::errors::OAuthError;
use crate::oauth::snapshot::ClientEntry;
use crate::oauth::tokens::Issued;

/// Issues tokens for the user whose app password was presented.
pub(super) async fn exchange(
    ctx: &GrantContext<'_>,
    client: &ClientEntry,
    req: &TokenRequest,
) -> Result<Issued, OAuthError> {
    let entry = &client.entry;
    let (Some(username), Some(password)) = (req.get("username"), req.get("password")) else {
        return Err(OAuthError::invalid_request(
            "username and password are required",
        ));
    };
    let now = ctx.context.now();
    let user_id = app_password_owner(ctx, username, password, now)
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("wrong username or app password"))?;
    let user = load_user(ctx, &user_id).await?;
    check_application_access(ctx, entry, &user_id, &req.client_ip).await?;
    let scopes = granted_scopes(entry, req.get("scope"));
    let issued = issue_fresh(ctx, client, &user, &scopes, true, now).await?;
    record_login(ctx, req, &user).await;
    Ok(issued)
}

/// The id of the user `username` when `password` is one of their unexpired app passwords
/// (the password stage's `TokenBackend` asks the same).
async fn app_password_owner(
    ctx: &GrantContext<'_>,
    username: &str,
    password: &str,
    now: i64,
) -> Result<Option<String>, OAuthError> {
    let mut conn = ctx.context.store().read().await.map_err(server_error)?;
    crate::flows::stages::app_password_owner(&mut conn, username, password, now)
        .await
        .map_err(server_error)
}

/// Records the sign-in (a failure to record is logged, not answered).
async fn record_login(ctx: &GrantContext<'_>, req: &TokenRequest, user: &ClaimsUser) {
    let subject = EventSubject {
        username: user.user.username.clone(),
        user_id: Some(user.user.id.clone()),
        client_ip: req.client_ip.clone(),
        ..Default::default()
    };
    if let Err(e) = ctx
        .context
        .record_event("login", subject, json!({ "method": "app_password" }))
        .await
    {
        tracing::warn!(error = %e, "cannot record login");
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{APP, Fixture, T0};

    const PASSWORD: &str = "alice-app-password";

    struct Case {
        name: &'static str,
        grant: &'static str,
        username: &'static str,
        password: &'static str,
        /// Seconds after the app passwords were made.
        wait: i64,
        want: Result<(), &'static str>,
    }

    fn case(
        name: &'static str,
        grant: &'static str,
        username: &'static str,
        password: &'static str,
    ) -> Case {
        Case {
            name,
            grant,
            username,
            password,
            wait: 0,
            want: Ok(()),
        }
    }

    impl Case {
        fn after(self, wait: i64) -> Self {
            Self { wait, ..self }
        }

        fn fails(self, code: &'static str) -> Self {
            Self {
                want: Err(code),
                ..self
            }
        }
    }

    #[tokio::test]
    async fn app_password_rules() {
        let fx = Fixture::new().await;
        fx.add_app_password("alice", PASSWORD, None).await;
        fx.add_app_password("alice", "expiring-app-password", Some(T0 + 60))
            .await;
        fx.add_login_token("alice", "an-api-token").await;
        let cases = [
            case("password grant", "password", "alice", PASSWORD),
            case(
                "client_credentials + username",
                "client_credentials",
                "alice",
                PASSWORD,
            ),
            case("wrong app password", "password", "alice", "guess").fails("invalid_grant"),
            case("unknown user", "password", "mallory", PASSWORD).fails("invalid_grant"),
            case(
                "an API token is no app password",
                "password",
                "alice",
                "an-api-token",
            )
            .fails("invalid_grant"),
            case(
                "before expiry",
                "password",
                "alice",
                "expiring-app-password",
            )
            .after(59),
            case(
                "expired app password",
                "password",
                "alice",
                "expiring-app-password",
            )
            .after(60)
            .fails("invalid_grant"),
            case("no password", "password", "alice", "").fails("invalid_request"),
            case("no username", "password", "", PASSWORD).fails("invalid_request"),
        ];
        for c in cases {
            fx.clock.set(T0 + c.wait);
            let params = [
                ("grant_type", c.grant),
                ("username", c.username),
                ("password", c.password),
            ];
            let got = fx.token(APP, &params).await;
            match (c.want, got) {
                (Ok(()), Ok(body)) => {
                    assert!(body["access_token"].is_string(), "{}", c.name);
                    assert!(body.get("refresh_token").is_none(), "{}", c.name);
                }
                (Err(want), Err(e)) => assert_eq!(e.code, want, "{}", c.name),
                (want, got) => panic!("{}: wanted {want:?}, got {got:?}", c.name),
            }
        }
        assert_eq!(fx.events("login").await, 3, "each success is a login");
    }

    #[tokio::test]
    async fn an_inactive_user_is_refused() {
        let fx = Fixture::new().await;
        fx.add_app_password("alice", PASSWORD, None).await;
        fx.deactivate_alice().await;
        let err = fx
            .token(
                APP,
                &[
                    ("grant_type", "password"),
                    ("username", "alice"),
                    ("password", PASSWORD),
                ],
            )
            .await
            .expect_err("inactive");
        assert_eq!(err.code, "invalid_grant");
    }
}
