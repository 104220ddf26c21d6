//! `/if/user/` (issue 21): the user's library of applications (policy bindings evaluated for the
//! user, authentik's launch URL rule, `group`, icon, publisher, description, new tab) and the
//! care of their own account (sessions, consents, MFA devices, app passwords) over HTTP: every
//! POST needs the session's CSRF token and acts only on the caller's own objects.

use latchkey::crypto::secrets;
use latchkey::domain::*;
use latchkey::service::Service;
use latchkey::store::{self, Topic};
use serde_json::json;

use crate::flows_support::*;
use crate::server::create_oidc_app_on;
use crate::support::{ADMIN_PASSWORD, TestServer, spawn_server};

pub(crate) const USER_PATH: &str = "/if/user/";
pub(crate) const BOB_PASSWORD: &str = "bob-library-password-1";
const ALICE_PASSWORD: &str = "alice-library-password-1";

/// An application `slug` (with an OAuth2 provider whose redirect URI is
/// `http://localhost:8080/cb` when `with_provider`), edited by `edit` before it is stored.
pub(crate) async fn add_app(
    service: &Service,
    slug: &str,
    with_provider: bool,
    edit: impl FnOnce(&mut Application),
) -> Application {
    let mut tx = if with_provider {
        create_oidc_app_on(service, slug).await;
        service.store().write_tx().await.expect("tx")
    } else {
        let now = service.now();
        let app = Application {
            id: new_id(),
            name: slug.into(),
            slug: slug.into(),
            provider_id: None,
            group: String::new(),
            policy_engine_mode: PolicyEngineMode::Any,
            meta_launch_url: String::new(),
            open_in_new_tab: false,
            meta_icon: String::new(),
            meta_publisher: String::new(),
            meta_description: String::new(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let mut tx = service.store().write_tx().await.expect("tx");
        store::applications::insert(tx.conn(), &app)
            .await
            .expect("app");
        tx
    };
    let mut app = store::applications::get_by_slug(tx.conn(), slug)
        .await
        .expect("get")
        .expect("app");
    edit(&mut app);
    store::applications::update(tx.conn(), &app)
        .await
        .expect("update");
    tx.touch(Topic::Applications);
    tx.commit().await.expect("commit");
    app.version += 1;
    app
}

/// A signed-in cookie jar for `user`.
pub(crate) async fn signed_in(srv: &TestServer, user: &str, password: &str) -> reqwest::Client {
    let c = jar();
    let r = html_login(&c, &srv.base_url, user, password).await;
    assert_eq!(r.status().as_u16(), 303, "login of {user}");
    c
}

/// GET /if/user/: (status, html).
pub(crate) async fn user_page(c: &reqwest::Client, srv: &TestServer) -> (u16, String) {
    let r = c
        .get(format!("{}{USER_PATH}", srv.base_url))
        .send()
        .await
        .expect("get");
    let st = r.status().as_u16();
    (st, r.text().await.expect("body"))
}

/// GET `path` on the server: its body.
async fn get(c: &reqwest::Client, srv: &TestServer, path: &str) -> String {
    let r = c
        .get(format!("{}{path}", srv.base_url))
        .send()
        .await
        .expect("get");
    r.text().await.expect("body")
}

/// The library's card of `slug` (its `<li>`), if the page shows one.
pub(crate) fn card<'a>(page: &'a str, slug: &str) -> Option<&'a str> {
    let start = page.find(&format!("<li class=\"app\" data-slug=\"{slug}\""))?;
    let end = page[start..].find("</li>")? + start;
    Some(&page[start..end])
}

/// POSTs `fields` (plus `csrf` when given) to a path: (status, Location, body).
async fn post(
    c: &reqwest::Client,
    srv: &TestServer,
    path: &str,
    csrf: Option<&str>,
    fields: &[(&str, &str)],
) -> (u16, String, String) {
    let mut form: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Some(csrf) = csrf {
        form.push(("csrf".into(), csrf.into()));
    }
    let r = c
        .post(format!("{}{path}", srv.base_url))
        .form(&form)
        .send()
        .await
        .expect("post");
    let st = r.status().as_u16();
    let loc = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (st, loc, r.text().await.expect("body"))
}

/// The CSRF token the page's forms carry.
async fn csrf_of(c: &reqwest::Client, srv: &TestServer) -> String {
    let (st, page) = user_page(c, srv).await;
    assert_eq!(st, 200, "{page}");
    hidden(&page, "csrf").expect("csrf in the page")
}

async fn sessions_of(service: &Service, user: &User) -> Vec<store::sessions::SessionRow> {
    let mut conn = service.store().read().await.expect("conn");
    store::sessions::of_user(&mut conn, &user.id)
        .await
        .expect("sessions")
}

#[tokio::test]
async fn user_page_sends_a_signed_out_visitor_to_the_brands_sign_in_and_back() {
    let srv = spawn_server().await;
    add_user(&srv.service, "bob", "bob@example.com", BOB_PASSWORD).await;
    let c = jar();
    let r = c
        .get(format!("{}{USER_PATH}", srv.base_url))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status().as_u16(), 302);
    let to = r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert_eq!(
        to,
        "/if/flow/default-authentication-flow/?next=%2Fif%2Fuser%2F"
    );
    // Signing in through that flow comes back to the user's interface.
    let page = c
        .get(format!("{}{to}", srv.base_url))
        .send()
        .await
        .expect("flow")
        .text()
        .await
        .expect("body");
    let r = post_form(&c, &srv.base_url, AUTH_FLOW, &page, &[("uid_field", "bob")]).await;
    let page = r.text().await.expect("body");
    let r = post_form(
        &c,
        &srv.base_url,
        AUTH_FLOW,
        &page,
        &[("password", BOB_PASSWORD)],
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], USER_PATH);
    let (st, page) = user_page(&c, &srv).await;
    assert_eq!(st, 200, "{page}");
    assert!(page.contains("<h1>My applications</h1>"), "{page}");
    assert!(page.contains("id=\"library\""), "{page}");
    // Styled by the shared shell with the brand's look.
    assert!(page.contains(latchkey_stylesheet_marker()), "{page}");
}

/// A piece of the shared stylesheet every page carries.
fn latchkey_stylesheet_marker() -> &'static str {
    ".card{max-width:26rem;"
}

#[tokio::test]
async fn library_lists_only_the_apps_whose_policies_admit_the_user() {
    let srv = spawn_server().await;
    let bob = add_user(&srv.service, "bob", "bob@example.com", BOB_PASSWORD).await;
    let alice = add_user(&srv.service, "alice", "alice@example.com", ALICE_PASSWORD).await;
    let open = add_app(&srv.service, "open-to-all", true, |_| {}).await;
    let bobs = add_app(&srv.service, "bobs-app", true, |_| {}).await;
    let alices = add_app(&srv.service, "alices-app", true, |_| {}).await;
    bind(
        &srv.service,
        &bobs.id,
        BindingSubject::User(bob.id.clone()),
        Opts::default(),
    )
    .await;
    bind(
        &srv.service,
        &alices.id,
        BindingSubject::User(alice.id.clone()),
        Opts::default(),
    )
    .await;
    // A policy that denies: the same engine the authorization endpoint runs.
    let deny = add_policy(
        &srv.service,
        "deny-all",
        PolicyKind::Expression,
        serde_json::json!({"expression": "return False"}),
    )
    .await;
    let denied = add_app(&srv.service, "denied-app", true, |_| {}).await;
    bind(
        &srv.service,
        &denied.id,
        BindingSubject::Policy(deny),
        Opts::default(),
    )
    .await;

    let c = signed_in(&srv, "bob", BOB_PASSWORD).await;
    let (_, page) = user_page(&c, &srv).await;
    assert!(card(&page, &open.slug).is_some(), "{page}");
    assert!(card(&page, "bobs-app").is_some(), "{page}");
    assert!(card(&page, "alices-app").is_none(), "{page}");
    assert!(card(&page, "denied-app").is_none(), "{page}");

    let c = signed_in(&srv, "alice", ALICE_PASSWORD).await;
    let (_, page) = user_page(&c, &srv).await;
    assert!(card(&page, "alices-app").is_some(), "{page}");
    assert!(card(&page, "bobs-app").is_none(), "{page}");
    assert!(card(&page, "denied-app").is_none(), "{page}");
}

#[tokio::test]
async fn library_links_each_app_to_its_launch_url_formatted_for_the_user() {
    let srv = spawn_server().await;
    add_user(&srv.service, "bob", "bob@example.com", BOB_PASSWORD).await;
    add_app(&srv.service, "formatted", false, |a| {
        a.meta_launch_url = "https://wiki.example/u/%(username)s?mail=%(email)s".into();
    })
    .await;
    // No launch URL: the provider's first redirect URI without its path.
    add_app(&srv.service, "guessed", true, |_| {}).await;
    // What Python cannot format is used as it is.
    add_app(&srv.service, "unformattable", false, |a| {
        a.meta_launch_url = "https://x.example/%(nope)s/a%20b".into();
    })
    .await;
    add_app(&srv.service, "relative", false, |a| {
        a.meta_launch_url = "/some/path".into();
    })
    .await;
    // Hidden: authentik's blank://blank, no launch URL and no provider, another scheme.
    add_app(&srv.service, "hidden", true, |a| {
        a.meta_launch_url = "blank://blank".into();
    })
    .await;
    add_app(&srv.service, "nowhere", false, |_| {}).await;
    add_app(&srv.service, "scripted", false, |a| {
        a.meta_launch_url = "javascript:alert(1)".into();
    })
    .await;

    let c = signed_in(&srv, "bob", BOB_PASSWORD).await;
    let (_, page) = user_page(&c, &srv).await;
    let href = |slug: &str| {
        let card = card(&page, slug).unwrap_or_else(|| panic!("no card {slug}: {page}"));
        let start = card.find("href=\"").expect("href") + 6;
        let end = card[start..].find('"').expect("end") + start;
        card[start..end].replace("&amp;", "&")
    };
    assert_eq!(
        href("formatted"),
        "https://wiki.example/u/bob?mail=bob@example.com"
    );
    assert_eq!(href("guessed"), "http://localhost:8080");
    assert_eq!(href("unformattable"), "https://x.example/%(nope)s/a%20b");
    assert_eq!(href("relative"), "/some/path");
    for slug in ["hidden", "nowhere", "scripted"] {
        assert!(card(&page, slug).is_none(), "{slug}: {page}");
    }
}

#[tokio::test]
async fn library_groups_apps_and_shows_icon_publisher_and_description() {
    let srv = spawn_server().await;
    add_user(&srv.service, "bob", "bob@example.com", BOB_PASSWORD).await;
    add_app(&srv.service, "wiki", true, |a| {
        a.name = "Wiki".into();
        a.group = "Tools".into();
        a.meta_icon = "https://cdn.example/wiki.png".into();
        a.meta_publisher = "Wiki Corp".into();
        a.meta_description = "Shared <notes>".into();
    })
    .await;
    add_app(&srv.service, "chat", true, |a| {
        a.name = "Chat".into();
        a.group = "Tools".into();
    })
    .await;
    add_app(&srv.service, "mail", true, |a| {
        a.name = "Mail".into();
    })
    .await;
    add_app(&srv.service, "payroll", true, |a| {
        a.name = "Payroll".into();
        a.group = "Finance".into();
    })
    .await;

    let c = signed_in(&srv, "bob", BOB_PASSWORD).await;
    let (_, page) = user_page(&c, &srv).await;
    // Ungrouped first (no heading), then the groups by name, each app by name.
    let at = |needle: &str| {
        page.find(needle)
            .unwrap_or_else(|| panic!("{needle} not in {page}"))
    };
    let order = [
        at("data-slug=\"mail\""),
        at("<h3 class=\"group\">Finance</h3>"),
        at("data-slug=\"payroll\""),
        at("<h3 class=\"group\">Tools</h3>"),
        at("data-slug=\"chat\""),
        at("data-slug=\"wiki\""),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?} {page}");
    let wiki = card(&page, "wiki").expect("wiki");
    assert!(
        wiki.contains("<img class=\"app-icon\" src=\"https://cdn.example/wiki.png\""),
        "{wiki}"
    );
    assert!(
        wiki.contains("<span class=\"app-name\">Wiki</span>"),
        "{wiki}"
    );
    assert!(
        wiki.contains("<p class=\"publisher\">Wiki Corp</p>"),
        "{wiki}"
    );
    assert!(
        wiki.contains("<p class=\"description\">Shared &lt;notes&gt;</p>"),
        "{wiki}"
    );
    // Without an icon: the name's initial; without publisher or description: nothing.
    let chat = card(&page, "chat").expect("chat");
    assert!(
        chat.contains("<span class=\"app-icon\" aria-hidden=\"true\">C</span>"),
        "{chat}"
    );
    assert!(
        !chat.contains("publisher") && !chat.contains("description"),
        "{chat}"
    );
}

#[tokio::test]
async fn library_opens_an_app_in_a_new_tab_only_when_it_asks() {
    let srv = spawn_server().await;
    add_user(&srv.service, "bob", "bob@example.com", BOB_PASSWORD).await;
    add_app(&srv.service, "tabbed", true, |a| a.open_in_new_tab = true).await;
    add_app(&srv.service, "same-tab", true, |_| {}).await;
    let c = signed_in(&srv, "bob", BOB_PASSWORD).await;
    let (_, page) = user_page(&c, &srv).await;
    let tabbed = card(&page, "tabbed").expect("tabbed");
    assert!(
        tabbed.contains("target=\"_blank\" rel=\"noopener noreferrer\""),
        "{tabbed}"
    );
    let same = card(&page, "same-tab").expect("same-tab");
    assert!(!same.contains("target="), "{same}");
}

#[tokio::test]
async fn user_revokes_an_own_session_and_never_anothers() {
    let srv = spawn_server().await;
    let bob = add_user(&srv.service, "bob", "bob@example.com", BOB_PASSWORD).await;
    let alice = add_user(&srv.service, "alice", "alice@example.com", ALICE_PASSWORD).await;
    add_whoami(&srv.service).await;
    let here = signed_in(&srv, "bob", BOB_PASSWORD).await;
    let elsewhere = signed_in(&srv, "bob", BOB_PASSWORD).await;
    let alices = signed_in(&srv, "alice", ALICE_PASSWORD).await;
    let (_, page) = user_page(&here, &srv).await;
    let bob_sessions = sessions_of(&srv.service, &bob).await;
    assert_eq!(bob_sessions.len(), 2);
    assert!(page.contains("(this session)"), "{page}");
    for s in &bob_sessions {
        assert!(page.contains(&format!("data-id=\"{}\"", s.id)), "{page}");
    }
    let alice_session = sessions_of(&srv.service, &alice).await.remove(0);
    assert!(
        !page.contains(&alice_session.id),
        "another user's session is listed"
    );
    let csrf = csrf_of(&here, &srv).await;

    // Another user's session: refused, and it lives on.
    let path = "/if/user/sessions/revoke/";
    let (st, _, body) = post(&here, &srv, path, Some(&csrf), &[("id", &alice_session.id)]).await;
    assert_eq!(st, 404, "{body}");
    assert!(logged_in(&alices, &srv.base_url).await);

    // The other one of bob's: revoked through service::sessions (the browser is signed out).
    let (_, here_page) = user_page(&here, &srv).await;
    let current = bob_sessions
        .iter()
        .find(|s| {
            let row = format!("<tr class=\"session\" data-id=\"{}\">", s.id);
            here_page
                .split(&row)
                .nth(1)
                .and_then(|rest| rest.split("</tr>").next())
                .is_some_and(|cells| cells.contains("(this session)"))
        })
        .expect("the current session is marked");
    let other = bob_sessions
        .iter()
        .find(|s| s.id != current.id)
        .expect("other");
    let (st, loc, _) = post(&here, &srv, path, Some(&csrf), &[("id", &other.id)]).await;
    assert_eq!((st, loc.as_str()), (303, "/if/user/?done=session"));
    assert!(!logged_in(&elsewhere, &srv.base_url).await);
    assert!(logged_in(&here, &srv.base_url).await);
    let left: Vec<String> = sessions_of(&srv.service, &bob)
        .await
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(left, vec![current.id.clone()]);
    let page = get(&here, &srv, &loc).await;
    assert!(page.contains("The session was revoked."), "{page}");
}

#[tokio::test]
async fn user_revokes_an_own_consent_and_never_anothers() {
    let srv = spawn_server().await;
    let bob = add_user(&srv.service, "bob", "bob@example.com", BOB_PASSWORD).await;
    let alice = add_user(&srv.service, "alice", "alice@example.com", ALICE_PASSWORD).await;
    let app = add_app(&srv.service, "consented", true, |a| {
        a.name = "Consented App".into()
    })
    .await;
    let (bobs, alices) = (new_id(), new_id());
    {
        let now = srv.service.now();
        let mut tx = srv.service.store().write_tx().await.expect("tx");
        for (id, user) in [(&bobs, &bob), (&alices, &alice)] {
            store::consents::upsert(tx.conn(), id, &user.id, &app.id, "openid email", None, now)
                .await
                .expect("consent");
        }
        tx.commit().await.expect("commit");
    }
    let c = signed_in(&srv, "bob", BOB_PASSWORD).await;
    let (_, page) = user_page(&c, &srv).await;
    assert!(
        page.contains(&format!("<tr class=\"consent\" data-id=\"{bobs}\">")),
        "{page}"
    );
    assert!(
        page.contains("Consented App") && page.contains("openid email"),
        "{page}"
    );
    assert!(!page.contains(&alices), "{page}");
    let csrf = hidden(&page, "csrf").expect("csrf");
    let path = "/if/user/consents/revoke/";
    let (st, _, _) = post(&c, &srv, path, Some(&csrf), &[("id", &alices)]).await;
    assert_eq!(st, 404);
    let (st, loc, _) = post(&c, &srv, path, Some(&csrf), &[("id", &bobs)]).await;
    assert_eq!((st, loc.as_str()), (303, "/if/user/?done=consent"));
    let remaining: Vec<String> = srv
        .service
        .list_consents()
        .await
        .expect("consents")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(remaining, vec![alices.clone()]);
    let events = events_of(&srv.service, "model_deleted").await;
    let e = events
        .iter()
        .find(|e| e.context["model"]["pk"] == bobs.as_str())
        .expect("the revocation's event");
    assert_eq!(e.username, "bob");
    assert_eq!(e.context["source"], "user interface");
}

async fn add_device(service: &Service, user: &User, name: &str) -> String {
    let mut tx = service.store().write_tx().await.expect("tx");
    let device = store::authenticators::DeviceRow {
        id: new_id(),
        user_id: user.id.clone(),
        kind: "static".into(),
        name: name.into(),
        secret: String::new(),
        confirmed: true,
        last_used_step: None,
        created_at: service.now(),
        digits: 6,
    };
    store::authenticators::insert(tx.conn(), &device)
        .await
        .expect("device");
    store::static_tokens::insert_all(tx.conn(), &device.id, &[secrets::digest("code-1")])
        .await
        .expect("codes");
    tx.commit().await.expect("commit");
    device.id
}

#[tokio::test]
async fn user_deletes_an_own_mfa_device_and_never_anothers() {
    let srv = spawn_server().await;
    let bob = add_user(&srv.service, "bob", "bob@example.com", BOB_PASSWORD).await;
    let alice = add_user(&srv.service, "alice", "alice@example.com", ALICE_PASSWORD).await;
    // Signed in first: the sign-in would ask for the device.
    let c = signed_in(&srv, "bob", BOB_PASSWORD).await;
    let bobs = add_device(&srv.service, &bob, "Bob's codes").await;
    let alices = add_device(&srv.service, &alice, "Alice's codes").await;
    let (_, page) = user_page(&c, &srv).await;
    assert!(
        page.contains(&format!("<tr class=\"device\" data-id=\"{bobs}\">")),
        "{page}"
    );
    assert!(
        page.contains("Bob&#x27;s codes") || page.contains("Bob's codes"),
        "{page}"
    );
    assert!(page.contains("(1 codes left)"), "{page}");
    assert!(!page.contains(&alices), "{page}");
    let csrf = hidden(&page, "csrf").expect("csrf");
    let path = "/if/user/devices/delete/";
    let (st, _, _) = post(&c, &srv, path, Some(&csrf), &[("id", &alices)]).await;
    assert_eq!(st, 404);
    let (st, loc, _) = post(&c, &srv, path, Some(&csrf), &[("id", &bobs)]).await;
    assert_eq!((st, loc.as_str()), (303, "/if/user/?done=device"));
    assert!(
        srv.service
            .user_authenticators(&bob.id)
            .await
            .expect("bob")
            .is_empty()
    );
    let alice_left = srv
        .service
        .user_authenticators(&alice.id)
        .await
        .expect("alice");
    assert_eq!(alice_left.len(), 1);
}

#[tokio::test]
async fn user_app_password_is_shown_once_listed_and_deleted_only_by_its_owner() {
    let srv = spawn_server().await;
    let bob = add_user(&srv.service, "bob", "bob@example.com", BOB_PASSWORD).await;
    let alice = add_user(&srv.service, "alice", "alice@example.com", ALICE_PASSWORD).await;
    let new = latchkey::service::accounts::NewToken {
        intent: latchkey::service::accounts::TokenIntent::AppPassword,
        description: "alice's".into(),
        expires_in: None,
    };
    let alices = srv
        .service
        .create_token(&alice.id, &new, "test")
        .await
        .expect("alice's token");
    let c = signed_in(&srv, "bob", BOB_PASSWORD).await;
    let csrf = csrf_of(&c, &srv).await;
    let (st, _, page) = post(
        &c,
        &srv,
        "/if/user/tokens/create/",
        Some(&csrf),
        &[("description", "mail client"), ("expires", "30d")],
    )
    .await;
    assert_eq!(st, 200, "{page}");
    let marker = "<code class=\"new-key\">";
    let start = page.find(marker).expect("the key is shown") + marker.len();
    let key = &page[start..start + 60];
    let tokens = srv.service.user_tokens(&bob.id).await.expect("tokens");
    assert_eq!(tokens.len(), 1);
    let token = &tokens[0];
    assert_eq!(token.intent, "app_password");
    assert_eq!(token.description, "mail client");
    let expires = token.expires_at.expect("an expiry") - srv.service.now();
    assert!(
        (30 * 86_400 - 60..=30 * 86_400).contains(&expires),
        "{expires}"
    );
    {
        let mut conn = srv.service.store().read().await.expect("conn");
        let found = store::tokens::find_by_digest(
            &mut conn,
            store::tokens::INTENT_APP_PASSWORD,
            &secrets::digest(key),
            srv.service.now(),
        )
        .await
        .expect("find");
        assert_eq!(found.map(|t| t.user_id), Some(bob.id.clone()));
    }
    // Shown once: the page after does not carry it.
    let (_, again) = user_page(&c, &srv).await;
    assert!(!again.contains(key), "the key is shown again");
    assert!(
        again.contains(&format!("<tr class=\"token\" data-id=\"{}\">", token.id)),
        "{again}"
    );
    assert!(!again.contains(&alices.token.id), "{again}");
    // A bad expiry is refused saying what to type.
    let (st, _, page) = post(
        &c,
        &srv,
        "/if/user/tokens/create/",
        Some(&csrf),
        &[("description", "x"), ("expires", "soon")],
    )
    .await;
    assert_eq!(st, 400, "{page}");
    assert!(page.contains("30d"), "{page}");

    let path = "/if/user/tokens/delete/";
    let (st, _, _) = post(&c, &srv, path, Some(&csrf), &[("id", &alices.token.id)]).await;
    assert_eq!(st, 404);
    let (st, loc, _) = post(&c, &srv, path, Some(&csrf), &[("id", &token.id)]).await;
    assert_eq!((st, loc.as_str()), (303, "/if/user/?done=token"));
    assert!(
        srv.service
            .user_tokens(&bob.id)
            .await
            .expect("bob")
            .is_empty()
    );
    assert_eq!(
        srv.service
            .user_tokens(&alice.id)
            .await
            .expect("alice")
            .len(),
        1
    );
}

#[tokio::test]
async fn user_interface_posts_need_the_sessions_csrf_token_and_a_signed_in_caller() {
    let srv = spawn_server().await;
    let bob = add_user(&srv.service, "bob", "bob@example.com", BOB_PASSWORD).await;
    let c = signed_in(&srv, "bob", BOB_PASSWORD).await;
    let device = add_device(&srv.service, &bob, "codes").await;
    let other = signed_in(&srv, "akadmin", ADMIN_PASSWORD).await;
    let others_csrf = csrf_of(&other, &srv).await;
    let path = "/if/user/devices/delete/";
    for csrf in [None, Some(""), Some("wrong"), Some(others_csrf.as_str())] {
        let (st, _, body) = post(&c, &srv, path, csrf, &[("id", &device)]).await;
        assert_eq!(st, 403, "{csrf:?}: {body}");
        assert!(body.contains("nothing was changed"), "{body}");
    }
    // Signed out: sent to sign in, nothing done.
    let anon = jar();
    let (st, loc, _) = post(&anon, &srv, path, Some("x"), &[("id", &device)]).await;
    assert_eq!(st, 302);
    assert!(
        loc.starts_with("/if/flow/default-authentication-flow/?next="),
        "{loc}"
    );
    assert_eq!(
        srv.service
            .user_authenticators(&bob.id)
            .await
            .expect("bob")
            .len(),
        1
    );
    let csrf = csrf_of(&c, &srv).await;
    let (st, _, _) = post(&c, &srv, path, Some(&csrf), &[("id", &device)]).await;
    assert_eq!(st, 303);
    assert!(
        srv.service
            .user_authenticators(&bob.id)
            .await
            .expect("bob")
            .is_empty()
    );
}

#[tokio::test]
async fn stages_configure_flows_are_offered_as_change_and_set_up_links() {
    let srv = spawn_server().await;
    add_user(&srv.service, "bob", "bob@example.com", BOB_PASSWORD).await;
    let (setup_flow, _, _) = add_flow(
        &srv.service,
        "totp-setup",
        FlowAuthentication::RequireAuthenticated,
        vec![(
            StageKind::AuthenticatorTotp,
            json!({"friendly_name": "Phone app"}),
        )],
    )
    .await;
    let (password_flow, _, _) = add_flow(
        &srv.service,
        "change-password",
        FlowAuthentication::RequireAuthenticated,
        vec![(StageKind::Deny, json!({"deny_message": "change here"}))],
    )
    .await;
    let c = signed_in(&srv, "bob", BOB_PASSWORD).await;
    let (_, page) = user_page(&c, &srv).await;
    assert!(
        !page.contains("class=\"setup-"),
        "nothing configured yet: {page}"
    );
    // Stages naming those flows as their configure_flow.
    for (kind, settings) in [
        (
            StageKind::AuthenticatorTotp,
            json!({"friendly_name": "Phone app", "configure_flow": setup_flow}),
        ),
        (
            StageKind::Password,
            json!({"backends": ["authentik.core.auth.InbuiltBackend"],
                   "configure_flow": password_flow}),
        ),
        (
            StageKind::AuthenticatorStatic,
            json!({"friendly_name": "Backup codes", "configure_flow": setup_flow}),
        ),
        (
            StageKind::AuthenticatorWebauthn,
            json!({"configure_flow": setup_flow}),
        ),
    ] {
        let now = srv.service.now();
        let stage = Stage {
            id: new_id(),
            name: format!("{kind}-with-configure-flow"),
            settings: StageSettings::from_json(kind, &settings),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        srv.service
            .save(&Object::Stage(stage), true)
            .await
            .expect("stage");
    }
    let (_, page) = user_page(&c, &srv).await;
    assert!(
        page.contains(
            "<a class=\"setup-password\" href=\"/if/flow/change-password/?next=%2Fif%2Fuser%2F\">Change password</a>"
        ),
        "{page}"
    );
    assert!(
        page.contains(
            "<a class=\"setup-totp\" href=\"/if/flow/totp-setup/?next=%2Fif%2Fuser%2F\">Set up Phone app</a>"
        ),
        "{page}"
    );
    assert!(page.contains(">Set up Backup codes</a>"), "{page}");
    let unnamed = format!(
        ">Set up {}-with-configure-flow</a>",
        StageKind::AuthenticatorWebauthn
    );
    assert!(
        page.contains(&unnamed),
        "a setup stage without a friendly name is named by its name: {page}"
    );
    // The link runs the flow for the signed-in user.
    let v = api_get(&c, &srv.base_url, "totp-setup").await;
    assert_eq!(v["component"], "ak-stage-authenticator-totp", "{v}");
}
