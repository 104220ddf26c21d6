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

#[tokio::test]
async fn browser_headless_chromium_logs_in() {
    let srv = spawn_server().await;
    add_whoami(&srv.service).await;
    let (_driver, port) = start_chromedriver().await;
    let profile = tempfile::tempdir().expect("profile dir");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("WebDriver session");
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
