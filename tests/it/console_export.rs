//! Certificate export from the console (issue 7): `x` on a keypair → paths (prefilled) →
//! files written, the key 0600 from creation; existing files and bad paths are marked at the
//! field and leave nothing behind.

use std::os::unix::fs::PermissionsExt;

use crossterm::event::KeyCode;
use latchkey::console::app::App;
use latchkey::console::keymap::Mode;
use latchkey::console::tabs::TabId;

use crate::console_forms::{ctrl, fresh, key, settle, typ};

const CERT: &str = "authentik Self-signed Certificate";

fn open_export(app: &mut App) {
    typ(app, "7");
    assert_eq!(app.current_tab(), TabId::Certificates);
    app.handle_key(key(KeyCode::Home));
    for _ in 0..20 {
        if app.selected_row().map(|r| r.cells[0].text.as_str()) == Some(CERT) {
            typ(app, "x");
            assert_eq!(app.mode(), Mode::Form);
            return;
        }
        app.handle_key(key(KeyCode::Down));
    }
    panic!("no certificate row");
}

fn set_paths(app: &mut App, cert: &str, key_path: &str) {
    let form = app.form_mut().expect("form");
    form.set_text("certificate_path", cert);
    form.set_text("key_path", key_path);
}

#[tokio::test]
async fn export_writes_the_certificate_and_a_0600_key() {
    let (_dir, service, mut app) = fresh().await;
    open_export(&mut app);
    let form = app.form().expect("form");
    assert_eq!(
        form.value("certificate_path").map(|v| v.text().to_string()),
        Some("authentik-Self-signed-Certificate.pem".into()),
        "a path is suggested"
    );
    let out = tempfile::tempdir().expect("tmp");
    let cert = out.path().join("idp.pem");
    let key_file = out.path().join("idp.key");
    set_paths(
        &mut app,
        &cert.display().to_string(),
        &key_file.display().to_string(),
    );
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert_eq!(
        app.mode(),
        Mode::List,
        "{:?}",
        app.form().map(|f| &f.banner)
    );
    let status = app.status().expect("status").text.clone();
    assert!(status.contains("0600"), "{status}");
    let pem = std::fs::read_to_string(&cert).expect("cert");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    let key_pem = std::fs::read_to_string(&key_file).expect("key");
    assert!(key_pem.contains("PRIVATE KEY-----"));
    let mode = std::fs::metadata(&key_file)
        .expect("meta")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let stored = service
        .list_certificates()
        .await
        .expect("certs")
        .into_iter()
        .find(|c| c.name == CERT)
        .expect("cert");
    assert_eq!(
        Some(key_pem),
        stored.key_pem,
        "the stored key, byte for byte"
    );
    assert_eq!(pem, stored.certificate_pem);
}

#[tokio::test]
async fn an_existing_key_file_is_never_overwritten_and_no_certificate_is_left() {
    let (_dir, service, mut app) = fresh().await;
    let out = tempfile::tempdir().expect("tmp");
    let cert = out.path().join("idp.pem");
    let key_file = out.path().join("idp.key");
    std::fs::write(&key_file, "keep me").expect("write");
    open_export(&mut app);
    set_paths(
        &mut app,
        &cert.display().to_string(),
        &key_file.display().to_string(),
    );
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert_eq!(app.mode(), Mode::Form, "the form stays open");
    let err = app
        .form()
        .and_then(|f| f.error("key_path"))
        .expect("error at key_path");
    assert!(err.contains("exists already"), "{err}");
    assert_eq!(std::fs::read_to_string(&key_file).expect("read"), "keep me");
    assert!(!cert.exists(), "no certificate left half-way");
}

#[tokio::test]
async fn a_missing_directory_is_named_at_the_certificate_field() {
    let (_dir, service, mut app) = fresh().await;
    open_export(&mut app);
    set_paths(&mut app, "/nonexistent/dir/idp.pem", "");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let err = app
        .form()
        .and_then(|f| f.error("certificate_path"))
        .expect("error at certificate_path");
    assert!(
        err.contains("/nonexistent/dir/idp.pem") && err.contains("directory"),
        "{err}"
    );
}

#[tokio::test]
async fn certificate_only_export_and_read_only_refusal() {
    let (_dir, service, mut app) = fresh().await;
    let out = tempfile::tempdir().expect("tmp");
    let cert = out.path().join("only.pem");
    open_export(&mut app);
    set_paths(&mut app, &cert.display().to_string(), "");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert!(cert.exists());
    assert_eq!(std::fs::read_dir(out.path()).expect("dir").count(), 1);

    let mut cfg = crate::console_forms::config();
    cfg.readonly = true;
    let mut ro = App::new(cfg);
    ro.apply_data(crate::console_forms::load(&service).await);
    typ(&mut ro, "7x");
    assert_eq!(
        ro.mode(),
        Mode::List,
        "read-only consoles do not write key material"
    );
    assert!(!ro.help_entries().iter().any(|(k, _)| *k == "x"));
}
