-- authentik's Invitation: SQLite's 0036_invitations.sql says what each column means.
CREATE TABLE invitations (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    token_digest TEXT COLLATE "C" NOT NULL UNIQUE,
    flow_id TEXT COLLATE "C" REFERENCES flows(id) ON DELETE CASCADE,
    fixed_data TEXT NOT NULL DEFAULT '{}',
    single_use BOOLEAN NOT NULL DEFAULT TRUE,
    expires_at BIGINT,
    created_by TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX invitations_expiry ON invitations(expires_at);
