-- WebAuthn credentials live in authenticator_devices (kind 'webauthn'), so everything that lists,
-- counts or deletes a user's authenticators sees them: `secret` holds the verified credential
-- (webauthn-rs-core's JSON: public key, counter, flags; nothing secret), and two new columns.
--
-- credential_id  the credential id, base64url without padding; unique across all users (a
--                credential registered twice is refused, and sign-in finds its device by it).
--                NULL for other kinds (NULLs never collide in a unique index, on either engine).
-- sign_count     the authenticator's signature counter at the last use; a use whose counter does
--                not move past it is refused as a possible clone (the UPDATE is conditional).
ALTER TABLE authenticator_devices ADD COLUMN credential_id TEXT COLLATE "C";
ALTER TABLE authenticator_devices ADD COLUMN sign_count BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX authenticator_devices_credential ON authenticator_devices(credential_id);
