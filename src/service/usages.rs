//! "What uses this": every object that references a delete target and what deleting it does to
//! each, derived from the schema's ON DELETE rules, so the delete dialog can say it before
//! anything is written.

use super::{Service, ServiceResult};
use crate::domain::{
    Application, BindingSubject, Brand, Connector, EnrollmentToken, Flow, FlowStageBinding, Group,
    Kind, PolicyBinding, Prompt, Provider, Stage, User,
};
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

/// One reference column of a holder kind: which target kind it points at, how the dialog names
/// it, what deleting the target does to the holder (the schema's ON DELETE rule), and whether a
/// holder points at a given id.
struct Reference<T: 'static> {
    target: Kind,
    field: &'static str,
    effect: OnDelete,
    holds: fn(&T, &str) -> bool,
}

/// `Reference` rows for a holder whose column is an optional id.
macro_rules! refs {
    ($t:ty: $($target:ident . $col:ident => $field:literal, $effect:ident;)+) => {
        &[$(Reference::<$t> {
            target: Kind::$target,
            field: $field,
            effect: OnDelete::$effect,
            holds: |o, id| o.$col.as_deref() == Some(id),
        }),+]
    };
}

const PROVIDER_REFS: &[Reference<Provider>] = &[
    Reference {
        target: Kind::Flow,
        field: "authorization flow",
        effect: OnDelete::Blocks,
        holds: |p, id| p.authorization_flow_id.as_deref() == Some(id),
    },
    Reference {
        target: Kind::Flow,
        field: "invalidation flow",
        effect: OnDelete::Blocks,
        holds: |p, id| p.invalidation_flow_id.as_deref() == Some(id),
    },
    Reference {
        target: Kind::Flow,
        field: "authentication flow",
        effect: OnDelete::Cleared,
        holds: |p, id| p.authentication_flow_id.as_deref() == Some(id),
    },
    Reference {
        target: Kind::Certificate,
        field: "signing key",
        effect: OnDelete::Blocks,
        holds: |p, id| p.signing_key_id.as_deref() == Some(id),
    },
    Reference {
        target: Kind::Certificate,
        field: "encryption key",
        effect: OnDelete::Blocks,
        holds: |p, id| p.encryption_key_id.as_deref() == Some(id),
    },
    Reference {
        target: Kind::ScopeMapping,
        field: "scope mappings",
        effect: OnDelete::BindingRemoved,
        holds: |p, id| p.scope_mapping_ids.iter().any(|m| m == id),
    },
];

const APPLICATION_REFS: &[Reference<Application>] = refs! { Application:
    Provider.provider_id => "provider", Cleared;
};

const BRAND_REFS: &[Reference<Brand>] = refs! { Brand:
    Flow.flow_authentication_id => "authentication flow", Cleared;
    Flow.flow_invalidation_id => "invalidation flow", Cleared;
    Flow.flow_recovery_id => "recovery flow", Cleared;
    Flow.flow_unenrollment_id => "unenrollment flow", Cleared;
    Flow.flow_user_settings_id => "user settings flow", Cleared;
    Flow.flow_device_code_id => "device code flow", Cleared;
    Certificate.web_certificate_id => "web certificate", Cleared;
    Application.default_application_id => "default application", Cleared;
};

const CONNECTOR_REFS: &[Reference<Connector>] = refs! { Connector:
    Flow.authorization_flow_id => "authorization flow", Cleared;
    Certificate.challenge_key_id => "challenge key", Cleared;
};

const ENROLLMENT_TOKEN_REFS: &[Reference<EnrollmentToken>] = &[
    Reference {
        target: Kind::Connector,
        field: "connector",
        effect: OnDelete::Deleted,
        holds: |t, id| t.connector_id == id,
    },
    Reference {
        target: Kind::DeviceAccessGroup,
        field: "device group",
        effect: OnDelete::Cleared,
        holds: |t, id| t.device_group_id.as_deref() == Some(id),
    },
];

/// Everything a reference can live in, read once per question.
struct Holders {
    flows: Vec<Flow>,
    stages: Vec<Stage>,
    prompts: Vec<Prompt>,
    stage_bindings: Vec<FlowStageBinding>,
    policy_bindings: Vec<PolicyBinding>,
    providers: Vec<Provider>,
    applications: Vec<Application>,
    brands: Vec<Brand>,
    connectors: Vec<Connector>,
    enrollment_tokens: Vec<EnrollmentToken>,
    users: Vec<User>,
    groups: Vec<Group>,
    memberships: Vec<(String, String)>,
}

impl Holders {
    async fn load(service: &Service) -> ServiceResult<Self> {
        Ok(Self {
            flows: service.list_flows().await?,
            stages: service.list_stages().await?,
            prompts: service.list_prompts().await?,
            stage_bindings: service.list_flow_stage_bindings().await?,
            policy_bindings: service.list_policy_bindings().await?,
            providers: service.list_providers().await?,
            applications: service.list_applications().await?,
            brands: service.list_brands().await?,
            connectors: service.list_connectors().await?,
            enrollment_tokens: service.list_enrollment_tokens().await?,
            users: service.list_users().await?,
            groups: service.list_groups().await?,
            memberships: service.memberships().await?,
        })
    }
}

/// Every row of `holders` that `table` says references `kind`/`id`, in holder order.
fn referenced_by<T>(
    out: &mut Vec<Usage>,
    holder: &'static str,
    holders: &[T],
    name: fn(&T) -> &str,
    table: &[Reference<T>],
    kind: Kind,
    id: &str,
) {
    for h in holders {
        for r in table.iter().filter(|r| r.target == kind) {
            if (r.holds)(h, id) {
                out.push(Usage {
                    kind: holder,
                    name: name(h).to_string(),
                    field: r.field,
                    effect: r.effect,
                });
            }
        }
    }
}

impl Holders {
    /// Stage bindings of a flow (named by order and stage) or of a stage (by flow and order).
    fn stage_bindings(&self, kind: Kind, id: &str, out: &mut Vec<Usage>) {
        for b in &self.stage_bindings {
            let (name, field) = match kind {
                Kind::Flow if b.flow_id == id => {
                    let stage = self.stages.iter().find(|s| s.id == b.stage_id);
                    let stage = stage.map_or(b.stage_id.as_str(), |s| s.name.as_str());
                    (format!("{} {stage}", b.order), "flow")
                }
                Kind::Stage if b.stage_id == id => {
                    let flow = self.flows.iter().find(|f| f.id == b.flow_id);
                    let flow = flow.map_or(b.flow_id.as_str(), |f| f.slug.as_str());
                    (format!("{flow} #{}", b.order), "stage")
                }
                _ => continue,
            };
            out.push(Usage {
                kind: "stage binding",
                name,
                field,
                effect: OnDelete::BindingRemoved,
            });
        }
    }

    /// Prompt stages that list the prompt among their fields (by id or name).
    fn prompt_stages(&self, id: &str, out: &mut Vec<Usage>) {
        let name = self
            .prompts
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.as_str());
        for st in &self.stages {
            let uses = st
                .settings
                .as_prompt()
                .is_some_and(|p| p.lists_prompt(id, name));
            if uses {
                out.push(Usage {
                    kind: "prompt stage",
                    name: st.name.clone(),
                    field: "fields",
                    effect: OnDelete::BindingRemoved,
                });
            }
        }
    }

    /// Policy bindings whose subject is the policy, group or user.
    fn binding_subjects(&self, kind: Kind, id: &str, out: &mut Vec<Usage>) {
        for b in &self.policy_bindings {
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
    }

    /// A user's groups, or a group's members.
    fn memberships_of(&self, kind: Kind, id: &str, out: &mut Vec<Usage>) {
        for (u, g) in &self.memberships {
            let (holder, name) = match kind {
                Kind::User if u == id => (
                    "group",
                    self.groups
                        .iter()
                        .find(|x| &x.id == g)
                        .map(|x| x.name.clone()),
                ),
                Kind::Group if g == id => (
                    "member",
                    self.users
                        .iter()
                        .find(|x| &x.id == u)
                        .map(|x| x.username.clone()),
                ),
                _ => continue,
            };
            out.push(Usage {
                kind: holder,
                name: name.unwrap_or_default(),
                field: "membership",
                effect: OnDelete::BindingRemoved,
            });
        }
    }

    /// Groups whose parent is the group.
    fn child_groups(&self, id: &str, out: &mut Vec<Usage>) {
        for g in self
            .groups
            .iter()
            .filter(|g| g.parent_id.as_deref() == Some(id))
        {
            out.push(Usage {
                kind: "group",
                name: g.name.clone(),
                field: "parent",
                effect: OnDelete::Cleared,
            });
        }
    }

    /// Policy bindings whose target is the flow, stage binding, application or device access
    /// group (deleted with it).
    fn binding_targets(&self, id: &str, out: &mut Vec<Usage>) {
        for b in self.policy_bindings.iter().filter(|b| b.target_id == id) {
            out.push(Usage {
                kind: "policy binding",
                name: format!("#{}", b.order),
                field: "target",
                effect: OnDelete::Deleted,
            });
        }
    }
}

impl Service {
    /// Every object that references the object `kind`/`id`, and what deleting it would do to
    /// each (derived from the schema's ON DELETE rules).
    pub async fn usages(&self, kind: Kind, id: &str) -> ServiceResult<Vec<Usage>> {
        let h = Holders::load(self).await?;
        let mut out = Vec::new();
        h.stage_bindings(kind, id, &mut out);
        referenced_by(
            &mut out,
            "provider",
            &h.providers,
            |p| &p.name,
            PROVIDER_REFS,
            kind,
            id,
        );
        referenced_by(
            &mut out,
            "application",
            &h.applications,
            |a| &a.name,
            APPLICATION_REFS,
            kind,
            id,
        );
        referenced_by(
            &mut out,
            "brand",
            &h.brands,
            |b| &b.domain,
            BRAND_REFS,
            kind,
            id,
        );
        referenced_by(
            &mut out,
            "connector",
            &h.connectors,
            |c| &c.name,
            CONNECTOR_REFS,
            kind,
            id,
        );
        referenced_by(
            &mut out,
            "enrollment token",
            &h.enrollment_tokens,
            |t| &t.name,
            ENROLLMENT_TOKEN_REFS,
            kind,
            id,
        );
        match kind {
            Kind::Prompt => h.prompt_stages(id, &mut out),
            Kind::Policy | Kind::Group | Kind::User => {
                h.binding_subjects(kind, id, &mut out);
                h.memberships_of(kind, id, &mut out);
                if kind == Kind::Group {
                    h.child_groups(id, &mut out);
                }
            }
            _ => {}
        }
        if matches!(
            kind,
            Kind::Flow
                | Kind::Application
                | Kind::FlowStageBinding
                | Kind::DeviceAccessGroup
                | Kind::NotificationRule
        ) {
            h.binding_targets(id, &mut out);
        }
        self.dependents(kind, id, &mut out).await?;
        Ok(out)
    }

    /// What is still in force and goes with a user, provider or application (sessions, tokens,
    /// codes, consents…), counted.
    async fn dependents(&self, kind: Kind, id: &str, out: &mut Vec<Usage>) -> ServiceResult<()> {
        let owner = match kind {
            Kind::User => store::dependents::Owner::User,
            Kind::Provider => store::dependents::Owner::Provider,
            Kind::Application => store::dependents::Owner::Application,
            _ => return Ok(()),
        };
        let mut conn = self.store().read().await?;
        for (what, n) in store::dependents::count(&mut conn, owner, id, self.now()).await? {
            out.push(Usage {
                kind: what,
                name: n.to_string(),
                field: "in force",
                effect: OnDelete::Deleted,
            });
        }
        Ok(())
    }
}
