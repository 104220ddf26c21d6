//! Users' sessions in the console (issue 7): listed in the user detail, revoked with `R` (the
//! browser is signed out and the tokens issued in the session are revoked), and counted in
//! the delete dialog with everything else a delete takes along.

use crossterm::event::KeyCode;
use latchkey::console::keymap::Mode;
use latchkey::console::tabs::TabId;
use latchkey::store;

use crate::console_forms::{app_over, key, render, settle, typ};
use crate::flows_support::{add_user, add_whoami, html_login, jar, logged_in};
use crate::support::{ADMIN_PASSWORD, spawn_server};

/// Selects the users-tab row whose first cell is `name` and opens it.
fn open_user(app: &mut latchkey::console::app::App, name: &str) {
    typ(app, "0");
    assert_eq!(app.current_tab(), TabId::Users);
    app.handle_key(key(KeyCode::Home));
    for _ in 0..50 {
        if app.selected_row().map(|r| r.cells[0].text.as_str()) == Some(name) {
            app.handle_key(key(KeyCode::Enter));
            assert_eq!(app.mode(), Mode::Detail);
            return;
        }
        app.handle_key(key(KeyCode::Down));
    }
    panic!("no user row {name}");
}

#[tokio::test]
async fn user_detail_lists_live_sessions_and_r_revokes_one() {
    let s = spawn_server().await;
    add_whoami(&s.service).await;
    let (a, b) = (jar(), jar());
    html_login(&a, &s.base_url, "akadmin", ADMIN_PASSWORD).await;
    html_login(&b, &s.base_url, "akadmin", ADMIN_PASSWORD).await;
    assert!(logged_in(&a, &s.base_url).await && logged_in(&b, &s.base_url).await);

    let mut app = app_over(&s.service).await;
    open_user(&mut app, "akadmin");
    assert_eq!(app.session_lines().len(), 2);
    let screen = render(&mut app, 120, 40);
    assert!(screen.contains("Sessions (2)"), "{screen}");
    assert!(screen.contains("127.0.0.1"), "{screen}");

    app.handle_key(key(KeyCode::Char('R')));
    settle(&mut app, &s.service).await;
    let status = app.status().expect("status").text.clone();
    assert!(
        status.contains("revoked the session from 127.0.0.1"),
        "{status}"
    );
    assert_eq!(app.session_lines().len(), 1, "the list follows the store");
    let still = [
        logged_in(&a, &s.base_url).await,
        logged_in(&b, &s.base_url).await,
    ];
    assert_eq!(
        still.iter().filter(|x| **x).count(),
        1,
        "exactly one browser was signed out: {still:?}"
    );
}

#[tokio::test]
async fn revoking_a_session_revokes_the_tokens_issued_in_it() {
    let s = crate::device::server().await;
    let body = crate::device::start(&s, Some("openid offline_access")).await;
    let page =
        crate::device_page::sign_in_device(&s, crate::device::field(&body, "user_code"), "approve")
            .await;
    assert!(page.body.contains("Device signed in"), "{}", page.body);
    let (st, tokens) = crate::device::poll(&s, crate::device::field(&body, "device_code")).await;
    assert_eq!(st, 200, "{tokens}");
    let access = crate::device::field(&tokens, "access_token").to_string();

    let sessions = s.service.list_sessions().await.expect("sessions");
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let revoked = s
        .service
        .revoke_session(&sessions[0].id)
        .await
        .expect("revoke");
    assert!(revoked >= 2, "access and refresh token: {revoked}");
    let mut conn = s.service.store().read().await.expect("conn");
    let at =
        store::grants::find_access_token(&mut conn, &latchkey::crypto::secrets::digest(&access))
            .await
            .expect("q")
            .expect("row");
    assert!(at.revoked_at.is_some());
    drop(conn);
    let res = crate::support::client()
        .get(format!("{}/application/o/userinfo/", s.base_url))
        .bearer_auth(&access)
        .send()
        .await
        .expect("userinfo");
    assert_eq!(res.status().as_u16(), 401, "a revoked token is refused");
    assert!(
        s.service
            .list_sessions()
            .await
            .expect("sessions")
            .is_empty()
    );
}

#[tokio::test]
async fn deleting_a_user_lists_sessions_and_tokens_it_takes_along() {
    let s = spawn_server().await;
    add_user(&s.service, "carol", "carol@example.com", "carol-pass-1").await;
    let c = jar();
    html_login(&c, &s.base_url, "carol", "carol-pass-1").await;
    let mut app = app_over(&s.service).await;
    typ(&mut app, "0");
    app.handle_key(key(KeyCode::Home));
    for _ in 0..50 {
        if app.selected_row().map(|r| r.cells[0].text.as_str()) == Some("carol") {
            break;
        }
        app.handle_key(key(KeyCode::Down));
    }
    typ(&mut app, "D");
    settle(&mut app, &s.service).await;
    assert_eq!(app.mode(), Mode::Delete);
    let d = app.dialog().expect("dialog");
    assert!(
        d.usages
            .iter()
            .any(|u| u.kind == "live sessions" && u.name == "1"),
        "{:?}",
        d.usages
    );
    assert!(d.needs_typing(), "a cascade asks for the name");
    let screen = render(&mut app, 120, 40);
    assert!(screen.contains("live sessions 1"), "{screen}");
}

#[tokio::test]
async fn read_only_consoles_list_sessions_but_cannot_revoke() {
    let s = spawn_server().await;
    html_login(&jar(), &s.base_url, "akadmin", ADMIN_PASSWORD).await;
    let mut cfg = crate::console_forms::config();
    cfg.readonly = true;
    let mut app = latchkey::console::app::App::new(cfg);
    app.apply_data(crate::console_forms::load(&s.service).await);
    open_user(&mut app, "akadmin");
    assert_eq!(app.session_lines().len(), 1);
    app.handle_key(key(KeyCode::Char('R')));
    assert!(app.take_request().is_none());
    assert!(!app.help_entries().iter().any(|(k, _)| *k == "R"));
    assert_eq!(s.service.list_sessions().await.expect("sessions").len(), 1);
}
