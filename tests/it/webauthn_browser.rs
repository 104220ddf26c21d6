//! Passkeys in a real browser: headless Chromium with WebDriver's virtual authenticator
//! (chromedriver's `/webauthn/authenticator` endpoints) registers a passkey through the
//! `authenticator_webauthn` stage, signs in with it password-less and as a second factor, and is
//! refused with a cloned credential (sign counter going backwards), with a wrong origin (a
//! server whose public URL names another port) and with a wrong RP id (the page opened on
//! 127.0.0.1 while the RP id is `localhost`).

use std::sync::Arc;
use std::time::Duration;

use fantoccini::Locator;
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use latchkey::context::{Config, SystemClock};
use latchkey::domain::{FlowAuthentication, StageKind};
use latchkey::http::AppState;
use latchkey::service::Service;
use latchkey::store::webauthn_devices;

use crate::browser::{chromium, start_chromedriver, wait_for_text};
use crate::flows_support::{add_flow, add_whoami, events_of};
use crate::support::{ADMIN_PASSWORD, TestServer, temp_store};

/// A W3C WebDriver extension command (the WebAuthn endpoints fantoccini has no method for).
#[derive(Debug)]
struct WebDriverCall {
    method: ::http::Method,
    path: String,
    body: Option<Value>,
}

impl WebDriverCompatibleCommand for WebDriverCall {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/{}",
            session.unwrap_or_default(),
            self.path
        ))
    }
    fn method_and_body(&self, _: &url::Url) -> (::http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(Value::to_string),
        )
    }
}

async fn call(
    client: &fantoccini::Client,
    method: ::http::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    client
        .issue_cmd(WebDriverCall {
            method,
            path: path.into(),
            body,
        })
        .await
        .unwrap_or_else(|e| panic!("webdriver {path}: {e}"))
}

/// A CTAP2 platform authenticator with resident keys and user verification; its id.
async fn add_authenticator(client: &fantoccini::Client) -> String {
    let v = call(
        client,
        ::http::Method::POST,
        "webauthn/authenticator",
        Some(
            json!({"protocol": "ctap2", "transport": "internal", "hasResidentKey": true,
                    "hasUserVerification": true, "isUserVerified": true, "isUserConsenting": true}),
        ),
    )
    .await;
    v.as_str().expect("authenticator id").to_string()
}

async fn credentials(client: &fantoccini::Client, authenticator: &str) -> Vec<Value> {
    let v = call(
        client,
        ::http::Method::GET,
        &format!("webauthn/authenticator/{authenticator}/credentials"),
        None,
    )
    .await;
    v.as_array().cloned().unwrap_or_default()
}

/// A server on 127.0.0.1 whose public URL is `http://localhost:<its port>` (or `public`), so
/// the browser is in a secure context and the RP id is `localhost`.
async fn serve(store: Option<latchkey::store::Store>, public: Option<&str>) -> (TestServer, u16) {
    let listener = latchkey::http::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let base_url = format!("http://localhost:{port}");
    let (dir, store) = match store {
        Some(s) => (tempfile::tempdir().expect("dir"), s),
        None => temp_store().await,
    };
    let service = Service::new(
        store,
        Config::new(public.unwrap_or(&base_url)),
        Arc::new(SystemClock),
    );
    if public.is_none() {
        service
            .bootstrap(Some(ADMIN_PASSWORD))
            .await
            .expect("bootstrap");
    }
    let cancel = CancellationToken::new();
    latchkey::http::spawn_server(listener, AppState::new(service.clone()), cancel.clone());
    (TestServer::from_parts(base_url, service, cancel, dir), port)
}

/// The flows: passkey setup (signed-in users), a password-less flow, and a sign-in flow with
/// identification (linking the password-less flow), password and WebAuthn as second factor.
async fn add_flows(service: &Service) {
    add_whoami(service).await;
    add_flow(
        service,
        "passkey-setup",
        FlowAuthentication::RequireAuthenticated,
        vec![
            (
                StageKind::AuthenticatorWebauthn,
                json!({"resident_key_requirement": "required", "friendly_name": "Laptop passkey"}),
            ),
            (
                StageKind::Deny,
                json!({"deny_message": "passkey-registered"}),
            ),
        ],
    )
    .await;
    let (passwordless, _, _) = add_flow(
        service,
        "passwordless",
        FlowAuthentication::None,
        vec![
            (
                StageKind::AuthenticatorValidate,
                json!({"device_classes": ["webauthn"]}),
            ),
            (StageKind::UserLogin, json!({})),
        ],
    )
    .await;
    add_flow(
        service,
        "mfa-login",
        FlowAuthentication::None,
        vec![
            (
                StageKind::Identification,
                json!({"user_fields": ["username"], "passwordless_flow": passwordless}),
            ),
            (
                StageKind::Password,
                json!({"backends": ["authentik.core.auth.InbuiltBackend"]}),
            ),
            (
                StageKind::AuthenticatorValidate,
                json!({"device_classes": ["webauthn"], "not_configured_action": "deny"}),
            ),
            (StageKind::UserLogin, json!({})),
        ],
    )
    .await;
}

type Step<T> = Result<T, fantoccini::error::CmdError>;

async fn field(client: &fantoccini::Client, css: &str) -> Step<fantoccini::elements::Element> {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
}

/// Signs in with username and password through the default authentication flow.
async fn password_login(client: &fantoccini::Client, base: &str, flow: &str) -> Step<()> {
    client.goto(&format!("{base}/if/flow/{flow}/")).await?;
    field(client, "input[name=uid_field]")
        .await?
        .send_keys("akadmin")
        .await?;
    client
        .find(Locator::Css("button[type=submit]"))
        .await?
        .click()
        .await?;
    field(client, "input[name=password]")
        .await?
        .send_keys(ADMIN_PASSWORD)
        .await?;
    client
        .find(Locator::Css("button[type=submit]"))
        .await?
        .click()
        .await
}

/// Signs in through the default authentication flow and waits until it is done.
async fn sign_in_with_password(client: &fantoccini::Client, base: &str) -> Step<()> {
    let flow = "default-authentication-flow";
    password_login(client, base, flow).await?;
    let path = format!("/if/flow/{flow}/");
    for _ in 0..100 {
        if client.current_url().await?.path() != path {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// True when the browser's session is signed in (the whoami flow's deny message).
async fn signed_in(client: &fantoccini::Client, base: &str) -> Step<bool> {
    client
        .goto(&format!("{base}/api/v3/flows/executor/whoami/"))
        .await?;
    Ok(client.source().await?.contains("logged-in"))
}

/// Waits until the browser is on `path`, then until it has left it (the flow went on) or the
/// page shows an error.
async fn settle(client: &fantoccini::Client, path: &str) -> Step<String> {
    for _ in 0..50 {
        if client.current_url().await?.path() == path {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..100 {
        let source = client.source().await?;
        if client.current_url().await?.path() != path
            || source.contains("role=\"alert\"")
            || source.contains("data-error=")
        {
            return Ok(source);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client.source().await
}

async fn akadmin_devices(service: &Service) -> Vec<webauthn_devices::WebauthnDeviceRow> {
    let user = service
        .user_by_username("akadmin")
        .await
        .expect("read")
        .expect("akadmin");
    let mut conn = service.store().read().await.expect("conn");
    webauthn_devices::of_user(&mut conn, &user.id)
        .await
        .expect("devices")
}

#[tokio::test]
async fn browser_passkey_registers_signs_in_and_refuses_a_clone() {
    let (srv, _) = serve(None, None).await;
    add_flows(&srv.service).await;
    let base = srv.base_url.clone();
    let (_driver, port) = start_chromedriver().await;
    let profile = tempfile::tempdir().expect("profile dir");
    let client = chromium(port, profile.path()).await;
    let result = async {
        client.goto(&format!("{base}/-/health/live/")).await?;
        let authenticator = add_authenticator(&client).await;
        // Register, signed in with the password.
        sign_in_with_password(&client, &base).await?;
        client
            .goto(&format!("{base}/if/flow/passkey-setup/"))
            .await?;
        let registered = wait_for_text(&client, "passkey-registered").await?;
        let creds = credentials(&client, &authenticator).await;
        // Password-less: the identification page links the flow; the passkey names the user.
        client.delete_all_cookies().await?;
        client.goto(&format!("{base}/if/flow/mfa-login/")).await?;
        field(&client, "a#passwordless").await?.click().await?;
        settle(&client, "/if/flow/passwordless/").await?;
        let passwordless = signed_in(&client, &base).await?;
        // Second factor after the password.
        client.delete_all_cookies().await?;
        password_login(&client, &base, "mfa-login").await?;
        settle(&client, "/if/flow/mfa-login/").await?;
        let second_factor = signed_in(&client, &base).await?;
        // A clone: the same key in another authenticator whose counter is behind.
        let mut clone = creds.first().cloned().unwrap_or_default();
        clone["signCount"] = json!(0);
        call(
            &client,
            ::http::Method::DELETE,
            &format!("webauthn/authenticator/{authenticator}"),
            None,
        )
        .await;
        let copy = add_authenticator(&client).await;
        call(
            &client,
            ::http::Method::POST,
            &format!("webauthn/authenticator/{copy}/credential"),
            Some(clone),
        )
        .await;
        client.delete_all_cookies().await?;
        client
            .goto(&format!("{base}/if/flow/passwordless/"))
            .await?;
        let cloned = settle(&client, "/if/flow/passwordless/").await?;
        let clone_signed_in = signed_in(&client, &base).await?;
        Ok::<_, fantoccini::error::CmdError>((
            registered,
            creds,
            passwordless,
            second_factor,
            cloned,
            clone_signed_in,
        ))
    }
    .await;
    let _ = client.close().await;
    let (registered, creds, passwordless, second_factor, cloned, clone_signed_in) =
        result.expect("browser steps");
    assert!(registered.contains("passkey-registered"), "{registered}");
    assert_eq!(creds.len(), 1, "{creds:?}");
    assert_eq!(
        creds[0]["isResidentCredential"], true,
        "resident key required: {creds:?}"
    );
    let devices = akadmin_devices(&srv.service).await;
    assert_eq!(devices.len(), 1);
    assert_eq!(
        devices[0].name, "Laptop passkey",
        "the stage's friendly_name"
    );
    assert_eq!(
        devices[0].credential_id,
        creds[0]["credentialId"]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches('='),
    );
    assert!(passwordless, "password-less sign-in");
    assert!(second_factor, "sign-in with the passkey as second factor");
    assert!(
        devices[0].sign_count >= 2,
        "the counter moved on each use: {}",
        devices[0].sign_count
    );
    assert!(cloned.contains("Assertion failed"), "{cloned}");
    assert!(!clone_signed_in, "a cloned credential signs nobody in");
    let suspicious = events_of(&srv.service, "suspicious_request").await;
    assert!(
        suspicious
            .iter()
            .any(|e| e.context["reason"] == "webauthn sign counter did not advance"),
        "{suspicious:?}"
    );
    let failures = events_of(&srv.service, "login_failed").await;
    assert!(
        failures
            .iter()
            .any(|e| e.context["device_class"] == "webauthn"),
        "{failures:?}"
    );
}

#[tokio::test]
async fn browser_passkey_refuses_a_wrong_origin_and_a_wrong_rp_id() {
    let (srv, port) = serve(None, None).await;
    add_flows(&srv.service).await;
    // The same store behind a server whose public URL names another port: same RP id
    // (`localhost`), another origin than the one the browser is on.
    let (wrong, _) = serve(
        Some(srv.service.store().clone()),
        Some("http://localhost:1"),
    )
    .await;
    let base = srv.base_url.clone();
    let (_driver, driver_port) = start_chromedriver().await;
    let profile = tempfile::tempdir().expect("profile dir");
    let client = chromium(driver_port, profile.path()).await;
    let result = async {
        client.goto(&format!("{base}/-/health/live/")).await?;
        let authenticator = add_authenticator(&client).await;
        sign_in_with_password(&client, &base).await?;
        client
            .goto(&format!("{base}/if/flow/passkey-setup/"))
            .await?;
        wait_for_text(&client, "passkey-registered").await?;
        // Wrong origin: the server refuses the sign-in.
        client.delete_all_cookies().await?;
        client
            .goto(&format!("{}/if/flow/passwordless/", wrong.base_url))
            .await?;
        let sign_in = settle(&client, "/if/flow/passwordless/").await?;
        let origin_signed_in = signed_in(&client, &wrong.base_url).await?;
        // Wrong RP id: the page on 127.0.0.1 asks for `localhost`'s credentials.
        let ip = format!("http://127.0.0.1:{port}");
        client.goto(&format!("{ip}/if/flow/passwordless/")).await?;
        let rp = settle(&client, "/if/flow/passwordless/").await?;
        let rp_signed_in = signed_in(&client, &ip).await?;
        // Wrong origin at registration, from a fresh authenticator (the first one holds a
        // credential the options exclude). Cookies do not tell ports apart and both servers
        // share the store: the session signed in on one is signed in on the other.
        call(
            &client,
            ::http::Method::DELETE,
            &format!("webauthn/authenticator/{authenticator}"),
            None,
        )
        .await;
        add_authenticator(&client).await;
        sign_in_with_password(&client, &base).await?;
        client
            .goto(&format!("{}/if/flow/passkey-setup/", wrong.base_url))
            .await?;
        let register = settle(&client, "/if/flow/passkey-setup/").await?;
        Ok::<_, fantoccini::error::CmdError>((
            register,
            sign_in,
            origin_signed_in,
            rp,
            rp_signed_in,
        ))
    }
    .await;
    let _ = client.close().await;
    let (register, sign_in, origin_signed_in, rp, rp_signed_in) = result.expect("browser steps");
    assert!(register.contains("Registration failed"), "{register}");
    assert_eq!(
        akadmin_devices(&srv.service).await.len(),
        1,
        "nothing registered under the wrong origin"
    );
    assert!(sign_in.contains("Assertion failed"), "{sign_in}");
    assert!(!origin_signed_in);
    assert!(rp.contains("data-error=\"SecurityError\""), "{rp}");
    assert!(!rp_signed_in);
}
