-- When each authenticator device last passed a validation (unix seconds; NULL: never since this
-- column exists). Authenticator validation's `last_auth_threshold` skips the stage for a user
-- whose allowed device was used within the threshold.
ALTER TABLE authenticator_devices ADD COLUMN last_used_at BIGINT;
