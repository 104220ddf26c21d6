//! ID-token encryption (authentik's `encryption_key`): with an encryption key set, every JWT the
//! provider issues is a JWE (RSA-OAEP-256 / A256CBC-HS512) that an independent JOSE library
//! (josekit) opens with the key's private half, holding a JWS that verifies against JWKS.

use jsonwebtoken::jwk::JwkSet;
use latchkey::crypto::keys::KeyAlgorithm;
use latchkey::domain::redirect::RedirectUri;
use latchkey::domain::*;
use serde_json::Value;

use crate::server::{add_keypair, client_credentials, create_oidc_app, save_provider, verify_jwt};
use crate::support::{TestServer, client, spawn_server};

const LOGGED_OUT: &str = "https://app.example.com/logged-out";

/// An application whose provider encrypts to a fresh RSA key; returns the provider and the
/// encryption key's private PEM (what the relying party would hold).
async fn encrypted_app(s: &TestServer, slug: &str) -> (Provider, String) {
    let mut p = create_oidc_app(s, slug).await;
    let (key_id, key_pem) = add_keypair(s, &format!("{slug}-enc"), KeyAlgorithm::Rsa2048).await;
    p.encryption_key_id = Some(key_id);
    p.oauth2.redirect_uris.push(RedirectUri {
        matching_mode: MatchingMode::Strict,
        url: LOGGED_OUT.into(),
        redirect_uri_type: RedirectUriType::Logout,
    });
    save_provider(s, &mut p).await;
    (p, key_pem)
}

async fn get_json(url: String) -> Value {
    client()
        .get(url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

/// Opens a JWE with josekit; returns the protected header and the plaintext.
fn open(jwe: &str, key_pem: &str) -> (Value, String) {
    let decrypter = josekit::jwe::RSA_OAEP_256
        .decrypter_from_pem(key_pem)
        .expect("decrypter");
    let (plain, header) = josekit::jwe::deserialize_compact(jwe, &decrypter)
        .unwrap_or_else(|e| panic!("josekit cannot open the JWE: {e}"));
    let header: Value = serde_json::from_str(&header.to_string()).expect("header json");
    (header, String::from_utf8(plain).expect("utf-8"))
}

#[tokio::test]
async fn an_encryption_key_turns_every_token_into_a_jwe_josekit_opens() {
    let s = spawn_server().await;
    let (p, key_pem) = encrypted_app(&s, "enc").await;
    let base = format!("{}/application/o/enc", s.base_url);

    let discovery = get_json(format!("{base}/.well-known/openid-configuration")).await;
    assert_eq!(
        discovery["id_token_encryption_alg_values_supported"],
        serde_json::json!(["RSA-OAEP-256"])
    );
    assert_eq!(
        discovery["id_token_encryption_enc_values_supported"],
        serde_json::json!(["A256CBC-HS512"])
    );
    let jwks_doc = get_json(format!("{base}/jwks/")).await;
    let enc_jwk = jwks_doc["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["use"] == "enc")
        .expect("the encryption key is published")
        .clone();
    assert_eq!(enc_jwk["alg"], "RSA-OAEP-256");
    assert_eq!(enc_jwk["enc"], "A256CBC-HS512");
    assert_eq!(enc_jwk["kty"], "RSA");
    assert!(enc_jwk.get("d").is_none(), "no private members");

    let res = client_credentials(&s, &p, "openid").await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    let _jwks: JwkSet = serde_json::from_value(jwks_doc.clone()).expect("jwks");
    for name in ["id_token", "access_token"] {
        let token = body[name].as_str().expect(name);
        assert_eq!(token.split('.').count(), 5, "{name} is a compact JWE");
        let (header, jws) = open(token, &key_pem);
        assert_eq!(header["alg"], "RSA-OAEP-256", "{name}");
        assert_eq!(header["enc"], "A256CBC-HS512", "{name}");
        assert_eq!(header["typ"], "JWE", "{name}");
        assert_eq!(header["kid"], enc_jwk["kid"], "{name}");
        let (_, claims) = verify_jwt(&s, "enc", &p.client_id, &jws).await;
        assert!(claims["sub"].is_string(), "{name}");
    }

    // The encrypted access token is still an authoritative bearer token.
    let res = client()
        .get(format!("{}/application/o/userinfo/", s.base_url))
        .bearer_auth(body["access_token"].as_str().expect("at"))
        .send()
        .await
        .expect("userinfo");
    assert_eq!(res.status(), 200);

    // Our own encrypted ID token is accepted as id_token_hint; a tampered one is not.
    let hint = body["id_token"].as_str().expect("id_token");
    let mut parts: Vec<String> = hint.split('.').map(str::to_string).collect();
    let ct = &mut parts[3];
    let last = ct.pop().expect("ciphertext");
    ct.push(if last == 'A' { 'B' } else { 'A' });
    let tampered = parts.join(".");
    for (h, want) in [(tampered.as_str(), 400), (hint, 302)] {
        let res = client()
            .get(format!("{base}/end-session/"))
            .query(&[
                ("id_token_hint", h),
                ("post_logout_redirect_uri", LOGGED_OUT),
            ])
            .send()
            .await
            .expect("end session");
        assert_eq!(res.status(), want);
    }
}

#[tokio::test]
async fn without_an_encryption_key_tokens_stay_plain_jws_and_nothing_is_advertised() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "plain").await;
    let base = format!("{}/application/o/plain", s.base_url);
    let discovery = get_json(format!("{base}/.well-known/openid-configuration")).await;
    assert!(discovery["id_token_encryption_alg_values_supported"].is_null());
    let jwks = get_json(format!("{base}/jwks/")).await;
    assert!(
        jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .all(|k| k["use"] != "enc")
    );
    let body: Value = client_credentials(&s, &p, "openid")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(body["id_token"].as_str().expect("id").split('.').count(), 3);
}

#[tokio::test]
async fn a_non_rsa_encryption_key_refuses_tokens_instead_of_sending_them_in_clear() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "ec").await;
    let (key_id, _) = add_keypair(&s, "ec-enc", KeyAlgorithm::EcdsaP256).await;
    p.encryption_key_id = Some(key_id);
    save_provider(&s, &mut p).await;
    let res = client_credentials(&s, &p, "openid").await;
    assert_eq!(res.status(), 500);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"], "server_error");
    assert!(body.get("id_token").is_none() && body.get("access_token").is_none());
    assert!(
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .contains("encryption key"),
        "{body}"
    );
}
