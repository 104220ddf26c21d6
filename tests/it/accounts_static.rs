//! Static recovery codes (issue 19): the `authenticator_static` setup stage shows them once and
//! saves their digests; the default authentication flow's validation stage accepts each code
//! once, through the HTML pages and through the JSON executor.

use latchkey::domain::*;
use latchkey::store;
use serde_json::{Value, json};

use crate::flows_support::*;
use crate::support::spawn_server;

const SETUP_FLOW: &str = "recovery-codes-setup";
const PASSWORD: &str = "carol-password-1";

/// A flow that identifies a user by password and then sets up three recovery codes.
async fn add_setup_flow(service: &latchkey::service::Service) {
    add_flow(
        service,
        SETUP_FLOW,
        FlowAuthentication::None,
        vec![
            (
                StageKind::Identification,
                json!({"user_fields": ["username"]}),
            ),
            (
                StageKind::Password,
                json!({"backends": ["authentik.core.auth.InbuiltBackend"]}),
            ),
            (
                StageKind::AuthenticatorStatic,
                json!({"token_count": 3, "friendly_name": "Backup codes"}),
            ),
        ],
    )
    .await;
}

/// The recovery codes an HTML page lists.
fn listed_codes(page: &str) -> Vec<String> {
    let Some(start) = page.find("id=\"recovery-codes\"") else {
        return Vec::new();
    };
    let list = &page[start
        ..page[start..]
            .find("</ul>")
            .map_or(page.len(), |e| start + e)];
    list.split("<code>")
        .skip(1)
        .filter_map(|s| s.split("</code>").next())
        .map(str::to_string)
        .collect()
}

/// Runs the setup flow through the HTML pages; returns the codes shown.
async fn html_setup(base: &str) -> Vec<String> {
    let c = jar();
    let (_, page) = get_page(&c, base, SETUP_FLOW).await;
    let r = post_form(&c, base, SETUP_FLOW, &page, &[("uid_field", "carol")]).await;
    let page = r.text().await.expect("body");
    let r = post_form(&c, base, SETUP_FLOW, &page, &[("password", PASSWORD)]).await;
    let page = r.text().await.expect("body");
    let codes = listed_codes(&page);
    assert_eq!(codes.len(), 3, "three codes shown: {page}");
    // A reload shows the same codes (they are kept in the plan until confirmed).
    let (_, again) = get_page(&c, base, SETUP_FLOW).await;
    assert_eq!(listed_codes(&again), codes);
    let r = post_form(&c, base, SETUP_FLOW, &again, &[]).await;
    assert!(r.status().is_redirection() || r.status().is_success());
    codes
}

/// Signs carol in through the default authentication flow's HTML pages up to the second
/// factor and answers it with `code`; true when she ends up signed in.
async fn html_login_with_code(base: &str, code: &str) -> bool {
    let c = jar();
    let (_, page) = get_page(&c, base, AUTH_FLOW).await;
    let r = post_form(&c, base, AUTH_FLOW, &page, &[("uid_field", "carol")]).await;
    let page = r.text().await.expect("body");
    let r = post_form(&c, base, AUTH_FLOW, &page, &[("password", PASSWORD)]).await;
    let page = r.text().await.expect("body");
    assert!(
        page.contains("recovery code") && !page.contains("pattern=\"[0-9]*\""),
        "the code field takes recovery codes: {page}"
    );
    post_form(&c, base, AUTH_FLOW, &page, &[("code", code)]).await;
    logged_in(&c, base).await
}

/// The same through the JSON executor: the validation challenge offers `static`, and the
/// answer is authentik's `{component, code}`. Returns the last answer.
async fn json_login_with_code(base: &str, code: &str) -> (reqwest::Client, Value) {
    let c = jar();
    api_get(&c, base, AUTH_FLOW).await;
    api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-identification", "uid_field": "carol"}),
    )
    .await;
    let v = api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-password", "password": PASSWORD}),
    )
    .await;
    assert_eq!(v["component"], "ak-stage-authenticator-validate", "{v}");
    let classes: Vec<&str> = v["device_challenges"]
        .as_array()
        .expect("device_challenges")
        .iter()
        .filter_map(|d| d["device_class"].as_str())
        .collect();
    assert_eq!(classes, ["static"], "{v}");
    let v = api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-authenticator-validate", "code": code}),
    )
    .await;
    (c, v)
}

#[tokio::test]
async fn recovery_codes_are_shown_once_and_each_works_once_in_html() {
    let s = spawn_server().await;
    add_whoami(&s.service).await;
    add_user(&s.service, "carol", "carol@example.com", PASSWORD).await;
    add_setup_flow(&s.service).await;
    let codes = html_setup(&s.base_url).await;

    // Only digests are stored, one per code, on one confirmed static device.
    let carol = s
        .service
        .user_by_username("carol")
        .await
        .expect("read")
        .expect("carol");
    let devices = s
        .service
        .user_authenticators(&carol.id)
        .await
        .expect("list");
    assert_eq!(devices.len(), 1);
    assert_eq!(
        (devices[0].kind.as_str(), devices[0].codes_left),
        ("static", Some(3))
    );
    {
        let mut conn = s.service.store().read().await.expect("conn");
        for code in &codes {
            let digest = latchkey::crypto::secrets::digest(code);
            assert!(
                store::static_tokens::exists(&mut conn, &carol.id, &digest)
                    .await
                    .expect("exists")
            );
        }
    }

    assert!(!html_login_with_code(&s.base_url, "not-a-code").await);
    assert!(html_login_with_code(&s.base_url, &codes[0]).await);
    assert!(
        !html_login_with_code(&s.base_url, &codes[0]).await,
        "a used code works no more"
    );
    assert!(html_login_with_code(&s.base_url, &codes[1]).await);
    let left = s
        .service
        .user_authenticators(&carol.id)
        .await
        .expect("list");
    assert_eq!(left[0].codes_left, Some(1));
}

#[tokio::test]
async fn recovery_codes_through_the_json_executor_work_once() {
    let s = spawn_server().await;
    add_whoami(&s.service).await;
    add_user(&s.service, "carol", "carol@example.com", PASSWORD).await;
    add_setup_flow(&s.service).await;
    let base = &s.base_url;

    let c = jar();
    api_get(&c, base, SETUP_FLOW).await;
    api_post(
        &c,
        base,
        SETUP_FLOW,
        json!({"component": "ak-stage-identification", "uid_field": "carol"}),
    )
    .await;
    let v = api_post(
        &c,
        base,
        SETUP_FLOW,
        json!({"component": "ak-stage-password", "password": PASSWORD}),
    )
    .await;
    assert_eq!(v["component"], "ak-stage-authenticator-static", "{v}");
    assert_eq!(v["pending_user"], "carol");
    let codes: Vec<String> = v["codes"]
        .as_array()
        .expect("codes")
        .iter()
        .filter_map(|c| c.as_str().map(str::to_string))
        .collect();
    assert_eq!(codes.len(), 3);
    assert!(codes.iter().all(|c| c.len() == 12), "{codes:?}");
    // authentik-client's model of the challenge reads it.
    let parsed: authentik_client::models::AuthenticatorStaticChallenge =
        serde_json::from_value(v.clone()).expect("authentik-client's model");
    assert_eq!(parsed.codes, codes);
    let v = api_post(
        &c,
        base,
        SETUP_FLOW,
        json!({"component": "ak-stage-authenticator-static"}),
    )
    .await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
    // The device carries the stage's friendly_name.
    let devices = s.service.list_authenticators().await.expect("devices");
    let names: Vec<&str> = devices
        .iter()
        .filter(|d| d.kind == "static")
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(names, ["Backup codes"]);

    let (c1, v) = json_login_with_code(base, &codes[2]).await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
    assert!(logged_in(&c1, base).await);
    let (c2, v) = json_login_with_code(base, &codes[2]).await;
    assert_eq!(v["component"], "ak-stage-authenticator-validate", "{v}");
    assert_eq!(v["response_errors"]["code"][0]["string"], "Invalid code.");
    assert!(!logged_in(&c2, base).await);
}

#[tokio::test]
async fn parallel_uses_of_one_recovery_code_let_exactly_one_through() {
    let s = spawn_server().await;
    add_user(&s.service, "carol", "carol@example.com", PASSWORD).await;
    add_setup_flow(&s.service).await;
    let codes = html_setup(&s.base_url).await;
    let carol = s
        .service
        .user_by_username("carol")
        .await
        .expect("read")
        .expect("carol");
    let digest = latchkey::crypto::secrets::digest(&codes[0]);
    let tries = (0..8).map(|_| {
        let store = s.service.store().clone();
        let (user, digest) = (carol.id.clone(), digest.clone());
        tokio::spawn(async move {
            let mut tx = store.write_tx().await.expect("tx");
            let used = store::static_tokens::consume(tx.conn(), &user, &digest)
                .await
                .expect("consume");
            tx.commit().await.expect("commit");
            used.is_some()
        })
    });
    let mut wins = 0;
    for t in tries {
        if t.await.expect("join") {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn the_inspector_simulates_the_setup_stage_without_codes_or_writes() {
    let s = spawn_server().await;
    let carol = add_user(&s.service, "carol", "carol@example.com", PASSWORD).await;
    add_setup_flow(&s.service).await;
    let input = latchkey::service::inspect::SimulationInput {
        flow_slug: SETUP_FLOW.into(),
        user_id: Some(carol.id.clone()),
        ..Default::default()
    };
    let sim = s.service.simulate_flow(&input).await.expect("simulate");
    let step = sim
        .steps
        .iter()
        .find(|st| st.challenge["component"] == "ak-stage-authenticator-static")
        .unwrap_or_else(|| panic!("the setup stage is simulated: {sim:#?}"));
    assert!(
        step.summary.contains("3 recovery codes"),
        "{}",
        step.summary
    );
    assert!(
        step.challenge["codes"].is_string(),
        "no code is shown: {}",
        step.challenge
    );
    assert!(
        s.service
            .user_authenticators(&carol.id)
            .await
            .expect("list")
            .is_empty(),
        "nothing saved"
    );
}

#[tokio::test]
async fn a_blueprint_makes_a_static_stage_and_bad_counts_are_refused() {
    let s = spawn_server().await;
    let yaml = |count: i64| latchkey::blueprint::Source {
        file: "static.yaml".into(),
        text: format!(
            "version: 1\nentries:\n  - model: authentik_stages_authenticator_static.authenticatorstaticstage\n    identifiers:\n      name: backup-codes\n    attrs:\n      token_count: {count}\n      token_length: 10\n      friendly_name: Backup codes\n"
        ),
    };
    s.service
        .apply_blueprints(&[yaml(4)])
        .await
        .expect("applies");
    let stage = s
        .service
        .list_stages()
        .await
        .expect("stages")
        .into_iter()
        .find(|st| st.name == "backup-codes")
        .expect("the stage");
    assert_eq!(
        stage.settings,
        StageSettings::AuthenticatorStatic(AuthenticatorStaticSettings {
            configure_flow: None,
            friendly_name: "Backup codes".into(),
            token_count: 4,
            token_length: 10,
        })
    );
    let err = s
        .service
        .apply_blueprints(&[yaml(0)])
        .await
        .expect_err("no codes is refused");
    assert!(err.to_string().contains("token_count"), "{err}");
}
