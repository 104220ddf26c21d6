//! Values crossing the sandbox boundary: plain data (what JSON can say, plus tuples) and
//! authentik's objects (`request`, users, groups, the HTTP request, the flow plan), which the
//! sandbox sees as host objects whose attributes are sent along and whose methods call back.

use std::collections::HashSet;
use std::sync::Arc;

use monty_types::{DictPairs, MontyClassInstance, MontyClassType, MontyObject, MontyUuid};
use serde_json::{Map, Number, Value as Json};

use super::facts::{GroupFacts, HttpFacts, UserFacts};

/// A value handed to or returned by an expression.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    /// `None`.
    #[default]
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer that fits 64 bits.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A list.
    List(Vec<Value>),
    /// A tuple (also what sets and generators come back as).
    Tuple(Vec<Value>),
    /// A dict, in insertion order.
    Dict(Vec<(Value, Value)>),
    /// One of authentik's objects.
    Object(Object),
    /// Something with no data form (a function, a big integer, bytes): its `repr()`.
    Repr(String),
}

/// One of authentik's objects as an expression sees it: a class name, the attributes sent
/// with it, and what it is (which decides its methods).
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// The Python-visible class name (`User`, `Group`, `PolicyRequest`, …).
    pub class: String,
    /// What the object is.
    pub kind: ObjectKind,
    /// Attributes, as the expression left them (a flow plan's `context` comes back changed).
    pub attrs: Vec<(String, Value)>,
    /// Methods that return a fixed value whatever their arguments (a source's
    /// `get_user_path()`), for objects latchkey describes by data only.
    pub methods: Vec<(String, Value)>,
}

/// What an [`Object`] is; its methods follow from it.
#[derive(Debug, Clone, PartialEq)]
pub enum ObjectKind {
    /// A user (`request.user`, `ak_user_by(...)`, `pending_user`).
    User(Arc<UserFacts>),
    /// A group.
    Group(Arc<GroupFacts>),
    /// `user.ak_groups`: `.all()`, `.filter(**lookups)`, `.count()`, `.exists()`, `.first()`.
    Groups(Arc<UserFacts>),
    /// `request.http_request`.
    HttpRequest(Arc<HttpFacts>),
    /// `ak_logger`.
    Logger,
    /// What `get_system_settings()` returns.
    Settings,
    /// Data only: attributes, no methods (`request`, a flow plan, a token, a provider, …).
    Plain,
}

impl Object {
    /// An attribute-only object.
    pub fn plain(class: &str, attrs: Vec<(String, Value)>) -> Self {
        Self {
            class: class.to_string(),
            kind: ObjectKind::Plain,
            attrs,
            methods: Vec::new(),
        }
    }

    /// The attribute `name`, if sent.
    pub fn attr(&self, name: &str) -> Option<&Value> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The user this object is, if it is one.
    pub fn user(&self) -> Option<&Arc<UserFacts>> {
        match &self.kind {
            ObjectKind::User(u) => Some(u),
            _ => None,
        }
    }
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Self {
        Value::Str(s.into())
    }

    /// A dict with string keys.
    pub fn dict<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Self {
        Value::Dict(
            pairs
                .into_iter()
                .map(|(k, v)| (Value::Str(k.into()), v))
                .collect(),
        )
    }

    /// Python's truthiness (authentik decides a policy by `bool(result)`); objects are true.
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::None => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(v) | Value::Tuple(v) => !v.is_empty(),
            Value::Dict(d) => !d.is_empty(),
            Value::Object(_) | Value::Repr(_) => true,
        }
    }

    /// The entry `key` of a dict value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(pairs) => pairs
                .iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
                .map(|(_, v)| v),
            Value::Object(o) => o.attr(key),
            _ => None,
        }
    }

    /// The string inside, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// As JSON, for claims, events and prompt values: tuples become arrays, non-string dict
    /// keys their text, users and groups what authentik's serializers say of them, other
    /// objects their attributes.
    pub fn to_json(&self) -> Json {
        match self {
            Value::None => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::Str(s) | Value::Repr(s) => Json::String(s.clone()),
            Value::List(v) | Value::Tuple(v) => Json::Array(v.iter().map(Value::to_json).collect()),
            Value::Dict(pairs) => Json::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.key_text(), v.to_json()))
                    .collect(),
            ),
            Value::Object(o) => object_json(o),
        }
    }

    fn key_text(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            other => match other.to_json() {
                Json::String(s) => s,
                j => j.to_string(),
            },
        }
    }
}

fn object_json(o: &Object) -> Json {
    match &o.kind {
        ObjectKind::User(u) => serde_json::json!({
            "pk": u.pk, "username": u.username, "name": u.name, "email": u.email,
        }),
        ObjectKind::Group(g) => serde_json::json!({"pk": g.pk, "name": g.name}),
        _ => Json::Object(
            o.attrs
                .iter()
                .filter(|(_, v)| !matches!(v, Value::Object(_)))
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect::<Map<_, _>>(),
        ),
    }
}

impl From<&Json> for Value {
    fn from(j: &Json) -> Self {
        match j {
            Json::Null => Value::None,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => n
                .as_i64()
                .map(Value::Int)
                .unwrap_or_else(|| Value::Float(n.as_f64().unwrap_or(0.0))),
            Json::String(s) => Value::Str(s.clone()),
            Json::Array(a) => Value::List(a.iter().map(Value::from).collect()),
            Json::Object(m) => Value::Dict(
                m.iter()
                    .map(|(k, v)| (Value::Str(k.clone()), Value::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<Json> for Value {
    fn from(j: Json) -> Self {
        Value::from(&j)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<Object> for Value {
    fn from(o: Object) -> Self {
        Value::Object(o)
    }
}

/// The objects one evaluation has handed to the sandbox, so a method call or an object coming
/// back can be told apart by its id.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    objects: Vec<Object>,
    /// Attributes sent along with an object; the others are looked up when touched, so an
    /// expression pays only for what it reads.
    eager: Arc<HashSet<String>>,
}

/// Marks the ids the registry hands out (`0x1a7c4e` + index), so foreign ids are never taken
/// for ours.
const ID_MARK: [u8; 4] = [0x1a, 0x7c, 0x4e, 0x00];

fn object_id(index: usize) -> MontyUuid {
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&ID_MARK);
    b[8..16].copy_from_slice(&(index as u64).to_be_bytes());
    b[6] = (b[6] & 0x0f) | 0x40;
    MontyUuid::from_bytes(b)
}

fn class_id(name: &str) -> MontyUuid {
    // FNV-1a over the class name: one stable id per class, as the sandbox expects.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&h.to_be_bytes());
    b[8..16].copy_from_slice(&h.rotate_left(29).to_be_bytes());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    MontyUuid::from_bytes(b)
}

fn index_of(id: &MontyUuid) -> Option<usize> {
    let bytes = id.as_bytes();
    if bytes[..4] != ID_MARK {
        return None;
    }
    let mut idx = [0u8; 8];
    idx.copy_from_slice(&bytes[8..16]);
    usize::try_from(u64::from_be_bytes(idx)).ok()
}

impl Registry {
    /// A registry sending the `eager` attributes along.
    pub(crate) fn new(eager: Arc<HashSet<String>>) -> Self {
        Self {
            objects: Vec::new(),
            eager,
        }
    }

    /// A lazily looked-up attribute of one of our objects, converted for the sandbox.
    pub(crate) fn lazy_attr(&mut self, id: &MontyUuid, name: &str) -> Option<MontyObject> {
        let value = self.get(id)?.attr(name)?.clone();
        Some(self.send(&value))
    }

    /// The object behind a sandbox id.
    pub(crate) fn get(&self, id: &MontyUuid) -> Option<&Object> {
        index_of(id).and_then(|i| self.objects.get(i))
    }

    /// Converts a value for the sandbox, keeping a top-level object without copying it.
    pub(crate) fn send_owned(&mut self, v: Value) -> MontyObject {
        match v {
            Value::Object(o) => {
                let attrs = self.eager_attrs(&o);
                self.register(o, attrs)
            }
            other => self.send(&other),
        }
    }

    fn eager_attrs(&mut self, o: &Object) -> Vec<(MontyObject, MontyObject)> {
        let eager = self.eager.clone();
        o.attrs
            .iter()
            .filter(|(k, _)| eager.contains(k))
            .map(|(k, v)| (MontyObject::String(k.clone()), self.send(v)))
            .collect()
    }

    fn register(&mut self, o: Object, attrs: Vec<(MontyObject, MontyObject)>) -> MontyObject {
        let index = self.objects.len();
        let class_type = MontyClassType {
            name: o.class.clone(),
            id: class_id(&o.class),
            host_defined: true,
            is_dataclass: false,
            attrs: DictPairs::from(Vec::new()),
        };
        self.objects.push(o);
        MontyObject::ClassInstance(Box::new(MontyClassInstance {
            class_type,
            instance_id: object_id(index),
            attrs: DictPairs::from(attrs),
        }))
    }

    /// Converts a value for the sandbox, registering the objects in it.
    pub(crate) fn send(&mut self, v: &Value) -> MontyObject {
        match v {
            Value::None => MontyObject::None,
            Value::Bool(b) => MontyObject::Bool(*b),
            Value::Int(i) => MontyObject::Int(*i),
            Value::Float(f) => MontyObject::Float(*f),
            Value::Str(s) | Value::Repr(s) => MontyObject::String(s.clone()),
            Value::List(l) => MontyObject::List(l.iter().map(|x| self.send(x)).collect()),
            Value::Tuple(l) => MontyObject::Tuple(l.iter().map(|x| self.send(x)).collect()),
            Value::Dict(pairs) => MontyObject::Dict(DictPairs::from(
                pairs
                    .iter()
                    .map(|(k, v)| (self.send(k), self.send(v)))
                    .collect::<Vec<_>>(),
            )),
            Value::Object(o) => {
                let attrs = self.eager_attrs(o);
                self.register(o.clone(), attrs)
            }
        }
    }

    /// Converts a value coming out of the sandbox; our objects come back with the attributes
    /// the expression left them with.
    pub(crate) fn receive(&self, m: &MontyObject) -> Value {
        match m {
            MontyObject::None => Value::None,
            MontyObject::Bool(b) => Value::Bool(*b),
            MontyObject::Int(i) => Value::Int(*i),
            MontyObject::Float(f) => Value::Float(*f),
            MontyObject::String(s) => Value::Str(s.clone()),
            MontyObject::List(l) => Value::List(l.iter().map(|x| self.receive(x)).collect()),
            MontyObject::Tuple(l)
            | MontyObject::Set(l)
            | MontyObject::FrozenSet(l)
            | MontyObject::NamedTuple { values: l, .. } => {
                Value::Tuple(l.iter().map(|x| self.receive(x)).collect())
            }
            MontyObject::Dict(pairs) => Value::Dict(
                pairs
                    .iter()
                    .map(|(k, v)| (self.receive(k), self.receive(v)))
                    .collect(),
            ),
            MontyObject::ClassInstance(inst) => self.instance(inst),
            MontyObject::DateTime(_)
            | MontyObject::Date(_)
            | MontyObject::Time(_)
            | MontyObject::TimeDelta(_) => Value::Str(m.to_string()),
            other => Value::Repr(other.py_repr()),
        }
    }

    fn instance(&self, inst: &MontyClassInstance) -> Value {
        let attrs: Vec<(String, Value)> = inst
            .attrs
            .iter()
            .filter_map(|(k, v)| match k {
                MontyObject::String(k) => Some((k.clone(), self.receive(v))),
                _ => None,
            })
            .collect();
        if let Some(known) = self.get(&inst.instance_id) {
            // The attributes sent along come back as the expression left them; the others
            // were never touched.
            let mut o = known.clone();
            for (k, v) in attrs {
                match o.attrs.iter_mut().find(|(ok, _)| *ok == k) {
                    Some(slot) => slot.1 = v,
                    None => o.attrs.push((k, v)),
                }
            }
            return Value::Object(o);
        }
        // A sandbox-made object: the prelude's IP addresses and networks stand for their text.
        if let Some(Value::Str(text)) = attrs.iter().find(|(k, _)| k == "_ak_text").map(|(_, v)| v)
        {
            return Value::Str(text.clone());
        }
        Value::Object(Object::plain(&inst.class_type.name, attrs))
    }
}
