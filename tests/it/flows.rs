//! The login flow end to end: HTML forms with a cookie jar, the JSON executor, sessions, CSRF,
//! headers, escaping and brute-force defences (docs/SECURITY.md "Sessions, login, credentials").

use latchkey::store;
use serde_json::json;

use crate::flows_support::*;
use crate::support::{ADMIN_PASSWORD, spawn_server};

#[tokio::test]
async fn flows_html_login_sets_new_session_cookie() {
    let srv = spawn_server().await;
    add_whoami(&srv.service).await;
    let c = jar();
    let r = c
        .get(flow_url(&srv.base_url, AUTH_FLOW))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let first_cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    let page = r.text().await.unwrap();
    assert!(page.contains("name=\"uid_field\""), "{page}");
    assert!(!logged_in(&c, &srv.base_url).await);
    let r = html_login(&c, &srv.base_url, "akadmin", ADMIN_PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let new_cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert_ne!(
        first_cookie.split(';').next(),
        new_cookie.split(';').next(),
        "login must issue a new session id"
    );
    assert!(logged_in(&c, &srv.base_url).await);
    assert_eq!(events_of(&srv.service, "login").await.len(), 1);
}

#[tokio::test]
async fn flows_json_executor_login() {
    let srv = spawn_server().await;
    add_whoami(&srv.service).await;
    let c = jar();
    let v = api_get(&c, &srv.base_url, AUTH_FLOW).await;
    assert_eq!(v["component"], "ak-stage-identification");
    assert_eq!(v["user_fields"], json!(["email", "username"]));
    assert_eq!(v["flow_info"]["title"], "Welcome to latchkey!");
    let v = api_post(
        &c,
        &srv.base_url,
        AUTH_FLOW,
        json!({"component": "ak-stage-identification", "uid_field": "AKADMIN"}),
    )
    .await;
    assert_eq!(v["component"], "ak-stage-password", "{v}");
    // show_matched_user (the default blueprint's): the matched account, not what was typed.
    assert_eq!(v["pending_user"], "akadmin");
    let v = api_post(
        &c,
        &srv.base_url,
        AUTH_FLOW,
        json!({"component": "ak-stage-password", "password": ADMIN_PASSWORD}),
    )
    .await;
    assert_eq!(
        v,
        json!({"component": "xak-flow-redirect", "type": "redirect", "to": "/"})
    );
    assert!(logged_in(&c, &srv.base_url).await);
}

fn median(mut v: Vec<std::time::Duration>) -> std::time::Duration {
    v.sort();
    v[v.len() / 2]
}

async fn timed_wrong_password(base: &str, user: &str) -> (serde_json::Value, std::time::Duration) {
    let c = jar();
    api_get(&c, base, AUTH_FLOW).await;
    let v = api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-identification", "uid_field": user}),
    )
    .await;
    assert_eq!(
        v["component"], "ak-stage-password",
        "unknown users must get the same next challenge: {v}"
    );
    let t = std::time::Instant::now();
    let v = api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-password", "password": "wrong-password"}),
    )
    .await;
    (v, t.elapsed())
}

#[tokio::test]
async fn flows_wrong_password_and_unknown_user_look_the_same() {
    let srv = spawn_server().await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..3 {
        let (a, ta) = timed_wrong_password(&srv.base_url, "akadmin").await;
        let (b, tb) = timed_wrong_password(&srv.base_url, "nobody-here").await;
        assert_eq!(a["component"], "ak-stage-password");
        assert_eq!(a["response_errors"], b["response_errors"]);
        assert_eq!(
            a["response_errors"]["password"][0]["string"],
            "Failed to authenticate."
        );
        known.push(ta);
        unknown.push(tb);
    }
    let (k, u) = (median(known), median(unknown));
    assert!(
        u * 3 > k && k * 3 > u,
        "known {k:?} vs unknown {u:?} must be comparable"
    );
    assert_eq!(events_of(&srv.service, "login_failed").await.len(), 6);
}

#[tokio::test]
async fn flows_empty_malformed_and_out_of_order_posts_never_advance() {
    let srv = spawn_server().await;
    add_whoami(&srv.service).await;
    let c = jar();
    let base = &srv.base_url;
    // Out of order: a password before identification, on a fresh session.
    let v = api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-password", "password": ADMIN_PASSWORD}),
    )
    .await;
    assert_eq!(v["component"], "ak-stage-identification", "{v}");
    for body in [
        json!({}),
        json!([]),
        json!("x"),
        json!({"component": "ak-stage-password", "password": ADMIN_PASSWORD}),
        json!({"component": "ak-stage-identification"}),
    ] {
        let v = api_post(&c, base, AUTH_FLOW, body.clone()).await;
        assert_eq!(
            v["component"], "ak-stage-identification",
            "{body} advanced: {v}"
        );
        assert!(
            v["response_errors"]
                .as_object()
                .is_some_and(|m| !m.is_empty()),
            "{v}"
        );
    }
    let r = c
        .post(api_url(base, AUTH_FLOW))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["component"], "ak-stage-identification");
    // Empty HTML POST: refused (no CSRF), no 500, still at identification.
    let r = c
        .post(flow_url(base, AUTH_FLOW))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("name=\"uid_field\""));
    // Garbage form with a valid CSRF token: no advance.
    let (_, page) = get_page(&c, base, AUTH_FLOW).await;
    let r = c
        .post(flow_url(base, AUTH_FLOW))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={}&%ZZ=%&&==", hidden(&page, "csrf").unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("name=\"uid_field\""));
    assert!(!logged_in(&c, base).await);
}

#[tokio::test]
async fn flows_csrf_missing_or_wrong_is_refused() {
    let srv = spawn_server().await;
    let c = jar();
    let base = &srv.base_url;
    let (_, page) = get_page(&c, base, AUTH_FLOW).await;
    let comp = ("component", "ak-stage-identification");
    let r = c
        .post(flow_url(base, AUTH_FLOW))
        .form(&[("uid_field", "akadmin"), comp])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "missing CSRF");
    let r = c
        .post(flow_url(base, AUTH_FLOW))
        .form(&[("uid_field", "akadmin"), comp, ("csrf", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "wrong CSRF");
    // Another session's token does not work either.
    let other = jar();
    let (_, other_page) = get_page(&other, base, AUTH_FLOW).await;
    let r = c
        .post(flow_url(base, AUTH_FLOW))
        .form(&[
            ("uid_field", "akadmin"),
            comp,
            ("csrf", &hidden(&other_page, "csrf").unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "foreign CSRF");
    let r = post_form(&c, base, AUTH_FLOW, &page, &[("uid_field", "akadmin")]).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("name=\"password\""));
    // The JSON API refuses non-JSON bodies (cross-site forms cannot send JSON).
    let r = c
        .post(api_url(base, AUTH_FLOW))
        .form(&[
            ("component", "ak-stage-password"),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
}

#[tokio::test]
async fn flows_reputation_50_concurrent_wrong_passwords_count_exactly() {
    let srv = spawn_server().await;
    let base = srv.base_url.clone();
    let mut clients = Vec::new();
    for _ in 0..50 {
        let c = jar();
        api_get(&c, &base, AUTH_FLOW).await;
        api_post(
            &c,
            &base,
            AUTH_FLOW,
            json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
        )
        .await;
        clients.push(c);
    }
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|c| {
            let base = base.clone();
            tokio::spawn(async move {
                api_post(
                    &c,
                    &base,
                    AUTH_FLOW,
                    json!({"component": "ak-stage-password", "password": "nope"}),
                )
                .await
            })
        })
        .collect();
    for t in tasks {
        let v = t.await.unwrap();
        assert_eq!(v["component"], "ak-stage-password");
    }
    let mut conn = srv.service.store().read().await.unwrap();
    let now = srv.service.now();
    // Every failure was counted (the sign-in throttle's counters are exact under concurrency)…
    let counters = store::login_failures::read(
        &mut conn,
        &[
            "pair:127.0.0.1\u{1f}akadmin".to_string(),
            "user:akadmin".to_string(),
        ],
        now,
    )
    .await
    .unwrap();
    assert_eq!(counters.len(), 2, "{counters:?}");
    assert!(counters.iter().all(|c| c.failures == 50), "{counters:?}");
    // …and the reputation went down as far as authentik lets it (its lower limit, -5).
    assert_eq!(
        store::reputation::score_for_identifier(&mut conn, "akadmin", now)
            .await
            .unwrap(),
        store::reputation::LOWER_LIMIT
    );
    assert_eq!(
        store::reputation::score_for_ip(&mut conn, "127.0.0.1", now)
            .await
            .unwrap(),
        store::reputation::LOWER_LIMIT
    );
    // Expired entries restart from zero.
    assert_eq!(
        store::reputation::score_for_ip(&mut conn, "127.0.0.1", now + 2 * 86_400)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn flows_password_stage_cancels_after_failed_attempts() {
    let srv = spawn_server().await;
    let c = jar();
    let base = &srv.base_url;
    api_get(&c, base, AUTH_FLOW).await;
    api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
    )
    .await;
    for _ in 0..4 {
        let v = api_post(
            &c,
            base,
            AUTH_FLOW,
            json!({"component": "ak-stage-password", "password": "x"}),
        )
        .await;
        assert_eq!(v["component"], "ak-stage-password");
    }
    let v = api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-password", "password": "x"}),
    )
    .await;
    assert_eq!(v["component"], "ak-stage-access-denied", "{v}");
    // The plan is gone: the right password now does not log in; a new GET starts over.
    let v = api_get(&c, base, AUTH_FLOW).await;
    assert_eq!(v["component"], "ak-stage-identification");
}

#[tokio::test]
async fn flows_deactivated_user_and_deleted_session_take_effect_next_request() {
    let srv = spawn_server().await;
    add_whoami(&srv.service).await;
    let base = &srv.base_url;
    let c = jar();
    html_login(&c, base, "akadmin", ADMIN_PASSWORD).await;
    assert!(logged_in(&c, base).await);
    let mut u = admin(&srv.service).await;
    u.is_active = false;
    {
        let mut tx = srv.service.store().write_tx().await.unwrap();
        store::users::update(tx.conn(), &u).await.unwrap();
        tx.commit().await.unwrap();
    }
    assert!(
        !logged_in(&c, base).await,
        "a deactivated user's session must be refused"
    );
    // Reactivate, log in again, then delete the session server-side.
    let mut u = admin(&srv.service).await;
    u.is_active = true;
    {
        let mut tx = srv.service.store().write_tx().await.unwrap();
        store::users::update(tx.conn(), &u).await.unwrap();
        tx.commit().await.unwrap();
    }
    let c = jar();
    html_login(&c, base, "akadmin", ADMIN_PASSWORD).await;
    assert!(logged_in(&c, base).await);
    {
        let mut tx = srv.service.store().write_tx().await.unwrap();
        for s in store::sessions::of_user(tx.conn(), &u.id).await.unwrap() {
            store::sessions::delete(tx.conn(), &s.id).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    assert!(
        !logged_in(&c, base).await,
        "a deleted session must be refused"
    );
}

#[tokio::test]
async fn flows_next_only_same_origin_relative() {
    let srv = spawn_server().await;
    let base = &srv.base_url;
    for (next, expected) in [
        ("https://evil.example", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("/if/flow/whoami/?a=b", "/if/flow/whoami/?a=b"),
    ] {
        let c = jar();
        let url = format!("{}?next={}", flow_url(base, AUTH_FLOW), urlencode(next));
        let page = c.get(url).send().await.unwrap().text().await.unwrap();
        let r = post_form(&c, base, AUTH_FLOW, &page, &[("uid_field", "akadmin")]).await;
        let page = r.text().await.unwrap();
        let r = post_form(&c, base, AUTH_FLOW, &page, &[("password", ADMIN_PASSWORD)]).await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], expected, "next={next}");
    }
    // The JSON executor takes next inside `query`.
    let c = jar();
    let v: serde_json::Value = c
        .get(format!(
            "{}?query={}",
            api_url(base, AUTH_FLOW),
            urlencode("next=https://evil.example")
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["component"], "ak-stage-identification");
    api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
    )
    .await;
    let v = api_post(
        &c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-password", "password": ADMIN_PASSWORD}),
    )
    .await;
    assert_eq!(v["to"], "/");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn flows_cookie_attributes_and_security_headers() {
    let srv = spawn_server().await;
    let c = jar();
    let r = c
        .get(flow_url(&srv.base_url, AUTH_FLOW))
        .send()
        .await
        .unwrap();
    let h = r.headers();
    let cookie = h["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("authentik_session="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(
            cookie.split("; ").any(|p| p == attr),
            "{attr} missing: {cookie}"
        );
    }
    assert!(
        !cookie.contains("Secure"),
        "no Secure over plain http: {cookie}"
    );
    assert_eq!(h["x-frame-options"], "DENY");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"),
        "{csp}"
    );
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    let r = c
        .get(api_url(&srv.base_url, AUTH_FLOW))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    // https public URL: Secure.
    let tls = spawn_clock_server(Some("https://id.example")).await;
    let r = jar()
        .get(flow_url(&tls.base_url, AUTH_FLOW))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.split("; ").any(|p| p == "Secure"), "{cookie}");
    // The cookie value is not stored raw.
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("authentik_session=")
        .to_string();
    let mut conn = tls.service.store().read().await.unwrap();
    let digest = latchkey::crypto::secrets::digest(&value);
    let now = tls.service.now();
    assert!(
        store::sessions::get_live(&mut conn, &digest, now)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store::sessions::get_live(&mut conn, &value, now)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn flows_brand_title_and_user_input_are_escaped() {
    let srv = spawn_server().await;
    {
        let mut tx = srv.service.store().write_tx().await.unwrap();
        let mut b = store::brands::list(tx.conn())
            .await
            .unwrap()
            .into_iter()
            .find(|b| b.default)
            .unwrap();
        b.branding_title = "<script>alert(1)</script>".into();
        b.branding_custom_css = "body{color:red}</style><script>alert(2)</script>".into();
        store::brands::update(tx.conn(), &b).await.unwrap();
        tx.commit().await.unwrap();
    }
    let c = jar();
    let (_, page) = get_page(&c, &srv.base_url, AUTH_FLOW).await;
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let r = post_form(
        &c,
        &srv.base_url,
        AUTH_FLOW,
        &page,
        &[("uid_field", "<script>x</script>\"'")],
    )
    .await;
    let page = r.text().await.unwrap();
    assert!(page.contains("name=\"password\""));
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains("&lt;script&gt;x&lt;/script&gt;"));
}

#[tokio::test]
async fn flows_session_idle_and_absolute_expiry_follow_the_clock() {
    let srv = spawn_clock_server(None).await;
    add_whoami(&srv.service).await;
    let base = &srv.base_url;
    let c = jar();
    html_login(&c, base, "akadmin", ADMIN_PASSWORD).await;
    assert!(logged_in(&c, base).await);
    srv.clock.advance(latchkey::http::session::IDLE_TIMEOUT - 1);
    assert!(
        logged_in(&c, base).await,
        "activity within the idle timeout keeps the session"
    );
    srv.clock.advance(latchkey::http::session::IDLE_TIMEOUT);
    assert!(!logged_in(&c, base).await, "idle expiry");
    let c = jar();
    html_login(&c, base, "akadmin", ADMIN_PASSWORD).await;
    let lifetime = latchkey::http::session::DEFAULT_LIFETIME;
    let mut elapsed = 0;
    while elapsed + 3600 < lifetime {
        srv.clock.advance(3600);
        elapsed += 3600;
        assert!(logged_in(&c, base).await, "still live after {elapsed}s");
    }
    srv.clock.advance(lifetime - elapsed);
    assert!(
        !logged_in(&c, base).await,
        "absolute expiry despite activity"
    );
}

#[tokio::test]
async fn flows_login_stage_session_duration_and_terminate_other_sessions() {
    let srv = spawn_server().await;
    add_whoami(&srv.service).await;
    {
        let mut tx = srv.service.store().write_tx().await.unwrap();
        let mut s = store::stages::get_by_name(tx.conn(), "default-authentication-login")
            .await
            .unwrap()
            .unwrap();
        s.settings = latchkey::domain::StageSettings::from_json(
            s.kind(),
            &json!({"session_duration": "hours=1", "remember_me_offset": "seconds=0", "terminate_other_sessions": true}),
        );
        store::stages::update(tx.conn(), &s).await.unwrap();
        tx.commit().await.unwrap();
    }
    let base = &srv.base_url;
    let first = jar();
    html_login(&first, base, "akadmin", ADMIN_PASSWORD).await;
    assert!(logged_in(&first, base).await);
    let second = jar();
    let r = html_login(&second, base, "akadmin", ADMIN_PASSWORD).await;
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("Max-Age=3600"), "{cookie}");
    assert!(logged_in(&second, base).await);
    assert!(
        !logged_in(&first, base).await,
        "terminate_other_sessions ends the first session"
    );
}

#[tokio::test]
async fn flows_login_rehashes_passwords_with_old_parameters() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let srv = spawn_server().await;
    let params = argon2::Params::new(4096, 3, 1, None).unwrap();
    let weak = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(
            b"old-params-password",
            &SaltString::encode_b64(b"0123456789abcdef").unwrap(),
        )
        .unwrap()
        .to_string();
    let u = admin(&srv.service).await;
    {
        let mut tx = srv.service.store().write_tx().await.unwrap();
        store::users::set_password_hash(tx.conn(), &u.id, &weak, 0)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let r = html_login(&jar(), &srv.base_url, "akadmin", "old-params-password").await;
    assert_eq!(r.status(), 303);
    let mut conn = srv.service.store().read().await.unwrap();
    let stored = store::users::password_hash(&mut conn, &u.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    assert!(latchkey::crypto::password::verify(
        "old-params-password",
        &stored
    ));
}

#[tokio::test]
async fn flows_cli_user_create_and_set_password_from_stdin() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let bin = env!("CARGO_BIN_EXE_latchkey");
    let out = Command::new(bin)
        .args([
            "--db",
            db.to_str().unwrap(),
            "user",
            "create",
            "bob",
            "--email",
            "bob@example.org",
            "--superuser",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let set = |password: &str| {
        let mut child = Command::new(bin)
            .args(["--db", db.to_str().unwrap(), "user", "set-password", "bob"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = set("short");
    assert!(!out.status.success(), "short passwords are refused");
    let out = set("bobs-long-password");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !all.contains("bobs-long-password"),
        "the password is never echoed: {all}"
    );
    let st = store::Store::open(&store::StoreLocation::File(db))
        .await
        .unwrap();
    let mut conn = st.read().await.unwrap();
    let bob = store::users::get_by_username(&mut conn, "bob")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob.email, "bob@example.org");
    assert!(
        store::groups::is_superuser(&mut conn, &bob.id)
            .await
            .unwrap()
    );
    let hash = store::users::password_hash(&mut conn, &bob.id)
        .await
        .unwrap()
        .unwrap();
    assert!(latchkey::crypto::password::verify(
        "bobs-long-password",
        &hash
    ));
    // Unknown user: an error, not a crash.
    let out = Command::new(bin)
        .args([
            "--db",
            dir.path().join("cli.db").to_str().unwrap(),
            "user",
            "set-password",
            "nobody",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user named nobody"));
}

#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn flows_logs_never_contain_passwords_tokens_or_session_ids() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // tokio::test runs on one thread, so the server's tasks log into this subscriber.
    let srv = spawn_server().await;
    let c = jar();
    let r = c
        .get(flow_url(&srv.base_url, AUTH_FLOW))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    let page = r.text().await.unwrap();
    let csrf = hidden(&page, "csrf").unwrap();
    // A wrong CSRF token, a wrong password, a right password, a policy error.
    c.post(flow_url(&srv.base_url, AUTH_FLOW))
        .form(&[("uid_field", "akadmin"), ("csrf", "forged-csrf-value")])
        .send()
        .await
        .unwrap();
    let r = post_form(
        &c,
        &srv.base_url,
        AUTH_FLOW,
        &page,
        &[("uid_field", "akadmin")],
    )
    .await;
    let page = r.text().await.unwrap();
    post_form(
        &c,
        &srv.base_url,
        AUTH_FLOW,
        &page,
        &[("password", "wrong-secret-pw")],
    )
    .await;
    let r = post_form(
        &c,
        &srv.base_url,
        AUTH_FLOW,
        &page,
        &[("password", ADMIN_PASSWORD)],
    )
    .await;
    let new_cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("CSRF"), "the CSRF refusal is logged: {logs}");
    let session_id = |c: &str| {
        c.split(';')
            .next()
            .unwrap()
            .split('=')
            .nth(1)
            .unwrap()
            .to_string()
    };
    for secret in [
        ADMIN_PASSWORD.to_string(),
        "wrong-secret-pw".to_string(),
        "forged-csrf-value".to_string(),
        csrf,
        session_id(&cookie),
        session_id(&new_cookie),
    ] {
        assert!(!logs.contains(&secret), "a secret reached the logs");
    }
}
