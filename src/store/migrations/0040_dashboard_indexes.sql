-- The dashboard counts rows per time bucket (store/stats.rs) by index ranges, never by reading
-- the rows: one action's events over a time range, one application's authorizations over a
-- time range, users by creation time, access tokens by issue time. (One action's events over
-- a time range walk 0039's events_action_created.)
CREATE INDEX events_action_app_created ON events(action, app, created_at);
CREATE INDEX users_created ON users(created_at);
CREATE INDEX access_tokens_created ON access_tokens(created_at);
