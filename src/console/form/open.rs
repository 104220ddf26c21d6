//! Which form `n` and `e` open on each tab: new objects with authentik's defaults, and
//! existing ones loaded from the snapshot.

use serde_json::json;

use super::specs;
use super::{Form, Purpose};
use crate::console::data::Data;
use crate::console::tabs::TabId;
use crate::domain::*;
use crate::domain::{Kind, Object};
use crate::service::objects::{generate_client_id, generate_client_secret};

/// A choice `n` asks for before the form (stage type, policy type, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewChoice {
    /// A stage of this kind.
    Stage(StageKind),
    /// A policy of this kind.
    Policy(PolicyKind),
    /// Generate a certificate.
    GenerateCertificate,
    /// Import a certificate.
    ImportCertificate,
    /// A user.
    User,
    /// A group.
    Group,
    /// An OAuth2 provider.
    Provider,
    /// A scope mapping.
    ScopeMapping,
    /// A prompt (a field for prompt stages).
    Prompt,
    /// A policy binding.
    PolicyBinding,
    /// An endpoint connector.
    Connector,
    /// An enrollment token (its key is shown once).
    EnrollmentToken,
    /// A device access group.
    DeviceAccessGroup,
    /// An invitation (its link is shown once).
    Invitation,
}

/// The choices `n` offers on a tab before a form, or `None` when it opens a form directly.
pub fn new_choices(tab: TabId) -> Option<Vec<(NewChoice, String)>> {
    Some(match tab {
        TabId::Stages => StageKind::ALL
            .iter()
            .map(|k| (NewChoice::Stage(*k), format!("{} Stage", k.label())))
            .chain([(NewChoice::Prompt, "Prompt (a prompt stage's field)".into())])
            .collect(),
        TabId::Policies => PolicyKind::ALL
            .iter()
            .map(|k| (NewChoice::Policy(*k), format!("{} Policy", k.label())))
            .chain([(
                NewChoice::PolicyBinding,
                "Policy / Group / User binding".into(),
            )])
            .collect(),
        TabId::Certificates => vec![
            (
                NewChoice::GenerateCertificate,
                "Generate a self-signed certificate".into(),
            ),
            (
                NewChoice::ImportCertificate,
                "Import a PEM certificate and key".into(),
            ),
        ],
        TabId::Users => vec![
            (NewChoice::User, "User".into()),
            (NewChoice::Group, "Group".into()),
            (
                NewChoice::Invitation,
                "Invitation (the link is shown once)".into(),
            ),
        ],
        TabId::Providers => vec![
            (NewChoice::Provider, "OAuth2/OpenID Provider".into()),
            (NewChoice::ScopeMapping, "Scope Mapping".into()),
        ],
        TabId::Connectors => vec![
            (NewChoice::Connector, "Agent Connector".into()),
            (
                NewChoice::EnrollmentToken,
                "Enrollment Token (the key is shown once)".into(),
            ),
            (NewChoice::DeviceAccessGroup, "Device Access Group".into()),
        ],
        _ => return None,
    })
}

/// The form `n` opens on a tab without choices.
pub fn new_form(tab: TabId) -> Option<Form> {
    let (title, obj, fields) = match tab {
        TabId::Flows => (
            "Create Flow",
            Object::Flow(blank_flow()),
            specs::flow_fields(),
        ),
        TabId::Applications => (
            "Create Application",
            Object::Application(blank_app()),
            specs::application_fields(),
        ),
        TabId::Brands => (
            "Create Brand",
            Object::Brand(blank_brand()),
            specs::brand_fields(),
        ),
        _ => return None,
    };
    Some(with_sections(Form::new(
        title,
        obj,
        Purpose::Create,
        fields,
    )))
}

/// The sections a form's kind is grouped in (the provider's and the connector's, as
/// authentik's forms group them).
fn with_sections(form: Form) -> Form {
    let sections = match form.base {
        Object::Provider(_) => specs::PROVIDER_SECTIONS,
        Object::Connector(_) => specs::CONNECTOR_SECTIONS,
        _ => return form,
    };
    form.with_sections(sections)
}

/// authentik's "Create with Provider" (Applications, `N`): a new application and a new OAuth2
/// provider in one form.
pub fn application_with_provider_form(data: &Data) -> Form {
    super::with_provider::form(blank_app(), blank_provider(data))
}

/// The form `n` opens from the select `key` of a form over `base`, creating the object the
/// select then picks; `None` where the field has no such form.
pub fn form_for_field(base: &Object, key: &'static str, data: &Data) -> Option<Form> {
    let choice = match (base, key) {
        (Object::Application(_), "provider") => NewChoice::Provider,
        _ => return None,
    };
    let mut form = chosen_form(choice, data);
    form.select_in_parent = Some(key);
    Some(form)
}

/// A new policy binding on `target_id` (a flow, stage binding or application), ordered after
/// the target's other bindings; opened with `B` from the flow detail.
pub fn new_policy_binding_form(target_id: &str, data: &Data) -> Form {
    let order = data
        .policy_bindings
        .iter()
        .filter(|b| b.target_id == target_id)
        .map(|b| b.order)
        .max()
        .map_or(0, |o| o + 10);
    let binding = PolicyBinding {
        target_id: target_id.to_string(),
        order,
        ..blank_policy_binding()
    };
    Form::new(
        "Create Policy Binding",
        Object::PolicyBinding(binding),
        Purpose::Create,
        specs::policy_binding_fields(),
    )
}

/// The form after a [`NewChoice`].
pub fn chosen_form(choice: NewChoice, data: &Data) -> Form {
    let create = |title: &str, obj: Object, fields| {
        with_sections(Form::new(title, obj, Purpose::Create, fields))
    };
    match choice {
        NewChoice::Stage(kind) => create(
            &format!("Create {} Stage", kind.label()),
            Object::Stage(blank_stage(kind)),
            specs::stage_fields(kind),
        ),
        NewChoice::Policy(kind) => create(
            &format!("Create {} Policy", kind.label()),
            Object::Policy(blank_policy(kind)),
            specs::policy_fields(kind),
        ),
        NewChoice::GenerateCertificate => generate_certificate_form(),
        NewChoice::ImportCertificate => Form::new(
            "Import Certificate",
            Object::Certificate(blank_cert()),
            Purpose::ImportCertificate,
            specs::certificate_import_fields(),
        ),
        NewChoice::User => create(
            "Create User",
            Object::User {
                user: blank_user(),
                groups: Vec::new(),
            },
            specs::user_fields(),
        ),
        NewChoice::Group => create(
            "Create Group",
            Object::Group {
                group: blank_group(),
                users: Vec::new(),
            },
            specs::group_fields(),
        ),
        NewChoice::Provider => create(
            "Create OAuth2/OpenID Provider",
            Object::Provider(blank_provider(data)),
            specs::provider_fields(),
        ),
        NewChoice::Prompt => create(
            "Create Prompt",
            Object::Prompt(blank_prompt(data)),
            specs::prompt_fields(),
        ),
        NewChoice::PolicyBinding => create(
            "Create Policy Binding",
            Object::PolicyBinding(blank_policy_binding()),
            specs::policy_binding_fields(),
        ),
        NewChoice::Connector => create(
            "Create Connector",
            Object::Connector(blank_connector()),
            specs::connector_fields(),
        ),
        NewChoice::EnrollmentToken => enrollment_token_form(data),
        NewChoice::Invitation => invitation_form(data),
        NewChoice::DeviceAccessGroup => create(
            "Create Device Access Group",
            Object::DeviceAccessGroup(blank_device_access_group()),
            specs::device_access_group_fields(),
        ),
        NewChoice::ScopeMapping => create(
            "Create Scope Mapping",
            Object::ScopeMapping(blank_scope_mapping()),
            specs::mapping_fields(),
        ),
    }
}

/// The new enrollment token form, on the only connector when there is one.
fn enrollment_token_form(data: &Data) -> Form {
    let mut f = Form::new(
        "Create Enrollment Token",
        Object::EnrollmentToken(blank_enrollment_token()),
        Purpose::CreateEnrollmentToken,
        specs::enrollment_token_fields(),
    );
    if let [only] = data.connectors.as_slice() {
        f.set_one("connector", Some(&only.id));
    }
    f.validate();
    f.dirty = false;
    f
}

/// The new invitation form: for the default enrollment flow when it exists, single use, a week.
fn invitation_form(data: &Data) -> Form {
    let mut f = Form::new(
        "Create Invitation",
        Object::Flow(blank_flow()),
        Purpose::CreateInvitation,
        specs::invitation_fields(),
    );
    let default = data
        .flows
        .iter()
        .find(|x| x.slug == crate::service::invitations::DEFAULT_ENROLLMENT_FLOW);
    f.set_one("flow", default.map(|x| x.id.as_str()));
    f.set_text("expires_in", "days=7");
    f.set_text("fixed_data", "{}");
    f.validate();
    f.dirty = false;
    f
}

/// The self-signed certificate form, with a year's validity and RSA-4096 preset.
fn generate_certificate_form() -> Form {
    let mut f = Form::new(
        "Generate Certificate",
        Object::Certificate(blank_cert()),
        Purpose::GenerateCertificate,
        specs::certificate_generate_fields(),
    );
    f.set_text("validity_days", "365");
    f.set_one("alg", Some("rsa4096"));
    f.validate();
    f.dirty = false;
    f
}

/// The stage binding form for a flow (opened from the flow's detail).
pub fn new_binding_form(flow_id: &str, data: &Data) -> Form {
    let order = data
        .bindings
        .iter()
        .filter(|b| b.flow_id == flow_id)
        .map(|b| b.order)
        .max()
        .map_or(10, |o| o + 10);
    let b = FlowStageBinding {
        id: new_id(),
        flow_id: flow_id.to_string(),
        stage_id: String::new(),
        order,
        evaluate_on_plan: false,
        re_evaluate_policies: true,
        invalid_response_action: InvalidResponseAction::Retry,
        policy_engine_mode: PolicyEngineMode::Any,
        created_at: 0,
        updated_at: 0,
        version: 0,
    };
    Form::new(
        "Create Stage Binding",
        Object::FlowStageBinding(b),
        Purpose::Create,
        specs::binding_fields(),
    )
}

/// The object behind a row of a tab, for edit and delete: (kind, object, name to confirm).
pub fn object_for(tab: TabId, id: &str, data: &Data) -> Option<(Kind, Object, String)> {
    Some(match tab {
        TabId::Flows => data
            .flows
            .iter()
            .find(|x| x.id == id)
            .map(|x| (Kind::Flow, Object::Flow(x.clone()), x.slug.clone()))?,
        TabId::Stages => match data.stages.iter().find(|x| x.id == id) {
            Some(x) => (Kind::Stage, Object::Stage(x.clone()), x.name.clone()),
            None => data
                .prompts
                .iter()
                .find(|x| x.id == id)
                .map(|x| (Kind::Prompt, Object::Prompt(x.clone()), x.name.clone()))?,
        },
        TabId::Policies => match data.policies.iter().find(|x| x.id == id) {
            Some(x) => (Kind::Policy, Object::Policy(x.clone()), x.name.clone()),
            None => data.policy_bindings.iter().find(|x| x.id == id).map(|x| {
                (
                    Kind::PolicyBinding,
                    Object::PolicyBinding(x.clone()),
                    format!("binding {}", x.order),
                )
            })?,
        },
        TabId::Applications => data.applications.iter().find(|x| x.id == id).map(|x| {
            (
                Kind::Application,
                Object::Application(x.clone()),
                x.slug.clone(),
            )
        })?,
        TabId::Providers => match data.providers.iter().find(|x| x.id == id) {
            Some(x) => (Kind::Provider, Object::Provider(x.clone()), x.name.clone()),
            None => data.scope_mappings.iter().find(|x| x.id == id).map(|x| {
                (
                    Kind::ScopeMapping,
                    Object::ScopeMapping(x.clone()),
                    x.name.clone(),
                )
            })?,
        },
        TabId::Certificates => data.certificates.iter().find(|x| x.id == id).map(|x| {
            (
                Kind::Certificate,
                Object::Certificate(x.clone()),
                x.name.clone(),
            )
        })?,
        TabId::Brands => data
            .brands
            .iter()
            .find(|x| x.id == id)
            .map(|x| (Kind::Brand, Object::Brand(x.clone()), x.domain.clone()))?,
        TabId::Connectors => {
            if let Some(x) = data.connectors.iter().find(|x| x.id == id) {
                (
                    Kind::Connector,
                    Object::Connector(x.clone()),
                    x.name.clone(),
                )
            } else if let Some(x) = data.device_access_groups.iter().find(|x| x.id == id) {
                (
                    Kind::DeviceAccessGroup,
                    Object::DeviceAccessGroup(x.clone()),
                    x.name.clone(),
                )
            } else {
                data.enrollment_tokens
                    .iter()
                    .find(|x| x.id == id)
                    .map(|x| {
                        (
                            Kind::EnrollmentToken,
                            Object::EnrollmentToken(x.clone()),
                            x.name.clone(),
                        )
                    })?
            }
        }
        TabId::Users => {
            if let Some(u) = data.users.iter().find(|x| x.id == id) {
                let groups = data
                    .memberships
                    .iter()
                    .filter(|(uid, _)| *uid == u.id)
                    .map(|(_, g)| g.clone())
                    .collect();
                (
                    Kind::User,
                    Object::User {
                        user: u.clone(),
                        groups,
                    },
                    u.username.clone(),
                )
            } else {
                let g = data.groups.iter().find(|x| x.id == id)?;
                let users = data
                    .memberships
                    .iter()
                    .filter(|(_, gid)| *gid == g.id)
                    .map(|(u, _)| u.clone())
                    .collect();
                (
                    Kind::Group,
                    Object::Group {
                        group: g.clone(),
                        users,
                    },
                    g.name.clone(),
                )
            }
        }
        _ => return None,
    })
}

/// The edit form of an object.
pub fn edit_form(obj: Object) -> Form {
    let (title, fields) = match &obj {
        Object::Flow(_) => ("Update Flow", specs::flow_fields()),
        Object::Stage(s) => (s.kind().label(), specs::stage_fields(s.kind())),
        Object::Policy(p) => (p.kind().label(), specs::policy_fields(p.kind())),
        Object::Application(_) => ("Update Application", specs::application_fields()),
        Object::Provider(_) => ("Update OAuth2/OpenID Provider", specs::provider_fields()),
        Object::ScopeMapping(_) => ("Update Scope Mapping", specs::mapping_fields()),
        Object::Certificate(_) => ("Update Certificate", specs::certificate_edit_fields()),
        Object::Brand(_) => ("Update Brand", specs::brand_fields()),
        Object::Connector(_) => ("Update Connector", specs::connector_fields()),
        Object::User { .. } => ("Update User", specs::user_fields()),
        Object::Group { .. } => ("Update Group", specs::group_fields()),
        Object::FlowStageBinding(_) => ("Update Stage Binding", specs::binding_fields()),
        Object::Prompt(_) => ("Update Prompt", specs::prompt_fields()),
        Object::PolicyBinding(_) => ("Update Policy Binding", specs::policy_binding_fields()),
        Object::DeviceAccessGroup(_) => (
            "Update Device Access Group",
            specs::device_access_group_fields(),
        ),
        // A token is made (key shown once) and revoked, never edited (authentik's own form
        // edits only the name and expiry; revoke and make a new one instead).
        Object::EnrollmentToken(_) => ("Update Enrollment Token", Vec::new()),
        // Managed by blueprints so far; the console lists what users received.
        Object::NotificationTransport(_) => ("Update Notification Transport", Vec::new()),
        Object::NotificationRule(_) => ("Update Notification Rule", Vec::new()),
    };
    let title = match &obj {
        Object::Stage(_) | Object::Policy(_) => format!("Update {title}"),
        _ => title.to_string(),
    };
    with_sections(Form::new(&title, obj, Purpose::Update, fields))
}

/// The "set password" form of a user.
pub fn password_form(user: &User) -> Form {
    Form::new(
        &format!("Set password of {}", user.username),
        Object::User {
            user: user.clone(),
            groups: Vec::new(),
        },
        Purpose::SetPassword(user.id.clone()),
        specs::password_fields(),
    )
}

/// The new app password / API token form of a user (an app password, never expiring, unless
/// the admin picks otherwise).
pub fn token_form(user: &User) -> Form {
    let mut form = Form::new(
        &format!("New token for {}", user.username),
        Object::User {
            user: user.clone(),
            groups: Vec::new(),
        },
        Purpose::CreateToken(user.id.clone(), user.username.clone()),
        specs::token_fields(),
    );
    form.set_one(
        "intent",
        Some(crate::service::accounts::TokenIntent::AppPassword.as_str()),
    );
    form.validate();
    form.dirty = false;
    form
}

/// The certificate export form, with `<name>.pem` / `<name>.key` in the working directory
/// filled in (the key only when the keypair has one).
pub fn export_form(cert: &crate::domain::CertificateKeypair) -> Form {
    let mut form = Form::new(
        &format!("Export {}", cert.name),
        Object::Certificate(cert.clone()),
        Purpose::ExportCertificate(cert.id.clone()),
        specs::export_fields(),
    );
    let stem: String = cert
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    form.set_text("certificate_path", &format!("{stem}.pem"));
    if cert.key_pem.is_some() {
        form.set_text("key_path", &format!("{stem}.key"));
    }
    form
}

/// The Flows tab's Import form (the base object is unused: nothing is built from it).
pub fn import_form() -> Form {
    Form::new(
        "Import blueprint",
        Object::Flow(blank_flow()),
        Purpose::ImportBlueprint,
        specs::import_fields(),
    )
}

fn blank_stage(kind: StageKind) -> Stage {
    Stage {
        id: new_id(),
        name: String::new(),
        settings: StageSettings::for_new(kind),
        created_at: 0,
        updated_at: 0,
        version: 0,
    }
}

fn blank_policy(kind: PolicyKind) -> Policy {
    Policy {
        id: new_id(),
        name: String::new(),
        settings: PolicySettings::for_new(kind),
        execution_logging: false,
        created_at: 0,
        updated_at: 0,
        version: 0,
    }
}

/// A new prompt, ordered after the existing ones.
fn blank_prompt(data: &Data) -> Prompt {
    Prompt {
        id: new_id(),
        name: String::new(),
        field_key: String::new(),
        label: String::new(),
        field_type: "text".into(),
        required: true,
        placeholder: String::new(),
        initial_value: String::new(),
        sub_text: String::new(),
        order: data
            .prompts
            .iter()
            .map(|p| p.order)
            .max()
            .map_or(0, |o| o + 1),
        placeholder_expression: false,
        initial_value_expression: false,
        created_at: 0,
        updated_at: 0,
        version: 0,
    }
}

fn blank_policy_binding() -> PolicyBinding {
    PolicyBinding {
        id: new_id(),
        target_id: String::new(),
        subject: BindingSubject::Policy(String::new()),
        order: 0,
        enabled: true,
        negate: false,
        timeout: 30,
        failure_result: false,
        created_at: 0,
        updated_at: 0,
        version: 0,
    }
}

fn blank_scope_mapping() -> ScopeMapping {
    ScopeMapping {
        id: new_id(),
        name: String::new(),
        managed: None,
        scope_name: String::new(),
        description: String::new(),
        expression: "return {}".into(),
        created_at: 0,
        updated_at: 0,
        version: 0,
    }
}

pub(crate) fn blank_flow() -> Flow {
    Flow {
        id: new_id(),
        name: String::new(),
        slug: String::new(),
        title: String::new(),
        designation: FlowDesignation::Authentication,
        authentication: FlowAuthentication::None,
        denied_action: DeniedAction::MessageContinue,
        policy_engine_mode: PolicyEngineMode::Any,
        layout: FlowLayout::Stacked,
        compatibility_mode: false,
        background: String::new(),
        created_at: 0,
        updated_at: 0,
        version: 0,
    }
}

fn blank_app() -> Application {
    Application {
        id: new_id(),
        ..Application::default()
    }
}

fn blank_brand() -> Brand {
    Brand {
        id: new_id(),
        domain: String::new(),
        default: false,
        branding_title: "authentik".into(),
        branding_logo: String::new(),
        branding_favicon: String::new(),
        branding_custom_css: String::new(),
        flow_authentication_id: None,
        flow_invalidation_id: None,
        flow_recovery_id: None,
        flow_unenrollment_id: None,
        flow_user_settings_id: None,
        flow_device_code_id: None,
        web_certificate_id: None,
        default_application_id: None,
        attributes: json!({}),
        created_at: 0,
        updated_at: 0,
        version: 0,
    }
}

fn blank_connector() -> Connector {
    Connector {
        id: new_id(),
        name: String::new(),
        enabled: true,
        authorization_flow_id: None,
        challenge_key_id: None,
        settings: ConnectorSettings::default_for(ConnectorKind::Agent),
        created_at: 0,
        updated_at: 0,
        version: 0,
    }
}

fn blank_device_access_group() -> DeviceAccessGroup {
    DeviceAccessGroup {
        id: new_id(),
        name: String::new(),
        attributes: json!({}),
        created_at: 0,
        updated_at: 0,
        version: 0,
    }
}

/// The base object of the enrollment token form (its fields are read, not written onto it).
fn blank_enrollment_token() -> EnrollmentToken {
    EnrollmentToken {
        id: new_id(),
        name: String::new(),
        connector_id: String::new(),
        device_group_id: None,
        key_digest: String::new(),
        expiring: false,
        expires_at: None,
        created_at: 0,
        updated_at: 0,
        version: 0,
    }
}

fn blank_cert() -> CertificateKeypair {
    CertificateKeypair {
        id: new_id(),
        ..CertificateKeypair::default()
    }
}

fn blank_user() -> User {
    User {
        created_at: 0,
        updated_at: 0,
        version: 0,
        ..User::new_internal("", "", "", 0)
    }
}

fn blank_group() -> Group {
    Group {
        id: new_id(),
        name: String::new(),
        is_superuser: false,
        parent_id: None,
        attributes: json!({}),
        member_count: 0,
        created_at: 0,
        updated_at: 0,
        version: 0,
    }
}

/// The scope mappings authentik's provider form selects for a new provider (its
/// `defaultScopes`): openid, email and profile; offline_access and the API scope are chosen
/// by hand.
pub const DEFAULT_SCOPES: &[&str] = &[
    "goauthentik.io/providers/oauth2/scope-openid",
    "goauthentik.io/providers/oauth2/scope-email",
    "goauthentik.io/providers/oauth2/scope-profile",
];

fn blank_provider(data: &Data) -> Provider {
    let first = |d: FlowDesignation| {
        data.flows
            .iter()
            .find(|f| f.designation == d)
            .map(|f| f.id.clone())
    };
    Provider {
        id: new_id(),
        name: String::new(),
        client_id: generate_client_id(),
        authorization_flow_id: first(FlowDesignation::Authorization),
        authentication_flow_id: None,
        invalidation_flow_id: first(FlowDesignation::Invalidation),
        signing_key_id: data
            .certificates
            .iter()
            .find(|c| c.key_pem.is_some())
            .map(|c| c.id.clone()),
        encryption_key_id: None,
        scope_mapping_ids: data
            .scope_mappings
            .iter()
            .filter(|m| {
                m.managed
                    .as_deref()
                    .is_some_and(|id| DEFAULT_SCOPES.contains(&id))
            })
            .map(|m| m.id.clone())
            .collect(),
        oauth2: OAuth2Settings {
            client_secret: generate_client_secret(),
            ..OAuth2Settings::default()
        },
        created_at: 0,
        updated_at: 0,
        version: 0,
    }
}
