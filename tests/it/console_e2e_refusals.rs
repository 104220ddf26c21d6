//! Issue 14 under tmux: bad values typed into the real binary's forms are refused with a
//! message at the field (a negative token validity, an expression that does not compile, a
//! certificate valid for zero days) and the store the binary writes is unchanged.

use std::sync::Arc;

use latchkey::context::{Config, SystemClock};
use latchkey::service::Service;
use latchkey::store::{Store, StoreLocation};

use crate::console::{Tmux, start_console};
use crate::console_e2e::{focus, keys, text};

/// How many providers, policies and certificates the store at `db` holds.
async fn counts(db: &std::path::Path) -> (usize, usize, usize) {
    let store = Store::open(&StoreLocation::File(db.to_path_buf()))
        .await
        .expect("open the console's store");
    let service = Service::new(
        store.clone(),
        Config::new("http://x"),
        Arc::new(SystemClock),
    );
    let out = (
        service.list_providers().await.expect("providers").len(),
        service.list_policies().await.expect("policies").len(),
        service.list_certificates().await.expect("certs").len(),
    );
    store.close().await;
    out
}

/// Empties the focused one-line field.
fn clear(tmux: &Tmux, n: usize) {
    let presses = vec!["BSpace"; n];
    keys(tmux, &presses);
}

/// Ctrl-S, then waits for `message` at the field and checks the form is still open.
fn refused(tmux: &Tmux, form_title: &str, message: &str) {
    keys(tmux, &["C-s"]);
    let screen = tmux.wait_for(message, |s| s.contains(message));
    assert!(
        screen.contains(form_title),
        "the form stays open:\n{screen}"
    );
}

/// Esc, and yes to dropping the edits. The `y` waits for the question: tmux (like a terminal)
/// sends an Esc followed at once by a key as one Alt-key, so the two are never sent together.
fn discard(tmux: &Tmux, form_title: &str) {
    keys(tmux, &["Escape"]);
    tmux.wait_for("the drop-edits question", |s| {
        s.contains("drop your edits?")
    });
    keys(tmux, &["y"]);
    tmux.wait_for("the form closed", |s| !s.contains(form_title));
}

#[test]
fn bad_values_are_refused_at_the_field_under_tmux_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("x.db");
    let tmux = start_console(dir.path(), &[]);
    tmux.wait_for("the tab bar", |s| s.contains("1 Dashboard"));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let before = runtime.block_on(counts(&db));

    // A provider whose access tokens would be born expired (`expires_in: -7200`).
    keys(&tmux, &["6", "n"]);
    tmux.wait_for("the provider choices", |s| {
        s.contains("OAuth2/OpenID Provider")
    });
    keys(&tmux, &["Enter"]);
    let title = "Create OAuth2/OpenID Provider";
    tmux.wait_for("the provider form", |s| s.contains(title));
    text(&tmux, "negative");
    focus(&tmux, "Access Token validity");
    clear(&tmux, 12);
    text(&tmux, "hours=-2");
    refused(&tmux, title, "'hours=-2' must be longer than zero");
    discard(&tmux, title);

    // An expression policy with a syntax error on its second line.
    keys(&tmux, &["4", "n"]);
    tmux.wait_for("the policy choices", |s| s.contains("Expression Policy"));
    text(&tmux, "Expression");
    keys(&tmux, &["Enter"]);
    let title = "Create Expression Policy";
    tmux.wait_for("the policy form", |s| s.contains(title));
    text(&tmux, "broken");
    focus(&tmux, "Expression");
    clear(&tmux, 20);
    text(&tmux, "a = 1");
    keys(&tmux, &["Enter"]);
    text(&tmux, "b = (a +)");
    refused(&tmux, title, "ERROR: line 2: ");
    discard(&tmux, title);

    // A certificate valid for zero days.
    keys(&tmux, &["7", "n"]);
    tmux.wait_for("the certificate choices", |s| {
        s.contains("Generate a self-signed")
    });
    keys(&tmux, &["Enter"]);
    let title = "Generate Certificate";
    tmux.wait_for("the certificate form", |s| s.contains(title));
    text(&tmux, "zero-days");
    focus(&tmux, "Common Name");
    text(&tmux, "zero.example");
    focus(&tmux, "Validity days");
    clear(&tmux, 5);
    text(&tmux, "0");
    refused(
        &tmux,
        title,
        "a certificate must be valid for at least 1 day",
    );
    discard(&tmux, title);

    assert_eq!(runtime.block_on(counts(&db)), before, "nothing was written");
    keys(&tmux, &["C-c"]);
}
