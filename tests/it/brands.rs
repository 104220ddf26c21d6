//! Brands by request host (issue 21): authentik's `get_brand_for_request` picks the brand whose
//! domain is the request's host or a parent of it (longest first), else the default brand; the
//! pages, the default flows, `/`, `/device` and `/api/v3/core/brands/current/` all use it.
//! Requests carry their own `Host` header to one 127.0.0.1 listener.

use latchkey::domain::*;
use latchkey::service::Service;
use latchkey::store::{self, Topic};
use reqwest::header::{HOST, LOCATION};
use serde_json::{Value, json};

use crate::flows_support::{add_flow, add_user, edit_flow, html_login, jar};
use crate::server::{APP_REDIRECT, create_oidc_app};
use crate::support::{ADMIN_PASSWORD, spawn_server};

/// A brand on `domain` titled `title` with these flows (ids), saved through the service.
async fn add_brand(service: &Service, domain: &str, title: &str, flows: &[(&str, &str)]) -> Brand {
    let flow = |name: &str| {
        flows
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, id)| id.to_string())
    };
    let brand = Brand {
        id: new_id(),
        domain: domain.into(),
        default: false,
        branding_title: title.into(),
        branding_logo: String::new(),
        branding_favicon: format!("/static/{domain}.ico"),
        branding_custom_css: String::new(),
        flow_authentication_id: flow("authentication"),
        flow_invalidation_id: flow("invalidation"),
        flow_recovery_id: flow("recovery"),
        flow_unenrollment_id: flow("unenrollment"),
        flow_user_settings_id: flow("user_settings"),
        flow_device_code_id: flow("device_code"),
        web_certificate_id: None,
        default_application_id: None,
        attributes: json!({}),
        created_at: 0,
        updated_at: 0,
        version: 0,
    };
    service
        .save(&Object::Brand(brand.clone()), true)
        .await
        .expect("brand");
    brand
}

/// A one-stage identification flow of `designation`; returns its id.
async fn flow(service: &Service, slug: &str, designation: FlowDesignation) -> String {
    let stages = vec![(
        StageKind::Identification,
        json!({"user_fields": ["username"]}),
    )];
    let (id, _, _) = add_flow(service, slug, FlowAuthentication::None, stages).await;
    edit_flow(service, slug, |f| f.designation = designation).await;
    id
}

/// The two brands of these tests: `alpha.test` and `beta.test`, each with its own flows.
async fn two_brands(service: &Service) {
    for name in ["alpha", "beta"] {
        let auth = flow(
            service,
            &format!("{name}-login"),
            FlowDesignation::Authentication,
        )
        .await;
        let out = flow(
            service,
            &format!("{name}-logout"),
            FlowDesignation::Invalidation,
        )
        .await;
        let recovery = flow(
            service,
            &format!("{name}-recovery"),
            FlowDesignation::Recovery,
        )
        .await;
        let unenroll = flow(
            service,
            &format!("{name}-unenroll"),
            FlowDesignation::Unenrollment,
        )
        .await;
        let settings = flow(
            service,
            &format!("{name}-settings"),
            FlowDesignation::StageConfiguration,
        )
        .await;
        let mut flows = vec![
            ("authentication", auth.as_str()),
            ("invalidation", out.as_str()),
            ("recovery", recovery.as_str()),
            ("unenrollment", unenroll.as_str()),
            ("user_settings", settings.as_str()),
        ];
        let device;
        if name == "alpha" {
            device = flow(service, "alpha-device", FlowDesignation::StageConfiguration).await;
            flows.push(("device_code", device.as_str()));
        }
        let title = format!("{} Corp", name[..1].to_uppercase() + &name[1..]);
        add_brand(service, &format!("{name}.test"), &title, &flows).await;
    }
}

async fn get(c: &reqwest::Client, base: &str, path: &str, host: &str) -> reqwest::Response {
    c.get(format!("{base}{path}"))
        .header(HOST, host)
        .send()
        .await
        .expect("get")
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn two_brands_on_two_host_names_pick_their_own_flows_and_titles() {
    let s = spawn_server().await;
    two_brands(&s.service).await;
    let c = jar();
    let base = &s.base_url;

    // `/` sends a visitor to the brand's authentication flow: the longest domain at a dot.
    for (host, slug) in [
        ("alpha.test", "alpha-login"),
        ("login.alpha.test:9443", "alpha-login"),
        ("BETA.test", "beta-login"),
        ("fake-alpha.test", "default-authentication-flow"),
        ("127.0.0.1", "default-authentication-flow"),
    ] {
        let r = get(&c, base, "/", host).await;
        assert_eq!(r.status(), 302, "{host}");
        assert_eq!(location(&r), format!("/if/flow/{slug}/?next=%2F"), "{host}");
        let r = get(&c, base, "/flows/-/default/authentication/", host).await;
        assert_eq!(location(&r), format!("/if/flow/{slug}/"), "{host}");
    }

    // Every page is in the host's brand: its title in the tab and its favicon.
    let page = get(&c, base, "/if/flow/alpha-login/", "alpha.test").await;
    let html = page.text().await.expect("html");
    assert!(
        html.contains("<title>Flow alpha-login - Alpha Corp</title>"),
        "{html}"
    );
    assert!(
        html.contains("<link rel=\"icon\" href=\"/static/alpha.test.ico\">"),
        "{html}"
    );
    let html = get(&c, base, "/if/flow/alpha-login/", "beta.test")
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("- Beta Corp</title>"), "{html}");
    assert!(html.contains("href=\"/static/beta.test.ico\""), "{html}");

    // Sign-out and cancel go to the brand's invalidation flow.
    for host in ["alpha.test", "beta.test"] {
        let name = host.trim_end_matches(".test");
        let r = get(&c, base, "/flows/-/cancel/", host).await;
        assert_eq!(location(&r), format!("/if/flow/{name}-logout/"), "{host}");
        let r = get(&c, base, "/flows/-/default/invalidation/", host).await;
        assert_eq!(location(&r), format!("/if/flow/{name}-logout/"), "{host}");
    }

    // The current brand (what ak-sysd and authentik's web interfaces read) names its flows.
    for host in ["alpha.test", "beta.test"] {
        let name = host.trim_end_matches(".test");
        let b: Value = get(
            &c,
            base,
            "/api/v3/core/brands/current/",
            &format!("id.{host}"),
        )
        .await
        .json()
        .await
        .expect("json");
        assert_eq!(b["matched_domain"], host);
        assert_eq!(b["flow_authentication"], format!("{name}-login"));
        assert_eq!(b["flow_invalidation"], format!("{name}-logout"));
        assert_eq!(b["flow_recovery"], format!("{name}-recovery"));
        assert_eq!(b["flow_unenrollment"], format!("{name}-unenroll"));
        assert_eq!(b["flow_user_settings"], format!("{name}-settings"));
        assert_eq!(b["branding_favicon"], format!("/static/{host}.ico"));
    }
    // The brand's attributes carry authentik's UI settings.
    let mut beta = s
        .service
        .list_brands()
        .await
        .expect("brands")
        .into_iter()
        .find(|b| b.domain == "beta.test")
        .expect("beta");
    beta.attributes = json!({"settings": {"locale": "de", "theme": {"base": "dark"}}});
    s.service
        .save(&Object::Brand(beta), false)
        .await
        .expect("attributes");
    let b: Value = get(&c, base, "/api/v3/core/brands/current/", "beta.test")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(b["default_locale"], "de");
    assert_eq!(b["ui_theme"], "dark");
    let b: Value = get(&c, base, "/api/v3/core/brands/current/", "alpha.test")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(b["default_locale"], "");
    assert_eq!(b["ui_theme"], "automatic");
    let b: Value = get(&c, base, "/api/v3/core/brands/current/", "other.example")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(b["matched_domain"], "authentik-default");
}

#[tokio::test]
async fn the_device_pages_run_the_hosts_brands_flows() {
    let s = spawn_server().await;
    two_brands(&s.service).await;
    let c = jar();
    let base = &s.base_url;
    // Anonymous: alpha signs in first by its own authentication flow; beta has no
    // device-code flow, so its page says what to set.
    let r = get(&c, base, "/device", "alpha.test").await;
    assert!(
        location(&r).starts_with("/if/flow/alpha-login/?next="),
        "{}",
        location(&r)
    );
    let html = get(&c, base, "/device", "beta.test")
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("No device-code flow"), "{html}");
    assert!(html.contains("Beta Corp"), "{html}");
    // Signed in: alpha's code form, in alpha's brand.
    let r = html_login(&c, base, "akadmin", ADMIN_PASSWORD).await;
    assert_eq!(r.status(), 303);
    let html = get(&c, base, "/device", "alpha.test")
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("name=\"code\""), "{html}");
    assert!(html.contains("Alpha Corp"), "{html}");
    let html = get(&c, base, "/device", "beta.test")
        .await
        .text()
        .await
        .expect("html");
    assert!(html.contains("No device-code flow"), "{html}");
}

#[tokio::test]
async fn a_flow_ending_without_next_sends_an_external_user_to_the_brands_default_application() {
    let s = spawn_server().await;
    let app = Application {
        id: new_id(),
        name: "Portal".into(),
        slug: "portal".into(),
        meta_launch_url: "https://portal.alpha.test/start".into(),
        ..Application::default()
    };
    s.service
        .save(&Object::Application(app.clone()), true)
        .await
        .expect("app");
    let mut brand = add_brand(&s.service, "alpha.test", "Alpha Corp", &[]).await;
    let stored = s.service.list_brands().await.expect("brands");
    brand.version = stored
        .iter()
        .find(|b| b.id == brand.id)
        .expect("brand")
        .version;
    brand.default_application_id = Some(app.id.clone());
    s.service
        .save(&Object::Brand(brand), false)
        .await
        .expect("default application");
    let mut guest = add_user(&s.service, "guest", "guest@example.com", "guest-password-1").await;
    guest.user_type = UserType::External;
    let mut tx = s.service.store().write_tx().await.expect("tx");
    store::users::update(tx.conn(), &guest)
        .await
        .expect("external");
    tx.touch(Topic::All);
    tx.commit().await.expect("commit");

    let base = &s.base_url;
    let c = jar();
    let r = html_login(&c, base, "guest", "guest-password-1").await;
    assert_eq!(
        location(&r),
        "/",
        "the login flow ends on `/` without a next"
    );
    let r = get(&c, base, "/", "alpha.test").await;
    assert_eq!(r.status(), 302);
    assert_eq!(location(&r), "https://portal.alpha.test/start");
    // Another host's brand has no default application: the user's interface.
    let r = get(&c, base, "/", "beta.test").await;
    assert_eq!(r.status(), 302);
    assert_eq!(location(&r), "/if/user/");

    // An internal user goes to the user's interface too (authentik's `if-user`).
    let c = jar();
    html_login(&c, base, "akadmin", ADMIN_PASSWORD).await;
    let r = get(&c, base, "/", "alpha.test").await;
    assert_eq!(r.status(), 302);
    assert_eq!(location(&r), "/if/user/");
}

#[tokio::test]
async fn the_authorize_endpoint_signs_a_visitor_in_by_the_hosts_brand() {
    let s = spawn_server().await;
    two_brands(&s.service).await;
    let p = create_oidc_app(&s, "app").await;
    let redirect: String = form_urlencoded::byte_serialize(APP_REDIRECT.as_bytes()).collect();
    let path = format!(
        "/application/o/authorize/?response_type=code&client_id={}&redirect_uri={redirect}\
         &scope=openid&state=s",
        p.client_id
    );
    for (host, slug) in [
        ("alpha.test", "alpha-login"),
        ("beta.test", "beta-login"),
        ("elsewhere.example", "default-authentication-flow"),
    ] {
        let r = get(&jar(), &s.base_url, &path, host).await;
        assert!(r.status().is_redirection(), "{host}: {}", r.status());
        assert!(
            location(&r).starts_with(&format!("/if/flow/{slug}/?")),
            "{host}: {}",
            location(&r)
        );
    }
}
