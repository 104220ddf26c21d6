//! A stranger cannot grow the store without signing in: every cookie-less visit to a flow page
//! starts a sign-in, but anonymous sessions live 30 minutes and are capped per client IP (the
//! oldest go), while a signed-in session keeps its full lifetime.

use latchkey::flows::session::{ANONYMOUS_CAPS, ANONYMOUS_LIFETIME};
use latchkey::store;

use crate::support::{client, spawn_server};

async fn anonymous_sessions(s: &crate::support::TestServer) -> Vec<store::sessions::SessionRow> {
    let mut conn = s.service.store().read().await.expect("conn");
    store::sessions::all_anonymous(&mut conn)
        .await
        .expect("sessions")
}

#[tokio::test]
async fn cookieless_visits_are_capped_per_ip_and_short_lived() {
    let s = spawn_server().await;
    let visits = ANONYMOUS_CAPS.per_ip + 40;
    let url = format!("{}/if/flow/default-authentication-flow/", s.base_url);
    for _ in 0..visits {
        // A fresh client each time: no cookie, as a scripted stranger would come.
        let res = client().get(&url).send().await.expect("get");
        assert_eq!(res.status(), 200);
    }
    let rows = anonymous_sessions(&s).await;
    assert!(
        rows.len() as i64 <= ANONYMOUS_CAPS.per_ip,
        "{} anonymous sessions from one IP after {visits} visits",
        rows.len()
    );
    assert!(!rows.is_empty(), "a sign-in in progress is kept");
    for r in &rows {
        assert!(r.expires_at - r.created_at <= ANONYMOUS_LIFETIME, "{r:?}");
    }
}
