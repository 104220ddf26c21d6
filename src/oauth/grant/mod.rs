//! The token endpoint (RFC 6749 §3.2), one file per grant as in ory/fosite's
//! `handler/oauth2/flow_<grant>.go`, and what the grants share.
//!
//! A request goes: [`TokenRequest`] (a form without repeated parameters) → [`GrantType`] parsed
//! from `grant_type` → the client authenticated once ([`authenticate_client`], which the device
//! authorization endpoint calls too) → the grant's `exchange`, which checks everything before
//! anything is consumed → [`mint`], which signs outside any write transaction → the grant records
//! what was issued. Single-use grants are consumed with a conditional UPDATE, so exactly one
//! concurrent redemption wins, and one presented again revokes its family
//! ([`revoke_replayed_family`]).

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod password;
pub mod refresh_token;
#[cfg(test)]
mod testing;

use std::collections::HashMap;

use serde_json::json;

use super::claims::{self, ClaimsUser, ScopeEvaluator};
use super::client_auth;
use super::discovery;
use super::errors::OAuthError;
use super::snapshot::{ClientEntry, ProviderEntry, Snapshot};
use super::tokens::{self, IssueRequest, Issued};
use crate::context::{Context, EventSubject};
use crate::crypto::secrets;
use crate::domain::new_id;
use crate::store::{self, Topic};

/// The device-code grant's URN (RFC 8628).
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The grants the token endpoint serves. A provider's `grant_types` also lists `implicit` and
/// `hybrid`, which are answered at the authorization endpoint and are no `grant_type` here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    Password,
    DeviceCode,
}

impl GrantType {
    /// Every grant with its `grant_type` spelling (authentik's; RFC 8628's URN for device codes).
    const NAMES: [(GrantType, &'static str); 5] = [
        (GrantType::AuthorizationCode, "authorization_code"),
        (GrantType::RefreshToken, "refresh_token"),
        (GrantType::ClientCredentials, "client_credentials"),
        (GrantType::Password, "password"),
        (GrantType::DeviceCode, DEVICE_CODE_GRANT),
    ];

    /// The grant a `grant_type` value names, if the token endpoint serves it.
    pub fn parse(value: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(_, name)| *name == value)
            .map(|(grant, _)| *grant)
    }

    /// The `grant_type` value, as a provider's `grant_types` lists it.
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(grant, _)| *grant == self)
            .map_or("", |(_, name)| name)
    }
}

/// A token request, after duplicate parameters were refused.
#[derive(Debug, Clone, Default)]
pub struct TokenRequest {
    pub params: HashMap<String, String>,
    pub authorization: Option<String>,
    pub client_ip: String,
}

impl TokenRequest {
    /// Builds a request from form pairs; a repeated parameter is `invalid_request`
    /// (RFC 6749 §3.2: parameters must not be included more than once).
    pub fn from_pairs(
        pairs: Vec<(String, String)>,
        authorization: Option<String>,
        client_ip: String,
    ) -> Result<Self, OAuthError> {
        let mut params = HashMap::new();
        for (k, v) in pairs {
            if params.insert(k.clone(), v).is_some() {
                return Err(OAuthError::invalid_request(format!(
                    "parameter '{k}' repeated"
                )));
            }
        }
        Ok(Self {
            params,
            authorization,
            client_ip,
        })
    }

    /// A parameter's value; an empty one counts as absent (RFC 6749 §3.1).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A parameter the request must carry: `invalid_request` ("… is required") when it is
    /// missing or empty.
    pub fn required(&self, key: &str) -> Result<&str, OAuthError> {
        self.get(key)
            .ok_or_else(|| OAuthError::invalid_request(format!("{key} is required")))
    }

    /// The grant `grant_type` names: `invalid_request` when it is missing,
    /// `unsupported_grant_type` when this server does not serve it.
    pub fn grant_type(&self) -> Result<GrantType, OAuthError> {
        let value = self.required("grant_type")?;
        GrantType::parse(value).ok_or_else(|| {
            OAuthError::unsupported_grant_type(format!("grant_type '{value}' is not supported"))
        })
    }
}

/// Everything a grant needs.
pub struct GrantContext<'a> {
    pub context: &'a Context,
    pub snapshot: &'a Snapshot,
    pub evaluator: &'a dyn ScopeEvaluator,
}

/// Authenticates the client of a request that will use `grant` (the token endpoint, and the
/// device authorization endpoint for the device-code grant): credentials from Basic or the
/// body, never both; a confidential client's secret checked; and the grant allowed for it.
pub fn authenticate_client<'s>(
    snapshot: &'s Snapshot,
    req: &TokenRequest,
    grant: GrantType,
) -> Result<&'s ClientEntry, OAuthError> {
    let creds = client_auth::extract(
        req.authorization.as_deref(),
        req.get("client_id"),
        req.params.get("client_secret").map(String::as_str),
    )?;
    let client = client_auth::authenticate(snapshot, creds.as_ref())?;
    let allowed = &client.entry.provider.oauth2.grant_types;
    if !allowed.iter().any(|g| g == grant.as_str()) {
        return Err(OAuthError::unauthorized_client(format!(
            "this client may not use the '{}' grant",
            grant.as_str()
        )));
    }
    Ok(client)
}

/// Handles `POST /application/o/token/` and returns the response body.
pub async fn token(
    ctx: &GrantContext<'_>,
    req: &TokenRequest,
) -> Result<tokens::TokenResponse, OAuthError> {
    let grant = req.grant_type()?;
    let client = authenticate_client(ctx.snapshot, req, grant)?;
    let issued = match grant {
        GrantType::AuthorizationCode => authorization_code::exchange(ctx, client, req).await?,
        GrantType::RefreshToken => refresh_token::exchange(ctx, client, req).await?,
        // authentik: a username plus an app password works with either grant.
        GrantType::Password => password::exchange(ctx, client, req).await?,
        GrantType::ClientCredentials if req.get("username").is_some() => {
            password::exchange(ctx, client, req).await?
        }
        GrantType::ClientCredentials => client_credentials::exchange(ctx, client, req).await?,
        GrantType::DeviceCode => device_code::exchange(ctx, client, req).await?,
    };
    Ok(issued.into())
}

/// The scopes of a space-separated list, in order.
pub(crate) fn scopes_of(s: &str) -> Vec<String> {
    s.split(' ')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// The scopes a provider can grant.
pub(crate) fn configured_scopes(entry: &ProviderEntry) -> Vec<String> {
    let mut v: Vec<String> = entry
        .scope_mappings
        .iter()
        .map(|m| m.scope_name.clone())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The scopes a request gets: requested ∩ the provider's mappings, all of them when none were
/// requested (authentik's rule, shared by the token and device endpoints).
pub(crate) fn granted_scopes(entry: &ProviderEntry, requested: Option<&str>) -> Vec<String> {
    let configured = configured_scopes(entry);
    match requested.filter(|s| !s.trim().is_empty()) {
        None => configured,
        Some(s) => {
            let mut v: Vec<String> = scopes_of(s)
                .into_iter()
                .filter(|s| configured.contains(s))
                .collect();
            v.dedup();
            v
        }
    }
}

/// Logs a failure of ours and answers `server_error` without its details.
pub(crate) fn server_error<E: std::fmt::Display + 'static>(e: E) -> OAuthError {
    OAuthError::internal("token endpoint failure", e)
}

fn issuer(ctx: &GrantContext<'_>, entry: &ProviderEntry) -> Result<String, OAuthError> {
    discovery::issuer(&ctx.context.config().public_url, entry)
        .ok_or_else(|| OAuthError::invalid_grant("the provider is not attached to an application"))
}

/// Loads an active user with their group names, for claims.
pub async fn load_user(ctx: &GrantContext<'_>, user_id: &str) -> Result<ClaimsUser, OAuthError> {
    let mut conn = ctx.context.store().read().await.map_err(server_error)?;
    let user = store::users::get(&mut conn, user_id)
        .await
        .map_err(server_error)?
        .ok_or_else(|| OAuthError::invalid_grant("the user no longer exists"))?;
    if !user.is_active {
        return Err(OAuthError::invalid_grant("the user is inactive"));
    }
    let groups = store::groups::of_user(&mut conn, user_id)
        .await
        .map_err(server_error)?;
    Ok(ClaimsUser::new(user, groups))
}

/// A single-use grant stored by the digest of the value a client presents (an authorization
/// code, a refresh token, a device code): what those grants look up before anything else.
pub(crate) trait PresentedGrant: Sized {
    /// The request parameter that carries the value.
    const PARAM: &'static str;
    /// The `invalid_grant` answer when no such grant was issued to this client.
    const UNKNOWN: &'static str;
    /// The provider it was issued through.
    fn provider_id(&self) -> &str;
    /// The stored grant with this digest, used or not (a replay must be recognised).
    fn find(
        conn: &mut store::Conn,
        digest: &str,
    ) -> impl Future<Output = store::StoreResult<Option<Self>>> + Send;
}

/// The stored grant the request presents in [`PresentedGrant::PARAM`]: `invalid_request` when
/// the parameter is missing, `invalid_grant` when it is unknown or another client's.
pub(crate) async fn load_presented<G: PresentedGrant>(
    ctx: &GrantContext<'_>,
    client: &ClientEntry,
    req: &TokenRequest,
) -> Result<G, OAuthError> {
    let value = req.required(G::PARAM)?;
    let found = {
        let mut conn = ctx.context.store().read().await.map_err(server_error)?;
        G::find(&mut conn, &secrets::digest(value))
            .await
            .map_err(server_error)?
    };
    found
        .filter(|g| g.provider_id() == client.entry.provider.id)
        .ok_or_else(|| OAuthError::invalid_grant(G::UNKNOWN))
}

/// What a grant asks [`mint`] for, once every check passed.
pub(crate) struct Mint<'a> {
    pub(crate) client: &'a ClientEntry,
    pub(crate) user: &'a ClaimsUser,
    pub(crate) scopes: &'a [String],
    pub(crate) nonce: Option<&'a str>,
    pub(crate) auth_time: i64,
    pub(crate) session_id: Option<&'a str>,
    pub(crate) family_id: &'a str,
    pub(crate) with_refresh: bool,
    /// The user signed in with a password (`amr: ["pwd"]`); a service account did not.
    pub(crate) password: bool,
    /// See [`IssueRequest::id_token_at_hash`]; without it the client's signature memo is used.
    pub(crate) id_token_at_hash: bool,
}

/// What a redeemed grant carries into its tokens from the sign-in that granted it.
pub(crate) struct CarriedOver<'a> {
    pub(crate) nonce: Option<&'a str>,
    pub(crate) auth_time: i64,
    pub(crate) session_id: Option<&'a str>,
    pub(crate) family_id: &'a str,
}

impl<'a> Mint<'a> {
    /// Tokens redeemed from a grant a user gave at a password sign-in (an authorization code, a
    /// refresh token, an approved device code): nonce, auth time, session and family carry
    /// over, and the ID token gets its `at_hash`.
    pub(crate) fn redeemed(
        client: &'a ClientEntry,
        user: &'a ClaimsUser,
        scopes: &'a [String],
        with_refresh: bool,
        carried: CarriedOver<'a>,
    ) -> Self {
        Mint {
            client,
            user,
            scopes,
            nonce: carried.nonce,
            auth_time: carried.auth_time,
            session_id: carried.session_id,
            family_id: carried.family_id,
            with_refresh,
            password: true,
            id_token_at_hash: true,
        }
    }
}

/// Signs what a grant asked for (no I/O: the caller records it afterwards).
pub(crate) fn mint(ctx: &GrantContext<'_>, m: Mint<'_>) -> Result<Issued, OAuthError> {
    let entry = &m.client.entry;
    let issuer = issuer(ctx, entry)?;
    let mapped =
        claims::mapped_claims_reporting(entry, m.scopes, m.user, ctx.evaluator, Some(ctx.context));
    let password_amr;
    let amr: &[String] = if m.password {
        password_amr = ["pwd".to_string()];
        &password_amr
    } else {
        &[]
    };
    let request = IssueRequest {
        entry,
        issuer: &issuer,
        user_id: &m.user.user.id,
        subject: claims::subject(entry.provider.oauth2.sub_mode, &m.user.user),
        scopes: m.scopes,
        nonce: m.nonce,
        auth_time: m.auth_time,
        session_id: m.session_id,
        amr,
        mapped: &mapped,
        family_id: m.family_id,
        now: ctx.context.now(),
        with_refresh: m.with_refresh,
        id_token_at_hash: m.id_token_at_hash,
    };
    let issued = tokens::issue_with_memo(&request, Some(&m.client.signature_memo));
    if issued.is_err()
        && (entry.signing_key_error.is_some() || entry.provider.signing_key_id.is_none())
    {
        // A provider that cannot sign: say so where admins look, not only in the log.
        ctx.context.report_configuration_error(
            &format!("provider key {}", entry.provider.id),
            serde_json::json!({
                "message": entry.signing_key_error.clone().unwrap_or_else(|| {
                    "the provider has no signing key and its client secret is too short for HS256"
                        .into()
                }),
                "provider": { "pk": entry.provider.id, "name": entry.provider.name },
            }),
        );
    }
    issued
}

/// Records issued tokens inside the caller's write transaction (with the consumption of what
/// they were exchanged for).
pub(crate) async fn store_issued(
    tx: &mut store::WriteTx,
    issued: &Issued,
) -> Result<(), OAuthError> {
    store::grants::insert_access_token(tx.conn(), &issued.access_record)
        .await
        .map_err(server_error)?;
    if let Some((_, record)) = &issued.refresh {
        store::grants::insert_refresh_token(tx.conn(), record)
            .await
            .map_err(server_error)?;
    }
    tx.touch(Topic::Tokens);
    Ok(())
}

/// Mints and records the tokens of a grant that starts a new family on every request
/// (client_credentials, app passwords): no nonce, no browser session, no refresh token and no
/// `at_hash` (so identical claims within a second reuse the client's signature memo), recorded
/// through the group commit.
pub(crate) async fn issue_fresh(
    ctx: &GrantContext<'_>,
    client: &ClientEntry,
    user: &ClaimsUser,
    scopes: &[String],
    password: bool,
    now: i64,
) -> Result<Issued, OAuthError> {
    let family = new_id();
    let issued = mint(
        ctx,
        Mint {
            client,
            user,
            scopes,
            nonce: None,
            auth_time: now,
            session_id: None,
            family_id: &family,
            with_refresh: false,
            password,
            id_token_at_hash: false,
        },
    )?;
    record_alone(ctx, &issued).await?;
    Ok(issued)
}

/// Records tokens together with the consumption of what they were exchanged for, in one write
/// transaction. `false` (nothing recorded, the write lock released) when `consume` finds it
/// already consumed: someone else redeemed it first.
pub(crate) async fn record_consuming(
    ctx: &GrantContext<'_>,
    issued: &Issued,
    consume: impl AsyncFnOnce(&mut store::Conn) -> store::StoreResult<bool>,
) -> Result<bool, OAuthError> {
    let mut tx = ctx.context.store().write_tx().await.map_err(server_error)?;
    if !consume(tx.conn()).await.map_err(server_error)? {
        return Ok(false);
    }
    store_issued(&mut tx, issued).await?;
    tx.commit().await.map_err(server_error)?;
    Ok(true)
}

/// Records tokens that need no other row changed with them, through the group commit.
pub(crate) async fn record_alone(
    ctx: &GrantContext<'_>,
    issued: &Issued,
) -> Result<(), OAuthError> {
    ctx.context
        .store()
        .record_tokens(
            issued.access_record.clone(),
            issued.refresh.as_ref().map(|(_, r)| r.clone()),
        )
        .await
        .map_err(server_error)
}

/// Records a `suspicious_request` event (a failure to record is logged, not answered).
pub(crate) async fn suspicious(
    ctx: &GrantContext<'_>,
    req: &TokenRequest,
    what: &str,
    user_id: &str,
) {
    let subject = EventSubject {
        user_id: Some(user_id.to_string()),
        client_ip: req.client_ip.clone(),
        ..Default::default()
    };
    if let Err(e) = ctx
        .context
        .record_event("suspicious_request", subject, json!({ "reason": what }))
        .await
    {
        tracing::warn!(error = %e, "cannot record suspicious_request");
    }
}

/// What was replayed, for [`revoke_replayed_family`].
pub(crate) struct Replay<'a> {
    /// The grant family whose tokens are revoked.
    pub(crate) family_id: &'a str,
    /// Whose grant it was (for the event).
    pub(crate) user_id: &'a str,
    /// The event's reason.
    pub(crate) reason: &'a str,
    /// The `invalid_grant` description answered.
    pub(crate) answer: &'a str,
}

/// A single-use grant (code, refresh token, device code) presented again is a stolen-grant
/// signal: every token of its family is revoked (RFC 6749 §4.1.2, §10.4) and the attempt is
/// recorded as suspicious. Returns the error to answer with.
pub(crate) async fn revoke_replayed_family(
    ctx: &GrantContext<'_>,
    req: &TokenRequest,
    replay: Replay<'_>,
    now: i64,
) -> OAuthError {
    let revoked = async {
        let mut tx = ctx.context.store().write_tx().await?;
        store::grants::revoke_family(tx.conn(), replay.family_id, now).await?;
        tx.touch(Topic::Tokens);
        tx.commit().await
    };
    if let Err(e) = revoked.await {
        return server_error(e);
    }
    suspicious(ctx, req, replay.reason, replay.user_id).await;
    OAuthError::invalid_grant(replay.answer)
}

/// The application's policy bindings decide whether this user may get tokens (authentik evaluates
/// them for client_credentials too); an error in a policy denies.
pub(crate) async fn check_application_access(
    ctx: &GrantContext<'_>,
    entry: &ProviderEntry,
    user_id: &str,
    client_ip: &str,
) -> Result<(), OAuthError> {
    let Some(app) = &entry.application else {
        return Err(OAuthError::invalid_grant(
            "the provider is not attached to an application",
        ));
    };
    if !entry.application_has_bindings {
        // No bindings: everyone passes, nothing to load.
        return Ok(());
    }
    let env = crate::flows::Env::new(ctx.context, client_ip, Some(user_id.to_string()));
    let context = crate::flows::FlowContext::default();
    let req = crate::flows::policy::PolicyRequest::load(&env, Some(user_id), &context)
        .await
        .map_err(server_error)?;
    let result = crate::flows::policy::evaluate_target(&env, &app.id, app.policy_engine_mode, &req)
        .await
        .map_err(server_error)?;
    if result.passing {
        Ok(())
    } else {
        Err(OAuthError::invalid_grant(
            "access to this application was denied by its policies",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{APP, Fixture, PUBLIC_APP};
    use super::*;

    #[test]
    fn grant_types_parse_from_their_spelling_and_back() {
        for (grant, name) in GrantType::NAMES {
            assert_eq!(GrantType::parse(name), Some(grant));
            assert_eq!(grant.as_str(), name);
        }
        for name in ["implicit", "hybrid", "AUTHORIZATION_CODE", "", "token"] {
            assert_eq!(GrantType::parse(name), None, "{name:?}");
        }
    }

    #[test]
    fn repeated_parameters_are_refused() {
        let pairs = vec![("scope".into(), "a".into()), ("scope".into(), "b".into())];
        let err = TokenRequest::from_pairs(pairs, None, String::new()).expect_err("repeated");
        assert_eq!(err.code, "invalid_request");
    }

    #[tokio::test]
    async fn the_endpoint_refuses_before_any_grant_runs() {
        let fx = Fixture::new().await;
        type Params = &'static [(&'static str, &'static str)];
        let cases: &[(&str, Params, &str)] = &[
            ("no grant_type", &[], "invalid_request"),
            ("empty grant_type", &[("grant_type", "")], "invalid_request"),
            (
                "implicit is no token grant",
                &[("grant_type", "implicit")],
                "unsupported_grant_type",
            ),
            (
                "unknown grant",
                &[("grant_type", "magic")],
                "unsupported_grant_type",
            ),
        ];
        for (case, params, code) in cases {
            let err = fx.token(APP, params).await.expect_err(case);
            assert_eq!(err.code, *code, "{case}");
        }
    }

    #[tokio::test]
    async fn client_authentication_is_checked_once_for_every_grant() {
        let fx = Fixture::new().await;
        let grant = [("grant_type", "client_credentials")];
        let wrong = fx.token_as(Some(("app", "wrong")), &grant).await;
        assert_eq!(wrong.expect_err("wrong secret").code, "invalid_client");
        let unknown = fx.token_as(Some(("nobody", "x")), &grant).await;
        assert_eq!(unknown.expect_err("unknown").code, "invalid_client");
        let anonymous = fx.token_as(None, &grant).await;
        assert_eq!(anonymous.expect_err("none").code, "invalid_client");
        let secret_from_public = fx.token_as(Some((PUBLIC_APP.client_id, "s")), &grant).await;
        assert_eq!(
            secret_from_public.expect_err("public with secret").code,
            "invalid_client"
        );
    }

    #[tokio::test]
    async fn a_grant_the_client_may_not_use_is_unauthorized_client() {
        let fx = Fixture::new().await;
        fx.set_grant_types("app", &["authorization_code"]).await;
        let err = fx
            .token(APP, &[("grant_type", "client_credentials")])
            .await
            .expect_err("not allowed");
        assert_eq!(err.code, "unauthorized_client");
        let snapshot = fx.snapshot().await;
        let req = fx.request(APP, &[]);
        let allowed = authenticate_client(&snapshot, &req, GrantType::AuthorizationCode);
        assert!(allowed.is_ok());
        let refused = authenticate_client(&snapshot, &req, GrantType::DeviceCode);
        assert_eq!(refused.expect_err("device").code, "unauthorized_client");
    }

    #[test]
    fn granted_scopes_are_the_request_within_the_mappings() {
        let entry = testing::entry_with_scopes(&["openid", "email", "profile"]);
        for (requested, want) in [
            (None, vec!["email", "openid", "profile"]),
            (Some(""), vec!["email", "openid", "profile"]),
            (Some("openid email"), vec!["openid", "email"]),
            (Some("openid admin"), vec!["openid"]),
            (Some("admin"), vec![]),
        ] {
            assert_eq!(granted_scopes(&entry, requested), want, "{requested:?}");
        }
    }
}
