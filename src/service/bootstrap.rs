//! The first start: on an empty store, create a working instance in one transaction, with
//! authentik's names so authentik blueprints that reference them apply unchanged. The flows,
//! stages, scope mappings and brand are the embedded default blueprints
//! (`fixtures/blueprints/default/`); only what a blueprint cannot express stays here: the
//! generated signing key and the admin user with its password.

use super::{Service, ServiceError, ServiceResult};
use crate::crypto::{keys, password, secrets};
use crate::domain::*;
use crate::store::{self, Topic};

/// The bootstrap admin's username (authentik's).
pub const ADMIN_USERNAME: &str = "akadmin";
/// The bootstrapped signing keypair.
pub const SELF_SIGNED_NAME: &str = "authentik Self-signed Certificate";
/// The default brand's domain (authentik's).
pub const DEFAULT_BRAND_DOMAIN: &str = "authentik-default";

/// What a bootstrap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapOutcome {
    /// The store already held an instance; nothing was written.
    AlreadyBootstrapped,
    /// A new instance was created. `generated_password` is set when the admin password was
    /// generated (to be shown once) rather than taken from the environment.
    Created { generated_password: Option<String> },
}

/// The managed-id prefix of the default scope mappings.
pub const SCOPE_MANAGED_PREFIX: &str = "goauthentik.io/providers/oauth2/";

impl Service {
    /// Creates the first instance if the store is empty; a second call changes nothing.
    /// `admin_password` comes from `LATCHKEY_BOOTSTRAP_PASSWORD`; when `None` one is generated.
    pub async fn bootstrap(&self, admin_password: Option<&str>) -> ServiceResult<BootstrapOutcome> {
        {
            let mut conn = self.store().read().await?;
            if is_bootstrapped(&mut conn).await? {
                return Ok(BootstrapOutcome::AlreadyBootstrapped);
            }
        }
        // Slow work (key generation, hashing) happens before the write transaction.
        let generated = admin_password.is_none().then(|| secrets::random_alnum(24));
        let password_plain = admin_password
            .map(str::to_string)
            .or_else(|| generated.clone())
            .unwrap_or_default();
        let password_hash = password::hash(&password_plain)?;
        let pair =
            keys::generate_self_signed(SELF_SIGNED_NAME, &[], 365, keys::KeyAlgorithm::Rsa2048)?;
        let now = self.now();
        let keypair = CertificateKeypair {
            created_at: now,
            updated_at: now,
            version: 1,
            ..keys::keypair_from_pem(
                &new_id(),
                SELF_SIGNED_NAME,
                &pair.certificate_pem,
                Some(&pair.key_pem),
                Some("goauthentik.io/crypto/self-signed".into()),
            )?
        };
        let defaults = crate::blueprint::defaults()
            .map_err(|e| ServiceError::Refused(format!("default blueprints: {e}")))?;

        let mut tx = self.store().write_tx().await?;
        // Re-check under the write lock: another process may have bootstrapped meanwhile.
        if is_bootstrapped(tx.conn()).await? {
            return Ok(BootstrapOutcome::AlreadyBootstrapped);
        }
        let conn = tx.conn();

        store::certificates::insert(conn, &keypair).await?;

        // Flows, stages, scope mappings and the default brand come from the embedded default
        // blueprints, applied in this same transaction.
        crate::blueprint::apply::apply_in_tx(&mut tx, &defaults, &Default::default(), now)
            .await
            .map_err(|e| ServiceError::Refused(format!("default blueprints: {e}")))?;
        let conn = tx.conn();

        let group = super::users::admin_group(conn, now).await?;
        let admin = User {
            has_password: true,
            ..User::new_internal(
                ADMIN_USERNAME,
                "latchkey Default Admin",
                "root@localhost",
                now,
            )
        };
        store::users::insert(conn, &admin, Some(&password_hash)).await?;
        store::groups::add_member(conn, &group.id, &admin.id).await?;

        tx.touch(Topic::All);
        tx.commit().await?;
        tracing::info!("bootstrapped a new instance");
        Ok(BootstrapOutcome::Created {
            generated_password: generated,
        })
    }
}

async fn is_bootstrapped(conn: &mut store::Conn) -> ServiceResult<bool> {
    let users = store::users::count(conn).await?;
    let brands = store::brands::list(conn).await?.len();
    Ok(users > 0 || brands > 0)
}
