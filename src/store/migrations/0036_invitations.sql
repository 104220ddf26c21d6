-- authentik's Invitation (issue 19): a link that lets someone through an enrollment flow's
-- invitation stage, with data fixed for the user it creates.
--
-- token_digest  SHA-256 of the random token in the link (`?itoken=`); the token itself is shown
--               once when the invitation is made and never stored.
-- flow_id       when set, only that flow accepts the invitation (authentik's `flow`).
-- fixed_data    JSON object merged over what the user types (authentik's `fixed_data`).
-- single_use    consumed in the same transaction that writes the enrolled user.
-- expires_at    unix seconds; NULL never expires (authentik's `expiring` false).
-- created_by    who made it (a username, or "cli"/"console" with the OS user), for the audit.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    token_digest TEXT NOT NULL UNIQUE,
    flow_id TEXT REFERENCES flows(id) ON DELETE CASCADE,
    fixed_data TEXT NOT NULL DEFAULT '{}',
    single_use INTEGER NOT NULL DEFAULT 1,
    expires_at INTEGER,
    created_by TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX invitations_expiry ON invitations(expires_at);
