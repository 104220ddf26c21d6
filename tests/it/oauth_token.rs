//! The token, revocation, introspection and userinfo endpoints on a real listener, one test per
//! rule of docs/SECURITY.md "Token endpoint" and "Tokens, keys, discovery".

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use latchkey::crypto::secrets;
use latchkey::domain::*;
use latchkey::store::{self, Topic, grants::AuthorizationCode};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::server::create_oidc_app;
use crate::support::{TestServer, client, oauth_post, spawn_server};

const REDIRECT: &str = "http://localhost:8080/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn token_url(s: &TestServer) -> String {
    format!("{}/application/o/token/", s.base_url)
}

async fn admin_id(s: &TestServer) -> String {
    s.service
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .find(|u| u.username == "akadmin")
        .expect("admin")
        .id
}

/// Stores a code as the authorization endpoint would, returning the raw code.
async fn issue_code(
    s: &TestServer,
    provider: &Provider,
    scope: &str,
    challenge: Option<&str>,
    expires_in: i64,
) -> String {
    let code = secrets::random_token(32);
    let now = s.service.now();
    let record = AuthorizationCode {
        id: new_id(),
        code_digest: secrets::digest(&code),
        provider_id: provider.id.clone(),
        user_id: admin_id(s).await,
        session_id: None,
        redirect_uri: REDIRECT.into(),
        scope: scope.into(),
        nonce: Some("n-0S6_WzA2Mj".into()),
        code_challenge: challenge.map(str::to_string),
        code_challenge_method: challenge.map(|_| "S256".to_string()),
        auth_time: now - 5,
        expires_at: now + expires_in,
        consumed_at: None,
        created_at: now,
    };
    let mut tx = s.service.store().write_tx().await.expect("tx");
    store::grants::insert_code(tx.conn(), &record)
        .await
        .expect("code");
    tx.commit().await.expect("commit");
    code
}

async fn exchange(
    s: &TestServer,
    p: &Provider,
    code: &str,
    verifier: Option<&str>,
) -> (u16, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    let (st, _, body) = oauth_post(
        &token_url(s),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &form,
    )
    .await;
    (st, body)
}

async fn introspect(s: &TestServer, p: &Provider, token: &str) -> Value {
    oauth_post(
        &format!("{}/application/o/introspect/", s.base_url),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[("token", token)],
    )
    .await
    .2
}

async fn jwks_key(s: &TestServer, slug: &str) -> DecodingKey {
    let set: JwkSet = client()
        .get(format!("{}/application/o/{slug}/jwks/", s.base_url))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    DecodingKey::from_jwk(&set.keys[0]).expect("key")
}

#[tokio::test]
async fn client_credentials_issues_a_verifiable_recorded_token() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "svc").await;
    let (st, headers, body) = oauth_post(
        &token_url(&s),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "openid email nonsense"),
        ],
    )
    .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "openid email", "unknown scopes dropped");
    assert!(body.get("refresh_token").is_none());
    let at = body["access_token"].as_str().expect("at");
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[&p.client_id]);
    v.set_issuer(&[format!("{}/application/o/svc/", s.base_url)]);
    let claims = jsonwebtoken::decode::<Value>(at, &jwks_key(&s, "svc").await, &v)
        .expect("verifies")
        .claims;
    assert_eq!(claims["azp"], p.client_id);
    let users = s.service.list_users().await.expect("users");
    let sa = users
        .iter()
        .find(|u| u.username == "ak-svc provider-client_credentials")
        .expect("service account created");
    assert_eq!(sa.user_type, UserType::ServiceAccount);
    assert_eq!(introspect(&s, &p, at).await["active"], true);
}

#[tokio::test]
async fn bad_client_credentials_get_401_with_challenge() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    for auth in [(p.client_id.as_str(), "wrong"), ("unknown-client", "x")] {
        let (st, headers, body) = oauth_post(
            &token_url(&s),
            Some(auth),
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_eq!(st, 401);
        assert_eq!(body["error"], "invalid_client");
        assert!(headers.contains_key("www-authenticate"));
        assert_eq!(headers["cache-control"], "no-store");
    }
    // Secret in the body works too; both at once is refused.
    let (st, _, _) = oauth_post(
        &token_url(&s),
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &p.client_id),
            ("client_secret", &p.oauth2.client_secret),
        ],
    )
    .await;
    assert_eq!(st, 200);
    let (st, _, body) = oauth_post(
        &token_url(&s),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", &p.oauth2.client_secret),
        ],
    )
    .await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_request")));
}

#[tokio::test]
async fn basic_credentials_are_form_decoded() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    // Change the secret to one that needs Appendix B encoding.
    let mut provider = p.clone();
    provider.oauth2.client_secret = format!("{}:+%/ é", secrets::random_alnum(40));
    let mut tx = s.service.store().write_tx().await.expect("tx");
    store::providers::update(tx.conn(), &provider)
        .await
        .expect("update");
    tx.touch(Topic::Providers);
    tx.commit().await.expect("commit");
    let encoded: String =
        form_urlencoded::byte_serialize(provider.oauth2.client_secret.as_bytes()).collect();
    let header = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{encoded}", provider.client_id))
    );
    let res = client()
        .post(token_url(&s))
        .header("Authorization", header)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn malformed_requests_get_rfc_errors_never_500() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let auth = Some((p.client_id.as_str(), p.oauth2.client_secret.as_str()));
    let (st, _, body) = oauth_post(&token_url(&s), auth, &[]).await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_request")));
    let (st, _, body) = oauth_post(&token_url(&s), auth, &[("grant_type", "magic")]).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (st, _, body) = oauth_post(&token_url(&s), auth, &[("grant_type", "password")]).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    let (st, _, body) = oauth_post(
        &token_url(&s),
        auth,
        &[
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("invalid_request")),
        "duplicate param"
    );
    let res = client()
        .post(token_url(&s))
        .basic_auth(&p.client_id, Some(&p.oauth2.client_secret))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 400, "JSON bodies are refused");
    let res = client().get(token_url(&s)).send().await.expect("request");
    assert_eq!(res.status(), 405);
    let (st, _, body) = oauth_post(
        &token_url(&s),
        auth,
        &[("grant_type", "authorization_code")],
    )
    .await;
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("invalid_request")),
        "missing code"
    );
    let (st, _, body) = oauth_post(
        &token_url(&s),
        auth,
        &[
            ("grant_type", "authorization_code"),
            ("code", "garbage"),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn code_exchange_with_pkce_issues_id_token_and_refresh_only_with_offline_access() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let code = issue_code(&s, &p, "openid email profile", Some(CHALLENGE), 60).await;
    let (st, body) = exchange(&s, &p, &code, Some(VERIFIER)).await;
    assert_eq!(st, 200, "{body}");
    assert!(
        body.get("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
    let at = body["access_token"].as_str().expect("at");
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[&p.client_id]);
    let id = jsonwebtoken::decode::<Value>(
        body["id_token"].as_str().expect("id"),
        &jwks_key(&s, "app").await,
        &v,
    )
    .expect("id token verifies")
    .claims;
    assert_eq!(id["iss"], format!("{}/application/o/app/", s.base_url));
    assert_eq!(id["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(
        id["email"], "root@localhost",
        "email scope mapping evaluated"
    );
    assert_eq!(id["preferred_username"], "akadmin");
    let digest = Sha256::digest(at.as_bytes());
    assert_eq!(id["at_hash"], URL_SAFE_NO_PAD.encode(&digest[..16]));
    assert!(id["auth_time"].as_i64().is_some());

    let code = issue_code(&s, &p, "openid offline_access", Some(CHALLENGE), 60).await;
    let (st, body) = exchange(&s, &p, &code, Some(VERIFIER)).await;
    assert_eq!(st, 200);
    assert!(body["refresh_token"].as_str().is_some());
}

#[tokio::test]
async fn replayed_code_fails_and_revokes_what_it_produced() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let code = issue_code(&s, &p, "openid offline_access", None, 60).await;
    let (st, first) = exchange(&s, &p, &code, None).await;
    assert_eq!(st, 200);
    let at = first["access_token"].as_str().expect("at");
    let rt = first["refresh_token"].as_str().expect("rt");
    assert_eq!(introspect(&s, &p, at).await["active"], true);
    let (st, body) = exchange(&s, &p, &code, None).await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(
        introspect(&s, &p, at).await["active"],
        false,
        "access token revoked"
    );
    assert_eq!(
        introspect(&s, &p, rt).await["active"],
        false,
        "refresh token revoked"
    );
    let events = s.service.recent_events(10).await.expect("events");
    assert!(events.iter().any(|e| e.action == "suspicious_request"));
}

#[tokio::test]
async fn fifty_parallel_redemptions_yield_exactly_one_success() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let code = issue_code(&s, &p, "openid", None, 60).await;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (url, id, secret, code) = (
            token_url(&s),
            p.client_id.clone(),
            p.oauth2.client_secret.clone(),
            code.clone(),
        );
        tasks.push(tokio::spawn(async move {
            oauth_post(
                &url,
                Some((&id, &secret)),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", REDIRECT),
                ],
            )
            .await
            .0
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("join") {
            200 => ok += 1,
            400 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn pkce_rules() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    // Challenge sent at authorize, no verifier now.
    let code = issue_code(&s, &p, "openid", Some(CHALLENGE), 60).await;
    assert_eq!(
        exchange(&s, &p, &code, None).await.1["error"],
        "invalid_grant"
    );
    // Wrong verifier.
    assert_eq!(
        exchange(&s, &p, &code, Some(&"x".repeat(43))).await.1["error"],
        "invalid_grant"
    );
    // The failures did not consume the code: the right verifier still works.
    assert_eq!(exchange(&s, &p, &code, Some(VERIFIER)).await.0, 200);
    // Downgrade: a verifier for a code that had no challenge.
    let code = issue_code(&s, &p, "openid", None, 60).await;
    assert_eq!(
        exchange(&s, &p, &code, Some(VERIFIER)).await.1["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn code_is_bound_to_redirect_uri_client_and_expiry() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let other = create_oidc_app(&s, "other").await;
    let code = issue_code(&s, &p, "openid", None, 60).await;
    let (st, _, body) = oauth_post(
        &token_url(&s),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://localhost:8080/cb/"),
        ],
    )
    .await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(
        exchange(&s, &other, &code, None).await.1["error"],
        "invalid_grant"
    );
    // Neither mismatch consumed it.
    assert_eq!(exchange(&s, &p, &code, None).await.0, 200);
    let expired = issue_code(&s, &p, "openid", None, 0).await;
    assert_eq!(
        exchange(&s, &p, &expired, None).await.1["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn refresh_rotates_and_reuse_kills_the_family() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let code = issue_code(&s, &p, "openid email offline_access", None, 60).await;
    let first = exchange(&s, &p, &code, None).await.1;
    let rt1 = first["refresh_token"].as_str().expect("rt1").to_string();
    let refresh = |rt: String, scope: Option<&'static str>| {
        let (url, id, secret) = (
            token_url(&s),
            p.client_id.clone(),
            p.oauth2.client_secret.clone(),
        );
        async move {
            let mut form = vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", rt.as_str()),
            ];
            if let Some(sc) = scope {
                form.push(("scope", sc));
            }
            let (st, _, body) = oauth_post(&url, Some((&id, &secret)), &form).await;
            (st, body)
        }
    };
    let (st, body) = refresh(rt1.clone(), Some("openid email profile offline_access")).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "cannot widen"
    );
    let (st, body) = refresh(rt1.clone(), Some("openid")).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "needs offline_access"
    );
    let (st, second) = refresh(rt1.clone(), Some("openid offline_access")).await;
    assert_eq!(st, 200, "{second}");
    assert_eq!(second["scope"], "openid offline_access", "narrowed");
    let rt2 = second["refresh_token"].as_str().expect("rt2").to_string();
    assert_ne!(rt1, rt2, "rotated");
    let at2 = second["access_token"].as_str().expect("at2").to_string();
    // Reusing the old one revokes everything in the family.
    let (st, body) = refresh(rt1, None).await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(introspect(&s, &p, &at2).await["active"], false);
    let (st, _) = refresh(rt2, None).await;
    assert_eq!(st, 400, "the rotated token died with the family");
}

#[tokio::test]
async fn revocation_is_own_tokens_only_and_200_for_garbage() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let other = create_oidc_app(&s, "other").await;
    let url = format!("{}/application/o/revoke/", s.base_url);
    let code = issue_code(&s, &p, "openid", None, 60).await;
    let at = exchange(&s, &p, &code, None).await.1["access_token"]
        .as_str()
        .expect("at")
        .to_string();
    let (st, _, _) = oauth_post(
        &url,
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[("token", "garbage")],
    )
    .await;
    assert_eq!(st, 200);
    let (st, _, _) = oauth_post(
        &url,
        Some((&other.client_id, &other.oauth2.client_secret)),
        &[("token", &at)],
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(
        introspect(&s, &p, &at).await["active"],
        true,
        "another client cannot revoke it"
    );
    let (st, _, body) = oauth_post(&url, Some((&p.client_id, "wrong")), &[("token", &at)]).await;
    assert_eq!((st, body["error"].as_str()), (401, Some("invalid_client")));
    let (st, _, _) = oauth_post(
        &url,
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[("token", &at)],
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(introspect(&s, &p, &at).await["active"], false);
}

#[tokio::test]
async fn introspection_needs_authentication_and_hides_other_providers_tokens() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let other = create_oidc_app(&s, "other").await;
    let code = issue_code(&s, &p, "openid", None, 60).await;
    let at = exchange(&s, &p, &code, None).await.1["access_token"]
        .as_str()
        .expect("at")
        .to_string();
    let url = format!("{}/application/o/introspect/", s.base_url);
    let (st, _, _) = oauth_post(&url, None, &[("token", &at)]).await;
    assert_eq!(st, 401);
    assert_eq!(
        introspect(&s, &other, &at).await,
        serde_json::json!({"active": false})
    );
    let mine = introspect(&s, &p, &at).await;
    assert_eq!(mine["active"], true);
    assert_eq!(mine["client_id"], p.client_id);
    assert_eq!(mine["scope"], "openid");
}

#[tokio::test]
async fn userinfo_bearer_rules() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let url = format!("{}/application/o/userinfo/", s.base_url);
    let code = issue_code(&s, &p, "openid email profile", None, 60).await;
    let at = exchange(&s, &p, &code, None).await.1["access_token"]
        .as_str()
        .expect("at")
        .to_string();
    let res = client()
        .get(&url)
        .bearer_auth(&at)
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["email"], "root@localhost");
    assert_eq!(body["preferred_username"], "akadmin");
    assert!(body["sub"].as_str().is_some_and(|s| !s.is_empty()));
    let res = client()
        .post(&url)
        .form(&[("access_token", at.as_str())])
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 200, "token in a form body is allowed");
    let res = client()
        .get(format!("{url}?access_token={at}"))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 400, "never from the query string");
    let res = client().get(&url).send().await.expect("req");
    assert_eq!(res.status(), 401);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .expect("ascii")
            .starts_with("Bearer")
    );
    let res = client()
        .get(&url)
        .bearer_auth("garbage")
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 401);
    // A token without openid is refused with insufficient_scope.
    let code = issue_code(&s, &p, "email", None, 60).await;
    let at2 = exchange(&s, &p, &code, None).await.1["access_token"]
        .as_str()
        .expect("at")
        .to_string();
    let res = client()
        .get(&url)
        .bearer_auth(&at2)
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 403);
    // Deactivating the user ends access at once.
    let mut admin = s
        .service
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .find(|u| u.username == "akadmin")
        .expect("admin");
    admin.is_active = false;
    let mut tx = s.service.store().write_tx().await.expect("tx");
    store::users::update(tx.conn(), &admin)
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    let res = client()
        .get(&url)
        .bearer_auth(&at)
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn public_clients_never_send_secrets_and_cannot_use_client_credentials() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "cli").await;
    p.oauth2.client_type = ClientType::Public;
    let mut tx = s.service.store().write_tx().await.expect("tx");
    store::providers::update(tx.conn(), &p)
        .await
        .expect("update");
    tx.touch(Topic::Providers);
    tx.commit().await.expect("commit");
    let (st, _, body) = oauth_post(
        &token_url(&s),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!((st, body["error"].as_str()), (401, Some("invalid_client")));
    let (st, _, body) = oauth_post(
        &token_url(&s),
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &p.client_id),
        ],
    )
    .await;
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
}

#[tokio::test]
async fn no_silent_hs256_fallback() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "app").await;
    // The signing key cannot be deleted while the provider uses it.
    let key_id = p.signing_key_id.clone().expect("key");
    let mut tx = s.service.store().write_tx().await.expect("tx");
    assert!(
        store::certificates::delete(tx.conn(), &key_id)
            .await
            .is_err()
    );
    drop(tx);
    // Without a key, HS256 needs a secret of at least 32 bytes.
    p.signing_key_id = None;
    p.oauth2.client_secret = "short-secret".into();
    let mut tx = s.service.store().write_tx().await.expect("tx");
    store::providers::update(tx.conn(), &p)
        .await
        .expect("update");
    tx.touch(Topic::Providers);
    tx.commit().await.expect("commit");
    let (st, _, body) = oauth_post(
        &token_url(&s),
        Some((&p.client_id, "short-secret")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!((st, body["error"].as_str()), (500, Some("server_error")));
    // With a long secret HS256 works and never says alg none.
    p.version += 1;
    p.oauth2.client_secret = secrets::random_alnum(64);
    let mut tx = s.service.store().write_tx().await.expect("tx");
    store::providers::update(tx.conn(), &p)
        .await
        .expect("update");
    tx.touch(Topic::Providers);
    tx.commit().await.expect("commit");
    let (st, _, body) = oauth_post(
        &token_url(&s),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let header =
        jsonwebtoken::decode_header(body["access_token"].as_str().expect("at")).expect("h");
    assert_eq!(header.alg, Algorithm::HS256);
}

#[tokio::test]
async fn client_credentials_obeys_application_policies_and_account_state() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "svc").await;
    let ask = || async {
        oauth_post(
            &token_url(&s),
            Some((&p.client_id, &p.oauth2.client_secret)),
            &[("grant_type", "client_credentials")],
        )
        .await
    };
    assert_eq!(ask().await.0, 200, "creates the service account");
    // Bind the application to the admin group: the service account is not a member.
    let admins = s
        .service
        .list_groups()
        .await
        .expect("groups")
        .into_iter()
        .find(|g| g.name == "authentik Admins")
        .expect("group");
    let app = s
        .service
        .list_applications()
        .await
        .expect("apps")
        .into_iter()
        .find(|a| a.slug == "svc")
        .expect("app");
    crate::flows_support::bind(
        &s.service,
        &app.id,
        BindingSubject::Group(admins.id),
        crate::flows_support::Opts::default(),
    )
    .await;
    let (st, _, body) = ask().await;
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    // Deactivated service account: refused too.
    let s2 = spawn_server().await;
    let p2 = create_oidc_app(&s2, "svc").await;
    let first = oauth_post(
        &token_url(&s2),
        Some((&p2.client_id, &p2.oauth2.client_secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(first.0, 200);
    // Served from the snapshot's copy of the account now.
    let again = oauth_post(
        &token_url(&s2),
        Some((&p2.client_id, &p2.oauth2.client_secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(again.0, 200);
    let mut sa = s2
        .service
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .find(|u| u.user_type == UserType::ServiceAccount)
        .expect("service account");
    sa.is_active = false;
    let mut tx = s2.service.store().write_tx().await.expect("tx");
    store::users::update(tx.conn(), &sa).await.expect("update");
    tx.touch(Topic::Users);
    tx.commit().await.expect("commit");
    // The very next request sees it (no wait for a background refresh).
    let (st, _, body) = oauth_post(
        &token_url(&s2),
        Some((&p2.client_id, &p2.oauth2.client_secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_grant")));
}

#[tokio::test]
async fn refresh_stops_when_access_is_removed() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let code = issue_code(&s, &p, "openid offline_access", None, 60).await;
    let rt = exchange(&s, &p, &code, None).await.1["refresh_token"]
        .as_str()
        .expect("rt")
        .to_string();
    let app = s
        .service
        .list_applications()
        .await
        .expect("apps")
        .into_iter()
        .find(|a| a.slug == "app")
        .expect("app");
    let nobody =
        crate::flows_support::add_user(&s.service, "nobody", "n@example.com", "nobody-pass-1")
            .await;
    crate::flows_support::bind(
        &s.service,
        &app.id,
        BindingSubject::User(nobody.id),
        crate::flows_support::Opts::default(),
    )
    .await;
    let (st, _, body) = oauth_post(
        &token_url(&s),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
    )
    .await;
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

#[tokio::test]
async fn password_grant_takes_app_passwords_only_and_only_when_enabled() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "app").await;
    let user =
        crate::flows_support::add_user(&s.service, "bob", "bob@example.com", "bob-login-password")
            .await;
    let key = secrets::random_alnum(40);
    let now = s.service.now();
    let mut tx = s.service.store().write_tx().await.expect("tx");
    for (identifier, digest, expires) in [
        ("bob-app", secrets::digest(&key), None),
        (
            "bob-old",
            secrets::digest("expired-app-password"),
            Some(now - 1),
        ),
    ] {
        store::tokens::insert(
            tx.conn(),
            &store::tokens::Token {
                id: new_id(),
                identifier: identifier.into(),
                key_digest: digest,
                intent: store::tokens::INTENT_APP_PASSWORD.into(),
                user_id: user.id.clone(),
                description: String::new(),
                expires_at: expires,
                created_at: now,
            },
        )
        .await
        .expect("token");
    }
    tx.commit().await.expect("commit");
    let ask = |grant: &'static str, password: String| {
        let (url, id, secret) = (
            token_url(&s),
            p.client_id.clone(),
            p.oauth2.client_secret.clone(),
        );
        async move {
            oauth_post(
                &url,
                Some((&id, &secret)),
                &[
                    ("grant_type", grant),
                    ("username", "bob"),
                    ("password", &password),
                ],
            )
            .await
        }
    };
    // Off by default.
    let (st, _, body) = ask("password", key.clone()).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    p.oauth2.grant_types.push("password".into());
    let mut tx = s.service.store().write_tx().await.expect("tx");
    store::providers::update(tx.conn(), &p)
        .await
        .expect("update");
    tx.touch(Topic::Providers);
    tx.commit().await.expect("commit");
    let (st, _, body) = ask("password", key.clone()).await;
    assert_eq!(st, 200, "{body}");
    assert!(body.get("refresh_token").is_none());
    // authentik also accepts username + app password on client_credentials.
    assert_eq!(ask("client_credentials", key.clone()).await.0, 200);
    for bad in [
        "bob-login-password".to_string(),
        "expired-app-password".to_string(),
        "x".repeat(40),
    ] {
        let (st, _, body) = ask("password", bad.clone()).await;
        assert_eq!(
            (st, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{bad}"
        );
    }
}
