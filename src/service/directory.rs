//! The user and group directory the Agent reads (`/api/v3/core/users/`, `/core/groups/`, for
//! its NSS module): one page of users or groups with their stable numbers and memberships.

use std::collections::{HashMap, HashSet};

use super::{Service, ServiceResult};
use crate::domain::{Group, User};
use crate::store;

/// authentik's page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: usize = 100;
/// The largest page served (authentik's `max_page_size`).
pub const MAX_PAGE_SIZE: usize = 1000;

/// Which page: 1-based `page`, `page_size` items (clamped to 1..=[`MAX_PAGE_SIZE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: usize,
    pub page_size: usize,
}

/// One page of a list and where it sits in the whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// 1-based page number.
    pub page: usize,
    pub page_size: usize,
    /// Items in the whole list.
    pub count: usize,
}

impl<T> Page<T> {
    /// Pages in the whole list (at least 1, as authentik counts them).
    pub fn total_pages(&self) -> usize {
        self.count.div_ceil(self.page_size).max(1)
    }
}

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

/// Cuts one page out of `all` (a page past the end is empty).
fn page_of<T>(all: Vec<T>, req: PageRequest) -> Page<T> {
    let page_size = req.page_size.clamp(1, MAX_PAGE_SIZE);
    let page = req.page.max(1);
    let count = all.len();
    let items = all
        .into_iter()
        .skip((page - 1).saturating_mul(page_size))
        .take(page_size)
        .collect();
    Page {
        items,
        page,
        page_size,
        count,
    }
}

impl Service {
    /// One page of users, by username, with their numbers and groups.
    pub async fn directory_users(&self, req: PageRequest) -> ServiceResult<Page<DirectoryUser>> {
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
        Ok(page_of(users, req))
    }

    /// One page of groups, by name, with their numbers, members' numbers and children.
    pub async fn directory_groups(&self, req: PageRequest) -> ServiceResult<Page<DirectoryGroup>> {
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
        Ok(page_of(out, req))
    }

    /// Every user's and group's stable number, by id.
    async fn numbers(&self) -> ServiceResult<(HashMap<String, i64>, HashMap<String, i64>)> {
        let mut conn = self.store().read().await?;
        let users = store::directory::user_numbers(&mut conn).await?;
        let groups = store::directory::group_numbers(&mut conn).await?;
        Ok((users.into_iter().collect(), groups.into_iter().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_cut_as_authentik_counts_them() {
        let p = page_of(
            (1..=25).collect::<Vec<_>>(),
            PageRequest {
                page: 2,
                page_size: 10,
            },
        );
        assert_eq!(
            (p.items.first(), p.items.len(), p.count, p.total_pages()),
            (Some(&11), 10, 25, 3)
        );
        let past = page_of(
            (1..=5).collect::<Vec<_>>(),
            PageRequest {
                page: 9,
                page_size: 10,
            },
        );
        assert!(past.items.is_empty());
        let zero = page_of(
            Vec::<i32>::new(),
            PageRequest {
                page: 0,
                page_size: 0,
            },
        );
        assert_eq!((zero.page, zero.page_size, zero.total_pages()), (1, 1, 1));
    }
}
