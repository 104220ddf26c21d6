//! Headless Chromium logs in through the plain HTML pages, driven over WebDriver (chromedriver).
//! Missing chromium/chromedriver is a failure with instructions, never a skip.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::flows_support::add_whoami;
use crate::support::{ADMIN_PASSWORD, spawn_server};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

struct Driver(std::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_chromedriver() -> (Driver, u16) {
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
async fn chromium(port: u16, profile: &Path) -> fantoccini::Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
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
async fn fill_and_click(
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
async fn wait_for_text(
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
