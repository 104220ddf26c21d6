//! The consent page over HTTP, as the HTML pages and as authentik's JSON executor: it lists
//! what is granted (each scope mapping's description, `permissions: [{id, name}]`), Continue
//! records the consent for exactly those scopes, and Deny ends the authorization with
//! `access_denied` at the client's redirect URI (RFC 6749 §4.1.2.1, with `state` and `iss`)
//! while storing nothing: no consent, no code.

use latchkey::domain::{FlowAuthentication, Provider, StageKind};
use latchkey::flows::executor::{self, Start};
use latchkey::flows::stages::DECLINED_MESSAGE;
use latchkey::flows::{ChallengeKind, Effect, Env, Plan, Response};
use serde_json::{Value, json};

use crate::flows_support::{
    add_flow, admin, api_get, api_post, hidden, html_login, jar, post_form,
};
use crate::server::{APP_REDIRECT, create_oidc_app, flow_id, save_provider};
use crate::support::{ADMIN_PASSWORD, TestServer, spawn_server};

const CONSENT_FLOW: &str = "default-provider-authorization-explicit-consent";
const SCOPE: &str = "openid email profile";

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_default()
}

/// A query or fragment parameter of a URL.
fn param(url: &str, key: &str) -> Option<String> {
    let q = url.split_once(['?', '#'])?.1;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// A server with an application "app" whose provider asks for consent (expiring, weeks=4).
async fn consent_server() -> (TestServer, Provider) {
    let s = spawn_server().await;
    let mut p = create_oidc_app(&s, "app").await;
    p.authorization_flow_id = Some(flow_id(&s, CONSENT_FLOW).await);
    save_provider(&s, &mut p).await;
    (s, p)
}

async fn signed_in(s: &TestServer) -> reqwest::Client {
    let b = jar();
    let res = html_login(&b, &s.base_url, "akadmin", ADMIN_PASSWORD).await;
    assert!(res.status().is_redirection(), "login failed");
    b
}

fn authorize_url(s: &TestServer, p: &Provider, scope: &str) -> String {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &p.client_id)
        .append_pair("redirect_uri", APP_REDIRECT)
        .append_pair("response_type", "code")
        .append_pair("scope", scope)
        .append_pair("state", "st-1")
        .finish();
    format!("{}/application/o/authorize/?{q}", s.base_url)
}

/// Starts an authorization as a signed-in browser; returns the consent flow's slug (the
/// authorize endpoint sends the browser to its page).
async fn to_consent(s: &TestServer, b: &reqwest::Client, p: &Provider, scope: &str) -> String {
    let res = b
        .get(authorize_url(s, p, scope))
        .send()
        .await
        .expect("authorize");
    let to = location(&res);
    assert_eq!(to, format!("/if/flow/{CONSENT_FLOW}/"), "sent to consent");
    CONSENT_FLOW.to_string()
}

/// Follows same-server redirects until one leaves for the client; returns that URL.
async fn follow_to_client(
    s: &TestServer,
    b: &reqwest::Client,
    mut res: reqwest::Response,
) -> String {
    for _ in 0..6 {
        assert!(
            res.status().is_redirection(),
            "{}: {}",
            res.status(),
            res.text().await.unwrap_or_default()
        );
        let to = location(&res);
        if to.starts_with(APP_REDIRECT) {
            return to;
        }
        res = b
            .get(format!("{}{to}", s.base_url))
            .send()
            .await
            .expect("follow");
    }
    panic!("never sent back to the client");
}

/// Rows in a table (the consent and code tables: a deny must leave both empty).
async fn rows(s: &TestServer, table: &str) -> i64 {
    let mut conn = s.service.store().read().await.expect("read");
    let sql = match table {
        "consents" => "SELECT COUNT(*) FROM consents",
        "authorization_codes" => "SELECT COUNT(*) FROM authorization_codes",
        other => panic!("no count for {other}"),
    };
    sqlx::query_scalar(sql)
        .fetch_one(&mut *conn)
        .await
        .expect("count")
}

/// The client got `access_denied` with its `state` and the issuer, and no code.
fn assert_access_denied(to: &str) {
    assert_eq!(param(to, "error").as_deref(), Some("access_denied"), "{to}");
    assert_eq!(param(to, "state").as_deref(), Some("st-1"), "{to}");
    let iss = param(to, "iss").unwrap_or_default();
    assert!(iss.ends_with("/application/o/app/"), "iss: {to}");
    assert!(param(to, "code").is_none(), "{to}");
}

#[tokio::test]
async fn consent_page_lists_the_scope_descriptions_and_has_deny() {
    let (s, p) = consent_server().await;
    let b = signed_in(&s).await;
    let slug = to_consent(&s, &b, &p, SCOPE).await;
    let page = b
        .get(format!("{}/if/flow/{slug}/", s.base_url))
        .send()
        .await
        .expect("consent page")
        .text()
        .await
        .expect("page");
    assert_eq!(
        hidden(&page, "component").as_deref(),
        Some("ak-stage-consent")
    );
    for shown in [
        "You're about to sign into app.",
        "<li data-permission-code=\"email\">Email address</li>",
        "<li data-permission-code=\"profile\">General Profile Information</li>",
        "<button type=\"submit\">Continue</button>",
        "name=\"deny\" value=\"true\">Deny</button>",
    ] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    assert!(
        !page.contains("data-permission-code=\"openid\""),
        "openid only signs in: not listed, as authentik's page"
    );
}

#[tokio::test]
async fn deny_on_the_html_consent_page_answers_access_denied_and_stores_nothing() {
    let (s, p) = consent_server().await;
    let b = signed_in(&s).await;
    let slug = to_consent(&s, &b, &p, SCOPE).await;
    let page = b
        .get(format!("{}/if/flow/{slug}/", s.base_url))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("page");
    let token = hidden(&page, "token").expect("consent token");
    let res = post_form(
        &b,
        &s.base_url,
        &slug,
        &page,
        &[("token", &token), ("deny", "true")],
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(
        location(&res).starts_with("/application/o/authorize/done/?rid="),
        "{}",
        location(&res)
    );
    let to = follow_to_client(&s, &b, res).await;
    assert_access_denied(&to);
    assert_eq!(rows(&s, "consents").await, 0, "no consent recorded");
    assert_eq!(rows(&s, "authorization_codes").await, 0, "no code minted");
    // Nothing was remembered: the next authorization asks again.
    to_consent(&s, &b, &p, SCOPE).await;
}

#[tokio::test]
async fn deny_without_the_consent_token_declines_nothing() {
    let (s, p) = consent_server().await;
    let b = signed_in(&s).await;
    let slug = to_consent(&s, &b, &p, SCOPE).await;
    let page = b
        .get(format!("{}/if/flow/{slug}/", s.base_url))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("page");
    let res = post_form(
        &b,
        &s.base_url,
        &slug,
        &page,
        &[("token", "forged"), ("deny", "true")],
    )
    .await;
    assert_eq!(res.status(), 200);
    let again = res.text().await.expect("page");
    assert_eq!(
        hidden(&again, "component").as_deref(),
        Some("ak-stage-consent"),
        "a forged token shows the consent again: {again}"
    );
}

#[tokio::test]
async fn the_json_executor_sends_permissions_and_deny_answers_access_denied() {
    let (s, p) = consent_server().await;
    let b = signed_in(&s).await;
    let slug = to_consent(&s, &b, &p, SCOPE).await;
    let c = api_get(&b, &s.base_url, &slug).await;
    assert_eq!(c["component"], "ak-stage-consent", "{c}");
    assert_eq!(c["header_text"], "You're about to sign into app.", "{c}");
    assert_eq!(
        c["permissions"],
        json!([
            {"id": "email", "name": "Email address"},
            {"id": "openid", "name": ""},
            {"id": "profile", "name": "General Profile Information"},
        ]),
        "authentik's ConsentChallenge: each scope with its mapping's description, by scope name"
    );
    assert_eq!(c["additional_permissions"], json!([]));
    let token = c["token"].as_str().expect("token").to_string();
    let r = api_post(
        &b,
        &s.base_url,
        &slug,
        json!({"component": "ak-stage-consent", "token": token, "deny": true}),
    )
    .await;
    assert_eq!(r["component"], "xak-flow-redirect", "{r}");
    let to = r["to"].as_str().expect("to");
    assert!(to.starts_with("/application/o/authorize/done/?rid="), "{r}");
    let res = b
        .get(format!("{}{to}", s.base_url))
        .send()
        .await
        .expect("done");
    let to = follow_to_client(&s, &b, res).await;
    assert_access_denied(&to);
    assert_eq!(rows(&s, "consents").await, 0);
    assert_eq!(rows(&s, "authorization_codes").await, 0);
}

#[tokio::test]
async fn continue_remembers_exactly_the_scopes_granted() {
    let (s, p) = consent_server().await;
    let b = signed_in(&s).await;
    let slug = to_consent(&s, &b, &p, SCOPE).await;
    let c: Value = api_get(&b, &s.base_url, &slug).await;
    let r = api_post(
        &b,
        &s.base_url,
        &slug,
        json!({"component": "ak-stage-consent", "token": c["token"]}),
    )
    .await;
    let to = r["to"].as_str().expect("to");
    let res = b
        .get(format!("{}{to}", s.base_url))
        .send()
        .await
        .expect("done");
    let to = follow_to_client(&s, &b, res).await;
    assert!(param(&to, "code").is_some(), "{to}");
    let permissions: String = {
        let mut conn = s.service.store().read().await.expect("read");
        sqlx::query_scalar("SELECT permissions FROM consents")
            .fetch_one(&mut *conn)
            .await
            .expect("one consent")
    };
    assert_eq!(permissions, "email openid profile");
    // The same scopes again: remembered, straight back to the client.
    let res = b
        .get(authorize_url(&s, &p, SCOPE))
        .send()
        .await
        .expect("again");
    assert!(
        location(&res).starts_with(APP_REDIRECT),
        "{}",
        location(&res)
    );
    // A scope more, or fewer: asked again (a consent covers exactly its scopes).
    to_consent(&s, &b, &p, "openid email profile offline_access").await;
    to_consent(&s, &b, &p, "openid email").await;
}

#[tokio::test]
async fn deny_in_a_flow_without_an_authorization_says_so_and_records_nothing() {
    let (s, _) = consent_server().await;
    let app = s
        .service
        .list_applications()
        .await
        .expect("apps")
        .into_iter()
        .find(|a| a.slug == "app")
        .expect("app");
    add_flow(
        &s.service,
        "consent-only",
        FlowAuthentication::RequireAuthenticated,
        vec![(StageKind::Consent, json!({"mode": "permanent"}))],
    )
    .await;
    let env = Env::new(
        s.service.context(),
        "127.0.0.1",
        Some(admin(&s.service).await.id),
    );
    let mut slot: Option<Plan> = None;
    let start = Start {
        application: Some(app.id.clone()),
        ..Start::default()
    };
    let step = executor::get(&env, "consent-only", &mut slot, start)
        .await
        .expect("get");
    let ChallengeKind::Consent { token, .. } = step.challenge.kind else {
        panic!("consent asked: {:?}", step.challenge);
    };
    let deny = json!({"component": "ak-stage-consent", "token": token, "deny": true});
    let step = executor::post(&env, "consent-only", &mut slot, Response::from_json(&deny))
        .await
        .expect("post");
    assert_eq!(
        step.challenge.kind,
        ChallengeKind::AccessDenied {
            error_message: DECLINED_MESSAGE.to_string()
        }
    );
    assert!(
        matches!(step.effects.as_slice(), [Effect::Declined(_)]),
        "{:?}",
        step.effects
    );
    assert!(slot.is_none(), "the plan ends");
    assert_eq!(
        rows(&s, "consents").await,
        0,
        "a permanent consent is not recorded"
    );
}

#[tokio::test]
async fn a_consent_given_on_another_page_is_recorded_without_asking() {
    let (s, _) = consent_server().await;
    let app = s
        .service
        .list_applications()
        .await
        .expect("apps")
        .into_iter()
        .find(|a| a.slug == "app")
        .expect("app");
    let env = Env::new(
        s.service.context(),
        "127.0.0.1",
        Some(admin(&s.service).await.id),
    );
    let given = |slug: &str| {
        let start = Start {
            application: Some(app.id.clone()),
            extra: [
                (
                    latchkey::flows::stages::CONSENT_GIVEN.to_string(),
                    json!(true),
                ),
                (
                    latchkey::flows::stages::CONSENT_PERMISSIONS.to_string(),
                    json!([{"id": "email", "name": "Email address"}]),
                ),
            ]
            .into_iter()
            .collect(),
            ..Start::default()
        };
        (slug.to_string(), start)
    };
    for (slug, mode, recorded) in [
        ("asked-never", "always_require", 0),
        ("asked-once", "permanent", 1),
    ] {
        add_flow(
            &s.service,
            slug,
            FlowAuthentication::RequireAuthenticated,
            vec![(StageKind::Consent, json!({"mode": mode}))],
        )
        .await;
        let (slug, start) = given(slug);
        let mut slot: Option<Plan> = None;
        let step = executor::get(&env, &slug, &mut slot, start)
            .await
            .expect("get");
        assert!(
            matches!(step.challenge.kind, ChallengeKind::Redirect { .. }),
            "{mode}: no consent page: {:?}",
            step.challenge
        );
        assert_eq!(rows(&s, "consents").await, recorded, "{mode}");
    }
}
