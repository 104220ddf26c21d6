//! API tokens at `/api/v3/` (issue 19): `Authorization: Bearer <key>` of an unexpired API
//! token of an active superuser is that superuser, as authentik's token authentication; an app
//! password, a revoked, expired or unknown key and a non-superuser's token are refused with
//! DRF's 403, and no key reaches an event.

use std::sync::Arc;

use latchkey::context::ManualClock;
use latchkey::domain::Duration;
use latchkey::service::Service;
use latchkey::service::accounts::{NewToken, TokenIntent};
use serde_json::Value;

use crate::flows_support::{add_user, admin};
use crate::support::{client, spawn_server_with};

const DEVICES: &str = "/api/v3/endpoints/devices/";

async fn token(service: &Service, user_id: &str, intent: TokenIntent, days: Option<i64>) -> String {
    service
        .create_token(
            user_id,
            &NewToken {
                intent,
                description: "script".into(),
                expires_in: days.map(|d| Duration::from_seconds(d * 86400)),
            },
            "test",
        )
        .await
        .expect("token")
        .key
}

/// GET the admin devices list with `Authorization: <auth>` (none when empty): (status, body).
async fn call(base: &str, auth: &str) -> (u16, Value) {
    let mut req = client().get(format!("{base}{DEVICES}"));
    if !auth.is_empty() {
        req = req.header("Authorization", auth);
    }
    let r = req.send().await.expect("send");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_api_token_of_a_superuser_is_that_superuser_and_nothing_else_is() {
    let clock = Arc::new(ManualClock::new(1_800_000_000));
    let srv = spawn_server_with(clock.clone(), &[]).await;
    let akadmin = admin(&srv.service).await;
    let api = token(&srv.service, &akadmin.id, TokenIntent::Api, None).await;

    let (status, body) = call(&srv.base_url, &format!("Bearer {api}")).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["results"].is_array(), "DRF's page: {body}");
    let (status, _) = call(&srv.base_url, &format!("bearer {api}")).await;
    assert_eq!(status, 200, "the scheme is case-insensitive");

    let app_password = token(&srv.service, &akadmin.id, TokenIntent::AppPassword, None).await;
    let bob = add_user(&srv.service, "bob", "bob@x.example", "bob-password-1").await;
    let bobs = token(&srv.service, &bob.id, TokenIntent::Api, None).await;
    let expiring = token(&srv.service, &akadmin.id, TokenIntent::Api, Some(1)).await;
    for (auth, why) in [
        (
            format!("Bearer {app_password}"),
            "an app password is no API token",
        ),
        (format!("Bearer {bobs}"), "bob is no superuser"),
        ("Bearer not-a-token".to_string(), "an unknown key"),
        (
            format!("Bearer+agent {api}"),
            "an API token is no Agent key",
        ),
    ] {
        let (status, body) = call(&srv.base_url, &auth).await;
        assert_eq!(status, 403, "{why}: {body}");
        assert!(body["detail"].is_string(), "DRF's body: {body}");
    }
    let (status, body) = call(&srv.base_url, "").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["detail"], "Authentication credentials were not provided.",
        "{body}"
    );

    // Expiry and revocation take effect at the next request.
    assert_eq!(
        call(&srv.base_url, &format!("Bearer {expiring}")).await.0,
        200
    );
    clock.advance(86400 + 1);
    assert_eq!(
        call(&srv.base_url, &format!("Bearer {expiring}")).await.0,
        403
    );
    let listed = srv.service.user_tokens(&akadmin.id).await.expect("tokens");
    let api_id = listed
        .iter()
        .find(|t| t.intent == "api" && t.expires_at.is_none())
        .expect("the API token")
        .id
        .clone();
    srv.service
        .revoke_token(&akadmin.id, &api_id, "test")
        .await
        .expect("revoke");
    assert_eq!(call(&srv.base_url, &format!("Bearer {api}")).await.0, 403);

    let events = srv.service.recent_events(200).await.expect("events");
    let all = serde_json::to_string(&events).expect("json");
    for key in [&api, &app_password, &bobs, &expiring] {
        assert!(!all.contains(key.as_str()), "no key in any event");
    }
}
