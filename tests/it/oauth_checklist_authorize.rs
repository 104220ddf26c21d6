//! Checklist rules of the authorization endpoint and of ID tokens that other files do not pin
//! down: unknown parameters are ignored, consent is a session-bound POST over HTTP, `sub` follows
//! the subject mode, `c_hash` / `amr` / `acr` / lifetimes, `id_token_hint` algorithm attacks,
//! plain PKCE only where allowed, and no private members in any kind of JWK.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use latchkey::crypto::keys::KeyAlgorithm;
use latchkey::domain::redirect::RedirectUri;
use latchkey::domain::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::flows_support::{hidden, html_login, jar, post_form};
use crate::server::{
    add_keypair, browser_code_flow, create_oidc_app, flow_id, save_provider, verify_jwt,
};
use crate::support::{ADMIN_PASSWORD, TestServer, client, spawn_server, unverified_claims};

const REDIRECT: &str = "http://localhost:8080/cb";
const LOGGED_OUT: &str = "https://app.example.com/logged-out";

async fn signed_in(s: &TestServer) -> reqwest::Client {
    let b = jar();
    let res = html_login(&b, &s.base_url, "akadmin", ADMIN_PASSWORD).await;
    assert!(res.status().is_redirection(), "login failed");
    b
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_default()
}

fn param(url: &str, key: &str) -> Option<String> {
    let q = url.split_once(['?', '#'])?.1;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn authorize_url(s: &TestServer, p: &Provider, extra: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", &p.client_id)
        .append_pair("redirect_uri", REDIRECT);
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    format!("{}/application/o/authorize/?{}", s.base_url, q.finish())
}

#[tokio::test]
async fn unknown_authorization_parameters_are_ignored() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let b = signed_in(&s).await;
    let res = b
        .get(authorize_url(
            &s,
            &p,
            &[
                ("response_type", "code"),
                ("scope", "openid"),
                ("state", "s1"),
                ("foo", "bar"),
                ("ui_locales", "xx"),
                ("claims_locales", "yy"),
            ],
        ))
        .send()
        .await
        .expect("authorize");
    assert_eq!(res.status(), 302);
    let to = location(&res);
    assert!(to.starts_with(REDIRECT), "{to}");
    assert!(param(&to, "code").is_some(), "{to}");
    assert_eq!(param(&to, "error"), None, "{to}");
    assert_eq!(param(&to, "state").as_deref(), Some("s1"));
}

#[tokio::test]
async fn consent_is_a_post_bound_to_the_session_that_saw_the_page() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "app").await;
    p.authorization_flow_id =
        Some(flow_id(&s, "default-provider-authorization-explicit-consent").await);
    save_provider(&s, &mut p).await;
    let url = authorize_url(&s, &p, &[("response_type", "code"), ("scope", "openid")]);

    // Browser A is sent to the consent page.
    let a = signed_in(&s).await;
    let res = a.get(&url).send().await.expect("authorize");
    assert!(res.status().is_redirection());
    let consent_url = location(&res);
    assert!(consent_url.contains("/if/flow/"), "{consent_url}");
    let slug = consent_url
        .split("/if/flow/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("flow slug")
        .to_string();
    let page_a = a
        .get(format!("{}{consent_url}", s.base_url))
        .send()
        .await
        .expect("consent page")
        .text()
        .await
        .expect("page");
    assert_eq!(
        hidden(&page_a, "component").as_deref(),
        Some("ak-stage-consent")
    );
    // Looking at the page twice grants nothing.
    let again = a.get(&url).send().await.expect("authorize again");
    assert!(param(&location(&again), "code").is_none());

    // Browser B (another session) has its own page and CSRF token.
    let b = signed_in(&s).await;
    let res = b.get(&url).send().await.expect("authorize b");
    let page_b = b
        .get(format!("{}{}", s.base_url, location(&res)))
        .send()
        .await
        .expect("b page")
        .text()
        .await
        .expect("page");
    let csrf_b = hidden(&page_b, "csrf").expect("b csrf");
    let token = hidden(&page_a, "token").unwrap_or_default();
    for csrf in ["", csrf_b.as_str()] {
        let res = a
            .post(format!("{}/if/flow/{slug}/", s.base_url))
            .form(&[
                ("csrf", csrf),
                ("component", "ak-stage-consent"),
                ("token", token.as_str()),
            ])
            .send()
            .await
            .expect("forged consent");
        assert_eq!(
            res.status(),
            403,
            "a consent without A's CSRF token is refused"
        );
        let after = a.get(&url).send().await.expect("authorize");
        assert!(
            param(&location(&after), "code").is_none(),
            "no code after a refused consent"
        );
    }

    // The real answer from A's own page consents and the authorize request completes.
    let page_a = a
        .get(format!("{}{consent_url}", s.base_url))
        .send()
        .await
        .expect("consent page")
        .text()
        .await
        .expect("page");
    assert!(
        page_a.contains("<h1>Redirecting to app</h1>"),
        "authentik's %(app)s is filled in: {page_a}"
    );
    let token = hidden(&page_a, "token").unwrap_or_default();
    let mut res = post_form(&a, &s.base_url, &slug, &page_a, &[("token", &token)]).await;
    for _ in 0..4 {
        if !res.status().is_redirection() || location(&res).starts_with(REDIRECT) {
            break;
        }
        let next = location(&res);
        let next = if next.starts_with('/') {
            format!("{}{next}", s.base_url)
        } else {
            next
        };
        res = a.get(next).send().await.expect("follow");
    }
    let to = location(&res);
    assert!(to.starts_with(REDIRECT), "{to}");
    assert!(param(&to, "code").is_some(), "{to}");
}

#[tokio::test]
async fn sub_follows_the_subject_mode_and_claims_carry_amr_acr_and_lifetimes() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "app").await;
    let admin = s
        .service
        .find_user_by_username("akadmin")
        .await
        .expect("lookup")
        .expect("akadmin");
    let b = signed_in(&s).await;
    let hashed = latchkey::crypto::secrets::hex(&Sha256::digest(
        format!("latchkey:{}", admin.id).as_bytes(),
    ));
    let cases = [
        (SubMode::UserUsername, admin.username.clone()),
        (SubMode::UserEmail, admin.email.clone()),
        (SubMode::UserId, admin.id.clone()),
        (SubMode::HashedUserId, hashed.clone()),
        // No `upn` attribute: authentik falls back to the hashed id.
        (SubMode::UserUpn, hashed.clone()),
    ];
    for (mode, want) in cases {
        p.oauth2.sub_mode = mode;
        save_provider(&s, &mut p).await;
        let body =
            browser_code_flow(&s, &b, &p, &[("scope", "openid email"), ("nonce", "n-1")]).await;
        let (_, id) = verify_jwt(
            &s,
            "app",
            &p.client_id,
            body["id_token"].as_str().expect("id"),
        )
        .await;
        assert_eq!(id["sub"], want, "{mode:?}");
        assert_eq!(id["amr"], json!(["pwd"]), "{id}");
        assert_eq!(id["acr"], "goauthentik.io/providers/oauth2/default");
        assert_eq!(id["nonce"], "n-1");
        let (iat, exp) = (
            id["iat"].as_i64().expect("iat"),
            id["exp"].as_i64().expect("exp"),
        );
        assert_eq!(
            exp - iat,
            3600,
            "exp is the access token validity after iat"
        );
        assert!(iat <= s.service.now() && iat >= s.service.now() - 60);
        assert!(id["auth_time"].as_i64().expect("auth_time") <= iat);
        assert!(id["sid"].as_str().is_some_and(|v| !v.is_empty()));
    }
}

#[tokio::test]
async fn hybrid_id_tokens_carry_c_hash_and_at_hash_of_what_they_travel_with() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "app").await;
    p.oauth2.grant_types.push("hybrid".into());
    save_provider(&s, &mut p).await;
    let b = signed_in(&s).await;
    let half = |v: &str| URL_SAFE_NO_PAD.encode(&Sha256::digest(v.as_bytes())[..16]);
    for (rt, with_token) in [("code id_token", false), ("code id_token token", true)] {
        let res = b
            .get(authorize_url(
                &s,
                &p,
                &[("response_type", rt), ("scope", "openid"), ("nonce", "n-2")],
            ))
            .send()
            .await
            .expect("authorize");
        let to = location(&res);
        assert!(to.contains('#'), "hybrid answers in the fragment: {to}");
        let code = param(&to, "code").expect("code");
        let (_, id) = verify_jwt(
            &s,
            "app",
            &p.client_id,
            &param(&to, "id_token").expect("id_token"),
        )
        .await;
        assert_eq!(id["c_hash"], half(&code), "{rt}");
        assert_eq!(id["nonce"], "n-2");
        match with_token {
            true => assert_eq!(
                id["at_hash"],
                half(&param(&to, "access_token").expect("access_token")),
                "{rt}"
            ),
            false => assert!(id.get("at_hash").is_none(), "{rt}: {id}"),
        }
    }
}

#[tokio::test]
async fn id_token_hints_with_alg_none_or_a_confused_algorithm_are_refused() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "app").await;
    p.oauth2.redirect_uris.push(RedirectUri {
        matching_mode: MatchingMode::Strict,
        url: LOGGED_OUT.into(),
        redirect_uri_type: RedirectUriType::Logout,
    });
    save_provider(&s, &mut p).await;
    let claims = json!({
        "iss": format!("{}/application/o/app/", s.base_url),
        "aud": p.client_id,
        "sub": "someone",
        "iat": s.service.now(),
        "exp": s.service.now() + 600,
    });
    let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims)
    );
    // HS256 keyed with the client secret while the provider signs with an RSA key.
    let kid = {
        let jwks: Value = client()
            .get(format!("{}/application/o/app/jwks/", s.base_url))
            .send()
            .await
            .expect("jwks")
            .json()
            .await
            .expect("json");
        jwks["keys"][0]["kid"].as_str().expect("kid").to_string()
    };
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid);
    let confused = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(p.oauth2.client_secret.as_bytes()),
    )
    .expect("hs256");
    let unkeyed = jsonwebtoken::encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(p.oauth2.client_secret.as_bytes()),
    )
    .expect("hs256");
    for hint in [none.as_str(), confused.as_str(), unkeyed.as_str()] {
        let res = client()
            .get(format!("{}/application/o/app/end-session/", s.base_url))
            .query(&[
                ("id_token_hint", hint),
                ("post_logout_redirect_uri", LOGGED_OUT),
            ])
            .send()
            .await
            .expect("end session");
        assert_eq!(res.status(), 400, "{hint}");
    }
}

#[tokio::test]
async fn plain_pkce_works_only_where_the_provider_allows_it() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "app").await;
    let b = signed_in(&s).await;
    let verifier = "plain-verifier-0123456789-0123456789-0123456789";
    let ask = |p: &Provider| {
        authorize_url(
            &s,
            p,
            &[
                ("response_type", "code"),
                ("scope", "openid"),
                ("code_challenge", verifier),
                ("code_challenge_method", "plain"),
            ],
        )
    };
    let refused = b.get(ask(&p)).send().await.expect("authorize");
    assert_eq!(
        param(&location(&refused), "error").as_deref(),
        Some("invalid_request")
    );
    p.oauth2.allow_plain_pkce = true;
    save_provider(&s, &mut p).await;
    let res = b.get(ask(&p)).send().await.expect("authorize");
    let code = param(&location(&res), "code").expect("a code with plain PKCE");
    let exchange = |v: &'static str, code: String| {
        let p = p.clone();
        let url = format!("{}/application/o/token/", s.base_url);
        async move {
            client()
                .post(url)
                .basic_auth(&p.client_id, Some(&p.oauth2.client_secret))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", REDIRECT),
                    ("code_verifier", v),
                ])
                .send()
                .await
                .expect("token")
        }
    };
    let wrong = exchange("plain-verifier-0123456789-0123456789-WRONG-WRONG", code).await;
    assert_eq!(wrong.status(), 400);
    let res = b.get(ask(&p)).send().await.expect("authorize");
    let code = param(&location(&res), "code").expect("code");
    let ok = exchange("plain-verifier-0123456789-0123456789-0123456789", code).await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn no_jwk_of_any_key_type_carries_private_members() {
    let s = spawn_server().await;
    for (slug, alg) in [
        ("rsa", None),
        ("p256", Some(KeyAlgorithm::EcdsaP256)),
        ("p384", Some(KeyAlgorithm::EcdsaP384)),
        ("ed", Some(KeyAlgorithm::Ed25519)),
    ] {
        let mut p = create_oidc_app(&s, slug).await;
        if let Some(alg) = alg {
            p.signing_key_id = Some(add_keypair(&s, slug, alg).await.0);
            save_provider(&s, &mut p).await;
        }
        let jwks: Value = client()
            .get(format!("{}/application/o/{slug}/jwks/", s.base_url))
            .send()
            .await
            .expect("jwks")
            .json()
            .await
            .expect("json");
        let keys = jwks["keys"].as_array().expect("keys");
        assert!(!keys.is_empty(), "{slug}");
        for k in keys {
            for private in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
                assert!(k.get(private).is_none(), "{slug}: {private} in {k}");
            }
        }
    }
}

#[tokio::test]
async fn include_claims_in_id_token_decides_where_mapped_claims_go() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "app").await;
    let b = signed_in(&s).await;
    for include in [true, false] {
        p.oauth2.include_claims_in_id_token = include;
        save_provider(&s, &mut p).await;
        let body = browser_code_flow(&s, &b, &p, &[("scope", "openid email profile")]).await;
        let id = unverified_claims(body["id_token"].as_str().expect("id token"));
        assert_eq!(id.get("email").is_some(), include, "{include}: {id}");
        assert_eq!(
            id.get("preferred_username").is_some(),
            include,
            "{include}: {id}"
        );
        // Either way the mapped claims stay available from userinfo.
        let info: Value = client()
            .get(format!("{}/application/o/userinfo/", s.base_url))
            .bearer_auth(body["access_token"].as_str().expect("access token"))
            .send()
            .await
            .expect("userinfo")
            .json()
            .await
            .expect("json");
        assert!(info["email"].is_string(), "{info}");
    }
}

#[tokio::test]
async fn the_issuer_is_per_provider_or_global_as_the_provider_says() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "app").await;
    let b = signed_in(&s).await;
    for (mode, want) in [
        (
            IssuerMode::PerProvider,
            format!("{}/application/o/app/", s.base_url),
        ),
        (IssuerMode::Global, format!("{}/", s.base_url)),
    ] {
        p.oauth2.issuer_mode = mode;
        save_provider(&s, &mut p).await;
        let discovery: Value = client()
            .get(format!(
                "{}/application/o/app/.well-known/openid-configuration",
                s.base_url
            ))
            .send()
            .await
            .expect("discovery")
            .json()
            .await
            .expect("json");
        assert_eq!(discovery["issuer"], want, "{mode:?}");
        let body = browser_code_flow(&s, &b, &p, &[("scope", "openid")]).await;
        let id = unverified_claims(body["id_token"].as_str().expect("id token"));
        assert_eq!(id["iss"], want, "{mode:?}");
    }
}

#[tokio::test]
async fn access_token_validity_sets_expires_in_and_exp() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "app").await;
    let b = signed_in(&s).await;
    p.oauth2.access_token_validity = "minutes=5".into();
    save_provider(&s, &mut p).await;
    let body = browser_code_flow(&s, &b, &p, &[("scope", "openid")]).await;
    assert_eq!(body["expires_in"], 300, "{body}");
    let access = unverified_claims(body["access_token"].as_str().expect("access token"));
    let id = unverified_claims(body["id_token"].as_str().expect("id token"));
    for claims in [access, id] {
        let (iat, exp) = (claims["iat"].as_i64(), claims["exp"].as_i64());
        assert_eq!(exp.zip(iat).map(|(e, i)| e - i), Some(300), "{claims}");
    }
}

#[tokio::test]
async fn a_users_upn_attribute_is_the_subject_in_upn_mode() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "app").await;
    p.oauth2.sub_mode = SubMode::UserUpn;
    save_provider(&s, &mut p).await;
    let mut admin = s
        .service
        .find_user_by_username("akadmin")
        .await
        .expect("lookup")
        .expect("akadmin");
    let groups: Vec<String> = s
        .service
        .memberships()
        .await
        .expect("memberships")
        .into_iter()
        .filter(|(u, _)| *u == admin.id)
        .map(|(_, g)| g)
        .collect();
    admin.attributes = json!({"upn": "akadmin@corp.example"});
    s.service
        .save(
            &Object::User {
                user: admin,
                groups,
            },
            false,
        )
        .await
        .expect("saved");
    let b = signed_in(&s).await;
    let body = browser_code_flow(&s, &b, &p, &[("scope", "openid")]).await;
    let id = unverified_claims(body["id_token"].as_str().expect("id token"));
    assert_eq!(id["sub"], "akadmin@corp.example", "{id}");
}
