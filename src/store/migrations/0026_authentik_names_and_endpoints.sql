-- The certificate bootstrap generates is named as authentik names its own from issue 16 on, so
-- authentik blueprints that `!Find` it by name (the platform's cli.yaml and agent.yaml) apply
-- unchanged. A store bootstrapped earlier has latchkey's former name; it is renamed unless an
-- object already holds the new name (then both stay, and blueprints still find the old one by
-- its old name).
UPDATE certificate_keypairs
SET name = 'authentik Self-signed Certificate', version = version + 1
WHERE name = 'latchkey Self-signed Certificate'
  AND NOT EXISTS (
      SELECT 1 FROM certificate_keypairs WHERE name = 'authentik Self-signed Certificate'
  );

-- authentik's endpoint objects beside the connector (issue 16; used end to end by issue 17):
-- device access groups, which policy bindings target, and the enrollment tokens' missing
-- columns (the group a device joins, whether the token expires, optimistic versions). The key
-- is only ever stored as its SHA-256 digest.
CREATE TABLE device_access_groups (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    attributes TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

ALTER TABLE enrollment_tokens
    ADD COLUMN device_group_id TEXT REFERENCES device_access_groups(id) ON DELETE SET NULL;
ALTER TABLE enrollment_tokens ADD COLUMN expiring INTEGER NOT NULL DEFAULT 1;
ALTER TABLE enrollment_tokens ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE enrollment_tokens ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
UPDATE enrollment_tokens SET updated_at = created_at;
