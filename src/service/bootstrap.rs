//! The first start: on an empty store, create a working instance in one transaction, with
//! authentik's names so authentik blueprints that reference them apply unchanged. The flows,
//! stages, scope mappings and brand are the embedded default blueprints
//! (`fixtures/blueprints/default/`); only what a blueprint cannot express stays here: the
//! generated signing key and the admin user with its password.
//!
//! As authentik: without a bootstrap password akadmin has no usable password, and the first
//! visitor of the initial-setup flow ([`initial_setup_url`], the bundled `flow-oobe.yaml`)
//! chooses its email and password; with one (`LATCHKEY_BOOTSTRAP_PASSWORD`, for scripts and
//! tests) the password is set and that flow refuses.

use super::{Service, ServiceError, ServiceResult};
use crate::crypto::{keys, password};
use crate::domain::*;
use crate::store::{self, Topic};

/// The bootstrap admin's username (authentik's).
pub const ADMIN_USERNAME: &str = "akadmin";
/// The bootstrapped signing keypair.
pub const SELF_SIGNED_NAME: &str = "authentik Self-signed Certificate";
/// The default brand's domain (authentik's).
pub const DEFAULT_BRAND_DOMAIN: &str = "authentik-default";

/// The slug of authentik's initial-setup (out-of-box experience) flow.
pub const INITIAL_SETUP_SLUG: &str = "initial-setup";

/// Where the first visitor sets akadmin's email and password: `<public url>/if/flow/initial-setup/`.
pub fn initial_setup_url(public_url: &str) -> String {
    format!(
        "{}/if/flow/{INITIAL_SETUP_SLUG}/",
        public_url.trim_end_matches('/')
    )
}

/// What a bootstrap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapOutcome {
    /// The store already held an instance; nothing was written.
    AlreadyBootstrapped,
    /// A new instance was created. `admin_password_set` is true when a bootstrap password was
    /// given; otherwise akadmin has no usable password until the initial setup sets one.
    Created { admin_password_set: bool },
}

/// The managed-id prefix of the default scope mappings.
pub const SCOPE_MANAGED_PREFIX: &str = "goauthentik.io/providers/oauth2/";

impl Service {
    /// Creates the first instance if the store is empty; a second call changes nothing.
    /// `admin_password` comes from `LATCHKEY_BOOTSTRAP_PASSWORD`; when `None` akadmin gets no
    /// usable password and the initial-setup flow is open to set one.
    pub async fn bootstrap(&self, admin_password: Option<&str>) -> ServiceResult<BootstrapOutcome> {
        {
            let mut conn = self.store().read().await?;
            if is_bootstrapped(&mut conn).await? {
                return Ok(BootstrapOutcome::AlreadyBootstrapped);
            }
        }
        // Slow work (key generation, hashing) happens before the write transaction.
        let password_hash = admin_password.map(password::hash).transpose()?;
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
        crate::blueprint::apply::apply_in_tx(
            &mut tx,
            &defaults,
            &Default::default(),
            now,
            self.actor(),
        )
        .await
        .map_err(|e| ServiceError::Refused(format!("default blueprints: {e}")))?;
        let conn = tx.conn();

        let group = super::users::admin_group(conn, now).await?;
        let admin = User {
            has_password: password_hash.is_some(),
            ..User::new_internal(
                ADMIN_USERNAME,
                "latchkey Default Admin",
                "root@localhost",
                now,
            )
        };
        store::users::insert(conn, &admin, password_hash.as_deref()).await?;
        store::groups::add_member(conn, &group.id, &admin.id).await?;

        tx.touch(Topic::All);
        tx.commit().await?;
        tracing::info!("bootstrapped a new instance");
        Ok(BootstrapOutcome::Created {
            admin_password_set: admin_password.is_some(),
        })
    }

    /// True while the initial setup is still to be done: akadmin exists without a usable
    /// password and the initial-setup flow is installed. A start shows its URL then.
    pub async fn initial_setup_pending(&self) -> ServiceResult<bool> {
        let mut conn = self.store().read().await?;
        let Some(admin) = store::users::get_by_username(&mut conn, ADMIN_USERNAME).await? else {
            return Ok(false);
        };
        if admin.has_password {
            return Ok(false);
        }
        Ok(store::flows::get_by_slug(&mut conn, INITIAL_SETUP_SLUG)
            .await?
            .is_some())
    }
}

async fn is_bootstrapped(conn: &mut store::Conn) -> ServiceResult<bool> {
    let users = store::users::count(conn).await?;
    let brands = store::brands::list(conn).await?.len();
    Ok(users > 0 || brands > 0)
}
