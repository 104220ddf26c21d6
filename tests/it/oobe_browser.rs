//! Initial setup in headless Chromium: a fresh instance (no bootstrap password) is set up
//! through the plain HTML pages of `/if/flow/initial-setup/`, which signs akadmin in; then a new
//! browser profile signs in with the password the setup chose.

use std::time::Duration;

use fantoccini::Locator;

use crate::browser::{
    Screenshots, chromium, fill_and_click, start_chromedriver, wait_for_path, wait_for_text,
};
use crate::flows_support::add_whoami;
use crate::oobe::{NEW_PASSWORD, SETUP, spawn_fresh_server};

const WHOAMI: &str = "/api/v3/flows/executor/whoami/";

/// Types `value` into the field `css` once it is on the page.
async fn type_into(
    client: &fantoccini::Client,
    css: &str,
    value: &str,
) -> Result<(), fantoccini::error::CmdError> {
    client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await?
        .send_keys(value)
        .await
}

#[tokio::test]
async fn browser_headless_chromium_completes_initial_setup_then_logs_in() {
    let srv = spawn_fresh_server().await;
    add_whoami(&srv.service).await;
    let shots = Screenshots::new();
    let (_driver, port) = start_chromedriver().await;
    let profile = tempfile::tempdir().expect("profile dir");
    let client = chromium(port, profile.path()).await;
    let setup = async {
        client
            .goto(&format!("{}/if/flow/{SETUP}/?next={WHOAMI}", srv.base_url))
            .await?;
        type_into(&client, "input[name=email]", "owner@example.org").await?;
        shots.take(&client, "initial-setup").await?;
        let page = client.source().await?;
        type_into(&client, "input[name=password]", NEW_PASSWORD).await?;
        fill_and_click(
            &client,
            "input[name=password_repeat]",
            NEW_PASSWORD,
            "button[type=submit]",
        )
        .await?;
        let url = wait_for_path(&client, WHOAMI).await?;
        let after = wait_for_text(&client, "logged-in").await?;
        Ok::<_, fantoccini::error::CmdError>((page, url, after))
    }
    .await;
    let _ = client.close().await;
    let (page, url, after) = setup.expect("browser steps");
    assert!(page.contains("akadmin"), "the welcome text: {page}");
    assert_eq!(url.path(), WHOAMI);
    assert!(
        after.contains("logged-in"),
        "signed in by the setup: {after}"
    );

    // A new browser signs in with the password the setup chose.
    let profile = tempfile::tempdir().expect("profile dir");
    let client = chromium(port, profile.path()).await;
    let login = async {
        client
            .goto(&format!(
                "{}/if/flow/default-authentication-flow/?next={WHOAMI}",
                srv.base_url
            ))
            .await?;
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
            NEW_PASSWORD,
            "button[type=submit]",
        )
        .await?;
        let url = wait_for_path(&client, WHOAMI).await?;
        let source = wait_for_text(&client, "logged-in").await?;
        // The setup is closed now.
        client
            .goto(&format!("{}/if/flow/{SETUP}/", srv.base_url))
            .await?;
        let closed = wait_for_text(&client, "already done").await?;
        Ok::<_, fantoccini::error::CmdError>((url, source, closed))
    }
    .await;
    let _ = client.close().await;
    let (url, source, closed) = login.expect("browser steps");
    assert_eq!(url.path(), WHOAMI);
    assert!(source.contains("logged-in"), "not logged in: {source}");
    assert!(closed.contains("already done"), "{closed}");
}
