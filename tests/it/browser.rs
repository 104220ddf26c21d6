//! Headless Chromium logs in through the plain HTML pages, driven over WebDriver (chromedriver).
//! Missing chromium/chromedriver is a failure with instructions, never a skip. The login,
//! consent and `/device` pages are screenshot (PNGs under the test's temp dir; set
//! `LATCHKEY_KEEP_SCREENSHOTS=1` to keep them) and checked by what the page says, never by
//! pixels.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use latchkey::domain::redirect::RedirectUri;

use crate::flows_support::add_whoami;
use crate::server::{create_oidc_app, flow_id, save_provider};
use crate::support::{ADMIN_PASSWORD, TestServer, spawn_server};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

pub(crate) struct Driver(std::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) async fn start_chromedriver() -> (Driver, u16) {
    assert!(
        Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists(),
        "chromium and chromedriver are required for the browser test: run \
         `apt-get install -y chromium chromium-driver`"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let driver = Driver(
        std::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return (driver, port);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(driver);
    panic!("chromedriver did not start listening on port {port}");
}

/// A headless Chromium WebDriver session with the flags this machine needs.
pub(crate) async fn chromium(port: u16, profile: &Path) -> fantoccini::Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1000,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session")
}

/// Types into the field `css` once it is on the page, then submits with the button `button`.
pub(crate) async fn fill_and_click(
    client: &fantoccini::Client,
    css: &str,
    value: &str,
    button: &str,
) -> Result<(), fantoccini::error::CmdError> {
    let field = client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await?;
    if !value.is_empty() {
        field.send_keys(value).await?;
    }
    client.find(Locator::Css(button)).await?.click().await
}

/// Waits until the page source contains `needle`; returns the source.
pub(crate) async fn wait_for_text(
    client: &fantoccini::Client,
    needle: &str,
) -> Result<String, fantoccini::error::CmdError> {
    let mut source = String::new();
    for _ in 0..100 {
        source = client.source().await?;
        if source.contains(needle) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(source)
}

#[tokio::test]
async fn browser_headless_chromium_signs_in_a_device() {
    let srv = crate::device::server().await;
    let started = crate::device::start(&srv, None).await;
    let complete = crate::device::field(&started, "verification_uri_complete").to_string();
    let (_driver, port) = start_chromedriver().await;
    let profile = tempfile::tempdir().expect("profile dir");
    let client = chromium(port, profile.path()).await;
    let result = async {
        client.goto(&complete).await?;
        fill_and_click(
            &client,
            "input[name=uid_field]",
            "akadmin",
            "button[type=submit]",
        )
        .await?;
        fill_and_click(
            &client,
            "input[name=password]",
            ADMIN_PASSWORD,
            "button[type=submit]",
        )
        .await?;
        // The code is filled in from verification_uri_complete: just continue.
        fill_and_click(&client, "input[name=code]", "", "button[type=submit]").await?;
        let confirm = wait_for_text(&client, "Approve").await?;
        fill_and_click(
            &client,
            "button[value=approve]",
            "",
            "button[value=approve]",
        )
        .await?;
        let done = wait_for_text(&client, "Device signed in").await?;
        Ok::<_, fantoccini::error::CmdError>((confirm, done))
    }
    .await;
    let _ = client.close().await;
    let (confirm, done) = result.expect("browser steps");
    assert!(confirm.contains("authentik CLI"), "{confirm}");
    assert!(done.contains("Device signed in"), "{done}");
    let (st, tokens) =
        crate::device::poll(&srv, crate::device::field(&started, "device_code")).await;
    assert_eq!(st, 200, "{tokens}");
}

#[tokio::test]
async fn browser_headless_chromium_logs_in() {
    let srv = spawn_server().await;
    add_whoami(&srv.service).await;
    let (_driver, port) = start_chromedriver().await;
    let profile = tempfile::tempdir().expect("profile dir");
    let client = chromium(port, profile.path()).await;
    let result = async {
        let start = format!(
            "{}/if/flow/default-authentication-flow/?next=/api/v3/flows/executor/whoami/",
            srv.base_url
        );
        client.goto(&start).await?;
        client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("input[name=uid_field]"))
            .await?
            .send_keys("akadmin")
            .await?;
        client
            .find(Locator::Css("button[type=submit]"))
            .await?
            .click()
            .await?;
        // The click navigates; wait for the next page instead of racing it.
        client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("input[name=password]"))
            .await?
            .send_keys(ADMIN_PASSWORD)
            .await?;
        client
            .find(Locator::Css("button[type=submit]"))
            .await?
            .click()
            .await?;
        let mut url = client.current_url().await?;
        for _ in 0..50 {
            if url.path() == "/api/v3/flows/executor/whoami/" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            url = client.current_url().await?;
        }
        let source = client.source().await?;
        Ok::<_, fantoccini::error::CmdError>((url, source))
    }
    .await;
    let _ = client.close().await;
    let (url, source) = result.expect("browser steps");
    assert_eq!(url.path(), "/api/v3/flows/executor/whoami/");
    assert!(source.contains("logged-in"), "not logged in: {source}");
}

/// Where a test's screenshots go: a temp dir, kept when `LATCHKEY_KEEP_SCREENSHOTS` is set.
pub(crate) struct Screenshots(Option<tempfile::TempDir>, PathBuf);

impl Screenshots {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("screenshot dir");
        let path = dir.path().to_path_buf();
        Self(Some(dir), path)
    }

    /// Saves the page as `<name>.png`; the PNG must be a real image.
    pub(crate) async fn take(
        &self,
        client: &fantoccini::Client,
        name: &str,
    ) -> Result<PathBuf, fantoccini::error::CmdError> {
        let png = client.screenshot().await?;
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000,
            "{name}: not a PNG screenshot"
        );
        let path = self.1.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        Ok(path)
    }
}

impl Drop for Screenshots {
    fn drop(&mut self) {
        if std::env::var_os("LATCHKEY_KEEP_SCREENSHOTS").is_some()
            && let Some(dir) = self.0.take()
        {
            eprintln!("screenshots kept in {}", dir.keep().display());
        }
    }
}

/// The page's stylesheet (its one `<style>` element), to compare the pages' shells.
fn stylesheet(source: &str) -> String {
    source
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map(|(css, _)| css.to_string())
        .unwrap_or_default()
}

/// The text of every element matching `css`.
async fn texts(
    client: &fantoccini::Client,
    css: &str,
) -> Result<Vec<String>, fantoccini::error::CmdError> {
    let mut out = Vec::new();
    for e in client.find_all(Locator::Css(css)).await? {
        out.push(e.text().await?);
    }
    Ok(out)
}

/// Waits until the browser is at `path` (on any host); returns the URL.
pub(crate) async fn wait_for_path(
    client: &fantoccini::Client,
    path: &str,
) -> Result<url::Url, fantoccini::error::CmdError> {
    let mut url = client.current_url().await?;
    for _ in 0..100 {
        if url.path() == path {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        url = client.current_url().await?;
    }
    Ok(url)
}

/// Signs in as the admin on the login pages the browser is on; returns the first page's source.
async fn sign_in(
    client: &fantoccini::Client,
    shots: &Screenshots,
) -> Result<String, fantoccini::error::CmdError> {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("input[name=uid_field]"))
        .await?;
    shots.take(client, "login").await?;
    let login = client.source().await?;
    fill_and_click(
        client,
        "input[name=uid_field]",
        "akadmin",
        "button[type=submit]",
    )
    .await?;
    fill_and_click(
        client,
        "input[name=password]",
        ADMIN_PASSWORD,
        "button[type=submit]",
    )
    .await?;
    Ok(login)
}

async fn count(s: &TestServer, sql: &'static str) -> i64 {
    let mut conn = s.service.store().read().await.expect("read");
    sqlx::query_scalar(sql)
        .fetch_one(&mut *conn)
        .await
        .expect("count")
}

/// What the consent test saw in the browser.
struct ConsentRun {
    login: String,
    consent: String,
    permissions: Vec<String>,
    deny_button: String,
    back_at: url::Url,
}

#[tokio::test]
async fn browser_consent_lists_the_scopes_and_deny_sends_access_denied() {
    let srv = spawn_server().await;
    let mut p = create_oidc_app(&srv, "app").await;
    p.authorization_flow_id =
        Some(flow_id(&srv, "default-provider-authorization-explicit-consent").await);
    // The client's redirect URI is on this server (a 404 page), so the browser can land there.
    let callback = format!("{}/cb", srv.base_url);
    p.oauth2.redirect_uris = vec![RedirectUri::strict(&callback)];
    save_provider(&srv, &mut p).await;
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &p.client_id)
        .append_pair("redirect_uri", &callback)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid email profile")
        .append_pair("state", "st-browser")
        .finish();
    let authorize = format!("{}/application/o/authorize/?{q}", srv.base_url);
    let (_driver, port) = start_chromedriver().await;
    let profile = tempfile::tempdir().expect("profile dir");
    let shots = Screenshots::new();
    let client = chromium(port, profile.path()).await;
    let result = async {
        client.goto(&authorize).await?;
        let login = sign_in(&client, &shots).await?;
        let consent = wait_for_text(&client, "Deny").await?;
        shots.take(&client, "consent").await?;
        let permissions = texts(&client, "li[data-permission-code]").await?;
        let deny = client.find(Locator::Css("button[name=deny]")).await?;
        let deny_button = deny.text().await?;
        deny.click().await?;
        let back_at = wait_for_path(&client, "/cb").await?;
        Ok::<_, fantoccini::error::CmdError>(ConsentRun {
            login,
            consent,
            permissions,
            deny_button,
            back_at,
        })
    }
    .await;
    let _ = client.close().await;
    let run = result.expect("browser steps");
    assert!(run.login.contains("name=\"uid_field\""), "{}", run.login);
    assert!(
        run.consent.contains("You're about to sign into app."),
        "{}",
        run.consent
    );
    assert_eq!(
        run.permissions,
        ["Email address", "General Profile Information"],
        "each scope mapping's description"
    );
    assert_eq!(run.deny_button, "Deny");
    assert_eq!(
        stylesheet(&run.consent),
        stylesheet(&run.login),
        "one stylesheet for the login and consent pages"
    );
    assert!(!stylesheet(&run.login).is_empty());
    let got = |k: &str| {
        run.back_at
            .query_pairs()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(run.back_at.path(), "/cb", "{}", run.back_at);
    assert_eq!(
        got("error").as_deref(),
        Some("access_denied"),
        "{}",
        run.back_at
    );
    assert_eq!(got("state").as_deref(), Some("st-browser"));
    assert!(
        got("iss").is_some_and(|i| i.ends_with("/application/o/app/")),
        "{}",
        run.back_at
    );
    assert_eq!(got("code"), None);
    assert_eq!(count(&srv, "SELECT COUNT(*) FROM consents").await, 0);
    assert_eq!(
        count(&srv, "SELECT COUNT(*) FROM authorization_codes").await,
        0
    );
}

/// What the device test saw in the browser.
struct DeviceRun {
    login: String,
    entry: String,
    confirm: String,
    permissions: Vec<String>,
    buttons: Vec<String>,
    done: String,
}

#[tokio::test]
async fn browser_device_pages_share_the_stylesheet_and_ask_once() {
    let srv = crate::device::server().await;
    crate::device_page::use_authorization_flow(
        &srv,
        "default-provider-authorization-explicit-consent",
    )
    .await;
    let started = crate::device::start(&srv, Some("openid email offline_access")).await;
    let complete = crate::device::field(&started, "verification_uri_complete").to_string();
    let (_driver, port) = start_chromedriver().await;
    let profile = tempfile::tempdir().expect("profile dir");
    let shots = Screenshots::new();
    let client = chromium(port, profile.path()).await;
    let result = async {
        client.goto(&complete).await?;
        let login = sign_in(&client, &shots).await?;
        client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("input[name=code]"))
            .await?;
        shots.take(&client, "device-code").await?;
        let entry = client.source().await?;
        client
            .find(Locator::Css("button[type=submit]"))
            .await?
            .click()
            .await?;
        let confirm = wait_for_text(&client, "Approve").await?;
        shots.take(&client, "device-confirm").await?;
        let permissions = texts(&client, "li[data-permission-code]").await?;
        let buttons = texts(&client, "button[name=decision]").await?;
        client
            .find(Locator::Css("button[value=approve]"))
            .await?
            .click()
            .await?;
        // One question: Approve leads straight to the result, no consent page between.
        let done = wait_for_text(&client, "Device signed in").await?;
        shots.take(&client, "device-done").await?;
        Ok::<_, fantoccini::error::CmdError>(DeviceRun {
            login,
            entry,
            confirm,
            permissions,
            buttons,
            done,
        })
    }
    .await;
    let _ = client.close().await;
    let run = result.expect("browser steps");
    let css = stylesheet(&run.login);
    assert!(!css.is_empty());
    for (page, source) in [
        ("code entry", &run.entry),
        ("confirmation", &run.confirm),
        ("result", &run.done),
    ] {
        assert_eq!(
            stylesheet(source),
            css,
            "the {page} page uses the flow pages' stylesheet"
        );
    }
    assert!(run.confirm.contains("authentik CLI"), "{}", run.confirm);
    assert_eq!(
        run.permissions,
        [
            "Email address",
            "Access to request new tokens without interaction"
        ]
    );
    assert_eq!(run.buttons, ["Approve", "Deny"]);
    assert!(run.done.contains("Device signed in"), "{}", run.done);
    assert!(
        !run.done.contains("ak-stage-consent"),
        "no consent asked after Approve: {}",
        run.done
    );
    let (st, tokens) =
        crate::device::poll(&srv, crate::device::field(&started, "device_code")).await;
    assert_eq!(st, 200, "{tokens}");
    assert!(
        tokens["access_token"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{tokens}"
    );
}
