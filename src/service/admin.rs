//! One-call admin use-cases for the console's forms and dialogs: save, delete and "what uses
//! this", each in its own write transaction, with the reference rules of the schema spelled out
//! so the delete dialog can tell the admin what will happen before anything is written.

use super::{Service, ServiceError, ServiceResult};
use crate::domain::BindingSubject;
use crate::domain::{Kind, Object};
use crate::store;

/// What deleting the target does to an object that uses it (the schema's ON DELETE rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The user is deleted too (ON DELETE CASCADE).
    Deleted,
    /// The user's reference is cleared (ON DELETE SET NULL).
    Cleared,
    /// A binding or membership row goes away.
    BindingRemoved,
    /// The delete is refused while this user exists (ON DELETE RESTRICT).
    Blocks,
}

impl Effect {
    /// How the delete dialog words the effect.
    pub fn label(self) -> &'static str {
        match self {
            Effect::Deleted => "deleted",
            Effect::Cleared => "reference cleared",
            Effect::BindingRemoved => "binding removed",
            Effect::Blocks => "BLOCKS the delete",
        }
    }
}

/// One object that uses the delete target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// What kind of object uses it ("provider", "brand", …).
    pub kind: &'static str,
    /// Its name (or slug / domain).
    pub name: String,
    /// Which field holds the reference.
    pub field: &'static str,
    /// What the delete does to it.
    pub effect: Effect,
}

/// How many active users hold superuser rights, as seen inside `tx`.
async fn active_superusers(tx: &mut crate::store::WriteTx) -> ServiceResult<usize> {
    let conn = tx.conn();
    let mut n = 0;
    for user in crate::store::users::list(conn).await? {
        if user.is_active && crate::store::groups::is_superuser(conn, &user.id).await? {
            n += 1;
        }
    }
    Ok(n)
}

/// Refuses (rolling the transaction back when it is dropped) a write that leaves no active
/// superuser where there was one: deleting or deactivating the last one, taking it out of its
/// superuser group, or deleting or demoting that group.
async fn keep_a_superuser(tx: &mut crate::store::WriteTx, before: usize) -> ServiceResult<()> {
    if before > 0 && active_superusers(tx).await? == 0 {
        return Err(ServiceError::Refused(
            "this would leave no active superuser: the last active superuser cannot be deleted, \
             deactivated or lose its superuser group"
                .into(),
        ));
    }
    Ok(())
}

impl Service {
    /// Validates and writes one object (insert when `is_new`, else an optimistic update), in
    /// its own transaction. Deactivating the last active superuser is refused.
    pub async fn save(&self, obj: &Object, is_new: bool) -> ServiceResult<()> {
        crate::domain::validate_object(obj)?;
        let now = self.now();
        let mut tx = self.store().write_tx().await?;
        let before = active_superusers(&mut tx).await?;
        if is_new {
            store::objects::insert(&mut tx, obj, now).await?;
        } else {
            store::objects::update(&mut tx, obj, now).await?;
        }
        keep_a_superuser(&mut tx, before).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes one object after checking the references that would refuse it, in its own
    /// transaction; the schema cascades or clears the rest.
    pub async fn delete_object(&self, kind: Kind, id: &str) -> ServiceResult<()> {
        if kind == Kind::User && self.is_last_superuser(id).await? {
            return Err(ServiceError::Refused(
                "this is the last active superuser: it cannot be deleted".into(),
            ));
        }
        let blockers: Vec<Usage> = self
            .usages(kind, id)
            .await?
            .into_iter()
            .filter(|u| u.effect == Effect::Blocks)
            .collect();
        if let Some(b) = blockers.first() {
            return Err(ServiceError::Refused(format!(
                "still used by {} '{}' as {}: change that first",
                b.kind, b.name, b.field
            )));
        }
        let mut tx = self.store().write_tx().await?;
        let before = active_superusers(&mut tx).await?;
        store::objects::delete(&mut tx, kind, id).await?;
        keep_a_superuser(&mut tx, before).await?;
        tx.commit().await?;
        Ok(())
    }

    /// True when `user_id` is the only active user with superuser rights.
    pub async fn is_last_superuser(&self, user_id: &str) -> ServiceResult<bool> {
        let supers = self.superuser_ids().await?;
        if !supers.contains(user_id) {
            return Ok(false);
        }
        let active = self
            .list_users()
            .await?
            .into_iter()
            .filter(|u| u.is_active && supers.contains(&u.id))
            .count();
        Ok(active <= 1)
    }

    /// Every object that references the object `kind`/`id`, and what deleting it would do to
    /// each (derived from the schema's ON DELETE rules).
    pub async fn usages(&self, kind: Kind, id: &str) -> ServiceResult<Vec<Usage>> {
        let mut out = Vec::new();
        let mut push = |kind: &'static str, name: &str, field: &'static str, effect: Effect| {
            out.push(Usage {
                kind,
                name: name.to_string(),
                field,
                effect,
            })
        };
        let is = |v: &Option<String>| v.as_deref() == Some(id);
        match kind {
            Kind::Flow => {
                let stages = self.list_stages().await?;
                for b in self.list_flow_stage_bindings().await? {
                    if b.flow_id == id {
                        let stage = stages
                            .iter()
                            .find(|s| s.id == b.stage_id)
                            .map_or(b.stage_id.as_str(), |s| s.name.as_str());
                        push(
                            "stage binding",
                            &format!("{} {stage}", b.order),
                            "flow",
                            Effect::BindingRemoved,
                        );
                    }
                }
                for p in self.list_providers().await? {
                    if is(&p.authorization_flow_id) {
                        push("provider", &p.name, "authorization flow", Effect::Blocks);
                    }
                    if is(&p.invalidation_flow_id) {
                        push("provider", &p.name, "invalidation flow", Effect::Blocks);
                    }
                    if is(&p.authentication_flow_id) {
                        push("provider", &p.name, "authentication flow", Effect::Cleared);
                    }
                }
                for b in self.list_brands().await? {
                    for (field, v) in [
                        ("authentication flow", &b.flow_authentication_id),
                        ("invalidation flow", &b.flow_invalidation_id),
                        ("recovery flow", &b.flow_recovery_id),
                        ("unenrollment flow", &b.flow_unenrollment_id),
                        ("user settings flow", &b.flow_user_settings_id),
                        ("device code flow", &b.flow_device_code_id),
                    ] {
                        if is(v) {
                            push("brand", &b.domain, field, Effect::Cleared);
                        }
                    }
                }
                for c in self.list_connectors().await? {
                    if is(&c.authorization_flow_id) {
                        push("connector", &c.name, "authorization flow", Effect::Cleared);
                    }
                }
                self.policy_binding_usages(id, &mut out).await?;
            }
            Kind::Stage => {
                let flows = self.list_flows().await?;
                for b in self.list_flow_stage_bindings().await? {
                    if b.stage_id == id {
                        let flow = flows
                            .iter()
                            .find(|f| f.id == b.flow_id)
                            .map_or(b.flow_id.as_str(), |f| f.slug.as_str());
                        push(
                            "stage binding",
                            &format!("{flow} #{}", b.order),
                            "stage",
                            Effect::BindingRemoved,
                        );
                    }
                }
            }
            Kind::Prompt => {
                let name = self
                    .list_prompts()
                    .await?
                    .into_iter()
                    .find(|p| p.id == id)
                    .map(|p| p.name);
                for st in self.list_stages().await? {
                    let uses = st
                        .settings
                        .get("fields")
                        .and_then(serde_json::Value::as_array)
                        .is_some_and(|f| {
                            f.iter()
                                .filter_map(serde_json::Value::as_str)
                                .any(|f| f == id || Some(f) == name.as_deref())
                        });
                    if uses {
                        push("prompt stage", &st.name, "fields", Effect::BindingRemoved);
                    }
                }
            }
            Kind::Certificate => {
                for p in self.list_providers().await? {
                    if is(&p.signing_key_id) {
                        push("provider", &p.name, "signing key", Effect::Blocks);
                    }
                    if is(&p.encryption_key_id) {
                        push("provider", &p.name, "encryption key", Effect::Blocks);
                    }
                }
                for b in self.list_brands().await? {
                    if is(&b.web_certificate_id) {
                        push("brand", &b.domain, "web certificate", Effect::Cleared);
                    }
                }
                for c in self.list_connectors().await? {
                    if is(&c.challenge_key_id) {
                        push("connector", &c.name, "challenge key", Effect::Cleared);
                    }
                }
            }
            Kind::Provider => {
                for a in self.list_applications().await? {
                    if is(&a.provider_id) {
                        push("application", &a.name, "provider", Effect::Cleared);
                    }
                }
            }
            Kind::Application => {
                for b in self.list_brands().await? {
                    if is(&b.default_application_id) {
                        push("brand", &b.domain, "default application", Effect::Cleared);
                    }
                }
                self.policy_binding_usages(id, &mut out).await?;
            }
            Kind::ScopeMapping => {
                for p in self.list_providers().await? {
                    if p.scope_mapping_ids.iter().any(|m| m == id) {
                        push(
                            "provider",
                            &p.name,
                            "scope mappings",
                            Effect::BindingRemoved,
                        );
                    }
                }
            }
            Kind::Policy | Kind::Group | Kind::User => {
                for b in self.list_policy_bindings().await? {
                    let hit = match &b.subject {
                        BindingSubject::Policy(p) => kind == Kind::Policy && p == id,
                        BindingSubject::Group(g) => kind == Kind::Group && g == id,
                        BindingSubject::User(u) => kind == Kind::User && u == id,
                    };
                    if hit {
                        out.push(Usage {
                            kind: "policy binding",
                            name: format!("#{} on {}", b.order, b.target_id),
                            field: "subject",
                            effect: Effect::BindingRemoved,
                        });
                    }
                }
                if matches!(kind, Kind::User | Kind::Group) {
                    let users = self.list_users().await?;
                    let groups = self.list_groups().await?;
                    for (u, g) in self.memberships().await? {
                        let (hit, name) = if kind == Kind::User {
                            (
                                u == id,
                                groups.iter().find(|x| x.id == g).map(|x| x.name.clone()),
                            )
                        } else {
                            (
                                g == id,
                                users.iter().find(|x| x.id == u).map(|x| x.username.clone()),
                            )
                        };
                        if hit {
                            out.push(Usage {
                                kind: if kind == Kind::User {
                                    "group"
                                } else {
                                    "member"
                                },
                                name: name.unwrap_or_default(),
                                field: "membership",
                                effect: Effect::BindingRemoved,
                            });
                        }
                    }
                }
                if kind == Kind::Group {
                    for g in self.list_groups().await? {
                        if g.parent_id.as_deref() == Some(id) {
                            out.push(Usage {
                                kind: "group",
                                name: g.name.clone(),
                                field: "parent",
                                effect: Effect::Cleared,
                            });
                        }
                    }
                }
            }
            _ => {}
        }
        let owner = match kind {
            Kind::User => Some(store::dependents::Owner::User),
            Kind::Provider => Some(store::dependents::Owner::Provider),
            Kind::Application => Some(store::dependents::Owner::Application),
            _ => None,
        };
        if let Some(owner) = owner {
            let mut conn = self.store().read().await?;
            for (what, n) in store::dependents::count(&mut conn, owner, id, self.now()).await? {
                out.push(Usage {
                    kind: what,
                    name: n.to_string(),
                    field: "in force",
                    effect: Effect::Deleted,
                });
            }
        }
        Ok(out)
    }

    async fn policy_binding_usages(&self, id: &str, out: &mut Vec<Usage>) -> ServiceResult<()> {
        for b in self.list_policy_bindings().await? {
            if b.target_id == id {
                out.push(Usage {
                    kind: "policy binding",
                    name: format!("#{}", b.order),
                    field: "target",
                    effect: Effect::Deleted,
                });
            }
        }
        Ok(())
    }
}

/// What the form should say about one redirect URI before it is saved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UriCheck {
    /// Refuses the save.
    pub error: Option<String>,
    /// Asks for confirmation before saving.
    pub warning: Option<String>,
}

/// Checks one redirect URI the way the authorize endpoint will use it: regexes are compiled
/// anchored (errors name the position), catch-alls and unescaped dots need confirmation,
/// `http://` is only for loopback hosts, script schemes never.
pub fn check_redirect_uri(mode: crate::domain::MatchingMode, url: &str) -> UriCheck {
    use crate::domain::MatchingMode;
    let mut out = UriCheck::default();
    let url = url.trim();
    if url.is_empty() {
        out.error = Some("required: a URL or a regex".into());
        return out;
    }
    if crate::domain::redirect::is_forbidden_scheme(url) {
        out.error = Some("javascript:, data: and vbscript: URIs are never allowed".into());
        return out;
    }
    if mode == MatchingMode::Regex {
        if let Err(e) = regex::Regex::new(url) {
            out.error = Some(regex_error(url, &e));
            return out;
        }
        if crate::oauth::redirect_uri::anchored(url).is_err() {
            out.error = Some("the regex cannot be anchored".into());
            return out;
        }
        let bare = url.trim_start_matches('^').trim_end_matches('$');
        if matches!(bare, ".*" | ".+" | "(.*)" | "(.+)") || bare.starts_with(".*") {
            out.warning = Some(format!("'{url}' matches any URL: an open redirect"));
        } else if has_unescaped_dot(url) {
            out.warning = Some(format!(
                "'{url}' has an unescaped '.', which matches any character (write \\.)"
            ));
        }
    }
    let lower = url.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("http://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = host.rsplit('@').next().unwrap_or_default();
        let bare_host = if host.starts_with('[') {
            host.split(']')
                .next()
                .map(|h| format!("{h}]"))
                .unwrap_or_default()
        } else {
            host.split(':').next().unwrap_or_default().to_string()
        };
        let loopback = matches!(bare_host.as_str(), "127.0.0.1" | "[::1]" | "localhost")
            || (mode == MatchingMode::Regex
                && (bare_host.starts_with("127\\.0\\.0\\.1")
                    || bare_host.starts_with("localhost")));
        if !loopback {
            out.error = Some("http:// is only allowed for loopback hosts (127.0.0.1, [::1], localhost): use https://".into());
        }
    }
    out
}

fn regex_error(url: &str, e: &regex::Error) -> String {
    let text = e.to_string();
    // regex reports the span as a caret line; turn it into a column.
    let col = text
        .lines()
        .find(|l| l.trim_start().starts_with('^'))
        .and_then(|l| l.find('^'))
        .and_then(|caret| {
            text.lines()
                .find(|l| l.contains(url))
                .and_then(|l| l.find(url))
                .map(|start| caret.saturating_sub(start) + 1)
        });
    let reason = text
        .lines()
        .rev()
        .find(|l| l.starts_with("error:"))
        .map(|l| l.trim_start_matches("error:").trim().to_string())
        .unwrap_or_else(|| text.lines().last().unwrap_or_default().to_string());
    match col {
        Some(c) => format!("invalid regex at position {c}: {reason}"),
        None => format!("invalid regex: {reason}"),
    }
}

fn has_unescaped_dot(pattern: &str) -> bool {
    let mut escaped = false;
    let mut in_class = false;
    for c in pattern.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' => in_class = true,
            ']' => in_class = false,
            '.' if !in_class => return true,
            _ => {}
        }
    }
    false
}

/// How a new certificate's key is generated.
pub use crate::crypto::keys::KeyAlgorithm;

impl Service {
    /// Generates a self-signed certificate keypair and stores it under `name`.
    pub async fn generate_certificate(
        &self,
        name: &str,
        common_name: &str,
        sans: &[String],
        validity_days: i64,
        algorithm: KeyAlgorithm,
    ) -> ServiceResult<String> {
        let pair =
            crate::crypto::keys::generate_self_signed(common_name, sans, validity_days, algorithm)?;
        self.import_certificate(name, &pair.certificate_pem, Some(&pair.key_pem))
            .await
    }

    /// Imports a PEM certificate (and key) under `name`, refusing invalid PEM, encrypted or
    /// weak keys and mismatched pairs with specific messages. Returns the new id.
    pub async fn import_certificate(
        &self,
        name: &str,
        certificate_pem: &str,
        key_pem: Option<&str>,
    ) -> ServiceResult<String> {
        let id = crate::domain::new_id();
        let kp = crate::crypto::keys::keypair_from_pem(&id, name, certificate_pem, key_pem, None)?;
        self.save(&Object::Certificate(kp), true).await?;
        Ok(id)
    }

    /// Every (user id, group id) membership, for the user and group forms' checklists.
    pub async fn memberships(&self) -> ServiceResult<Vec<(String, String)>> {
        let mut conn = self.store().read().await?;
        let mut out = Vec::new();
        for o in store::objects::list(&mut conn, Kind::Group).await? {
            if let Object::Group { group, users } = o {
                out.extend(users.into_iter().map(|u| (u, group.id.clone())));
            }
        }
        Ok(out)
    }
}

/// Every URL an application needs to talk to a provider, as the discovery document advertises
/// them: `(label, url)`. Without an application only the shared endpoints exist.
pub fn provider_urls(
    public_url: &str,
    app_slug: Option<&str>,
    issuer_mode: crate::domain::IssuerMode,
) -> Vec<(&'static str, String)> {
    let public_url = public_url.trim_end_matches('/');
    let base = format!("{public_url}/application/o");
    let mut out = Vec::new();
    if let Some(slug) = app_slug {
        let issuer = match issuer_mode {
            crate::domain::IssuerMode::PerProvider => format!("{base}/{slug}/"),
            crate::domain::IssuerMode::Global => format!("{public_url}/"),
        };
        out.push(("Issuer", issuer));
        out.push((
            "OpenID Configuration URL",
            format!("{base}/{slug}/.well-known/openid-configuration"),
        ));
    }
    out.push(("Authorize URL", format!("{base}/authorize/")));
    out.push(("Token URL", format!("{base}/token/")));
    out.push(("Userinfo URL", format!("{base}/userinfo/")));
    if let Some(slug) = app_slug {
        out.push(("JWKS URL", format!("{base}/{slug}/jwks/")));
        out.push(("Logout URL", format!("{base}/{slug}/end-session/")));
    }
    out.push(("Device URL", format!("{base}/device/")));
    out.push(("Revoke URL", format!("{base}/revoke/")));
    out.push(("Introspect URL", format!("{base}/introspect/")));
    out
}
