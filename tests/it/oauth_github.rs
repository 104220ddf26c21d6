//! authentik's GitHub-compatibility endpoints.

use serde_json::Value;

use crate::server::create_oidc_app;
use crate::support::{client, spawn_server};

#[tokio::test]
async fn github_style_token_and_user_endpoints() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "gh").await;
    // The token endpoint answers at GitHub's path too (service account via client_credentials).
    let body: Value = client()
        .post(format!("{}/login/oauth/access_token", s.base_url))
        .basic_auth(&p.client_id, Some(&p.oauth2.client_secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let at = body["access_token"].as_str().expect("at").to_string();
    for scheme in ["token", "Bearer"] {
        let user: Value = client()
            .get(format!("{}/user", s.base_url))
            .header("Authorization", format!("{scheme} {at}"))
            .send()
            .await
            .expect("user")
            .json()
            .await
            .expect("json");
        assert_eq!(user["login"], "ak-gh provider-client_credentials");
        assert!(user["id"].as_u64().is_some(), "numeric id: {user}");
    }
    let emails: Value = client()
        .get(format!("{}/user/emails", s.base_url))
        .bearer_auth(&at)
        .send()
        .await
        .expect("emails")
        .json()
        .await
        .expect("json");
    assert!(emails.as_array().is_some());
    let res = client()
        .get(format!("{}/user", s.base_url))
        .send()
        .await
        .expect("anon");
    assert_eq!(res.status(), 401);
    let res = client()
        .get(format!("{}/user/teams", s.base_url))
        .bearer_auth("garbage")
        .send()
        .await
        .expect("garbage");
    assert_eq!(res.status(), 401);
    // The authorize endpoint answers at GitHub's path (errors before the client is known: page).
    let res = client()
        .get(format!(
            "{}/login/oauth/authorize?client_id=nope&response_type=code",
            s.base_url
        ))
        .send()
        .await
        .expect("authorize");
    assert_eq!(res.status(), 400);
}
