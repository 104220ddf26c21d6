//! Passkeys through the JSON executor and the HTML pages' headers: authentik's challenge shapes
//! (parsed with authentik-client's models), bad answers as response errors (never a 500), the
//! identification stage's `passwordless_url`, and the script nonce only on WebAuthn pages.

use authentik_client::models::ChallengeTypes;
use serde_json::{Value, json};

use latchkey::domain::{FlowAuthentication, StageKind};

use crate::flows_support::{add_flow, api_get, api_post, html_login, jar, spawn_clock_server};
use crate::support::ADMIN_PASSWORD;

const SETUP: &str = "ak-stage-authenticator-webauthn";
const VALIDATE: &str = "ak-stage-authenticator-validate";

fn first_error(v: &Value, field: &str) -> String {
    v["response_errors"][field][0]["string"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn the_setup_stage_sends_authentiks_registration_challenge_and_refuses_bad_answers() {
    let srv = spawn_clock_server(None).await;
    add_flow(
        &srv.service,
        "passkey-setup",
        FlowAuthentication::RequireAuthenticated,
        vec![(
            StageKind::AuthenticatorWebauthn,
            json!({"user_verification": "required", "resident_key_requirement": "discouraged",
                   "authenticator_attachment": "platform"}),
        )],
    )
    .await;
    let c = jar();
    html_login(&c, &srv.base_url, "akadmin", ADMIN_PASSWORD).await;
    let v = api_get(&c, &srv.base_url, "passkey-setup").await;
    let parsed: ChallengeTypes = serde_json::from_value(v.clone()).expect("authentik's model");
    let ChallengeTypes::AkStageAuthenticatorWebauthn(challenge) = parsed else {
        panic!("not a WebAuthn setup challenge: {v}");
    };
    assert_eq!(challenge.pending_user, "akadmin");
    let reg = &v["registration"];
    assert_eq!(reg["rp"]["id"], "127.0.0.1", "the public URL's host: {reg}");
    assert_eq!(reg["user"]["name"], "akadmin");
    assert!(
        reg["challenge"].as_str().is_some_and(|c| c.len() >= 43),
        "{reg}"
    );
    let sel = &reg["authenticatorSelection"];
    assert_eq!(sel["userVerification"], "required");
    assert_eq!(sel["residentKey"], "discouraged");
    assert_eq!(sel["authenticatorAttachment"], "platform");
    assert!(
        reg["pubKeyCredParams"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    );

    let missing = api_post(
        &c,
        &srv.base_url,
        "passkey-setup",
        json!({"component": SETUP}),
    )
    .await;
    assert_eq!(missing["component"], SETUP, "{missing}");
    assert_eq!(first_error(&missing, "response"), "This field is required.");
    for bad in [
        json!({"id": "x", "rawId": "eA", "type": "public-key",
               "response": {"attestationObject": "AA", "clientDataJSON": "AA"}}),
        json!("not a credential"),
        json!({"response": []}),
    ] {
        let v = api_post(
            &c,
            &srv.base_url,
            "passkey-setup",
            json!({"component": SETUP, "response": bad}),
        )
        .await;
        assert_eq!(v["component"], SETUP, "{v}");
        assert!(
            first_error(&v, "response").starts_with("Registration failed")
                || first_error(&v, "response") == "This field is required.",
            "{v}"
        );
    }
}

#[tokio::test]
async fn a_passwordless_flow_asks_for_any_discoverable_credential() {
    let srv = spawn_clock_server(None).await;
    let (passwordless, _, _) = add_flow(
        &srv.service,
        "passwordless",
        FlowAuthentication::None,
        vec![
            (
                StageKind::AuthenticatorValidate,
                json!({"device_classes": ["webauthn"], "webauthn_user_verification": "required"}),
            ),
            (StageKind::UserLogin, json!({})),
        ],
    )
    .await;
    add_flow(
        &srv.service,
        "login-with-link",
        FlowAuthentication::None,
        vec![(
            StageKind::Identification,
            json!({"user_fields": ["username"], "passwordless_flow": passwordless}),
        )],
    )
    .await;
    let c = jar();
    let v = api_get(&c, &srv.base_url, "passwordless").await;
    let parsed: ChallengeTypes = serde_json::from_value(v.clone()).expect("authentik's model");
    let ChallengeTypes::AkStageAuthenticatorValidate(challenge) = parsed else {
        panic!("not a validation challenge: {v}");
    };
    assert_eq!(challenge.device_challenges.len(), 1, "{v}");
    let device = &v["device_challenges"][0];
    assert_eq!(device["device_class"], "webauthn");
    assert_eq!(device["challenge"]["rpId"], "127.0.0.1");
    assert_eq!(device["challenge"]["allowCredentials"], json!([]));
    assert_eq!(device["challenge"]["userVerification"], "required");

    for (answer, message) in [
        (json!("garbage"), "Invalid device"),
        (
            json!({"id": "AQID", "rawId": "AQID", "type": "public-key",
                   "response": {"authenticatorData": "AA", "clientDataJSON": "AA",
                                "signature": "AA", "userHandle": null}}),
            "Invalid device",
        ),
    ] {
        let v = api_post(
            &c,
            &srv.base_url,
            "passwordless",
            json!({"component": VALIDATE, "webauthn": answer}),
        )
        .await;
        assert_eq!(v["component"], VALIDATE, "{v}");
        assert_eq!(first_error(&v, "webauthn"), message, "{v}");
    }

    let v = api_get(&c, &srv.base_url, "login-with-link").await;
    assert_eq!(v["passwordless_url"], "/if/flow/passwordless/", "{v}");
    let parsed: ChallengeTypes = serde_json::from_value(v.clone()).expect("authentik's model");
    let ChallengeTypes::AkStageIdentification(id) = parsed else {
        panic!("identification: {v}");
    };
    assert_eq!(
        id.passwordless_url.as_deref(),
        Some("/if/flow/passwordless/")
    );

    let page = c
        .get(format!("{}/if/flow/login-with-link/", srv.base_url))
        .send()
        .await
        .expect("page");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    let html = page.text().await.expect("html");
    assert!(csp.contains("script-src 'none'"), "{csp}");
    assert!(!html.contains("<script"), "no script off the WebAuthn step");
    assert!(html.contains("href=\"/if/flow/passwordless/\""), "{html}");
}

#[tokio::test]
async fn only_the_webauthn_page_carries_a_script_under_its_own_nonce() {
    let srv = spawn_clock_server(None).await;
    add_flow(
        &srv.service,
        "passwordless",
        FlowAuthentication::None,
        vec![(
            StageKind::AuthenticatorValidate,
            json!({"device_classes": ["webauthn"]}),
        )],
    )
    .await;
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let page = jar()
            .get(format!("{}/if/flow/passwordless/", srv.base_url))
            .send()
            .await
            .expect("page");
        let csp = page.headers()["content-security-policy"]
            .to_str()
            .unwrap_or_default()
            .to_string();
        let html = page.text().await.expect("html");
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|r| r.split('\'').next())
            .unwrap_or_else(|| panic!("no nonce in {csp}"))
            .to_string();
        assert!(
            html.contains(&format!("<script nonce=\"{nonce}\">")),
            "{html}"
        );
        assert!(!csp.contains("script-src 'none'"), "{csp}");
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a fresh nonce per response");
}

#[tokio::test]
async fn the_sign_counter_only_moves_forward_and_a_credential_id_is_registered_once() {
    use latchkey::store::webauthn_devices::{self, WebauthnDeviceRow};
    let (_dir, store) = crate::support::temp_store().await;
    let user = latchkey::domain::User::new_internal("ann", "Ann", "ann@example.com", 0);
    let mut tx = store.write_tx().await.expect("tx");
    latchkey::store::users::insert(tx.conn(), &user, None)
        .await
        .expect("user");
    let device = WebauthnDeviceRow {
        id: latchkey::domain::new_id(),
        user_id: user.id.clone(),
        name: "key".into(),
        credential_id: "AQID".into(),
        credential: "{}".into(),
        sign_count: 0,
        created_at: 0,
    };
    webauthn_devices::insert(tx.conn(), &device)
        .await
        .expect("device");
    // No counter yet (0 → 0) is a use; then it only moves forward.
    let mut uses = Vec::new();
    for count in [0, 5, 5, 3, 6] {
        uses.push(
            webauthn_devices::record_use(tx.conn(), &device.id, count, "{}")
                .await
                .expect("use"),
        );
    }
    assert_eq!(uses, [true, true, false, false, true]);
    tx.commit().await.expect("commit");
    // The duplicate in a transaction of its own (PostgreSQL aborts a transaction on an error).
    let copy = WebauthnDeviceRow {
        id: latchkey::domain::new_id(),
        ..device.clone()
    };
    let mut tx = store.write_tx().await.expect("tx");
    assert!(
        webauthn_devices::insert(tx.conn(), &copy).await.is_err(),
        "a credential id is unique"
    );
    drop(tx);
    let mut conn = store.read().await.expect("conn");
    let stored = webauthn_devices::by_credential_id(&mut conn, "AQID")
        .await
        .expect("read")
        .expect("device");
    assert_eq!(stored.sign_count, 6);
    assert!(
        webauthn_devices::credential_exists(&mut conn, "AQID")
            .await
            .expect("read")
    );
    assert_eq!(
        latchkey::store::authenticators::confirmed_kinds(&mut conn, &user.id)
            .await
            .expect("kinds"),
        ["webauthn"],
        "listed with the user's other authenticators"
    );
}

#[tokio::test]
async fn the_inspectors_simulation_describes_both_webauthn_steps_and_writes_nothing() {
    use latchkey::service::inspect::SimulationInput;
    let srv = spawn_clock_server(None).await;
    add_flow(
        &srv.service,
        "passwordless",
        FlowAuthentication::None,
        vec![(
            StageKind::AuthenticatorValidate,
            json!({"device_classes": ["webauthn"]}),
        )],
    )
    .await;
    add_flow(
        &srv.service,
        "passkey-setup",
        FlowAuthentication::None,
        vec![(StageKind::AuthenticatorWebauthn, json!({}))],
    )
    .await;
    let akadmin = srv
        .service
        .user_by_username("akadmin")
        .await
        .expect("read")
        .expect("akadmin");
    for (slug, user, summary, component) in [
        (
            "passwordless",
            None,
            "asks for a passkey, which names the user (password-less)",
            VALIDATE,
        ),
        (
            "passkey-setup",
            Some(akadmin.id.clone()),
            "registers a passkey for akadmin",
            SETUP,
        ),
    ] {
        let before = crate::flows_simulate::dump(&srv.service).await;
        let sim = srv
            .service
            .simulate_flow(&SimulationInput {
                flow_slug: slug.into(),
                user_id: user,
                ..SimulationInput::default()
            })
            .await
            .expect("simulate");
        assert_eq!(
            before,
            crate::flows_simulate::dump(&srv.service).await,
            "{slug}"
        );
        assert_eq!(sim.steps[0].summary, summary, "{sim:#?}");
        assert_eq!(sim.steps[0].challenge["component"], component, "{sim:#?}");
    }
}

#[tokio::test]
async fn max_attempts_ends_the_setup_after_that_many_failed_registrations() {
    let srv = spawn_clock_server(None).await;
    add_flow(
        &srv.service,
        "passkey-setup",
        FlowAuthentication::RequireAuthenticated,
        vec![(StageKind::AuthenticatorWebauthn, json!({"max_attempts": 2}))],
    )
    .await;
    let c = jar();
    html_login(&c, &srv.base_url, "akadmin", ADMIN_PASSWORD).await;
    let bad = json!({"id": "x", "rawId": "eA", "type": "public-key",
                     "response": {"attestationObject": "AA", "clientDataJSON": "AA"}});
    let mut answers = Vec::new();
    for _ in 0..2 {
        api_get(&c, &srv.base_url, "passkey-setup").await;
        let v = api_post(
            &c,
            &srv.base_url,
            "passkey-setup",
            json!({"component": SETUP, "response": bad}),
        )
        .await;
        answers.push(v);
    }
    assert_eq!(
        answers[0]["component"], SETUP,
        "the first failure asks again"
    );
    assert!(first_error(&answers[0], "response").starts_with("Registration failed"));
    assert_eq!(
        answers[1]["component"], "ak-stage-access-denied",
        "{}",
        answers[1]
    );
    assert!(
        answers[1]["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("maximum number of attempts")),
        "{}",
        answers[1]
    );
}
