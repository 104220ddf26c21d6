//! Small read-only queries the console's lists need beyond the plain listings.

use std::collections::HashSet;

use super::{Service, ServiceResult};
use crate::store;

impl Service {
    /// Ids of the users with admin rights through a superuser group (directly or inherited), so
    /// the users list can flag them without the console knowing how groups nest.
    pub async fn superuser_ids(&self) -> ServiceResult<HashSet<String>> {
        let mut conn = self.store().read().await?;
        let users = store::users::list(&mut conn).await?;
        let mut ids = HashSet::new();
        for user in users {
            if store::groups::is_superuser(&mut conn, &user.id).await? {
                ids.insert(user.id);
            }
        }
        Ok(ids)
    }
}
