//! Reputation: scores per client IP and per username, lowered on failed logins with one atomic
//! UPSERT (race-free) and expiring; the policy passes while the score is at or below `threshold`
//! (authentik's semantics: bind it negated or in front of a deny stage).

use super::{PolicyError, PolicyRequest};
use crate::domain::ReputationSettings;
use crate::flows::FlowResult;
use crate::flows::env::Env;
use crate::store::reputation;

/// How long a reputation entry lives after its last change.
pub const REPUTATION_TTL: i64 = 86_400;

/// Lowers the score of (client IP, identifier) by one.
pub async fn record_failed_login(env: &Env, identifier: &str) -> FlowResult<()> {
    let mut tx = env.store.write_tx().await?;
    reputation::add(
        tx.conn(),
        &env.client_ip,
        identifier,
        -1,
        env.now,
        env.now + REPUTATION_TTL,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Passes when every enabled check's score is at or below the threshold.
pub async fn passes(
    env: &Env,
    s: &ReputationSettings,
    req: &PolicyRequest,
) -> Result<(bool, Vec<String>), PolicyError> {
    let threshold = s.threshold;
    let mut conn = env.store.read().await?;
    let mut passing = true;
    if s.check_ip {
        passing &= reputation::score_for_ip(&mut conn, &req.context.client_ip, env.now).await?
            <= threshold;
    }
    if s.check_username {
        let name = req
            .user
            .as_ref()
            .map(|u| u.username.clone())
            .or_else(|| req.context.pending_user_identifier.clone())
            .unwrap_or_default();
        passing &= reputation::score_for_identifier(&mut conn, &name, env.now).await? <= threshold;
    }
    Ok((passing, Vec::new()))
}
