//! What the grant tests share: an in-memory store with three clients (confidential `app`,
//! public `cli`, confidential `other`, each with an application), the default scope names, a
//! user `alice`, and a [`ManualClock`] the tests move instead of sleeping. `app` signs HS256 with
//! its secret (deterministic); `cli` and `other` sign with an ECDSA P-256 key (quick to
//! generate, unlike RSA; a fresh signature differs every time, so a reused one shows).

use std::sync::Arc;

use serde_json::Value;

use super::{GrantContext, TokenRequest};
use crate::context::{Config, Context, ManualClock};
use crate::crypto::{keys, secrets};
use crate::domain::{
    ALL_GRANT_TYPES, Application, CertificateKeypair, ClientType, OAuth2Settings, Provider,
    ScopeMapping, User, new_id,
};
use crate::oauth::claims::ScopeEvaluator;
use crate::oauth::errors::OAuthError;
use crate::oauth::snapshot::{ProviderEntry, Snapshot};
use crate::store::{self, Store, StoreLocation, Topic, device_codes, grants::AuthorizationCode};

/// The clock's start.
pub const T0: i64 = 1_700_000_000;
/// The redirect URI codes are issued for.
pub const REDIRECT: &str = "https://app.test/callback";
/// The scopes every provider maps.
const SCOPES: [&str; 4] = ["openid", "email", "profile", "offline_access"];

/// Who calls the token endpoint: a client id, and its secret for a confidential client.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub client_id: &'static str,
    pub secret: Option<&'static str>,
}

/// The confidential client.
pub const APP: Caller = Caller {
    client_id: "app",
    secret: Some("app-client-secret-long-enough-for-hs256"),
};
/// The public client.
pub const PUBLIC_APP: Caller = Caller {
    client_id: "cli",
    secret: None,
};
/// Another confidential client, whose codes and tokens `APP` must not redeem.
pub const OTHER_APP: Caller = Caller {
    client_id: "other",
    secret: Some("other-client-secret-long-enough-for-hs256"),
};

/// Scope mappings that return no claims (the expressions are not what grants test).
struct NoClaims;

impl ScopeEvaluator for NoClaims {
    fn evaluate(
        &self,
        _: &ScopeMapping,
        _: &crate::oauth::claims::ClaimsUser,
        _: &ProviderEntry,
        _: &[String],
    ) -> Result<serde_json::Map<String, Value>, String> {
        Ok(serde_json::Map::new())
    }
}

/// An authorization code to store: whose, for which scopes, with which PKCE challenge.
#[derive(Debug, Clone, Copy)]
pub struct CodeSpec {
    pub client: Caller,
    pub scope: &'static str,
    /// `(challenge, method)`.
    pub challenge: Option<(&'static str, &'static str)>,
}

impl Default for CodeSpec {
    fn default() -> Self {
        Self {
            client: APP,
            scope: "openid",
            challenge: None,
        }
    }
}

/// A device authorization as the device received it.
#[derive(Debug, Clone)]
pub struct DeviceStart {
    pub device_code: String,
    /// Canonical form.
    pub user_code: String,
}

/// The store, clock and context the grant tests run against.
pub struct Fixture {
    pub ctx: Context,
    pub clock: Arc<ManualClock>,
    alice: User,
}

/// A provider named (and with the client id) `name`, mapping every scope in `mapping_ids`.
fn provider(caller: Caller, mapping_ids: Vec<String>) -> Provider {
    Provider {
        id: new_id(),
        name: caller.client_id.into(),
        client_id: caller.client_id.into(),
        authorization_flow_id: None,
        authentication_flow_id: None,
        invalidation_flow_id: None,
        signing_key_id: None,
        encryption_key_id: None,
        scope_mapping_ids: mapping_ids,
        oauth2: OAuth2Settings {
            client_type: match caller.secret {
                Some(_) => ClientType::Confidential,
                None => ClientType::Public,
            },
            client_secret: caller.secret.unwrap_or_default().into(),
            grant_types: ALL_GRANT_TYPES.iter().map(|g| g.to_string()).collect(),
            ..OAuth2Settings::default()
        },
        created_at: T0,
        updated_at: T0,
        version: 1,
    }
}

fn mapping(scope: &str) -> ScopeMapping {
    ScopeMapping {
        id: new_id(),
        name: format!("scope {scope}"),
        managed: None,
        scope_name: scope.into(),
        description: String::new(),
        expression: "return {}".into(),
        created_at: T0,
        updated_at: T0,
        version: 1,
    }
}

/// The signing key of `cli` and `other`.
fn ecdsa_key() -> CertificateKeypair {
    let pair = keys::generate_self_signed("cli", &[], 30, keys::KeyAlgorithm::EcdsaP256)
        .expect("generate");
    keys::keypair_from_pem(
        &new_id(),
        "cli signing key",
        &pair.certificate_pem,
        Some(&pair.key_pem),
        None,
    )
    .expect("keypair")
}

fn application(p: &Provider) -> Application {
    Application {
        id: new_id(),
        name: format!("{} application", p.name),
        slug: p.name.clone(),
        provider_id: Some(p.id.clone()),
        created_at: T0,
        updated_at: T0,
        version: 1,
        ..Application::default()
    }
}

fn person(username: &str) -> User {
    User::new_internal(username, username, &format!("{username}@example.test"), T0)
}

/// A snapshot entry for a provider mapping `scopes`, for tests of the pure scope rules.
pub fn entry_with_scopes(scopes: &[&str]) -> ProviderEntry {
    let mappings: Vec<ScopeMapping> = scopes.iter().map(|s| mapping(s)).collect();
    ProviderEntry {
        provider: provider(APP, mappings.iter().map(|m| m.id.clone()).collect()),
        application: None,
        signing_key: None,
        signing_key_error: None,
        encryption_key: None,
        encryption_key_error: None,
        scope_mappings: mappings,
        retired_keys: Vec::new(),
        application_has_bindings: false,
        service_account: None,
    }
}

impl Fixture {
    /// A fresh in-memory store with the three clients and alice, the clock at [`T0`].
    pub async fn new() -> Self {
        let store = Store::open(&StoreLocation::Memory).await.expect("store");
        let clock = Arc::new(ManualClock::new(T0));
        let ctx = Context::new(store, Config::new("https://idp.test"), clock.clone());
        let alice = person("alice");
        let mappings: Vec<ScopeMapping> = SCOPES.iter().map(|s| mapping(s)).collect();
        let ids: Vec<String> = mappings.iter().map(|m| m.id.clone()).collect();
        let key = ecdsa_key();
        let mut tx = ctx.store().write_tx().await.expect("tx");
        store::certificates::insert(tx.conn(), &key)
            .await
            .expect("key");
        for m in &mappings {
            store::scope_mappings::insert(tx.conn(), m)
                .await
                .expect("mapping");
        }
        for caller in [APP, PUBLIC_APP, OTHER_APP] {
            let mut p = provider(caller, ids.clone());
            if caller.client_id != APP.client_id {
                p.signing_key_id = Some(key.id.clone());
            }
            store::providers::insert(tx.conn(), &p)
                .await
                .expect("provider");
            store::applications::insert(tx.conn(), &application(&p))
                .await
                .expect("application");
        }
        store::users::insert(tx.conn(), &alice, None)
            .await
            .expect("alice");
        tx.touch(Topic::Providers);
        tx.commit().await.expect("commit");
        Self { ctx, clock, alice }
    }

    /// The configuration as the token endpoint reads it now.
    pub async fn snapshot(&self) -> Snapshot {
        Snapshot::load(&self.ctx).await.expect("snapshot")
    }

    /// A token request from `caller` (credentials in the body) with `params`.
    pub fn request(&self, caller: Caller, params: &[(&str, &str)]) -> TokenRequest {
        let creds = caller.secret.map(|s| (caller.client_id, s));
        let mut pairs = params.to_vec();
        match creds {
            Some((id, secret)) => pairs.extend([("client_id", id), ("client_secret", secret)]),
            None => pairs.push(("client_id", caller.client_id)),
        }
        raw_request(&pairs)
    }

    /// `POST /token` from `caller` on a fresh snapshot.
    pub async fn token(
        &self,
        caller: Caller,
        params: &[(&str, &str)],
    ) -> Result<Value, OAuthError> {
        let snapshot = self.snapshot().await;
        self.token_in(&snapshot, caller, params).await
    }

    /// `POST /token` from `caller` on `snapshot` (as requests between two changes share one).
    pub async fn token_in(
        &self,
        snapshot: &Snapshot,
        caller: Caller,
        params: &[(&str, &str)],
    ) -> Result<Value, OAuthError> {
        let req = self.request(caller, params);
        super::token(&self.grant_context(snapshot), &req)
            .await
            .map(as_json)
    }

    /// `POST /token` with exactly these body credentials (`(client_id, client_secret)`) or none.
    pub async fn token_as(
        &self,
        creds: Option<(&str, &str)>,
        params: &[(&str, &str)],
    ) -> Result<Value, OAuthError> {
        let mut pairs = params.to_vec();
        if let Some((id, secret)) = creds {
            pairs.extend([("client_id", id), ("client_secret", secret)]);
        }
        let snapshot = self.snapshot().await;
        super::token(&self.grant_context(&snapshot), &raw_request(&pairs))
            .await
            .map(as_json)
    }

    fn grant_context<'a>(&'a self, snapshot: &'a Snapshot) -> GrantContext<'a> {
        GrantContext {
            context: &self.ctx,
            snapshot,
            evaluator: &NoClaims,
        }
    }

    /// The provider named `name`.
    pub async fn provider(&self, name: &str) -> Provider {
        let mut conn = self.ctx.store().read().await.expect("conn");
        store::providers::get_by_name(&mut conn, name)
            .await
            .expect("read")
            .expect("provider")
    }

    async fn update_provider(&self, name: &str, change: impl FnOnce(&mut Provider)) {
        let mut p = self.provider(name).await;
        change(&mut p);
        let mut tx = self.ctx.store().write_tx().await.expect("tx");
        store::providers::update(tx.conn(), &p)
            .await
            .expect("update");
        tx.touch(Topic::Providers);
        tx.commit().await.expect("commit");
    }

    /// Restricts the grants client `name` may use.
    pub async fn set_grant_types(&self, name: &str, grants: &[&str]) {
        self.update_provider(name, |p| {
            p.oauth2.grant_types = grants.iter().map(|g| g.to_string()).collect();
        })
        .await;
    }

    /// Sets client `name`'s `refresh_token_threshold` (an authentik duration).
    pub async fn set_refresh_token_threshold(&self, name: &str, threshold: &str) {
        self.update_provider(name, |p| {
            p.oauth2.refresh_token_threshold = threshold.into()
        })
        .await;
    }

    /// Changes client `name`'s secret (its HS256 key).
    pub async fn set_client_secret(&self, name: &str, secret: &str) {
        self.update_provider(name, |p| p.oauth2.client_secret = secret.into())
            .await;
    }

    /// The user `username`, if there is one.
    pub async fn user(&self, username: &str) -> Option<User> {
        let mut conn = self.ctx.store().read().await.expect("conn");
        store::users::get_by_username(&mut conn, username)
            .await
            .expect("read")
    }

    /// How many users exist.
    pub async fn count_users(&self) -> i64 {
        let mut conn = self.ctx.store().read().await.expect("conn");
        store::users::count(&mut conn).await.expect("count")
    }

    /// Activates or deactivates `username`.
    pub async fn set_active(&self, username: &str, active: bool) {
        let mut user = self.user(username).await.expect("user");
        user.is_active = active;
        let mut tx = self.ctx.store().write_tx().await.expect("tx");
        store::users::update(tx.conn(), &user)
            .await
            .expect("update");
        tx.touch(Topic::Users);
        tx.commit().await.expect("commit");
    }

    /// Deactivates alice.
    pub async fn deactivate_alice(&self) {
        self.set_active("alice", false).await;
    }

    /// Stores an authorization code for alice and returns the code itself.
    pub async fn insert_code(&self, spec: &CodeSpec) -> String {
        let provider = self.provider(spec.client.client_id).await;
        let code = secrets::random_token(32);
        let now = self.ctx.now();
        let record = AuthorizationCode {
            id: new_id(),
            code_digest: secrets::digest(&code),
            provider_id: provider.id,
            user_id: self.alice.id.clone(),
            session_id: None,
            redirect_uri: REDIRECT.into(),
            scope: spec.scope.into(),
            nonce: None,
            code_challenge: spec.challenge.map(|c| c.0.to_string()),
            code_challenge_method: spec.challenge.map(|c| c.1.to_string()),
            auth_time: now,
            expires_at: now + 60,
            consumed_at: None,
            created_at: now,
        };
        let mut tx = self.ctx.store().write_tx().await.expect("tx");
        store::grants::insert_code(tx.conn(), &record)
            .await
            .expect("code");
        tx.commit().await.expect("commit");
        code
    }

    /// Stores a code for `spec` and redeems it at once: the token response.
    pub async fn exchange_code(&self, spec: &CodeSpec) -> Value {
        let code = self.insert_code(spec).await;
        let params = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
        ];
        self.token(spec.client, &params)
            .await
            .expect("code exchange")
    }

    /// True when the response's access token is recorded and not revoked.
    pub async fn access_token_active(&self, response: &Value) -> bool {
        let token = response["access_token"].as_str().expect("access_token");
        let mut conn = self.ctx.store().read().await.expect("conn");
        store::grants::find_access_token(&mut conn, &secrets::digest(token))
            .await
            .expect("read")
            .is_some_and(|t| t.revoked_at.is_none())
    }

    /// How many events of `action` were recorded.
    pub async fn events(&self, action: &str) -> usize {
        let mut conn = self.ctx.store().read().await.expect("conn");
        store::events::recent(&mut conn, 1000)
            .await
            .expect("events")
            .iter()
            .filter(|e| e.action == action)
            .count()
    }

    async fn add_token(&self, username: &str, key: &str, intent: &str, expires_at: Option<i64>) {
        let user = self.user(username).await.expect("user");
        let token = store::tokens::Token {
            id: new_id(),
            identifier: new_id(),
            key_digest: secrets::digest(key),
            intent: intent.into(),
            user_id: user.id,
            description: String::new(),
            expires_at,
            created_at: self.ctx.now(),
        };
        let mut tx = self.ctx.store().write_tx().await.expect("tx");
        store::tokens::insert(tx.conn(), &token)
            .await
            .expect("token");
        tx.commit().await.expect("commit");
    }

    /// Gives `username` an app password, expiring at `expires_at` when set.
    pub async fn add_app_password(&self, username: &str, password: &str, expires_at: Option<i64>) {
        let intent = store::tokens::INTENT_APP_PASSWORD;
        self.add_token(username, password, intent, expires_at).await;
    }

    /// Gives `username` an API token (not an app password).
    pub async fn add_login_token(&self, username: &str, key: &str) {
        self.add_token(username, key, "api", None).await;
    }

    /// The device authorization endpoint, called by `caller`.
    pub async fn start_device(&self, caller: Caller) -> DeviceStart {
        let snapshot = self.snapshot().await;
        let req = self.request(caller, &[]);
        let body = crate::oauth::device::authorize(&self.grant_context(&snapshot), &req)
            .await
            .expect("device authorization");
        let shown = body["user_code"].as_str().expect("user_code");
        DeviceStart {
            device_code: body["device_code"].as_str().expect("device_code").into(),
            user_code: crate::oauth::device::normalize_user_code(shown).expect("user code"),
        }
    }

    /// Alice approves the device at `/device`.
    pub async fn approve_device(&self, start: &DeviceStart) {
        let now = self.ctx.now();
        let mut tx = self.ctx.store().write_tx().await.expect("tx");
        let approved =
            device_codes::approve(tx.conn(), &start.user_code, &self.alice.id, "sid", now)
                .await
                .expect("approve");
        tx.commit().await.expect("commit");
        assert!(approved, "the code was pending");
    }

    /// Alice denies the device at `/device`.
    pub async fn deny_device(&self, start: &DeviceStart) {
        let now = self.ctx.now();
        let mut tx = self.ctx.store().write_tx().await.expect("tx");
        let denied = device_codes::deny(tx.conn(), &start.user_code, now)
            .await
            .expect("deny");
        tx.commit().await.expect("commit");
        assert!(denied, "the code was pending");
    }

    /// One poll of the token endpoint with the device code.
    pub async fn poll_device(
        &self,
        caller: Caller,
        start: &DeviceStart,
    ) -> Result<Value, OAuthError> {
        let params = [
            ("grant_type", super::DEVICE_CODE_GRANT),
            ("device_code", start.device_code.as_str()),
        ];
        self.token(caller, &params).await
    }
}

fn raw_request(pairs: &[(&str, &str)]) -> TokenRequest {
    let pairs = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    TokenRequest::from_pairs(pairs, None, "192.0.2.1".into()).expect("no repeated parameter")
}

/// A token response as the client reads it.
fn as_json(response: crate::oauth::tokens::TokenResponse) -> Value {
    serde_json::to_value(response).expect("a token response is JSON")
}
