//! Recording audit events (authentik's action names) in their own short transaction.

use serde_json::Value;

use super::Context;
use crate::domain::actor::ORIGIN_HTTP;
use crate::domain::{Event, new_id};
use crate::store::{StoreResult, Topic, events};

/// Who and where an event is about.
#[derive(Debug, Clone, Default)]
pub struct EventSubject {
    pub username: String,
    pub user_id: Option<String>,
    pub client_ip: String,
    pub app: String,
    /// Where it came from ([`crate::domain::Actor::origin`]); empty means "http", which is
    /// where the protocol layers' events come from.
    pub origin: String,
}

impl Context {
    /// Records an event in its own short transaction and notifies the console. A subject
    /// named only by its user id gets its username looked up, so the events list shows who
    /// (an `authorize_application` knows the user's id, not the name).
    pub async fn record_event(
        &self,
        action: &str,
        subject: EventSubject,
        context: Value,
    ) -> StoreResult<()> {
        let event = Event {
            id: new_id(),
            action: action.to_string(),
            username: subject.username,
            user_id: subject.user_id,
            app: subject.app,
            client_ip: subject.client_ip,
            origin: if subject.origin.is_empty() {
                ORIGIN_HTTP.to_string()
            } else {
                subject.origin
            },
            context,
            brand: String::new(),
            created_at: self.now(),
        };
        self.insert_event(event).await
    }

    /// Records a built event in its own short transaction and notifies the console (the
    /// username looked up when only the user id is known).
    pub async fn insert_event(&self, mut event: Event) -> StoreResult<()> {
        let mut tx = self.store().write_tx().await?;
        if event.username.is_empty()
            && let Some(id) = &event.user_id
            && let Some(user) = crate::store::users::get(tx.conn(), id).await?
        {
            event.username = user.username;
        }
        events::insert(tx.conn(), &event).await?;
        tx.touch(Topic::Events);
        tx.commit().await
    }
}

/// How long one configuration problem stays reported before it is recorded again: a broken
/// scope mapping on the token endpoint must not write an event per request.
pub const CONFIGURATION_ERROR_EVERY: i64 = 60;

impl Context {
    /// Records authentik's `configuration_error` (`key` names the problem, e.g. the mapping;
    /// `context` says what failed and never holds a secret) without waiting for the write, at
    /// most once per [`CONFIGURATION_ERROR_EVERY`] per key in this process. For the paths that
    /// must not wait on the store (the token endpoint).
    pub fn report_configuration_error(&self, key: &str, context: Value) {
        let now = self.now();
        {
            let Ok(mut seen) = self.reported.lock() else {
                return;
            };
            if seen
                .get(key)
                .is_some_and(|at| now - at < CONFIGURATION_ERROR_EVERY)
            {
                return;
            }
            seen.insert(key.to_string(), now);
        }
        let ctx = self.clone();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            let subject = EventSubject {
                origin: crate::domain::actor::ORIGIN_SYSTEM.to_string(),
                ..EventSubject::default()
            };
            if let Err(e) = ctx
                .record_event(CONFIGURATION_ERROR, subject, context)
                .await
            {
                tracing::warn!(error = %e, "cannot record configuration_error");
            }
        });
    }
}

/// authentik's action for a configuration that cannot work (a failing mapping, a provider
/// without a usable key, mail that cannot be sent).
pub const CONFIGURATION_ERROR: &str = "configuration_error";
