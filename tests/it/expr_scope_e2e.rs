//! The seed's `oauth_scopes` policy end to end, as an authentik admin would set it up: a
//! blueprint brings a group, a user outside it, a Python scope mapping for `my-admin-scope` and
//! the Python expression policy; the policy is bound to the application; then a real relying
//! party (`openidconnect`) asks for `my-admin-scope`. A member gets the scope and its claim; a
//! non-member is refused with authentik's "Permission denied" page (no code, no redirect); the
//! same non-member without the scope gets through. The policy also reads
//! `request.http_request` (path and a header) and `ak_client_ip`, which the flows now fill.

use latchkey::blueprint::Source;
use latchkey::domain::*;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    RedirectUrl, Scope, TokenResponse,
};

use crate::flows_support::{Opts, bind, html_login, jar};
use crate::oidc_flow::http_client;
use crate::server::{APP_REDIRECT, create_oidc_app};
use crate::support::{ADMIN_PASSWORD, TestServer, client, spawn_server};

const SETUP: &str = r#"version: 1
metadata:
  name: my-admin-scope
entries:
  - model: authentik_core.group
    identifiers:
      name: my-admin-group
    attrs:
      users:
        - !Find [authentik_core.user, [username, akadmin]]
  - model: authentik_core.user
    identifiers:
      username: bob
    attrs:
      name: Bob
      email: bob@example.org
      password: bob-password-12345
  - model: authentik_providers_oauth2.scopemapping
    identifiers:
      name: my-admin-scope
    attrs:
      scope_name: my-admin-scope
      description: Administrate things
      expression: |
        return {"is_admin": ak_is_group_member(request.user, name="my-admin-group")}
  - model: authentik_policies_expression.expressionpolicy
    identifiers:
      name: my-admin-scope-policy
    attrs:
      expression: |
        # Only browsers that came through the authorization endpoint, from loopback.
        if request.http_request.path != "/application/o/authorize/":
            return False
        if not request.http_request.headers.get("User-Agent", "").startswith("latchkey-test"):
            return False
        if not ak_client_ip.is_loopback:
            return False
        if "my-admin-scope" in request.context["oauth_scopes"]:
            ak_message("my-admin-scope is for my-admin-group")
            return ak_is_group_member(request.user, name="my-admin-group")
        return True
"#;

/// A browser that identifies itself (the shared jar sends no User-Agent), so the policy's
/// header check has something to read.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("latchkey-test/1")
        .build()
        .expect("client")
}

async fn setup() -> (TestServer, Provider) {
    let s = spawn_server().await;
    s.service
        .apply_blueprints(&[Source {
            file: "my-admin-scope.yaml".into(),
            text: SETUP.into(),
        }])
        .await
        .expect("the blueprint applies");
    // The provider takes every scope mapping there is, the new one included.
    let p = create_oidc_app(&s, "rp").await;
    let app = s
        .service
        .list_applications()
        .await
        .expect("apps")
        .into_iter()
        .find(|a| a.slug == "rp")
        .expect("app");
    let policy = s
        .service
        .list_policies()
        .await
        .expect("policies")
        .into_iter()
        .find(|p| p.name == "my-admin-scope-policy")
        .expect("policy");
    bind(
        &s.service,
        &app.id,
        BindingSubject::Policy(policy.id),
        Opts::default(),
    )
    .await;
    (s, p)
}

async fn oidc_client(
    s: &TestServer,
    p: &Provider,
) -> openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
> {
    let issuer = IssuerUrl::new(format!("{}/application/o/rp/", s.base_url)).expect("issuer");
    let metadata = CoreProviderMetadata::discover_async(issuer, &http_client)
        .await
        .expect("discovery");
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(p.client_id.clone()),
        Some(ClientSecret::new(p.oauth2.client_secret.clone())),
    )
    .set_redirect_uri(RedirectUrl::new(APP_REDIRECT.into()).expect("redirect"))
}

/// Signs in as `user`, then asks for `scopes`; the authorization endpoint's answer.
async fn authorize(
    s: &TestServer,
    p: &Provider,
    user: &str,
    pw: &str,
    scopes: &[&str],
) -> (reqwest::Response, Nonce) {
    let oidc = oidc_client(s, p).await;
    let mut req = oidc.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for scope in scopes {
        req = req.add_scope(Scope::new((*scope).into()));
    }
    let (url, _csrf, nonce) = req.url();
    let b = browser();
    let res = html_login(&b, &s.base_url, user, pw).await;
    assert!(res.status().is_redirection(), "{user} signs in");
    let res = b.get(url.as_str()).send().await.expect("authorize");
    (res, nonce)
}

fn code_of(res: &reqwest::Response) -> Option<String> {
    let loc = res.headers().get("location")?.to_str().ok()?;
    if !loc.starts_with(APP_REDIRECT) {
        return None;
    }
    url::Url::parse(loc)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn a_member_gets_my_admin_scope_and_its_claim() {
    let (s, p) = setup().await;
    let (res, nonce) = authorize(&s, &p, "akadmin", ADMIN_PASSWORD, &["my-admin-scope"]).await;
    let code = code_of(&res).expect("a code for the member");
    let oidc = oidc_client(&s, &p).await;
    let token = oidc
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint")
        .request_async(&http_client)
        .await
        .expect("code exchange");
    let granted: Vec<String> = token
        .scopes()
        .map(|v| v.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    assert!(
        granted.contains(&"my-admin-scope".to_string()),
        "{granted:?}"
    );
    let id_token = token.id_token().expect("id token");
    id_token
        .claims(&oidc.id_token_verifier(), &nonce)
        .expect("the id token validates");
    // The mapping's claim, read raw (openidconnect's core claims drop unknown ones).
    let userinfo: serde_json::Value = client()
        .get(format!("{}/application/o/userinfo/", s.base_url))
        .bearer_auth(token.access_token().secret())
        .send()
        .await
        .expect("userinfo")
        .json()
        .await
        .expect("json");
    assert_eq!(userinfo["is_admin"], true, "{userinfo}");
}

#[tokio::test]
async fn a_non_member_is_refused_as_authentik_refuses() {
    let (s, p) = setup().await;
    let (res, _) = authorize(&s, &p, "bob", "bob-password-12345", &["my-admin-scope"]).await;
    assert_eq!(res.status(), reqwest::StatusCode::FORBIDDEN);
    assert!(
        res.headers().get("location").is_none(),
        "no redirect to the client"
    );
    let page = res.text().await.expect("page");
    assert!(page.contains("Permission denied"), "{page}");
    assert!(
        page.contains("my-admin-scope is for my-admin-group"),
        "the policy's message is shown: {page}"
    );
    // Without the scope, the same user gets through.
    let (res, _) = authorize(&s, &p, "bob", "bob-password-12345", &["email"]).await;
    assert!(
        code_of(&res).is_some(),
        "bob gets a code without my-admin-scope"
    );
}

#[tokio::test]
async fn the_policy_reads_the_http_request() {
    let (s, p) = setup().await;
    // The same member, but a browser without the User-Agent the policy wants: refused.
    let oidc = oidc_client(&s, &p).await;
    let (url, _, _) = oidc
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .url();
    let b = jar();
    let res = html_login(&b, &s.base_url, "akadmin", ADMIN_PASSWORD).await;
    assert!(res.status().is_redirection());
    let res = b.get(url.as_str()).send().await.expect("authorize");
    assert_eq!(res.status(), reqwest::StatusCode::FORBIDDEN);
}
