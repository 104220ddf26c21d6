//! The login flow end to end: HTML forms with a cookie jar, the JSON executor, sessions, CSRF,
//! headers, escaping and brute-force defences (SECURITY-CHECKLIST "Sessions, login, credentials").

use latchkey::domain::*;
use latchkey::store;
use serde_json::json;

use crate::flows_support::*;
use crate::support::{ADMIN_PASSWORD, spawn_server};

#[tokio::test]
async fn flows_html_login_sets_new_session_cookie() {
    let srv = spawn_server().await;
    add_whoami(&srv.service).await;
    let c = jar();
    let r = c.get(flow_url(&srv.base_url, AUTH_FLOW)).send().await.unwrap();
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
    let v = api_post(&c, &srv.base_url, AUTH_FLOW, json!({"component": "ak-stage-identification", "uid_field": "AKADMIN"})).await;
    assert_eq!(v["component"], "ak-stage-password", "{v}");
    assert_eq!(v["pending_user"], "AKADMIN");
    let v = api_post(&c, &srv.base_url, AUTH_FLOW, json!({"component": "ak-stage-password", "password": ADMIN_PASSWORD})).await;
    assert_eq!(v, json!({"component": "xak-flow-redirect", "type": "redirect", "to": "/"}));
    assert!(logged_in(&c, &srv.base_url).await);
}
