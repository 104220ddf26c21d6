//! Signing keys: rotation keeps old keys published for the token lifetime; ES256 keys sign.

use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use latchkey::context::Config;
use latchkey::context::ManualClock;
use latchkey::crypto::keys::KeyAlgorithm;
use latchkey::oauth::Snapshot;
use latchkey::service::Service;
use latchkey::store::{self};
use serde_json::Value;

use crate::server::{add_keypair, client_credentials, create_oidc_app, save_provider, verify_jwt};
use crate::support::{TestServer, client, spawn_server};

async fn switch_key(s: &TestServer, slug: &str, key_id: &str) {
    let mut conn = s.service.store().read().await.expect("conn");
    let app = store::applications::get_by_slug(&mut conn, slug)
        .await
        .expect("app")
        .expect("exists");
    let mut p = store::providers::get(&mut conn, app.provider_id.as_deref().expect("provider"))
        .await
        .expect("get")
        .expect("exists");
    drop(conn);
    p.signing_key_id = Some(key_id.to_string());
    save_provider(s, &mut p).await;
}

async fn jwks(s: &TestServer, slug: &str) -> JwkSet {
    client()
        .get(format!("{}/application/o/{slug}/jwks/", s.base_url))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn rotation_keeps_the_old_key_published_for_the_token_lifetime() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let before = jwks(&s, "app").await;
    assert_eq!(before.keys.len(), 1);
    let old_kid = before.keys[0].common.key_id.clone().expect("kid");
    // A token issued before the rotation…
    let (_, _, body) = {
        let res = client()
            .post(format!("{}/application/o/token/", s.base_url))
            .basic_auth(&p.client_id, Some(&p.oauth2.client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token");
        (res.status(), (), res.json::<Value>().await.expect("json"))
    };
    let old_token = body["access_token"].as_str().expect("at").to_string();

    let new_key = add_keypair(&s, "rotated", KeyAlgorithm::EcdsaP256).await.0;
    switch_key(&s, "app", &new_key).await;
    let after = jwks(&s, "app").await;
    let kids: Vec<String> = after
        .keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .collect();
    assert_eq!(kids.len(), 2, "{kids:?}");
    assert!(kids.contains(&old_kid), "the old key stays published");
    // …still verifies against the published set.
    let header = jsonwebtoken::decode_header(&old_token).expect("header");
    let jwk = after
        .find(header.kid.as_deref().expect("kid"))
        .expect("kid published");
    let mut v = Validation::new(Algorithm::RS256);
    v.validate_aud = false;
    jsonwebtoken::decode::<Value>(&old_token, &DecodingKey::from_jwk(jwk).expect("key"), &v)
        .expect("old token verifies");

    // Once the longest token lifetime (1 h) has passed, the old key is dropped.
    let later = Service::new(
        s.service.store().clone(),
        Config::new(&s.base_url),
        Arc::new(ManualClock::new(s.service.now() + 3601)),
    );
    let snapshot = Snapshot::load(later.context()).await.expect("snapshot");
    let entry = snapshot.by_application_slug("app").expect("entry");
    let published: Vec<&str> = entry
        .published_keys()
        .iter()
        .map(|k| k.kid.as_str())
        .collect();
    assert_eq!(published.len(), 1);
    assert!(!published.contains(&old_kid.as_str()));
}

#[tokio::test]
async fn es256_provider_advertises_and_signs_es256() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "ec").await;
    let key = add_keypair(&s, "ec-key", KeyAlgorithm::EcdsaP256).await.0;
    switch_key(&s, "ec", &key).await;
    let doc: Value = client()
        .get(format!(
            "{}/application/o/ec/.well-known/openid-configuration",
            s.base_url
        ))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256"])
    );
    let body: Value = client()
        .post(format!("{}/application/o/token/", s.base_url))
        .basic_auth(&p.client_id, Some(&p.oauth2.client_secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "openid")])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let token = body["id_token"].as_str().expect("id token");
    let header = jsonwebtoken::decode_header(token).expect("header");
    assert_eq!(header.alg, Algorithm::ES256);
    let set = jwks(&s, "ec").await;
    let jwk = set
        .find(header.kid.as_deref().expect("kid"))
        .expect("published");
    let mut v = Validation::new(Algorithm::ES256);
    v.set_audience(&[&p.client_id]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).expect("key"), &v)
        .expect("verifies");
}

#[tokio::test]
async fn client_credentials_id_tokens_are_unbound_and_follow_a_key_change_at_once() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "cc").await;
    let first = client_credentials(&s, &p, "openid")
        .await
        .json::<Value>()
        .await
        .expect("json");
    let second = client_credentials(&s, &p, "openid")
        .await
        .json::<Value>()
        .await
        .expect("json");
    assert_ne!(
        first["access_token"], second["access_token"],
        "every access token is its own"
    );
    let (old_kid, claims) = verify_jwt(
        &s,
        "cc",
        &p.client_id,
        second["id_token"].as_str().expect("id"),
    )
    .await;
    // authentik's client_credentials ID token has no at_hash (the access token is not bound).
    assert!(claims.get("at_hash").is_none(), "{claims}");
    // Different claims are signed afresh, not answered from the last signature.
    let email = client_credentials(&s, &p, "openid email")
        .await
        .json::<Value>()
        .await
        .expect("json");
    let (_, email_claims) = verify_jwt(
        &s,
        "cc",
        &p.client_id,
        email["id_token"].as_str().expect("id"),
    )
    .await;
    assert!(email_claims.get("email").is_some(), "{email_claims}");
    // A new signing key is used by the very next token, even within the same second.
    let key = add_keypair(&s, "cc-ec", KeyAlgorithm::EcdsaP256).await.0;
    switch_key(&s, "cc", &key).await;
    let third = client_credentials(&s, &p, "openid")
        .await
        .json::<Value>()
        .await
        .expect("json");
    let token = third["id_token"].as_str().expect("id");
    assert_eq!(
        jsonwebtoken::decode_header(token).expect("header").alg,
        Algorithm::ES256
    );
    let (new_kid, _) = verify_jwt(&s, "cc", &p.client_id, token).await;
    assert_ne!(new_kid, old_kid);
}
