//! The inspector's other use-cases: test a policy (authentik's "Test Policy"), check access to
//! an application ("Check access"), preview a provider's tokens ("Example JWT payload"). Each
//! writes nothing.

use latchkey::domain::*;
use latchkey::service::inspect::{
    AccessCheckInput, OAuthRequestInput, PolicyTestInput, SimulationInput,
};
use latchkey::service::token_preview::TokenPreviewInput;
use serde_json::json;

use crate::flows_simulate::dump;
use crate::flows_support::*;
use crate::server::create_oidc_app;
use crate::support::spawn_server;

#[tokio::test]
async fn flows_simulate_test_policy_check_access_and_token_preview_write_nothing() {
    let s = spawn_server().await;
    let svc = &s.service;
    let admin = admin(svc).await;
    let plain = add_user(svc, "plain", "plain@example.com", "plain-password-1").await;
    let provider = create_oidc_app(&s, "inspect-app").await;
    let only_admin = add_policy(
        svc,
        "inspect-admin",
        PolicyKind::Expression,
        json!({"expression": "ak_logger.info('user', name=request.user.username)\nak_message('hi')\nreturn request.user.username == 'akadmin'"}),
    )
    .await;
    let raises = add_policy(
        svc,
        "inspect-raises",
        PolicyKind::Expression,
        json!({"expression": "a = 1\nb = 2\nreturn undefined_name"}),
    )
    .await;
    let app_id = {
        let mut conn = svc.store().read().await.expect("conn");
        latchkey::store::applications::get_by_slug(&mut conn, "inspect-app")
            .await
            .expect("get")
            .expect("app")
            .id
    };
    bind(
        svc,
        &app_id,
        BindingSubject::Policy(only_admin.clone()),
        Opts::default(),
    )
    .await;
    let before = dump(svc).await;

    let t = svc
        .test_policy(&PolicyTestInput {
            policy_id: only_admin.clone(),
            user_id: Some(admin.id.clone()),
            context: json!({"k": "v"}),
        })
        .await
        .expect("test");
    assert!(t.passing, "{t:?}");
    assert_eq!(t.messages, vec!["hi".to_string()]);
    assert_eq!(t.logs.len(), 1, "{t:?}");
    let t = svc
        .test_policy(&PolicyTestInput {
            policy_id: raises,
            user_id: None,
            context: serde_json::Value::Null,
        })
        .await
        .expect("test");
    assert!(!t.passing);
    assert!(t.error.is_some(), "{t:?}");
    assert_eq!(t.error_line, Some(3), "{t:?}");

    let allowed = svc
        .check_access(&AccessCheckInput {
            application: "inspect-app".into(),
            user_id: Some(admin.id.clone()),
        })
        .await
        .expect("check");
    assert!(allowed.allowed, "{allowed:?}");
    let refused = svc
        .check_access(&AccessCheckInput {
            application: "inspect-app".into(),
            user_id: Some(plain.id.clone()),
        })
        .await
        .expect("check");
    assert!(!refused.allowed, "{refused:?}");
    assert_eq!(refused.deciding.len(), 1);
    assert_eq!(refused.deciding[0].subject, "policy inspect-admin");

    let preview = svc
        .preview_tokens(&TokenPreviewInput {
            provider_id: provider.id.clone(),
            user_id: plain.id.clone(),
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
        })
        .await
        .expect("preview");
    assert_eq!(
        preview.id_token["aud"],
        provider.client_id.as_str(),
        "{preview:?}"
    );
    assert_eq!(preview.access_token["scope"], "openid email profile");
    assert_eq!(
        preview.userinfo["email"], "plain@example.com",
        "{preview:?}"
    );
    assert_eq!(preview.userinfo["sub"], preview.id_token["sub"]);

    // An OAuth request through the explicit-consent authorization flow: the consent stage
    // shows what the server's would (the header names the application).
    let sim = svc
        .simulate_flow(&SimulationInput {
            flow_slug: "default-provider-authorization-explicit-consent".into(),
            user_id: Some(admin.id.clone()),
            oauth: Some(OAuthRequestInput {
                client_id: provider.client_id.clone(),
                scopes: vec!["openid".into(), "email".into()],
                redirect_uri: crate::server::APP_REDIRECT.into(),
                prompt: None,
            }),
            ..SimulationInput::default()
        })
        .await
        .expect("simulate");
    let consent = sim
        .steps
        .iter()
        .find(|st| st.challenge["component"] == "ak-stage-consent")
        .unwrap_or_else(|| panic!("a consent step: {sim:#?}"));
    assert!(
        consent.challenge["header_text"]
            .as_str()
            .is_some_and(|h| h.contains("inspect-app")),
        "{consent:?}"
    );
    assert!(
        consent.summary.starts_with("asks for consent"),
        "{consent:?}"
    );

    assert_eq!(before, dump(svc).await, "an inspector use-case wrote");
}
