-- The request throttles' token buckets (device authorization, user-code entry, the Agent's API),
-- one row per namespaced key (`device_auth:ip:1.2.3.4`; a key that would hold a secret holds its
-- digest), so every process on the store spends one budget. A missing row is a full bucket.
--
-- tokens      what is left, in thousandths of a try (integers, so both engines compute alike).
-- updated_at  unix seconds of the last take; the refill since then is computed at the next one.
-- expires_at  by then the bucket is full again, so the maintenance sweep may delete the row.
CREATE TABLE throttle_buckets (
    key TEXT PRIMARY KEY NOT NULL,
    tokens INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX throttle_buckets_expires ON throttle_buckets(expires_at);
