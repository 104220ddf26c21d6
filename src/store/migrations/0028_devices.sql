-- authentik's endpoint devices (issue 17), replacing the unused `endpoint_devices` table of
-- 0001 (no code ever wrote it; its one-row-per-device shape kept the token and the facts on the
-- device, where authentik keeps them on the device's connection to a connector).
--
-- devices                     authentik's Device: identifier (the serial) is unique.
-- device_connections          authentik's AgentDeviceConnection: one device through one connector.
-- device_fact_snapshots       authentik's DeviceFactSnapshot: the facts a check-in reported, as
--                             JSON, expiring after the connector's snapshot_expiry.
-- device_tokens               authentik's DeviceToken: the Agent's key for one connection, only
--                             as its SHA-256 digest; never expires (replaced at re-enrollment).
DROP TABLE endpoint_devices;

CREATE TABLE devices (
    id TEXT PRIMARY KEY NOT NULL,
    identifier TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    access_group_id TEXT REFERENCES device_access_groups(id) ON DELETE SET NULL,
    expiring INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER,
    attributes TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX devices_name ON devices(name);

CREATE TABLE device_connections (
    id TEXT PRIMARY KEY NOT NULL,
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    connector_id TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    UNIQUE (device_id, connector_id)
);
CREATE INDEX device_connections_connector ON device_connections(connector_id);

CREATE TABLE device_fact_snapshots (
    id TEXT PRIMARY KEY NOT NULL,
    connection_id TEXT NOT NULL REFERENCES device_connections(id) ON DELETE CASCADE,
    data TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    expires_at INTEGER
);
CREATE INDEX device_fact_snapshots_latest ON device_fact_snapshots(connection_id, created_at);
CREATE INDEX device_fact_snapshots_expiry ON device_fact_snapshots(expires_at);

CREATE TABLE device_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    connection_id TEXT NOT NULL UNIQUE REFERENCES device_connections(id) ON DELETE CASCADE,
    key_digest TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- Devices change with every check-in: a counter of their own, so another process (the console)
-- notices within a second without every check-in invalidating the server's configuration.
ALTER TABLE meta ADD COLUMN devices_version INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER devices_insert_devices AFTER INSERT ON devices BEGIN UPDATE meta SET devices_version = devices_version + 1 WHERE id = 1; END;
CREATE TRIGGER devices_update_devices AFTER UPDATE ON devices BEGIN UPDATE meta SET devices_version = devices_version + 1 WHERE id = 1; END;
CREATE TRIGGER devices_delete_devices AFTER DELETE ON devices BEGIN UPDATE meta SET devices_version = devices_version + 1 WHERE id = 1; END;
CREATE TRIGGER device_connections_insert_devices AFTER INSERT ON device_connections BEGIN UPDATE meta SET devices_version = devices_version + 1 WHERE id = 1; END;
CREATE TRIGGER device_connections_delete_devices AFTER DELETE ON device_connections BEGIN UPDATE meta SET devices_version = devices_version + 1 WHERE id = 1; END;
CREATE TRIGGER device_fact_snapshots_insert_devices AFTER INSERT ON device_fact_snapshots BEGIN UPDATE meta SET devices_version = devices_version + 1 WHERE id = 1; END;
