-- The audit trail's filters (store/events.rs `query`, `after`): each exact criterion walks its
-- own (column, created_at) index newest first and stops at the limit, instead of every event.
-- (action, created_at) also answers what events_action did.
DROP INDEX IF EXISTS events_action;
CREATE INDEX events_action_created ON events(action, created_at);
CREATE INDEX events_username_created ON events(username, created_at);
CREATE INDEX events_app_created ON events(app, created_at);
CREATE INDEX events_client_ip_created ON events(client_ip, created_at);
