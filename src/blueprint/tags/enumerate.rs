//! `!Enumerate [iterable, SEQ|MAP, body]` builds a list or a mapping by resolving `body` once
//! per item of `iterable`; inside the body `!Index N` and `!Value N` are the current item's
//! index (or key) and value, N counting enumerations outwards from the innermost (0).

use std::cell::{Cell, RefCell};

use serde_json::{Map, Value};

use crate::blueprint::resolve::{Scope, TagError, resolve};
use crate::blueprint::yaml::{Node, NodeValue};

/// The most bodies one scope's `!Enumerate` tags resolve, nested ones counted once each: a
/// few nested enumerations over large lists would otherwise multiply into billions of values.
pub const MAX_ENUMERATED_ITEMS: usize = 100_000;

/// The items of the enumerations being resolved, innermost last: (index or key, value), and
/// how many bodies have been resolved so far.
#[derive(Debug, Default)]
pub struct Items {
    stack: RefCell<Vec<(Value, Value)>>,
    resolved: Cell<usize>,
}

impl Items {
    /// Enters one item; false once the scope has resolved [`MAX_ENUMERATED_ITEMS`] bodies.
    fn push(&self, item: (Value, Value)) -> bool {
        let n = self.resolved.get() + 1;
        self.resolved.set(n);
        if n > MAX_ENUMERATED_ITEMS {
            return false;
        }
        self.stack.borrow_mut().push(item);
        true
    }

    fn pop(&self) {
        self.stack.borrow_mut().pop();
    }

    fn at_depth(&self, depth: usize) -> Option<(Value, Value)> {
        let items = self.stack.borrow();
        items.len().checked_sub(depth + 1).map(|i| items[i].clone())
    }

    fn len(&self) -> usize {
        self.stack.borrow().len()
    }
}

fn err<T>(node: &Node, message: impl Into<String>) -> Result<T, TagError> {
    Err(TagError {
        line: node.line,
        message: message.into(),
    })
}

/// The depth an `!Index`/`!Value` node names (a whole number, as authentik's `int(value)`).
fn depth_of(node: &Node, tag: &str) -> Result<usize, TagError> {
    let depth = match &node.value {
        NodeValue::Int(i) => usize::try_from(*i).ok(),
        NodeValue::Str(s) => s.trim().parse::<usize>().ok(),
        _ => None,
    };
    match depth {
        Some(d) => Ok(d),
        None => err(
            node,
            format!("{tag} takes a depth: 0 for the innermost !Enumerate, 1 for the next, …"),
        ),
    }
}

/// `!Index N` (the index or key) and `!Value N` (the value) of the current item of the
/// enumeration N levels out.
pub fn item(tag: &str, node: &Node, scope: &Scope<'_>) -> Result<Value, TagError> {
    let depth = depth_of(node, tag)?;
    let Some((index, value)) = scope.items.at_depth(depth) else {
        if scope.items.len() == 0 {
            return err(
                node,
                format!("{tag} is only usable inside an !Enumerate body"),
            );
        }
        return err(
            node,
            format!(
                "{tag} {depth}: only {} !Enumerate level(s) enclose it (the deepest is {})",
                scope.items.len(),
                scope.items.len() - 1
            ),
        );
    };
    Ok(if tag == "!Index" { index } else { value })
}

/// The output an `!Enumerate` builds.
#[derive(Clone, Copy)]
enum Output {
    Seq,
    Map,
}

/// `!Enumerate [iterable, SEQ|MAP, body]`.
pub fn enumerate(node: &Node, untagged: &Node, scope: &Scope<'_>) -> Result<Value, TagError> {
    let NodeValue::Seq(args) = &untagged.value else {
        return err(node, "!Enumerate takes [iterable, SEQ or MAP, body]");
    };
    let [iterable, output, body] = args.as_slice() else {
        return err(
            node,
            format!(
                "!Enumerate takes [iterable, SEQ or MAP, body]; got {} argument(s)",
                args.len()
            ),
        );
    };
    if matches!(iterable.tag.as_deref(), Some("!Index" | "!Value"))
        && depth_of(iterable, "!Value").ok() == Some(0)
    {
        return err(
            iterable,
            "!Enumerate's iterable names this same enumeration's item (depth 0); use a depth \
             of 1 or more to walk an enclosing one",
        );
    }
    let output = match resolve(output, scope)?
        .as_str()
        .map(str::to_ascii_uppercase)
    {
        Some(o) if o == "SEQ" => Output::Seq,
        Some(o) if o == "MAP" => Output::Map,
        _ => return err(output, "!Enumerate's output must be SEQ or MAP"),
    };
    let items = pairs_of(iterable, resolve(iterable, scope)?)?;
    let mut seq = Vec::new();
    let mut map = Map::new();
    for item in items {
        if !scope.items.push(item) {
            return err(
                node,
                format!(
                    "!Enumerate: more than {MAX_ENUMERATED_ITEMS} items in one entry (nested \
                     enumerations multiply)"
                ),
            );
        }
        let resolved = resolve(body, scope);
        scope.items.pop();
        let resolved = resolved?;
        match output {
            Output::Seq => seq.push(resolved),
            Output::Map => add_to_map(&mut map, resolved, body)?,
        }
    }
    Ok(match output {
        Output::Seq => Value::Array(seq),
        Output::Map => Value::Object(map),
    })
}

/// (index, value) of each list item or character, (key, value) of each mapping entry.
fn pairs_of(node: &Node, iterable: Value) -> Result<Vec<(Value, Value)>, TagError> {
    Ok(match iterable {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| (Value::from(i), v))
            .collect(),
        Value::Object(m) => m.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
        Value::String(s) => s
            .chars()
            .enumerate()
            .map(|(i, c)| (Value::from(i), Value::String(c.to_string())))
            .collect(),
        other => {
            return err(
                node,
                format!(
                    "!Enumerate's iterable must be a list or a mapping, got {}",
                    kind_of(&other)
                ),
            );
        }
    })
}

/// A MAP body's result: `[key, value]` adds one key; a mapping is merged in deeply.
fn add_to_map(map: &mut Map<String, Value>, item: Value, body: &Node) -> Result<(), TagError> {
    match item {
        Value::Array(kv) if kv.len() >= 2 => {
            let Some(key) = key_text(&kv[0]) else {
                return err(
                    body,
                    "!Enumerate MAP: a key must be a string, number or boolean",
                );
            };
            merge(map, Map::from_iter([(key, kv[1].clone())]));
            Ok(())
        }
        Value::Object(m) => {
            merge(map, m);
            Ok(())
        }
        other => err(
            body,
            format!(
                "!Enumerate MAP: each item must be [key, value] or a mapping, got {}",
                kind_of(&other)
            ),
        ),
    }
}

fn key_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Deep merge as authentik's (deepmerge's `always_merger`): mappings merge key by key, lists
/// are appended, anything else is replaced.
fn merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(Value::Object(a)), Value::Object(b)) => merge(a, b),
            (Some(Value::Array(a)), Value::Array(b)) => a.extend(b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

/// A value's JSON type, for error messages.
pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
