//! Each stage kind, each policy kind, each binding option and the planner's edge cases.

use latchkey::domain::*;
use latchkey::store;
use serde_json::json;

use crate::flows_support::*;
use crate::support::{ADMIN_PASSWORD, spawn_server};

#[tokio::test]
async fn flows_totp_code_is_single_use_and_throttled() {
    let srv = spawn_clock_server(None).await;
    add_whoami(&srv.service).await;
    let base = &srv.base_url;
    let admin = admin(&srv.service).await;
    add_totp_device(&srv.service, &admin.id, "phone", 6).await;
    let code = totp_for(TOTP_SECRET, 6)
        .generate(srv.service.now() as u64)
        .to_string();
    let c = jar();
    let v = json_login_admin(&c, base).await;
    assert_eq!(v["component"], "ak-stage-authenticator-validate", "{v}");
    assert_eq!(v["device_challenges"][0]["device_class"], "totp");
    let v = api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-authenticator-validate", "code": code}),
    )
    .await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
    assert!(logged_in(&c, base).await);
    // Replay in the same window from another session: refused.
    let c2 = jar();
    json_login_admin(&c2, base).await;
    let v = api_post(
        &c2,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-authenticator-validate", "code": code}),
    )
    .await;
    assert_eq!(
        v["component"], "ak-stage-authenticator-validate",
        "replayed code accepted: {v}"
    );
    assert!(!logged_in(&c2, base).await);
    assert!(
        !events_of(&srv.service, "suspicious_request")
            .await
            .is_empty()
    );
    // The next window's code works.
    srv.clock.advance(30);
    let code2 = totp_for(TOTP_SECRET, 6)
        .generate(srv.service.now() as u64)
        .to_string();
    let v = api_post(
        &c2,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-authenticator-validate", "code": code2}),
    )
    .await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
    // Throttling: after 5 wrong codes even the right one is refused for the window.
    srv.clock.advance(30);
    let c3 = jar();
    json_login_admin(&c3, base).await;
    for _ in 0..5 {
        api_post(
            &c3,
            base,
            AUTH_FLOW,
            json!({"component": "ak-stage-authenticator-validate", "code": "000000"}),
        )
        .await;
    }
    let good = totp_for(TOTP_SECRET, 6)
        .generate(srv.service.now() as u64)
        .to_string();
    let v = api_post(
        &c3,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-authenticator-validate", "code": good}),
    )
    .await;
    assert_eq!(v["component"], "ak-stage-authenticator-validate");
    assert!(
        v["response_errors"]["code"][0]["string"]
            .as_str()
            .unwrap()
            .contains("Too many"),
        "{v}"
    );
    srv.clock.advance(301);
    let good = totp_for(TOTP_SECRET, 6)
        .generate(srv.service.now() as u64)
        .to_string();
    let v = api_post(
        &c3,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-authenticator-validate", "code": good}),
    )
    .await;
    assert_eq!(
        v["component"], "xak-flow-redirect",
        "throttle lifts after the window: {v}"
    );
}

#[tokio::test]
async fn flows_totp_not_configured_actions_configure_and_deny() {
    let srv = spawn_clock_server(None).await;
    let base = &srv.base_url;
    set_stage(
        &srv.service,
        "default-authentication-mfa-validation",
        json!({"device_classes": ["totp"], "not_configured_action": "configure"}),
    )
    .await;
    // HTML view: QR code as inline SVG and the secret as text.
    let h = jar();
    html_login(&h, base, "akadmin", ADMIN_PASSWORD).await;
    let (_, page) = get_page(&h, base, AUTH_FLOW).await;
    assert!(
        page.contains("<svg") && page.contains("id=\"totp-secret\""),
        "{page}"
    );
    // JSON view: config_url carries the secret; a correct code confirms the device.
    let c = jar();
    let v = json_login_admin(&c, base).await;
    assert_eq!(v["component"], "ak-stage-authenticator-totp", "{v}");
    let url = v["config_url"].as_str().unwrap().to_string();
    assert!(url.starts_with("otpauth://totp/"), "{url}");
    let secret = url
        .split("secret=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let v = api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-authenticator-totp", "code": "123"}),
    )
    .await;
    assert_eq!(v["component"], "ak-stage-authenticator-totp");
    let code = totp_for(&secret, 6)
        .generate(srv.service.now() as u64)
        .to_string();
    let v = api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-authenticator-totp", "code": code}),
    )
    .await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
    let admin = admin(&srv.service).await;
    let mut conn = srv.service.store().read().await.unwrap();
    assert_eq!(
        store::authenticators::count_confirmed(&mut conn, &admin.id)
            .await
            .unwrap(),
        1
    );
    drop(conn);
    // The setup code cannot be reused to validate in the same window.
    let c = jar();
    let v = json_login_admin(&c, base).await;
    assert_eq!(v["component"], "ak-stage-authenticator-validate");
    let v = api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-authenticator-validate", "code": code}),
    )
    .await;
    assert_eq!(v["component"], "ak-stage-authenticator-validate");
    // deny: a user without a device is refused.
    let other = add_user(&srv.service, "nodevice", "", "nodevice-password").await;
    set_stage(
        &srv.service,
        "default-authentication-mfa-validation",
        json!({"device_classes": ["totp"], "not_configured_action": "deny"}),
    )
    .await;
    let c = jar();
    api_get(&c, base, AUTH_FLOW).await;
    api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-identification", "uid_field": other.username}),
    )
    .await;
    let v = api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-password", "password": "nodevice-password"}),
    )
    .await;
    assert_eq!(v["component"], "ak-stage-access-denied", "{v}");
}

#[tokio::test]
async fn flows_identification_matching_options() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    add_whoami(&srv.service).await;
    // Email, any case.
    let c = jar();
    api_get(&c, base, AUTH_FLOW).await;
    api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-identification", "uid_field": "ROOT@LocalHost"}),
    )
    .await;
    let v = api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-password", "password": ADMIN_PASSWORD}),
    )
    .await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
    // Case-sensitive, username only, no pretending: unknown is refused at identification.
    add_flow(&srv.service, "strict", FlowAuthentication::None, vec![
        (StageKind::Identification, json!({"user_fields": ["username"], "case_insensitive_matching": false, "pretend_user_exists": false})),
        (StageKind::Password, json!({})),
    ]).await;
    let c = jar();
    api_get(&c, base, "strict").await;
    let v = api_post(
        &c,
        base,
        "strict",
        json!({"component": "ak-stage-identification", "uid_field": "AKADMIN"}),
    )
    .await;
    assert_eq!(v["component"], "ak-stage-identification");
    assert_eq!(
        v["response_errors"]["uid_field"][0]["string"],
        "Failed to authenticate."
    );
    let v = api_post(
        &c,
        base,
        "strict",
        json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
    )
    .await;
    assert_eq!(v["component"], "ak-stage-password");
    // Embedded password stage: one step.
    add_flow(
        &srv.service,
        "onestep",
        FlowAuthentication::None,
        vec![
            (
                StageKind::Identification,
                json!({"user_fields": ["username"], "password_stage": "embedded"}),
            ),
            (StageKind::UserLogin, json!({})),
        ],
    )
    .await;
    let c = jar();
    let v = api_get(&c, base, "onestep").await;
    assert_eq!(v["password_fields"], true);
    let v = api_post(
        &c,
        base,
        "onestep",
        json!({"component": "ak-stage-identification", "uid_field": "akadmin", "password": "bad"}),
    )
    .await;
    assert_eq!(
        v["response_errors"]["password"][0]["string"],
        "Failed to authenticate."
    );
    let v = api_post(&c, base, "onestep", json!({"component": "ak-stage-identification", "uid_field": "akadmin", "password": ADMIN_PASSWORD})).await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
    assert!(logged_in(&c, base).await);
}

#[tokio::test]
async fn flows_deny_and_logout_stages() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    add_whoami(&srv.service).await;
    add_flow(
        &srv.service,
        "closed",
        FlowAuthentication::None,
        vec![(StageKind::Deny, json!({"deny_message": "Go away"}))],
    )
    .await;
    let c = jar();
    let v = api_get(&c, base, "closed").await;
    assert_eq!(v["component"], "ak-stage-access-denied");
    assert_eq!(v["error_message"], "Go away");
    html_login(&c, base, "akadmin", ADMIN_PASSWORD).await;
    assert!(logged_in(&c, base).await);
    let r = c
        .get(flow_url(base, "default-invalidation-flow"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(!logged_in(&c, base).await);
    assert_eq!(events_of(&srv.service, "logout").await.len(), 1);
}

#[tokio::test]
async fn flows_prompt_user_write_and_password_policy_enrol_a_user() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    add_whoami(&srv.service).await;
    let ids = vec![
        add_prompt(&srv.service, "username", "username", 1).await,
        add_prompt(&srv.service, "email", "email", 2).await,
        add_prompt(&srv.service, "password", "password", 3).await,
        add_prompt(&srv.service, "password_repeat", "password", 4).await,
    ];
    let strong = add_policy(
        &srv.service,
        "strong",
        PolicyKind::Password,
        json!({
        "password_field": "password", "length_min": 10, "amount_digits": 1, "amount_uppercase": 1,
        "amount_lowercase": 1, "amount_symbols": 0, "error_message": "Too weak."}),
    )
    .await;
    add_flow(
        &srv.service,
        "enrol",
        FlowAuthentication::RequireUnauthenticated,
        vec![
            (
                StageKind::Prompt,
                json!({"fields": ids, "validation_policies": [strong]}),
            ),
            (
                StageKind::UserWrite,
                json!({"user_creation_mode": "always_create"}),
            ),
            (StageKind::UserLogin, json!({})),
        ],
    )
    .await;
    let c = jar();
    let v = api_get(&c, base, "enrol").await;
    assert_eq!(v["component"], "ak-stage-prompt");
    assert_eq!(v["fields"].as_array().unwrap().len(), 4);
    let mut body = json!({"component": "ak-stage-prompt", "username": "newbie", "email": "not-an-email", "password": "Abcdefgh12", "password_repeat": "Abcdefgh12"});
    let v = api_post(&c, base, "enrol", body.clone()).await;
    assert!(v["response_errors"]["email"].is_array(), "{v}");
    body["email"] = json!("new@example.org");
    body["password_repeat"] = json!("different");
    let v = api_post(&c, base, "enrol", body.clone()).await;
    assert!(v["response_errors"]["password_repeat"].is_array(), "{v}");
    body["password"] = json!("weak");
    body["password_repeat"] = json!("weak");
    let v = api_post(&c, base, "enrol", body.clone()).await;
    assert_eq!(
        v["response_errors"]["non_field_errors"][0]["string"], "Too weak.",
        "{v}"
    );
    body["password"] = json!("Abcdefgh12");
    body["password_repeat"] = json!("Abcdefgh12");
    let v = api_post(&c, base, "enrol", body).await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
    assert!(logged_in(&c, base).await);
    assert_eq!(events_of(&srv.service, "password_set").await.len(), 1);
    // The new user can log in with that password through the default flow.
    let c = jar();
    api_get(&c, base, AUTH_FLOW).await;
    api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-identification", "uid_field": "newbie"}),
    )
    .await;
    let v = api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-password", "password": "Abcdefgh12"}),
    )
    .await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
    // require_unauthenticated: a logged-in user cannot enrol again.
    let v = api_get(&c, base, "enrol").await;
    assert_eq!(v["error_message"], "Flow requires unauthenticated user.");
}

#[tokio::test]
async fn flows_remember_me_extends_the_session_by_the_offset() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    set_stage(
        &srv.service,
        "default-authentication-identification",
        json!({"user_fields": ["username"], "enable_remember_me": true}),
    )
    .await;
    set_stage(
        &srv.service,
        "default-authentication-login",
        json!({"session_duration": "seconds=0", "remember_me_offset": "days=30"}),
    )
    .await;
    let login = |remember: bool| {
        let base = base.clone();
        async move {
            let c = jar();
            let (_, page) = get_page(&c, &base, AUTH_FLOW).await;
            assert!(page.contains("name=\"remember_me\""));
            let fields: Vec<(&str, &str)> = if remember {
                vec![("uid_field", "akadmin"), ("remember_me", "true")]
            } else {
                vec![("uid_field", "akadmin")]
            };
            let r = post_form(&c, &base, AUTH_FLOW, &page, &fields).await;
            let page = r.text().await.unwrap();
            let r = post_form(&c, &base, AUTH_FLOW, &page, &[("password", ADMIN_PASSWORD)]).await;
            r.headers()["set-cookie"].to_str().unwrap().to_string()
        }
    };
    let plain = login(false).await;
    assert!(
        !plain.contains("Max-Age"),
        "browser session without remember me: {plain}"
    );
    let remembered = login(true).await;
    assert!(
        remembered.contains(&format!("Max-Age={}", 86_400 + 30 * 86_400)),
        "{remembered}"
    );
}

#[tokio::test]
async fn default_user_settings_flow_changes_only_the_filled_in_fields() {
    let srv = spawn_server().await;
    let c = jar();
    html_login(&c, &srv.base_url, "akadmin", ADMIN_PASSWORD).await;
    let slug = "default-user-settings-flow";
    let v = api_get(&c, &srv.base_url, slug).await;
    assert_eq!(v["component"], "ak-stage-prompt", "{v}");
    let v = api_post(
        &c,
        &srv.base_url,
        slug,
        json!({"component": "ak-stage-prompt", "name": "Renamed Admin"}),
    )
    .await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
    let me = admin(&srv.service).await;
    assert_eq!(me.name, "Renamed Admin");
    assert_eq!(me.username, "akadmin", "an empty field keeps the value");
    // Anonymous visitors are refused (the flow requires authentication).
    let v = api_get(&jar(), &srv.base_url, slug).await;
    assert_eq!(v["component"], "ak-stage-access-denied", "{v}");
}

#[tokio::test]
async fn flows_an_8_digit_totp_device_takes_its_8_digits_and_not_the_last_6() {
    let srv = spawn_clock_server(None).await;
    let base = &srv.base_url;
    let admin = admin(&srv.service).await;
    add_totp_device(&srv.service, &admin.id, "hardware token", 8).await;
    let code = totp_for(TOTP_SECRET, 8)
        .generate(srv.service.now() as u64)
        .to_string();
    let c = jar();
    let v = json_login_admin(&c, base).await;
    assert_eq!(v["component"], "ak-stage-authenticator-validate", "{v}");
    let v = api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-authenticator-validate", "code": &code[2..]}),
    )
    .await;
    assert_eq!(
        v["component"], "ak-stage-authenticator-validate",
        "the last six digits are the 6-digit code of the step, and refused: {v}"
    );
    let v = api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-authenticator-validate", "code": code}),
    )
    .await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
}
