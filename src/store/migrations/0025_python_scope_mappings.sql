-- latchkey's seeded OAuth2 scope mappings were rhai (`#{ ... }`) before issue 16; expressions
-- are authentik's Python now. A managed mapping that still carries the text latchkey seeded
-- gets the Python default text (which the token endpoint runs natively); an admin's own
-- expression is left as it is (it is refused at save and fails closed until rewritten).
UPDATE scope_mappings SET expression = '# The provider adds this scope''s protocol claims itself.
return {}
', version = version + 1
WHERE managed IN (
    'goauthentik.io/providers/oauth2/scope-openid',
    'goauthentik.io/providers/oauth2/scope-offline_access',
    'goauthentik.io/providers/oauth2/scope-authentik_api'
) AND expression = '#{}';

UPDATE scope_mappings SET expression = 'return {
    "email": request.user.email,
    "email_verified": False,
}
', version = version + 1
WHERE managed = 'goauthentik.io/providers/oauth2/scope-email'
  AND expression = '#{ email: request.user.email, email_verified: false }';

UPDATE scope_mappings SET expression = 'return {
    "name": request.user.name,
    "given_name": request.user.name,
    "preferred_username": request.user.username,
    "nickname": request.user.username,
    "groups": [g.name for g in request.user.ak_groups.all()],
}
', version = version + 1
WHERE managed = 'goauthentik.io/providers/oauth2/scope-profile'
  AND expression = '#{ name: request.user.name, given_name: request.user.name, preferred_username: request.user.username, nickname: request.user.username, groups: request.user.groups }';
