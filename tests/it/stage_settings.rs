//! Stage settings that change what the user sees or what a flow does (issue 21), each through
//! the HTML pages and the JSON executor where the user meets it, and the settings latchkey
//! cannot honour refused at save.

use latchkey::domain::*;
use latchkey::store;
use serde_json::{Value, json};

use crate::flows_support::*;
use crate::support::spawn_server;

/// A stage with `settings` as it would be saved from the console or a blueprint.
fn stage(kind: StageKind, settings: Value) -> Object {
    Object::Stage(Stage {
        id: new_id(),
        name: format!("refused-{}", new_id()),
        settings: StageSettings::from_json(kind, &settings),
        created_at: 0,
        updated_at: 0,
        version: 1,
    })
}

#[tokio::test]
async fn identification_links_enrollment_recovery_and_passwordless_flows_with_the_query() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    let mut ids = Vec::new();
    for slug in ["sign-up", "forgot", "keyonly"] {
        let (id, _, _) = add_flow(
            &srv.service,
            slug,
            FlowAuthentication::None,
            vec![(StageKind::Deny, json!({}))],
        )
        .await;
        ids.push(id);
    }
    add_flow(
        &srv.service,
        "linked",
        FlowAuthentication::None,
        vec![(
            StageKind::Identification,
            json!({"user_fields": ["username"], "enrollment_flow": ids[0],
                   "recovery_flow": ids[1], "passwordless_flow": ids[2],
                   "show_source_labels": true}),
        )],
    )
    .await;
    // JSON: authentik's enroll_url / recovery_url / passwordless_url, carrying the flow's query.
    let c = jar();
    let v: Value = c
        .get(format!(
            "{}?query=next%3D%252Fapp%252F",
            api_url(base, "linked")
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["component"], "ak-stage-identification", "{v}");
    assert_eq!(v["enroll_url"], "/if/flow/sign-up/?next=%2Fapp%2F", "{v}");
    assert_eq!(v["recovery_url"], "/if/flow/forgot/?next=%2Fapp%2F", "{v}");
    assert_eq!(
        v["passwordless_url"], "/if/flow/keyonly/?next=%2Fapp%2F",
        "{v}"
    );
    assert_eq!(v["show_source_labels"], true, "{v}");
    // HTML: the links at the bottom of the page, after the button.
    let page = jar()
        .get(format!("{}?next=/app/", flow_url(base, "linked")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let button = page.find("</button>").expect("button");
    for (id, href) in [
        ("enroll", "/if/flow/sign-up/?next=%2Fapp%2F"),
        ("recovery", "/if/flow/forgot/?next=%2Fapp%2F"),
        ("passwordless", "/if/flow/keyonly/?next=%2Fapp%2F"),
    ] {
        let link = format!("id=\"{id}\" href=\"{href}\"");
        let at = page
            .find(&link)
            .unwrap_or_else(|| panic!("{link} in {page}"));
        assert!(at > button, "{id} below the form");
    }
    assert!(page.contains("Sign up."), "{page}");
    // Without the settings: no links, no members.
    add_flow(
        &srv.service,
        "unlinked",
        FlowAuthentication::None,
        vec![(
            StageKind::Identification,
            json!({"user_fields": ["username"]}),
        )],
    )
    .await;
    let v = api_get(&jar(), base, "unlinked").await;
    for key in ["enroll_url", "recovery_url", "passwordless_url"] {
        assert!(v.get(key).is_none(), "{key}: {v}");
    }
    assert_eq!(v["show_source_labels"], false, "{v}");
    let (_, page) = get_page(&jar(), base, "unlinked").await;
    assert!(!page.contains("id=\"enroll\""), "{page}");
}

#[tokio::test]
async fn identification_show_matched_user_names_the_account_or_what_was_typed() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    add_user(
        &srv.service,
        "alice",
        "alice@example.com",
        "alice-password-1",
    )
    .await;
    for (slug, show) in [("shown", true), ("hidden", false)] {
        add_flow(
            &srv.service,
            slug,
            FlowAuthentication::None,
            vec![
                (
                    StageKind::Identification,
                    json!({"user_fields": ["username", "email"], "show_matched_user": show}),
                ),
                (StageKind::Password, json!({})),
            ],
        )
        .await;
    }
    // JSON: the password challenge's pending_user.
    let c = jar();
    api_get(&c, base, "shown").await;
    let v = identify(&c, base, "shown", "Alice@Example.com").await;
    assert_eq!(v["component"], "ak-stage-password", "{v}");
    assert_eq!(v["pending_user"], "alice", "{v}");
    let c = jar();
    api_get(&c, base, "hidden").await;
    let v = identify(&c, base, "hidden", "Alice@Example.com").await;
    assert_eq!(v["pending_user"], "Alice@Example.com", "{v}");
    // HTML: the name above the password field.
    for (slug, shown) in [("shown", "alice"), ("hidden", "Alice@Example.com")] {
        let c = jar();
        let (_, page) = get_page(&c, base, slug).await;
        let r = post_form(&c, base, slug, &page, &[("uid_field", "Alice@Example.com")]).await;
        let page = r.text().await.unwrap();
        assert!(
            page.contains(&format!("<p class=\"user\">{shown}</p>")),
            "{slug}: {page}"
        );
    }
}

#[tokio::test]
async fn identification_case_matching_and_pretending_both_ways() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    add_whoami(&srv.service).await;
    add_user(&srv.service, "carol", "", "carol-password-1").await;
    for (slug, ci, pretend) in [
        ("ci-pretend", true, true),
        ("cs-pretend", false, true),
        ("cs-honest", false, false),
    ] {
        add_flow(
            &srv.service,
            slug,
            FlowAuthentication::None,
            vec![
                (
                    StageKind::Identification,
                    json!({"user_fields": ["username"], "case_insensitive_matching": ci,
                           "pretend_user_exists": pretend}),
                ),
                (StageKind::Password, json!({})),
                (StageKind::UserLogin, json!({})),
            ],
        )
        .await;
    }
    let login = |slug: &'static str, uid: &'static str| {
        let base = base.clone();
        async move {
            let c = jar();
            api_get(&c, &base, slug).await;
            let v = identify(&c, &base, slug, uid).await;
            if v["component"] != "ak-stage-password" {
                return (v, false);
            }
            let v = api_post(
                &c,
                &base,
                slug,
                json!({"component": "ak-stage-password", "password": "carol-password-1"}),
            )
            .await;
            let ok = logged_in(&c, &base).await;
            (v, ok)
        }
    };
    // case_insensitive_matching: true finds CAROL.
    let (v, ok) = login("ci-pretend", "CAROL").await;
    assert!(ok, "{v}");
    // false: CAROL is nobody; pretending asks for a password that cannot succeed.
    let (v, ok) = login("cs-pretend", "CAROL").await;
    assert!(!ok, "{v}");
    assert_eq!(v["component"], "ak-stage-password", "{v}");
    assert_eq!(
        v["response_errors"]["password"][0]["string"],
        "Failed to authenticate."
    );
    let (_, ok) = login("cs-pretend", "carol").await;
    assert!(ok);
    // pretend_user_exists false: the unknown identifier is refused at identification.
    let (v, ok) = login("cs-honest", "CAROL").await;
    assert!(!ok);
    assert_eq!(v["component"], "ak-stage-identification", "{v}");
    assert_eq!(
        v["response_errors"]["uid_field"][0]["string"],
        "Failed to authenticate."
    );
}

#[tokio::test]
async fn identification_sources_and_captcha_are_refused_at_save() {
    let srv = spawn_server().await;
    for (settings, field) in [
        (json!({"sources": ["github"]}), "sources"),
        (json!({"captcha_stage": "captcha-1"}), "captcha_stage"),
    ] {
        let err = srv
            .service
            .save(&stage(StageKind::Identification, settings), true)
            .await
            .expect_err("refused");
        let errors = err.field_errors();
        let e = errors
            .iter()
            .find(|e| e.field == field)
            .expect("field error");
        assert!(e.message.starts_with("latchkey has no"), "{}", e.message);
    }
    srv.service
        .save(
            &stage(StageKind::Identification, json!({"sources": []})),
            true,
        )
        .await
        .expect("empty sources saved");
}

const MFA_STAGE: &str = "default-authentication-mfa-validation";

fn totp_code(at: i64) -> String {
    totp_for(TOTP_SECRET, 6).generate(at as u64).to_string()
}

/// Gives akadmin a confirmed TOTP device.
async fn add_totp(service: &latchkey::service::Service) {
    let admin = admin(service).await;
    add_totp_device(service, &admin.id, "phone", 6).await;
}

#[tokio::test]
async fn authenticator_validate_last_auth_threshold_skips_a_recent_validation() {
    let srv = spawn_clock_server(None).await;
    let base = &srv.base_url;
    add_whoami(&srv.service).await;
    add_totp(&srv.service).await;
    set_stage(
        &srv.service,
        MFA_STAGE,
        json!({"device_classes": ["totp"], "last_auth_threshold": "minutes=10"}),
    )
    .await;
    // The first login is asked for its code.
    let c = jar();
    let v = json_login_admin(&c, base).await;
    assert_eq!(v["component"], "ak-stage-authenticator-validate", "{v}");
    let v = api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-authenticator-validate", "code": totp_code(srv.service.now())}),
    )
    .await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
    // Five minutes later the stage is skipped.
    srv.clock.advance(300);
    let c = jar();
    let v = json_login_admin(&c, base).await;
    assert_eq!(v["component"], "xak-flow-redirect", "skipped: {v}");
    assert!(logged_in(&c, base).await);
    // Eleven minutes after the validation it is asked again (HTML too).
    srv.clock.advance(360);
    let c = jar();
    let v = json_login_admin(&c, base).await;
    assert_eq!(v["component"], "ak-stage-authenticator-validate", "{v}");
    // A threshold of zero always asks, however recent the validation.
    let v = api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-authenticator-validate", "code": totp_code(srv.service.now())}),
    )
    .await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
    set_stage(
        &srv.service,
        MFA_STAGE,
        json!({"device_classes": ["totp"], "last_auth_threshold": "seconds=0"}),
    )
    .await;
    let h = jar();
    html_login(&h, base, "akadmin", crate::support::ADMIN_PASSWORD).await;
    let (_, page) = get_page(&h, base, AUTH_FLOW).await;
    assert!(page.contains("name=\"code\""), "{page}");
    // A recent validation of a class the stage does not accept does not count.
    set_stage(
        &srv.service,
        MFA_STAGE,
        json!({"device_classes": ["totp", "static"], "last_auth_threshold": "minutes=10"}),
    )
    .await;
    let c = jar();
    assert_eq!(
        json_login_admin(&c, base).await["component"],
        "xak-flow-redirect"
    );
    set_stage(
        &srv.service,
        MFA_STAGE,
        json!({"device_classes": ["static", "webauthn"], "last_auth_threshold": "minutes=10",
               "not_configured_action": "deny"}),
    )
    .await;
    let c = jar();
    assert_eq!(
        json_login_admin(&c, base).await["component"],
        "ak-stage-access-denied"
    );
}

#[tokio::test]
async fn authenticator_validate_not_configured_actions_skip_deny_configure() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    add_whoami(&srv.service).await;
    // skip: a user without a device goes on and is logged in.
    set_stage(
        &srv.service,
        MFA_STAGE,
        json!({"device_classes": ["totp"], "not_configured_action": "skip"}),
    )
    .await;
    let c = jar();
    assert_eq!(
        json_login_admin(&c, base).await["component"],
        "xak-flow-redirect"
    );
    assert!(logged_in(&c, base).await);
    // deny: refused.
    set_stage(
        &srv.service,
        MFA_STAGE,
        json!({"device_classes": ["totp"], "not_configured_action": "deny"}),
    )
    .await;
    let c = jar();
    let v = json_login_admin(&c, base).await;
    assert_eq!(v["component"], "ak-stage-access-denied", "{v}");
    assert!(!logged_in(&c, base).await);
    // configure: the configuration stage runs next (here: recovery codes).
    let (_, _, stages) = add_flow(
        &srv.service,
        "holder",
        FlowAuthentication::None,
        vec![(StageKind::AuthenticatorStatic, json!({}))],
    )
    .await;
    set_stage(
        &srv.service,
        MFA_STAGE,
        json!({"device_classes": ["totp", "static"], "not_configured_action": "configure",
               "configuration_stages": [stages[0]]}),
    )
    .await;
    let c = jar();
    let v = json_login_admin(&c, base).await;
    assert_eq!(v["component"], "ak-stage-authenticator-static", "{v}");
    let h = jar();
    html_login(&h, base, "akadmin", crate::support::ADMIN_PASSWORD).await;
    let (_, page) = get_page(&h, base, AUTH_FLOW).await;
    assert!(page.contains("ak-stage-authenticator-static"), "{page}");
}

#[tokio::test]
async fn redirect_flow_mode_plans_the_target_flow_keeping_the_context_or_not() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    add_whoami(&srv.service).await;
    let (landing, _, _) = add_flow(
        &srv.service,
        "landing",
        FlowAuthentication::None,
        vec![
            (StageKind::Password, json!({})),
            (StageKind::UserLogin, json!({})),
        ],
    )
    .await;
    for (slug, keep) in [("hop-keep", true), ("hop-fresh", false)] {
        add_flow(
            &srv.service,
            slug,
            FlowAuthentication::None,
            vec![
                (
                    StageKind::Identification,
                    json!({"user_fields": ["username"]}),
                ),
                (
                    StageKind::Redirect,
                    json!({"mode": "flow", "target_flow": landing, "keep_context": keep}),
                ),
            ],
        )
        .await;
    }
    // keep_context: the target flow's page knows who is signing in, and `next` survives.
    let c = jar();
    c.get(format!(
        "{}?query=next%3D%252Fafter",
        api_url(base, "hop-keep")
    ))
    .send()
    .await
    .unwrap();
    let v = identify(&c, base, "hop-keep", "akadmin").await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
    assert_eq!(v["to"], "/if/flow/landing/?next=%2Fafter", "{v}");
    let v = api_get(&c, base, "landing").await;
    assert_eq!(v["component"], "ak-stage-password", "{v}");
    assert_eq!(v["pending_user"], "akadmin", "{v}");
    let v = api_post(
        &c,
        base,
        "landing",
        json!({"component": "ak-stage-password", "password": crate::support::ADMIN_PASSWORD}),
    )
    .await;
    assert_eq!(v["to"], "/after", "{v}");
    assert!(logged_in(&c, base).await);
    // Without keep_context the target starts from nothing: no pending user.
    let c = jar();
    api_get(&c, base, "hop-fresh").await;
    let v = identify(&c, base, "hop-fresh", "akadmin").await;
    assert_eq!(v["to"], "/if/flow/landing/", "{v}");
    let v = api_get(&c, base, "landing").await;
    assert_eq!(v["component"], "ak-stage-access-denied", "{v}");
    // HTML: the browser is sent to the target flow's page, which asks for akadmin's password.
    let h = jar();
    let (_, page) = get_page(&h, base, "hop-keep").await;
    let r = post_form(&h, base, "hop-keep", &page, &[("uid_field", "akadmin")]).await;
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, "/if/flow/landing/", "{location}");
    let (_, page) = get_page(&h, base, "landing").await;
    assert!(
        page.contains("<p class=\"user\">akadmin</p>") && page.contains("name=\"password\""),
        "{page}"
    );
    // Static mode: the browser leaves for target_static.
    add_flow(
        &srv.service,
        "leave",
        FlowAuthentication::None,
        vec![(
            StageKind::Redirect,
            json!({"mode": "static", "target_static": "/elsewhere/"}),
        )],
    )
    .await;
    let v = api_get(&jar(), base, "leave").await;
    assert_eq!(v["to"], "/elsewhere/", "{v}");
    let r = jar().get(flow_url(base, "leave")).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/elsewhere/");
    // A flow-mode redirect without a target is refused at save.
    let err = srv
        .service
        .save(&stage(StageKind::Redirect, json!({"mode": "flow"})), true)
        .await
        .expect_err("refused");
    assert!(err.field_errors().iter().any(|e| e.field == "target_flow"));
}

/// A client that shares `jar` and connects from `ip` (any 127/8 address reaches the server's
/// 127.0.0.1 over loopback), so one browser session can arrive from another address.
fn from_ip(jar: &std::sync::Arc<reqwest::cookie::Jar>, ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .local_address(ip.parse::<std::net::IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn user_login_network_binding_ends_a_session_used_from_elsewhere() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    add_whoami(&srv.service).await;
    let login_stage = "default-authentication-login";
    // bind_asn_network_ip: another address, even next door, ends the session.
    set_stage(
        &srv.service,
        login_stage,
        json!({"network_binding": "bind_asn_network_ip"}),
    )
    .await;
    let shared = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let home = from_ip(&shared, "127.0.0.1");
    html_login(&home, base, "akadmin", crate::support::ADMIN_PASSWORD).await;
    assert!(logged_in(&home, base).await);
    assert!(
        logged_in(&home, base).await,
        "the same address stays signed in"
    );
    let next_door = from_ip(&shared, "127.0.0.2");
    assert!(
        !logged_in(&next_door, base).await,
        "another address is signed out"
    );
    assert!(
        !logged_in(&home, base).await,
        "the session is gone for good"
    );
    let ended = events_of(&srv.service, "logout").await;
    let e = ended.first().expect("a logout event");
    assert_eq!(
        e.context["binding"]["reason"], "network.ip",
        "{:?}",
        e.context
    );
    assert_eq!(e.context["ip"]["previous"], "127.0.0.1");
    assert_eq!(e.context["ip"]["new"], "127.0.0.2");
    // bind_asn_network: the same /24 keeps it, another network ends it (JSON executor too).
    set_stage(
        &srv.service,
        login_stage,
        json!({"network_binding": "bind_asn_network"}),
    )
    .await;
    let shared = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let home = from_ip(&shared, "127.0.0.1");
    html_login(&home, base, "akadmin", crate::support::ADMIN_PASSWORD).await;
    assert!(
        logged_in(&from_ip(&shared, "127.0.0.9"), base).await,
        "same /24"
    );
    let away = from_ip(&shared, "127.0.1.1");
    let v = api_get(&away, base, "whoami").await;
    assert_eq!(v["error_message"], "Flow requires authentication.", "{v}");
    assert!(!logged_in(&home, base).await);
    // no_binding: any address.
    set_stage(
        &srv.service,
        login_stage,
        json!({"network_binding": "no_binding"}),
    )
    .await;
    let shared = std::sync::Arc::new(reqwest::cookie::Jar::default());
    html_login(
        &from_ip(&shared, "127.0.0.1"),
        base,
        "akadmin",
        crate::support::ADMIN_PASSWORD,
    )
    .await;
    assert!(logged_in(&from_ip(&shared, "127.0.1.1"), base).await);
}

#[tokio::test]
async fn user_login_asn_only_and_geoip_bindings_are_refused_at_save() {
    let srv = spawn_server().await;
    for (settings, field) in [
        (json!({"network_binding": "bind_asn"}), "network_binding"),
        (json!({"geoip_binding": "bind_continent"}), "geoip_binding"),
        (
            json!({"geoip_binding": "bind_continent_country_city"}),
            "geoip_binding",
        ),
    ] {
        let err = srv
            .service
            .save(&stage(StageKind::UserLogin, settings.clone()), true)
            .await
            .expect_err("refused");
        let errors = err.field_errors();
        let e = errors
            .iter()
            .find(|e| e.field == field)
            .unwrap_or_else(|| panic!("{settings}: {errors:?}"));
        assert!(e.message.starts_with("latchkey has no"), "{}", e.message);
    }
    for ok in ["no_binding", "bind_asn_network", "bind_asn_network_ip"] {
        srv.service
            .save(
                &stage(StageKind::UserLogin, json!({"network_binding": ok})),
                true,
            )
            .await
            .unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
}

/// A text prompt with this field key; returns its id.
async fn add_text_prompt(service: &latchkey::service::Service, key: &str, order: i64) -> String {
    let now = service.now();
    let p = Prompt {
        id: new_id(),
        name: format!("prompt-{key}"),
        field_key: key.into(),
        label: key.into(),
        field_type: if key == "username" {
            "username"
        } else {
            "text"
        }
        .into(),
        required: true,
        placeholder: String::new(),
        initial_value: String::new(),
        sub_text: String::new(),
        order,
        placeholder_expression: false,
        initial_value_expression: false,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = service.store().write_tx().await.unwrap();
    store::stages::insert_prompt(tx.conn(), &p).await.unwrap();
    tx.commit().await.unwrap();
    p.id
}

async fn user_named(service: &latchkey::service::Service, username: &str) -> User {
    let mut conn = service.store().read().await.unwrap();
    store::users::get_by_username(&mut conn, username)
        .await
        .unwrap()
        .expect("user created")
}

#[tokio::test]
async fn user_write_type_path_group_and_nested_attributes_of_a_new_user() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    let now = srv.service.now();
    let group = Group {
        id: new_id(),
        name: "newcomers".into(),
        is_superuser: false,
        parent_id: None,
        attributes: json!({}),
        member_count: 0,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    {
        let mut tx = srv.service.store().write_tx().await.unwrap();
        store::groups::insert(tx.conn(), &group).await.unwrap();
        tx.commit().await.unwrap();
    }
    let prompts = vec![
        add_text_prompt(&srv.service, "username", 1).await,
        add_text_prompt(&srv.service, "attributes.phone.mobile", 2).await,
        add_text_prompt(&srv.service, "attributes_team", 3).await,
    ];
    add_flow(
        &srv.service,
        "enrol-typed",
        FlowAuthentication::None,
        vec![
            (StageKind::Prompt, json!({"fields": prompts})),
            (
                StageKind::UserWrite,
                json!({"user_creation_mode": "always_create", "user_type": "internal",
                       "user_path_template": "enrolled/web", "create_users_group": group.id,
                       "create_users_as_inactive": true}),
            ),
        ],
    )
    .await;
    add_flow(
        &srv.service,
        "enrol-plain",
        FlowAuthentication::None,
        vec![
            (StageKind::Prompt, json!({"fields": prompts})),
            (
                StageKind::UserWrite,
                json!({"user_creation_mode": "always_create"}),
            ),
        ],
    )
    .await;
    // JSON executor.
    let c = jar();
    api_get(&c, base, "enrol-typed").await;
    let v = api_post(
        &c,
        base,
        "enrol-typed",
        json!({"component": "ak-stage-prompt", "username": "typed",
               "attributes.phone.mobile": "+41 79 000 00 00", "attributes_team": "red"}),
    )
    .await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
    let u = user_named(&srv.service, "typed").await;
    assert_eq!(u.user_type, UserType::Internal);
    assert_eq!(u.path, "enrolled/web");
    assert!(!u.is_active, "create_users_as_inactive");
    assert_eq!(
        u.attributes,
        json!({"phone": {"mobile": "+41 79 000 00 00"}, "team": "red"})
    );
    let mut conn = srv.service.store().read().await.unwrap();
    let groups = store::groups::of_user(&mut conn, &u.id).await.unwrap();
    assert_eq!(
        groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        ["newcomers"]
    );
    drop(conn);
    // HTML page, authentik's defaults: an external user under `users`, in no group.
    let h = jar();
    let (_, page) = get_page(&h, base, "enrol-plain").await;
    let r = post_form(
        &h,
        base,
        "enrol-plain",
        &page,
        &[
            ("username", "plain"),
            ("attributes.phone.mobile", "1"),
            ("attributes_team", "blue"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let u = user_named(&srv.service, "plain").await;
    assert_eq!(u.user_type, UserType::External);
    assert_eq!(u.path, "users");
    assert!(u.is_active);
    assert_eq!(
        u.attributes,
        json!({"phone": {"mobile": "1"}, "team": "blue"})
    );
    let mut conn = srv.service.store().read().await.unwrap();
    assert!(
        store::groups::of_user(&mut conn, &u.id)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn authenticator_validate_device_classes_leave_out_totp_when_not_listed() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    add_totp(&srv.service).await;
    set_stage(
        &srv.service,
        MFA_STAGE,
        json!({"device_classes": ["static"], "not_configured_action": "deny"}),
    )
    .await;
    let c = jar();
    let v = json_login_admin(&c, base).await;
    assert_eq!(
        v["component"], "ak-stage-access-denied",
        "a TOTP device is not offered: {v}"
    );
    set_stage(
        &srv.service,
        MFA_STAGE,
        json!({"device_classes": ["totp"], "not_configured_action": "deny"}),
    )
    .await;
    let c = jar();
    let v = json_login_admin(&c, base).await;
    assert_eq!(v["device_challenges"][0]["device_class"], "totp", "{v}");
}
