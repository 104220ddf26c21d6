//! The admin's care of one account, shared by the console's user detail and `latchkey user`:
//! the user's authenticators (list, delete one, reset all), their remembered consents (list,
//! revoke) and their app passwords and API tokens (create with the key returned once, list
//! without keys, revoke). Every change records an event in the same transaction; no event
//! holds a key, a code or a secret.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Service, ServiceError, ServiceResult};
use crate::crypto::secrets;
use crate::domain::{Duration, Event, FieldError, FieldErrors, User, new_id};
use crate::store::{self, Conn, Topic, WriteTx};

/// How many letters and digits a new token key has (authentik's default token length).
pub const TOKEN_KEY_LENGTH: usize = 60;

use crate::blueprint::change_events::{MODEL_CREATED, MODEL_DELETED};

/// What a token is for (authentik's `TokenIntents` an admin hands out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenIntent {
    /// Accepted at the token endpoint's password and client_credentials grants.
    AppPassword,
    /// An API token: never accepted where an app password is asked for.
    Api,
}

impl TokenIntent {
    /// Both, in the order forms offer them.
    pub const ALL: [TokenIntent; 2] = [TokenIntent::AppPassword, TokenIntent::Api];

    /// authentik's name (`app_password`, `api`).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenIntent::AppPassword => store::tokens::INTENT_APP_PASSWORD,
            TokenIntent::Api => store::tokens::INTENT_API,
        }
    }

    /// How screens name it.
    pub fn label(self) -> &'static str {
        match self {
            TokenIntent::AppPassword => "App password",
            TokenIntent::Api => "API token",
        }
    }

    /// The intent named `s` (authentik's name), if it is one an admin may create.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|i| i.as_str() == s)
    }
}

/// One of a user's authenticators as the admin sees it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorSummary {
    /// The device's id (what deleting names).
    pub id: String,
    /// Whose it is.
    pub user_id: String,
    /// authentik's device class: `totp`, `static`, `webauthn`, …
    pub kind: String,
    /// Its name.
    pub name: String,
    /// When it was set up (unix seconds).
    pub created_at: i64,
    /// Recovery codes not used yet (static devices only).
    pub codes_left: Option<i64>,
}

/// One remembered consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentSummary {
    /// The consent's id (what revoking names).
    pub id: String,
    /// Whose it is.
    pub user_id: String,
    /// The application consented to.
    pub application_id: String,
    /// Its name (the id when the application is gone).
    pub application: String,
    /// The scopes granted.
    pub permissions: Vec<String>,
    /// When it ends (`None`: permanent).
    pub expires_at: Option<i64>,
    /// When it was given.
    pub created_at: i64,
}

/// One app password or API token, without its key (only a digest is stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSummary {
    /// The token's id (what revoking names).
    pub id: String,
    /// authentik's identifier.
    pub identifier: String,
    /// Whose it is.
    pub user_id: String,
    /// Its intent as stored (`app_password`, `api`, or another authentik intent).
    pub intent: String,
    /// What the admin wrote about it.
    pub description: String,
    /// When it stops working (`None`: never).
    pub expires_at: Option<i64>,
    /// When it was made.
    pub created_at: i64,
}

/// What the admin asks for when making a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// What it is for.
    pub intent: TokenIntent,
    /// A note for the admin and the user.
    pub description: String,
    /// How long from now it works (`None`: until revoked).
    pub expires_in: Option<Duration>,
}

/// A token just made: its summary and its key, which is never available again.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    /// The stored token.
    pub token: TokenSummary,
    /// The key, for the admin to hand over now.
    pub key: String,
}

/// Reads an expiry as the CLI and the console take it: `30d`, `12h`, `90m`, `45s`, `2w`, or
/// authentik's `days=30`; empty or `never`: no expiry.
pub fn parse_expiry(input: &str) -> Result<Option<Duration>, String> {
    let t = input.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    let short = t
        .char_indices()
        .last()
        .and_then(|(i, unit)| {
            let factor = match unit {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 604_800,
                _ => return None,
            };
            t[..i].parse::<i64>().ok().map(|n| n.checked_mul(factor))
        })
        .flatten();
    let d = match short {
        Some(secs) => Duration::from_seconds(secs),
        None => {
            Duration::parse(t).map_err(|e| format!("{e}, or like 30d, 12h, 90m (empty: never)"))?
        }
    };
    if d.seconds() <= 0 {
        return Err(format!(
            "'{t}' must be longer than zero, e.g. 30d (empty: never)"
        ));
    }
    Ok(Some(d))
}

fn token_summary(t: store::tokens::Token) -> TokenSummary {
    TokenSummary {
        id: t.id,
        identifier: t.identifier,
        user_id: t.user_id,
        intent: t.intent,
        description: t.description,
        expires_at: t.expires_at,
        created_at: t.created_at,
    }
}

fn permissions(stored: &str) -> Vec<String> {
    stored.split_whitespace().map(str::to_string).collect()
}

/// authentik's model names of a device kind, for events (`authentik_stages_authenticator_totp`,
/// `totpdevice`).
fn device_model(kind: &str) -> Value {
    json!({"app": format!("authentik_stages_authenticator_{kind}"),
           "model_name": format!("{kind}device")})
}

async fn user_of(conn: &mut Conn, user_id: &str) -> ServiceResult<User> {
    store::users::get(conn, user_id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("the user".into()))
}

impl Service {
    /// Every user's confirmed authenticators, oldest first.
    pub async fn list_authenticators(&self) -> ServiceResult<Vec<AuthenticatorSummary>> {
        let mut conn = self.store().read().await?;
        let devices = store::authenticators::all_confirmed(&mut conn).await?;
        summarise_devices(&mut conn, devices).await
    }

    /// One user's confirmed authenticators, oldest first.
    pub async fn user_authenticators(
        &self,
        user_id: &str,
    ) -> ServiceResult<Vec<AuthenticatorSummary>> {
        let mut conn = self.store().read().await?;
        user_of(&mut conn, user_id).await?;
        let devices = store::authenticators::confirmed_of_user_any_kind(&mut conn, user_id).await?;
        summarise_devices(&mut conn, devices).await
    }

    /// Deletes one of a user's authenticators (a static device with its unused codes), so it
    /// no longer passes authenticator validation.
    pub async fn delete_authenticator(
        &self,
        user_id: &str,
        device_id: &str,
        source: &str,
    ) -> ServiceResult<()> {
        let mut tx = self.store().write_tx().await?;
        let user = user_of(tx.conn(), user_id).await?;
        let devices = store::authenticators::confirmed_of_user_any_kind(tx.conn(), user_id).await?;
        let device = devices
            .into_iter()
            .find(|d| d.id == device_id)
            .ok_or_else(|| ServiceError::NotFound("the authenticator".into()))?;
        store::authenticators::delete_of_user(tx.conn(), user_id, device_id).await?;
        let mut model = device_model(&device.kind);
        model["pk"] = json!(device.id);
        model["name"] = json!(device.name);
        self.account_event(
            &mut tx,
            MODEL_DELETED,
            &user,
            json!({"model": model, "source": source}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes every authenticator of a user ("MFA reset"): their next sign-in asks them to set
    /// one up again or skips, as the validation stage's `not_configured_action` says. Returns how
    /// many were deleted.
    pub async fn reset_authenticators(&self, user_id: &str, source: &str) -> ServiceResult<u64> {
        let mut tx = self.store().write_tx().await?;
        let user = user_of(tx.conn(), user_id).await?;
        let devices = store::authenticators::confirmed_of_user_any_kind(tx.conn(), user_id).await?;
        let deleted = store::authenticators::delete_all_of_user(tx.conn(), user_id).await?;
        let kinds: Vec<&str> = devices.iter().map(|d| d.kind.as_str()).collect();
        self.account_event(
            &mut tx,
            MODEL_DELETED,
            &user,
            json!({"model": {"app": "authentik_stages_authenticator", "model_name": "device"},
                   "mfa_reset": true, "deleted": deleted, "kinds": kinds, "source": source}),
        )
        .await?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// Every user's remembered consents, newest first.
    pub async fn list_consents(&self) -> ServiceResult<Vec<ConsentSummary>> {
        let mut conn = self.store().read().await?;
        let rows = store::consents::all(&mut conn).await?;
        summarise_consents(&mut conn, rows).await
    }

    /// One user's remembered consents, newest first.
    pub async fn user_consents(&self, user_id: &str) -> ServiceResult<Vec<ConsentSummary>> {
        let mut conn = self.store().read().await?;
        user_of(&mut conn, user_id).await?;
        let rows = store::consents::of_user(&mut conn, user_id).await?;
        summarise_consents(&mut conn, rows).await
    }

    /// Forgets a consent: the application asks again at the next authorization.
    pub async fn revoke_consent(
        &self,
        user_id: &str,
        consent_id: &str,
        source: &str,
    ) -> ServiceResult<()> {
        let mut tx = self.store().write_tx().await?;
        let user = user_of(tx.conn(), user_id).await?;
        if !store::consents::delete_of_user(tx.conn(), user_id, consent_id).await? {
            return Err(ServiceError::NotFound("the consent".into()));
        }
        self.account_event(
            &mut tx,
            MODEL_DELETED,
            &user,
            json!({"model": {"app": "authentik_stages_consent", "model_name": "userconsent",
                             "pk": consent_id}, "source": source}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every user's app passwords and API tokens, newest first (no keys: none are stored).
    pub async fn list_tokens(&self) -> ServiceResult<Vec<TokenSummary>> {
        let mut conn = self.store().read().await?;
        Ok(store::tokens::all(&mut conn)
            .await?
            .into_iter()
            .map(token_summary)
            .collect())
    }

    /// One user's app passwords and API tokens, newest first.
    pub async fn user_tokens(&self, user_id: &str) -> ServiceResult<Vec<TokenSummary>> {
        let mut conn = self.store().read().await?;
        user_of(&mut conn, user_id).await?;
        Ok(store::tokens::of_user(&mut conn, user_id)
            .await?
            .into_iter()
            .map(token_summary)
            .collect())
    }

    /// Makes an app password or API token for a user: a random key, stored as its SHA-256
    /// digest only, and returned here once.
    pub async fn create_token(
        &self,
        user_id: &str,
        new: &NewToken,
        source: &str,
    ) -> ServiceResult<CreatedToken> {
        if let Some(d) = new.expires_in
            && d.seconds() <= 0
        {
            return Err(ServiceError::Invalid(FieldErrors(vec![FieldError {
                field: "expires".into(),
                message: "an expiring token needs a validity above zero, e.g. 30d".into(),
            }])));
        }
        let key = secrets::random_alnum(TOKEN_KEY_LENGTH);
        let now = self.now();
        let mut tx = self.store().write_tx().await?;
        let user = user_of(tx.conn(), user_id).await?;
        let token = store::tokens::Token {
            id: new_id(),
            identifier: format!(
                "{}-{}-{}",
                user.username,
                new.intent.as_str().replace('_', "-"),
                secrets::random_alnum(8).to_ascii_lowercase()
            ),
            key_digest: secrets::digest(&key),
            intent: new.intent.as_str().into(),
            user_id: user.id.clone(),
            description: new.description.trim().to_string(),
            expires_at: new.expires_in.map(|d| now + d.seconds()),
            created_at: now,
        };
        store::tokens::insert(tx.conn(), &token).await?;
        self.account_event(
            &mut tx,
            MODEL_CREATED,
            &user,
            json!({"model": {"app": "authentik_core", "model_name": "token", "pk": token.id,
                             "name": token.identifier},
                   "intent": token.intent, "expires": token.expires_at, "source": source}),
        )
        .await?;
        tx.touch(Topic::Tokens);
        tx.commit().await?;
        Ok(CreatedToken {
            token: token_summary(token),
            key,
        })
    }

    /// The user an API token (intent `api`) signs in as, when the key is one, unexpired: found
    /// by the key's SHA-256 digest, compared again in constant time. The key is never logged.
    pub async fn api_token_user(&self, key: &str) -> ServiceResult<Option<String>> {
        let digest = secrets::digest(key);
        let mut conn = self.store().read().await?;
        let found = store::tokens::find_by_digest(
            &mut conn,
            store::tokens::INTENT_API,
            &digest,
            self.now(),
        )
        .await?;
        Ok(found
            .filter(|t| secrets::constant_time_eq(&t.key_digest, &digest))
            .map(|t| t.user_id))
    }

    /// Revokes (deletes) one of a user's tokens: it stops working at the next request.
    pub async fn revoke_token(
        &self,
        user_id: &str,
        token_id: &str,
        source: &str,
    ) -> ServiceResult<()> {
        let mut tx = self.store().write_tx().await?;
        let user = user_of(tx.conn(), user_id).await?;
        let tokens = store::tokens::of_user(tx.conn(), user_id).await?;
        let token = tokens
            .into_iter()
            .find(|t| t.id == token_id)
            .ok_or_else(|| ServiceError::NotFound("the token".into()))?;
        store::tokens::delete_of_user(tx.conn(), user_id, token_id).await?;
        self.account_event(
            &mut tx,
            MODEL_DELETED,
            &user,
            json!({"model": {"app": "authentik_core", "model_name": "token", "pk": token.id,
                             "name": token.identifier},
                   "intent": token.intent, "source": source}),
        )
        .await?;
        tx.touch(Topic::Tokens);
        tx.commit().await?;
        Ok(())
    }

    /// Records an account-care event about `user` inside the change's own transaction, as the
    /// acting admin's (the account cared for is the context's `user`).
    async fn account_event(
        &self,
        tx: &mut WriteTx,
        action: &str,
        user: &User,
        mut context: Value,
    ) -> ServiceResult<()> {
        context["user"] = json!({ "pk": user.id, "username": user.username });
        let event = Event::by(self.actor(), action, context, self.now());
        store::events::insert(tx.conn(), &event).await?;
        tx.touch(Topic::Events);
        tx.touch(Topic::Users);
        Ok(())
    }
}

async fn summarise_devices(
    conn: &mut Conn,
    devices: Vec<store::authenticators::DeviceRow>,
) -> ServiceResult<Vec<AuthenticatorSummary>> {
    let left: HashMap<String, i64> = store::static_tokens::remaining(conn)
        .await?
        .into_iter()
        .collect();
    Ok(devices
        .into_iter()
        .map(|d| AuthenticatorSummary {
            codes_left: left.get(&d.id).copied(),
            id: d.id,
            user_id: d.user_id,
            kind: d.kind,
            name: d.name,
            created_at: d.created_at,
        })
        .collect())
}

async fn summarise_consents(
    conn: &mut Conn,
    rows: Vec<store::consents::ConsentRow>,
) -> ServiceResult<Vec<ConsentSummary>> {
    let names: HashMap<String, String> = store::applications::list(conn)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    Ok(rows
        .into_iter()
        .map(|c| ConsentSummary {
            application: names
                .get(&c.application_id)
                .cloned()
                .unwrap_or_else(|| c.application_id.clone()),
            permissions: permissions(&c.permissions),
            id: c.id,
            user_id: c.user_id,
            application_id: c.application_id,
            expires_at: c.expires_at,
            created_at: c.created_at,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_read_short_and_authentik_forms() {
        let secs = |s: &str| parse_expiry(s).map(|d| d.map(Duration::seconds));
        assert_eq!(secs("30d"), Ok(Some(30 * 86_400)));
        assert_eq!(secs("12h"), Ok(Some(12 * 3600)));
        assert_eq!(secs("90m"), Ok(Some(90 * 60)));
        assert_eq!(secs("2w"), Ok(Some(2 * 604_800)));
        assert_eq!(secs("days=1;hours=1"), Ok(Some(90_000)));
        assert_eq!(secs(""), Ok(None));
        assert_eq!(secs("never"), Ok(None));
        for bad in ["0d", "-3d", "soon", "30x", "hours=-1", "99999999999999999w"] {
            assert!(parse_expiry(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn intents_are_authentiks_names() {
        assert_eq!(
            TokenIntent::parse("app_password"),
            Some(TokenIntent::AppPassword)
        );
        assert_eq!(TokenIntent::parse("api"), Some(TokenIntent::Api));
        assert_eq!(TokenIntent::parse("recovery"), None);
    }
}
