-- device_answer_keys: what verifies a device's signed answer to the endpoint stage's challenge
-- (issue 17). ak-sysd signs its answer with HMAC-SHA512 keyed by its device token; HMAC hashes a
-- key longer than SHA-512's 128-byte block with SHA-512 first, so that digest verifies the answer
-- while the token itself is never stored (device_tokens keeps only its SHA-256 digest, which the
-- Agent's API compares). One per device token, gone with it.
CREATE TABLE device_answer_keys (
    token_id TEXT PRIMARY KEY NOT NULL REFERENCES device_tokens(id) ON DELETE CASCADE,
    hmac_key TEXT NOT NULL
);
