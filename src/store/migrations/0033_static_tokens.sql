-- authentik's StaticToken: the recovery codes of one static authenticator device
-- (authenticator_devices.kind = 'static'), each stored as the SHA-256 digest of the code, never
-- the code. A code is used by deleting its row with one conditional DELETE, so it works once.
-- The admin's account care lists a user's tokens and consents by user.
CREATE TABLE static_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    device_id TEXT NOT NULL REFERENCES authenticator_devices(id) ON DELETE CASCADE,
    token_digest TEXT NOT NULL,
    UNIQUE (device_id, token_digest)
);
CREATE INDEX tokens_user ON tokens(user_id);
CREATE INDEX consents_user ON consents(user_id);
