-- authentik's users and groups have integer keys (`pk` of a user, `num_pk` of a group) that the
-- Agent's NSS directory turns into uid/gid numbers (plus the connector's offsets), so they must
-- never change. latchkey's ids are UUIDs: each user and group gets a stable number beside it,
-- the existing ones in their insertion order, new ones the next free number (issue 17).
ALTER TABLE users ADD COLUMN num_pk INTEGER;
UPDATE users SET num_pk = rowid;
CREATE UNIQUE INDEX users_num_pk ON users(num_pk);
CREATE TRIGGER users_number AFTER INSERT ON users WHEN NEW.num_pk IS NULL
BEGIN
    UPDATE users SET num_pk = (SELECT COALESCE(MAX(num_pk), 0) + 1 FROM users)
    WHERE id = NEW.id;
END;

ALTER TABLE groups ADD COLUMN num_pk INTEGER;
UPDATE groups SET num_pk = rowid;
CREATE UNIQUE INDEX groups_num_pk ON groups(num_pk);
CREATE TRIGGER groups_number AFTER INSERT ON groups WHEN NEW.num_pk IS NULL
BEGIN
    UPDATE groups SET num_pk = (SELECT COALESCE(MAX(num_pk), 0) + 1 FROM groups)
    WHERE id = NEW.id;
END;
