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

/// Changes the score of (client IP, identifier) by `delta`.
async fn change(env: &Env, identifier: &str, delta: i64) -> FlowResult<()> {
    let Some(mut tx) = env.write_tx("reputation").await? else {
        return Ok(());
    };
    reputation::add(
        tx.conn(),
        &env.client_ip,
        identifier,
        delta,
        env.now,
        env.now + REPUTATION_TTL,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Lowers the score of (client IP, identifier) by one (a wrong password, an unknown username).
pub async fn record_failed_login(env: &Env, identifier: &str) -> FlowResult<()> {
    change(env, identifier, -1).await
}

/// Raises the score of (client IP, username) by one, as authentik does at every login.
pub async fn record_successful_login(env: &Env, username: &str) -> FlowResult<()> {
    change(env, username, 1).await
}

/// authentik's rule: the sum of the scores of every row matching the client IP (when
/// `check_ip`) **or** the username (when `check_username`) must be at or below `threshold`.
pub async fn passes(
    env: &Env,
    s: &ReputationSettings,
    req: &PolicyRequest,
) -> Result<(bool, Vec<String>), PolicyError> {
    let name = req
        .user
        .as_ref()
        .map(|u| u.username.clone())
        .or_else(|| req.context.pending_user_identifier.clone())
        .unwrap_or_default();
    let ip = s.check_ip.then_some(req.context.client_ip.as_str());
    let identifier = s.check_username.then_some(name.as_str());
    let mut conn = env.store.read().await?;
    let score = reputation::score_for(&mut conn, ip, identifier, env.now).await?;
    tracing::debug!(score, threshold = s.threshold, "reputation policy");
    Ok((score <= s.threshold, Vec::new()))
}
