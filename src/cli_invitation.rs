//! `latchkey invitation create|list|delete`: invitations from the shell, through the same
//! use-cases as the console. The link goes to stdout (so `> link.txt` keeps it); a summary goes
//! to stderr.

use crate::cli::InvitationCommand;
use crate::cli_user::when;
use crate::domain::Duration;
use crate::service::invitations::NewInvitation;
use crate::service::{Service, ServiceError};

/// Why an invitation command failed.
#[derive(Debug, thiserror::Error)]
pub enum InvitationCliError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("{0}")]
    Refused(String),
}

/// What a command prints: `stdout` for scripts, `summary` for the person at the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationOutput {
    pub stdout: String,
    pub summary: String,
}

/// Who runs the CLI, for the audit trail (the OS user; never a secret).
fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

/// Runs the command.
pub async fn run(
    service: &Service,
    cmd: InvitationCommand,
) -> Result<InvitationOutput, InvitationCliError> {
    match cmd {
        InvitationCommand::Create {
            name,
            flow,
            expires,
            multi_use,
            fixed_data,
        } => {
            let expires_in = expires
                .map(|e| {
                    Duration::parse(&e).map_err(|err| {
                        InvitationCliError::Refused(format!(
                            "--expires {e}: {}; write e.g. days=7",
                            err.reason
                        ))
                    })
                })
                .transpose()?;
            let fixed_data = serde_json::from_str(&fixed_data).map_err(|e| {
                InvitationCliError::Refused(format!(
                    "--fixed-data is not JSON ({e}); write e.g. '{{\"email\": \"ann@example.com\"}}'"
                ))
            })?;
            let created = service
                .create_invitation(&NewInvitation {
                    name,
                    flow: Some(flow),
                    fixed_data,
                    single_use: !multi_use,
                    expires_in,
                    created_by: cli_actor(),
                })
                .await?;
            let i = &created.invitation;
            Ok(InvitationOutput {
                stdout: format!("{}\n", created.url),
                summary: format!(
                    "created invitation {} ({}, expires {}); the link above is shown only now",
                    i.name,
                    if i.single_use {
                        "single use"
                    } else {
                        "multi use"
                    },
                    when(i.expires_at)
                ),
            })
        }
        InvitationCommand::List => {
            let all = service.list_invitations().await?;
            let mut out = String::new();
            for i in &all {
                out.push_str(&format!(
                    "{}\t{}\t{}\t{}\texpires {}\tby {}\n",
                    i.name,
                    i.flow.as_deref().unwrap_or("-"),
                    if i.single_use {
                        "single-use"
                    } else {
                        "multi-use"
                    },
                    i.fixed_data,
                    when(i.expires_at),
                    i.created_by
                ));
            }
            Ok(InvitationOutput {
                stdout: out,
                summary: format!("{} invitation(s)", all.len()),
            })
        }
        InvitationCommand::Delete { name } => {
            let gone = service.delete_invitation(&name).await?;
            Ok(InvitationOutput {
                stdout: String::new(),
                summary: format!("deleted invitation {}", gone.name),
            })
        }
    }
}
