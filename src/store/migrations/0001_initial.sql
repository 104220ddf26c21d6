-- latchkey initial schema. Mirrors authentik's models (see ../shared/DESIGN.md §4).
-- Ids are UUID text; times are unix seconds (INTEGER). Kind-specific settings are typed JSON.
-- Admin objects carry `version` for optimistic concurrency.

CREATE TABLE flows (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL DEFAULT '',
    designation TEXT NOT NULL,
    authentication TEXT NOT NULL DEFAULT 'none',
    denied_action TEXT NOT NULL DEFAULT 'message_continue',
    policy_engine_mode TEXT NOT NULL DEFAULT 'any',
    layout TEXT NOT NULL DEFAULT 'stacked',
    compatibility_mode INTEGER NOT NULL DEFAULT 0,
    background TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE stages (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX stages_kind ON stages(kind);

CREATE TABLE prompts (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    field_key TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    field_type TEXT NOT NULL DEFAULT 'text',
    required INTEGER NOT NULL DEFAULT 1,
    placeholder TEXT NOT NULL DEFAULT '',
    initial_value TEXT NOT NULL DEFAULT '',
    sub_text TEXT NOT NULL DEFAULT '',
    sort_order INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE flow_stage_bindings (
    id TEXT PRIMARY KEY NOT NULL,
    flow_id TEXT NOT NULL REFERENCES flows(id) ON DELETE CASCADE,
    stage_id TEXT NOT NULL REFERENCES stages(id) ON DELETE CASCADE,
    sort_order INTEGER NOT NULL DEFAULT 0,
    evaluate_on_plan INTEGER NOT NULL DEFAULT 0,
    re_evaluate_policies INTEGER NOT NULL DEFAULT 1,
    invalid_response_action TEXT NOT NULL DEFAULT 'retry',
    policy_engine_mode TEXT NOT NULL DEFAULT 'any',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    UNIQUE (flow_id, stage_id, sort_order)
);
CREATE INDEX flow_stage_bindings_flow ON flow_stage_bindings(flow_id, sort_order);
CREATE INDEX flow_stage_bindings_stage ON flow_stage_bindings(stage_id);

CREATE TABLE policies (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}',
    execution_logging INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    password_hash TEXT,
    password_changed_at INTEGER,
    is_active INTEGER NOT NULL DEFAULT 1,
    user_type TEXT NOT NULL DEFAULT 'internal',
    path TEXT NOT NULL DEFAULT 'users',
    attributes TEXT NOT NULL DEFAULT '{}',
    last_login INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX users_username_lower ON users(lower(username));
CREATE INDEX users_email_lower ON users(lower(email));

CREATE TABLE groups (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    is_superuser INTEGER NOT NULL DEFAULT 0,
    parent_id TEXT REFERENCES groups(id) ON DELETE SET NULL,
    attributes TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(user_id);

-- A policy binding targets a flow, a stage binding or an application (authentik's PolicyBindingModel).
-- Exactly one of policy / group / user is set.
CREATE TABLE policy_bindings (
    id TEXT PRIMARY KEY NOT NULL,
    target_id TEXT NOT NULL,
    policy_id TEXT REFERENCES policies(id) ON DELETE CASCADE,
    group_id TEXT REFERENCES groups(id) ON DELETE CASCADE,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    sort_order INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1,
    negate INTEGER NOT NULL DEFAULT 0,
    timeout INTEGER NOT NULL DEFAULT 30,
    failure_result INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CHECK ((policy_id IS NOT NULL) + (group_id IS NOT NULL) + (user_id IS NOT NULL) = 1)
);
CREATE INDEX policy_bindings_target ON policy_bindings(target_id, sort_order);

CREATE TABLE certificate_keypairs (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    certificate_pem TEXT NOT NULL,
    key_pem TEXT,
    managed TEXT UNIQUE,
    key_type TEXT NOT NULL,
    kid TEXT NOT NULL,
    fingerprint_sha256 TEXT NOT NULL,
    fingerprint_sha1 TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    not_before INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE scope_mappings (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    managed TEXT UNIQUE,
    scope_name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    expression TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

-- Providers: OAuth2/OIDC first. Looked-up and referenced columns are real columns; the rest is JSON.
CREATE TABLE providers (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL DEFAULT 'oauth2',
    client_id TEXT UNIQUE,
    authorization_flow_id TEXT REFERENCES flows(id) ON DELETE RESTRICT,
    authentication_flow_id TEXT REFERENCES flows(id) ON DELETE SET NULL,
    invalidation_flow_id TEXT REFERENCES flows(id) ON DELETE RESTRICT,
    signing_key_id TEXT REFERENCES certificate_keypairs(id) ON DELETE RESTRICT,
    encryption_key_id TEXT REFERENCES certificate_keypairs(id) ON DELETE RESTRICT,
    settings TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE provider_scope_mappings (
    provider_id TEXT NOT NULL REFERENCES providers(id) ON DELETE CASCADE,
    mapping_id TEXT NOT NULL REFERENCES scope_mappings(id) ON DELETE CASCADE,
    PRIMARY KEY (provider_id, mapping_id)
);

CREATE TABLE applications (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    provider_id TEXT UNIQUE REFERENCES providers(id) ON DELETE SET NULL,
    group_name TEXT NOT NULL DEFAULT '',
    policy_engine_mode TEXT NOT NULL DEFAULT 'any',
    meta_launch_url TEXT NOT NULL DEFAULT '',
    open_in_new_tab INTEGER NOT NULL DEFAULT 0,
    meta_icon TEXT NOT NULL DEFAULT '',
    meta_publisher TEXT NOT NULL DEFAULT '',
    meta_description TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE brands (
    id TEXT PRIMARY KEY NOT NULL,
    domain TEXT NOT NULL UNIQUE,
    is_default INTEGER NOT NULL DEFAULT 0,
    branding_title TEXT NOT NULL DEFAULT 'latchkey',
    branding_logo TEXT NOT NULL DEFAULT '',
    branding_favicon TEXT NOT NULL DEFAULT '',
    branding_custom_css TEXT NOT NULL DEFAULT '',
    flow_authentication_id TEXT REFERENCES flows(id) ON DELETE SET NULL,
    flow_invalidation_id TEXT REFERENCES flows(id) ON DELETE SET NULL,
    flow_recovery_id TEXT REFERENCES flows(id) ON DELETE SET NULL,
    flow_unenrollment_id TEXT REFERENCES flows(id) ON DELETE SET NULL,
    flow_user_settings_id TEXT REFERENCES flows(id) ON DELETE SET NULL,
    flow_device_code_id TEXT REFERENCES flows(id) ON DELETE SET NULL,
    web_certificate_id TEXT REFERENCES certificate_keypairs(id) ON DELETE SET NULL,
    default_application_id TEXT REFERENCES applications(id) ON DELETE SET NULL,
    attributes TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX brands_one_default ON brands(is_default) WHERE is_default = 1;

CREATE TABLE connectors (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL DEFAULT 'agent',
    enabled INTEGER NOT NULL DEFAULT 1,
    authorization_flow_id TEXT REFERENCES flows(id) ON DELETE SET NULL,
    challenge_key_id TEXT REFERENCES certificate_keypairs(id) ON DELETE SET NULL,
    settings TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE enrollment_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    key_digest TEXT NOT NULL UNIQUE,
    connector_id TEXT NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    expires_at INTEGER,
    created_at INTEGER NOT NULL
);

CREATE TABLE endpoint_devices (
    id TEXT PRIMARY KEY NOT NULL,
    identifier TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    connector_id TEXT REFERENCES connectors(id) ON DELETE SET NULL,
    token_digest TEXT UNIQUE,
    facts TEXT NOT NULL DEFAULT '{}',
    attributes TEXT NOT NULL DEFAULT '{}',
    last_seen INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Server-side sessions. The cookie holds a random id; only its SHA-256 digest is stored.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    key_digest TEXT NOT NULL UNIQUE,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    data TEXT NOT NULL DEFAULT '{}',
    client_ip TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    idle_expires_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE consents (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    application_id TEXT NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    permissions TEXT NOT NULL DEFAULT '',
    expires_at INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (user_id, application_id, permissions)
);

-- API tokens and app passwords (authentik's Token). Only digests are stored.
CREATE TABLE tokens (
    id TEXT PRIMARY KEY NOT NULL,
    identifier TEXT NOT NULL UNIQUE,
    key_digest TEXT NOT NULL UNIQUE,
    intent TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    description TEXT NOT NULL DEFAULT '',
    expires_at INTEGER,
    created_at INTEGER NOT NULL
);

CREATE TABLE authenticator_devices (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    secret TEXT NOT NULL,
    confirmed INTEGER NOT NULL DEFAULT 0,
    last_used_step INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX authenticator_devices_user ON authenticator_devices(user_id);

CREATE TABLE authorization_codes (
    id TEXT PRIMARY KEY NOT NULL,
    code_digest TEXT NOT NULL UNIQUE,
    provider_id TEXT NOT NULL REFERENCES providers(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_id TEXT,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT '',
    nonce TEXT,
    code_challenge TEXT,
    code_challenge_method TEXT,
    auth_time INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    consumed_at INTEGER,
    created_at INTEGER NOT NULL
);

-- One grant family per authorization: a replayed code or reused refresh token revokes the family.
CREATE TABLE access_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    family_id TEXT NOT NULL,
    provider_id TEXT NOT NULL REFERENCES providers(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_id TEXT,
    scope TEXT NOT NULL DEFAULT '',
    claims TEXT NOT NULL DEFAULT '{}',
    auth_time INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX access_tokens_family ON access_tokens(family_id);

CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    token_digest TEXT NOT NULL UNIQUE,
    family_id TEXT NOT NULL,
    provider_id TEXT NOT NULL REFERENCES providers(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_id TEXT,
    scope TEXT NOT NULL DEFAULT '',
    nonce TEXT,
    claims TEXT NOT NULL DEFAULT '{}',
    auth_time INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    consumed_at INTEGER,
    revoked_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

CREATE TABLE device_codes (
    id TEXT PRIMARY KEY NOT NULL,
    device_code_digest TEXT NOT NULL UNIQUE,
    user_code TEXT NOT NULL UNIQUE,
    provider_id TEXT NOT NULL REFERENCES providers(id) ON DELETE CASCADE,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    session_id TEXT,
    scope TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending',
    poll_interval INTEGER NOT NULL DEFAULT 5,
    last_polled_at INTEGER,
    family_id TEXT,
    auth_time INTEGER,
    expires_at INTEGER NOT NULL,
    consumed_at INTEGER,
    created_at INTEGER NOT NULL
);

-- authentik's reputation: a score per (ip, identifier), decremented on failed logins.
CREATE TABLE reputation (
    ip TEXT NOT NULL,
    identifier TEXT NOT NULL,
    score INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (ip, identifier)
);

CREATE TABLE events (
    id TEXT PRIMARY KEY NOT NULL,
    action TEXT NOT NULL,
    username TEXT NOT NULL DEFAULT '',
    user_id TEXT,
    app TEXT NOT NULL DEFAULT '',
    client_ip TEXT NOT NULL DEFAULT '',
    context TEXT NOT NULL DEFAULT '{}',
    brand TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX events_created ON events(created_at DESC);
CREATE INDEX events_action ON events(action);

-- Deleting a policy binding target removes its bindings (targets are polymorphic, so no FK).
CREATE TRIGGER flows_delete_bindings AFTER DELETE ON flows
BEGIN DELETE FROM policy_bindings WHERE target_id = OLD.id; END;
CREATE TRIGGER fsb_delete_bindings AFTER DELETE ON flow_stage_bindings
BEGIN DELETE FROM policy_bindings WHERE target_id = OLD.id; END;
CREATE TRIGGER applications_delete_bindings AFTER DELETE ON applications
BEGIN DELETE FROM policy_bindings WHERE target_id = OLD.id; END;
