//! A real relying-party library (`openidconnect`) against a real listener: discovery → authorize
//! → login form → consent → code → tokens → ID token validation → userinfo → refresh → revoke →
//! introspect, for a confidential client and a public PKCE client, with RS256 and ES256 keys.

use latchkey::crypto::keys::{self, KeyAlgorithm};
use latchkey::domain::*;
use latchkey::store::{self, Topic};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, RefreshToken, Scope, TokenResponse,
};

use crate::flows_support::{hidden, jar};
use crate::server::create_oidc_app;
use crate::support::{ADMIN_PASSWORD, TestServer, client, spawn_server};

const REDIRECT: &str = "http://localhost:8080/cb";

/// openidconnect's HTTP seam, served by reqwest 0.13 (no redirects followed, per the spec).
pub(crate) async fn http_client(
    req: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, reqwest::Error> {
    let (parts, body) = req.into_parts();
    let mut builder = client()
        .request(parts.method, parts.uri.to_string())
        .body(body);
    for (name, value) in parts.headers.iter() {
        builder = builder.header(name, value);
    }
    let res = builder.send().await?;
    let mut out = http::Response::builder().status(res.status());
    for (name, value) in res.headers() {
        out = out.header(name, value);
    }
    let bytes = res.bytes().await?.to_vec();
    Ok(out.body(bytes).unwrap_or_default())
}

async fn use_flow(s: &TestServer, provider: &mut Provider, flow_slug: &str) {
    let flow = s
        .service
        .list_flows()
        .await
        .expect("flows")
        .into_iter()
        .find(|f| f.slug == flow_slug)
        .expect("flow");
    provider.authorization_flow_id = Some(flow.id);
    let mut tx = s.service.store().write_tx().await.expect("tx");
    store::providers::update(tx.conn(), provider)
        .await
        .expect("update");
    tx.touch(Topic::Providers);
    tx.commit().await.expect("commit");
    provider.version += 1;
}

async fn use_key(s: &TestServer, provider: &mut Provider, alg: KeyAlgorithm) {
    let pair = keys::generate_self_signed("rp-test", &[], 30, alg).expect("gen");
    let kp = latchkey::crypto::keys::keypair_from_pem(
        &new_id(),
        &format!("key-{}", new_id()),
        &pair.certificate_pem,
        Some(&pair.key_pem),
        None,
    )
    .expect("keypair");
    provider.signing_key_id = Some(kp.id.clone());
    let mut tx = s.service.store().write_tx().await.expect("tx");
    store::certificates::insert(tx.conn(), &kp)
        .await
        .expect("key");
    store::providers::update(tx.conn(), provider)
        .await
        .expect("update");
    tx.touch(Topic::Providers);
    tx.commit().await.expect("commit");
    provider.version += 1;
}

/// Follows the browser's way: authorize → login flow → consent → back to the client.
/// Returns the final redirect to the client.
async fn browse(s: &TestServer, authorize_url: &str) -> String {
    browse_as(&s.base_url, authorize_url, REDIRECT, ADMIN_PASSWORD).await
}

/// A browser (cookie jar, redirects by hand) that signs in as akadmin with `password`, consents,
/// and returns the redirect back to the client (the first Location starting with `redirect`).
pub(crate) async fn browse_as(
    base_url: &str,
    authorize_url: &str,
    redirect: &str,
    password: &str,
) -> String {
    let browser = jar();
    let mut url = authorize_url.to_string();
    for _ in 0..20 {
        let res = browser.get(&url).send().await.expect("get");
        let status = res.status().as_u16();
        if (300..400).contains(&status) {
            let loc = res.headers()["location"]
                .to_str()
                .expect("ascii")
                .to_string();
            if loc.starts_with(redirect) {
                return loc;
            }
            url = if loc.starts_with('/') {
                format!("{}{loc}", base_url)
            } else {
                loc
            };
            continue;
        }
        assert_eq!(status, 200, "unexpected page at {url}");
        let page = res.text().await.expect("page");
        let component = hidden(&page, "component").unwrap_or_default();
        let mut form = vec![
            (
                "csrf".to_string(),
                hidden(&page, "csrf").unwrap_or_default(),
            ),
            ("component".to_string(), component.clone()),
        ];
        match component.as_str() {
            "ak-stage-identification" => form.push(("uid_field".into(), "akadmin".into())),
            "ak-stage-password" => form.push(("password".into(), password.into())),
            "ak-stage-consent" => form.push((
                "token".into(),
                hidden(&page, "token").expect("consent token"),
            )),
            other => panic!("unexpected challenge {other}: {page}"),
        }
        let res = browser.post(&url).form(&form).send().await.expect("post");
        let status = res.status().as_u16();
        assert!((300..400).contains(&status) || status == 200, "{status}");
        if (300..400).contains(&status) {
            let loc = res.headers()["location"]
                .to_str()
                .expect("ascii")
                .to_string();
            if loc.starts_with(redirect) {
                return loc;
            }
            url = if loc.starts_with('/') {
                format!("{}{loc}", base_url)
            } else {
                loc
            };
        }
    }
    panic!("the browser never came back to the client");
}

fn query_param(url: &str, key: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

async fn full_flow(public: bool, alg: Option<KeyAlgorithm>, consent_flow: &str) {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "rp").await;
    use_flow(&s, &mut p, consent_flow).await;
    if let Some(alg) = alg {
        use_key(&s, &mut p, alg).await;
    }
    if public {
        p.oauth2.client_type = ClientType::Public;
        let mut tx = s.service.store().write_tx().await.expect("tx");
        store::providers::update(tx.conn(), &p)
            .await
            .expect("update");
        tx.touch(Topic::Providers);
        tx.commit().await.expect("commit");
    }
    let issuer = IssuerUrl::new(format!("{}/application/o/rp/", s.base_url)).expect("issuer");
    let metadata = CoreProviderMetadata::discover_async(issuer, &http_client)
        .await
        .expect("discovery");
    let secret = (!public).then(|| ClientSecret::new(p.oauth2.client_secret.clone()));
    let oidc =
        CoreClient::from_provider_metadata(metadata, ClientId::new(p.client_id.clone()), secret)
            .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("redirect"));
    let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = oidc
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(pkce_challenge)
        .url();
    let back = browse(&s, auth_url.as_str()).await;
    assert_eq!(
        query_param(&back, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(
        query_param(&back, "iss").as_deref(),
        Some(format!("{}/application/o/rp/", s.base_url).as_str()),
        "RFC 9207 iss parameter"
    );
    let code = query_param(&back, "code").expect("code");
    let token = oidc
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint known")
        .set_pkce_verifier(pkce_verifier)
        .request_async(&http_client)
        .await
        .expect("code exchange");
    let id_token = token.id_token().expect("id token");
    let verifier = oidc.id_token_verifier();
    let claims = id_token
        .claims(&verifier, &nonce)
        .expect("id token validates");
    let at_hash = AccessTokenHash::from_token(
        token.access_token(),
        id_token.signing_alg().expect("alg"),
        id_token.signing_key(&verifier).expect("key"),
    )
    .expect("hash");
    assert_eq!(claims.access_token_hash(), Some(&at_hash));
    assert_eq!(claims.email().map(|e| e.as_str()), Some("root@localhost"));
    let userinfo: CoreUserInfoClaims = oidc
        .user_info(token.access_token().clone(), None)
        .expect("userinfo endpoint known")
        .request_async(&http_client)
        .await
        .expect("userinfo");
    assert_eq!(userinfo.subject(), claims.subject());
    assert_eq!(
        userinfo.preferred_username().map(|u| u.as_str()),
        Some("akadmin")
    );
    let refresh = token
        .refresh_token()
        .expect("refresh token with offline_access");
    let refreshed = oidc
        .exchange_refresh_token(refresh)
        .expect("token endpoint")
        .request_async(&http_client)
        .await
        .expect("refresh");
    let new_refresh = refreshed.refresh_token().expect("rotated").secret().clone();
    assert_ne!(&new_refresh, refresh.secret());
    if !public {
        // Revoke and introspect need client authentication (confidential clients).
        let introspect = |t: String| {
            let (url, id, sec) = (
                format!("{}/application/o/introspect/", s.base_url),
                p.client_id.clone(),
                p.oauth2.client_secret.clone(),
            );
            async move {
                client()
                    .post(url)
                    .basic_auth(id, Some(sec))
                    .form(&[("token", t)])
                    .send()
                    .await
                    .expect("introspect")
                    .json::<serde_json::Value>()
                    .await
                    .expect("json")
            }
        };
        let at = refreshed.access_token().secret().clone();
        assert_eq!(introspect(at.clone()).await["active"], true);
        let res = client()
            .post(format!("{}/application/o/revoke/", s.base_url))
            .basic_auth(&p.client_id, Some(&p.oauth2.client_secret))
            .form(&[("token", new_refresh.as_str())])
            .send()
            .await
            .expect("revoke");
        assert_eq!(res.status(), 200);
        assert_eq!(
            introspect(at).await["active"],
            false,
            "revoking the refresh token ends the grant"
        );
    }
    // The rotated-away refresh token is dead.
    assert!(
        oidc.exchange_refresh_token(&RefreshToken::new(refresh.secret().clone()))
            .expect("token endpoint")
            .request_async(&http_client)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn confidential_client_rs256_with_explicit_consent() {
    full_flow(
        false,
        None,
        "default-provider-authorization-explicit-consent",
    )
    .await;
}

#[tokio::test]
async fn public_pkce_client_es256_with_implicit_consent() {
    full_flow(
        true,
        Some(KeyAlgorithm::EcdsaP256),
        "default-provider-authorization-implicit-consent",
    )
    .await;
}
