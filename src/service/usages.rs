//! "What uses this": every object that references a delete target and what deleting it does to
//! each, derived from the schema's ON DELETE rules, so the delete dialog can say it before
//! anything is written.

use super::{Service, ServiceResult};
use crate::domain::{BindingSubject, Kind};
use crate::store;

/// What deleting the target does to an object that uses it (the schema's ON DELETE rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDelete {
    /// The user is deleted too (ON DELETE CASCADE).
    Deleted,
    /// The user's reference is cleared (ON DELETE SET NULL).
    Cleared,
    /// A binding or membership row goes away.
    BindingRemoved,
    /// The delete is refused while this user exists (ON DELETE RESTRICT).
    Blocks,
}

impl OnDelete {
    /// How the delete dialog words the effect.
    pub fn label(self) -> &'static str {
        match self {
            OnDelete::Deleted => "deleted",
            OnDelete::Cleared => "reference cleared",
            OnDelete::BindingRemoved => "binding removed",
            OnDelete::Blocks => "BLOCKS the delete",
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
    pub effect: OnDelete,
}

impl Service {
    /// Every object that references the object `kind`/`id`, and what deleting it would do to
    /// each (derived from the schema's ON DELETE rules).
    pub async fn usages(&self, kind: Kind, id: &str) -> ServiceResult<Vec<Usage>> {
        let mut out = Vec::new();
        let mut push = |kind: &'static str, name: &str, field: &'static str, effect: OnDelete| {
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
                            OnDelete::BindingRemoved,
                        );
                    }
                }
                for p in self.list_providers().await? {
                    if is(&p.authorization_flow_id) {
                        push("provider", &p.name, "authorization flow", OnDelete::Blocks);
                    }
                    if is(&p.invalidation_flow_id) {
                        push("provider", &p.name, "invalidation flow", OnDelete::Blocks);
                    }
                    if is(&p.authentication_flow_id) {
                        push(
                            "provider",
                            &p.name,
                            "authentication flow",
                            OnDelete::Cleared,
                        );
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
                            push("brand", &b.domain, field, OnDelete::Cleared);
                        }
                    }
                }
                for c in self.list_connectors().await? {
                    if is(&c.authorization_flow_id) {
                        push(
                            "connector",
                            &c.name,
                            "authorization flow",
                            OnDelete::Cleared,
                        );
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
                            OnDelete::BindingRemoved,
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
                        .as_prompt()
                        .is_some_and(|p| p.lists_prompt(id, name.as_deref()));
                    if uses {
                        push("prompt stage", &st.name, "fields", OnDelete::BindingRemoved);
                    }
                }
            }
            Kind::Certificate => {
                for p in self.list_providers().await? {
                    if is(&p.signing_key_id) {
                        push("provider", &p.name, "signing key", OnDelete::Blocks);
                    }
                    if is(&p.encryption_key_id) {
                        push("provider", &p.name, "encryption key", OnDelete::Blocks);
                    }
                }
                for b in self.list_brands().await? {
                    if is(&b.web_certificate_id) {
                        push("brand", &b.domain, "web certificate", OnDelete::Cleared);
                    }
                }
                for c in self.list_connectors().await? {
                    if is(&c.challenge_key_id) {
                        push("connector", &c.name, "challenge key", OnDelete::Cleared);
                    }
                }
            }
            Kind::Provider => {
                for a in self.list_applications().await? {
                    if is(&a.provider_id) {
                        push("application", &a.name, "provider", OnDelete::Cleared);
                    }
                }
            }
            Kind::Application => {
                for b in self.list_brands().await? {
                    if is(&b.default_application_id) {
                        push("brand", &b.domain, "default application", OnDelete::Cleared);
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
                            OnDelete::BindingRemoved,
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
                            effect: OnDelete::BindingRemoved,
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
                                effect: OnDelete::BindingRemoved,
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
                                effect: OnDelete::Cleared,
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
                    effect: OnDelete::Deleted,
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
                    effect: OnDelete::Deleted,
                });
            }
        }
        Ok(())
    }
}
