//! OpenID Connect logout towards relying parties. Back-Channel Logout 1.0, against a relying
//! party listening on 127.0.0.1:0: a session that got tokens ends (end-session, or revoked in
//! the console) and the provider's `logout_uri` receives a Logout Token that verifies against
//! JWKS and names the session. Front-Channel Logout 1.0: the sign-out page loads the logout
//! URI with `iss` and `sid` in an iframe that its CSP allows.

use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use latchkey::domain::*;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::flows_support::{
    api_get, api_post, flow_url, get_page, hidden, html_login, jar, post_form,
};
use crate::server::{browser_code_flow, create_oidc_app, save_provider, verify_jwt};
use crate::support::{ADMIN_PASSWORD, TestServer, client, spawn_server};

/// A relying party's back-channel endpoint: every POSTed `logout_token` arrives on the channel.
async fn relying_party() -> (String, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel::<String>();
    let app = axum::Router::new()
        .route(
            "/backchannel",
            post(
                |State(tx): State<mpsc::UnboundedSender<String>>,
                 axum::extract::Form(form): axum::extract::Form<
                    std::collections::HashMap<String, String>,
                >| async move {
                    if let Some(t) = form.get("logout_token") {
                        let _ = tx.send(t.clone());
                    }
                    axum::http::StatusCode::OK
                },
            ),
        )
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/backchannel"), rx)
}

async fn set_logout(s: &TestServer, p: &mut Provider, uri: &str, method: LogoutMethod) {
    p.oauth2.logout_uri = uri.into();
    p.oauth2.logout_method = method;
    save_provider(s, p).await;
}

/// A browser signed in as the admin.
async fn signed_in(s: &TestServer) -> reqwest::Client {
    let b = jar();
    assert!(
        html_login(&b, &s.base_url, "akadmin", ADMIN_PASSWORD)
            .await
            .status()
            .is_redirection()
    );
    b
}

/// Runs the code flow for `p` in the browser's session; returns the ID token's claims (the
/// session's `sid` among them).
async fn tokens_in(s: &TestServer, b: &reqwest::Client, p: &Provider, slug: &str) -> Value {
    let body = browser_code_flow(s, b, p, &[("scope", "openid")]).await;
    let id_token = body["id_token"].as_str().expect("id_token");
    verify(s, p, slug, id_token, None).await
}

/// Verifies a JWT against the application's JWKS and checks its `typ`; returns its claims.
async fn verify(s: &TestServer, p: &Provider, slug: &str, jwt: &str, typ: Option<&str>) -> Value {
    let header = jsonwebtoken::decode_header(jwt).expect("header");
    assert_eq!(header.typ.as_deref(), typ, "typ header");
    verify_jwt(s, slug, &p.client_id, jwt).await.1
}

async fn next_token(rx: &mut mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a logout token within 10 s")
        .expect("token")
}

fn check_logout_claims(claims: &Value, id_claims: &Value) {
    assert_eq!(claims["sid"], id_claims["sid"], "the ended session");
    assert_eq!(claims["sub"], id_claims["sub"]);
    assert!(
        claims["events"]
            .get("http://schemas.openid.net/event/backchannel-logout")
            .is_some_and(Value::is_object),
        "{claims}"
    );
    assert!(
        claims.get("nonce").is_none(),
        "a Logout Token never has a nonce"
    );
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    assert!(claims["iat"].as_i64() <= claims["exp"].as_i64());
}

#[tokio::test]
async fn end_session_sends_a_verifiable_logout_token_to_the_relying_party() {
    let s = spawn_server().await;
    let (rp, mut rx) = relying_party().await;
    let mut p = create_oidc_app(&s, "app").await;
    set_logout(&s, &mut p, &rp, LogoutMethod::Backchannel).await;
    let doc: Value = client()
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
    assert_eq!(doc["backchannel_logout_supported"], true);
    assert_eq!(doc["backchannel_logout_session_supported"], true);

    let browser = signed_in(&s).await;
    let id_claims = tokens_in(&s, &browser, &p, "app").await;
    assert!(id_claims["sid"].as_str().is_some_and(|x| !x.is_empty()));
    let res = browser
        .get(format!("{}/application/o/app/end-session/", s.base_url))
        .send()
        .await
        .expect("end session");
    assert!(res.status().is_success() || res.status().is_redirection());
    let token = next_token(&mut rx).await;
    let claims = verify(&s, &p, "app", &token, Some("logout+jwt")).await;
    check_logout_claims(&claims, &id_claims);
}

#[tokio::test]
async fn a_session_revoked_in_the_console_is_announced_and_others_are_not() {
    let s = spawn_server().await;
    let (rp, mut rx) = relying_party().await;
    let mut p = create_oidc_app(&s, "app").await;
    set_logout(&s, &mut p, &rp, LogoutMethod::Backchannel).await;
    // A second provider with a front-channel URI and a third with none: neither is POSTed to.
    let (rp_front, mut rx_front) = relying_party().await;
    let mut front = create_oidc_app(&s, "front").await;
    set_logout(&s, &mut front, &rp_front, LogoutMethod::Frontchannel).await;

    // Both providers issue tokens in the same session.
    let browser = signed_in(&s).await;
    let id_claims = tokens_in(&s, &browser, &p, "app").await;
    let front_claims = tokens_in(&s, &browser, &front, "front").await;
    assert_eq!(front_claims["sid"], id_claims["sid"], "one session");
    let sessions = s.service.list_sessions().await.expect("sessions");
    let target = sessions
        .iter()
        .find(|x| {
            latchkey::crypto::secrets::digest(&x.id) == id_claims["sid"].as_str().unwrap_or("")
        })
        .expect("the session the tokens were issued in");
    let outcome = latchkey::console::actions::execute(
        &s.service,
        latchkey::console::actions::Request::RevokeSession {
            id: target.id.clone(),
            label: "test".into(),
        },
    )
    .await;
    assert!(
        matches!(outcome, latchkey::console::actions::Outcome::Saved(_)),
        "{outcome:?}"
    );
    let token = next_token(&mut rx).await;
    check_logout_claims(
        &verify(&s, &p, "app", &token, Some("logout+jwt")).await,
        &id_claims,
    );
    // Only this session's back-channel party: nothing else arrives.
    let extra = tokio::time::timeout(Duration::from_millis(800), rx.recv()).await;
    assert!(extra.is_err(), "one token for one session");
    let front_got = tokio::time::timeout(Duration::from_millis(800), rx_front.recv()).await;
    assert!(
        front_got.is_err(),
        "front-channel and other sessions get no POST"
    );
}

#[tokio::test]
async fn end_session_loads_front_channel_logout_uris_in_iframes_with_iss_and_sid() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "front").await;
    set_logout(
        &s,
        &mut p,
        "https://rp.example/fc-logout?x=1",
        LogoutMethod::Frontchannel,
    )
    .await;
    let doc: Value = client()
        .get(format!(
            "{}/application/o/front/.well-known/openid-configuration",
            s.base_url
        ))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    assert_eq!(doc["frontchannel_logout_supported"], true);
    assert_eq!(doc["frontchannel_logout_session_supported"], true);

    let browser = signed_in(&s).await;
    let claims = tokens_in(&s, &browser, &p, "front").await;
    let sid = claims["sid"].as_str().expect("sid").to_string();
    let res = browser
        .get(format!("{}/application/o/front/end-session/", s.base_url))
        .send()
        .await
        .expect("end session");
    assert_eq!(res.status().as_u16(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(csp.contains("frame-src https://rp.example"), "{csp}");
    assert!(csp.contains("script-src 'none'"), "{csp}");
    let page = res.text().await.expect("page");
    let iss = form_urlencoded::Serializer::new(String::new())
        .append_pair("iss", &format!("{}/application/o/front/", s.base_url))
        .append_pair("sid", &sid)
        .finish();
    let expected = format!(
        "https://rp.example/fc-logout?x=1&amp;{}",
        iss.replace('&', "&amp;")
    );
    assert!(
        page.contains(&format!("<iframe src=\"{expected}\"")),
        "{page}"
    );
    assert!(
        s.service
            .list_sessions()
            .await
            .expect("sessions")
            .is_empty(),
        "the session ended"
    );
    // Signed out already: no session, no iframes.
    let again = browser
        .get(format!("{}/application/o/front/end-session/", s.base_url))
        .send()
        .await
        .expect("again")
        .text()
        .await
        .expect("page");
    assert!(!again.contains("<iframe"), "{again}");
}

const LOGOUT_FLOW: &str = "default-invalidation-flow";

/// The front-channel URL the relying party must be sent for `sid` (raw, not HTML-escaped).
fn front_url(s: &TestServer, slug: &str, sid: &str) -> String {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("iss", &format!("{}/application/o/{slug}/", s.base_url))
        .append_pair("sid", sid)
        .finish();
    format!("https://rp.example/fc-logout?x=1&{q}")
}

#[tokio::test]
async fn a_logout_flow_shows_front_channel_iframes_then_goes_on() {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "front").await;
    set_logout(
        &s,
        &mut p,
        "https://rp.example/fc-logout?x=1",
        LogoutMethod::Frontchannel,
    )
    .await;

    // Without front-channel tokens in the session, the logout flow redirects at once.
    let plain = signed_in(&s).await;
    let (status, _) = get_page(&plain, &s.base_url, LOGOUT_FLOW).await;
    assert_eq!(
        status, 303,
        "no iframe page when no relying party needs one"
    );

    // HTML: the iframe page (CSP allows exactly the RP's origin), then Continue goes on.
    let browser = signed_in(&s).await;
    let claims = tokens_in(&s, &browser, &p, "front").await;
    let sid = claims["sid"].as_str().expect("sid").to_string();
    let res = browser
        .get(flow_url(&s.base_url, LOGOUT_FLOW))
        .send()
        .await
        .expect("logout flow");
    assert_eq!(res.status().as_u16(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(csp.ends_with("frame-src https://rp.example"), "{csp}");
    assert!(csp.contains("script-src 'none'"), "{csp}");
    let page = res.text().await.expect("page");
    let expected = front_url(&s, "front", &sid).replace('&', "&amp;");
    assert!(
        page.contains(&format!("<iframe src=\"{expected}\"")),
        "{page}"
    );
    assert!(page.contains(&p.name), "names the provider: {page}");
    assert_eq!(
        hidden(&page, "component").as_deref(),
        Some("ak-provider-iframe-logout")
    );
    assert!(
        s.service
            .list_sessions()
            .await
            .expect("sessions")
            .is_empty(),
        "both browsers are signed out (the first by its own logout flow)"
    );
    let next = post_form(&browser, &s.base_url, LOGOUT_FLOW, &page, &[]).await;
    assert_eq!(next.status().as_u16(), 303);
    let to = next.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    let plain_again = plain
        .get(flow_url(&s.base_url, LOGOUT_FLOW))
        .send()
        .await
        .expect("plain logout");
    assert_eq!(
        plain_again.headers()["location"].to_str().expect("ascii"),
        to,
        "Continue goes where the logout flow goes"
    );

    // JSON executor: authentik's ak-provider-iframe-logout challenge, then the redirect.
    let api = signed_in(&s).await;
    let claims = tokens_in(&s, &api, &p, "front").await;
    let sid = claims["sid"].as_str().expect("sid").to_string();
    let c = api_get(&api, &s.base_url, LOGOUT_FLOW).await;
    assert_eq!(c["component"], "ak-provider-iframe-logout", "{c}");
    assert_eq!(c["logout_urls"][0]["url"], front_url(&s, "front", &sid));
    assert_eq!(c["logout_urls"][0]["provider_name"], p.name);
    let done = api_post(
        &api,
        &s.base_url,
        LOGOUT_FLOW,
        serde_json::json!({"component": "ak-provider-iframe-logout"}),
    )
    .await;
    assert_eq!(done["component"], "xak-flow-redirect", "{done}");
    assert_eq!(done["to"], to);
}
