-- The maintenance task deletes what has expired in small batches; these indexes let each batch
-- find its rows without scanning the table.
CREATE INDEX access_tokens_expires ON access_tokens(expires_at);
CREATE INDEX refresh_tokens_expires ON refresh_tokens(expires_at);
CREATE INDEX authorization_codes_expires ON authorization_codes(expires_at);
CREATE INDEX device_codes_expires ON device_codes(expires_at);
CREATE INDEX sessions_expires ON sessions(expires_at);
CREATE INDEX sessions_idle_expires ON sessions(idle_expires_at);
CREATE INDEX events_expires ON events(expires_at);
CREATE INDEX reputation_expires ON reputation(expires_at);
-- Anonymous sessions (no user yet) are capped per client IP and in all: this index finds them.
CREATE INDEX sessions_anonymous ON sessions(client_ip, created_at) WHERE user_id IS NULL;
