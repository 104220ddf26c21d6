//! Who may use authentik's admin API (`/api/v3/…` outside the Agent's calls): as authentik's
//! admin interface, an active superuser signed in through a browser session.

use super::{Service, ServiceResult};
use crate::store;

impl Service {
    /// True when `user_id` names an active user holding superuser rights through a group.
    pub async fn is_active_superuser(&self, user_id: &str) -> ServiceResult<bool> {
        let mut conn = self.store().read().await?;
        let Some(user) = store::users::get(&mut conn, user_id).await? else {
            return Ok(false);
        };
        Ok(user.is_active && store::groups::is_superuser(&mut conn, &user.id).await?)
    }
}
