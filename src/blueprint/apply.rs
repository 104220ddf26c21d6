//! Applies checked blueprints: identifiers find or create, attrs update, `absent` deletes, and
//! an object whose content would not change is left alone (no version bump), so re-applying a
//! file is a no-op.
//!
//! An apply is planned first, against the objects a read sees ([`plan`]): every entry is
//! resolved, checked and turned into the writes it needs, with the cache kept current in
//! memory, and nothing holds the store's write lock meanwhile. The writes then run in one short
//! transaction ([`execute`]), all or nothing. A plan that deletes an existing object (whose
//! cascades the cache does not follow) is refused with [`Planned::NeedsTransaction`]; such
//! blueprints are applied entry by entry inside the transaction ([`apply_in_tx`]), as are
//! bootstrap's defaults.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::change_events;
use super::document::{Blueprint, Entry, State};
use super::error::{BlueprintError, Location};
use super::models::{self, Ty};
use super::resolve::{Cache, Scope, TagError, resolve};
use crate::domain::{Actor, new_id};
use crate::domain::{Kind, Object, truthy};
use crate::store::objects;
use crate::store::{Conn, StoreError, WriteTx};

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

/// Loads every object the connection can see.
pub async fn load_cache(conn: &mut Conn) -> Result<Cache, BlueprintError> {
    Ok(Cache::load(conn).await?)
}

/// One write an apply makes.
#[derive(Debug, Clone)]
pub enum Write {
    /// Insert a new object.
    Insert(Object),
    /// Update an object (its version is the one the plan saw); `before` is what the plan saw,
    /// for the audit trail's diff.
    Update { before: Box<Object>, after: Object },
    /// Store a user's planned password hash.
    Password {
        user_id: String,
        username: String,
        hash: String,
    },
}

/// A planned write and the entry it comes from, so a refusal at execution names the entry.
#[derive(Debug, Clone)]
pub struct PlannedWrite {
    /// The entry that asked for the write.
    pub at: Location,
    /// Who makes it, from which blueprint (recorded in the audit trail).
    pub actor: Actor,
    /// The write.
    pub write: Write,
}

/// What planning an apply came to.
#[derive(Debug)]
pub enum Planned {
    /// The writes to make, in order, and what they amount to.
    Writes {
        writes: Vec<PlannedWrite>,
        report: ApplyReport,
    },
    /// The blueprints delete an existing object: apply them inside the transaction instead.
    NeedsTransaction,
}

/// Plans every entry of every blueprint against `cache` (what a read saw), writing nothing.
pub async fn plan(
    blueprints: &[Blueprint],
    passwords: &Passwords,
    cache: Cache,
    now: i64,
    actor: &Actor,
) -> Result<Planned, BlueprintError> {
    let mut applier = Applier {
        sink: Sink::Plan(Vec::new()),
        cache,
        report: ApplyReport::default(),
        now,
        actor: actor.clone(),
    };
    match applier.all(blueprints, passwords).await {
        Ok(()) => {}
        Err(Stop::NeedsTransaction) => return Ok(Planned::NeedsTransaction),
        Err(Stop::Failed(e)) => return Err(e),
    }
    let Sink::Plan(writes) = applier.sink else {
        return Ok(Planned::NeedsTransaction);
    };
    Ok(Planned::Writes {
        writes,
        report: applier.report,
    })
}

/// Makes a plan's writes inside `tx` (the caller commits, or drops to roll back). A refusal
/// names the entry that asked for the write; a busy store stays [`BlueprintError::Store`] so
/// the caller can answer "try again".
pub async fn execute(
    tx: &mut WriteTx,
    writes: &[PlannedWrite],
    now: i64,
) -> Result<(), BlueprintError> {
    for w in writes {
        execute_one(tx, &w.write, now, &w.actor)
            .await
            .map_err(|e| {
                if e.is_busy() {
                    BlueprintError::Store(e)
                } else {
                    BlueprintError::at(&w.at, e.to_string())
                }
            })?;
    }
    Ok(())
}

/// Makes one write and records it in the audit trail as `actor`'s, in the same transaction.
async fn execute_one(
    tx: &mut WriteTx,
    w: &Write,
    now: i64,
    actor: &Actor,
) -> Result<(), StoreError> {
    match w {
        Write::Insert(obj) => {
            objects::insert(tx, obj, now).await?;
            change_events::record_change(tx, actor, None, Some(obj), now).await
        }
        Write::Update { before, after } => {
            objects::update(tx, after, now).await?;
            change_events::record_change(tx, actor, Some(before.as_ref()), Some(after), now).await
        }
        Write::Password {
            user_id,
            username,
            hash,
        } => {
            objects::set_password_hash(tx, user_id, hash, now).await?;
            let event = change_events::password_set_event(actor, user_id, username, now);
            crate::store::events::insert(tx.conn(), &event).await?;
            tx.touch(crate::store::Topic::Events);
            Ok(())
        }
    }
}

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
        if matches!(field.ty, Ty::Secret) && entry.spec.kind == Kind::EnrollmentToken {
            // Digested at once: the clear key goes no further than this line.
            let key = v.as_str().unwrap_or_default();
            out.insert(
                models::KEY_DIGEST.into(),
                crate::crypto::secrets::digest(key).into(),
            );
        } else if matches!(field.ty, Ty::Secret) {
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
        let scope = Scope::new(&keys, &bp.context, &cache);
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

/// Applies every entry of every blueprint, in order, inside `tx`, each write made as its entry
/// is reached. On error the caller drops the transaction, so nothing is written.
pub async fn apply_in_tx(
    tx: &mut WriteTx,
    blueprints: &[Blueprint],
    passwords: &Passwords,
    now: i64,
    actor: &Actor,
) -> Result<ApplyReport, BlueprintError> {
    let cache = load_cache(tx.conn()).await?;
    let mut applier = Applier {
        sink: Sink::Tx(tx),
        cache,
        report: ApplyReport::default(),
        now,
        actor: actor.clone(),
    };
    match applier.all(blueprints, passwords).await {
        Ok(()) => Ok(applier.report),
        Err(Stop::Failed(e)) => Err(e),
        // Cannot happen in a transaction; say so rather than write half.
        Err(Stop::NeedsTransaction) => Err(BlueprintError::Refused(
            "internal: a transaction apply asked for a transaction".into(),
        )),
    }
}

/// Where an apply's writes go.
enum Sink<'t> {
    /// Made at once, inside the transaction.
    Tx(&'t mut WriteTx),
    /// Recorded for [`execute`].
    Plan(Vec<PlannedWrite>),
}

/// Why an apply stopped.
enum Stop {
    /// An entry failed (nothing is written).
    Failed(BlueprintError),
    /// Planning met a delete: apply inside a transaction instead.
    NeedsTransaction,
}

impl From<BlueprintError> for Stop {
    fn from(e: BlueprintError) -> Self {
        Stop::Failed(e)
    }
}

impl From<crate::store::StoreError> for Stop {
    fn from(e: crate::store::StoreError) -> Self {
        Stop::Failed(e.into())
    }
}

/// The state of one apply: where writes go, the objects it sees, and what it did so far.
struct Applier<'t> {
    sink: Sink<'t>,
    cache: Cache,
    report: ApplyReport,
    now: i64,
    /// Who applies (its origin names the blueprint being applied, see [`Self::all`]).
    actor: Actor,
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

/// A refused object, at the line of its first bad field when the entry names that field.
fn invalid(entry: &Entry, errors: &crate::domain::FieldErrors) -> BlueprintError {
    let line = errors
        .0
        .first()
        .and_then(|e| {
            [entry.attrs.as_ref(), entry.identifiers.as_ref()]
                .into_iter()
                .flatten()
                .find(|node| node.get(&e.field).is_some())
                .map(|node| field_line(node, &e.field))
        })
        .unwrap_or(entry.at.line);
    BlueprintError::at(
        &Location {
            line,
            ..entry.at.clone()
        },
        errors.to_string(),
    )
}

/// The object's Python expressions compile (an expression policy's, a scope mapping's), or the
/// entry is refused at its `expression` field, the expression's own line in the message.
fn check_expressions(entry: &Entry, obj: &Object) -> Result<(), BlueprintError> {
    use crate::domain::{FieldErrors, PolicySettings};
    let sources: Vec<(&str, &str)> = match obj {
        Object::Policy(p) => match &p.settings {
            PolicySettings::Expression(s) => vec![("expression", s.expression.as_str())],
            _ => return Ok(()),
        },
        Object::ScopeMapping(m) => vec![("expression", m.expression.as_str())],
        // A prompt's placeholder / initial value, when marked as an expression.
        Object::Prompt(p) => [
            (
                p.placeholder_expression,
                "placeholder",
                p.placeholder.as_str(),
            ),
            (
                p.initial_value_expression,
                "initial_value",
                p.initial_value.as_str(),
            ),
        ]
        .into_iter()
        .filter_map(|(is_expr, field, source)| is_expr.then_some((field, source)))
        .collect(),
        _ => return Ok(()),
    };
    let mut errors = FieldErrors::default();
    for (field, source) in sources.into_iter().filter(|(_, s)| !s.trim().is_empty()) {
        let refused = if crate::expr::looks_like_rhai(source) {
            Some(crate::expr::RHAI_REFUSED.to_string())
        } else {
            crate::expr::python::check(source)
                .err()
                .map(|e| e.to_string())
        };
        if let Some(message) = refused {
            errors.add(field, message);
        }
    }
    errors.into_result().map_err(|e| invalid(entry, &e))
}

impl Applier<'_> {
    /// Every entry of every blueprint, in order.
    async fn all(&mut self, blueprints: &[Blueprint], passwords: &Passwords) -> Result<(), Stop> {
        let applier = self.actor.clone();
        for (bi, bp) in blueprints.iter().enumerate() {
            self.actor = applier.applying_blueprint(&bp.name);
            let mut keys: HashMap<String, Value> = HashMap::new();
            for (ei, entry) in bp.entries.iter().enumerate() {
                let password = passwords.get(&(bi, ei));
                let id = self.entry(&keys, bp, entry, password).await?;
                if let (Some(name), Some(id)) = (&entry.id, id) {
                    keys.insert(name.clone(), Value::String(id));
                }
            }
        }
        Ok(())
    }

    /// Applies one entry; the id of the object it names (for later `!KeyOf`), if any.
    async fn entry(
        &mut self,
        keys: &HashMap<String, Value>,
        bp: &Blueprint,
        entry: &Entry,
        password: Option<&PasswordPlan>,
    ) -> Result<Option<String>, Stop> {
        let scope = Scope::new(keys, &bp.context, &self.cache);
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
            )
            .into());
        }
        let existing = self.cache.find(entry.spec, &identifiers).cloned();
        let fields = Resolved { identifiers, attrs };
        match (entry.state, existing) {
            (State::Absent, None) => {
                self.report.unchanged += 1;
                Ok(None)
            }
            (State::Absent, Some(obj)) => {
                self.delete(entry, &obj).await?;
                Ok(None)
            }
            (State::MustCreated, Some(_)) => Err(BlueprintError::at(
                &entry.at,
                "state must_created: the object already exists",
            )
            .into()),
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

    /// Deletes an existing object; the schema cascades and clears what uses it, which only the
    /// store knows, so the whole cache is read again (and a plan asks for a transaction).
    async fn delete(&mut self, entry: &Entry, obj: &Object) -> Result<(), Stop> {
        let Sink::Tx(tx) = &mut self.sink else {
            return Err(Stop::NeedsTransaction);
        };
        objects::delete(tx, obj.kind(), obj.id())
            .await
            .map_err(|e| at(entry, &e))?;
        change_events::record_change(tx, &self.actor, Some(obj), None, self.now)
            .await
            .map_err(|e| at(entry, &e))?;
        self.report.deleted += 1;
        self.cache = load_cache(tx.conn()).await?;
        Ok(())
    }

    /// Makes (or records) one write; the error names the entry.
    async fn write(&mut self, entry: &Entry, w: Write) -> Result<(), Stop> {
        match &mut self.sink {
            Sink::Plan(writes) => writes.push(PlannedWrite {
                at: entry.at.clone(),
                actor: self.actor.clone(),
                write: w,
            }),
            Sink::Tx(tx) => execute_one(tx, &w, self.now, &self.actor)
                .await
                .map_err(|e| at(entry, &e))?,
        }
        Ok(())
    }

    /// Creates the entry's object: authentik's defaults overlaid with the entry's fields.
    async fn create(
        &mut self,
        entry: &Entry,
        fields: Resolved,
        password: Option<&PasswordPlan>,
    ) -> Result<String, Stop> {
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
        let mut obj = models::from_attrs(spec, &fields.over(base), &new_id())
            .map_err(|m| BlueprintError::at(&entry.at, m))?;
        crate::domain::validate_object(&obj).map_err(|e| invalid(entry, &e))?;
        check_expressions(entry, &obj)?;
        self.write(entry, Write::Insert(obj.clone())).await?;
        let id = obj.id().to_string();
        obj.stored_as_new(self.now);
        self.cache.insert(obj);
        self.set_password(entry, &id, password).await?;
        self.report.created += 1;
        Ok(id)
    }

    /// Updates `old` with the entry's fields; an object whose content would not change is left
    /// alone (no version bump).
    async fn update(
        &mut self,
        entry: &Entry,
        old: &Object,
        fields: Resolved,
        password: Option<&PasswordPlan>,
    ) -> Result<String, Stop> {
        let spec = entry.spec;
        let mut base = spec.defaults();
        base.extend(models::to_attrs(old));
        let mut obj = models::from_attrs(spec, &fields.over(base), old.id())
            .map_err(|m| BlueprintError::at(&entry.at, m))?;
        obj.adopt_meta(old);
        let mut changed = false;
        if !obj.same_content(old) {
            crate::domain::validate_object(&obj).map_err(|e| invalid(entry, &e))?;
            check_expressions(entry, &obj)?;
            let write = Write::Update {
                before: Box::new(old.clone()),
                after: obj.clone(),
            };
            self.write(entry, write).await?;
            obj.stored_as_update(self.now);
            self.cache.replace(obj);
            changed = true;
        }
        if self.set_password(entry, old.id(), password).await? {
            changed = true;
        }
        if changed {
            self.report.updated += 1;
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
    ) -> Result<bool, Stop> {
        let Some(PasswordPlan::Set(hash)) = password else {
            return Ok(false);
        };
        let username = match self.cache.get(Kind::User, user_id) {
            Some(Object::User { user, .. }) => user.username.clone(),
            _ => String::new(),
        };
        let w = Write::Password {
            user_id: user_id.to_string(),
            username,
            hash: hash.clone(),
        };
        self.write(entry, w).await?;
        if let Some(mut user) = self.cache.get(Kind::User, user_id).cloned() {
            user.stored_with_password(self.now);
            self.cache.replace(user);
        }
        Ok(true)
    }
}
