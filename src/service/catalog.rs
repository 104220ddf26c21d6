//! Read-only listings of every admin object and the small queries the console's lists need
//! beyond them (who is a superuser, who is in which group).

use std::collections::HashSet;

use super::{Service, ServiceResult};
use crate::domain::*;
use crate::store;

/// Generates one listing method per aggregate, so each front end reads through the service.
macro_rules! listings {
    ($($(#[$m:meta])* $name:ident -> $ty:ty = $path:path;)+) => {
        impl Service {
            $(
                $(#[$m])*
                pub async fn $name(&self) -> ServiceResult<Vec<$ty>> {
                    let mut conn = self.store().read().await?;
                    Ok($path(&mut conn).await?)
                }
            )+
        }
    };
}

listings! {
    /// Every flow.
    list_flows -> Flow = store::flows::list;
    /// Every stage binding.
    list_flow_stage_bindings -> FlowStageBinding = store::flows::all_bindings;
    /// Every stage.
    list_stages -> Stage = store::stages::list;
    /// Every prompt field.
    list_prompts -> Prompt = store::stages::list_prompts;
    /// Every policy.
    list_policies -> Policy = store::policies::list;
    /// Every policy binding.
    list_policy_bindings -> PolicyBinding = store::policies::all_bindings;
    /// Every application.
    list_applications -> Application = store::applications::list;
    /// Every provider.
    list_providers -> Provider = store::providers::list;
    /// Every scope mapping.
    list_scope_mappings -> ScopeMapping = store::scope_mappings::list;
    /// Every certificate keypair.
    list_certificates -> CertificateKeypair = store::certificates::list;
    /// Every brand.
    list_brands -> Brand = store::brands::list;
    /// Every connector.
    list_connectors -> Connector = store::connectors::list;
    /// Every device access group.
    list_device_access_groups -> DeviceAccessGroup = store::device_access_groups::list;
    /// Every enrollment token (its key's digest only).
    list_enrollment_tokens -> EnrollmentToken = store::enrollment_tokens::list;
    /// Every user.
    list_users -> User = store::users::list;
    /// Every group.
    list_groups -> Group = store::groups::list;
    /// Signing keys providers used before their current one.
    list_retired_keys -> store::providers::RetiredKey = store::providers::retired_keys;
}

impl Service {
    /// One user by username (the snapshot's service accounts), without listing them all.
    pub async fn find_user_by_username(&self, username: &str) -> ServiceResult<Option<User>> {
        let mut conn = self.store().read().await?;
        Ok(store::users::get_by_username(&mut conn, username).await?)
    }
}

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

impl Service {
    /// Every (user id, group id) membership, for the user and group forms' checklists.
    pub async fn memberships(&self) -> ServiceResult<Vec<(String, String)>> {
        let mut conn = self.store().read().await?;
        let mut out = Vec::new();
        for o in store::objects::list(&mut conn, Kind::Group).await? {
            if let Object::Group { group, users } = o {
                out.extend(users.into_iter().map(|u| (u, group.id.clone())));
            }
        }
        Ok(out)
    }
}
