-- authentik's FlowToken (issue 19, email and self-service recovery): a paused flow plan that a
-- link resumes, once. The email stage stores one when it sends its link; "create recovery link"
-- stores one for the brand's recovery flow with the user as the pending user.
--
-- key_digest  SHA-256 of the random key the link's `?flow_token=` carries (never stored raw).
-- flow_id     the flow the plan belongs to: a key presented on another flow is refused.
-- user_id     the pending user the plan was made for (authentik's `FlowToken.user`).
-- purpose     `email` (the email stage's link) or `recovery` (an admin's recovery link).
-- plan        the serialised plan (flows::context::Plan) at the stage that paused it.
-- expires_at  a link opened at or after this second is refused.
-- used_at     set once, by the conditional UPDATE that claims the token.
CREATE TABLE flow_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    key_digest TEXT NOT NULL UNIQUE,
    flow_id TEXT NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    plan TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX flow_tokens_expires ON flow_tokens(expires_at);
