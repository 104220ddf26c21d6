//! `latchkey user create|set-password`: bootstrap or recover accounts from the shell. Passwords
//! come from the terminal without echo (rpassword) or from stdin when it is not a terminal.

use std::io::{BufRead, IsTerminal};

use serde_json::json;

use crate::cli::UserCommand;
use crate::crypto::password;
use crate::domain::{Group, User, UserType, new_id};
use crate::service::Service;
use crate::service::bootstrap::ADMIN_GROUP;
use crate::store::{self, Topic};

/// Why a user command failed.
#[derive(Debug, thiserror::Error)]
pub enum UserCliError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
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
    if pw.chars().count() < 8 {
        return Err(UserCliError::Refused(
            "use a password of at least 8 characters".into(),
        ));
    }
    Ok(pw)
}

/// Runs the command; returns a one-line summary for stderr.
pub async fn run(service: &Service, cmd: UserCommand) -> Result<String, UserCliError> {
    let now = service.now();
    match cmd {
        UserCommand::Create {
            name,
            email,
            superuser,
        } => {
            if name.trim().is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(UserCliError::Refused(
                    "a username may not be empty or contain spaces".into(),
                ));
            }
            let user = User {
                id: new_id(),
                username: name.clone(),
                name: name.clone(),
                email: email.unwrap_or_default(),
                is_active: true,
                user_type: UserType::Internal,
                path: "users".into(),
                attributes: json!({}),
                has_password: false,
                last_login: None,
                created_at: now,
                updated_at: now,
                version: 1,
            };
            let mut tx = service.store().write_tx().await?;
            store::users::insert(tx.conn(), &user, None).await?;
            if superuser {
                let group = match store::groups::get_by_name(tx.conn(), ADMIN_GROUP).await? {
                    Some(g) => g,
                    None => {
                        let g = Group {
                            id: new_id(),
                            name: ADMIN_GROUP.into(),
                            is_superuser: true,
                            parent_id: None,
                            attributes: json!({}),
                            member_count: 0,
                            created_at: now,
                            updated_at: now,
                            version: 1,
                        };
                        store::groups::insert(tx.conn(), &g).await?;
                        g
                    }
                };
                store::groups::add_member(tx.conn(), &group.id, &user.id).await?;
            }
            tx.touch(Topic::Users);
            tx.commit().await?;
            Ok(format!(
                "created user {name}; set a password with `latchkey user set-password {name}`"
            ))
        }
        UserCommand::SetPassword { name } => {
            let user = {
                let mut conn = service.store().read().await?;
                store::users::get_by_username(&mut conn, &name).await?
            }
            .ok_or_else(|| UserCliError::Refused(format!("no user named {name}")))?;
            let pw = read_password()?;
            // Hash before the write transaction: no argon2 inside it.
            let hash = tokio::task::spawn_blocking(move || password::hash(&pw))
                .await
                .map_err(|e| UserCliError::Read(e.to_string()))??;
            let mut tx = service.store().write_tx().await?;
            store::users::set_password_hash(tx.conn(), &user.id, &hash, now).await?;
            let event = crate::domain::Event {
                id: new_id(),
                action: crate::flows::actions::PASSWORD_SET.into(),
                username: user.username.clone(),
                user_id: Some(user.id.clone()),
                app: String::new(),
                client_ip: String::new(),
                context: json!({"source": "cli"}),
                brand: String::new(),
                created_at: now,
            };
            store::events::insert(tx.conn(), &event).await?;
            tx.touch(Topic::Users);
            tx.touch(Topic::Events);
            tx.commit().await?;
            Ok(format!("password of {name} set"))
        }
    }
}
