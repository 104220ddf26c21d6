-- A login stamps users.last_login. That is activity, not configuration: it must not bump
-- meta.config_version, or every login would make the server rebuild its OAuth snapshot (and
-- re-parse its signing keys) and the console reload at once. The login's event still bumps
-- events_version, so the console shows the new last-login time at its next activity reload.
DROP TRIGGER users_update_config;
CREATE TRIGGER users_update_config
AFTER UPDATE OF id, username, name, email, password_hash, password_changed_at, is_active,
                user_type, path, attributes, created_at, updated_at, version ON users
BEGIN
    UPDATE meta SET config_version = config_version + 1 WHERE id = 1;
END;
