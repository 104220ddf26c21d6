//! Brute force: guessing one account's password from one address is slowed, then refused for a
//! while with a message that says when to retry (recorded as a `suspicious_request`), while
//! the right password from another address still works; the reputation policy sums the rows
//! that match the address **or** the username, so rotating addresses does not escape it; and a
//! successful login raises the score, as authentik's does.

use latchkey::domain::*;
use latchkey::store;
use serde_json::{Value, json};

use crate::flows_support::*;
use crate::support::{ADMIN_PASSWORD, spawn_server};

/// A cookie-keeping client whose connections come from `ip` (any 127.0.0.0/8 address is this
/// machine, so the server sees distinct client addresses).
fn jar_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(ip.parse::<std::net::IpAddr>().expect("ip"))
        .build()
        .expect("client")
}

/// One sign-in through the default flow's JSON executor; returns the password step's answer.
async fn sign_in(c: &reqwest::Client, base: &str, user: &str, password: &str) -> Value {
    api_get(c, base, AUTH_FLOW).await;
    let v = api_post(
        c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-identification", "uid_field": user}),
    )
    .await;
    assert_eq!(v["component"], "ak-stage-password", "{v}");
    api_post(
        c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-password", "password": password}),
    )
    .await
}

#[tokio::test]
async fn guesses_are_slowed_then_refused_and_another_address_still_signs_in() {
    let srv = spawn_server().await;
    add_whoami(&srv.service).await;
    let base = &srv.base_url;
    for i in 0..5 {
        // A fresh session each time, as a script would: only the address stays the same.
        let v = sign_in(&jar_from("127.0.0.1"), base, "akadmin", "not-the-password").await;
        assert!(
            v.to_string().contains("Failed to authenticate"),
            "guess {i}: {v}"
        );
    }
    // The pair is refused now, even with the right password, and the answer says when to retry.
    let attacker = jar_from("127.0.0.1");
    let v = sign_in(&attacker, base, "akadmin", ADMIN_PASSWORD).await;
    let message = v["response_errors"]["password"][0]["string"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let wait: u64 = message
        .strip_prefix("Too many failed sign-ins. Try again in ")
        .and_then(|rest| rest.strip_suffix(" seconds."))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("says when to retry: {v}"));
    assert!(
        (1..=60).contains(&wait),
        "a first lock lasts a minute: {message}"
    );
    assert!(!logged_in(&attacker, base).await);
    let suspicious = events_of(&srv.service, "suspicious_request").await;
    assert!(
        suspicious
            .iter()
            .any(|e| e.context["reason"] == "too many failed sign-ins" && e.username == "akadmin"),
        "{suspicious:?}"
    );
    // The owner, from another address, is not locked out.
    let owner = jar_from("127.0.0.2");
    let v = sign_in(&owner, base, "akadmin", ADMIN_PASSWORD).await;
    assert!(!v.to_string().contains("Too many"), "{v}");
    assert!(
        logged_in(&owner, base).await,
        "the right password from elsewhere works"
    );
    // A successful login raised that address's reputation (authentik's +1).
    let mut conn = srv.service.store().read().await.expect("conn");
    let score = store::reputation::score_for(&mut conn, Some("127.0.0.2"), None, srv.service.now())
        .await
        .expect("score");
    assert_eq!(score, 1);
}

#[tokio::test]
async fn the_reputation_policy_sums_the_address_or_the_username() {
    let srv = spawn_server().await;
    let rep = add_policy(
        &srv.service,
        "rep",
        PolicyKind::Reputation,
        json!({"check_ip": true, "check_username": true, "threshold": -4}),
    )
    .await;
    let (_, bindings, _) = add_flow(
        &srv.service,
        "guarded",
        FlowAuthentication::None,
        vec![
            (
                StageKind::Identification,
                json!({"user_fields": ["username"]}),
            ),
            (
                StageKind::Password,
                json!({"failed_attempts_before_cancel": 100}),
            ),
        ],
    )
    .await;
    bind(
        &srv.service,
        &bindings[1],
        BindingSubject::Policy(rep),
        Opts {
            negate: true,
            ..Opts::default()
        },
    )
    .await;
    let base = &srv.base_url;
    // One wrong guess each from four addresses: no address has a bad score of its own.
    for n in 10..14 {
        let c = jar_from(&format!("127.0.0.{n}"));
        api_get(&c, base, "guarded").await;
        api_post(
            &c,
            base,
            "guarded",
            json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
        )
        .await;
        let v = api_post(
            &c,
            base,
            "guarded",
            json!({"component": "ak-stage-password", "password": "bad"}),
        )
        .await;
        assert_eq!(v["component"], "ak-stage-password", "{v}");
    }
    // From a fifth, fresh address the username's rows count: the password stage is skipped.
    let c = jar_from("127.0.0.20");
    api_get(&c, base, "guarded").await;
    let v = api_post(
        &c,
        base,
        "guarded",
        json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
    )
    .await;
    assert_eq!(
        v["component"], "xak-flow-redirect",
        "the username's bad reputation follows it to a new address: {v}"
    );
}
