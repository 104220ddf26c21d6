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
