//! What the I/O-free app asks the event loop to do through the service, and what came back.
//! The loop (and the tests) run [`execute`] and feed the [`Outcome`] to the app.

use crate::domain::{Application, Kind, Object, Provider};
use crate::service::accounts::NewToken;
use crate::service::blueprints::{ApplyReport, Source};
use crate::service::certificates::KeyAlgorithm;
use crate::service::enrollment::NewEnrollmentToken;
use crate::service::inspect::{
    AccessCheck, AccessCheckInput, PolicyTest, PolicyTestInput, Simulation, SimulationInput,
};
use crate::service::invitations::NewInvitation;
use crate::service::token_preview::{TokenPreview, TokenPreviewInput};
use crate::service::usages::Usage;
use crate::service::{Service, ServiceError};

/// A dry run's typed input, as the service takes it.
#[derive(Debug, Clone)]
pub enum DryRunInput {
    /// See [`Service::simulate_flow`].
    Simulate(SimulationInput),
    /// See [`Service::test_policy`].
    TestPolicy(PolicyTestInput),
    /// See [`Service::check_access`].
    CheckAccess(AccessCheckInput),
    /// See [`Service::preview_tokens`].
    PreviewTokens(TokenPreviewInput),
}

/// A dry run's answer.
#[derive(Debug, Clone)]
pub enum DryRunAnswer {
    /// The simulated plan.
    Simulation(Simulation),
    /// The policy's result.
    PolicyTest(PolicyTest),
    /// May the user use the application.
    AccessCheck(AccessCheck),
    /// The claims the provider would issue.
    Tokens(TokenPreview),
}

/// A use-case call the app wants made.
#[derive(Debug, Clone)]
pub enum Request {
    /// Insert or update one object.
    Save {
        /// The object (boxed: it is by far the largest variant).
        obj: Box<Object>,
        /// Insert rather than update.
        is_new: bool,
    },
    /// Generate and store a self-signed certificate.
    GenerateCertificate {
        /// Keypair name.
        name: String,
        /// Subject common name.
        common_name: String,
        /// Subject alternative names.
        sans: Vec<String>,
        /// Validity in days.
        days: i64,
        /// Key algorithm.
        algorithm: KeyAlgorithm,
    },
    /// Import a PEM certificate and optional key.
    ImportCertificate {
        /// Keypair name.
        name: String,
        /// Certificate PEM.
        certificate: String,
        /// Key PEM, if any.
        key: Option<String>,
    },
    /// Set a user's password.
    SetPassword {
        /// The user.
        user_id: String,
        /// The new password.
        password: String,
    },
    /// Find what uses an object, to open the delete dialog.
    Usages {
        /// Its kind.
        kind: Kind,
        /// Its id.
        id: String,
        /// What the admin types to confirm.
        name: String,
    },
    /// Write a certificate (and its key) to files.
    ExportCertificate {
        /// The keypair.
        id: String,
        /// Where the certificate goes.
        certificate_path: String,
        /// Where the key goes (empty: not exported).
        key_path: String,
    },
    /// Record in the audit trail that a secret was revealed or copied (nothing is shown).
    SecretView {
        /// The object holding it.
        kind: Kind,
        /// Its id.
        id: String,
        /// The field (authentik's name, e.g. `client_secret`).
        field: &'static str,
        /// "reveal" or "copy".
        how: &'static str,
    },
    /// End a session and revoke the tokens issued in it.
    RevokeSession {
        /// The session's id.
        id: String,
        /// For the message (its client IP).
        label: String,
    },
    /// Read a blueprint file and work out what applying it would change (nothing is written).
    PreviewBlueprint {
        /// The path the admin typed.
        path: String,
    },
    /// Apply blueprint text read by a preview, in one transaction.
    ApplyBlueprint {
        /// The path, for the message.
        file: String,
        /// The text that was previewed.
        sources: Vec<Source>,
    },
    /// Create an application and its new provider in one transaction.
    CreateApplicationWithProvider {
        /// The application (its provider is set to `provider`).
        application: Box<Application>,
        /// The provider.
        provider: Box<Provider>,
    },
    /// One of the inspector's dry runs (nothing is written).
    DryRun {
        /// The result window's title.
        title: String,
        /// What to run (boxed: a simulation's input is large).
        input: Box<DryRunInput>,
    },
    /// Make an enrollment token; its key comes back once.
    CreateEnrollmentToken(NewEnrollmentToken),
    /// Make an invitation; its link comes back once.
    CreateInvitation(NewInvitation),
    /// Delete an invitation (its link stops working).
    DeleteInvitation {
        /// Its id.
        id: String,
        /// What the status line calls it.
        name: String,
    },
    /// A recovery link for a user (`Service::create_recovery_link`); it comes back once.
    CreateRecoveryLink {
        /// The user's id.
        user_id: String,
        /// For the message.
        username: String,
    },
    /// Email a user a recovery link (`Service::send_recovery_email`).
    SendRecoveryEmail {
        /// The user's id.
        user_id: String,
        /// For the message.
        username: String,
    },
    /// Read the events the Events tab's audit filter lets through.
    QueryEvents(crate::domain::EventFilter),
    /// Read a device's latest facts for its detail.
    DeviceFacts {
        /// The device's id.
        id: String,
    },
    /// A change to one user's account from the user detail.
    Account(AccountChange),
    /// Delete an object.
    Delete {
        /// Its kind.
        kind: Kind,
        /// Its id.
        id: String,
        /// For the message.
        name: String,
    },
}

/// A change to one user's account (the user detail's authenticators, consents and tokens);
/// `label` names the item in the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    /// Delete one authenticator.
    DeleteAuthenticator {
        /// Whose.
        user_id: String,
        /// The device's id.
        id: String,
        /// How the message names it.
        label: String,
    },
    /// Delete every authenticator ("MFA reset").
    ResetMfa {
        /// Whose.
        user_id: String,
        /// For the message.
        username: String,
    },
    /// Forget one consent.
    RevokeConsent {
        /// Whose.
        user_id: String,
        /// The consent's id.
        id: String,
        /// How the message names it (the application).
        label: String,
    },
    /// Revoke one app password or API token.
    RevokeToken {
        /// Whose.
        user_id: String,
        /// The token's id.
        id: String,
        /// How the message names it (its identifier).
        label: String,
    },
    /// Make a token; its key comes back once.
    CreateToken {
        /// For whom.
        user_id: String,
        /// For the message.
        username: String,
        /// What kind, what for, how long.
        new: NewToken,
    },
}

/// Where the console's account changes say they came from (in their events).
const CONSOLE: &str = "console";

/// Carries out an account change; deletions answer [`Outcome::Deleted`] so the dialog closes
/// over the user detail, a new token [`Outcome::SecretShownOnce`].
async fn account(service: &Service, change: AccountChange) -> Outcome {
    let done = |r: Result<String, ServiceError>| match r {
        Ok(msg) => Outcome::Deleted(msg),
        Err(e) => Outcome::Failed(e),
    };
    match change {
        AccountChange::DeleteAuthenticator { user_id, id, label } => done(
            service
                .delete_authenticator(&user_id, &id, CONSOLE)
                .await
                .map(|()| format!("deleted authenticator {label}")),
        ),
        AccountChange::ResetMfa { user_id, username } => done(
            service
                .reset_authenticators(&user_id, CONSOLE)
                .await
                .map(|n| format!("MFA reset: deleted {n} authenticator(s) of {username}")),
        ),
        AccountChange::RevokeConsent { user_id, id, label } => done(
            service
                .revoke_consent(&user_id, &id, CONSOLE)
                .await
                .map(|()| format!("revoked the consent to {label}")),
        ),
        AccountChange::RevokeToken { user_id, id, label } => done(
            service
                .revoke_token(&user_id, &id, CONSOLE)
                .await
                .map(|()| format!("revoked token {label}")),
        ),
        AccountChange::CreateToken {
            user_id,
            username,
            new,
        } => match service.create_token(&user_id, &new, CONSOLE).await {
            Ok(created) => Outcome::SecretShownOnce {
                message: format!(
                    "created {} {} for {username}",
                    new.intent.label().to_lowercase(),
                    created.token.identifier
                ),
                what: format!("the {} of {username}", new.intent.label().to_lowercase()),
                secret: created.key,
            },
            Err(e) => Outcome::Failed(e),
        },
    }
}

/// What a request came back with.
#[derive(Debug)]
pub enum Outcome {
    /// Saved; the message goes to the status line.
    Saved(String),
    /// The use-case refused or failed; the form or dialog shows why.
    Failed(ServiceError),
    /// The objects using a delete target.
    Usages {
        /// Its kind.
        kind: Kind,
        /// Its id.
        id: String,
        /// What the admin types to confirm.
        name: String,
        /// Who uses it and how.
        usages: Vec<Usage>,
        /// Why it cannot be deleted at all (the last superuser).
        refused: Option<String>,
    },
    /// Deleted.
    Deleted(String),
    /// What importing a blueprint would change.
    Preview {
        /// The path the admin typed.
        file: String,
        /// The text read.
        sources: Vec<Source>,
        /// The counts.
        report: ApplyReport,
    },
    /// A blueprint could not be read, checked or applied (file, line and entry named).
    BlueprintFailed(String),
    /// A dry run's answer.
    DryRun {
        /// The result window's title.
        title: String,
        /// The answer (boxed: a simulation is large).
        answer: Box<DryRunAnswer>,
    },
    /// The events an audit filter let through, newest first.
    Events {
        /// The filter asked.
        filter: crate::domain::EventFilter,
        /// Its answer.
        events: Vec<crate::domain::Event>,
    },
    /// A device's latest facts as detail rows (`None`: the device is gone).
    DeviceFacts {
        /// The device's id.
        id: String,
        /// `(section, line)` rows.
        rows: Option<Vec<(String, String)>>,
    },
    /// Recorded, with nothing to tell (the status line keeps what it says).
    Noted,
    /// Saved, with a secret that is shown now and never again (an enrollment token's key).
    SecretShownOnce {
        /// The status line's message.
        message: String,
        /// What the secret is ("the enrollment key of workstations").
        what: String,
        /// The secret.
        secret: String,
    },
}

/// Runs one request against the service.
pub async fn execute(service: &Service, request: Request) -> Outcome {
    match request {
        Request::Save { obj, is_new } => {
            let what = describe(&obj);
            let verb = if is_new { "created" } else { "saved" };
            saved(service.save(&obj, is_new).await, |()| {
                format!("{verb} {what}")
            })
        }
        Request::CreateApplicationWithProvider {
            application,
            provider,
        } => saved(
            service
                .create_application_with_provider(&application, &provider)
                .await,
            |()| {
                format!(
                    "created application {} with provider {}",
                    application.slug, provider.name
                )
            },
        ),
        Request::Usages { kind, id, name } => usages(service, kind, id, name).await,
        Request::QueryEvents(filter) => match service.query_events(&filter).await {
            Ok(events) => Outcome::Events { filter, events },
            Err(e) => Outcome::Failed(e),
        },
        Request::DeviceFacts { id } => match service.device_detail(&id).await {
            Ok(detail) => Outcome::DeviceFacts {
                rows: detail
                    .map(|d| crate::console::facts::fact_rows(d.facts.as_ref().map(|f| &f.data.0))),
                id,
            },
            Err(e) => Outcome::Failed(e),
        },
        Request::CreateEnrollmentToken(new) => match service.create_enrollment_token(&new).await {
            Ok(created) => Outcome::SecretShownOnce {
                message: format!("created enrollment token {}", created.token.name),
                what: format!("the enrollment key of {}", created.token.name),
                secret: created.key,
            },
            Err(e) => Outcome::Failed(e),
        },
        Request::CreateInvitation(new) => match service.create_invitation(&new).await {
            Ok(created) => Outcome::SecretShownOnce {
                message: format!("created invitation {}", created.invitation.name),
                what: format!("the link of invitation {}", created.invitation.name),
                secret: created.url,
            },
            Err(e) => Outcome::Failed(e),
        },
        Request::DeleteInvitation { id, name } => match service.delete_invitation(&id).await {
            Ok(_) => Outcome::Deleted(format!("deleted {name}")),
            Err(e) => Outcome::Failed(e),
        },
        Request::Account(change) => account(service, change).await,
        Request::CreateRecoveryLink { user_id, username } => {
            let lifetime = crate::service::recovery::DEFAULT_LINK_LIFETIME;
            match service.create_recovery_link(&user_id, lifetime).await {
                Ok(link) => Outcome::SecretShownOnce {
                    message: format!("created a recovery link for {username}"),
                    what: format!("the recovery link of {username} (works once, for a day)"),
                    secret: link.url,
                },
                Err(e) => Outcome::Failed(e),
            }
        }
        Request::SendRecoveryEmail { user_id, username } => {
            saved(service.send_recovery_email(&user_id).await, |to| {
                format!("recovery email for {username} sent to {to}")
            })
        }
        Request::Delete { kind, id, name } => match service.delete_object(kind, &id).await {
            Ok(()) => Outcome::Deleted(format!("deleted {name}")),
            Err(e) => Outcome::Failed(e),
        },
        Request::SetPassword { user_id, password } => saved(
            service
                .set_user_password(&user_id, &password, "console")
                .await,
            |()| "password set".into(),
        ),
        Request::RevokeSession { id, label } => saved(service.revoke_session(&id).await, |n| {
            format!(
                "revoked the session from {label} and {n} token{} issued in it",
                if n == 1 { "" } else { "s" }
            )
        }),
        Request::SecretView {
            kind,
            id,
            field,
            how,
        } => match service.record_secret_view(kind, &id, field, how).await {
            Ok(()) => Outcome::Noted,
            Err(e) => Outcome::Failed(e),
        },
        Request::PreviewBlueprint { path } => preview(service, path).await,
        Request::ApplyBlueprint { file, sources } => {
            match service.apply_blueprints(&sources).await {
                Ok(report) => Outcome::Saved(format!("imported {file}: {report}")),
                Err(e) => import_failed(&file, e.to_string()),
            }
        }
        Request::GenerateCertificate {
            name,
            common_name,
            sans,
            days,
            algorithm,
        } => saved(
            service
                .generate_certificate(&name, &common_name, &sans, days, algorithm)
                .await,
            |_| format!("generated certificate {name}"),
        ),
        Request::ImportCertificate {
            name,
            certificate,
            key,
        } => saved(
            service
                .import_certificate(&name, &certificate, key.as_deref())
                .await,
            |_| format!("imported certificate {name}"),
        ),
        Request::ExportCertificate {
            id,
            certificate_path,
            key_path,
        } => export(service, &id, &certificate_path, &key_path).await,
        Request::DryRun { title, input } => match dry_run(service, *input).await {
            Ok(answer) => Outcome::DryRun {
                title,
                answer: Box::new(answer),
            },
            Err(e) => Outcome::Failed(e),
        },
    }
}

/// Runs one of the inspector's dry runs (the service writes nothing).
async fn dry_run(service: &Service, input: DryRunInput) -> Result<DryRunAnswer, ServiceError> {
    Ok(match input {
        DryRunInput::Simulate(i) => DryRunAnswer::Simulation(service.simulate_flow(&i).await?),
        DryRunInput::TestPolicy(i) => DryRunAnswer::PolicyTest(service.test_policy(&i).await?),
        DryRunInput::CheckAccess(i) => DryRunAnswer::AccessCheck(service.check_access(&i).await?),
        DryRunInput::PreviewTokens(i) => DryRunAnswer::Tokens(service.preview_tokens(&i).await?),
    })
}

/// A use-case's result as the status line's message, or the failure to show.
fn saved<T>(result: Result<T, ServiceError>, message: impl FnOnce(T) -> String) -> Outcome {
    match result {
        Ok(v) => Outcome::Saved(message(v)),
        Err(e) => Outcome::Failed(e),
    }
}

/// What uses a delete target, and whether it may go at all (the last superuser may not).
async fn usages(service: &Service, kind: Kind, id: String, name: String) -> Outcome {
    let refused = if kind == Kind::User {
        match service.is_last_superuser(&id).await {
            Ok(true) => Some("this is the last active superuser: it cannot be deleted".into()),
            Ok(false) => None,
            Err(e) => return Outcome::Failed(e),
        }
    } else {
        None
    };
    match service.usages(kind, &id).await {
        Ok(usages) => Outcome::Usages {
            kind,
            id,
            name,
            usages,
            refused,
        },
        Err(e) => Outcome::Failed(e),
    }
}

/// Reads a blueprint file and works out what applying it would change.
async fn preview(service: &Service, path: String) -> Outcome {
    let sources = match crate::service::blueprints::read_sources(&[path.as_str()]) {
        Ok(s) => s,
        Err(e) => return import_failed(&path, e.to_string()),
    };
    match service.preview_blueprints(&sources).await {
        Ok(report) => Outcome::Preview {
            file: path,
            sources,
            report,
        },
        Err(e) => import_failed(&path, e.to_string()),
    }
}

/// A failed import, whole in the log as well (the screen may have to cut it).
fn import_failed(file: &str, error: String) -> Outcome {
    tracing::warn!(file, %error, "blueprint import failed");
    Outcome::BlueprintFailed(error)
}

/// Writes a certificate (and its key, unless `key_path` is empty) to files.
async fn export(service: &Service, id: &str, certificate_path: &str, key_path: &str) -> Outcome {
    let key = (!key_path.is_empty()).then(|| std::path::Path::new(key_path));
    let result = service
        .export_certificate(id, std::path::Path::new(certificate_path), key)
        .await;
    saved(result, |()| match key {
        Some(_) => format!(
            "exported the certificate to {certificate_path} and the key to {key_path} (0600)"
        ),
        None => format!("exported the certificate to {certificate_path}"),
    })
}

/// How the status line names a saved object.
fn describe(obj: &Object) -> String {
    match obj {
        Object::Flow(f) => format!("flow {}", f.slug),
        Object::Stage(s) => format!("stage {}", s.name),
        Object::FlowStageBinding(b) => format!("binding #{}", b.order),
        Object::Prompt(p) => format!("prompt {}", p.name),
        Object::Policy(p) => format!("policy {}", p.name),
        Object::PolicyBinding(b) => format!("policy binding #{}", b.order),
        Object::Application(a) => format!("application {}", a.slug),
        Object::Provider(p) => format!("provider {}", p.name),
        Object::ScopeMapping(m) => format!("scope mapping {}", m.name),
        Object::Certificate(c) => format!("certificate {}", c.name),
        Object::Brand(b) => format!("brand {}", b.domain),
        Object::Connector(c) => format!("connector {}", c.name),
        Object::DeviceAccessGroup(g) => format!("device access group {}", g.name),
        Object::EnrollmentToken(t) => format!("enrollment token {}", t.name),
        Object::NotificationTransport(t) => format!("notification transport {}", t.name),
        Object::NotificationRule(r) => format!("notification rule {}", r.name),
        Object::User { user, .. } => format!("user {}", user.username),
        Object::Group { group, .. } => format!("group {}", group.name),
    }
}
