-- The request throttles' token buckets: SQLite's 0032_throttle_buckets.sql says what each column
-- means. One row per namespaced key; a missing row is a full bucket.
CREATE TABLE throttle_buckets (
    key TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    tokens BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX throttle_buckets_expires ON throttle_buckets(expires_at);
