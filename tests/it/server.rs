//! The HTTP server on a real listener: health, discovery and JWKS.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use latchkey::crypto::secrets;
use latchkey::domain::*;
use latchkey::store::{self, Topic};
use serde_json::Value;

use crate::support::{TestServer, client, spawn_server};

/// The redirect URI [`create_oidc_app`] registers.
pub const APP_REDIRECT: &str = "http://localhost:8080/cb";

/// Creates an application with an OAuth2 provider signed by the bootstrapped key.
pub async fn create_oidc_app(server: &TestServer, slug: &str) -> Provider {
    create_oidc_app_on(&server.service, slug).await
}

/// [`create_oidc_app`] on a service without a running server.
pub async fn create_oidc_app_on(service: &latchkey::service::Service, slug: &str) -> Provider {
    let now = service.now();
    let flows = service.list_flows().await.expect("flows");
    let flow_id = |slug: &str| flows.iter().find(|f| f.slug == slug).map(|f| f.id.clone());
    let key = service.list_certificates().await.expect("certs").remove(0);
    let mappings = service.list_scope_mappings().await.expect("mappings");
    let provider = Provider {
        id: new_id(),
        name: format!("{slug} provider"),
        client_id: secrets::random_alnum(40),
        authorization_flow_id: flow_id("default-provider-authorization-implicit-consent"),
        authentication_flow_id: None,
        invalidation_flow_id: flow_id("default-provider-invalidation-flow"),
        signing_key_id: Some(key.id),
        encryption_key_id: None,
        scope_mapping_ids: mappings.iter().map(|m| m.id.clone()).collect(),
        oauth2: OAuth2Settings {
            client_secret: secrets::random_alnum(128),
            redirect_uris: vec![redirect::RedirectUri::strict(APP_REDIRECT)],
            ..Default::default()
        },
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let app = Application {
        id: new_id(),
        name: slug.into(),
        slug: slug.into(),
        provider_id: Some(provider.id.clone()),
        group: String::new(),
        policy_engine_mode: PolicyEngineMode::Any,
        meta_launch_url: String::new(),
        open_in_new_tab: false,
        meta_icon: String::new(),
        meta_publisher: String::new(),
        meta_description: String::new(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = service.store().write_tx().await.expect("tx");
    store::providers::insert(tx.conn(), &provider)
        .await
        .expect("provider");
    store::applications::insert(tx.conn(), &app)
        .await
        .expect("app");
    tx.touch(Topic::Providers);
    tx.touch(Topic::Applications);
    tx.commit().await.expect("commit");
    provider
}

/// Saves an edited provider (and notes the change, as the console would).
pub async fn save_provider(s: &TestServer, p: &mut Provider) {
    let mut tx = s.service.store().write_tx().await.expect("tx");
    store::providers::update(tx.conn(), p)
        .await
        .expect("update");
    tx.touch(Topic::Providers);
    tx.commit().await.expect("commit");
    p.version += 1;
}

/// The id of the flow with this slug.
pub async fn flow_id(s: &TestServer, slug: &str) -> String {
    s.service
        .list_flows()
        .await
        .expect("flows")
        .into_iter()
        .find(|f| f.slug == slug)
        .map(|f| f.id)
        .expect("flow")
}

/// Generates and stores a keypair; returns its id and private key PEM.
pub async fn add_keypair(
    s: &TestServer,
    name: &str,
    alg: latchkey::crypto::keys::KeyAlgorithm,
) -> (String, String) {
    let pair = latchkey::crypto::keys::generate_self_signed(name, &[], 30, alg).expect("gen");
    let kp = latchkey::crypto::keys::keypair_from_pem(
        &new_id(),
        name,
        &pair.certificate_pem,
        Some(&pair.key_pem),
        None,
    )
    .expect("keypair");
    let mut tx = s.service.store().write_tx().await.expect("tx");
    store::certificates::insert(tx.conn(), &kp)
        .await
        .expect("insert");
    tx.touch(Topic::Certificates);
    tx.commit().await.expect("commit");
    (kp.id, pair.key_pem)
}

/// Verifies a JWS against the application's JWKS, with the key its `kid` names and that key's
/// own algorithm, audience `client_id` and the application's issuer; returns (kid, claims).
pub async fn verify_jwt(s: &TestServer, slug: &str, client_id: &str, jwt: &str) -> (String, Value) {
    let jwks: JwkSet = client()
        .get(format!("{}/application/o/{slug}/jwks/", s.base_url))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let header = jsonwebtoken::decode_header(jwt).expect("header");
    let kid = header.kid.clone().expect("kid");
    let jwk = jwks.find(&kid).expect("the kid is published");
    let mut v = Validation::new(header.alg);
    v.set_audience(&[client_id]);
    v.set_issuer(&[format!("{}/application/o/{slug}/", s.base_url)]);
    let claims = jsonwebtoken::decode::<Value>(jwt, &DecodingKey::from_jwk(jwk).expect("key"), &v)
        .unwrap_or_else(|e| panic!("the token verifies: {e}"))
        .claims;
    (kid, claims)
}

/// A client_credentials request with the provider's own secret.
pub async fn client_credentials(s: &TestServer, p: &Provider, scope: &str) -> reqwest::Response {
    client()
        .post(format!("{}/application/o/token/", s.base_url))
        .basic_auth(&p.client_id, Some(&p.oauth2.client_secret))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .expect("token")
}

/// The code flow in `browser`'s session (the provider must consent implicitly, as
/// [`create_oidc_app`]'s does): authorize with `extra` parameters, then redeem the code;
/// returns the token response.
pub async fn browser_code_flow(
    s: &TestServer,
    browser: &reqwest::Client,
    p: &Provider,
    extra: &[(&str, &str)],
) -> Value {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", &p.client_id)
        .append_pair("redirect_uri", APP_REDIRECT)
        .append_pair("response_type", "code");
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    let res = browser
        .get(format!(
            "{}/application/o/authorize/?{}",
            s.base_url,
            q.finish()
        ))
        .send()
        .await
        .expect("authorize");
    let loc = res.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    let code = url::Url::parse(&loc)
        .expect("redirect")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code (implicit consent)");
    client()
        .post(format!("{}/application/o/token/", s.base_url))
        .basic_auth(&p.client_id, Some(&p.oauth2.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", APP_REDIRECT),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn health_endpoints_answer() {
    let server = spawn_server().await;
    for path in ["/-/health/live/", "/-/health/ready/"] {
        let res = client()
            .get(format!("{}{path}", server.base_url))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 204, "{path}");
    }
}

#[tokio::test]
async fn discovery_for_an_application_created_after_start() {
    let server = spawn_server().await;
    let url = format!(
        "{}/application/o/grafana/.well-known/openid-configuration",
        server.base_url
    );
    // Unknown before it exists: a 404 with a JSON body.
    let res = client().get(&url).send().await.expect("request");
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.expect("json 404");
    assert_eq!(body["error"], "not_found");

    create_oidc_app(&server, "grafana").await;
    let res = client().get(&url).send().await.expect("request");
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.expect("json");
    let base = &server.base_url;
    assert_eq!(doc["issuer"], format!("{base}/application/o/grafana/"));
    assert_eq!(
        doc["authorization_endpoint"],
        format!("{base}/application/o/authorize/")
    );
    assert_eq!(
        doc["token_endpoint"],
        format!("{base}/application/o/token/")
    );
    assert_eq!(
        doc["jwks_uri"],
        format!("{base}/application/o/grafana/jwks/")
    );
    assert_eq!(
        doc["userinfo_endpoint"],
        format!("{base}/application/o/userinfo/")
    );
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(
        doc["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    let scopes = doc["scopes_supported"].as_array().expect("scopes");
    for s in ["openid", "email", "profile", "offline_access"] {
        assert!(scopes.iter().any(|v| v == s), "{s}");
    }
    assert!(
        !doc["code_challenge_methods_supported"]
            .as_array()
            .expect("pkce")
            .iter()
            .any(|m| m == "plain"),
        "plain PKCE only when the provider opts in"
    );
}

#[tokio::test]
async fn issuer_comes_from_public_url_never_the_host_header() {
    let server = spawn_server().await;
    create_oidc_app(&server, "app").await;
    let doc: Value = client()
        .get(format!(
            "{}/application/o/app/.well-known/openid-configuration",
            server.base_url
        ))
        .header("Host", "evil.example")
        .header("X-Forwarded-Host", "evil.example")
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert!(!doc.to_string().contains("evil.example"));
}

#[tokio::test]
async fn jwks_publishes_public_keys_that_verify_our_signatures() {
    let server = spawn_server().await;
    create_oidc_app(&server, "app").await;
    let res = client()
        .get(format!("{}/application/o/app/jwks/", server.base_url))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    let raw: Value = res.json().await.expect("json");
    let keys = raw["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
    for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        assert!(
            key.get(private).is_none(),
            "private member {private} leaked"
        );
    }
    assert!(key["x5c"].as_array().is_some_and(|c| !c.is_empty()));

    // Sign with the bootstrapped private key, verify with the published JWK.
    let cert = server
        .service
        .list_certificates()
        .await
        .expect("certs")
        .remove(0);
    let pem = cert.key_pem.expect("private key");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(cert.kid.clone());
    let claims = serde_json::json!({"sub": "x", "exp": 4_102_444_800u64, "aud": "a"});
    let token = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(pem.as_bytes()).expect("key"),
    )
    .expect("sign");
    let set: JwkSet = serde_json::from_value(raw).expect("jwk set");
    let jwk = set.find(&cert.kid).expect("kid published");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["a"]);
    let decoded = jsonwebtoken::decode::<Value>(
        &token,
        &DecodingKey::from_jwk(jwk).expect("decoding key"),
        &validation,
    )
    .expect("verifies");
    assert_eq!(decoded.claims["sub"], "x");
}

#[tokio::test]
async fn unknown_paths_and_slugs_are_json_404() {
    let server = spawn_server().await;
    for path in [
        "/application/o/nope/jwks/",
        "/application/o/nope/.well-known/openid-configuration",
        "/no/such/path",
    ] {
        let res = client()
            .get(format!("{}{path}", server.base_url))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 404, "{path}");
        let body: Value = res.json().await.expect("json");
        assert!(body["error"].is_string());
    }
}
