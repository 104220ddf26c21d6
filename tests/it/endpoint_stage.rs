//! The endpoint stage with the platform fixtures' Agent connector (its challenge key is the
//! self-signed certificate): devices enrolled through the service answer the stage's challenge
//! the way ak-sysd's `signed_endpoint_header` does (verify the challenge against the
//! connector's challenge JWKS by `kid`, then an HS512 JWT keyed by the device token), driven
//! with authentik-client's flow executor calls; an expression policy on the device's facts,
//! bound after the endpoint stage, lets one device through and stops another.

use std::sync::Arc;

use authentik_client::apis::configuration::Configuration;
use authentik_client::apis::flows_api::{flows_executor_get, flows_executor_solve};
use authentik_client::models::{
    ChallengeTypes, EndpointAgentChallengeResponseRequest, FlowChallengeResponseRequest,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use latchkey::context::ManualClock;
use latchkey::crypto::jwk::{SigningKey, jwks};
use latchkey::domain::{
    BindingSubject, DeviceFacts, FlowAuthentication, Object, PolicyKind, StageKind,
};
use latchkey::service::Service;
use latchkey::service::inspect::SimulationInput;
use latchkey::store;
use serde_json::{Value, json};

use crate::flows_support::{Opts, add_flow, add_policy, bind, events_of, get_page, jar, post_form};
use crate::support::{TestServer, spawn_server_with};

const T0: i64 = 1_800_000_000;
const ENROLL_KEY: &str = "test-enroll-key";
const FLOW: &str = "device-check";
const NOT_COMPLIANT: &str = "This device is not compliant.";

/// A server on a manual clock with the platform's cli.yaml and agent.yaml applied.
async fn platform_server() -> TestServer {
    platform_server_on(Arc::new(ManualClock::new(T0))).await
}

/// [`platform_server`] on `clock`.
async fn platform_server_on(clock: Arc<ManualClock>) -> TestServer {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/blueprints/platform");
    let texts: Vec<String> = ["cli.yaml", "agent.yaml"]
        .iter()
        .map(|f| std::fs::read_to_string(dir.join(f)).expect("fixture"))
        .collect();
    spawn_server_with(clock, &texts).await
}

/// The platform's `agent` connector.
async fn connector(s: &Service) -> latchkey::domain::Connector {
    s.list_connectors()
        .await
        .expect("connectors")
        .into_iter()
        .find(|c| c.name == "agent")
        .expect("the agent connector")
}

/// A device enrolled with the fixture's token that checked in with OS `version`; returns its
/// device token.
async fn enrolled(s: &Service, serial: &str, version: &str) -> String {
    let e = s
        .enroll_device(ENROLL_KEY, serial, &format!("laptop {serial}"))
        .await
        .expect("enroll");
    let caller = s
        .authenticate_agent(&e.device_token_key)
        .await
        .expect("agent");
    let facts = json!({"os": {"family": "linux", "name": "Ubuntu", "version": version}});
    s.check_in(&caller, DeviceFacts(facts))
        .await
        .expect("check in");
    e.device_token_key
}

/// A flow: the endpoint stage (`mode`) on the agent connector, then a deny stage whose
/// binding's expression policy says whether the device is *not* compliant (its access group
/// and OS version, read through authentik's `device` object).
async fn device_flow(s: &Service, mode: &str) {
    let expression = "device = request.context[\"flow_plan\"].context[\"device\"]\n\
                      facts = device.cached_facts.data\n\
                      ok = device.access_group.name == \"workstation-prod\" and facts[\"os\"][\"version\"] == \"24.04\"\n\
                      return not ok";
    device_flow_with(s, mode, expression).await;
}

/// [`device_flow`] with another expression for the deny stage's policy.
async fn device_flow_with(s: &Service, mode: &str, expression: &str) {
    let connector = connector(s).await;
    let (_, bindings, _) = add_flow(
        s,
        FLOW,
        FlowAuthentication::None,
        vec![
            (
                StageKind::Endpoint,
                json!({"connector": connector.id, "mode": mode}),
            ),
            (StageKind::Deny, json!({"deny_message": NOT_COMPLIANT})),
        ],
    )
    .await;
    let policy = add_policy(
        s,
        "device-not-compliant",
        PolicyKind::Expression,
        json!({"expression": expression}),
    )
    .await;
    bind(
        s,
        &bindings[1],
        BindingSubject::Policy(policy),
        Opts::default(),
    )
    .await;
}

fn executor(base_url: &str) -> Configuration {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let mut config = Configuration::new();
    config.base_path = format!("{base_url}/api/v3");
    config.client = http.into();
    config
}

#[derive(serde::Serialize, serde::Deserialize)]
struct AnswerClaims {
    iss: String,
    aud: String,
    atc: String,
    iat: i64,
    exp: i64,
}

/// What ak-sysd's `signed_endpoint_header` answers: the challenge checked against the
/// challenge JWKS (by its `kid`), then signed back with HS512 under the device token.
fn sign_as_ak_sysd(challenge: &str, challenge_jwks: &Value, serial: &str, token: &str) -> String {
    let header = jsonwebtoken::decode_header(challenge).expect("challenge header");
    let kid = header.kid.expect("the challenge names its key");
    let set: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(challenge_jwks.clone()).expect("jwks");
    let jwk = set.find(&kid).expect("the challenge key is published");
    let mut validation = Validation::new(header.alg);
    validation.validate_aud = false;
    validation.validate_exp = false;
    jsonwebtoken::decode::<Value>(
        challenge,
        &DecodingKey::from_jwk(jwk).expect("key"),
        &validation,
    )
    .expect("the challenge verifies against the connector's key");
    let claims = AnswerClaims {
        iss: serial.into(),
        aud: "goauthentik.io/platform/endpoint".into(),
        atc: challenge.into(),
        iat: T0,
        exp: T0 + 300,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims,
        &EncodingKey::from_secret(token.as_bytes()),
    )
    .expect("sign")
}

/// The JWKS the connector's challenge key publishes (`agent_config`'s `jwks_challenge`).
async fn challenge_jwks(s: &Service) -> Value {
    let key_id = connector(s).await.challenge_key_id.expect("challenge key");
    let kp = s
        .list_certificates()
        .await
        .expect("certs")
        .into_iter()
        .find(|k| k.id == key_id)
        .expect("keypair");
    jwks(&[&SigningKey::from_keypair(&kp).expect("signing key")])
}

/// Starts the flow, expects the endpoint challenge, answers it with `answer(challenge)`.
async fn run(
    config: &Configuration,
    answer: impl FnOnce(&str) -> Option<String>,
) -> ChallengeTypes {
    let first = flows_executor_get(config, FLOW, "").await.expect("parses");
    let ChallengeTypes::AkStageEndpointAgent(c) = &first else {
        panic!("the endpoint stage challenges first: {first:?}");
    };
    assert_eq!(
        c.challenge_idle_timeout, 3,
        "the connector's default seconds=3"
    );
    let mut response = EndpointAgentChallengeResponseRequest::new();
    response.response = Some(answer(&c.challenge));
    flows_executor_solve(
        config,
        FLOW,
        "",
        Some(FlowChallengeResponseRequest::AkStageEndpointAgent(response)),
    )
    .await
    .expect("parses")
}

fn denial(c: &ChallengeTypes) -> Option<String> {
    match c {
        ChallengeTypes::AkStageAccessDenied(d) => d.error_message.clone(),
        _ => None,
    }
}

#[tokio::test]
async fn a_policy_on_the_devices_facts_lets_one_device_through_and_stops_another() {
    let s = platform_server().await;
    device_flow(&s.service, "required").await;
    let jwks = challenge_jwks(&s.service).await;
    let current = enrolled(&s.service, "SN-1", "24.04").await;
    let outdated = enrolled(&s.service, "SN-2", "22.04").await;

    let done = run(&executor(&s.base_url), |c| {
        Some(sign_as_ak_sysd(c, &jwks, "SN-1", &current))
    })
    .await;
    assert!(
        matches!(done, ChallengeTypes::XakFlowRedirect(_)),
        "the compliant device completes the flow: {done:?}"
    );

    let stopped = run(&executor(&s.base_url), |c| {
        Some(sign_as_ak_sysd(c, &jwks, "SN-2", &outdated))
    })
    .await;
    assert_eq!(
        denial(&stopped).as_deref(),
        Some(NOT_COMPLIANT),
        "{stopped:?}"
    );
}

#[tokio::test]
async fn a_wrong_or_foreign_answer_is_refused_and_the_challenge_shown_again() {
    let s = platform_server().await;
    device_flow(&s.service, "required").await;
    let jwks = challenge_jwks(&s.service).await;
    let token = enrolled(&s.service, "SN-1", "24.04").await;
    let other = enrolled(&s.service, "SN-2", "24.04").await;
    let cases: Vec<(&str, Box<Answer<'_>>)> = vec![
        (
            "signed with another device's token",
            Box::new(|c| sign_as_ak_sysd(c, &jwks, "SN-1", &other)),
        ),
        (
            "an unknown serial",
            Box::new(|c| sign_as_ak_sysd(c, &jwks, "SN-9", &token)),
        ),
        ("not a JWT", Box::new(|_| "garbage".to_string())),
    ];
    for (what, answer) in cases {
        let again = run(&executor(&s.base_url), |c| Some(answer(c))).await;
        assert_invalid(what, &again);
    }
    // The answer to another session's challenge does not answer this one.
    let elsewhere = flows_executor_get(&executor(&s.base_url), FLOW, "")
        .await
        .expect("parses");
    let ChallengeTypes::AkStageEndpointAgent(foreign) = &elsewhere else {
        panic!("{elsewhere:?}");
    };
    let foreign_answer = sign_as_ak_sysd(&foreign.challenge, &jwks, "SN-1", &token);
    let again = run(&executor(&s.base_url), |_| Some(foreign_answer)).await;
    assert_invalid("another session's challenge", &again);
}

/// How a case answers a challenge.
type Answer<'a> = dyn Fn(&str) -> String + 'a;

/// The endpoint challenge again, with authentik's error at `response`.
fn assert_invalid(what: &str, again: &ChallengeTypes) {
    let ChallengeTypes::AkStageEndpointAgent(c) = again else {
        panic!("{what}: the challenge again, got {again:?}");
    };
    let errors = c.response_errors.clone().unwrap_or_default();
    assert_eq!(
        errors
            .get("response")
            .and_then(|e| e.first())
            .map(|e| e.string.as_str()),
        Some("Invalid challenge response"),
        "{what}: {errors:?}"
    );
}

#[tokio::test]
async fn without_an_answer_optional_goes_on_and_required_says_what_is_missing() {
    let s = platform_server().await;
    device_flow(&s.service, "optional").await;
    // Optional goes on without a device: the compliance policy finds none and errors, which
    // fails its binding (failure_result false), so the deny stage is left out and the flow ends.
    let optional = run(&executor(&s.base_url), |_| None).await;
    assert!(
        matches!(optional, ChallengeTypes::XakFlowRedirect(_)),
        "optional goes on: {optional:?}"
    );

    let s = platform_server().await;
    device_flow(&s.service, "required").await;
    let required = run(&executor(&s.base_url), |_| None).await;
    let message = denial(&required).unwrap_or_default();
    assert!(
        message.contains("requires a registered device") && message.contains("Agent"),
        "{required:?}"
    );
}

#[tokio::test]
async fn a_connector_without_a_challenge_key_is_skipped_with_an_event() {
    let s = platform_server().await;
    let mut c = connector(&s.service).await;
    c.challenge_key_id = None;
    s.service
        .save(&Object::Connector(c), false)
        .await
        .expect("save connector");
    let connector = connector(&s.service).await;
    add_flow(
        &s.service,
        FLOW,
        FlowAuthentication::None,
        vec![
            (
                StageKind::Endpoint,
                json!({"connector": connector.id, "mode": "required"}),
            ),
            (
                StageKind::Deny,
                json!({"deny_message": "after the endpoint stage"}),
            ),
        ],
    )
    .await;
    let first = flows_executor_get(&executor(&s.base_url), FLOW, "")
        .await
        .expect("parses");
    assert_eq!(
        denial(&first).as_deref(),
        Some("after the endpoint stage"),
        "skipped silently, as authentik: {first:?}"
    );
    // The dry run says so too (and writes no event).
    let sim = s
        .service
        .simulate_flow(&SimulationInput {
            flow_slug: FLOW.into(),
            user_id: None,
            application: None,
            oauth: None,
            client_ip: String::new(),
            context: Value::Null,
        })
        .await
        .expect("simulate");
    assert!(
        sim.notes
            .iter()
            .any(|n| n.contains("skipped") && n.contains("has no challenge key")),
        "{:?}",
        sim.notes
    );
    let events = events_of(&s.service, "configuration_error").await;
    assert!(
        events
            .iter()
            .any(|e| e.context.to_string().contains("has no challenge key")),
        "{events:?}"
    );
}

#[tokio::test]
async fn the_html_page_goes_on_without_a_device_when_optional_and_denies_when_required() {
    for (mode, denied) in [("optional", false), ("required", true)] {
        let s = platform_server().await;
        device_flow(&s.service, mode).await;
        let browser = jar();
        let (status, page) = get_page(&browser, &s.base_url, FLOW).await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("authentik Agent"), "{mode}: {page}");
        let res = post_form(&browser, &s.base_url, FLOW, &page, &[]).await;
        let status = res.status().as_u16();
        let body = res.text().await.expect("body");
        assert_eq!(
            body.contains("requires a registered device"),
            denied,
            "{mode}: {status} {body}"
        );
        // Optional: the flow is done and redirects; required: the message page.
        assert_eq!(
            (300..400).contains(&status),
            !denied,
            "{mode}: {status} {body}"
        );
    }
}

#[tokio::test]
async fn an_expired_device_does_not_pass_even_with_a_right_answer() {
    let s = platform_server().await;
    device_flow(&s.service, "required").await;
    let jwks = challenge_jwks(&s.service).await;
    let token = enrolled(&s.service, "SN-1", "24.04").await;
    let mut tx = s.service.store().write_tx().await.expect("tx");
    let mut device = store::devices::by_identifier(tx.conn(), "SN-1")
        .await
        .expect("read")
        .expect("device");
    device.expiring = true;
    device.expires_at = Some(T0);
    store::devices::update(tx.conn(), &device)
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    let again = run(&executor(&s.base_url), |c| {
        Some(sign_as_ak_sysd(c, &jwks, "SN-1", &token))
    })
    .await;
    assert_invalid("an expired device", &again);
}

#[tokio::test]
async fn a_disabled_connector_asks_nothing_optional_goes_on_and_required_says_why() {
    for (mode, denied) in [("optional", false), ("required", true)] {
        let s = platform_server().await;
        let mut c = connector(&s.service).await;
        c.enabled = false;
        s.service
            .save(&Object::Connector(c), false)
            .await
            .expect("save connector");
        device_flow(&s.service, mode).await;
        let first = flows_executor_get(&executor(&s.base_url), FLOW, "")
            .await
            .expect("parses");
        if denied {
            let message = denial(&first).unwrap_or_default();
            assert!(message.contains("'agent' is disabled"), "{mode}: {first:?}");
        } else {
            assert!(
                matches!(first, ChallengeTypes::XakFlowRedirect(_)),
                "{mode} goes on without a challenge: {first:?}"
            );
        }
    }
}

#[tokio::test]
async fn facts_whose_newest_snapshot_expired_are_not_the_devices_facts() {
    // The device checked in 25 hours ago: its snapshot (24 hours) has expired by T0.
    let clock = Arc::new(ManualClock::new(T0 - 25 * 3600));
    let s = platform_server_on(clock.clone()).await;
    let expression = "facts = request.context[\"flow_plan\"].context[\"device\"].cached_facts\n\
                      version = facts.data.get(\"os\", {}).get(\"version\")\n\
                      return version != \"24.04\" or facts.created == 0";
    device_flow_with(&s.service, "required", expression).await;
    let jwks = challenge_jwks(&s.service).await;
    let token = enrolled(&s.service, "SN-1", "24.04").await;
    clock.set(T0);
    let stopped = run(&executor(&s.base_url), |c| {
        Some(sign_as_ak_sysd(c, &jwks, "SN-1", &token))
    })
    .await;
    assert_eq!(
        denial(&stopped).as_deref(),
        Some(NOT_COMPLIANT),
        "an expired snapshot is no facts: {stopped:?}"
    );

    // A check-in now makes them current again.
    let caller = s.service.authenticate_agent(&token).await.expect("agent");
    let facts = json!({"os": {"family": "linux", "name": "Ubuntu", "version": "24.04"}});
    s.service
        .check_in(&caller, DeviceFacts(facts))
        .await
        .expect("check in");
    let done = run(&executor(&s.base_url), |c| {
        Some(sign_as_ak_sysd(c, &jwks, "SN-1", &token))
    })
    .await;
    assert!(
        matches!(done, ChallengeTypes::XakFlowRedirect(_)),
        "current facts pass: {done:?}"
    );
}

#[tokio::test]
async fn the_connectors_check_in_trigger_and_idle_timeout_reach_the_challenge() {
    let s = platform_server().await;
    device_flow(&s.service, "required").await;
    for trigger in [false, true] {
        let mut c = connector(&s.service).await;
        let latchkey::domain::ConnectorSettings::Agent(a) = &mut c.settings;
        a.challenge_trigger_check_in = trigger;
        a.challenge_idle_timeout = if trigger { "seconds=9" } else { "seconds=3" }.into();
        s.service
            .save(&Object::Connector(c), false)
            .await
            .expect("saved");
        let first = flows_executor_get(&executor(&s.base_url), FLOW, "")
            .await
            .expect("parses");
        let ChallengeTypes::AkStageEndpointAgent(ch) = &first else {
            panic!("the endpoint stage challenges first: {first:?}");
        };
        assert_eq!(ch.challenge_idle_timeout, if trigger { 9 } else { 3 });
        let claims = crate::support::unverified_claims(&ch.challenge);
        assert_eq!(
            claims["goauthentik.io/device/check_in"],
            json!(trigger),
            "{claims}"
        );
    }
}

#[tokio::test]
async fn a_policy_reads_the_access_groups_attributes() {
    let s = platform_server().await;
    let expression = "device = request.context[\"flow_plan\"].context[\"device\"]\n\
                      return device.access_group.attributes[\"tier\"] != \"prod\"";
    device_flow_with(&s.service, "required", expression).await;
    let jwks = challenge_jwks(&s.service).await;
    let token = enrolled(&s.service, "SN-1", "24.04").await;
    for (tier, passes) in [("test", false), ("prod", true)] {
        let mut group = {
            let mut conn = s.service.store().read().await.expect("read");
            store::device_access_groups::list(&mut conn)
                .await
                .expect("groups")
                .into_iter()
                .find(|g| g.name == "workstation-prod")
                .expect("the fixture's access group")
        };
        group.attributes = json!({"tier": tier});
        s.service
            .save(&Object::DeviceAccessGroup(group), false)
            .await
            .expect("saved");
        let done = run(&executor(&s.base_url), |c| {
            Some(sign_as_ak_sysd(c, &jwks, "SN-1", &token))
        })
        .await;
        assert_eq!(
            matches!(done, ChallengeTypes::XakFlowRedirect(_)),
            passes,
            "tier {tier}: {done:?}"
        );
    }
}
