-- authentik's FlowToken: SQLite's 0035_flow_tokens.sql says what each column means. A paused
-- flow plan that a link resumes once; only the key's digest is stored.
CREATE TABLE flow_tokens (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    key_digest TEXT COLLATE "C" NOT NULL UNIQUE,
    flow_id TEXT COLLATE "C" NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose TEXT COLLATE "C" NOT NULL,
    plan TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX flow_tokens_expires ON flow_tokens(expires_at);
