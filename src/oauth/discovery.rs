//! OpenID Connect Discovery 1.0 / RFC 8414 documents, advertising exactly what latchkey serves.

use serde_json::{Value, json};

use super::ProviderEntry;
use crate::crypto::jwk;
use crate::domain::IssuerMode;

/// The issuer of a provider: per application (authentik's default) or global.
pub fn issuer(public_url: &str, entry: &ProviderEntry) -> Option<String> {
    let app = entry.application.as_ref()?;
    Some(match entry.provider.oauth2.issuer_mode {
        IssuerMode::PerProvider => format!("{public_url}/application/o/{}/", app.slug),
        IssuerMode::Global => format!("{public_url}/"),
    })
}

/// The signing algorithm a provider's tokens carry.
pub fn signing_algorithm(entry: &ProviderEntry) -> &'static str {
    entry
        .signing_key
        .as_ref()
        .map(|k| k.algorithm_name())
        .unwrap_or("HS256")
}

/// The provider's JWKS: its published signing keys, and its encryption key when it has one
/// (authentik publishes that one too, so clients can encrypt to it).
pub fn jwks_document(entry: &ProviderEntry) -> Value {
    let mut doc = jwk::jwks(&entry.published_keys());
    if let (Some(enc), Some(list)) = (&entry.encryption_key, doc["keys"].as_array_mut()) {
        list.push(enc.public_jwk.clone());
    }
    doc
}

/// The discovery document for a provider with an application.
pub fn document(public_url: &str, entry: &ProviderEntry) -> Option<Value> {
    let app = entry.application.as_ref()?;
    let issuer = issuer(public_url, entry)?;
    let base = format!("{public_url}/application/o");
    let mut scopes: Vec<String> = entry
        .scope_mappings
        .iter()
        .map(|m| m.scope_name.clone())
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".into());
    }
    scopes.dedup();
    let grants = &entry.provider.oauth2.grant_types;
    let mut grant_types: Vec<&str> = grants
        .iter()
        .map(String::as_str)
        .filter(|g| !matches!(*g, "hybrid"))
        .collect();
    grant_types.dedup();
    let mut response_types = Vec::new();
    if grants.iter().any(|g| g == "authorization_code") {
        response_types.push("code");
    }
    if grants.iter().any(|g| g == "implicit") {
        response_types.extend(["id_token", "id_token token"]);
    }
    if grants.iter().any(|g| g == "hybrid") {
        response_types.extend(["code token", "code id_token", "code id_token token"]);
    }
    let mut pkce = vec!["S256"];
    if entry.provider.oauth2.allow_plain_pkce {
        pkce.push("plain");
    }
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/authorize/"),
        "token_endpoint": format!("{base}/token/"),
        "userinfo_endpoint": format!("{base}/userinfo/"),
        "end_session_endpoint": format!("{base}/{}/end-session/", app.slug),
        "introspection_endpoint": format!("{base}/introspect/"),
        "revocation_endpoint": format!("{base}/revoke/"),
        "device_authorization_endpoint": format!("{base}/device/"),
        "jwks_uri": format!("{base}/{}/jwks/", app.slug),
        "response_types_supported": response_types,
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": grant_types,
        "id_token_signing_alg_values_supported": [signing_algorithm(entry)],
        "subject_types_supported": ["public"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "acr_values_supported": ["goauthentik.io/providers/oauth2/default"],
        "scopes_supported": scopes,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "sid",
            "email", "email_verified", "name", "given_name", "preferred_username", "nickname",
            "groups"
        ],
        "code_challenge_methods_supported": pkce,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": true,
        "frontchannel_logout_session_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    });
    if let (Some(_), Some(obj)) = (&entry.encryption_key, doc.as_object_mut()) {
        obj.insert(
            "id_token_encryption_alg_values_supported".into(),
            json!([crate::crypto::jwe::ALG]),
        );
        obj.insert(
            "id_token_encryption_enc_values_supported".into(),
            json!([crate::crypto::jwe::ENC]),
        );
    }
    Some(doc)
}
