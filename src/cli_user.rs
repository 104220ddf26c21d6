//! `latchkey user create|set-password|recovery-link|recovery-email`: bootstrap or recover accounts from the shell, through the
//! same use-cases as the console. Passwords come from the terminal without echo (rpassword) or
//! from stdin when it is not a terminal.

use std::io::{BufRead, IsTerminal};

use crate::cli::UserCommand;
use crate::service::users::MIN_PASSWORD_CHARS;
use crate::service::{Service, ServiceError};

/// Why a user command failed.
#[derive(Debug, thiserror::Error)]
pub enum UserCliError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("cannot read the password: {0}")]
    Read(String),
    #[error("{0}")]
    Refused(String),
}

fn read_password() -> Result<String, UserCliError> {
    let pw = if std::io::stdin().is_terminal() {
        let a = rpassword::prompt_password("New password: ")
            .map_err(|e| UserCliError::Read(e.to_string()))?;
        let b = rpassword::prompt_password("Repeat it: ")
            .map_err(|e| UserCliError::Read(e.to_string()))?;
        if a != b {
            return Err(UserCliError::Refused(
                "the passwords differ; nothing was changed".into(),
            ));
        }
        a
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| UserCliError::Read(e.to_string()))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    if pw.chars().count() < MIN_PASSWORD_CHARS {
        return Err(UserCliError::Refused(format!(
            "use a password of at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    Ok(pw)
}

/// Runs the command; returns a one-line summary for stderr.
pub async fn run(service: &Service, cmd: UserCommand) -> Result<String, UserCliError> {
    match cmd {
        UserCommand::Create {
            name,
            email,
            superuser,
        } => {
            service
                .create_user(&name, email.as_deref().unwrap_or_default(), superuser)
                .await?;
            Ok(format!(
                "created user {name}; set a password with `latchkey user set-password {name}`"
            ))
        }
        UserCommand::SetPassword { name } => {
            let user = find(service, &name).await?;
            let pw = read_password()?;
            service.set_user_password(&user.id, &pw, "cli").await?;
            Ok(format!("password of {name} set"))
        }
        UserCommand::RecoveryLink { name, valid_for } => {
            let user = find(service, &name).await?;
            let seconds = i64::try_from(valid_for.as_secs()).unwrap_or(i64::MAX);
            let link = service.create_recovery_link(&user.id, seconds).await?;
            // The link on stdout alone, so it can be piped; the summary goes to stderr.
            println!("{}", link.url);
            Ok(format!(
                "recovery link for {name} printed; it works once, for {}",
                crate::domain::Duration::from_seconds(seconds).human()
            ))
        }
        UserCommand::RecoveryEmail { name } => {
            let user = find(service, &name).await?;
            let to = service.send_recovery_email(&user.id).await?;
            Ok(format!("recovery email for {name} sent to {to}"))
        }
    }
}

/// The user named `name`, or a refusal saying there is none.
async fn find(service: &Service, name: &str) -> Result<crate::domain::User, UserCliError> {
    service
        .user_by_username(name)
        .await?
        .ok_or_else(|| UserCliError::Refused(format!("no user named {name}")))
}
