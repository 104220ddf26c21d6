-- Keys a provider signed with before its signing key changed. JWKS keeps publishing them for the
-- longest token lifetime, so tokens issued just before a rotation still verify. A trigger records
-- the retirement, so every writer (console, blueprints, sqlite3) gets it.
CREATE TABLE provider_retired_keys (
    provider_id TEXT NOT NULL REFERENCES providers(id) ON DELETE CASCADE,
    keypair_id TEXT NOT NULL REFERENCES certificate_keypairs(id) ON DELETE CASCADE,
    retired_at INTEGER NOT NULL,
    PRIMARY KEY (provider_id, keypair_id)
);

CREATE TRIGGER providers_retire_signing_key AFTER UPDATE OF signing_key_id ON providers
WHEN OLD.signing_key_id IS NOT NULL
     AND (NEW.signing_key_id IS NULL OR NEW.signing_key_id <> OLD.signing_key_id)
BEGIN
    INSERT OR REPLACE INTO provider_retired_keys (provider_id, keypair_id, retired_at)
    VALUES (OLD.id, OLD.signing_key_id, unixepoch());
END;

-- A key that becomes current again is no longer retired.
CREATE TRIGGER providers_unretire_signing_key AFTER UPDATE OF signing_key_id ON providers
WHEN NEW.signing_key_id IS NOT NULL
BEGIN
    DELETE FROM provider_retired_keys WHERE provider_id = NEW.id AND keypair_id = NEW.signing_key_id;
END;
