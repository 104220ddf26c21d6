//! Who made a change and from where, for the audit trail. authentik keeps the request's user and
//! address; a terminal IdP also changes things from the console, the CLI and blueprints, where the
//! one acting is the operating-system user on a host.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Event, Timestamp, new_id};

/// The origin of changes made in the terminal console.
pub const ORIGIN_CONSOLE: &str = "console";
/// The origin of changes made by `latchkey` subcommands.
pub const ORIGIN_CLI: &str = "cli";
/// The origin of requests over HTTP (the event's client IP says from where).
pub const ORIGIN_HTTP: &str = "http";
/// The origin of the server's own work (maintenance, notifications, bootstrap).
pub const ORIGIN_SYSTEM: &str = "system";

/// Who acts and from where; every audit event carries one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The signed-in user's username, or `osuser@host` in the console and the CLI.
    pub username: String,
    /// The signed-in user's id; `None` for the console, the CLI and the system.
    pub user_id: Option<String>,
    /// The client's address for HTTP requests; empty otherwise.
    pub client_ip: String,
    /// "http", "console", "cli", "blueprint <name>" or "system".
    pub origin: String,
}

impl Actor {
    /// The operating-system user `os_user` on `host`, acting through `origin` (console or CLI).
    pub fn local(origin: &str, os_user: &str, host: &str) -> Self {
        Self {
            username: format!("{os_user}@{host}"),
            user_id: None,
            client_ip: String::new(),
            origin: origin.to_string(),
        }
    }

    /// The same actor applying the blueprint `name` (its origin says which).
    pub fn applying_blueprint(&self, name: &str) -> Self {
        Self {
            origin: format!("blueprint {name}"),
            ..self.clone()
        }
    }

    /// A user signed in over HTTP from `client_ip`.
    pub fn http(username: &str, user_id: Option<&str>, client_ip: &str) -> Self {
        Self {
            username: username.to_string(),
            user_id: user_id.map(str::to_string),
            client_ip: client_ip.to_string(),
            origin: ORIGIN_HTTP.to_string(),
        }
    }

    /// The server itself.
    pub fn system() -> Self {
        Self {
            username: String::new(),
            user_id: None,
            client_ip: String::new(),
            origin: ORIGIN_SYSTEM.to_string(),
        }
    }
}

impl Event {
    /// A new event by `actor` at `now` (no application, no brand: set them after when known).
    pub fn by(actor: &Actor, action: &str, context: Value, now: Timestamp) -> Self {
        Self {
            id: new_id(),
            action: action.to_string(),
            username: actor.username.clone(),
            user_id: actor.user_id.clone(),
            app: String::new(),
            client_ip: actor.client_ip.clone(),
            origin: actor.origin.clone(),
            context,
            brand: String::new(),
            created_at: now,
        }
    }
}
