//! RP-initiated logout: exact post_logout_redirect_uri, verified id_token_hint, state forwarded,
//! and the session really ends.

use latchkey::domain::redirect::RedirectUri;
use latchkey::domain::*;
use serde_json::Value;

use crate::flows_support::{add_whoami, html_login, jar, logged_in};
use crate::server::{client_credentials, create_oidc_app, save_provider};
use crate::support::{ADMIN_PASSWORD, TestServer, client, spawn_server};

const LOGGED_OUT: &str = "https://app.example.com/logged-out";

async fn with_logout_uri(s: &TestServer, slug: &str) -> Provider {
    let mut p = create_oidc_app(s, slug).await;
    p.oauth2.redirect_uris.push(RedirectUri {
        matching_mode: MatchingMode::Strict,
        url: LOGGED_OUT.into(),
        redirect_uri_type: RedirectUriType::Logout,
    });
    save_provider(s, &mut p).await;
    p
}

async fn id_token(s: &TestServer, p: &Provider) -> String {
    let body: Value = client_credentials(s, p, "openid")
        .await
        .json()
        .await
        .expect("json");
    body["id_token"].as_str().expect("id_token").to_string()
}

fn end_session(s: &TestServer, slug: &str) -> String {
    format!("{}/application/o/{slug}/end-session/", s.base_url)
}

#[tokio::test]
async fn logout_ends_the_session_and_returns_with_state() {
    let s = spawn_server().await;
    let p = with_logout_uri(&s, "app").await;
    let hint = id_token(&s, &p).await;
    add_whoami(&s.service).await;
    let b = jar();
    assert!(
        html_login(&b, &s.base_url, "akadmin", ADMIN_PASSWORD)
            .await
            .status()
            .is_redirection()
    );
    assert!(logged_in(&b, &s.base_url).await);
    let res = b
        .get(end_session(&s, "app"))
        .query(&[
            ("id_token_hint", hint.as_str()),
            ("post_logout_redirect_uri", LOGGED_OUT),
            ("state", "s 1&x"),
        ])
        .send()
        .await
        .expect("end session");
    assert_eq!(res.status(), 302);
    assert_eq!(
        res.headers()["location"].to_str().expect("ascii"),
        format!("{LOGGED_OUT}?state=s+1%26x")
    );
    assert!(!logged_in(&b, &s.base_url).await, "the session is gone");
    let events = s.service.recent_events(10).await.expect("events");
    assert!(events.iter().any(|e| e.action == "logout"));
}

#[tokio::test]
async fn post_works_and_without_a_redirect_a_page_is_shown() {
    let s = spawn_server().await;
    with_logout_uri(&s, "app").await;
    add_whoami(&s.service).await;
    let b = jar();
    assert!(
        html_login(&b, &s.base_url, "akadmin", ADMIN_PASSWORD)
            .await
            .status()
            .is_redirection()
    );
    let res = b
        .post(end_session(&s, "app"))
        .form(&[("x", "y")])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 200);
    assert!(res.text().await.expect("page").contains("signed out"));
    assert!(!logged_in(&b, &s.base_url).await);
}

#[tokio::test]
async fn unregistered_or_authorization_only_redirects_are_refused_and_nothing_ends() {
    let s = spawn_server().await;
    with_logout_uri(&s, "app").await;
    add_whoami(&s.service).await;
    let b = jar();
    assert!(
        html_login(&b, &s.base_url, "akadmin", ADMIN_PASSWORD)
            .await
            .status()
            .is_redirection()
    );
    for uri in [
        "https://evil.example/",
        "https://app.example.com/logged-out/",
        // Registered, but for authorization only.
        "http://localhost:8080/cb",
    ] {
        let res = b
            .get(end_session(&s, "app"))
            .query(&[("post_logout_redirect_uri", uri)])
            .send()
            .await
            .expect("end session");
        assert_eq!(res.status(), 400, "{uri}");
        assert!(res.headers().get("location").is_none());
        assert!(
            logged_in(&b, &s.base_url).await,
            "still signed in after {uri}"
        );
    }
}

#[tokio::test]
async fn id_token_hint_must_be_ours_for_this_client() {
    let s = spawn_server().await;
    let p = with_logout_uri(&s, "app").await;
    let other = create_oidc_app(&s, "other").await;
    let foreign = id_token(&s, &other).await;
    let mine = id_token(&s, &p).await;
    let mut tampered = mine.clone();
    tampered.pop();
    tampered.push(if mine.ends_with('A') { 'B' } else { 'A' });
    for hint in [foreign.as_str(), tampered.as_str(), "not-a-jwt"] {
        let res = client()
            .get(end_session(&s, "app"))
            .query(&[
                ("id_token_hint", hint),
                ("post_logout_redirect_uri", LOGGED_OUT),
            ])
            .send()
            .await
            .expect("end session");
        assert_eq!(res.status(), 400);
    }
    let res = client()
        .get(end_session(&s, "app"))
        .query(&[
            ("id_token_hint", mine.as_str()),
            ("post_logout_redirect_uri", LOGGED_OUT),
        ])
        .send()
        .await
        .expect("end session");
    assert_eq!(res.status(), 302);
    let res = client()
        .get(end_session(&s, "nope"))
        .send()
        .await
        .expect("unknown");
    assert_eq!(res.status(), 404);
}
