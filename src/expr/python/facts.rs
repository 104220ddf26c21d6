//! The facts a caller loads before an evaluation: the user (with groups, authenticators and
//! password state), groups, the HTTP request and the system settings. Plain data, so the
//! engine needs no store.

use std::net::IpAddr;

use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

use crate::domain;

/// A user as expressions see it, loaded by the caller.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserFacts {
    /// The primary key (latchkey's user id).
    pub pk: String,
    /// authentik's `uid`: a stable hash of the primary key.
    pub uid: String,
    /// Username.
    pub username: String,
    /// Display name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Whether the user may log in.
    pub is_active: bool,
    /// authentik's user type (`internal`, `external`, `service_account`, …).
    pub user_type: String,
    /// The user's path.
    pub path: String,
    /// The user's own attributes.
    pub attributes: Json,
    /// The groups the user is a direct member of.
    pub groups: Vec<GroupFacts>,
    /// Ancestors of those groups the user is not directly in (authentik's `all_groups()`).
    pub inherited_groups: Vec<GroupFacts>,
    /// Whether a password is set (`has_usable_password()`).
    pub has_usable_password: bool,
    /// Device types of the user's confirmed authenticators (`totp`, `static`, `webauthn`, …).
    pub authenticators: Vec<String>,
    /// The authentication backend, once the flow authenticated the user (authentik sets
    /// `user.backend`; the default authentication flow tests `hasattr(..., "backend")`).
    pub backend: Option<String>,
    /// authentik's `AnonymousUser` (no session user).
    pub is_anonymous: bool,
    /// When the user last logged in (RFC 3339), if ever.
    pub last_login: Option<String>,
    /// When the user was created (RFC 3339).
    pub date_joined: Option<String>,
}

/// A group as expressions see it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupFacts {
    /// Primary key.
    pub pk: String,
    /// Name.
    pub name: String,
    /// Members are superusers.
    pub is_superuser: bool,
    /// The group's attributes.
    pub attributes: Json,
    /// The parent group's primary key.
    pub parent_pk: Option<String>,
}

/// The HTTP request an evaluation happens in.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpFacts {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Query parameters, in order.
    pub query: Vec<(String, String)>,
    /// Headers, in order (names as sent).
    pub headers: Vec<(String, String)>,
    /// The client IP as latchkey determined it (authentik's `get_client_ip`).
    pub client_ip: Option<IpAddr>,
    /// The configured public URL (`build_absolute_uri` builds on it, never on `Host`).
    pub base_url: String,
}

/// authentik's system settings that expressions read through `get_system_settings()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemSettings {
    /// Users may change their name.
    pub default_user_change_name: bool,
    /// Users may change their email.
    pub default_user_change_email: bool,
    /// Users may change their username.
    pub default_user_change_username: bool,
}

impl Default for SystemSettings {
    /// authentik's defaults.
    fn default() -> Self {
        Self {
            default_user_change_name: true,
            default_user_change_email: false,
            default_user_change_username: false,
        }
    }
}

impl UserFacts {
    /// authentik's `AnonymousUser`.
    pub fn anonymous() -> Self {
        Self {
            pk: String::new(),
            uid: String::new(),
            username: "AnonymousUser".into(),
            name: String::new(),
            email: String::new(),
            is_active: false,
            user_type: "internal".into(),
            path: "users".into(),
            attributes: Json::Object(Map::new()),
            is_anonymous: true,
            ..Self::default()
        }
    }

    /// A stored user with its direct groups (the caller adds inherited groups, authenticators
    /// and the backend where it knows them).
    pub fn from_domain(user: &domain::User, groups: Vec<GroupFacts>) -> Self {
        let digest = Sha256::digest(format!("latchkey:{}", user.id).as_bytes());
        Self {
            pk: user.id.clone(),
            uid: digest.iter().map(|b| format!("{b:02x}")).collect(),
            username: user.username.clone(),
            name: user.name.clone(),
            email: user.email.clone(),
            is_active: user.is_active,
            user_type: serde_json::to_value(user.user_type)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| "internal".into()),
            path: user.path.clone(),
            attributes: user.attributes.clone(),
            groups,
            has_usable_password: user.has_password,
            last_login: user.last_login.map(rfc3339),
            date_joined: Some(rfc3339(user.created_at)),
            ..Self::default()
        }
    }

    /// authentik's `all_groups()`: direct groups, then inherited ones.
    pub fn all_groups(&self) -> impl Iterator<Item = &GroupFacts> {
        self.groups.iter().chain(self.inherited_groups.iter())
    }

    /// Superuser through any group.
    pub fn is_superuser(&self) -> bool {
        self.all_groups().any(|g| g.is_superuser)
    }

    /// authentik's `group_attributes()`: the attributes of every group the user is in (direct
    /// groups last, so they win over inherited ones), then the user's own, merged deeply.
    pub fn group_attributes(&self) -> Json {
        let mut out = Map::new();
        for g in self.inherited_groups.iter().rev().chain(self.groups.iter()) {
            merge(&mut out, &g.attributes);
        }
        merge(&mut out, &self.attributes);
        Json::Object(out)
    }

    /// The record lookups (`ak_user_by(...)`, filters) match against.
    pub fn lookup_record(&self) -> Json {
        serde_json::json!({
            "pk": self.pk, "id": self.pk, "uuid": self.pk, "uid": self.uid,
            "username": self.username, "name": self.name, "email": self.email,
            "is_active": self.is_active, "type": self.user_type, "path": self.path,
            "attributes": self.attributes,
        })
    }
}

impl GroupFacts {
    /// A stored group.
    pub fn from_domain(group: &domain::Group) -> Self {
        Self {
            pk: group.id.clone(),
            name: group.name.clone(),
            is_superuser: group.is_superuser,
            attributes: group.attributes.clone(),
            parent_pk: group.parent_id.clone(),
        }
    }

    pub(crate) fn lookup_record(&self) -> Json {
        serde_json::json!({
            "pk": self.pk, "group_uuid": self.pk, "name": self.name,
            "is_superuser": self.is_superuser, "attributes": self.attributes,
            "parent": self.parent_pk,
        })
    }
}

fn rfc3339(ts: domain::Timestamp) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn merge(into: &mut Map<String, Json>, from: &Json) {
    let Json::Object(from) = from else { return };
    for (k, v) in from {
        match (into.get_mut(k), v) {
            (Some(Json::Object(a)), Json::Object(_)) => merge(a, v),
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}
