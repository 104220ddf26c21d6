//! Invitations from the console (issue 19): `n` on Users offers an invitation, whose form
//! preselects the default enrollment flow, a week and single use; the link is shown once (and
//! copied with `y`), then listed as an `[invitation]` row whose detail never shows the token;
//! bad fixed data is marked at its field and nothing is made.

use crossterm::event::KeyCode;
use latchkey::console::app::App;
use latchkey::console::keymap::Mode;

use crate::console_forms::{ctrl, focus_field, fresh, key, render, select_row, settle, typ};

/// `0n`, then the chooser's "Invitation" entry.
fn new_invitation_form(app: &mut App) {
    typ(app, "0n");
    assert_eq!(app.mode(), Mode::Choose);
    for _ in 0..10 {
        let picked = app
            .chooser()
            .and_then(|p| p.visible().get(p.selected).map(|c| c.label.clone()));
        if picked
            .as_deref()
            .is_some_and(|l| l.starts_with("Invitation"))
        {
            app.handle_key(key(KeyCode::Enter));
            assert_eq!(app.mode(), Mode::Form);
            return;
        }
        app.handle_key(key(KeyCode::Down));
    }
    panic!("no Invitation choice");
}

#[tokio::test]
async fn an_invitation_made_from_the_keyboard_shows_its_link_once() {
    let (_d, service, mut app) = fresh().await;
    new_invitation_form(&mut app);
    let screen = render(&mut app, 120, 40);
    assert!(screen.contains("Create Invitation"), "{screen}");
    assert!(
        screen.contains("default-enrollment-flow"),
        "preselected\n{screen}"
    );
    typ(&mut app, "contractors");
    focus_field(&mut app, "fixed_data");
    for _ in 0..4 {
        app.handle_key(key(KeyCode::Backspace));
    }
    typ(&mut app, r#"{"email": "c@corp.example"}"#);
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;

    assert_eq!(app.mode(), Mode::Message, "the link window is open");
    let link = app
        .message()
        .expect("the link window")
        .text
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    assert!(
        link.contains("/if/flow/default-enrollment-flow/?itoken="),
        "{link}"
    );
    assert!(render(&mut app, 120, 40).contains("shown once"));
    typ(&mut app, "y");
    assert_eq!(app.take_clip().expect("copied").value, link);

    let all = service.list_invitations().await.expect("list");
    assert_eq!(all.len(), 1);
    let i = &all[0];
    assert_eq!(i.name, "contractors");
    assert!(i.single_use);
    assert_eq!(i.expires_at, Some(i.created_at + 7 * 86400));
    assert_eq!(i.fixed_data["email"], "c@corp.example");
    assert!(i.created_by.starts_with("console:"), "{}", i.created_by);

    // Closed, it is a row; neither the row nor its detail shows the token again.
    let token = link.split("itoken=").nth(1).expect("token").to_string();
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::List);
    settle(&mut app, &service).await;
    select_row(&mut app, "[invitation] contractors");
    app.handle_key(key(KeyCode::Enter));
    let detail = app.detail().expect("detail").clone();
    assert!(
        detail
            .detail
            .iter()
            .any(|(k, v)| k == "flow" && v == "default-enrollment-flow")
    );
    assert!(detail.detail.iter().all(|(_, v)| !v.contains(&token)));
    for (w, h) in [(80, 24), (120, 40)] {
        assert!(!render(&mut app, w, h).contains(&token));
    }
}

#[tokio::test]
async fn bad_fixed_data_is_marked_at_its_field_and_nothing_is_made() {
    let (_d, service, mut app) = fresh().await;
    new_invitation_form(&mut app);
    typ(&mut app, "broken");
    focus_field(&mut app, "fixed_data");
    for _ in 0..4 {
        app.handle_key(key(KeyCode::Backspace));
    }
    typ(&mut app, "[1, 2]");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert_eq!(app.mode(), Mode::Form, "the form stays open");
    let error = app
        .form()
        .and_then(|f| f.error("fixed_data"))
        .unwrap_or_default()
        .to_string();
    assert!(!error.is_empty(), "marked at the field");
    assert!(service.list_invitations().await.expect("list").is_empty());
}

#[tokio::test]
async fn deleting_an_invitation_asks_first_then_its_row_and_link_are_gone() {
    let (_d, service, mut app) = fresh().await;
    new_invitation_form(&mut app);
    typ(&mut app, "temp");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &service).await;

    select_row(&mut app, "[invitation] temp");
    typ(&mut app, "D");
    settle(&mut app, &service).await;
    assert_eq!(app.mode(), Mode::Delete);
    assert!(
        !app.dialog().expect("dialog").on_delete,
        "Cancel is focused"
    );
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &service).await;
    assert_eq!(
        service.list_invitations().await.expect("list").len(),
        1,
        "Cancel keeps it"
    );

    typ(&mut app, "D");
    settle(&mut app, &service).await;
    app.handle_key(key(KeyCode::Tab));
    app.handle_key(key(KeyCode::Enter));
    settle(&mut app, &service).await;
    assert!(service.list_invitations().await.expect("list").is_empty());
    assert!(render(&mut app, 120, 40).contains("deleted invitation temp"));
    assert!(
        !app.visible_rows()
            .iter()
            .any(|r| r.cells[0].text.contains("[invitation] temp")),
        "the row is gone"
    );
}

/// The token after `itoken=` on a captured screen (base64url).
fn token_in(screen: &str) -> Option<String> {
    let at = screen.find("itoken=")? + "itoken=".len();
    let token: String = screen[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (token.len() >= 40).then_some(token)
}

#[tokio::test(flavor = "multi_thread")]
async fn real_binary_under_tmux_an_invitation_link_read_off_the_screen_enrolls_a_user() {
    let (tmux, _dir, _db, port) = crate::console_forms::run_under_tmux("invite", 200, 50);
    tmux.wait_for("the tab bar", |s| {
        s.contains("Dashboard") && s.contains("Users")
    });
    tmux.keys(&["0", "n"]);
    tmux.wait_for("the chooser", |s| {
        s.contains("Invitation (the link is shown once)")
    });
    tmux.keys(&["Down", "Down", "Enter"]);
    tmux.wait_for("the form", |s| {
        s.contains("Create Invitation") && s.contains("default-enrollment-flow")
    });
    tmux.text("from-tmux");
    tmux.keys(&["C-s"]);
    let screen = tmux.wait_for("the link", |s| {
        s.contains("shown once") && token_in(s).is_some()
    });
    let token = token_in(&screen).expect("the token on the screen");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the row", |s| s.contains("[invitation] from-tmux"));

    // The link read off the screen enrolls a user on the server the same process runs.
    let base = format!("http://127.0.0.1:{port}");
    let c = crate::flows_support::jar();
    let page = c
        .get(format!(
            "{base}/if/flow/default-enrollment-flow/?itoken={token}"
        ))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("page");
    assert!(page.contains("name=\"username\""), "{page}");
    let pw = "tmux-enrolled-1";
    let r = crate::flows_support::post_form(
        &c,
        &base,
        "default-enrollment-flow",
        &page,
        &[
            ("username", "tmux-user"),
            ("name", "Tmux User"),
            ("email", "t@x.example"),
            ("password", pw),
            ("password_repeat", pw),
        ],
    )
    .await;
    assert_eq!(
        r.status().as_u16(),
        303,
        "{}",
        r.text().await.unwrap_or_default()
    );
    tmux.keys(&["r"]);
    tmux.wait_for("the enrolled user, the row gone", |s| {
        s.contains("tmux-user") && !s.contains("[invitation] from-tmux")
    });
    tmux.keys(&["C-c"]);
}
