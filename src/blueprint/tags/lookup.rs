//! `!AtIndex [value, index or key, default]`, `!ParseJSON text` and
//! `!FindObject [model, [field, value], ...]`, as authentik's.

use serde_json::Value;

use super::enumerate::kind_of;
use crate::blueprint::models::{self, Ty};
use crate::blueprint::resolve::{Scope, TagError, find_match, resolve};
use crate::blueprint::yaml::{Node, NodeValue};

fn err<T>(node: &Node, message: impl Into<String>) -> Result<T, TagError> {
    Err(TagError {
        line: node.line,
        message: message.into(),
    })
}

/// `!AtIndex [list, index]` (negative counts from the end, as Python) or `[mapping, key]`, with
/// an optional third value given when the index or key is missing.
pub fn at_index(node: &Node, untagged: &Node, scope: &Scope<'_>) -> Result<Value, TagError> {
    let NodeValue::Seq(args) = &untagged.value else {
        return err(node, "!AtIndex takes [value, index or key, default]");
    };
    let (obj, at, default) = match args.as_slice() {
        [o, a] => (o, a, None),
        [o, a, d] => (o, a, Some(d)),
        _ => return err(node, "!AtIndex takes [value, index or key, default]"),
    };
    let obj = resolve(obj, scope)?;
    let at = resolve(at, scope)?;
    let found = match &obj {
        Value::Array(items) => {
            let Some(i) = at.as_i64() else {
                return err(node, format!("!AtIndex: invalid index for a list: {at}"));
            };
            let len = items.len() as i64;
            let i = if i < 0 { i + len } else { i };
            usize::try_from(i).ok().and_then(|i| items.get(i))
        }
        Value::Object(map) => {
            let key = match &at {
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) => at.to_string(),
                _ => return err(node, format!("!AtIndex: invalid key for a mapping: {at}")),
            };
            map.get(&key)
        }
        other => {
            return err(
                node,
                format!("!AtIndex takes a list or a mapping, got {}", kind_of(other)),
            );
        }
    };
    match (found, default) {
        (Some(v), _) => Ok(v.clone()),
        (None, Some(d)) => resolve(d, scope),
        (None, None) if obj.is_array() => err(node, format!("!AtIndex: index out of range: {at}")),
        (None, None) => err(node, format!("!AtIndex: key does not exist: {at}")),
    }
}

/// `!ParseJSON text`: the JSON value the text holds.
pub fn parse_json(node: &Node) -> Result<Value, TagError> {
    let NodeValue::Str(text) = &node.value else {
        return err(node, "!ParseJSON takes a string of JSON");
    };
    serde_json::from_str(text).or_else(|e| err(node, format!("!ParseJSON: {e}")))
}

/// `!FindObject [model, [field, value], ...]`: the matching object's attributes (with `pk`), or
/// null when none matches. Only the model's fields: write-only ones (passwords, private keys,
/// enrollment keys) and internal ones (a key's digest) are left out.
pub fn find_object(node: &Node, scope: &Scope<'_>) -> Result<Value, TagError> {
    let Some(obj) = find_match(node, scope, "!FindObject")? else {
        return Ok(Value::Null);
    };
    let Some(spec) = models::spec_of(obj) else {
        return Ok(Value::Null);
    };
    let mut attrs = models::to_attrs(obj);
    let mut out = serde_json::Map::new();
    out.insert("pk".into(), Value::String(obj.id().to_string()));
    for field in &spec.fields {
        if matches!(field.ty, Ty::Secret) || field.name == "key_data" {
            continue;
        }
        if let Some(v) = attrs.remove(field.name) {
            out.insert(field.name.to_string(), v);
        }
    }
    Ok(Value::Object(out))
}
