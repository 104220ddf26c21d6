//! Applies checked blueprints inside one write transaction: identifiers find or create, attrs
//! update, `absent` deletes, and an object whose content would not change is left alone (no
//! version bump), so re-applying a file is a no-op.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::document::{Blueprint, Entry, State};
use super::error::{BlueprintError, Location};
use super::models::{self, Ty};
use super::resolve::{Cache, Scope, TagError, resolve};
use crate::domain::new_id;
use crate::domain::{Kind, Object, truthy};
use crate::store::objects;
use crate::store::{Conn, WriteTx};

/// What an apply did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    pub unchanged: usize,
    /// Entries whose conditions were false.
    pub skipped: usize,
}

impl ApplyReport {
    /// True when nothing was written.
    pub fn is_noop(&self) -> bool {
        self.created == 0 && self.updated == 0 && self.deleted == 0
    }
}

impl std::fmt::Display for ApplyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} created, {} updated, {} deleted, {} unchanged",
            self.created, self.updated, self.deleted, self.unchanged
        )?;
        if self.skipped > 0 {
            write!(f, ", {} skipped by conditions", self.skipped)?;
        }
        Ok(())
    }
}

/// A user entry's password, decided before the transaction (hashing never runs inside it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordPlan {
    /// The stored hash already matches the password.
    Keep,
    /// Store this argon2id hash.
    Set(String),
}

/// Passwords by (blueprint index, entry index).
pub type Passwords = HashMap<(usize, usize), PasswordPlan>;

/// A user entry's password to plan: (blueprint index, entry index), username, plain text.
pub type WantedPassword = ((usize, usize), String, String);

/// Loads every object the transaction can see.
pub async fn load_cache(conn: &mut Conn) -> Result<Cache, BlueprintError> {
    let mut cache = Cache::default();
    for kind in ALL_KINDS {
        cache.objects.insert(kind, objects::list(conn, kind).await?);
    }
    Ok(cache)
}

const ALL_KINDS: [Kind; 14] = [
    Kind::Flow,
    Kind::Stage,
    Kind::FlowStageBinding,
    Kind::Prompt,
    Kind::Policy,
    Kind::PolicyBinding,
    Kind::Application,
    Kind::Provider,
    Kind::ScopeMapping,
    Kind::Certificate,
    Kind::Brand,
    Kind::Connector,
    Kind::User,
    Kind::Group,
];

fn tag_err(entry: &Entry, e: TagError) -> BlueprintError {
    BlueprintError::at(
        &Location {
            line: e.line,
            ..entry.at.clone()
        },
        e.message,
    )
}

/// Resolves a field map (identifiers or attrs) and checks each value's type.
fn fields(
    entry: &Entry,
    node: Option<&super::yaml::Node>,
    scope: &Scope<'_>,
) -> Result<(Map<String, Value>, Option<String>), BlueprintError> {
    let Some(node) = node else {
        return Ok((Map::new(), None));
    };
    let value = resolve(node, scope).map_err(|e| tag_err(entry, e))?;
    let map = match value {
        Value::Object(m) => m,
        Value::Null => Map::new(),
        _ => {
            return Err(BlueprintError::at(
                &Location {
                    line: node.line,
                    ..entry.at.clone()
                },
                "expected a mapping of fields",
            ));
        }
    };
    let mut out = Map::new();
    let mut password = None;
    for (k, v) in map {
        let line = field_line(node, &k);
        if k == "pk" {
            out.insert(k, v);
            continue;
        }
        let Some(field) = entry.spec.field(&k) else {
            return Err(BlueprintError::at(
                &Location {
                    line,
                    ..entry.at.clone()
                },
                format!("unknown field '{k}' for {}", entry.spec.name),
            ));
        };
        let v = models::normalise(field, v).map_err(|m| {
            BlueprintError::at(
                &Location {
                    line,
                    ..entry.at.clone()
                },
                format!("field '{k}': {m}"),
            )
        })?;
        if matches!(field.ty, Ty::Secret) {
            password = v.as_str().map(str::to_string);
        } else {
            out.insert(k, v);
        }
    }
    Ok((out, password))
}

fn field_line(node: &super::yaml::Node, key: &str) -> usize {
    match &node.value {
        super::yaml::NodeValue::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, _)| k.line)
            .unwrap_or(node.line),
        _ => node.line,
    }
}

/// Resolves the `username` identifier and `password` attribute of user entries without the
/// store, so passwords can be hashed (or verified) before the write transaction.
pub fn user_passwords(blueprints: &[Blueprint]) -> Result<Vec<WantedPassword>, BlueprintError> {
    let mut out = Vec::new();
    let keys = HashMap::new();
    let cache = Cache::default();
    for (bi, bp) in blueprints.iter().enumerate() {
        let scope = Scope {
            keys: &keys,
            context: &bp.context,
            cache: &cache,
        };
        for (ei, entry) in bp.entries.iter().enumerate() {
            if entry.spec.kind != Kind::User {
                continue;
            }
            let Some(attrs) = &entry.attrs else { continue };
            let Some(pw_node) = attrs.get("password") else {
                continue;
            };
            let pw = resolve(pw_node, &scope).map_err(|e| tag_err(entry, e))?;
            let Some(pw) = pw.as_str().map(str::to_string) else {
                return Err(BlueprintError::at(
                    &Location {
                        line: pw_node.line,
                        ..entry.at.clone()
                    },
                    "field 'password': expected a string",
                ));
            };
            let username = entry
                .identifiers
                .as_ref()
                .and_then(|i| i.get("username"))
                .or_else(|| attrs.get("username"))
                .map(|n| resolve(n, &scope))
                .transpose()
                .map_err(|e| tag_err(entry, e))?
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            out.push(((bi, ei), username, pw));
        }
    }
    Ok(out)
}

/// Applies every entry of every blueprint, in order, inside `tx`. On error the caller drops
/// the transaction, so nothing is written.
pub async fn apply_in_tx(
    tx: &mut WriteTx,
    blueprints: &[Blueprint],
    passwords: &Passwords,
    now: i64,
) -> Result<ApplyReport, BlueprintError> {
    let cache = load_cache(tx.conn()).await?;
    let mut applier = Applier {
        tx,
        cache,
        report: ApplyReport::default(),
        now,
    };
    for (bi, bp) in blueprints.iter().enumerate() {
        let mut keys: HashMap<String, Value> = HashMap::new();
        for (ei, entry) in bp.entries.iter().enumerate() {
            let password = passwords.get(&(bi, ei));
            let id = applier.entry(&keys, bp, entry, password).await?;
            if let (Some(name), Some(id)) = (&entry.id, id) {
                keys.insert(name.clone(), Value::String(id));
            }
        }
    }
    Ok(applier.report)
}

/// The state of one apply: the transaction, the objects it sees, and what it did so far.
struct Applier<'t> {
    tx: &'t mut WriteTx,
    cache: Cache,
    report: ApplyReport,
    now: i64,
}

/// An entry's resolved and type-checked fields.
struct Resolved {
    identifiers: Map<String, Value>,
    attrs: Map<String, Value>,
}

impl Resolved {
    /// `base` overlaid with the identifiers (except `pk`) and then the attrs.
    fn over(self, mut base: Map<String, Value>) -> Map<String, Value> {
        base.extend(self.identifiers.into_iter().filter(|(k, _)| k != "pk"));
        base.extend(self.attrs);
        base
    }
}

fn at(entry: &Entry, e: &dyn std::fmt::Display) -> BlueprintError {
    BlueprintError::at(&entry.at, e.to_string())
}

impl Applier<'_> {
    /// Applies one entry; the id of the object it names (for later `!KeyOf`), if any.
    async fn entry(
        &mut self,
        keys: &HashMap<String, Value>,
        bp: &Blueprint,
        entry: &Entry,
        password: Option<&PasswordPlan>,
    ) -> Result<Option<String>, BlueprintError> {
        let scope = Scope {
            keys,
            context: &bp.context,
            cache: &self.cache,
        };
        for cond in &entry.conditions {
            let v = resolve(cond, &scope).map_err(|e| tag_err(entry, e))?;
            if !truthy(&v) {
                self.report.skipped += 1;
                return Ok(None);
            }
        }
        let (identifiers, _) = fields(entry, entry.identifiers.as_ref(), &scope)?;
        let (attrs, _) = fields(entry, entry.attrs.as_ref(), &scope)?;
        if identifiers.is_empty() {
            return Err(BlueprintError::at(
                &entry.at,
                format!(
                    "identifiers are required (e.g. {})",
                    entry.spec.natural_key.join(", ")
                ),
            ));
        }
        let existing = self.cache.find(entry.spec, &identifiers).cloned();
        let fields = Resolved { identifiers, attrs };
        match (entry.state, existing) {
            (State::Absent, None) => {
                self.report.unchanged += 1;
                Ok(None)
            }
            (State::Absent, Some(obj)) => {
                objects::delete(self.tx, obj.kind(), obj.id())
                    .await
                    .map_err(|e| at(entry, &e))?;
                self.report.deleted += 1;
                self.cache = load_cache(self.tx.conn()).await?;
                Ok(None)
            }
            (State::MustCreated, Some(_)) => Err(BlueprintError::at(
                &entry.at,
                "state must_created: the object already exists",
            )),
            (State::Created, Some(obj)) => {
                self.report.unchanged += 1;
                Ok(Some(obj.id().to_string()))
            }
            (_, None) => self.create(entry, fields, password).await.map(Some),
            (State::Present, Some(old)) => {
                self.update(entry, &old, fields, password).await.map(Some)
            }
        }
    }

    /// Creates the entry's object: authentik's defaults overlaid with the entry's fields.
    async fn create(
        &mut self,
        entry: &Entry,
        fields: Resolved,
        password: Option<&PasswordPlan>,
    ) -> Result<String, BlueprintError> {
        let spec = entry.spec;
        let mut base = spec.defaults();
        if spec.kind == Kind::Provider {
            base.insert(
                "client_id".into(),
                crate::crypto::secrets::new_client_id().into(),
            );
            base.insert(
                "client_secret".into(),
                crate::crypto::secrets::new_client_secret().into(),
            );
        }
        let obj = models::from_attrs(spec, &fields.over(base), &new_id())
            .map_err(|m| BlueprintError::at(&entry.at, m))?;
        crate::domain::validate_object(&obj).map_err(|e| at(entry, &e))?;
        objects::insert(self.tx, &obj, self.now)
            .await
            .map_err(|e| at(entry, &e))?;
        self.set_password(entry, obj.id(), password).await?;
        self.report.created += 1;
        refresh(self.tx, &mut self.cache, spec.kind).await?;
        Ok(obj.id().to_string())
    }

    /// Updates `old` with the entry's fields; an object whose content would not change is left
    /// alone (no version bump).
    async fn update(
        &mut self,
        entry: &Entry,
        old: &Object,
        fields: Resolved,
        password: Option<&PasswordPlan>,
    ) -> Result<String, BlueprintError> {
        let spec = entry.spec;
        let mut base = spec.defaults();
        base.extend(models::to_attrs(old));
        let mut obj = models::from_attrs(spec, &fields.over(base), old.id())
            .map_err(|m| BlueprintError::at(&entry.at, m))?;
        obj.adopt_meta(old);
        let mut changed = false;
        if !obj.same_content(old) {
            crate::domain::validate_object(&obj).map_err(|e| at(entry, &e))?;
            objects::update(self.tx, &obj, self.now)
                .await
                .map_err(|e| at(entry, &e))?;
            changed = true;
        }
        if self.set_password(entry, obj.id(), password).await? {
            changed = true;
        }
        if changed {
            self.report.updated += 1;
            refresh(self.tx, &mut self.cache, spec.kind).await?;
        } else {
            self.report.unchanged += 1;
        }
        Ok(old.id().to_string())
    }

    /// Stores a user entry's planned password hash; true when one was stored.
    async fn set_password(
        &mut self,
        entry: &Entry,
        user_id: &str,
        password: Option<&PasswordPlan>,
    ) -> Result<bool, BlueprintError> {
        let Some(PasswordPlan::Set(hash)) = password else {
            return Ok(false);
        };
        objects::set_password_hash(self.tx, user_id, hash, self.now)
            .await
            .map_err(|e| at(entry, &e))?;
        Ok(true)
    }
}

async fn refresh(tx: &mut WriteTx, cache: &mut Cache, kind: Kind) -> Result<(), BlueprintError> {
    let kinds = match kind {
        Kind::User | Kind::Group => vec![Kind::User, Kind::Group],
        other => vec![other],
    };
    for k in kinds {
        cache.objects.insert(k, objects::list(tx.conn(), k).await?);
    }
    Ok(())
}
