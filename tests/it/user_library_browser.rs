//! Headless Chromium opens `/if/user/` signed out, signs in through the brand's flow it is sent
//! to, and sees exactly the applications its policies admit (issue 21), with their group,
//! publisher, description and new-tab link as the browser reads them.

use std::time::Duration;

use fantoccini::Locator;
use latchkey::domain::BindingSubject;

use crate::browser::{Screenshots, chromium, fill_and_click, start_chromedriver, wait_for_path};
use crate::flows_support::{Opts, add_user, admin, bind};
use crate::support::spawn_server;
use crate::user_page::{BOB_PASSWORD, USER_PATH, add_app};

#[tokio::test]
async fn browser_user_library_shows_the_apps_the_user_may_open_and_not_the_others() {
    let srv = spawn_server().await;
    let bob = add_user(&srv.service, "bob", "bob@example.com", BOB_PASSWORD).await;
    let akadmin = admin(&srv.service).await;
    let wiki = add_app(&srv.service, "team-wiki", true, |a| {
        a.name = "Team Wiki".into();
        a.group = "Collaboration".into();
        a.meta_publisher = "Wiki Corp".into();
        a.meta_description = "Notes for the team".into();
        a.meta_launch_url = "https://wiki.example/~%(username)s".into();
        a.open_in_new_tab = true;
    })
    .await;
    bind(
        &srv.service,
        &wiki.id,
        BindingSubject::User(bob.id.clone()),
        Opts::default(),
    )
    .await;
    let console = add_app(&srv.service, "admin-console", true, |a| {
        a.name = "Admin Console".into();
        a.group = "Collaboration".into();
    })
    .await;
    bind(
        &srv.service,
        &console.id,
        BindingSubject::User(akadmin.id.clone()),
        Opts::default(),
    )
    .await;

    let (_driver, port) = start_chromedriver().await;
    let profile = tempfile::tempdir().expect("profile dir");
    let client = chromium(port, profile.path()).await;
    let shots = Screenshots::new();
    let result = async {
        client.goto(&format!("{}{USER_PATH}", srv.base_url)).await?;
        fill_and_click(
            &client,
            "input[name=uid_field]",
            "bob",
            "button[type=submit]",
        )
        .await?;
        fill_and_click(
            &client,
            "input[name=password]",
            BOB_PASSWORD,
            "button[type=submit]",
        )
        .await?;
        let url = wait_for_path(&client, USER_PATH).await?;
        client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("#library"))
            .await?;
        shots.take(&client, "user-library").await?;
        let mut names = Vec::new();
        for e in client.find_all(Locator::Css("li.app .app-name")).await? {
            names.push(e.text().await?);
        }
        let group = client
            .find(Locator::Css("#library h3.group"))
            .await?
            .text()
            .await?;
        let card = client
            .find(Locator::Css("li.app[data-slug=team-wiki]"))
            .await?;
        let text = card.text().await?;
        let link = card.find(Locator::Css("a.launch")).await?;
        let href = link.attr("href").await?;
        let target = link.attr("target").await?;
        let rel = link.attr("rel").await?;
        Ok::<_, fantoccini::error::CmdError>((url, names, group, text, href, target, rel))
    }
    .await;
    let _ = client.close().await;
    let (url, names, group, text, href, target, rel) = result.expect("browser steps");
    assert_eq!(url.path(), USER_PATH);
    assert_eq!(names, vec!["Team Wiki".to_string()]);
    assert_eq!(group, "Collaboration");
    assert!(
        text.contains("Wiki Corp") && text.contains("Notes for the team"),
        "{text}"
    );
    assert_eq!(href.as_deref(), Some("https://wiki.example/~bob"));
    assert_eq!(target.as_deref(), Some("_blank"));
    assert_eq!(rel.as_deref(), Some("noopener noreferrer"));
}
