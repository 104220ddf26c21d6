//! The `/device` HTML pages on a real listener, driven like a browser (cookie jar, redirects
//! followed by hand, every form posted with the page's CSRF token): sign-in, code entry,
//! the brand's device-code flow, Approve / Deny, the provider's consent, and their rules.

use latchkey::store::{self, Topic};

use crate::device::{CLI, field, poll, server, start};
use crate::flows_support::{hidden, jar};
use crate::support::{ADMIN_PASSWORD, TestServer};

/// What a visitor ends on: status, URL and page.
pub struct Landed {
    pub status: u16,
    pub url: String,
    pub body: String,
    /// The flow stages filled on the way.
    pub stages: Vec<String>,
}

fn absolute(s: &TestServer, loc: &str) -> String {
    if loc.starts_with('/') {
        format!("{}{loc}", s.base_url)
    } else {
        loc.to_string()
    }
}

/// Follows redirects and fills the login and consent stages (as `user`) until a page that is
/// not a flow stage.
async fn drive(
    s: &TestServer,
    c: &reqwest::Client,
    mut res: reqwest::Response,
    mut url: String,
    user: (&str, &str),
) -> Landed {
    let mut stages = Vec::new();
    for _ in 0..30 {
        let status = res.status().as_u16();
        if (300..400).contains(&status) {
            let loc = res.headers()["location"]
                .to_str()
                .expect("ascii")
                .to_string();
            url = absolute(s, &loc);
            res = c.get(&url).send().await.expect("get");
            continue;
        }
        let body = res.text().await.expect("body");
        let Some(component) = hidden(&body, "component") else {
            return Landed {
                status,
                url,
                body,
                stages,
            };
        };
        let mut form = vec![
            (
                "csrf".to_string(),
                hidden(&body, "csrf").unwrap_or_default(),
            ),
            ("component".to_string(), component.clone()),
        ];
        match component.as_str() {
            "ak-stage-identification" => form.push(("uid_field".into(), user.0.into())),
            "ak-stage-password" => form.push(("password".into(), user.1.into())),
            "ak-stage-consent" => form.push((
                "token".into(),
                hidden(&body, "token").expect("consent token"),
            )),
            _ => {
                return Landed {
                    status,
                    url,
                    body,
                    stages,
                };
            }
        }
        stages.push(component);
        res = c.post(&url).form(&form).send().await.expect("post");
    }
    panic!("too many steps");
}

/// Opens `/device?code=…` as a fresh browser, signs in as `user` and lands on the code form.
pub async fn open_entry(
    s: &TestServer,
    c: &reqwest::Client,
    code: &str,
    user: (&str, &str),
) -> Landed {
    let url = format!("{}/device?code={code}", s.base_url);
    let res = c.get(&url).send().await.expect("get");
    drive(s, c, res, url, user).await
}

/// Posts the code form.
async fn enter_code(
    s: &TestServer,
    c: &reqwest::Client,
    entry: &Landed,
    code: &str,
    user: (&str, &str),
) -> Landed {
    let csrf = hidden(&entry.body, "csrf").expect("csrf on the entry form");
    let url = format!("{}/device", s.base_url);
    let res = c
        .post(&url)
        .form(&[("csrf", csrf.as_str()), ("code", code)])
        .send()
        .await
        .expect("post");
    drive(s, c, res, url, user).await
}

/// Posts Approve or Deny on the confirmation page.
async fn decide(
    s: &TestServer,
    c: &reqwest::Client,
    confirm: &Landed,
    decision: &str,
    user: (&str, &str),
) -> Landed {
    let url = format!("{}/device/decide/", s.base_url);
    let res = c
        .post(&url)
        .form(&[
            ("csrf", hidden(&confirm.body, "csrf").expect("csrf")),
            ("rid", hidden(&confirm.body, "rid").expect("rid")),
            ("decision", decision.to_string()),
        ])
        .send()
        .await
        .expect("post");
    drive(s, c, res, url, user).await
}

const ADMIN: (&str, &str) = ("akadmin", ADMIN_PASSWORD);

/// The whole page path for `user_code` as the admin: sign in, enter, decide; the last page.
pub async fn sign_in_device(s: &TestServer, user_code: &str, decision: &str) -> Landed {
    let c = jar();
    let entry = open_entry(s, &c, user_code, ADMIN).await;
    assert_eq!(entry.status, 200, "{}", entry.body);
    let confirm = enter_code(s, &c, &entry, user_code, ADMIN).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    decide(s, &c, &confirm, decision, ADMIN).await
}

pub async fn use_authorization_flow(s: &TestServer, slug: &str) {
    let mut tx = s.service.store().write_tx().await.expect("tx");
    let flow = store::flows::get_by_slug(tx.conn(), slug)
        .await
        .expect("q")
        .expect("flow");
    let mut p = store::providers::list(tx.conn())
        .await
        .expect("providers")
        .into_iter()
        .find(|p| p.client_id == CLI)
        .expect("cli provider");
    p.authorization_flow_id = Some(flow.id);
    store::providers::update(tx.conn(), &p)
        .await
        .expect("update");
    tx.touch(Topic::Providers);
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn device_page_signs_in_asks_once_and_the_device_gets_tokens() {
    let s = server().await;
    use_authorization_flow(&s, "default-provider-authorization-explicit-consent").await;
    let body = start(&s, Some("openid email offline_access")).await;
    let code = field(&body, "user_code").to_string();
    let c = jar();

    // Anonymous: sent to the authentication flow, and back to /device with the code.
    let first = c
        .get(format!("{}/device?code={code}", s.base_url))
        .send()
        .await
        .expect("get");
    assert_eq!(first.status().as_u16(), 302);
    let loc = first.headers()["location"].to_str().expect("ascii");
    assert!(
        loc.starts_with("/if/flow/default-authentication-flow/?next=%2Fdevice%3Fcode%3D"),
        "{loc}"
    );

    let entry = open_entry(&s, &c, &code, ADMIN).await;
    assert_eq!(entry.status, 200, "{}", entry.body);
    assert!(entry.url.contains("/device?code="), "{}", entry.url);
    assert!(
        entry.body.contains(&format!("value=\"{code}\"")),
        "verification_uri_complete fills the code in: {}",
        entry.body
    );

    // Lower case, no dash: accepted.
    let typed = code.replace('-', "").to_lowercase();
    let confirm = enter_code(&s, &c, &entry, &typed, ADMIN).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    for shown in [
        "authentik CLI",
        "akadmin",
        "openid",
        "email",
        "offline_access",
        // What the scopes grant, as the consent page lists them.
        "Email address",
        "Access to request new tokens without interaction",
        &code,
    ] {
        assert!(
            confirm.body.contains(shown),
            "{shown} named: {}",
            confirm.body
        );
    }
    let (st, r) = poll(&s, field(&body, "device_code")).await;
    assert_eq!((st, field(&r, "error")), (400, "authorization_pending"));

    // Approve is the consent: the explicit consent stage records it without asking again.
    let done = decide(&s, &c, &confirm, "approve", ADMIN).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Device signed in"), "{}", done.body);
    assert!(
        done.stages.is_empty(),
        "asked once: no consent page after Approve: {:?}",
        done.stages
    );
    let (permissions, expires): (String, Option<i64>) = {
        let mut conn = s.service.store().read().await.expect("read");
        sqlx::query_as("SELECT permissions, expires_at FROM consents")
            .fetch_one(&mut *conn)
            .await
            .expect("the expiring consent is recorded")
    };
    assert_eq!(permissions, "email offline_access openid");
    assert!(expires.is_some(), "weeks=4, not permanent");
    let (st, tokens) = poll(&s, field(&body, "device_code")).await;
    assert_eq!(st, 200, "{tokens}");
    assert!(!field(&tokens, "access_token").is_empty());
    assert!(!field(&tokens, "refresh_token").is_empty());
    // The approval is in the audit trail: who, from where, for which application; no code.
    let events = s.service.recent_events(50).await.expect("events");
    let approved = events
        .iter()
        .find(|e| e.action == "authorize_application" && e.context["flow"] == "device_code")
        .expect("the approval is recorded");
    assert_eq!(approved.username, "akadmin");
    assert_eq!(approved.client_ip, "127.0.0.1");
    assert_eq!(approved.origin, "http");
    assert!(!approved.app.is_empty(), "{approved:?}");
    let text = approved.context.to_string();
    assert!(!text.contains(&code) && !text.contains(&typed), "{text}");
}

#[tokio::test]
async fn deny_on_the_page_answers_access_denied_to_the_device() {
    let s = server().await;
    let body = start(&s, None).await;
    let last = sign_in_device(&s, field(&body, "user_code"), "deny").await;
    assert_eq!(last.status, 200, "{}", last.body);
    assert!(last.body.contains("denied"), "{}", last.body);
    let (st, r) = poll(&s, field(&body, "device_code")).await;
    assert_eq!((st, field(&r, "error")), (400, "access_denied"));
    let events = s.service.recent_events(50).await.expect("events");
    let denied = events
        .iter()
        .find(|e| e.action == "custom_device_code_denied")
        .expect("the denial is recorded");
    assert_eq!(denied.username, "akadmin");
    assert_eq!(denied.client_ip, "127.0.0.1");
}

#[tokio::test]
async fn a_code_is_approved_once_then_the_page_says_it_was_used() {
    let s = server().await;
    let body = start(&s, None).await;
    let code = field(&body, "user_code").to_string();
    let last = sign_in_device(&s, &code, "approve").await;
    assert!(last.body.contains("Device signed in"), "{}", last.body);
    let c = jar();
    let entry = open_entry(&s, &c, &code, ADMIN).await;
    let again = enter_code(&s, &c, &entry, &code, ADMIN).await;
    assert_eq!(again.status, 400);
    assert!(again.body.contains("Invalid code"), "{}", again.body);
}

#[tokio::test]
async fn wrong_codes_say_invalid_code_then_are_throttled_with_retry_after() {
    let s = server().await;
    let body = start(&s, None).await;
    let c = jar();
    let entry = open_entry(&s, &c, "", ADMIN).await;
    assert_eq!(entry.status, 200, "{}", entry.body);
    let csrf = hidden(&entry.body, "csrf").expect("csrf");
    let tries = latchkey::service::device::LOOKUP_TRIES;
    for i in 0..=tries {
        let res = c
            .post(format!("{}/device", s.base_url))
            .form(&[("csrf", csrf.as_str()), ("code", "BBBB-BBBB")])
            .send()
            .await
            .expect("post");
        let status = res.status().as_u16();
        let retry = res.headers().get("retry-after").cloned();
        let page = res.text().await.expect("body");
        if i < tries {
            assert_eq!(status, 400, "try {i}: {page}");
            assert!(page.contains("Invalid code"), "{page}");
        } else {
            assert_eq!(status, 429, "{page}");
            assert!(retry.is_some(), "Retry-After on 429");
            assert!(page.contains("Too many attempts"), "{page}");
        }
    }
    // Even the right code is refused while throttled.
    let res = c
        .post(format!("{}/device", s.base_url))
        .form(&[("csrf", csrf.as_str()), ("code", field(&body, "user_code"))])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status().as_u16(), 429);
}

#[tokio::test]
async fn posts_without_the_csrf_token_are_refused_and_change_nothing() {
    let s = server().await;
    let body = start(&s, None).await;
    let code = field(&body, "user_code").to_string();
    let c = jar();
    let entry = open_entry(&s, &c, &code, ADMIN).await;
    let res = c
        .post(format!("{}/device", s.base_url))
        .form(&[("csrf", "forged"), ("code", code.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status().as_u16(), 403);
    let confirm = enter_code(&s, &c, &entry, &code, ADMIN).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    let rid = hidden(&confirm.body, "rid").expect("rid");
    for decision in ["approve", "deny"] {
        let res = c
            .post(format!("{}/device/decide/", s.base_url))
            .form(&[
                ("csrf", "forged"),
                ("rid", rid.as_str()),
                ("decision", decision),
            ])
            .send()
            .await
            .expect("post");
        assert_eq!(res.status().as_u16(), 403);
    }
    // Approval needs a POST: a GET (a link, an image) decides nothing.
    let res = c
        .get(format!(
            "{}/device/decide/?rid={rid}&decision=approve",
            s.base_url
        ))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status().as_u16(), 405);
    let (st, r) = poll(&s, field(&body, "device_code")).await;
    assert_eq!((st, field(&r, "error")), (400, "authorization_pending"));
}

#[tokio::test]
async fn another_sessions_decision_id_is_refused() {
    let s = server().await;
    let body = start(&s, None).await;
    let code = field(&body, "user_code").to_string();
    let alice = jar();
    let entry = open_entry(&s, &alice, &code, ADMIN).await;
    let confirm = enter_code(&s, &alice, &entry, &code, ADMIN).await;
    let rid = hidden(&confirm.body, "rid").expect("rid");
    // A second browser, signed in too, replays the decision id with its own CSRF token.
    let mallory = jar();
    let other = open_entry(&s, &mallory, "", ADMIN).await;
    let res = mallory
        .post(format!("{}/device/decide/", s.base_url))
        .form(&[
            ("csrf", hidden(&other.body, "csrf").expect("csrf")),
            ("rid", rid),
            ("decision", "approve".to_string()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status().as_u16(), 400);
    let (st, r) = poll(&s, field(&body, "device_code")).await;
    assert_eq!((st, field(&r, "error")), (400, "authorization_pending"));
}

#[tokio::test]
async fn application_policies_deny_on_the_page_before_consent() {
    let s = server().await;
    let body = start(&s, None).await;
    let app = s
        .service
        .list_applications()
        .await
        .expect("apps")
        .into_iter()
        .find(|a| a.slug == CLI)
        .expect("app");
    let allowed =
        crate::flows_support::add_user(&s.service, "allowed", "a@example.com", "allowed-pass-1")
            .await;
    crate::flows_support::bind(
        &s.service,
        &app.id,
        latchkey::domain::BindingSubject::User(allowed.id.clone()),
        crate::flows_support::Opts::default(),
    )
    .await;
    let code = field(&body, "user_code").to_string();
    let c = jar();
    let entry = open_entry(&s, &c, &code, ADMIN).await;
    let refused = enter_code(&s, &c, &entry, &code, ADMIN).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("do not have access"),
        "{}",
        refused.body
    );
    let (st, r) = poll(&s, field(&body, "device_code")).await;
    assert_eq!((st, field(&r, "error")), (400, "authorization_pending"));
    // The allowed user gets through.
    let c = jar();
    let user = ("allowed", "allowed-pass-1");
    let entry = open_entry(&s, &c, &code, user).await;
    let confirm = enter_code(&s, &c, &entry, &code, user).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    let done = decide(&s, &c, &confirm, "approve", user).await;
    assert!(done.body.contains("Device signed in"), "{}", done.body);
    let (st, _) = poll(&s, field(&body, "device_code")).await;
    assert_eq!(st, 200);
}

#[tokio::test]
async fn without_a_brand_device_flow_the_page_says_what_to_configure() {
    let s = server().await;
    {
        let mut tx = s.service.store().write_tx().await.expect("tx");
        for mut b in store::brands::list(tx.conn()).await.expect("brands") {
            b.flow_device_code_id = None;
            store::brands::update(tx.conn(), &b).await.expect("update");
        }
        tx.touch(Topic::Brands);
        tx.commit().await.expect("commit");
    }
    let res = jar()
        .get(format!("{}/device", s.base_url))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status().as_u16(), 404);
    let page = res.text().await.expect("body");
    assert!(page.contains("Device code flow"), "{page}");
    assert!(page.contains("flow-device-code.yaml"), "{page}");
}

#[tokio::test]
async fn device_pages_carry_the_flow_security_headers() {
    let s = server().await;
    let c = jar();
    let entry = c
        .get(format!("{}/device", s.base_url))
        .send()
        .await
        .expect("get");
    let h = entry.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    let cookie = h
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join(";");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
}

#[tokio::test]
async fn a_consent_deny_in_a_flow_the_sign_in_runs_denies_the_code() {
    let s = server().await;
    // A device-code flow that asks for consent (always): its Deny must reach the device.
    let (flow, _, _) = crate::flows_support::add_flow(
        &s.service,
        "device-with-consent",
        latchkey::domain::FlowAuthentication::RequireAuthenticated,
        vec![(
            latchkey::domain::StageKind::Consent,
            serde_json::json!({"mode": "always_require"}),
        )],
    )
    .await;
    {
        let mut tx = s.service.store().write_tx().await.expect("tx");
        for mut b in store::brands::list(tx.conn()).await.expect("brands") {
            b.flow_device_code_id = Some(flow.clone());
            store::brands::update(tx.conn(), &b).await.expect("update");
        }
        tx.touch(Topic::Brands);
        tx.commit().await.expect("commit");
    }
    let body = start(&s, Some("openid email")).await;
    let code = field(&body, "user_code").to_string();
    let c = jar();
    let entry = open_entry(&s, &c, &code, ADMIN).await;
    let res = c
        .post(format!("{}/device", s.base_url))
        .form(&[
            ("csrf", hidden(&entry.body, "csrf").expect("csrf")),
            ("code", code.clone()),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(res.headers()["location"], "/if/flow/device-with-consent/");
    let page_url = format!("{}/if/flow/device-with-consent/", s.base_url);
    let page = c
        .get(&page_url)
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("page");
    assert_eq!(
        hidden(&page, "component").as_deref(),
        Some("ak-stage-consent")
    );
    // A consent stage in any flow the sign-in runs lists what the device's scopes grant.
    assert!(
        page.contains("You're about to sign into authentik CLI."),
        "{page}"
    );
    assert!(
        page.contains("<li data-permission-code=\"email\">Email address</li>"),
        "{page}"
    );
    let res = c
        .post(&page_url)
        .form(&[
            ("csrf", hidden(&page, "csrf").expect("csrf")),
            ("component", "ak-stage-consent".to_string()),
            ("token", hidden(&page, "token").expect("token")),
            ("deny", "true".to_string()),
        ])
        .send()
        .await
        .expect("deny");
    let to = res.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(to.starts_with("/device/continue/?rid="), "{to}");
    let last = drive(
        &s,
        &c,
        c.get(format!("{}{to}", s.base_url))
            .send()
            .await
            .expect("get"),
        to,
        ADMIN,
    )
    .await;
    assert!(
        last.body.contains("You denied the request"),
        "{}",
        last.body
    );
    let (st, r) = poll(&s, field(&body, "device_code")).await;
    assert_eq!((st, field(&r, "error")), (400, "access_denied"));
}
