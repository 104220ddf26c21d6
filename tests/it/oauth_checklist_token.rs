//! Gaps in the coverage of docs/SECURITY.md "Token endpoint" and "Tokens, keys, discovery"
//! that `oauth_token.rs` and `oauth_end_session.rs` leave open: refresh is atomic under
//! concurrency (and the losers' reuse kills the winner's family), refresh survives a restart on
//! the same SQLite file, an inactive user cannot refresh, a revocation that fails in storage is not
//! answered as success (and leaves nothing half-done), logout ends the session even for a replayed
//! old cookie, and every token endpoint answer (errors included, and those the framework gives
//! for unrouted methods or oversized bodies) is JSON with `Cache-Control: no-store`.

use std::path::Path;
use std::sync::Arc;

use latchkey::context::{Config, SystemClock};
use latchkey::crypto::secrets;
use latchkey::domain::*;
use latchkey::http::session::COOKIE_NAME;
use latchkey::http::{self, AppState};
use latchkey::service::Service;
use latchkey::store::{self, Store, StoreLocation, Topic, grants::AuthorizationCode};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::flows_support::{add_user, add_whoami, admin, api_url, html_login, jar, logged_in};
use crate::server::{create_oidc_app, create_oidc_app_on};
use crate::support::{ADMIN_PASSWORD, client, oauth_post, spawn_server};

pub(crate) const REDIRECT: &str = "http://localhost:8080/cb";

fn token_url(base: &str) -> String {
    format!("{base}/application/o/token/")
}

/// Stores a code for `user_id` as the authorization endpoint would; returns the raw code.
pub(crate) async fn issue_code(
    service: &Service,
    provider: &Provider,
    user_id: &str,
    scope: &str,
) -> String {
    let code = secrets::random_token(32);
    let now = service.now();
    let record = AuthorizationCode {
        id: new_id(),
        code_digest: secrets::digest(&code),
        provider_id: provider.id.clone(),
        user_id: user_id.into(),
        session_id: None,
        redirect_uri: REDIRECT.into(),
        scope: scope.into(),
        nonce: None,
        code_challenge: None,
        code_challenge_method: None,
        auth_time: now - 5,
        expires_at: now + 60,
        consumed_at: None,
        created_at: now,
    };
    let mut tx = service.store().write_tx().await.expect("tx");
    store::grants::insert_code(tx.conn(), &record)
        .await
        .expect("code");
    tx.commit().await.expect("commit");
    code
}

/// Redeems a code at the token endpoint; returns (status, body).
async fn exchange(base: &str, p: &Provider, code: &str) -> (u16, Value) {
    let (st, _, body) = oauth_post(
        &token_url(base),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    (st, body)
}

/// A refresh-token grant; returns (status, body).
async fn refresh(base: &str, p: &Provider, rt: &str) -> (u16, Value) {
    let (st, _, body) = oauth_post(
        &token_url(base),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await;
    (st, body)
}

pub(crate) async fn introspect(base: &str, p: &Provider, token: &str) -> Value {
    oauth_post(
        &format!("{base}/application/o/introspect/"),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[("token", token)],
    )
    .await
    .2
}

async fn revoke(base: &str, p: &Provider, token: &str) -> (u16, Value) {
    let (st, _, body) = oauth_post(
        &format!("{base}/application/o/revoke/"),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[("token", token)],
    )
    .await;
    (st, body)
}

fn str_of(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {v}"))
        .to_string()
}

/// A code flow for akadmin with `offline_access`: (access token, refresh token).
async fn admin_tokens(base: &str, service: &Service, p: &Provider) -> (String, String) {
    let admin_id = admin(service).await.id;
    let code = issue_code(service, p, &admin_id, "openid offline_access").await;
    let (st, body) = exchange(base, p, &code).await;
    assert_eq!(st, 200, "{body}");
    (
        str_of(&body, "access_token"),
        str_of(&body, "refresh_token"),
    )
}

#[tokio::test]
async fn parallel_refreshes_have_one_winner_and_the_reuse_kills_its_family() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let (_, rt) = admin_tokens(&s.base_url, &s.service, &p).await;
    let http = client();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (http, url, id, secret, rt) = (
                http.clone(),
                token_url(&s.base_url),
                p.client_id.clone(),
                p.oauth2.client_secret.clone(),
                rt.clone(),
            );
            tokio::spawn(async move {
                let res = http
                    .post(url)
                    .basic_auth(id, Some(secret))
                    .form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", rt.as_str()),
                    ])
                    .send()
                    .await
                    .expect("request");
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap_or(Value::Null))
            })
        })
        .collect();
    let results: Vec<(u16, Value)> = futures::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let winners: Vec<&Value> = results
        .iter()
        .filter(|(st, _)| *st == 200)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one refresh wins: {results:?}");
    for (st, body) in results.iter().filter(|(st, _)| *st != 200) {
        assert_eq!(
            (*st, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "every loser is a reuse: {body}"
        );
    }
    let won = winners[0];
    let (new_at, new_rt) = (str_of(won, "access_token"), str_of(won, "refresh_token"));
    assert_ne!(new_rt, rt, "rotated");
    // The losers presented an already-rotated token: reuse revokes the whole family, the
    // winner's fresh tokens included (OAuth 2.0 Security BCP §4.14.2).
    let (st, body) = refresh(&s.base_url, &p, &new_rt).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "the winner's refresh token died with the family: {body}"
    );
    assert_eq!(
        introspect(&s.base_url, &p, &new_at).await["active"],
        false,
        "the winner's access token died with the family"
    );
}

/// A server over an existing (or new) SQLite file, stoppable like the binary stops.
struct FileServer {
    base_url: String,
    service: Service,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl FileServer {
    /// Opens the store at `path`, bootstraps it if empty, serves on 127.0.0.1:0; the issuer comes
    /// from `public_url` when given (a deployment keeps its public URL across restarts).
    async fn start(path: &Path, public_url: Option<&str>) -> Self {
        let store = Store::open(&StoreLocation::File(path.to_path_buf()))
            .await
            .expect("open store");
        let listener = http::bind("127.0.0.1:0").await.expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        let service = Service::new(
            store,
            Config::new(public_url.unwrap_or(&base_url)),
            Arc::new(SystemClock),
        );
        service
            .bootstrap(Some(ADMIN_PASSWORD))
            .await
            .expect("bootstrap");
        let cancel = CancellationToken::new();
        let task = http::spawn_server(listener, AppState::new(service.clone()), cancel.clone());
        Self {
            base_url,
            service,
            cancel,
            task,
        }
    }

    /// Stops serving, waits for the server task and closes the store, as `latchkey serve` does.
    async fn stop(self) {
        self.cancel.cancel();
        self.task.await.expect("join").expect("server");
        self.service.store().close().await;
    }
}

#[tokio::test]
async fn refresh_survives_a_restart_on_the_same_store_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("latchkey.db");
    let first = FileServer::start(&db, None).await;
    let public_url = first.base_url.clone();
    let p = create_oidc_app_on(&first.service, "app").await;
    let (at, rt) = admin_tokens(&first.base_url, &first.service, &p).await;
    first.stop().await;

    let second = FileServer::start(&db, Some(&public_url)).await;
    assert_eq!(
        introspect(&second.base_url, &p, &at).await["active"],
        true,
        "the access token was persisted"
    );
    let (st, body) = refresh(&second.base_url, &p, &rt).await;
    assert_eq!(st, 200, "the refresh token survives the restart: {body}");
    let (new_at, new_rt) = (
        str_of(&body, "access_token"),
        str_of(&body, "refresh_token"),
    );
    assert_ne!(new_rt, rt, "rotated");
    assert!(body["id_token"].is_string(), "{body}");
    assert_eq!(
        introspect(&second.base_url, &p, &new_at).await["active"],
        true
    );
    // The rotation was recorded in the reopened store too: the old token is now a reuse.
    let (st, body) = refresh(&second.base_url, &p, &rt).await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_grant")));
    second.stop().await;
}

fn param(url: &str, key: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn an_inactive_user_cannot_refresh() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let mut alice = add_user(&s.service, "alice", "alice@example.com", "alice-pass-12345").await;
    let b = jar();
    let res = html_login(&b, &s.base_url, "alice", "alice-pass-12345").await;
    assert!(res.status().is_redirection(), "alice signs in");
    let res = b
        .get(format!("{}/application/o/authorize/", s.base_url))
        .query(&[
            ("response_type", "code"),
            ("client_id", p.client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("scope", "openid offline_access"),
            ("state", "st"),
        ])
        .send()
        .await
        .expect("authorize");
    let loc = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("redirect back to the client")
        .to_string();
    assert!(loc.starts_with(REDIRECT), "{loc}");
    let code = param(&loc, "code").unwrap_or_else(|| panic!("code in {loc}"));
    let (st, body) = exchange(&s.base_url, &p, &code).await;
    assert_eq!(st, 200, "{body}");
    let rt = str_of(&body, "refresh_token");
    // While active, refreshing works.
    let (st, body) = refresh(&s.base_url, &p, &rt).await;
    assert_eq!(st, 200, "{body}");
    let rt = str_of(&body, "refresh_token");

    alice.is_active = false;
    let mut tx = s.service.store().write_tx().await.expect("tx");
    store::users::update(tx.conn(), &alice)
        .await
        .expect("update");
    tx.touch(Topic::Users);
    tx.commit().await.expect("commit");
    let (st, body) = refresh(&s.base_url, &p, &rt).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

#[tokio::test]
async fn a_revocation_that_fails_in_storage_is_not_success() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let (at, _) = admin_tokens(&s.base_url, &s.service, &p).await;
    // Every UPDATE of access_tokens (revoke_access_token is one) now fails.
    crate::support::block_writes(
        s.service.store(),
        "block_revoke",
        "UPDATE",
        "access_tokens",
        "blocked",
    )
    .await;

    let (st, body) = revoke(&s.base_url, &p, &at).await;
    assert!(
        (500..600).contains(&st),
        "a failed revocation must not answer {st}: {body}"
    );
    assert!(body["error"].is_string(), "{body}");
    assert_eq!(
        introspect(&s.base_url, &p, &at).await["active"],
        true,
        "nothing half-done"
    );

    crate::support::unblock_writes(s.service.store(), "block_revoke", "access_tokens").await;
    let (st, body) = revoke(&s.base_url, &p, &at).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(introspect(&s.base_url, &p, &at).await["active"], false);
}

/// Whether a request carrying only `Cookie: <COOKIE_NAME>=<value>` is signed in (the whoami
/// flow of [`add_whoami`], as [`logged_in`] asks it, from a client without a cookie jar).
async fn cookie_logged_in(base: &str, value: &str) -> bool {
    let v: Value = client()
        .get(api_url(base, "whoami"))
        .header("cookie", format!("{COOKIE_NAME}={value}"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let msg = v["error_message"].as_str().unwrap_or("");
    assert!(
        msg == "logged-in" || msg == "Flow requires authentication.",
        "{v}"
    );
    msg == "logged-in"
}

#[tokio::test]
async fn logout_ends_the_session_even_for_a_replayed_old_cookie() {
    let s = spawn_server().await;
    create_oidc_app(&s, "app").await;
    add_whoami(&s.service).await;
    let admin_id = admin(&s.service).await.id;
    let b = jar();
    let res = html_login(&b, &s.base_url, "akadmin", ADMIN_PASSWORD).await;
    assert!(res.status().is_redirection(), "login failed");
    let prefix = format!("{COOKIE_NAME}=");
    let old = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&prefix))
        .and_then(|v| v.split(';').next())
        .expect("the login sets the session cookie")
        .to_string();
    assert!(!old.is_empty());
    // The copied cookie alone is a signed-in session, and it is the only one of akadmin.
    assert!(cookie_logged_in(&s.base_url, &old).await);
    let before: Vec<String> = s
        .service
        .list_sessions()
        .await
        .expect("sessions")
        .into_iter()
        .filter(|x| x.user_id == admin_id)
        .map(|x| x.id)
        .collect();
    assert_eq!(before.len(), 1, "{before:?}");

    let res = b
        .get(format!("{}/application/o/app/end-session/", s.base_url))
        .send()
        .await
        .expect("end session");
    assert_eq!(res.status(), 200);
    assert!(
        !logged_in(&b, &s.base_url).await,
        "the browser is signed out"
    );
    assert!(
        !cookie_logged_in(&s.base_url, &old).await,
        "replaying the old cookie value does not sign in"
    );
    let after = s.service.list_sessions().await.expect("sessions");
    assert!(
        after.iter().all(|x| x.id != before[0]),
        "the session is gone from the list: {after:?}"
    );
}

fn assert_no_store(what: &str, headers: &reqwest::header::HeaderMap) {
    assert_eq!(
        headers.get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store"),
        "{what}: Cache-Control"
    );
    assert!(
        headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json")),
        "{what}: JSON, got {:?}",
        headers.get("content-type")
    );
}

#[tokio::test]
async fn every_token_endpoint_answer_is_no_store_json() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let url = token_url(&s.base_url);
    let auth = Some((p.client_id.as_str(), p.oauth2.client_secret.as_str()));

    let (st, h, body) = oauth_post(&url, auth, &[("grant_type", "magic")]).await;
    assert_eq!(
        (st, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    assert_no_store("400 unsupported_grant_type", &h);

    let (st, h, body) = oauth_post(
        &url,
        auth,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "a"),
            ("scope", "b"),
        ],
    )
    .await;
    assert_eq!((st, body["error"].as_str()), (400, Some("invalid_request")));
    assert_no_store("400 repeated parameter", &h);

    let res = client()
        .post(&url)
        .basic_auth(&p.client_id, Some(&p.oauth2.client_secret))
        .json(&serde_json::json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 400, "JSON bodies are refused");
    assert_no_store("400 not a form", res.headers());

    let (st, h, body) = oauth_post(
        &url,
        Some((&p.client_id, "wrong")),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!((st, body["error"].as_str()), (401, Some("invalid_client")));
    assert_no_store("401 invalid_client", &h);

    let res = client().get(&url).send().await.expect("get");
    assert_eq!(res.status(), 405);
    assert_no_store("GET", res.headers());

    let (st, h, body) = oauth_post(&url, auth, &[("grant_type", "client_credentials")]).await;
    assert_eq!(st, 200, "{body}");
    assert_no_store("200", &h);
}

/// The same rule for what the handlers never see: methods the route does not list and bodies over
/// the size limit are answered by the framework, and those answers must be no-store JSON too.
#[tokio::test]
async fn token_endpoint_framework_answers_are_no_store_json_too() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let url = token_url(&s.base_url);
    let mut gaps = Vec::new();
    let mut check = |what: String, status: u16, headers: &reqwest::header::HeaderMap| {
        let no_store =
            headers.get("cache-control").and_then(|v| v.to_str().ok()) == Some("no-store");
        let json = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !(no_store && json) {
            gaps.push(format!(
                "{what} -> {status}, cache-control {:?}, content-type {:?}",
                headers.get("cache-control"),
                headers.get("content-type")
            ));
        }
    };
    for method in ["PUT", "DELETE", "PATCH", "OPTIONS"] {
        let res = client()
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                &url,
            )
            .send()
            .await
            .expect("request");
        assert!(res.status().is_client_error(), "{method}: {}", res.status());
        check(method.to_string(), res.status().as_u16(), res.headers());
    }
    let padding = "x".repeat(3 * 1024 * 1024);
    let res = client()
        .post(&url)
        .basic_auth(&p.client_id, Some(&p.oauth2.client_secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=client_credentials&pad={padding}"))
        .send()
        .await
        .expect("request");
    assert!(res.status().is_client_error(), "{}", res.status());
    check(
        "POST with a 3 MiB form".into(),
        res.status().as_u16(),
        res.headers(),
    );
    assert!(
        gaps.is_empty(),
        "token endpoint answers without Cache-Control: no-store / JSON:\n{}",
        gaps.join("\n")
    );
}
