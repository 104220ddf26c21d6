-- authentik's StaticToken: SQLite's 0033_static_tokens.sql says what each column means. A code
-- (stored as its SHA-256 digest) is used by deleting its row, so it works once.
CREATE TABLE static_tokens (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    device_id TEXT COLLATE "C" NOT NULL REFERENCES authenticator_devices(id) ON DELETE CASCADE,
    token_digest TEXT COLLATE "C" NOT NULL,
    UNIQUE (device_id, token_digest)
);
CREATE INDEX tokens_user ON tokens(user_id);
CREATE INDEX consents_user ON consents(user_id);
