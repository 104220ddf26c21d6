-- authentik's notifications (issue 20): transports, rules (policy binding targets), the
-- notifications users received, the queue of deliveries, and which events the notifier has
-- looked at.
--
-- notification_transports  authentik's NotificationTransport: mode local | webhook |
--                          webhook_slack | email, the webhook URL, send_once.
-- notification_rules       authentik's NotificationRule: severity, the group that receives it,
--                          whether the event's own user does; its policies are rows of
--                          policy_bindings with target_id = the rule's id.
-- notification_rule_transports  the rule's transports (authentik's M2M `transports`).
-- notifications            one per user and matched event: severity, body (the event's
--                          summary), the event's id and a copy of it (events expire), seen.
-- notification_deliveries  one per transport and notification still to be sent: attempts so
--                          far, when the next is due (unix milliseconds; a claim moves it to the
--                          claim's lease end), the last error (no URL, no credentials).
-- events.notified          0 until a notifier claimed the event (a conditional UPDATE, so
--                          exactly one instance evaluates the rules for it); the events recorded
--                          before this migration are marked done.
CREATE TABLE notification_transports (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    mode TEXT NOT NULL DEFAULT 'local',
    webhook_url TEXT NOT NULL DEFAULT '',
    send_once INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE notification_rules (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    severity TEXT NOT NULL DEFAULT 'notice',
    destination_group_id TEXT REFERENCES groups(id) ON DELETE SET NULL,
    destination_event_user INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE notification_rule_transports (
    rule_id TEXT NOT NULL REFERENCES notification_rules(id) ON DELETE CASCADE,
    transport_id TEXT NOT NULL REFERENCES notification_transports(id) ON DELETE CASCADE,
    PRIMARY KEY (rule_id, transport_id)
);

CREATE TABLE notifications (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    rule_id TEXT,
    severity TEXT NOT NULL DEFAULT 'notice',
    body TEXT NOT NULL DEFAULT '',
    event_id TEXT,
    event TEXT NOT NULL DEFAULT '{}',
    seen INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX notifications_user ON notifications(user_id, created_at);

CREATE TABLE notification_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    transport_id TEXT NOT NULL REFERENCES notification_transports(id) ON DELETE CASCADE,
    notification_id TEXT NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX notification_deliveries_due ON notification_deliveries(next_attempt_ms);

ALTER TABLE events ADD COLUMN notified INTEGER NOT NULL DEFAULT 0;
UPDATE events SET notified = 1;
CREATE INDEX events_unnotified ON events(created_at) WHERE notified = 0;
