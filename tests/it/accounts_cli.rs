//! `latchkey user token …` and `latchkey user mfa …` through the real binary (issue 19): the
//! key printed once works as an app password and is stored only as a digest, revoking stops
//! it, `mfa reset` deletes the factors, and bad input is one line with exit code 2.

use std::process::{Command, Output};

use latchkey::crypto::secrets;
use latchkey::domain::new_id;
use latchkey::store::{self, Store, StoreLocation};

fn latchkey(db: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .env_remove("LATCHKEY_DB")
        .env_remove("LATCHKEY_LISTEN")
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .expect("run")
}

fn ok(out: &Output) -> (String, String) {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    assert!(out.status.success(), "{stderr}");
    (stdout, stderr)
}

/// Exit code 2 and one line on stderr containing `want`.
fn refused(out: &Output, want: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(want), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout: {stderr}");
    if !stderr.starts_with("error:") {
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
}

async fn open(db: &std::path::Path) -> Store {
    Store::open(&StoreLocation::File(db.to_path_buf()))
        .await
        .expect("open")
}

#[tokio::test]
async fn user_token_and_mfa_commands_through_the_binary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("cli.db");
    ok(&latchkey(&db, &["user", "create", "carol"]));

    let out = latchkey(
        &db,
        &[
            "user",
            "token",
            "create",
            "carol",
            "--description",
            "laptop",
            "--expires",
            "30d",
        ],
    );
    let (stdout, stderr) = ok(&out);
    let key = stdout.trim().to_string();
    assert_eq!(key.len(), 60, "the key alone on stdout: {stdout}");
    assert!(
        stderr.contains("shown only now") && !stderr.contains(&key),
        "{stderr}"
    );
    let (api_out, _) = ok(&latchkey(
        &db,
        &["user", "token", "create", "carol", "--intent", "api"],
    ));
    let api_key = api_out.trim().to_string();

    let store = open(&db).await;
    let carol = {
        let mut conn = store.read().await.expect("conn");
        store::users::get_by_username(&mut conn, "carol")
            .await
            .expect("read")
            .expect("carol")
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let find = |key: String, intent: &'static str| {
        let (store, user) = (store.clone(), carol.id.clone());
        async move {
            let mut conn = store.read().await.expect("conn");
            store::tokens::find_valid(&mut conn, &user, intent, &secrets::digest(&key), now)
                .await
                .expect("find")
        }
    };
    let app = find(key.clone(), store::tokens::INTENT_APP_PASSWORD)
        .await
        .expect("the printed key is carol's app password");
    let expires = app.expires_at.expect("expires");
    assert!((expires - (now + 30 * 86_400)).abs() < 60, "{expires}");
    assert!(
        find(api_key.clone(), store::tokens::INTENT_API)
            .await
            .is_some()
    );
    assert!(
        find(api_key.clone(), store::tokens::INTENT_APP_PASSWORD)
            .await
            .is_none(),
        "an API token is no app password"
    );

    let (list, _) = ok(&latchkey(&db, &["user", "token", "list", "carol"]));
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(list.contains("laptop") && list.contains("app_password") && list.contains("api"));
    assert!(
        !list.contains(&key) && !list.contains(&api_key),
        "never a key: {list}"
    );

    ok(&latchkey(
        &db,
        &["user", "token", "revoke", "carol", &app.identifier],
    ));
    assert!(
        find(key.clone(), store::tokens::INTENT_APP_PASSWORD)
            .await
            .is_none(),
        "revoked"
    );
    let (list, _) = ok(&latchkey(&db, &["user", "token", "list", "carol"]));
    assert_eq!(list.lines().count(), 1, "{list}");

    // mfa list / reset.
    {
        let mut tx = store.write_tx().await.expect("tx");
        let device = store::authenticators::DeviceRow {
            id: new_id(),
            user_id: carol.id.clone(),
            kind: "static".into(),
            name: "Static Token".into(),
            secret: String::new(),
            confirmed: true,
            last_used_step: None,
            created_at: now,
            digits: 6,
        };
        store::authenticators::insert(tx.conn(), &device)
            .await
            .expect("device");
        store::static_tokens::insert_all(tx.conn(), &device.id, &[secrets::digest("code-1")])
            .await
            .expect("codes");
        tx.commit().await.expect("commit");
    }
    let (list, stderr) = ok(&latchkey(&db, &["user", "mfa", "list", "carol"]));
    assert!(
        list.contains("static") && list.contains("1 code(s) left"),
        "{list}"
    );
    assert!(stderr.contains("1 authenticator(s) of carol"), "{stderr}");
    let (_, stderr) = ok(&latchkey(&db, &["user", "mfa", "reset", "carol"]));
    assert!(
        stderr.contains("deleted 1 authenticator(s) of carol"),
        "{stderr}"
    );
    let (list, _) = ok(&latchkey(&db, &["user", "mfa", "list", "carol"]));
    assert!(list.is_empty(), "{list}");
    {
        let mut conn = store.read().await.expect("conn");
        assert!(
            !store::static_tokens::exists(&mut conn, &carol.id, &secrets::digest("code-1"))
                .await
                .expect("exists"),
            "the codes went with the device"
        );
    }
    store.close().await;

    // Bad input: one clear line, exit code 2, nothing changed.
    refused(
        &latchkey(
            &db,
            &["user", "token", "create", "carol", "--expires", "soon"],
        ),
        "--expires",
    );
    refused(
        &latchkey(
            &db,
            &["user", "token", "create", "carol", "--expires", "0d"],
        ),
        "longer than zero",
    );
    refused(
        &latchkey(
            &db,
            &["user", "token", "create", "carol", "--intent", "recovery"],
        ),
        "recovery",
    );
    refused(
        &latchkey(&db, &["user", "token", "create", "nobody"]),
        "no user named nobody",
    );
    refused(
        &latchkey(&db, &["user", "token", "revoke", "carol", "nope"]),
        "carol has no token nope",
    );
    refused(
        &latchkey(&db, &["user", "mfa", "reset", "nobody"]),
        "no user named nobody",
    );
    let (list, _) = ok(&latchkey(&db, &["user", "token", "list", "carol"]));
    assert_eq!(list.lines().count(), 1, "nothing was created: {list}");
}
