//! Helpers for the flow suites: cookie-jar clients, building flows, stages and policies in the
//! store, reading challenges.

#![allow(dead_code)]

use std::sync::Arc;

use latchkey::context::Config;
use latchkey::context::ManualClock;
use latchkey::domain::*;
use latchkey::http::{self, AppState};
use latchkey::service::Service;
use latchkey::store::{self, Topic};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::{self, ADMIN_PASSWORD};

pub const AUTH_FLOW: &str = "default-authentication-flow";

/// A server whose clock the test controls.
pub struct ClockServer {
    pub base_url: String,
    pub service: Service,
    pub clock: Arc<ManualClock>,
    pub cancel: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for ClockServer {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Starts a server on 127.0.0.1:0 with a manual clock at a fixed time.
pub async fn spawn_clock_server(public_url: Option<&str>) -> ClockServer {
    let listener = http::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("addr"));
    let (dir, st) = support::temp_store().await;
    let clock = Arc::new(ManualClock::new(1_800_000_000));
    let service = Service::new(
        st,
        Config::new(public_url.unwrap_or(&base_url)),
        clock.clone(),
    );
    service
        .bootstrap(Some(ADMIN_PASSWORD))
        .await
        .expect("bootstrap");
    let cancel = CancellationToken::new();
    http::spawn_server(listener, AppState::new(service.clone()), cancel.clone());
    ClockServer {
        base_url,
        service,
        clock,
        cancel,
        _dir: dir,
    }
}

/// A client with a cookie jar that does not follow redirects.
pub fn jar() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The value of a hidden input in a page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

pub fn flow_url(base: &str, slug: &str) -> String {
    format!("{base}/if/flow/{slug}/")
}

pub fn api_url(base: &str, slug: &str) -> String {
    format!("{base}/api/v3/flows/executor/{slug}/")
}

/// GETs a flow page; returns (status, html).
pub async fn get_page(c: &reqwest::Client, base: &str, slug: &str) -> (u16, String) {
    let r = c.get(flow_url(base, slug)).send().await.expect("get");
    let s = r.status().as_u16();
    (s, r.text().await.expect("body"))
}

/// POSTs a form with the page's csrf and component; returns the response.
pub async fn post_form(
    c: &reqwest::Client,
    base: &str,
    slug: &str,
    page: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    form.push(("csrf".into(), hidden(page, "csrf").unwrap_or_default()));
    form.push((
        "component".into(),
        hidden(page, "component").unwrap_or_default(),
    ));
    c.post(flow_url(base, slug))
        .form(&form)
        .send()
        .await
        .expect("post")
}

/// Logs in through the HTML forms; returns the final response (a 303).
pub async fn html_login(
    c: &reqwest::Client,
    base: &str,
    user: &str,
    pw: &str,
) -> reqwest::Response {
    let (_, page) = get_page(c, base, AUTH_FLOW).await;
    let r = post_form(c, base, AUTH_FLOW, &page, &[("uid_field", user)]).await;
    let page = r.text().await.expect("body");
    post_form(c, base, AUTH_FLOW, &page, &[("password", pw)]).await
}

/// GET on the JSON executor.
pub async fn api_get(c: &reqwest::Client, base: &str, slug: &str) -> Value {
    c.get(api_url(base, slug))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

/// POST on the JSON executor.
pub async fn api_post(c: &reqwest::Client, base: &str, slug: &str, body: Value) -> Value {
    c.post(api_url(base, slug))
        .json(&body)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json")
}

/// A flow with the given stages (kind, settings) in order 10, 20, …; returns (flow id, binding ids, stage ids).
pub async fn add_flow(
    service: &Service,
    slug: &str,
    authentication: FlowAuthentication,
    stages: Vec<(StageKind, Value)>,
) -> (String, Vec<String>, Vec<String>) {
    let now = service.now();
    let mut tx = service.store().write_tx().await.expect("tx");
    let flow = Flow {
        id: new_id(),
        name: slug.into(),
        slug: slug.into(),
        title: format!("Flow {slug}"),
        designation: FlowDesignation::Authentication,
        authentication,
        denied_action: DeniedAction::Message,
        policy_engine_mode: PolicyEngineMode::Any,
        layout: FlowLayout::Stacked,
        compatibility_mode: false,
        background: String::new(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    store::flows::insert(tx.conn(), &flow).await.expect("flow");
    let mut bindings = Vec::new();
    let mut stage_ids = Vec::new();
    for (i, (kind, settings)) in stages.into_iter().enumerate() {
        let stage = Stage {
            id: new_id(),
            name: format!("{slug}-stage-{i}"),
            settings: StageSettings::from_json(kind, &settings),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        store::stages::insert(tx.conn(), &stage)
            .await
            .expect("stage");
        let b = FlowStageBinding {
            id: new_id(),
            flow_id: flow.id.clone(),
            stage_id: stage.id.clone(),
            order: (i as i64 + 1) * 10,
            evaluate_on_plan: false,
            re_evaluate_policies: true,
            invalid_response_action: InvalidResponseAction::Retry,
            policy_engine_mode: PolicyEngineMode::Any,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        store::flows::insert_binding(tx.conn(), &b)
            .await
            .expect("binding");
        bindings.push(b.id);
        stage_ids.push(stage.id);
    }
    tx.touch(Topic::All);
    tx.commit().await.expect("commit");
    (flow.id, bindings, stage_ids)
}

/// Updates a flow in place.
pub async fn edit_flow(service: &Service, slug: &str, f: impl FnOnce(&mut Flow)) {
    let mut tx = service.store().write_tx().await.expect("tx");
    let mut flow = store::flows::get_by_slug(tx.conn(), slug)
        .await
        .expect("get")
        .expect("flow");
    f(&mut flow);
    store::flows::update(tx.conn(), &flow)
        .await
        .expect("update");
    tx.commit().await.expect("commit");
}

/// Updates a stage binding in place.
pub async fn edit_binding(
    service: &Service,
    flow_id: &str,
    id: &str,
    f: impl FnOnce(&mut FlowStageBinding),
) {
    let mut tx = service.store().write_tx().await.expect("tx");
    let mut b = store::flows::bindings_of(tx.conn(), flow_id)
        .await
        .expect("bindings")
        .into_iter()
        .find(|b| b.id == id)
        .expect("binding");
    f(&mut b);
    store::flows::update_binding(tx.conn(), &b)
        .await
        .expect("update");
    tx.commit().await.expect("commit");
}

/// A policy; returns its id.
pub async fn add_policy(
    service: &Service,
    name: &str,
    kind: PolicyKind,
    settings: Value,
) -> String {
    let now = service.now();
    let p = Policy {
        id: new_id(),
        name: name.into(),
        settings: PolicySettings::from_json(kind, &settings),
        execution_logging: false,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = service.store().write_tx().await.expect("tx");
    store::policies::insert(tx.conn(), &p)
        .await
        .expect("policy");
    tx.commit().await.expect("commit");
    p.id
}

/// Binding options.
#[derive(Clone, Copy)]
pub struct Opts {
    pub order: i64,
    pub enabled: bool,
    pub negate: bool,
    pub timeout: i64,
    pub failure_result: bool,
}

impl Default for Opts {
    fn default() -> Self {
        Self {
            order: 0,
            enabled: true,
            negate: false,
            timeout: 30,
            failure_result: false,
        }
    }
}

/// Binds a subject to a target; returns the binding's id.
pub async fn bind(service: &Service, target: &str, subject: BindingSubject, o: Opts) -> String {
    let now = service.now();
    let b = PolicyBinding {
        id: new_id(),
        target_id: target.into(),
        subject,
        order: o.order,
        enabled: o.enabled,
        negate: o.negate,
        timeout: o.timeout,
        failure_result: o.failure_result,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = service.store().write_tx().await.expect("tx");
    store::policies::insert_binding(tx.conn(), &b)
        .await
        .expect("binding");
    tx.touch(Topic::Policies);
    tx.commit().await.expect("commit");
    b.id
}

/// A flow that only tells whether the caller is logged in: require_authenticated + deny stage.
pub async fn add_whoami(service: &Service) {
    add_flow(
        service,
        "whoami",
        FlowAuthentication::RequireAuthenticated,
        vec![(StageKind::Deny, json!({"deny_message": "logged-in"}))],
    )
    .await;
}

/// True when the client's session is logged in (per the whoami flow).
pub async fn logged_in(c: &reqwest::Client, base: &str) -> bool {
    let v = api_get(c, base, "whoami").await;
    let msg = v["error_message"].as_str().unwrap_or("").to_string();
    assert!(
        msg == "logged-in" || msg == "Flow requires authentication.",
        "{v}"
    );
    msg == "logged-in"
}

/// Events of an action.
pub async fn events_of(service: &Service, action: &str) -> Vec<Event> {
    service
        .recent_events(1000)
        .await
        .expect("events")
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

/// The admin user.
pub async fn admin(service: &Service) -> User {
    let mut conn = service.store().read().await.expect("conn");
    store::users::get_by_username(&mut conn, "akadmin")
        .await
        .expect("get")
        .expect("admin")
}

/// Creates a user with a password.
pub async fn add_user(service: &Service, username: &str, email: &str, password: &str) -> User {
    let now = service.now();
    let hash = latchkey::crypto::password::hash(password).expect("hash");
    let u = User {
        id: new_id(),
        username: username.into(),
        name: username.into(),
        email: email.into(),
        is_active: true,
        user_type: UserType::Internal,
        path: "users".into(),
        attributes: json!({}),
        has_password: true,
        last_login: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = service.store().write_tx().await.expect("tx");
    store::users::insert(tx.conn(), &u, Some(&hash))
        .await
        .expect("user");
    tx.commit().await.expect("commit");
    u
}

/// A required prompt field `key` of `kind` at `order`; returns its id.
pub async fn add_prompt(
    service: &latchkey::service::Service,
    key: &str,
    kind: &str,
    order: i64,
) -> String {
    let now = service.now();
    let p = Prompt {
        id: new_id(),
        name: format!("prompt-{key}"),
        field_key: key.into(),
        label: key.into(),
        field_type: kind.into(),
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

/// POSTs an identification answer on the JSON executor.
pub async fn identify(c: &reqwest::Client, base: &str, slug: &str, uid: &str) -> Value {
    api_post(
        c,
        base,
        slug,
        json!({"component": "ak-stage-identification", "uid_field": uid}),
    )
    .await
}

/// Starts `slug` on the JSON executor and identifies as akadmin; returns the next challenge.
pub async fn start_as_admin(c: &reqwest::Client, base: &str, slug: &str) -> Value {
    api_get(c, base, slug).await;
    identify(c, base, slug, "akadmin").await
}

/// Identification and password on the default authentication flow as akadmin, on the JSON
/// executor; returns the challenge after the password (the MFA step, when there is one).
pub async fn json_login_admin(c: &reqwest::Client, base: &str) -> Value {
    start_as_admin(c, base, AUTH_FLOW).await;
    api_post(
        c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-password", "password": ADMIN_PASSWORD}),
    )
    .await
}

/// Replaces the settings of the stage named `name` in the store.
pub async fn set_stage(service: &Service, name: &str, settings: Value) {
    let mut tx = service.store().write_tx().await.expect("tx");
    let mut s = store::stages::get_by_name(tx.conn(), name)
        .await
        .expect("read")
        .expect("the stage");
    s.settings = StageSettings::from_json(s.kind(), &settings);
    store::stages::update(tx.conn(), &s).await.expect("update");
    tx.commit().await.expect("commit");
}

/// The TOTP secret the tests' devices share.
pub const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// A TOTP generator for akadmin over `secret` with `digits` digits.
pub fn totp_for(secret_b32: &str, digits: u8) -> totp_rs::Totp {
    totp_rs::Builder::new()
        .with_digits(digits)
        .with_secret(totp_rs::Secret::try_from_base32(secret_b32).expect("base32"))
        .with_account_name("akadmin".to_string())
        .with_issuer(Some("latchkey".to_string()))
        .build()
        .expect("totp")
}

/// Gives `user_id` a confirmed TOTP device over [`TOTP_SECRET`] with `digits` digits.
pub async fn add_totp_device(service: &Service, user_id: &str, name: &str, digits: i64) {
    let mut tx = service.store().write_tx().await.expect("tx");
    store::authenticators::insert(
        tx.conn(),
        &store::authenticators::DeviceRow {
            id: new_id(),
            user_id: user_id.into(),
            kind: "totp".into(),
            name: name.into(),
            secret: TOTP_SECRET.into(),
            confirmed: true,
            last_used_step: None,
            created_at: service.now(),
            digits,
        },
    )
    .await
    .expect("device");
    tx.commit().await.expect("commit");
}
