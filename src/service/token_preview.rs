//! authentik's "Example JWT payload": the claims an OAuth2 provider would put in the ID token
//! and the access token for a user and scopes now, and its userinfo answer. The claims are
//! composed by the same functions the token endpoint uses (`oauth::claims`); nothing is signed
//! and nothing is stored.

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{Service, ServiceError, ServiceResult};
use crate::oauth::claims::{self, ClaimsUser, IdTokenInput};
use crate::oauth::discovery;
use crate::oauth::lifetimes::validity;
use crate::oauth::scope_expr::ExpressionScopes;
use crate::oauth::snapshot::Snapshot;
use crate::store;

/// What to preview.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TokenPreviewInput {
    /// The OAuth2 provider, by id.
    pub provider_id: String,
    /// The user, by id.
    pub user_id: String,
    /// The scopes granted.
    pub scopes: Vec<String>,
}

/// The claims the provider would issue.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TokenPreview {
    /// The ID token's claims.
    pub id_token: Value,
    /// The access token's claims (`uid` is random per token: shown as a placeholder).
    pub access_token: Value,
    /// What `/application/o/userinfo/` would answer (`Null` without the `openid` scope).
    pub userinfo: Value,
}

impl Service {
    /// The ID token claims, access token claims and userinfo answer the provider would issue
    /// now for the user and scopes (authorization code grant, password login); nothing signed,
    /// nothing stored.
    pub async fn preview_tokens(&self, input: &TokenPreviewInput) -> ServiceResult<TokenPreview> {
        let snapshot = Snapshot::load(self.context()).await?;
        let entry = snapshot
            .by_provider_id(&input.provider_id)
            .ok_or_else(|| ServiceError::NotFound(format!("provider {}", input.provider_id)))?;
        let issuer = discovery::issuer(&self.config().public_url, entry).ok_or_else(|| {
            ServiceError::Refused("the provider is not attached to an application".into())
        })?;
        let user = {
            let mut conn = self.store().read().await?;
            let user = store::users::get(&mut conn, &input.user_id)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("user {}", input.user_id)))?;
            let groups = store::groups::of_user(&mut conn, &input.user_id).await?;
            ClaimsUser::new(user, groups)
        };
        let evaluator = ExpressionScopes::default();
        let mapped = claims::mapped_claims(entry, &input.scopes, &user, &evaluator);
        let settings = &entry.provider.oauth2;
        let now = self.now();
        let amr = ["pwd".to_string()];
        let base = IdTokenInput {
            issuer: &issuer,
            client_id: &entry.provider.client_id,
            subject: claims::subject(settings.sub_mode, &user.user),
            now,
            expires_at: now + validity(&settings.access_token_validity, 3600),
            auth_time: now,
            nonce: None,
            session_id: None,
            amr: &amr,
            at_hash: None,
            c_hash: None,
            extra: Some(&mapped),
        };
        let access = claims::access_token_claims(&base, "(random per token)", &input.scopes);
        let id = claims::id_token_claims(&IdTokenInput {
            extra: settings.include_claims_in_id_token.then_some(&mapped),
            ..base.clone()
        });
        let userinfo = if input.scopes.iter().any(|s| s == "openid") {
            let mut body = Map::new();
            body.insert("sub".into(), json!(base.subject));
            body.extend(mapped.clone());
            Value::Object(body)
        } else {
            Value::Null
        };
        Ok(TokenPreview {
            id_token: Value::Object(id),
            access_token: Value::Object(access),
            userinfo,
        })
    }
}
