-- Flow execution support: per-user throttling of one-time-code attempts (race-free counters).
CREATE TABLE otp_throttle (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    failures INTEGER NOT NULL DEFAULT 0,
    window_start INTEGER NOT NULL
);
CREATE INDEX reputation_identifier ON reputation(identifier);
