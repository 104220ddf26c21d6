//! A session write that is lost is answered as a failure — an HTML error page on the browser
//! pages, a JSON error on the flow API — never as if the state were kept. Each page answers
//! normally, then with the sessions table made read-only (triggers that abort every INSERT and
//! UPDATE, so the session's first write and its later saves both fail), then normally again.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::device::server as device_server;
use crate::device_page::open_entry;
use crate::flows_support::{
    AUTH_FLOW, add_whoami, api_url, flow_url, get_page, hidden, jar, logged_in, post_form,
};
use crate::server::{APP_REDIRECT, create_oidc_app};
use crate::support::{ADMIN_PASSWORD, TestServer, block_writes, spawn_server, unblock_writes};

/// Makes every session write fail (`true`) or work again (`false`).
async fn sessions_read_only(s: &TestServer, read_only: bool) {
    let store = s.service.store();
    if read_only {
        for (name, event) in [
            ("sessions_no_insert", "INSERT"),
            ("sessions_no_update", "UPDATE"),
        ] {
            block_writes(store, name, event, "sessions", "sessions are read-only").await;
        }
    } else {
        for name in ["sessions_no_insert", "sessions_no_update"] {
            unblock_writes(store, name, "sessions").await;
        }
    }
}

/// Asserts an HTML error page (500) that shows no form.
async fn assert_error_page(res: reqwest::Response, what: &str) {
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR, "{what}");
    assert!(
        res.headers().get("location").is_none(),
        "{what}: no redirect"
    );
    let ct = res.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(ct.starts_with("text/html"), "{what}: {ct}");
    let body = res.text().await.expect("body");
    assert!(body.contains("Something went wrong"), "{what}: {body}");
    assert!(!body.contains("name=\"csrf\""), "{what}: no form: {body}");
}

#[tokio::test]
async fn flow_pages_and_the_flow_api_answer_an_error_when_the_session_cannot_be_saved() {
    let s = spawn_server().await;
    let base = &s.base_url;
    let c = jar();
    let (status, page) = get_page(&c, base, AUTH_FLOW).await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"uid_field\""), "{page}");

    sessions_read_only(&s, true).await;
    let res = c.get(flow_url(base, AUTH_FLOW)).send().await.expect("get");
    assert_error_page(res, "a saved session's update is lost").await;
    let res = jar()
        .get(flow_url(base, AUTH_FLOW))
        .send()
        .await
        .expect("get");
    assert_error_page(res, "a new visitor's session is not written").await;
    let res = post_form(&c, base, AUTH_FLOW, &page, &[("uid_field", "akadmin")]).await;
    assert_error_page(res, "a form post whose step cannot be kept").await;
    for res in [
        c.get(api_url(base, AUTH_FLOW)).send().await.expect("get"),
        c.post(api_url(base, AUTH_FLOW))
            .json(&json!({"component": "ak-stage-identification", "uid_field": "akadmin"}))
            .send()
            .await
            .expect("post"),
    ] {
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["error"], "server_error", "{body}");
        assert!(body.get("component").is_none(), "no challenge: {body}");
    }

    sessions_read_only(&s, false).await;
    let (status, page) = get_page(&c, base, AUTH_FLOW).await;
    assert_eq!(status, 200);
    assert!(page.contains("name=\"uid_field\""), "{page}");
}

#[tokio::test]
async fn a_login_whose_new_session_cannot_be_written_is_an_error_and_no_login() {
    let s = spawn_server().await;
    add_whoami(&s.service).await;
    let base = &s.base_url;
    let c = jar();
    let (_, page) = get_page(&c, base, AUTH_FLOW).await;
    let res = post_form(&c, base, AUTH_FLOW, &page, &[("uid_field", "akadmin")]).await;
    let page = res.text().await.expect("body");
    assert!(hidden(&page, "csrf").is_some(), "the password step: {page}");

    sessions_read_only(&s, true).await;
    let res = post_form(&c, base, AUTH_FLOW, &page, &[("password", ADMIN_PASSWORD)]).await;
    assert!(
        res.headers().get("set-cookie").is_none(),
        "no new session cookie"
    );
    assert_error_page(res, "the login's session replacement is lost").await;

    sessions_read_only(&s, false).await;
    assert!(!logged_in(&c, base).await, "a lost login write is no login");
}

#[tokio::test]
async fn the_authorize_endpoint_answers_an_error_page_instead_of_a_redirect() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let redirect: String = form_urlencoded::byte_serialize(APP_REDIRECT.as_bytes()).collect();
    let url = format!(
        "{}/application/o/authorize/?response_type=code&scope=openid&state=s1&client_id={}\
         &redirect_uri={redirect}",
        s.base_url, p.client_id
    );
    // A browser whose (anonymous) session is already stored: the sign-in redirect saves it.
    let c = jar();
    assert_eq!(get_page(&c, &s.base_url, AUTH_FLOW).await.0, 200);
    sessions_read_only(&s, true).await;
    let res = c.get(&url).send().await.expect("get");
    assert_error_page(res, "a sign-in redirect whose session save is lost").await;
    let res = jar().get(&url).send().await.expect("get");
    assert_error_page(res, "a new visitor's session is not written").await;

    sessions_read_only(&s, false).await;
    let res = c.get(&url).send().await.expect("get");
    assert_eq!(res.status(), StatusCode::FOUND);
    let to = res.headers()["location"].to_str().expect("ascii");
    assert!(
        to.starts_with("/if/flow/default-authentication-flow/"),
        "{to}"
    );
}

#[tokio::test]
async fn the_device_pages_answer_an_error_page_instead_of_the_form() {
    let s = device_server().await;
    let url = format!("{}/device", s.base_url);
    let c = jar();
    let entry = open_entry(&s, &c, "", ("akadmin", ADMIN_PASSWORD)).await;
    assert_eq!(entry.status, 200, "{}", entry.body);
    assert!(hidden(&entry.body, "csrf").is_some(), "{}", entry.body);

    sessions_read_only(&s, true).await;
    let res = c.get(&url).send().await.expect("get");
    assert_error_page(res, "the entry form whose session save is lost").await;
    let res = jar().get(&url).send().await.expect("get");
    assert_error_page(res, "a sign-in redirect whose session is not written").await;

    sessions_read_only(&s, false).await;
    let res = c.get(&url).send().await.expect("get");
    assert_eq!(res.status(), StatusCode::OK);
}
