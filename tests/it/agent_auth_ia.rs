//! The Agent's interactive sign-in on a real listener: `auth_ia/` through authentik-client,
//! then the URL it answers opened by a cookie-jar browser that carries
//! `X-Authentik-Platform-Auth-DTH` and follows redirects (stopping at `goauthentik.io://`),
//! signing in through the default authentication flow.

use authentik_client::apis::endpoints_api as api;
use latchkey::http::AgentThrottle;
use latchkey::service::agent::auth_ia::PENDING_LIFETIME;
use latchkey::store;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::agent_api::ENROLL_KEY;
use crate::agent_api::http_api::{
    PERMISSION_DENIED, agent_config_for, agent_server, enroll, refused,
};
use crate::flows_support::hidden;
use crate::support::{ADMIN_PASSWORD, TestServer};

const ADMIN: (&str, &str) = ("akadmin", ADMIN_PASSWORD);
const FINISHED: &str = "goauthentik.io://platform/finished?ak-auth-ia-token=";

/// Hex SHA-256, computed here independently of latchkey's own digest.
fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A browser as the Agent opens it: a cookie jar, redirects followed up to the Agent's
/// `goauthentik.io://` scheme, and the device token's digest on every request (when given).
fn browser(dth: Option<&str>) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(dth) = dth {
        headers.insert(
            "X-Authentik-Platform-Auth-DTH",
            dth.parse().expect("header"),
        );
    }
    reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::custom(|a| {
            if a.url().scheme() == "goauthentik.io" {
                a.stop()
            } else {
                a.follow()
            }
        }))
        .build()
        .expect("client")
}

/// Where a browser ended: status, `Location` (if a redirect it did not follow) and page.
#[derive(Debug)]
struct Landed {
    status: u16,
    location: Option<String>,
    body: String,
    /// The flow stages filled on the way.
    stages: Vec<String>,
}

/// Opens `url` and fills the identification and password stages as `user` until a page that
/// is not a flow stage, or a redirect out of the server.
async fn drive(c: &reqwest::Client, url: &str, user: (&str, &str)) -> Landed {
    let mut res = c.get(url).send().await.expect("get");
    let mut stages = Vec::new();
    for _ in 0..20 {
        let page_url = res.url().to_string();
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = res.text().await.expect("body");
        let component = hidden(&body, "component");
        let consent = hidden(&body, "token").unwrap_or_default();
        let field = match component.as_deref() {
            Some("ak-stage-identification") => ("uid_field", user.0),
            Some("ak-stage-password") => ("password", user.1),
            Some("ak-stage-consent") => ("token", consent.as_str()),
            _ => {
                return Landed {
                    status,
                    location,
                    body,
                    stages,
                };
            }
        };
        let component = component.unwrap_or_default();
        stages.push(component.clone());
        let form = [
            ("csrf", hidden(&body, "csrf").unwrap_or_default()),
            ("component", component),
            (field.0, field.1.to_string()),
        ];
        res = c.post(&page_url).form(&form).send().await.expect("post");
    }
    panic!("too many steps");
}

/// `auth_ia/` as the Agent calls it: the URL to open.
async fn auth_ia(s: &TestServer, device_token: &str, hint: Option<&str>) -> String {
    api::endpoints_agents_connectors_auth_ia_create(&agent_config_for(s, device_token), hint)
        .await
        .expect("auth_ia")
        .url
}

/// Every stored interactive sign-in: (used, has an issued digest).
async fn sign_ins(s: &TestServer) -> Vec<(bool, bool)> {
    let mut conn = s.service.store().read().await.expect("read");
    let rows: Vec<(Option<i64>, Option<String>)> =
        sqlx::query_as("SELECT used_at, issued_digest FROM device_auth_tokens ORDER BY id")
            .fetch_all(&mut *conn)
            .await
            .expect("rows");
    rows.into_iter()
        .map(|(u, d)| (u.is_some(), d.is_some()))
        .collect()
}

/// The claims of `jwt`, verified against the key `agent_config` publishes (`jwks_auth`).
async fn verified_claims(s: &TestServer, device_token: &str, jwt: &str) -> Value {
    let config =
        api::endpoints_agents_connectors_agent_config_retrieve(&agent_config_for(s, device_token))
            .await
            .expect("agent_config");
    let jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(config.jwks_auth["keys"][0].clone()).expect("jwk");
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[config.device_id.as_str()]);
    validation.set_issuer(&["goauthentik.io/platform"]);
    validation.validate_exp = false; // the manual clock is in the future
    jsonwebtoken::decode::<Value>(jwt, &key, &validation)
        .expect("signed by the key agent_config publishes")
        .claims
}

/// The JWT a finished sign-in hands to the Agent.
fn handed_jwt(landed: &Landed) -> String {
    assert_eq!(landed.status, 302, "{landed:?}");
    let location = landed.location.as_deref().expect("a redirect");
    let encoded = location
        .strip_prefix(FINISHED)
        .unwrap_or_else(|| panic!("not the Agent's URL: {location}"));
    form_urlencoded::parse(format!("t={encoded}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .expect("token")
}

#[tokio::test]
async fn the_agent_signs_in_through_the_browser_and_gets_a_jwt_for_its_device() {
    let (s, _clock) = agent_server(AgentThrottle::default()).await;
    let token = enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
    let url = auth_ia(&s, &token, Some("akadmin")).await;
    let prefix = format!("{}/endpoints/agent/authenticate/", s.base_url);
    assert!(url.starts_with(&prefix), "{url}");
    assert!(url.ends_with("/?login_hint=akadmin"), "{url}");
    assert_eq!(sign_ins(&s).await, vec![(false, false)]);

    let c = browser(Some(&sha256_hex(&token)));
    let landed = drive(&c, &url, ADMIN).await;
    assert_eq!(
        landed.stages,
        ["ak-stage-identification", "ak-stage-password"]
    );
    let jwt = handed_jwt(&landed);
    let claims = verified_claims(&s, &token, &jwt).await;
    assert_eq!(claims["preferred_username"], "akadmin");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let iat = claims["iat"].as_i64().expect("iat");
    assert_eq!(claims["exp"].as_i64(), Some(iat + 3 * 86_400));
    assert_eq!(sign_ins(&s).await, vec![(true, true)]);

    // Single use: the same URL, even in the signed-in browser, is gone.
    let again = drive(&c, &url, ADMIN).await;
    assert_eq!(again.status, 404, "{again:?}");
}

#[tokio::test]
async fn the_url_needs_the_device_tokens_digest_and_a_refusal_changes_nothing() {
    let (s, _clock) = agent_server(AgentThrottle::default()).await;
    let token = enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
    let url = auth_ia(&s, &token, None).await;
    assert!(!url.contains('?'), "no login_hint, no query: {url}");
    let wrong = sha256_hex("another token");
    for dth in [None, Some(wrong.as_str()), Some(token.as_str())] {
        let landed = drive(&browser(dth), &url, ADMIN).await;
        assert_eq!(landed.status, 400, "{dth:?}: {landed:?}");
        assert_eq!(landed.body, "Invalid device token");
    }
    assert_eq!(sign_ins(&s).await, vec![(false, false)]);
    // The right digest (in any case) still signs in.
    let dth = sha256_hex(&token).to_ascii_uppercase();
    let jwt = handed_jwt(&drive(&browser(Some(&dth)), &url, ADMIN).await);
    assert!(!jwt.is_empty());
}

#[tokio::test]
async fn auth_ia_refuses_a_wrong_device_token_and_is_throttled() {
    let (s, _clock) = agent_server(AgentThrottle::new(2, 100)).await;
    let token = enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
    let r =
        api::endpoints_agents_connectors_auth_ia_create(&agent_config_for(&s, "wrong"), None).await;
    assert_eq!(
        refused(r),
        (403, serde_json::json!({"detail": PERMISSION_DENIED}))
    );
    assert_eq!(sign_ins(&s).await, vec![]);
    auth_ia(&s, &token, None).await;
    auth_ia(&s, &token, None).await;
    let r =
        api::endpoints_agents_connectors_auth_ia_create(&agent_config_for(&s, &token), None).await;
    assert_eq!(refused(r).0, 429);
    assert_eq!(
        sign_ins(&s).await.len(),
        2,
        "the throttled call stored nothing"
    );
}

#[tokio::test]
async fn an_expired_sign_in_or_one_whose_device_token_was_replaced_is_gone() {
    let (s, clock) = agent_server(AgentThrottle::default()).await;
    let token = enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
    let url = auth_ia(&s, &token, None).await;
    clock.advance(PENDING_LIFETIME);
    let landed = drive(&browser(Some(&sha256_hex(&token))), &url, ADMIN).await;
    assert_eq!(landed.status, 404, "{landed:?}");
    assert_eq!(sign_ins(&s).await, vec![(false, false)]);

    // Enrolling again replaces the device token: its pending sign-ins go with it.
    let url = auth_ia(&s, &token, None).await;
    let new_token = enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
    let landed = drive(&browser(Some(&sha256_hex(&new_token))), &url, ADMIN).await;
    assert_eq!(landed.status, 404, "{landed:?}");
}

#[tokio::test]
async fn a_user_the_access_groups_policies_deny_gets_no_token_and_the_sign_in_stays_open() {
    let (s, _clock) = agent_server(AgentThrottle::default()).await;
    let token = enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
    // The fixture binds the group "authentik Admins" to the device's access group.
    let bob = s.service.create_user("bob", "", false).await.expect("bob");
    s.service
        .set_user_password(&bob.id, "bob-password-1", "test")
        .await
        .expect("password");
    let url = auth_ia(&s, &token, None).await;
    let dth = sha256_hex(&token);
    let landed = drive(&browser(Some(&dth)), &url, ("bob", "bob-password-1")).await;
    assert_eq!(landed.status, 403, "{landed:?}");
    assert!(landed.body.contains("Permission denied"), "{}", landed.body);
    assert!(landed.location.is_none());
    assert_eq!(sign_ins(&s).await, vec![(false, false)]);
    // An admin may still finish it.
    let jwt = handed_jwt(&drive(&browser(Some(&dth)), &url, ADMIN).await);
    let claims = verified_claims(&s, &token, &jwt).await;
    assert_eq!(claims["preferred_username"], "akadmin");
}

/// The connector's authorization flow, switched to `slug`.
async fn use_authorization_flow(s: &TestServer, slug: &str) {
    let mut tx = s.service.store().write_tx().await.expect("tx");
    let flow = store::flows::get_by_slug(tx.conn(), slug)
        .await
        .expect("q")
        .expect("flow");
    let mut connector = store::connectors::list(tx.conn())
        .await
        .expect("connectors")
        .into_iter()
        .next()
        .expect("the platform connector");
    connector.authorization_flow_id = Some(flow.id);
    store::connectors::update(tx.conn(), &connector)
        .await
        .expect("update");
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn the_connectors_authorization_flow_runs_and_returns_to_finish() {
    let (s, _clock) = agent_server(AgentThrottle::default()).await;
    // An authorization flow with stages that always show (the sign-in flow's own).
    use_authorization_flow(&s, "default-authentication-flow").await;
    let token = enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
    let url = auth_ia(&s, &token, None).await;
    let c = browser(Some(&sha256_hex(&token)));
    let landed = drive(&c, &url, ADMIN).await;
    assert_eq!(
        landed.stages,
        ["ak-stage-identification", "ak-stage-password"].repeat(2),
        "signed in, then the authorization flow ran"
    );
    let jwt = handed_jwt(&landed);
    assert_eq!(
        verified_claims(&s, &token, &jwt).await["preferred_username"],
        "akadmin"
    );
    // A return to finish/ for no parked sign-in is refused.
    let stray = format!(
        "{}/endpoints/agent/authenticate/finish/?rid=nope",
        s.base_url
    );
    let landed = drive(&c, &stray, ADMIN).await;
    assert_eq!(landed.status, 400, "{landed:?}");
    assert_eq!(sign_ins(&s).await, vec![(true, true)]);
}

#[tokio::test]
async fn a_device_without_bindings_lets_nobody_in() {
    let (s, _clock) = agent_server(AgentThrottle::default()).await;
    let token = enroll(&s, ENROLL_KEY, "SN-1", "laptop-1").await;
    let id = s.service.list_devices().await.expect("list")[0].id.clone();
    let mut device = s
        .service
        .device_detail(&id)
        .await
        .expect("detail")
        .expect("device")
        .device;
    device.access_group_id = None;
    let mut tx = s.service.store().write_tx().await.expect("tx");
    store::devices::update(tx.conn(), &device)
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    let url = auth_ia(&s, &token, None).await;
    let landed = drive(&browser(Some(&sha256_hex(&token))), &url, ADMIN).await;
    assert_eq!(landed.status, 403, "{landed:?}");
    assert!(landed.body.contains("Permission denied"), "{}", landed.body);
    assert_eq!(sign_ins(&s).await, vec![(false, false)]);
}
