//! Group membership policies: pass when the user is in the group (by id or name).

use super::{PolicyError, PolicyRequest};
use crate::domain::GroupMembershipSettings;
use crate::flows::env::Env;
use crate::store::{groups, logins};

/// Passes when the user belongs to the group named in `group` (id or name), parents included.
pub async fn passes(
    env: &Env,
    s: &GroupMembershipSettings,
    req: &PolicyRequest,
) -> Result<(bool, Vec<String>), PolicyError> {
    let wanted = s
        .group
        .as_deref()
        .ok_or_else(|| PolicyError::Settings("no group".into()))?;
    let Some(user) = &req.user else {
        return Ok((false, Vec::new()));
    };
    let mut conn = env.store.read().await?;
    let group_id = match groups::get_by_name(&mut conn, wanted).await? {
        Some(g) => g.id,
        None => wanted.to_string(),
    };
    Ok((
        logins::in_group(&mut conn, &user.id, &group_id).await?,
        Vec::new(),
    ))
}
