//! Multi-line fields (issue 7): Ctrl-F finds text in the focused editor, Ctrl-E hands the text
//! to `$EDITOR` (the loop runs it; here the app's side and the editor runner are checked), and
//! an editor that fails leaves the field as it was.

use crossterm::event::KeyCode;
use latchkey::console::app::App;
use latchkey::console::external_edit::edit_with;
use latchkey::console::keymap::Mode;

use crate::console_forms::{ctrl, fresh, key, typ};

/// Opens a new expression policy and focuses its expression.
fn expression_form(app: &mut App) {
    typ(app, "4n");
    assert!(app.chooser().is_some());
    typ(app, "Expression");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(app.mode(), Mode::Form);
    let form = app.form_mut().expect("form");
    form.set_text(
        "expression",
        "ak_message(\"checking\")\nif request.user.username == \"Admin\":\n    return True\nreturn False",
    );
    for _ in 0..10 {
        if app.form().and_then(|f| f.focused()).map(|f| f.spec.key) == Some("expression") {
            return;
        }
        app.handle_key(key(KeyCode::Tab));
    }
    panic!("no expression field");
}

fn cursor(app: &App) -> (usize, usize) {
    app.form()
        .and_then(|f| f.focused())
        .and_then(|f| f.editor.as_ref())
        .map(|e| {
            let c = e.cursor();
            (c.0, c.1)
        })
        .expect("editor")
}

#[tokio::test]
async fn ctrl_f_finds_case_insensitively_and_enter_goes_to_the_next_match() {
    let (_dir, _service, mut app) = fresh().await;
    expression_form(&mut app);
    app.handle_key(ctrl('f'));
    assert_eq!(app.form().and_then(|f| f.find.clone()), Some(String::new()));
    typ(&mut app, "return");
    assert_eq!(
        cursor(&app),
        (2, 4),
        "first match after the cursor, wrapping"
    );
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(cursor(&app), (3, 0), "next match");
    // Typing while finding never edits the text.
    let text = app
        .form()
        .and_then(|f| f.value("expression"))
        .map(|v| v.text().to_string());
    assert!(text.is_some_and(|t| t.contains("return True")));
    // Case-insensitive, literal (a dot is a dot).
    for _ in 0.."return".len() {
        app.handle_key(key(KeyCode::Backspace));
    }
    typ(&mut app, "ADMIN");
    assert_eq!(cursor(&app).0, 1);
    typ(&mut app, "zzz");
    let banner = app
        .form()
        .and_then(|f| f.banner.clone())
        .unwrap_or_default();
    assert!(banner.contains("no match"), "{banner}");
    app.handle_key(key(KeyCode::Esc));
    assert!(app.form().is_some_and(|f| f.find.is_none()));
    assert_eq!(
        app.mode(),
        Mode::Form,
        "Esc closes the search, not the form"
    );
}

#[tokio::test]
async fn ctrl_e_asks_the_loop_for_the_editor_and_takes_the_text_back() {
    let (_dir, _service, mut app) = fresh().await;
    expression_form(&mut app);
    app.handle_key(ctrl('e'));
    let edit = app.take_external_edit().expect("an editor request");
    assert_eq!(edit.key, "expression");
    assert!(edit.text.contains("return True"));
    app.finish_external_edit(edit.key, Ok("return False".into()));
    let form = app.form().expect("form");
    assert_eq!(
        form.value("expression").map(|v| v.text()),
        Some("return False")
    );
    assert!(form.dirty);
    // A failed editor changes nothing and says why.
    app.handle_key(ctrl('e'));
    let edit = app.take_external_edit().expect("request");
    app.finish_external_edit(edit.key, Err("the editor 'nope' exited with 1".into()));
    let form = app.form().expect("form");
    assert_eq!(
        form.value("expression").map(|v| v.text()),
        Some("return False")
    );
    assert!(form.banner.as_deref().is_some_and(|b| b.contains("nope")));
    // Single-line fields do not open the editor.
    app.handle_key(key(KeyCode::BackTab));
    app.handle_key(key(KeyCode::BackTab));
    app.handle_key(ctrl('e'));
    assert!(app.take_external_edit().is_none());
}

#[test]
fn the_editor_runner_round_trips_text_and_reports_failures() {
    let edited =
        edit_with("sed -i 's/True/False/'", "expression", "return True").expect("sed as an editor");
    assert_eq!(
        edited, "return False",
        "the editor's final newline is dropped"
    );
    let kept = edit_with("true", "key_data", "line 1\nline 2\n").expect("no change");
    assert_eq!(kept, "line 1\nline 2\n");
    let err = edit_with("false", "expression", "x").expect_err("a failing editor");
    assert!(err.contains("exited") && err.contains("unchanged"), "{err}");
    let err = edit_with("/nonexistent/editor", "expression", "x").expect_err("missing");
    assert!(err.contains("exited"), "{err}");
}
