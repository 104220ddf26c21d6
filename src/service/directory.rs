//! The user and group directory the Agent reads (`/api/v3/core/users/`, `/core/groups/`, for
//! its NSS module): one page of users or groups with their stable numbers and memberships.

use std::collections::{HashMap, HashSet};

use super::{Service, ServiceResult};
use crate::domain::paging::{Page, PageRequest};
use crate::domain::{Group, User};
use crate::store;

/// A user with its number, superuser right and groups (each with its number).
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryUser {
    pub user: User,
    pub number: i64,
    pub is_superuser: bool,
    pub groups: Vec<(Group, i64)>,
}

/// A group with its number, its members' numbers and its parent's id.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryGroup {
    pub group: Group,
    pub number: i64,
    pub member_numbers: Vec<i64>,
    pub children: Vec<String>,
}

impl Service {
    /// One page of users, by username, with their numbers and groups (`None`: no such page).
    pub async fn directory_users(
        &self,
        req: PageRequest,
    ) -> ServiceResult<Option<Page<DirectoryUser>>> {
        let (users, groups) = (self.list_users().await?, self.list_groups().await?);
        let memberships = self.memberships().await?;
        let superusers: HashSet<String> = self.superuser_ids().await?;
        let (user_numbers, group_numbers) = self.numbers().await?;
        let mut users: Vec<DirectoryUser> = users
            .into_iter()
            .filter_map(|user| {
                let number = *user_numbers.get(&user.id)?;
                let groups = memberships
                    .iter()
                    .filter(|(u, _)| *u == user.id)
                    .filter_map(|(_, g)| {
                        let group = groups.iter().find(|x| x.id == *g)?;
                        Some((group.clone(), *group_numbers.get(g)?))
                    })
                    .collect();
                Some(DirectoryUser {
                    is_superuser: superusers.contains(&user.id),
                    user,
                    number,
                    groups,
                })
            })
            .collect();
        users.sort_by(|a, b| a.user.username.cmp(&b.user.username));
        Ok(Page::cut(users, req))
    }

    /// One page of groups, by name, with their numbers, members' numbers and children (`None`:
    /// no such page).
    pub async fn directory_groups(
        &self,
        req: PageRequest,
    ) -> ServiceResult<Option<Page<DirectoryGroup>>> {
        let groups = self.list_groups().await?;
        let memberships = self.memberships().await?;
        let (user_numbers, group_numbers) = self.numbers().await?;
        let mut out: Vec<DirectoryGroup> = groups
            .iter()
            .filter_map(|g| {
                Some(DirectoryGroup {
                    number: *group_numbers.get(&g.id)?,
                    member_numbers: memberships
                        .iter()
                        .filter(|(_, gid)| *gid == g.id)
                        .filter_map(|(u, _)| user_numbers.get(u).copied())
                        .collect(),
                    children: groups
                        .iter()
                        .filter(|c| c.parent_id.as_deref() == Some(g.id.as_str()))
                        .map(|c| c.id.clone())
                        .collect(),
                    group: g.clone(),
                })
            })
            .collect();
        out.sort_by(|a, b| a.group.name.cmp(&b.group.name));
        Ok(Page::cut(out, req))
    }

    /// Every user's and group's stable number, by id.
    async fn numbers(&self) -> ServiceResult<(HashMap<String, i64>, HashMap<String, i64>)> {
        let mut conn = self.store().read().await?;
        let users = store::directory::user_numbers(&mut conn).await?;
        let groups = store::directory::group_numbers(&mut conn).await?;
        Ok((users.into_iter().collect(), groups.into_iter().collect()))
    }
}
