//! `latchkey user create|set-password|token|mfa|recovery-link|recovery-email`: bootstrap or
//! recover accounts from the shell, through the same use-cases as the console. Passwords come
//! from the terminal without echo (rpassword) or from stdin when it is not a terminal. A new
//! token's key or a recovery link is printed on stdout once; lists go to stdout, the one-line
//! summary to stderr.

use std::io::{BufRead, IsTerminal};

use crate::cli::{UserCommand, UserMfaCommand, UserTokenCommand};
use crate::domain::User;
use crate::service::accounts::{NewToken, TokenIntent, parse_expiry};
use crate::service::users::MIN_PASSWORD_CHARS;
use crate::service::{Service, ServiceError};

/// Where account-care events say a change came from.
const SOURCE: &str = "cli";

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
        UserCommand::Token(cmd) => token(service, cmd).await,
        UserCommand::Mfa(cmd) => mfa(service, cmd).await,
    }
}

async fn named_user(service: &Service, name: &str) -> Result<User, UserCliError> {
    service
        .user_by_username(name)
        .await?
        .ok_or_else(|| UserCliError::Refused(format!("no user named {name}")))
}

/// A unix time as RFC 3339 (UTC), or `never`.
pub(crate) fn when(at: Option<i64>) -> String {
    at.map_or_else(|| "never".into(), crate::domain::audit::rfc3339)
}

async fn token(service: &Service, cmd: UserTokenCommand) -> Result<String, UserCliError> {
    match cmd {
        UserTokenCommand::Create {
            user,
            intent,
            description,
            expires,
        } => {
            let intent = TokenIntent::parse(&intent).ok_or_else(|| {
                UserCliError::Refused(format!("--intent {intent}: use app_password or api"))
            })?;
            let expires_in = parse_expiry(expires.as_deref().unwrap_or_default())
                .map_err(|e| UserCliError::Refused(format!("--expires: {e}")))?;
            let u = named_user(service, &user).await?;
            let new = NewToken {
                intent,
                description: description.unwrap_or_default(),
                expires_in,
            };
            let created = service.create_token(&u.id, &new, SOURCE).await?;
            println!("{}", created.key);
            Ok(format!(
                "created {} {} ({}) for {user}, expires {}; the key above is shown only now",
                intent.label().to_lowercase(),
                created.token.identifier,
                created.token.id,
                when(created.token.expires_at),
            ))
        }
        UserTokenCommand::List { user } => {
            let u = named_user(service, &user).await?;
            let tokens = service.user_tokens(&u.id).await?;
            for t in &tokens {
                println!(
                    "{}\t{}\t{}\texpires {}\t{}",
                    t.id,
                    t.intent,
                    t.identifier,
                    when(t.expires_at),
                    t.description
                );
            }
            Ok(format!("{} token(s) of {user}", tokens.len()))
        }
        UserTokenCommand::Revoke { user, id } => {
            let u = named_user(service, &user).await?;
            let found = service
                .user_tokens(&u.id)
                .await?
                .into_iter()
                .find(|t| t.id == id || t.identifier == id)
                .ok_or_else(|| UserCliError::Refused(format!("{user} has no token {id}")))?;
            service.revoke_token(&u.id, &found.id, SOURCE).await?;
            Ok(format!("revoked {} of {user}", found.identifier))
        }
    }
}

async fn mfa(service: &Service, cmd: UserMfaCommand) -> Result<String, UserCliError> {
    match cmd {
        UserMfaCommand::List { user } => {
            let u = named_user(service, &user).await?;
            let devices = service.user_authenticators(&u.id).await?;
            for d in &devices {
                let left = d
                    .codes_left
                    .map(|n| format!("\t{n} code(s) left"))
                    .unwrap_or_default();
                println!(
                    "{}\t{}\t{}\tsince {}{left}",
                    d.id,
                    d.kind,
                    d.name,
                    when(Some(d.created_at))
                );
            }
            Ok(format!("{} authenticator(s) of {user}", devices.len()))
        }
        UserMfaCommand::Reset { user } => {
            let u = named_user(service, &user).await?;
            let n = service.reset_authenticators(&u.id, SOURCE).await?;
            Ok(format!("deleted {n} authenticator(s) of {user}"))
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
