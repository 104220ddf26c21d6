//! Every token is recorded before its response is sent: when the recorder's transaction cannot
//! commit (here its COMMIT fails after the rows were written, on either engine), the client gets
//! the RFC's error and no token, nothing is left stored, and an authorization code stays unused.

use latchkey::domain::Provider;
use latchkey::store::Store;
use serde_json::Value;

use crate::oauth_checklist_token::introspect;
use crate::server::create_oidc_app;
use crate::support::{
    TestServer, allow_commits, fail_commits_after_insert, oauth_post, spawn_server,
};

const GUARD: &str = "commit_guard";

fn token_url(s: &TestServer) -> String {
    format!("{}/application/o/token/", s.base_url)
}

async fn stored_access_tokens(store: &Store) -> i64 {
    let mut conn = store.read().await.expect("read");
    sqlx::query_scalar("SELECT COUNT(*) FROM access_tokens")
        .fetch_one(&mut *conn)
        .await
        .expect("count")
}

async fn client_credentials(s: &TestServer, p: &Provider) -> (u16, Value) {
    let (st, _, body) = oauth_post(
        &token_url(s),
        Some((&p.client_id, &p.oauth2.client_secret)),
        &[("grant_type", "client_credentials"), ("scope", "openid")],
    )
    .await;
    (st, body)
}

/// A refused answer: a server error with the RFC's JSON body, and no token in it.
fn assert_refused_without_token(st: u16, body: &Value) {
    assert!((500..600).contains(&st), "answered {st}: {body}");
    assert!(body["error"].is_string(), "{body}");
    for field in ["access_token", "id_token", "refresh_token"] {
        assert!(body.get(field).is_none(), "{field} sent unrecorded: {body}");
    }
}

#[tokio::test]
async fn a_token_whose_commit_fails_is_never_answered() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "svc").await;
    // The service account exists and the recorder has committed once: what fails next is the
    // token's own commit.
    let (st, body) = client_credentials(&s, &p).await;
    assert_eq!(st, 200, "{body}");
    let store = s.service.store();
    fail_commits_after_insert(store, GUARD, "access_tokens").await;
    let before = stored_access_tokens(store).await;

    // Concurrent requests share one group commit; a lone one has a batch of its own.
    let answers = futures::future::join_all((0..8).map(|_| client_credentials(&s, &p))).await;
    for (st, body) in &answers {
        assert_refused_without_token(*st, body);
    }
    let (st, body) = client_credentials(&s, &p).await;
    assert_refused_without_token(st, &body);
    assert_eq!(
        stored_access_tokens(store).await,
        before,
        "nothing half-stored"
    );

    // The recorder recovers once commits succeed again, and what it answers is recorded.
    allow_commits(store, GUARD, "access_tokens").await;
    let (st, body) = client_credentials(&s, &p).await;
    assert_eq!(st, 200, "{body}");
    let token = body["access_token"].as_str().expect("access_token");
    assert_eq!(introspect(&s.base_url, &p, token).await["active"], true);
    assert_eq!(stored_access_tokens(store).await, before + 1);
}

/// An authorization code for the bootstrap admin, as the authorization endpoint stores one.
async fn issue_code(s: &TestServer, p: &Provider) -> String {
    let admin = s
        .service
        .list_users()
        .await
        .expect("users")
        .into_iter()
        .find(|u| u.username == "akadmin")
        .expect("admin");
    crate::oauth_checklist_token::issue_code(&s.service, p, &admin.id, "openid").await
}

#[tokio::test]
async fn a_code_exchange_whose_commit_fails_answers_no_token_and_keeps_the_code() {
    let s = spawn_server().await;
    let p = create_oidc_app(&s, "app").await;
    let code = issue_code(&s, &p).await;
    let url = token_url(&s);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", crate::oauth_checklist_token::REDIRECT),
    ];
    let exchange = || oauth_post(&url, Some((&p.client_id, &p.oauth2.client_secret)), &form);
    let store = s.service.store();
    fail_commits_after_insert(store, GUARD, "access_tokens").await;
    let (st, _, body) = exchange().await;
    assert_refused_without_token(st, &body);

    // The code was consumed in the transaction that failed: it is still unused.
    allow_commits(store, GUARD, "access_tokens").await;
    let (st, _, body) = exchange().await;
    assert_eq!(st, 200, "{body}");
    let token = body["access_token"].as_str().expect("access_token");
    assert_eq!(introspect(&s.base_url, &p, token).await["active"], true);
}
