//! Signed-in sessions as admins see them: list them, and end one (its tokens revoked, its relying
//! parties told through back-channel logout).

use super::{Service, ServiceResult};
use crate::store;

/// A signed-in session as the console shows it (never its cookie digest or data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    /// The session's row id (what revoking names).
    pub id: String,
    /// Whose it is.
    pub user_id: String,
    /// Where it signed in from.
    pub client_ip: String,
    /// The browser's User-Agent.
    pub user_agent: String,
    /// When it signed in (unix seconds).
    pub created_at: i64,
    /// The last request (unix seconds).
    pub last_seen: i64,
    /// When it ends at the latest (unix seconds).
    pub expires_at: i64,
}

impl Service {
    /// Every live signed-in session, most recently seen first.
    pub async fn list_sessions(&self) -> ServiceResult<Vec<SessionSummary>> {
        let mut conn = self.store().read().await?;
        Ok(store::sessions::live_signed_in(&mut conn, self.now())
            .await?
            .into_iter()
            .filter_map(|s| {
                Some(SessionSummary {
                    user_id: s.user_id?,
                    id: s.id,
                    client_ip: s.client_ip,
                    user_agent: s.user_agent,
                    created_at: s.created_at,
                    last_seen: s.last_seen,
                    expires_at: s.expires_at.min(s.idle_expires_at),
                })
            })
            .collect())
    }

    /// Ends a session (its next request is anonymous), revokes the tokens issued in it and
    /// tells the relying parties with a back-channel logout URI. Returns how many tokens were
    /// revoked.
    pub async fn revoke_session(&self, id: &str) -> ServiceResult<u64> {
        let now = self.now();
        let sid = crate::crypto::secrets::digest(id);
        let mut tx = self.store().write_tx().await?;
        store::sessions::delete(tx.conn(), id).await?;
        let revoked = store::grants::revoke_session(tx.conn(), &sid, now).await?;
        tx.touch(store::Topic::Sessions);
        if revoked > 0 {
            tx.touch(store::Topic::Tokens);
        }
        tx.commit().await?;
        crate::oauth::logout::session_ended(self.context(), &sid).await;
        tracing::info!(revoked, "session revoked from the console");
        Ok(revoked)
    }
}
