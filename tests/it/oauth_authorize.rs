//! The authorization endpoint, one test per rule of docs/SECURITY.md "Authorization
//! endpoint": pages before the client is trusted, redirects with `error`, `state` and `iss` after.

use latchkey::domain::*;
use latchkey::store::{self};

use crate::flows_support::{Opts, add_user, bind, html_login, jar};
use crate::server::{create_oidc_app, flow_id, save_provider};
use crate::support::{ADMIN_PASSWORD, TestServer, spawn_server};

const REDIRECT: &str = "http://localhost:8080/cb";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn authorize(s: &TestServer, query: &str) -> String {
    format!("{}/application/o/authorize/?{query}", s.base_url)
}

fn location(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn param(url: &str, key: &str) -> Option<String> {
    let q = url.split_once(['?', '#'])?.1;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

async fn logged_in_browser(s: &TestServer) -> reqwest::Client {
    let b = jar();
    let res = html_login(&b, &s.base_url, "akadmin", ADMIN_PASSWORD).await;
    assert!(res.status().is_redirection(), "login failed");
    b
}

async fn use_implicit_consent(s: &TestServer, p: &mut Provider) {
    use_flow(s, p, "default-provider-authorization-implicit-consent").await;
}

async fn use_flow(s: &TestServer, p: &mut Provider, slug: &str) {
    p.authorization_flow_id = Some(flow_id(s, slug).await);
    save_provider(s, p).await;
}

#[tokio::test]
async fn untrusted_client_or_redirect_uri_gets_a_page_never_a_redirect() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let b = jar();
    let enc = |v: &str| -> String { form_urlencoded::byte_serialize(v.as_bytes()).collect() };
    for query in [
        "response_type=code&client_id=unknown&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcb"
            .to_string(),
        format!("response_type=code&client_id={}", p.client_id),
        format!(
            "response_type=code&client_id={}&redirect_uri={}",
            p.client_id,
            enc("http://evil.example/cb")
        ),
        format!(
            "response_type=code&client_id={}&redirect_uri={}",
            p.client_id,
            enc("http://localhost:8080/cb/")
        ),
        format!(
            "response_type=code&client_id={}&redirect_uri={}",
            p.client_id,
            enc("javascript:alert(1)")
        ),
        format!(
            "response_type=code&client_id={}&redirect_uri={}&redirect_uri={}",
            p.client_id,
            enc(REDIRECT),
            enc("http://evil.example/cb")
        ),
        String::new(),
    ] {
        let res = b.get(authorize(&s, &query)).send().await.expect("get");
        assert_eq!(res.status(), 400, "{query}");
        assert!(location(&res).is_none(), "never a redirect: {query}");
        assert_eq!(res.headers()["x-frame-options"], "DENY");
        let body = res.text().await.expect("body");
        assert!(body.contains("Authorization failed"), "{body}");
    }
}

#[tokio::test]
async fn later_errors_go_back_with_error_state_and_iss() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let b = jar();
    let base = format!(
        "client_id={}&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcb&state=a%20b%26c",
        p.client_id
    );
    let iss = format!("{}/application/o/app/", s.base_url);
    for (extra, error) in [
        ("response_type=magic", "unsupported_response_type"),
        ("", "invalid_request"),
        ("response_type=code&request=eyJ", "request_not_supported"),
        (
            "response_type=code&request_uri=https%3A%2F%2Fx",
            "request_uri_not_supported",
        ),
        (
            "response_type=code&scope=openid&scope=email",
            "invalid_request",
        ),
        ("response_type=code&max_age=soon", "invalid_request"),
        ("response_type=code&max_age=-1", "invalid_request"),
        (
            "response_type=id_token&scope=email&nonce=n",
            "invalid_scope",
        ),
        ("response_type=id_token&scope=openid", "invalid_request"),
        (
            "response_type=id_token&scope=openid&nonce=n&response_mode=query",
            "invalid_request",
        ),
        (
            &format!("response_type=code&code_challenge={CHALLENGE}&code_challenge_method=plain"),
            "invalid_request",
        ),
        (
            "response_type=code&code_challenge=short&code_challenge_method=S256",
            "invalid_request",
        ),
    ] {
        let res = b
            .get(authorize(&s, &format!("{base}&{extra}")))
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), 302, "{extra}");
        let loc = location(&res).expect("location");
        assert!(loc.starts_with(REDIRECT), "{loc}");
        assert_eq!(
            param(&loc, "error").as_deref(),
            Some(error),
            "{extra}: {loc}"
        );
        assert_eq!(
            param(&loc, "state").as_deref(),
            Some("a b&c"),
            "state round-trips"
        );
        assert!(
            loc.contains("state=a+b%26c"),
            "state is percent-encoded: {loc}"
        );
        assert_eq!(param(&loc, "iss").as_deref(), Some(iss.as_str()));
    }
}

#[tokio::test]
async fn public_clients_must_use_pkce() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "app").await;
    p.oauth2.client_type = ClientType::Public;
    save_provider(&s, &mut p).await;
    let res = jar()
        .get(authorize(
            &s,
            &format!(
                "response_type=code&client_id={}&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcb",
                p.client_id
            ),
        ))
        .send()
        .await
        .expect("get");
    let loc = location(&res).expect("location");
    assert_eq!(param(&loc, "error").as_deref(), Some("invalid_request"));
}

#[tokio::test]
async fn unauthenticated_users_go_to_the_login_flow_and_prompt_none_never_shows_ui() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "app").await;
    use_flow(
        &s,
        &mut p,
        "default-provider-authorization-explicit-consent",
    )
    .await;
    let q = format!(
        "response_type=code&client_id={}&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcb&state=s",
        p.client_id
    );
    let res = jar().get(authorize(&s, &q)).send().await.expect("get");
    assert_eq!(res.status(), 302);
    let loc = location(&res).expect("location");
    assert!(
        loc.starts_with(
            "/if/flow/default-authentication-flow/?next=%2Fapplication%2Fo%2Fauthorize%2F"
        ),
        "{loc}"
    );
    let res = jar()
        .get(authorize(&s, &format!("{q}&prompt=none")))
        .send()
        .await
        .expect("get");
    let loc = location(&res).expect("location");
    assert!(loc.starts_with(REDIRECT));
    assert_eq!(param(&loc, "error").as_deref(), Some("login_required"));
    // Logged in, but the explicit-consent flow needs the user: consent_required, no page.
    let b = logged_in_browser(&s).await;
    let res = b
        .get(authorize(&s, &format!("{q}&prompt=none")))
        .send()
        .await
        .expect("get");
    let loc = location(&res).expect("location");
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("consent_required"),
        "{loc}"
    );
}

#[tokio::test]
async fn implicit_consent_answers_at_once_and_code_is_single_use_data() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "app").await;
    use_implicit_consent(&s, &mut p).await;
    let b = logged_in_browser(&s).await;
    let q = format!(
        "response_type=code&client_id={}&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcb&state=xyz&scope=openid",
        p.client_id
    );
    let res = b.get(authorize(&s, &q)).send().await.expect("get");
    let loc = location(&res).expect("location");
    assert!(loc.starts_with(&format!("{REDIRECT}?code=")), "{loc}");
    assert_eq!(param(&loc, "state").as_deref(), Some("xyz"));
    let events = s.service.recent_events(20).await.expect("events");
    let authorized = events
        .iter()
        .find(|e| e.action == "authorize_application")
        .expect("authorize_application recorded");
    // The user column names who authorized (it was empty though the user id was stored).
    assert_eq!(authorized.username, "akadmin");
    assert_eq!(authorized.origin, "http");
    assert_eq!(authorized.client_ip, "127.0.0.1");
    assert_eq!(authorized.app, "app");
}

#[tokio::test]
async fn prompt_login_reauthenticates() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "app").await;
    use_implicit_consent(&s, &mut p).await;
    let b = logged_in_browser(&s).await;
    let q = format!(
        "response_type=code&client_id={}&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcb&prompt=login",
        p.client_id
    );
    let res = b.get(authorize(&s, &q)).send().await.expect("get");
    let loc = location(&res).expect("location");
    assert!(
        loc.starts_with("/if/flow/default-authentication-flow/"),
        "{loc}"
    );
    assert!(
        !loc.contains("prompt"),
        "the way back does not ask again: {loc}"
    );
    // The session was ended: the same browser is anonymous now.
    let q2 = format!(
        "response_type=code&client_id={}&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcb&prompt=none",
        p.client_id
    );
    let res = b.get(authorize(&s, &q2)).send().await.expect("get");
    assert_eq!(
        param(&location(&res).expect("loc"), "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn application_policies_decide_before_a_code_is_minted() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "app").await;
    use_implicit_consent(&s, &mut p).await;
    let outsider = add_user(
        &s.service,
        "outsider",
        "o@example.com",
        "outsider-password-1",
    )
    .await;
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
        .find(|a| a.slug == "app")
        .expect("app");
    bind(
        &s.service,
        &app.id,
        BindingSubject::Group(admins.id),
        Opts::default(),
    )
    .await;
    let b = jar();
    let res = html_login(&b, &s.base_url, &outsider.username, "outsider-password-1").await;
    assert!(res.status().is_redirection());
    let q = format!(
        "response_type=code&client_id={}&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcb",
        p.client_id
    );
    let res = b.get(authorize(&s, &q)).send().await.expect("get");
    // As authentik does: a "Permission denied" page, no redirect to the client, no code.
    assert_eq!(res.status(), reqwest::StatusCode::FORBIDDEN);
    assert!(location(&res).is_none());
    let page = res.text().await.expect("body");
    assert!(page.contains("Permission denied"), "{page}");
    // A member gets through.
    let admin = logged_in_browser(&s).await;
    let res = admin.get(authorize(&s, &q)).send().await.expect("get");
    assert!(param(&location(&res).expect("loc"), "code").is_some());
}

#[tokio::test]
async fn an_inactive_user_with_a_live_session_cannot_authorize() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "app").await;
    use_implicit_consent(&s, &mut p).await;
    let b = logged_in_browser(&s).await;
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
    let q = format!(
        "response_type=code&client_id={}&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcb&prompt=none",
        p.client_id
    );
    let res = b.get(authorize(&s, &q)).send().await.expect("get");
    let loc = location(&res).expect("location");
    assert!(param(&loc, "code").is_none(), "{loc}");
    assert_eq!(param(&loc, "error").as_deref(), Some("login_required"));
}

#[tokio::test]
async fn implicit_id_token_goes_in_the_fragment_and_form_post_escapes() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "app").await;
    use_implicit_consent(&s, &mut p).await;
    let b = logged_in_browser(&s).await;
    let q = format!(
        "response_type=id_token%20token&client_id={}&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcb&scope=openid&nonce=n1&state=st",
        p.client_id
    );
    let res = b.get(authorize(&s, &q)).send().await.expect("get");
    let loc = location(&res).expect("location");
    let (before, fragment) = loc.split_once('#').expect("fragment");
    assert_eq!(before, REDIRECT, "nothing in the query: {loc}");
    for key in [
        "id_token",
        "access_token",
        "token_type",
        "expires_in",
        "state",
        "iss",
    ] {
        assert!(fragment.contains(&format!("{key}=")), "{key} in {fragment}");
    }
    let q = format!(
        "response_type=code&client_id={}&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcb&response_mode=form_post&state=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        p.client_id
    );
    let res = b.get(authorize(&s, &q)).send().await.expect("get");
    assert_eq!(res.status(), 200);
    // The form posts to the client's origin only; the shared page shell's brand logo may load.
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(csp.contains("form-action http://localhost:8080;"), "{csp}");
    assert!(csp.contains("img-src 'self' data: https:;"), "{csp}");
    assert!(!csp.contains("script-src"), "{csp}");
    let page = res.text().await.expect("page");
    assert!(!page.contains("<script>alert(1)"), "{page}");
    assert!(
        page.contains("&quot;&gt;&lt;script&gt;") || page.contains("&#x22;&gt;&lt;script"),
        "{page}"
    );
    assert!(page.contains("action=\"http://localhost:8080/cb\""));
}
