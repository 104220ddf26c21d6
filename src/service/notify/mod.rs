//! The notifier (authentik's `event_trigger_handler` and `notification_transport` tasks): a
//! task in every serving process that claims the events no notifier has looked at yet
//! (`store::notifications::claim_new_events`, once across instances), evaluates each rule's
//! bound policies with the event in the request context (`context["event"]`; any enabled
//! binding passing is enough, none matches nothing), records a notification for every
//! recipient and queues one delivery per transport and recipient (the first recipient only for
//! a `send_once` transport; none for `local`). Due deliveries are claimed with a lease, sent
//! ([`deliver`]), and retried with exponential backoff; after the last attempt the delivery is
//! dropped and a `system_task_exception` event names the transport, the attempts and the
//! error (an HTTP status, never the URL).

mod deliver;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::inspect::flow_error;
use super::{Service, ServiceResult};
use crate::context::EventSubject;
use crate::domain::actor::ORIGIN_SYSTEM;
use crate::domain::notifications::event_summary;
use crate::domain::{
    Event, Notification, NotificationRule, NotificationTransport, PolicyEngineMode, TransportMode,
    new_id,
};
use crate::flows::FlowContext;
use crate::flows::env::Env;
use crate::flows::policy::event_matcher::EVENT_KEY;
use crate::flows::policy::{PolicyRequest, evaluate_target_or};
use crate::store::{self, Topic, notifications as queue};

pub use deliver::DeliveryError;

/// The event a failed delivery is reported with when it is given up (authentik's task
/// failure event).
pub const DELIVERY_FAILED: &str = "system_task_exception";

/// The context key that marks an event as a delivery failure, so a rule matching it does not
/// send through the transport that failed again (no loop of failures).
pub const FAILED_TRANSPORT_KEY: &str = "notification_transport";

/// How the notifier paces itself; the tests shorten the delays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotifierSettings {
    /// How often new events and due deliveries are looked for.
    pub poll_interval: Duration,
    /// Events (and deliveries) taken per round.
    pub batch: i64,
    /// Attempts per delivery before it is given up.
    pub max_attempts: i64,
    /// The delay after the first failed attempt; each further failure doubles it.
    pub backoff_base: Duration,
    /// The longest delay between attempts.
    pub backoff_max: Duration,
    /// A webhook's connection must be up within this.
    pub connect_timeout: Duration,
    /// A webhook's whole request must be answered within this.
    pub total_timeout: Duration,
}

impl Default for NotifierSettings {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            batch: 100,
            max_attempts: 5,
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(3600),
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(15),
        }
    }
}

impl NotifierSettings {
    /// The delay after `failures` failed attempts (1 → the base, doubling, capped).
    pub fn backoff(&self, failures: i64) -> Duration {
        let exp = failures.saturating_sub(1).clamp(0, 30) as u32;
        self.backoff_base
            .saturating_mul(1u32 << exp)
            .min(self.backoff_max)
    }

    /// How long a claimed delivery is not handed to another notifier: one whole attempt and
    /// some.
    fn lease(&self) -> Duration {
        self.connect_timeout + self.total_timeout + Duration::from_secs(5)
    }
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NotifyRound {
    /// Events claimed and evaluated.
    pub events: usize,
    /// Notifications recorded.
    pub notifications: usize,
    /// Deliveries sent.
    pub delivered: usize,
    /// Deliveries that failed and wait for another attempt.
    pub retried: usize,
    /// Deliveries given up (each reported by an event).
    pub given_up: usize,
}

/// The notifier of one serving process.
#[derive(Clone)]
pub struct Notifier {
    service: Service,
    settings: NotifierSettings,
    client: reqwest::Client,
}

/// Now in unix milliseconds (the delivery schedule's unit: retries are often sub-second in
/// tests and seconds in production).
fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as i64 / 1_000_000
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Notifier {
    /// A notifier over `service` with its own HTTP client (no redirects followed: a webhook
    /// answers itself).
    pub fn new(service: Service, settings: NotifierSettings) -> Result<Self, DeliveryError> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.total_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| DeliveryError::Client(e.without_url().to_string()))?;
        Ok(Self {
            service,
            settings,
            client,
        })
    }

    /// Runs [`Notifier::round`] every `poll_interval` until `cancel` fires; a failed round is
    /// logged and retried at the next tick.
    pub fn spawn(self, cancel: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(self.settings.poll_interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tick.tick() => {}
                }
                match self.round().await {
                    Ok(r) if r.delivered + r.given_up + r.notifications > 0 => tracing::info!(
                        events = r.events,
                        notifications = r.notifications,
                        delivered = r.delivered,
                        retried = r.retried,
                        given_up = r.given_up,
                        "notifications"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "notifier round failed; retrying later"),
                }
            }
        })
    }

    /// One round: new events evaluated against the rules, then the due deliveries attempted.
    pub async fn round(&self) -> ServiceResult<NotifyRound> {
        let mut round = NotifyRound::default();
        let events = {
            let mut tx = self.service.store().write_tx().await?;
            let events = queue::claim_new_events(tx.conn(), self.settings.batch).await?;
            tx.commit().await?;
            events
        };
        if !events.is_empty() {
            let (rules, transports) = {
                let mut conn = self.service.store().read().await?;
                (
                    queue::list_rules(&mut conn).await?,
                    queue::list_transports(&mut conn).await?,
                )
            };
            for event in &events {
                round.notifications += self.dispatch(event, &rules, &transports).await?;
            }
            round.events = events.len();
        }
        self.deliver_due(&mut round).await?;
        Ok(round)
    }

    /// Evaluates every rule for one event and records what matched; returns how many
    /// notifications were recorded.
    async fn dispatch(
        &self,
        event: &Event,
        rules: &[NotificationRule],
        transports: &[NotificationTransport],
    ) -> ServiceResult<usize> {
        if rules.is_empty() {
            return Ok(0);
        }
        let event_json = self.event_json(event).await?;
        // One request for every rule: the event's user (if they exist) and the event itself.
        let env = Env::new(self.service.context(), &event.client_ip, None);
        let mut context = FlowContext {
            client_ip: event.client_ip.clone(),
            ..FlowContext::default()
        };
        context.extra.insert(EVENT_KEY.into(), event_json.clone());
        let req = PolicyRequest::load(&env, event.user_id.as_deref(), &context)
            .await
            .map_err(flow_error)?;
        let mut recorded = 0;
        for rule in rules {
            if !rule_matches(&env, &req, rule).await? {
                continue;
            }
            recorded += self.record(rule, event, &event_json, transports).await?;
        }
        Ok(recorded)
    }

    /// The event as policies see it (authentik's `Event` fields; the user with their email).
    async fn event_json(&self, event: &Event) -> ServiceResult<Value> {
        let email = match &event.user_id {
            Some(id) => {
                let mut conn = self.service.store().read().await?;
                store::users::get(&mut conn, id).await?.map(|u| u.email)
            }
            None => None,
        };
        let user = match &event.user_id {
            Some(id) => json!({"pk": id, "username": event.username, "email": email}),
            None if !event.username.is_empty() => json!({"username": event.username}),
            None => json!({}),
        };
        Ok(json!({
            "pk": event.id, "action": event.action, "app": event.app,
            "client_ip": event.client_ip, "context": event.context, "user": user,
            "created": event.created_at, "origin": event.origin,
        }))
    }

    /// Records the rule's notifications and queues their deliveries in one write.
    async fn record(
        &self,
        rule: &NotificationRule,
        event: &Event,
        event_json: &Value,
        transports: &[NotificationTransport],
    ) -> ServiceResult<usize> {
        let now = self.service.now();
        let mut tx = self.service.store().write_tx().await?;
        let mut recipients = BTreeSet::new();
        let mut ordered = Vec::new();
        if rule.destination_event_user
            && let Some(id) = &event.user_id
            && store::users::get(tx.conn(), id).await?.is_some()
            && recipients.insert(id.clone())
        {
            ordered.push(id.clone());
        }
        if let Some(group) = &rule.destination_group_id {
            for id in store::groups::member_ids(tx.conn(), group).await? {
                if recipients.insert(id.clone()) {
                    ordered.push(id);
                }
            }
        }
        let failed_transport = event
            .context
            .get(FAILED_TRANSPORT_KEY)
            .and_then(Value::as_str);
        let body = event_summary(&event.action, &event.context);
        let due = now_ms();
        for (i, user_id) in ordered.iter().enumerate() {
            let notification = Notification {
                id: new_id(),
                user_id: user_id.clone(),
                rule_id: Some(rule.id.clone()),
                severity: rule.severity,
                body: body.clone(),
                event_id: Some(event.id.clone()),
                event: event_json.clone(),
                seen: false,
                created_at: now,
            };
            queue::insert_notification(tx.conn(), &notification).await?;
            for transport in transports
                .iter()
                .filter(|t| rule.transport_ids.contains(&t.id))
                .filter(|t| t.mode != TransportMode::Local)
                .filter(|t| !t.send_once || i == 0)
                .filter(|t| failed_transport != Some(t.name.as_str()))
            {
                queue::enqueue(
                    tx.conn(),
                    &new_id(),
                    &transport.id,
                    &notification.id,
                    due,
                    now,
                )
                .await?;
            }
        }
        tx.touch(Topic::Events);
        tx.commit().await?;
        Ok(ordered.len())
    }

    /// Claims the due deliveries and attempts each once.
    async fn deliver_due(&self, round: &mut NotifyRound) -> ServiceResult<()> {
        let now = now_ms();
        let claimed = {
            let mut tx = self.service.store().write_tx().await?;
            let claimed = queue::claim_due(
                tx.conn(),
                now,
                now + millis(self.settings.lease()),
                self.settings.batch,
            )
            .await?;
            tx.commit().await?;
            claimed
        };
        for delivery in claimed {
            self.attempt(&delivery, round).await?;
        }
        Ok(())
    }

    async fn attempt(&self, d: &queue::Delivery, round: &mut NotifyRound) -> ServiceResult<()> {
        let loaded = {
            let mut conn = self.service.store().read().await?;
            let transport = queue::get_transport(&mut conn, &d.transport_id).await?;
            let notification = queue::get_notification(&mut conn, &d.notification_id).await?;
            let user = match &notification {
                Some(n) => store::users::get(&mut conn, &n.user_id).await?,
                None => None,
            };
            transport.zip(notification).zip(user)
        };
        let Some(((transport, notification), user)) = loaded else {
            // What it would send is gone (authentik's task returns silently too).
            let mut tx = self.service.store().write_tx().await?;
            queue::remove_delivery(tx.conn(), &d.id).await?;
            return Ok(tx.commit().await?);
        };
        let smtp = self.service.context().config().smtp.as_ref();
        let outcome = deliver::send(&self.client, smtp, &transport, &notification, &user).await;
        let mut tx = self.service.store().write_tx().await?;
        let failure = match outcome {
            Ok(()) => {
                queue::remove_delivery(tx.conn(), &d.id).await?;
                tx.commit().await?;
                round.delivered += 1;
                return Ok(());
            }
            Err(e) => e,
        };
        let attempts = d.attempts + 1;
        let error = failure.to_string();
        tracing::warn!(transport = %transport.name, attempts, error = %error, "notification delivery failed");
        if attempts < self.settings.max_attempts {
            let next = now_ms() + millis(self.settings.backoff(attempts));
            queue::reschedule(tx.conn(), &d.id, attempts, next, &error).await?;
            tx.commit().await?;
            round.retried += 1;
            return Ok(());
        }
        queue::remove_delivery(tx.conn(), &d.id).await?;
        tx.commit().await?;
        round.given_up += 1;
        let context = json!({
            "message": format!(
                "Task notification_transport encountered an error: transport {} gave up \
                 after {attempts} attempts: {error}",
                transport.name
            ),
            FAILED_TRANSPORT_KEY: transport.name,
            "mode": transport.mode,
            "attempts": attempts,
            "status": failure.status(),
            "notification": notification.id,
            "event": notification.event_id,
        });
        let subject = EventSubject {
            app: "latchkey.notify".into(),
            origin: ORIGIN_SYSTEM.into(),
            ..EventSubject::default()
        };
        self.service
            .context()
            .record_event(DELIVERY_FAILED, subject, context)
            .await?;
        Ok(())
    }
}

impl Service {
    /// Starts this process's notifier (see [`Notifier`]).
    pub fn spawn_notifier(
        &self,
        settings: NotifierSettings,
        cancel: CancellationToken,
    ) -> Result<tokio::task::JoinHandle<()>, DeliveryError> {
        Ok(Notifier::new(self.clone(), settings)?.spawn(cancel))
    }

    /// The notifications `user_id` received, newest first.
    pub async fn user_notifications(&self, user_id: &str) -> ServiceResult<Vec<Notification>> {
        let mut conn = self.store().read().await?;
        Ok(queue::of_user(&mut conn, user_id).await?)
    }

    /// Every notification, newest first (the console's snapshot).
    pub async fn all_notifications(&self) -> ServiceResult<Vec<Notification>> {
        let mut conn = self.store().read().await?;
        Ok(queue::all(&mut conn).await?)
    }
}

/// authentik's engine for a rule: mode any, no bindings match nothing, no cache, the event's
/// request (its user, if they exist, and the event in the context) as `req`.
async fn rule_matches(
    env: &Env,
    req: &PolicyRequest,
    rule: &NotificationRule,
) -> ServiceResult<bool> {
    let result = evaluate_target_or(env, &rule.id, PolicyEngineMode::Any, false, req)
        .await
        .map_err(flow_error)?;
    Ok(result.passing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_cap() {
        let s = NotifierSettings {
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_millis(500),
            ..NotifierSettings::default()
        };
        assert_eq!(s.backoff(1), Duration::from_millis(100));
        assert_eq!(s.backoff(2), Duration::from_millis(200));
        assert_eq!(s.backoff(3), Duration::from_millis(400));
        assert_eq!(s.backoff(4), Duration::from_millis(500));
        assert_eq!(s.backoff(60), Duration::from_millis(500));
    }
}
