-- Failed sign-ins counted per (client IP, username), per client IP and per username, so guessing
-- is slowed and then refused for a while; shared by every process on the store.
CREATE TABLE login_failures (
    key TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    locked_until INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL
);
CREATE INDEX login_failures_expires ON login_failures(expires_at);
