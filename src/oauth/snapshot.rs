//! The in-memory view of providers, applications, keys and scope mappings that discovery, JWKS
//! and the token endpoint read. Rebuilt lazily after any configuration change, so a console edit
//! is visible on the next request, and signing keys are parsed once per rebuild, not per request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;

use super::discovery;
use super::lifetimes::validity;
use super::signature_memo::SignatureMemo;
use crate::context::Context;
use crate::crypto::jwe::EncryptionKey;
use crate::crypto::jwk::SigningKey;
use crate::crypto::secrets;
use crate::domain::{Application, CertificateKeypair, Provider, ScopeMapping, User};
use crate::store::{self, StoreResult};

/// One OAuth2 provider with everything needed to serve it.
#[derive(Debug, Clone)]
pub struct ProviderEntry {
    pub provider: Provider,
    /// The application using this provider (authentik: no application, no issuer).
    pub application: Option<Application>,
    /// The parsed signing key; `None` means HS256 with the client secret.
    pub signing_key: Option<Arc<SigningKey>>,
    /// Why the configured signing key could not be loaded, if it could not.
    pub signing_key_error: Option<String>,
    /// The key every JWT is encrypted to (authentik's `encryption_key`), when one is set.
    pub encryption_key: Option<Arc<EncryptionKey>>,
    /// Why the configured encryption key could not be loaded, if it could not. Tokens are then
    /// refused rather than sent unencrypted.
    pub encryption_key_error: Option<String>,
    /// The provider's scope mappings, by scope name.
    pub scope_mappings: Vec<ScopeMapping>,
    /// Keys the provider signed with before a rotation, still within the longest token lifetime.
    pub retired_keys: Vec<Arc<SigningKey>>,
    /// True when the application has enabled policy bindings; without any, everyone passes
    /// (authentik's rule), so the token endpoint skips loading the user for policies.
    pub application_has_bindings: bool,
    /// The provider's client_credentials service account, once it exists (the snapshot is
    /// rebuilt on every user change, so an edit or deactivation is seen at once).
    pub service_account: Option<User>,
}

impl ProviderEntry {
    /// Every key JWKS must publish: the current one first, then recently retired ones.
    pub fn published_keys(&self) -> Vec<&SigningKey> {
        let mut keys: Vec<&SigningKey> = self.signing_key.as_deref().into_iter().collect();
        for k in &self.retired_keys {
            if !keys.iter().any(|p| p.kid == k.kid) {
                keys.push(k);
            }
        }
        keys
    }
}

/// A provider as a client authenticating by its client id sees it: the entry, and the memo of
/// the last signature it was issued that binds to nothing unique. The memo lives and dies with
/// the snapshot (it is never carried into a rebuilt one), so a key or configuration change
/// never reuses an old signature; it is found by the same lookup that authenticates the client,
/// so the token endpoint pays nothing extra for it.
#[derive(Debug)]
pub struct ClientEntry {
    pub entry: Arc<ProviderEntry>,
    pub signature_memo: SignatureMemo,
    /// The digest of the client's secret (`None` when it has none), so authenticating a client
    /// hashes only what it presented.
    pub secret_digest: Option<[u8; 32]>,
}

/// An application's provider with the documents published for it, serialised once per
/// snapshot: discovery and JWKS answer these bytes as they are (a `Bytes` clone, no JSON work
/// per request), and a configuration change builds a new snapshot, so they are never stale.
#[derive(Debug)]
pub struct PublishedApplication {
    pub entry: Arc<ProviderEntry>,
    /// `/.well-known/openid-configuration`.
    pub discovery: Bytes,
    /// `/jwks/`.
    pub jwks: Bytes,
}

/// A consistent read-only view of the OAuth configuration.
#[derive(Debug, Default)]
pub struct Snapshot {
    by_app_slug: HashMap<String, PublishedApplication>,
    by_client_id: HashMap<String, ClientEntry>,
    by_provider_id: HashMap<String, Arc<ProviderEntry>>,
}

impl Snapshot {
    /// The provider behind the application with this slug.
    pub fn by_application_slug(&self, slug: &str) -> Option<&Arc<ProviderEntry>> {
        self.by_app_slug.get(slug).map(|a| &a.entry)
    }

    /// The application with this slug and its prepared discovery and JWKS documents.
    pub fn published(&self, slug: &str) -> Option<&PublishedApplication> {
        self.by_app_slug.get(slug)
    }

    /// The provider with this client id.
    pub fn by_client_id(&self, client_id: &str) -> Option<&Arc<ProviderEntry>> {
        self.by_client_id.get(client_id).map(|c| &c.entry)
    }

    /// The client with this client id, with its signature memo (see [`ClientEntry`]).
    pub fn client(&self, client_id: &str) -> Option<&ClientEntry> {
        self.by_client_id.get(client_id)
    }

    /// The provider with this id.
    pub fn by_provider_id(&self, id: &str) -> Option<&Arc<ProviderEntry>> {
        self.by_provider_id.get(id)
    }

    /// Loads a snapshot from the store.
    pub async fn load(ctx: &Context) -> StoreResult<Self> {
        let mut conn = ctx.store().read().await?;
        let providers = store::providers::list(&mut conn).await?;
        let applications = store::applications::list(&mut conn).await?;
        let certificates = store::certificates::list(&mut conn).await?;
        let mappings = store::scope_mappings::list(&mut conn).await?;
        let retired = store::providers::retired_keys(&mut conn).await?;
        let bindings = store::policies::all_bindings(&mut conn).await?;
        let now = ctx.now();
        let mut keys: HashMap<String, Result<Arc<SigningKey>, String>> = HashMap::new();
        let mut snapshot = Snapshot::default();
        for provider in providers {
            let application = applications
                .iter()
                .find(|a| a.provider_id.as_deref() == Some(provider.id.as_str()))
                .cloned();
            let (signing_key, signing_key_error) = match provider.signing_key_id.clone() {
                None => (None, None),
                Some(key_id) => {
                    let loaded = keys.entry(key_id.clone()).or_insert_with(|| {
                        certificates
                            .iter()
                            .find(|c| c.id == key_id)
                            .ok_or_else(|| "the signing key no longer exists".to_string())
                            .and_then(|c| {
                                SigningKey::from_keypair(c)
                                    .map(Arc::new)
                                    .map_err(|e| e.to_string())
                            })
                    });
                    match loaded {
                        Ok(k) => (Some(k.clone()), None),
                        Err(e) => (None, Some(e.clone())),
                    }
                }
            };
            let (encryption_key, encryption_key_error) = encryption_key(&provider, &certificates);
            let scope_mappings = mappings
                .iter()
                .filter(|m| provider.scope_mapping_ids.contains(&m.id))
                .cloned()
                .collect();
            let lifetime = validity(&provider.oauth2.access_token_validity, 3600);
            let retired_keys = retired
                .iter()
                .filter(|r| r.provider_id == provider.id && now < r.retired_at + lifetime)
                .filter_map(|r| certificates.iter().find(|c| c.id == r.keypair_id))
                .filter_map(|c| SigningKey::from_keypair(c).ok().map(Arc::new))
                .collect();
            let application_has_bindings = application
                .as_ref()
                .is_some_and(|a| bindings.iter().any(|b| b.target_id == a.id && b.enabled));
            let service_account =
                store::users::get_by_username(&mut conn, &service_account_name(&provider)).await?;
            let entry = Arc::new(ProviderEntry {
                retired_keys,
                application_has_bindings,
                service_account,
                provider,
                application,
                signing_key,
                signing_key_error,
                encryption_key,
                encryption_key_error,
                scope_mappings,
            });
            snapshot.index(entry, &ctx.config().public_url);
        }
        Ok(snapshot)
    }

    /// Makes an entry findable by application slug (with its documents for `public_url`),
    /// provider id and client id; a client gets a fresh signature memo.
    fn index(&mut self, entry: Arc<ProviderEntry>, public_url: &str) {
        if let (Some(app), Some(document)) =
            (&entry.application, discovery::document(public_url, &entry))
        {
            let published = PublishedApplication {
                discovery: json_bytes(&document),
                jwks: json_bytes(&discovery::jwks_document(&entry)),
                entry: entry.clone(),
            };
            self.by_app_slug.insert(app.slug.clone(), published);
        }
        self.by_provider_id
            .insert(entry.provider.id.clone(), entry.clone());
        if !entry.provider.client_id.is_empty() {
            let client_id = entry.provider.client_id.clone();
            let secret = &entry.provider.oauth2.client_secret;
            let client = ClientEntry {
                secret_digest: (!secret.is_empty()).then(|| secrets::secret_digest(secret)),
                entry,
                signature_memo: SignatureMemo::default(),
            };
            self.by_client_id.insert(client_id, client);
        }
    }
}

/// A document's JSON, as it is answered.
fn json_bytes(doc: &serde_json::Value) -> Bytes {
    Bytes::from(doc.to_string())
}

/// The provider's encryption key, or why the configured one cannot be used.
fn encryption_key(
    provider: &Provider,
    certificates: &[CertificateKeypair],
) -> (Option<Arc<EncryptionKey>>, Option<String>) {
    let Some(key_id) = &provider.encryption_key_id else {
        return (None, None);
    };
    match certificates.iter().find(|c| &c.id == key_id) {
        None => (
            None,
            Some("the encryption key no longer exists".to_string()),
        ),
        Some(c) => match EncryptionKey::from_keypair(c) {
            Ok(k) => (Some(Arc::new(k)), None),
            Err(e) => (None, Some(e.to_string())),
        },
    }
}

/// authentik's username for a provider's client_credentials service account.
pub fn service_account_name(provider: &Provider) -> String {
    format!("ak-{}-client_credentials", provider.name)
}

/// Holds the current snapshot, rebuilt when the store's configuration generation moved (a
/// commit bumps it before returning, so an edit is seen by the very next request).
pub struct SnapshotCache {
    ctx: Context,
    current: RwLock<Option<(u64, Arc<Snapshot>)>>,
    generation: AtomicU64,
}

impl SnapshotCache {
    /// A cache over the store; [`SnapshotCache::watch`] also follows the change channel.
    pub fn new(ctx: Context) -> Arc<Self> {
        Arc::new(Self {
            ctx,
            current: RwLock::new(None),
            generation: AtomicU64::new(0),
        })
    }

    /// Forgets the current snapshot; the next request rebuilds it.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut cur) = self.current.write() {
            *cur = None;
        }
    }

    /// The current snapshot, rebuilt first if configuration changed since it was built.
    pub async fn get(&self) -> StoreResult<Arc<Snapshot>> {
        let wanted = self.ctx.store().config_generation();
        if let Some((built, s)) = self.current.read().ok().and_then(|c| c.clone())
            && built == wanted
        {
            return Ok(s);
        }
        let local = self.generation.load(Ordering::SeqCst);
        let fresh = Arc::new(Snapshot::load(&self.ctx).await?);
        if let Ok(mut cur) = self.current.write() {
            // Keep it only if nothing changed while it was being built.
            if self.generation.load(Ordering::SeqCst) == local
                && self.ctx.store().config_generation() == wanted
            {
                *cur = Some((wanted, fresh.clone()));
            }
        }
        Ok(fresh)
    }

    /// Spawns the task that invalidates the snapshot on every configuration change.
    pub fn watch(
        self: &Arc<Self>,
        cancel: tokio_util::sync::CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        let mut rx = self.ctx.store().subscribe();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    msg = rx.recv() => match msg {
                        Ok(change) if change.topic.affects_config() => me.invalidate(),
                        Ok(_) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => me.invalidate(),
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    }
                }
            }
        })
    }
}
