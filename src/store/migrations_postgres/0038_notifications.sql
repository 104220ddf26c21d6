-- authentik's notifications: SQLite's 0038_notifications.sql says what each table and column
-- means.
CREATE TABLE notification_transports (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    mode TEXT COLLATE "C" NOT NULL DEFAULT 'local',
    webhook_url TEXT COLLATE "C" NOT NULL DEFAULT '',
    send_once BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE notification_rules (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    severity TEXT COLLATE "C" NOT NULL DEFAULT 'notice',
    destination_group_id TEXT COLLATE "C" REFERENCES groups(id) ON DELETE SET NULL,
    destination_event_user BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE notification_rule_transports (
    rule_id TEXT COLLATE "C" NOT NULL REFERENCES notification_rules(id) ON DELETE CASCADE,
    transport_id TEXT COLLATE "C" NOT NULL
        REFERENCES notification_transports(id) ON DELETE CASCADE,
    PRIMARY KEY (rule_id, transport_id)
);

CREATE TABLE notifications (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    rule_id TEXT COLLATE "C",
    severity TEXT COLLATE "C" NOT NULL DEFAULT 'notice',
    body TEXT COLLATE "C" NOT NULL DEFAULT '',
    event_id TEXT COLLATE "C",
    event TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    seen BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX notifications_user ON notifications(user_id, created_at);

CREATE TABLE notification_deliveries (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    transport_id TEXT COLLATE "C" NOT NULL
        REFERENCES notification_transports(id) ON DELETE CASCADE,
    notification_id TEXT COLLATE "C" NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    last_error TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX notification_deliveries_due ON notification_deliveries(next_attempt_ms);

ALTER TABLE events ADD COLUMN notified BIGINT NOT NULL DEFAULT 0;
UPDATE events SET notified = 1;
CREATE INDEX events_unnotified ON events(created_at) WHERE notified = 0;
