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
use crate::domain::{Kind, truthy};
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
    let mut cache = load_cache(tx.conn()).await?;
    let mut report = ApplyReport::default();
    for (bi, bp) in blueprints.iter().enumerate() {
        let mut keys: HashMap<String, Value> = HashMap::new();
        for (ei, entry) in bp.entries.iter().enumerate() {
            let password = passwords.get(&(bi, ei));
            let id =
                apply_entry(tx, &mut cache, &keys, bp, entry, password, now, &mut report).await?;
            if let (Some(name), Some(id)) = (&entry.id, id) {
                keys.insert(name.clone(), Value::String(id));
            }
        }
    }
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn apply_entry(
    tx: &mut WriteTx,
    cache: &mut Cache,
    keys: &HashMap<String, Value>,
    bp: &Blueprint,
    entry: &Entry,
    password: Option<&PasswordPlan>,
    now: i64,
    report: &mut ApplyReport,
) -> Result<Option<String>, BlueprintError> {
    let scope = Scope {
        keys,
        context: &bp.context,
        cache,
    };
    for cond in &entry.conditions {
        let v = resolve(cond, &scope).map_err(|e| tag_err(entry, e))?;
        if !truthy(&v) {
            report.skipped += 1;
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
    let existing = cache.find(entry.spec, &identifiers).cloned();
    let fail = |e: &dyn std::fmt::Display| BlueprintError::at(&entry.at, e.to_string());
    let spec = entry.spec;
    let result_id = match (entry.state, existing) {
        (State::Absent, None) => {
            report.unchanged += 1;
            None
        }
        (State::Absent, Some(obj)) => {
            objects::delete(tx, obj.kind(), obj.id())
                .await
                .map_err(|e| fail(&e))?;
            report.deleted += 1;
            *cache = load_cache(tx.conn()).await?;
            None
        }
        (State::MustCreated, Some(_)) => {
            return Err(BlueprintError::at(
                &entry.at,
                "state must_created: the object already exists",
            ));
        }
        (State::Created, Some(obj)) => {
            report.unchanged += 1;
            Some(obj.id().to_string())
        }
        (_, None) => {
            let mut full = spec.defaults();
            if spec.kind == Kind::Provider {
                full.insert(
                    "client_id".into(),
                    crate::crypto::secrets::new_client_id().into(),
                );
                full.insert(
                    "client_secret".into(),
                    crate::crypto::secrets::new_client_secret().into(),
                );
            }
            full.extend(identifiers.into_iter().filter(|(k, _)| k != "pk"));
            full.extend(attrs);
            let obj = models::from_attrs(spec, &full, &new_id())
                .map_err(|m| BlueprintError::at(&entry.at, m))?;
            crate::domain::validate_object(&obj).map_err(|e| fail(&e))?;
            objects::insert(tx, &obj, now).await.map_err(|e| fail(&e))?;
            if let Some(PasswordPlan::Set(hash)) = password {
                objects::set_password_hash(tx, obj.id(), hash, now)
                    .await
                    .map_err(|e| fail(&e))?;
            }
            report.created += 1;
            refresh(tx, cache, spec.kind).await?;
            Some(obj.id().to_string())
        }
        (State::Present, Some(old)) => {
            let mut full = spec.defaults();
            full.extend(models::to_attrs(&old));
            full.extend(identifiers.into_iter().filter(|(k, _)| k != "pk"));
            full.extend(attrs);
            let mut obj = models::from_attrs(spec, &full, old.id())
                .map_err(|m| BlueprintError::at(&entry.at, m))?;
            obj.adopt_meta(&old);
            let mut changed = false;
            if !obj.same_content(&old) {
                crate::domain::validate_object(&obj).map_err(|e| fail(&e))?;
                objects::update(tx, &obj, now).await.map_err(|e| fail(&e))?;
                changed = true;
            }
            if let Some(PasswordPlan::Set(hash)) = password {
                objects::set_password_hash(tx, obj.id(), hash, now)
                    .await
                    .map_err(|e| fail(&e))?;
                changed = true;
            }
            if changed {
                report.updated += 1;
                refresh(tx, cache, spec.kind).await?;
            } else {
                report.unchanged += 1;
            }
            Some(old.id().to_string())
        }
    };
    Ok(result_id)
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
