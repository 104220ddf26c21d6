//! The objects an apply sees, kept current as its entries are applied: every object with its
//! blueprint attributes computed once, and hash indexes on the identifier fields lookups use,
//! built on first use and updated on every write. An entry's lookup is then one hash probe, so
//! applying N entries is linear in N (it used to reload the kind from the store and compare
//! every object's attributes for each entry: 1 000 users took 32 s).

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value};

use super::models::{self, ModelSpec};
use crate::domain::{Kind, Object};
use crate::store::{Conn, StoreResult, objects};

/// Every kind an apply can touch, in the order they are loaded.
pub const ALL_KINDS: [Kind; 18] = [
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
    Kind::DeviceAccessGroup,
    Kind::EnrollmentToken,
    Kind::NotificationTransport,
    Kind::NotificationRule,
    Kind::User,
    Kind::Group,
];

/// The objects of one kind, their attributes (same positions) and their positions by id.
#[derive(Debug, Default, Clone)]
struct Slot {
    objects: Vec<Object>,
    attrs: Vec<Map<String, Value>>,
    ids: HashMap<String, usize>,
}

/// An index: for one model and one sorted set of fields, the positions of the objects whose
/// values of those fields serialise to each key.
type Index = HashMap<String, Vec<usize>>;

/// The objects visible to an apply, by kind.
#[derive(Debug, Default)]
pub struct Cache {
    kinds: HashMap<Kind, Slot>,
    /// `(model name, fields)` → index; behind a mutex because lookups build them from `&self`.
    indexes: Mutex<HashMap<(&'static str, Vec<String>), Index>>,
}

impl Clone for Cache {
    fn clone(&self) -> Self {
        Self {
            kinds: self.kinds.clone(),
            indexes: Mutex::new(HashMap::new()),
        }
    }
}

/// The lookup key of an object's (or a query's) values for `fields`; `None` when a field is
/// missing (such an object never matches).
fn key_of(fields: &[String], id: &str, attrs: &Map<String, Value>) -> Option<String> {
    let mut key = String::new();
    for f in fields {
        let part = if f == "pk" {
            Value::String(id.to_string()).to_string()
        } else {
            attrs.get(f)?.to_string()
        };
        key.push_str(&part);
        key.push('\u{1f}');
    }
    Some(key)
}

impl Cache {
    /// Everything the connection sees (read in one go; call inside a transaction for a
    /// consistent view).
    pub async fn load(conn: &mut Conn) -> StoreResult<Self> {
        let mut cache = Cache::default();
        for kind in ALL_KINDS {
            cache.set_kind(kind, objects::list(conn, kind).await?);
        }
        Ok(cache)
    }

    /// Replaces every object of `kind` (after a write whose effects are not tracked here).
    pub fn set_kind(&mut self, kind: Kind, objects: Vec<Object>) {
        let attrs = objects.iter().map(models::to_attrs).collect();
        let ids = objects
            .iter()
            .enumerate()
            .map(|(i, o)| (o.id().to_string(), i))
            .collect();
        self.kinds.insert(
            kind,
            Slot {
                objects,
                attrs,
                ids,
            },
        );
        self.drop_indexes(kind);
    }

    /// The objects of `kind`.
    pub fn objects(&self, kind: Kind) -> &[Object] {
        self.kinds.get(&kind).map_or(&[], |s| s.objects.as_slice())
    }

    /// The object of `kind` with this id.
    pub fn get(&self, kind: Kind, id: &str) -> Option<&Object> {
        let slot = self.kinds.get(&kind)?;
        slot.objects.get(*slot.ids.get(id)?)
    }

    /// Every object of every kind.
    pub fn all(&self) -> impl Iterator<Item = &Object> {
        self.kinds.values().flat_map(|s| s.objects.iter())
    }

    /// The first object of `spec`'s model whose attributes equal every `(field, value)` pair
    /// (`pk` compares the id), in load order.
    pub fn find<'a>(
        &'a self,
        spec: &'static ModelSpec,
        pairs: &Map<String, Value>,
    ) -> Option<&'a Object> {
        let slot = self.kinds.get(&spec.kind)?;
        let mut fields: Vec<String> = pairs.keys().cloned().collect();
        fields.sort();
        let mut query = String::new();
        for f in &fields {
            query.push_str(&pairs.get(f)?.to_string());
            query.push('\u{1f}');
        }
        let mut indexes = self.indexes.lock().ok()?;
        let index = indexes
            .entry((spec.name, fields))
            .or_insert_with_key(|(_, fields)| build_index(spec, fields, slot));
        let pos = *index.get(&query)?.first()?;
        slot.objects.get(pos)
    }

    /// Adds a new object (as the store now holds it).
    pub fn insert(&mut self, obj: Object) {
        let kind = obj.kind();
        let slot = self.kinds.entry(kind).or_default();
        slot.attrs.push(models::to_attrs(&obj));
        slot.ids.insert(obj.id().to_string(), slot.objects.len());
        slot.objects.push(obj);
        let pos = slot.objects.len() - 1;
        self.index_position(kind, pos);
        self.follow_memberships(kind, pos);
    }

    /// Replaces the object with the same id (as the store now holds it).
    pub fn replace(&mut self, obj: Object) {
        let kind = obj.kind();
        let Some(pos) = self
            .kinds
            .get(&kind)
            .and_then(|s| s.ids.get(obj.id()).copied())
        else {
            self.insert(obj);
            return;
        };
        self.unindex_position(kind, pos);
        if let Some(slot) = self.kinds.get_mut(&kind) {
            slot.attrs[pos] = models::to_attrs(&obj);
            slot.objects[pos] = obj;
        }
        self.index_position(kind, pos);
        self.follow_memberships(kind, pos);
    }

    /// A written user's groups are the other side of its groups' member lists (and the other
    /// way round): keep both sides as the store now has them.
    fn follow_memberships(&mut self, kind: Kind, pos: usize) {
        let (other, me, mine): (Kind, String, Vec<String>) = match self
            .kinds
            .get(&kind)
            .and_then(|s| s.objects.get(pos))
        {
            Some(Object::User { user, groups }) => (Kind::Group, user.id.clone(), groups.clone()),
            Some(Object::Group { group, users }) => (Kind::User, group.id.clone(), users.clone()),
            _ => return,
        };
        let Some(len) = self.kinds.get(&other).map(|s| s.objects.len()) else {
            return;
        };
        for i in 0..len {
            let Some(o) = self.kinds.get(&other).and_then(|s| s.objects.get(i)) else {
                return;
            };
            let (id, has) = match o {
                Object::User { user, groups } => (user.id.as_str(), groups.contains(&me)),
                Object::Group { group, users } => (group.id.as_str(), users.contains(&me)),
                _ => continue,
            };
            let wanted = mine.iter().any(|x| x == id);
            if wanted == has {
                continue;
            }
            let mut o = o.clone();
            let list = match &mut o {
                Object::User { groups, .. } => groups,
                Object::Group { users, .. } => users,
                _ => continue,
            };
            if wanted {
                list.push(me.clone());
                list.sort();
            } else {
                list.retain(|x| x != &me);
            }
            self.unindex_position(other, i);
            if let Some(slot) = self.kinds.get_mut(&other) {
                slot.attrs[i] = models::to_attrs(&o);
                slot.objects[i] = o;
            }
            self.index_position(other, i);
        }
    }

    fn drop_indexes(&mut self, kind: Kind) {
        if let Ok(mut idx) = self.indexes.lock() {
            idx.retain(|(model, _), _| models::spec(model).is_none_or(|s| s.kind != kind));
        }
    }

    /// Adds the object at `pos` to every index built over its kind.
    fn index_position(&mut self, kind: Kind, pos: usize) {
        self.each_index_key(kind, pos, |index, key| {
            let at = index.entry(key).or_default();
            at.push(pos);
            at.sort_unstable();
        });
    }

    /// Removes the object at `pos` from every index built over its kind.
    fn unindex_position(&mut self, kind: Kind, pos: usize) {
        self.each_index_key(kind, pos, |index, key| {
            if let Some(at) = index.get_mut(&key) {
                at.retain(|p| *p != pos);
            }
        });
    }

    fn each_index_key(&mut self, kind: Kind, pos: usize, mut f: impl FnMut(&mut Index, String)) {
        let Some(slot) = self.kinds.get(&kind) else {
            return;
        };
        let (Some(obj), Some(attrs)) = (slot.objects.get(pos), slot.attrs.get(pos)) else {
            return;
        };
        let Ok(mut indexes) = self.indexes.lock() else {
            return;
        };
        for ((model, fields), index) in indexes.iter_mut() {
            let Some(spec) = models::spec(model) else {
                continue;
            };
            if spec.kind != kind || !spec.matches(obj) {
                continue;
            }
            if let Some(key) = key_of(fields, obj.id(), attrs) {
                f(index, key);
            }
        }
    }
}

fn build_index(spec: &ModelSpec, fields: &[String], slot: &Slot) -> Index {
    let mut index = Index::new();
    for (pos, (obj, attrs)) in slot.objects.iter().zip(&slot.attrs).enumerate() {
        if !spec.matches(obj) {
            continue;
        }
        if let Some(key) = key_of(fields, obj.id(), attrs) {
            index.entry(key).or_default().push(pos);
        }
    }
    index
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::Group;

    fn user(id: &str, username: &str, groups: &[&str]) -> Object {
        let mut u = crate::domain::User::new_internal(username, username, "", 1);
        u.id = id.into();
        Object::User {
            user: u,
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    fn group(id: &str, name: &str, users: &[&str]) -> Object {
        Object::Group {
            group: Group {
                id: id.into(),
                name: name.into(),
                is_superuser: false,
                parent_id: None,
                attributes: json!({}),
                member_count: 0,
                created_at: 1,
                updated_at: 1,
                version: 1,
            },
            users: users.iter().map(|u| u.to_string()).collect(),
        }
    }

    fn pairs(v: serde_json::Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn username(o: Option<&Object>) -> Option<String> {
        match o {
            Some(Object::User { user, .. }) => Some(user.username.clone()),
            _ => None,
        }
    }

    fn spec(name: &str) -> &'static ModelSpec {
        models::spec(name).expect("model")
    }

    #[test]
    fn lookups_follow_inserts_and_replacements() {
        let users = spec("authentik_core.user");
        let mut cache = Cache::default();
        cache.set_kind(Kind::User, vec![user("u1", "alice", &[])]);
        assert_eq!(
            username(cache.find(users, &pairs(json!({"username": "alice"})))),
            Some("alice".into())
        );
        assert!(
            cache
                .find(users, &pairs(json!({"username": "bob"})))
                .is_none()
        );
        // Built once, the index now follows writes.
        cache.insert(user("u2", "bob", &[]));
        assert_eq!(
            username(cache.find(users, &pairs(json!({"username": "bob"})))),
            Some("bob".into())
        );
        cache.replace(user("u2", "robert", &[]));
        assert!(
            cache
                .find(users, &pairs(json!({"username": "bob"})))
                .is_none()
        );
        assert_eq!(
            username(cache.find(users, &pairs(json!({"username": "robert"})))),
            Some("robert".into())
        );
        assert_eq!(
            username(cache.find(users, &pairs(json!({"pk": "u1"})))),
            Some("alice".into())
        );
        assert_eq!(
            username(cache.find(users, &pairs(json!({"pk": "u2", "username": "robert"})))),
            Some("robert".into())
        );
        assert!(cache.find(users, &pairs(json!({"pk": 7}))).is_none());
        assert_eq!(username(cache.get(Kind::User, "u2")), Some("robert".into()));
    }

    #[test]
    fn a_written_user_shows_in_its_groups_and_the_other_way_round() {
        let mut cache = Cache::default();
        cache.set_kind(
            Kind::Group,
            vec![group("g1", "staff", &[]), group("g2", "ops", &[])],
        );
        cache.set_kind(Kind::User, vec![]);
        cache.insert(user("u1", "alice", &["g1"]));
        let members = |c: &Cache, id: &str| match c.get(Kind::Group, id) {
            Some(Object::Group { users, .. }) => users.clone(),
            _ => vec!["?".to_string()],
        };
        assert_eq!(members(&cache, "g1"), vec!["u1"]);
        assert!(members(&cache, "g2").is_empty());
        cache.replace(user("u1", "alice", &["g2"]));
        assert!(members(&cache, "g1").is_empty());
        assert_eq!(members(&cache, "g2"), vec!["u1"]);
        cache.replace(group("g1", "staff", &["u1"]));
        match cache.get(Kind::User, "u1") {
            Some(Object::User { groups, .. }) => assert_eq!(groups, &["g1", "g2"]),
            other => panic!("{other:?}"),
        }
        let staff = spec("authentik_core.group");
        let found = cache.find(staff, &pairs(json!({"name": "staff"})));
        assert!(matches!(found, Some(Object::Group { users, .. }) if users == &["u1"]));
    }
}
