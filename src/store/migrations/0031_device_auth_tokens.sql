-- authentik's DeviceAuthenticationToken (issue 17, the Agent's interactive sign-in): the Agent
-- asks for one with its device token (`auth_ia/`) and opens the URL it names in a browser.
--
-- identifier_digest  SHA-256 of the random identifier in that URL (it is the secret the URL
--                    carries; the identifier itself is never stored).
-- device_token_id    the device token that asked: the page also needs that token's digest in
--                    `X-Authentik-Platform-Auth-DTH`; a re-enrollment (which replaces the
--                    token) deletes the pending sign-ins with it.
-- expires_at         a sign-in not finished by then is refused.
-- used_at            set once, when the JWT is issued: the identifier cannot be used again.
-- issued_digest      SHA-256 of the JWT issued (authentik keeps the token; latchkey its digest).
CREATE TABLE device_auth_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    identifier_digest TEXT NOT NULL UNIQUE,
    device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    connector_id TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    device_token_id TEXT NOT NULL REFERENCES device_tokens(id) ON DELETE CASCADE,
    login_hint TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER,
    issued_digest TEXT
);
CREATE INDEX device_auth_tokens_expiry ON device_auth_tokens(expires_at);
