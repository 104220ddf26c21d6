//! Generic create/update/delete of every admin object inside a caller-provided transaction, with
//! the validation and reference checks both the blueprint importer and the console's forms need.
//! The caller owns the [`WriteTx`], so many writes can commit (or roll back) together.

use serde_json::Value;

use super::{ServiceError, ServiceResult};
use crate::domain::validate::{check_required, check_slug};
use crate::domain::*;
use crate::store::{self, Conn, Topic, WriteTx};

/// Every kind of admin object this layer can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Flow,
    Stage,
    FlowStageBinding,
    Prompt,
    Policy,
    PolicyBinding,
    Application,
    Provider,
    ScopeMapping,
    Certificate,
    Brand,
    Connector,
    User,
    Group,
}

impl Kind {
    /// The change topic a write of this kind publishes.
    pub fn topic(self) -> Topic {
        match self {
            Kind::Flow | Kind::FlowStageBinding => Topic::Flows,
            Kind::Stage | Kind::Prompt => Topic::Stages,
            Kind::Policy | Kind::PolicyBinding => Topic::Policies,
            Kind::Application => Topic::Applications,
            Kind::Provider => Topic::Providers,
            Kind::ScopeMapping => Topic::ScopeMappings,
            Kind::Certificate => Topic::Certificates,
            Kind::Brand => Topic::Brands,
            Kind::Connector => Topic::Connectors,
            Kind::User => Topic::Users,
            Kind::Group => Topic::Groups,
        }
    }
}

/// One admin object of any kind. Users and groups carry their memberships (sorted ids) so a
/// write can set them together with the object.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Flow(Flow),
    Stage(Stage),
    FlowStageBinding(FlowStageBinding),
    Prompt(Prompt),
    Policy(Policy),
    PolicyBinding(PolicyBinding),
    Application(Application),
    Provider(Provider),
    ScopeMapping(ScopeMapping),
    Certificate(CertificateKeypair),
    Brand(Brand),
    Connector(Connector),
    User { user: User, groups: Vec<String> },
    Group { group: Group, users: Vec<String> },
}

/// Applies `$body` to the common bookkeeping fields of whatever object `$obj` holds.
macro_rules! each {
    ($obj:expr, $o:ident => $body:expr) => {
        match $obj {
            Object::Flow($o) => $body,
            Object::Stage($o) => $body,
            Object::FlowStageBinding($o) => $body,
            Object::Prompt($o) => $body,
            Object::Policy($o) => $body,
            Object::PolicyBinding($o) => $body,
            Object::Application($o) => $body,
            Object::Provider($o) => $body,
            Object::ScopeMapping($o) => $body,
            Object::Certificate($o) => $body,
            Object::Brand($o) => $body,
            Object::Connector($o) => $body,
            Object::User { user: $o, .. } => $body,
            Object::Group { group: $o, .. } => $body,
        }
    };
}

impl Object {
    /// The object's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Object::Flow(_) => Kind::Flow,
            Object::Stage(_) => Kind::Stage,
            Object::FlowStageBinding(_) => Kind::FlowStageBinding,
            Object::Prompt(_) => Kind::Prompt,
            Object::Policy(_) => Kind::Policy,
            Object::PolicyBinding(_) => Kind::PolicyBinding,
            Object::Application(_) => Kind::Application,
            Object::Provider(_) => Kind::Provider,
            Object::ScopeMapping(_) => Kind::ScopeMapping,
            Object::Certificate(_) => Kind::Certificate,
            Object::Brand(_) => Kind::Brand,
            Object::Connector(_) => Kind::Connector,
            Object::User { .. } => Kind::User,
            Object::Group { .. } => Kind::Group,
        }
    }

    /// The object's id.
    pub fn id(&self) -> &str {
        each!(self, o => o.id.as_str())
    }

    /// The version used for the optimistic check on update.
    pub fn version(&self) -> i64 {
        each!(self, o => o.version)
    }

    fn set_meta(&mut self, id: &str, created: i64, updated: i64, version: i64) {
        each!(self, o => {
            o.id = id.to_string();
            o.created_at = created;
            o.updated_at = updated;
            o.version = version;
        })
    }

    fn meta(&self) -> (String, i64, i64, i64) {
        each!(self, o => (o.id.clone(), o.created_at, o.updated_at, o.version))
    }

    /// Makes `self` carry `other`'s id, timestamps and version (so content can be compared).
    pub fn adopt_meta(&mut self, other: &Object) {
        let (id, c, u, v) = other.meta();
        self.set_meta(&id, c, u, v);
    }

    /// True when both hold the same content, ignoring id, timestamps, version and derived
    /// counters; set-like lists compare in any order.
    pub fn same_content(&self, other: &Object) -> bool {
        let mut a = self.clone();
        let mut b = other.clone();
        a.normalise();
        b.normalise();
        b.adopt_meta(&a);
        a == b
    }

    fn normalise(&mut self) {
        match self {
            Object::Provider(p) => p.scope_mapping_ids.sort(),
            Object::User { user, groups } => {
                user.has_password = false;
                user.last_login = None;
                groups.sort();
                groups.dedup();
            }
            Object::Group { group, users } => {
                group.member_count = 0;
                users.sort();
                users.dedup();
            }
            _ => {}
        }
    }
}

/// Every stored object of `kind` (users and groups with their memberships).
pub async fn list(conn: &mut Conn, kind: Kind) -> ServiceResult<Vec<Object>> {
    Ok(match kind {
        Kind::Flow => wrap(store::flows::list(conn).await?, Object::Flow),
        Kind::Stage => wrap(store::stages::list(conn).await?, Object::Stage),
        Kind::FlowStageBinding => wrap(
            store::flows::all_bindings(conn).await?,
            Object::FlowStageBinding,
        ),
        Kind::Prompt => wrap(store::stages::list_prompts(conn).await?, Object::Prompt),
        Kind::Policy => wrap(store::policies::list(conn).await?, Object::Policy),
        Kind::PolicyBinding => wrap(
            store::policies::all_bindings(conn).await?,
            Object::PolicyBinding,
        ),
        Kind::Application => wrap(store::applications::list(conn).await?, Object::Application),
        Kind::Provider => wrap(store::providers::list(conn).await?, Object::Provider),
        Kind::ScopeMapping => wrap(
            store::scope_mappings::list(conn).await?,
            Object::ScopeMapping,
        ),
        Kind::Certificate => wrap(store::certificates::list(conn).await?, Object::Certificate),
        Kind::Brand => wrap(store::brands::list(conn).await?, Object::Brand),
        Kind::Connector => wrap(store::connectors::list(conn).await?, Object::Connector),
        Kind::User => {
            let mut out = Vec::new();
            for user in store::users::list(conn).await? {
                let mut groups: Vec<String> = store::groups::of_user(conn, &user.id)
                    .await?
                    .into_iter()
                    .map(|g| g.id)
                    .collect();
                groups.sort();
                out.push(Object::User { user, groups });
            }
            out
        }
        Kind::Group => {
            let mut out = Vec::new();
            for group in store::groups::list(conn).await? {
                let users = store::groups::member_ids(conn, &group.id).await?;
                out.push(Object::Group { group, users });
            }
            out
        }
    })
}

fn wrap<T>(items: Vec<T>, f: fn(T) -> Object) -> Vec<Object> {
    items.into_iter().map(f).collect()
}

/// Checks the fields of an object that the type system cannot (required text, slugs, one
/// subject per policy binding, redirect URI schemes, durations).
pub fn validate(obj: &Object) -> Result<(), FieldErrors> {
    let mut e = FieldErrors::default();
    match obj {
        Object::Flow(f) => {
            check_required(&mut e, "name", &f.name);
            check_slug(&mut e, "slug", &f.slug);
        }
        Object::Stage(s) => check_required(&mut e, "name", &s.name),
        Object::FlowStageBinding(b) => {
            check_required(&mut e, "target", &b.flow_id);
            check_required(&mut e, "stage", &b.stage_id);
        }
        Object::Prompt(p) => {
            check_required(&mut e, "name", &p.name);
            check_required(&mut e, "field_key", &p.field_key);
        }
        Object::Policy(p) => check_required(&mut e, "name", &p.name),
        Object::PolicyBinding(b) => check_required(&mut e, "target", &b.target_id),
        Object::Application(a) => {
            check_required(&mut e, "name", &a.name);
            check_slug(&mut e, "slug", &a.slug);
        }
        Object::Provider(p) => {
            check_required(&mut e, "name", &p.name);
            check_required(&mut e, "client_id", &p.client_id);
            for uri in &p.oauth2.redirect_uris {
                if crate::domain::redirect::is_forbidden_scheme(&uri.url) {
                    e.add(
                        "redirect_uris",
                        format!("'{}' uses a forbidden scheme", uri.url),
                    );
                }
            }
            for (field, value) in [
                ("access_code_validity", &p.oauth2.access_code_validity),
                ("access_token_validity", &p.oauth2.access_token_validity),
                ("refresh_token_validity", &p.oauth2.refresh_token_validity),
                ("refresh_token_threshold", &p.oauth2.refresh_token_threshold),
                ("device_code_validity", &p.oauth2.device_code_validity),
            ] {
                if Duration::parse(value).is_err() {
                    e.add(
                        field,
                        format!("'{value}' is not in the format 'hours=3;minutes=1'"),
                    );
                }
            }
            for grant in &p.oauth2.grant_types {
                if !ALL_GRANT_TYPES.contains(&grant.as_str()) {
                    e.add(
                        "grant_types",
                        format!("'{grant}' is not one of: {}", ALL_GRANT_TYPES.join(", ")),
                    );
                }
            }
        }
        Object::ScopeMapping(m) => {
            check_required(&mut e, "name", &m.name);
            check_required(&mut e, "scope_name", &m.scope_name);
        }
        Object::Certificate(c) => {
            check_required(&mut e, "name", &c.name);
            check_required(&mut e, "certificate_data", &c.certificate_pem);
        }
        Object::Brand(b) => check_required(&mut e, "domain", &b.domain),
        Object::Connector(c) => check_required(&mut e, "name", &c.name),
        Object::User { user, .. } => check_required(&mut e, "username", &user.username),
        Object::Group { group, .. } => check_required(&mut e, "name", &group.name),
    }
    e.into_result()
}

/// Validates and inserts `obj` (created/updated set to `now`, version 1); records its topic.
pub async fn insert(tx: &mut WriteTx, obj: &Object, now: i64) -> ServiceResult<()> {
    validate(obj)?;
    let mut obj = obj.clone();
    let id = obj.id().to_string();
    obj.set_meta(&id, now, now, 1);
    let conn = tx.conn();
    match &obj {
        Object::Flow(o) => store::flows::insert(conn, o).await?,
        Object::Stage(o) => store::stages::insert(conn, o).await?,
        Object::FlowStageBinding(o) => store::flows::insert_binding(conn, o).await?,
        Object::Prompt(o) => store::stages::insert_prompt(conn, o).await?,
        Object::Policy(o) => store::policies::insert(conn, o).await?,
        Object::PolicyBinding(o) => store::policies::insert_binding(conn, o).await?,
        Object::Application(o) => store::applications::insert(conn, o).await?,
        Object::Provider(o) => store::providers::insert(conn, o).await?,
        Object::ScopeMapping(o) => store::scope_mappings::insert(conn, o).await?,
        Object::Certificate(o) => store::certificates::insert(conn, o).await?,
        Object::Brand(o) => store::brands::insert(conn, o).await?,
        Object::Connector(o) => store::connectors::insert(conn, o).await?,
        Object::User { user, groups } => {
            store::users::insert(conn, user, None).await?;
            for g in groups {
                store::groups::add_member(conn, g, &user.id).await?;
            }
        }
        Object::Group { group, users } => {
            store::groups::insert(conn, group).await?;
            for u in users {
                store::groups::add_member(conn, &group.id, u).await?;
            }
        }
    }
    tx.touch(obj.kind().topic());
    Ok(())
}

/// Validates and updates `obj` (its `version` must be the stored one); memberships are set to
/// exactly the listed ones. Records its topic.
pub async fn update(tx: &mut WriteTx, obj: &Object, now: i64) -> ServiceResult<()> {
    validate(obj)?;
    let mut obj = obj.clone();
    let (id, created, _, version) = obj.meta();
    obj.set_meta(&id, created, now, version);
    let conn = tx.conn();
    match &obj {
        Object::Flow(o) => store::flows::update(conn, o).await?,
        Object::Stage(o) => store::stages::update(conn, o).await?,
        Object::FlowStageBinding(o) => store::flows::update_binding(conn, o).await?,
        Object::Prompt(o) => store::stages::update_prompt(conn, o).await?,
        Object::Policy(o) => store::policies::update(conn, o).await?,
        Object::PolicyBinding(o) => store::policies::update_binding(conn, o).await?,
        Object::Application(o) => store::applications::update(conn, o).await?,
        Object::Provider(o) => store::providers::update(conn, o).await?,
        Object::ScopeMapping(o) => store::scope_mappings::update(conn, o).await?,
        Object::Certificate(o) => store::certificates::update(conn, o).await?,
        Object::Brand(o) => store::brands::update(conn, o).await?,
        Object::Connector(o) => store::connectors::update(conn, o).await?,
        Object::User { user, groups } => {
            store::users::update(conn, user).await?;
            let current: Vec<String> = store::groups::of_user(conn, &user.id)
                .await?
                .into_iter()
                .map(|g| g.id)
                .collect();
            for g in current.iter().filter(|g| !groups.contains(g)) {
                store::groups::remove_member(conn, g, &user.id).await?;
            }
            for g in groups.iter().filter(|g| !current.contains(g)) {
                store::groups::add_member(conn, g, &user.id).await?;
            }
            tx.touch(Topic::Groups);
        }
        Object::Group { group, users } => {
            store::groups::update(conn, group).await?;
            let current = store::groups::member_ids(conn, &group.id).await?;
            for u in current.iter().filter(|u| !users.contains(u)) {
                store::groups::remove_member(conn, &group.id, u).await?;
            }
            for u in users.iter().filter(|u| !current.contains(u)) {
                store::groups::add_member(conn, &group.id, u).await?;
            }
            tx.touch(Topic::Users);
        }
    }
    tx.touch(obj.kind().topic());
    Ok(())
}

/// Deletes the object of `kind` with `id`. Records its topic.
pub async fn delete(tx: &mut WriteTx, kind: Kind, id: &str) -> ServiceResult<()> {
    let conn = tx.conn();
    match kind {
        Kind::Flow => store::flows::delete(conn, id).await?,
        Kind::Stage => store::stages::delete(conn, id).await?,
        Kind::FlowStageBinding => store::flows::delete_binding(conn, id).await?,
        Kind::Prompt => {
            // Prompt stages list their fields by id (or name) in settings: drop it there too,
            // so no stage keeps a dangling field.
            let name = store::stages::list_prompts(conn)
                .await?
                .into_iter()
                .find(|p| p.id == id)
                .map(|p| p.name);
            for mut stage in store::stages::list(conn).await? {
                let Some(fields) = stage
                    .settings
                    .get_mut("fields")
                    .and_then(serde_json::Value::as_array_mut)
                else {
                    continue;
                };
                let before = fields.len();
                fields.retain(|v| {
                    v.as_str()
                        .is_none_or(|f| f != id && Some(f) != name.as_deref())
                });
                if fields.len() != before {
                    store::stages::update(conn, &stage).await?;
                }
            }
            store::stages::delete_prompt(conn, id).await?
        }
        Kind::Policy => store::policies::delete(conn, id).await?,
        Kind::PolicyBinding => store::policies::delete_binding(conn, id).await?,
        Kind::Application => store::applications::delete(conn, id).await?,
        Kind::Provider => store::providers::delete(conn, id).await?,
        Kind::ScopeMapping => store::scope_mappings::delete(conn, id).await?,
        Kind::Certificate => store::certificates::delete(conn, id).await?,
        Kind::Brand => store::brands::delete(conn, id).await?,
        Kind::Connector => store::connectors::delete(conn, id).await?,
        Kind::User => store::users::delete(conn, id).await?,
        Kind::Group => store::groups::delete(conn, id).await?,
    }
    tx.touch(kind.topic());
    Ok(())
}

/// Sets a user's password hash (hashed by the caller, before the transaction).
pub async fn set_password_hash(
    tx: &mut WriteTx,
    user_id: &str,
    hash: &str,
    now: i64,
) -> ServiceResult<()> {
    store::users::set_password_hash(tx.conn(), user_id, hash, now).await?;
    tx.touch(Topic::Users);
    Ok(())
}

/// The stored password hash of a user, read outside any transaction (to decide before writing
/// whether a blueprint's password differs).
pub async fn password_hash(conn: &mut Conn, user_id: &str) -> ServiceResult<Option<String>> {
    Ok(store::users::password_hash(conn, user_id).await?)
}

/// Turns a JSON value into a [`ServiceError::Refused`] naming `what` (for callers mapping
/// settings that fail to decode).
pub fn refused(what: &str, err: impl std::fmt::Display) -> ServiceError {
    ServiceError::Refused(format!("{what}: {err}"))
}

/// True for `null`, `false`, `0`, empty strings, lists and maps (authentik's truthiness).
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Builds a certificate keypair from PEM text, deriving what authentik derives at save time
/// (key type, fingerprints, subject, validity, kid). Timestamps and version are left at zero.
pub fn certificate_from_pem(
    id: &str,
    name: &str,
    certificate_pem: &str,
    key_pem: Option<&str>,
    managed: Option<String>,
) -> ServiceResult<CertificateKeypair> {
    let facts = crate::crypto::keys::inspect(certificate_pem, key_pem)?;
    let mut kp = CertificateKeypair {
        id: id.to_string(),
        name: name.to_string(),
        certificate_pem: certificate_pem.to_string(),
        key_pem: key_pem.map(str::to_string),
        managed,
        key_type: facts.key_type,
        kid: String::new(),
        fingerprint_sha256: facts.fingerprint_sha256,
        fingerprint_sha1: facts.fingerprint_sha1,
        subject: facts.subject,
        not_before: facts.not_before,
        not_after: facts.not_after,
        created_at: 0,
        updated_at: 0,
        version: 0,
    };
    if kp.key_pem.is_some() {
        kp.kid = crate::crypto::jwk::SigningKey::from_keypair(&kp)?.kid;
    }
    Ok(kp)
}

/// Hashes a password with argon2id (slow: call before opening a transaction).
pub fn hash_password(plain: &str) -> ServiceResult<String> {
    Ok(crate::crypto::password::hash(plain)?)
}

/// True when `plain` matches the stored hash (slow: call outside a transaction).
pub fn password_matches(plain: &str, hash: &str) -> bool {
    crate::crypto::password::verify(plain, hash)
}

/// A new OAuth2 client id as authentik generates it (40 random letters and digits).
pub fn generate_client_id() -> String {
    crate::crypto::secrets::random_alnum(40)
}

/// A new OAuth2 client secret as authentik generates it (128 random letters and digits).
pub fn generate_client_secret() -> String {
    crate::crypto::secrets::random_alnum(128)
}
