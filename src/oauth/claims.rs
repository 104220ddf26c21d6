//! ID token and access token claims (OpenID Connect Core §2, §3.1.3.6; authentik's token layout):
//! `sub` per the provider's subject mode, the standard claims, and the claims the provider's scope
//! mappings return for the granted scopes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::snapshot::ProviderEntry;
use crate::crypto::secrets;
use crate::domain::{Group, ScopeMapping, SubMode, User};

/// authentik's constant `acr`.
pub const ACR: &str = "goauthentik.io/providers/oauth2/default";

/// Runs a scope mapping for a user; implemented by the expression engine (and natively for
/// the managed defaults).
pub trait ScopeEvaluator: Send + Sync {
    /// The claims the mapping produces for `user` on `entry`'s provider with the granted
    /// `scopes`, or why it failed.
    fn evaluate(
        &self,
        mapping: &ScopeMapping,
        user: &ClaimsUser,
        entry: &ProviderEntry,
        scopes: &[String],
    ) -> Result<Map<String, Value>, String>;
}

/// The user as scope mappings and claims see them.
#[derive(Debug, Clone)]
pub struct ClaimsUser {
    pub user: User,
    /// The names of the user's groups.
    pub groups: Vec<String>,
    /// The same groups with their attributes, for Python mappings (`user.ak_groups`,
    /// `user.group_attributes()`).
    pub group_records: Vec<Group>,
}

impl ClaimsUser {
    /// A user and its direct groups.
    pub fn new(user: User, groups: Vec<Group>) -> Self {
        Self {
            user,
            groups: groups.iter().map(|g| g.name.clone()).collect(),
            group_records: groups,
        }
    }
}

/// The `sub` claim for this user under the provider's subject mode.
pub fn subject(mode: SubMode, user: &User) -> String {
    let hashed = || secrets::hex(&Sha256::digest(format!("latchkey:{}", user.id).as_bytes()));
    match mode {
        SubMode::HashedUserId => hashed(),
        SubMode::UserId | SubMode::UserUuid => user.id.clone(),
        SubMode::UserUsername => user.username.clone(),
        SubMode::UserEmail => user.email.clone(),
        SubMode::UserUpn => user
            .attributes
            .get("upn")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(hashed),
    }
}

/// `at_hash` / `c_hash`: the left half of SHA-256 of the value, base64url without padding.
pub fn half_hash(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// Merges the claims of every mapping whose scope was granted, in scope-name order; a mapping
/// that fails or returns something other than a dict is skipped (and logged without user
/// data).
pub fn mapped_claims(
    entry: &ProviderEntry,
    scopes: &[String],
    user: &ClaimsUser,
    evaluator: &dyn ScopeEvaluator,
) -> Map<String, Value> {
    mapped_claims_reporting(entry, scopes, user, evaluator, None)
}

/// [`mapped_claims`], recording a failing mapping as `configuration_error` through `ctx`
/// (the mapping and provider named, the message, never the user's data).
pub fn mapped_claims_reporting(
    entry: &ProviderEntry,
    scopes: &[String],
    user: &ClaimsUser,
    evaluator: &dyn ScopeEvaluator,
    ctx: Option<&crate::context::Context>,
) -> Map<String, Value> {
    let mut mappings: Vec<&ScopeMapping> = entry
        .scope_mappings
        .iter()
        .filter(|m| scopes.iter().any(|s| s == &m.scope_name))
        .collect();
    mappings.sort_by(|a, b| a.scope_name.cmp(&b.scope_name));
    let mut out = Map::new();
    for mapping in mappings {
        match evaluator.evaluate(mapping, user, entry, scopes) {
            Ok(claims) => deep_merge(&mut out, claims),
            Err(err) => {
                tracing::warn!(mapping = %mapping.name, %err, "scope mapping failed");
                if let Some(ctx) = ctx {
                    ctx.report_configuration_error(
                        &format!("scope mapping {}", mapping.id),
                        serde_json::json!({
                            "message": format!("scope mapping '{}' failed: {err}", mapping.name),
                            "mapping": { "pk": mapping.id, "name": mapping.name },
                            "provider": entry.provider.name,
                        }),
                    );
                }
            }
        }
    }
    out
}

fn deep_merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(Value::Object(a)), Value::Object(b)) => deep_merge(a, b),
            (Some(Value::Array(a)), Value::Array(b)) => a.extend(b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

/// Everything an ID token says, before signing.
#[derive(Debug, Clone)]
pub struct IdTokenInput<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub subject: String,
    pub now: i64,
    pub expires_at: i64,
    pub auth_time: i64,
    pub nonce: Option<&'a str>,
    pub session_id: Option<&'a str>,
    pub amr: &'a [String],
    pub at_hash: Option<String>,
    pub c_hash: Option<String>,
    pub extra: Option<&'a Map<String, Value>>,
}

/// The access token's claims: the ID token's base claims plus `azp`, the token's `uid` and its
/// `scope`, as authentik's JWT access tokens carry them. The token endpoint signs these; the
/// console's token preview shows them.
pub fn access_token_claims(
    base: &IdTokenInput<'_>,
    uid: &str,
    scopes: &[String],
) -> Map<String, Value> {
    let mut claims = id_token_claims(base);
    claims.insert("azp".into(), json!(base.client_id));
    claims.insert("uid".into(), json!(uid));
    claims.insert("scope".into(), json!(scopes.join(" ")));
    claims
}

/// The ID token claims. Mapped claims come first so a mapping may override `sub` (as in
/// authentik), but never the protocol claims `iss`, `aud`, `exp`, `iat`, `nonce`.
pub fn id_token_claims(input: &IdTokenInput<'_>) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(input.subject));
    if let Some(extra) = input.extra {
        for (k, v) in extra {
            claims.insert(k.clone(), v.clone());
        }
    }
    claims.insert("iss".into(), json!(input.issuer));
    claims.insert("aud".into(), json!(input.client_id));
    claims.insert("exp".into(), json!(input.expires_at));
    claims.insert("iat".into(), json!(input.now));
    claims.insert("auth_time".into(), json!(input.auth_time));
    claims.insert("acr".into(), json!(ACR));
    if !input.amr.is_empty() {
        claims.insert("amr".into(), json!(input.amr));
    }
    match input.nonce {
        Some(n) => {
            claims.insert("nonce".into(), json!(n));
        }
        None => {
            claims.remove("nonce");
        }
    }
    if let Some(sid) = input.session_id {
        claims.insert("sid".into(), json!(sid));
    }
    if let Some(h) = &input.at_hash {
        claims.insert("at_hash".into(), json!(h));
    }
    if let Some(h) = &input.c_hash {
        claims.insert("c_hash".into(), json!(h));
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_hash_matches_the_oidc_example() {
        // OpenID Connect Core, Appendix A.3 (at_hash of the example access token).
        assert_eq!(
            half_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn protocol_claims_cannot_be_overridden_by_mappings() {
        let mut extra = Map::new();
        extra.insert("sub".into(), json!("custom"));
        extra.insert("iss".into(), json!("https://evil"));
        extra.insert("email".into(), json!("a@b"));
        let claims = id_token_claims(&IdTokenInput {
            issuer: "https://idp/application/o/app/",
            client_id: "cid",
            subject: "s".into(),
            now: 10,
            expires_at: 20,
            auth_time: 5,
            nonce: Some("n"),
            session_id: None,
            amr: &["pwd".to_string()],
            at_hash: None,
            c_hash: None,
            extra: Some(&extra),
        });
        assert_eq!(claims["sub"], "custom");
        assert_eq!(claims["iss"], "https://idp/application/o/app/");
        assert_eq!(claims["email"], "a@b");
        assert_eq!(claims["nonce"], "n");
        assert_eq!(claims["acr"], ACR);
    }
}
