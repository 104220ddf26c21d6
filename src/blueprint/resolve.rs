//! Evaluates authentik's YAML tags into plain JSON values, against the objects the transaction
//! sees so far: `!KeyOf`, `!Find`, `!Context`, `!Env`, `!Format`, `!If` and `!Condition` here,
//! the others in [`super::tags`] (`!Enumerate`, `!Index`, `!Value`, `!File`, `!AtIndex`,
//! `!ParseJSON`, `!FindObject`).

use std::collections::HashMap;

use serde_json::{Map, Value};

pub use super::cache::Cache;
use super::models;
use super::tags::{self, Items};
use super::yaml::{Node, NodeValue};
use crate::domain::{Object, truthy};

/// What tags are evaluated against.
pub struct Scope<'a> {
    /// `!KeyOf` targets: entry id → object id.
    pub keys: &'a HashMap<String, Value>,
    pub context: &'a Map<String, Value>,
    pub cache: &'a Cache,
    /// The items of the `!Enumerate` tags being resolved (what `!Index`/`!Value` read).
    pub items: Items,
}

impl<'a> Scope<'a> {
    /// A scope outside any `!Enumerate`.
    pub fn new(
        keys: &'a HashMap<String, Value>,
        context: &'a Map<String, Value>,
        cache: &'a Cache,
    ) -> Self {
        Self {
            keys,
            context,
            cache,
            items: Items::default(),
        }
    }
}

/// Objects latchkey once named differently, still found under the old name by `!Find` and
/// `!FindObject` after migration 0026 renamed them: (model, field, old value, new value).
pub const RENAMED: &[(&str, &str, &str, &str)] = &[(
    "authentik_crypto.certificatekeypair",
    "name",
    "latchkey Self-signed Certificate",
    "authentik Self-signed Certificate",
)];

/// A tag that failed, with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagError {
    pub line: usize,
    pub message: String,
}

fn err<T>(node: &Node, message: impl Into<String>) -> Result<T, TagError> {
    Err(TagError {
        line: node.line,
        message: message.into(),
    })
}

/// The value of a node with no tags anywhere inside; `None` when it has one.
pub fn plain(node: &Node) -> Option<Value> {
    if node.tag.is_some() {
        return None;
    }
    Some(match &node.value {
        NodeValue::Null => Value::Null,
        NodeValue::Bool(b) => Value::Bool(*b),
        NodeValue::Int(i) => Value::from(*i),
        NodeValue::Float(f) => Value::from(*f),
        NodeValue::Str(s) => Value::String(s.clone()),
        NodeValue::Seq(items) => Value::Array(items.iter().map(plain).collect::<Option<_>>()?),
        NodeValue::Map(pairs) => {
            let mut m = Map::new();
            for (k, v) in pairs {
                m.insert(key_string(k)?, plain(v)?);
            }
            Value::Object(m)
        }
    })
}

fn key_string(k: &Node) -> Option<String> {
    match &k.value {
        NodeValue::Str(s) => Some(s.clone()),
        NodeValue::Int(i) => Some(i.to_string()),
        NodeValue::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Evaluates a node and every tag inside it.
pub fn resolve(node: &Node, scope: &Scope<'_>) -> Result<Value, TagError> {
    if let Some(tag) = &node.tag {
        return resolve_tag(tag, node, scope);
    }
    Ok(match &node.value {
        NodeValue::Seq(items) => Value::Array(
            items
                .iter()
                .map(|i| resolve(i, scope))
                .collect::<Result<_, _>>()?,
        ),
        NodeValue::Map(pairs) => {
            let mut m = Map::new();
            for (k, v) in pairs {
                let Some(key) = key_string(k).filter(|_| k.tag.is_none()) else {
                    return err(
                        k,
                        "mapping keys must be plain strings (a tag is evaluated in values only; \
                         build computed keys with !Enumerate [..., MAP, [key, value]])",
                    );
                };
                m.insert(key, resolve(v, scope)?);
            }
            Value::Object(m)
        }
        _ => plain(node).unwrap_or(Value::Null),
    })
}

fn args(node: &Node) -> Vec<&Node> {
    match &node.value {
        NodeValue::Seq(items) => items.iter().collect(),
        _ => vec![node],
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        other => other.to_string(),
    }
}

fn resolve_tag(tag: &str, node: &Node, scope: &Scope<'_>) -> Result<Value, TagError> {
    // Every tag but `!KeyOf` and `!Find` reads its arguments from the node as if untagged.
    let untagged = Node {
        tag: None,
        ..node.clone()
    };
    match tag {
        "!KeyOf" => key_of(node, scope),
        "!Find" => find(node, scope),
        "!Context" => context(node, &untagged, scope),
        "!Env" => env(node, &untagged, scope),
        "!Format" => format_text(node, &untagged, scope),
        "!If" => if_then(node, &untagged, scope),
        "!Condition" => condition(node, &untagged, scope),
        "!Enumerate" => tags::enumerate(node, &untagged, scope),
        "!Index" | "!Value" => tags::item(tag, &untagged, scope),
        "!File" => tags::file(node, &untagged, scope),
        "!AtIndex" => tags::at_index(node, &untagged, scope),
        "!ParseJSON" => tags::parse_json(&untagged),
        "!FindObject" => tags::find_object(node, scope),
        other => err(node, format!("unsupported tag {other}")),
    }
}

/// The arguments of a tag that takes at least one.
fn args_of<'a>(node: &Node, untagged: &'a Node, tag: &str) -> Result<Vec<&'a Node>, TagError> {
    let items = args(untagged);
    if items.is_empty() {
        return err(node, format!("{tag} takes at least one argument"));
    }
    Ok(items)
}

/// `!KeyOf id`: the object an earlier entry with that `id` wrote.
fn key_of(node: &Node, scope: &Scope<'_>) -> Result<Value, TagError> {
    let name = match &node.value {
        NodeValue::Str(s) => s,
        _ => return err(node, "!KeyOf takes the id of an earlier entry"),
    };
    match scope.keys.get(name) {
        Some(v) => Ok(v.clone()),
        None => err(
            node,
            format!(
                "!KeyOf {name}: no earlier entry with id '{name}' was applied (forward \
                 reference, cycle, or its conditions were false)"
            ),
        ),
    }
}

/// `!Find [model, [field, value], ...]`: the id of the object with those field values.
fn find(node: &Node, scope: &Scope<'_>) -> Result<Value, TagError> {
    match find_match(node, scope, "!Find")? {
        Some(obj) => Ok(Value::String(obj.id().to_string())),
        None => {
            let (model, query) = find_query(node, scope, "!Find")?;
            let what: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{k} = {}", as_text(v)))
                .collect();
            err(
                node,
                format!("!Find: no {model} with {} exists", what.join(", ")),
            )
        }
    }
}

/// The object a `!Find`/`!FindObject` node names, if one exists (an object renamed by a
/// migration is found under its old name too, see [`RENAMED`]).
pub(crate) fn find_match<'c>(
    node: &Node,
    scope: &Scope<'c>,
    tag: &str,
) -> Result<Option<&'c Object>, TagError> {
    let (model, mut query) = find_query(node, scope, tag)?;
    let Some(spec) = models::spec(&model) else {
        return Ok(None);
    };
    if let Some(obj) = scope.cache.find(spec, &query) {
        return Ok(Some(obj));
    }
    for (m, field, old, new) in RENAMED {
        if *m == model && query.get(*field).and_then(Value::as_str) == Some(*old) {
            query.insert((*field).to_string(), Value::String((*new).to_string()));
            return Ok(scope.cache.find(spec, &query));
        }
    }
    Ok(None)
}

/// The model and the `field = value` pairs of a `!Find`-shaped node, checked.
fn find_query(
    node: &Node,
    scope: &Scope<'_>,
    tag: &str,
) -> Result<(String, Map<String, Value>), TagError> {
    let shape = format!("{tag} takes [model, [field, value], ...]");
    // A scalar (`!Find some.model`) is its own only argument: resolving it would be this
    // lookup again, for ever.
    if !matches!(node.value, NodeValue::Seq(_)) {
        return err(node, shape);
    }
    let items = args(node);
    let Some((model_node, pairs)) = items.split_first() else {
        return err(node, shape);
    };
    let model = resolve(model_node, scope)?;
    let model = model.as_str().unwrap_or_default().to_string();
    let Some(spec) = models::spec(&model) else {
        return err(model_node, format!("{tag}: unknown model '{model}'"));
    };
    let mut query = Map::new();
    for pair in pairs {
        let kv = args(pair);
        if kv.len() != 2 || pair.tag.is_some() {
            return err(pair, shape);
        }
        let field = resolve(kv[0], scope)?;
        let field = field.as_str().unwrap_or_default().to_string();
        if field != "pk" && spec.field(&field).is_none() {
            return err(
                pair,
                format!(
                    "{tag}: {model} has no field '{field}'; known: {}",
                    spec.field_names()
                ),
            );
        }
        query.insert(field, resolve(kv[1], scope)?);
    }
    Ok((model, query))
}

/// `!Context [key, default]`: a value of the blueprint's context.
fn context(node: &Node, untagged: &Node, scope: &Scope<'_>) -> Result<Value, TagError> {
    let items = args_of(node, untagged, "!Context")?;
    let key = resolve(items[0], scope)?;
    let default = match items.get(1) {
        Some(d) => resolve(d, scope)?,
        None => Value::Null,
    };
    Ok(scope
        .context
        .get(key.as_str().unwrap_or_default())
        .cloned()
        .unwrap_or(default))
}

/// `!Env [name, default]`: an environment variable.
fn env(node: &Node, untagged: &Node, scope: &Scope<'_>) -> Result<Value, TagError> {
    let items = args_of(node, untagged, "!Env")?;
    let key = resolve(items[0], scope)?;
    let default = match items.get(1) {
        Some(d) => resolve(d, scope)?,
        None => Value::String(String::new()),
    };
    Ok(std::env::var(key.as_str().unwrap_or_default())
        .map(Value::String)
        .unwrap_or(default))
}

/// `!Format [format, args...]`: Python's `%` formatting.
fn format_text(node: &Node, untagged: &Node, scope: &Scope<'_>) -> Result<Value, TagError> {
    let items = args_of(node, untagged, "!Format")?;
    let fmt = resolve(items[0], scope)?;
    let Some(fmt) = fmt.as_str() else {
        return err(node, "!Format takes [format, args...] with a string format");
    };
    let values = items[1..]
        .iter()
        .map(|i| resolve(i, scope))
        .collect::<Result<Vec<_>, _>>()?;
    percent_format(fmt, &values)
        .map(Value::String)
        .or_else(|m| err(node, m))
}

/// `!If [condition, then, else]`: one of two values, or the condition's truth without them.
fn if_then(node: &Node, untagged: &Node, scope: &Scope<'_>) -> Result<Value, TagError> {
    let items = args_of(node, untagged, "!If")?;
    let cond = truthy(&resolve(items[0], scope)?);
    match (cond, items.get(1), items.get(2)) {
        (true, Some(t), _) => resolve(t, scope),
        (false, _, Some(f)) => resolve(f, scope),
        (c, None, _) | (c, _, None) => Ok(Value::Bool(c)),
    }
}

/// `!Condition [mode, values...]`: the values combined by AND, OR, NOT, NAND, NOR, XOR, XNOR.
fn condition(node: &Node, untagged: &Node, scope: &Scope<'_>) -> Result<Value, TagError> {
    let items = args_of(node, untagged, "!Condition")?;
    let mode = resolve(items[0], scope)?;
    let values = items[1..]
        .iter()
        .map(|i| resolve(i, scope).map(|v| truthy(&v)))
        .collect::<Result<Vec<_>, _>>()?;
    let count = values.iter().filter(|v| **v).count();
    let result = match mode.as_str().unwrap_or_default() {
        "AND" => count == values.len(),
        "NAND" => count != values.len(),
        "OR" => count > 0,
        "NOR" => count == 0,
        "XOR" => count % 2 == 1,
        "XNOR" => count % 2 == 0,
        "NOT" if values.len() == 1 => count == 0,
        other => {
            return err(
                node,
                format!(
                    "!Condition mode '{other}' is not one of AND, OR, NOT, NAND, NOR, \
                     XOR, XNOR"
                ),
            );
        }
    };
    Ok(Value::Bool(result))
}

/// Python's `%` formatting for `%s`, `%d` and `%%`.
fn percent_format(fmt: &str, values: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut args = values.iter();
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('s') | Some('d') => match args.next() {
                Some(v) => out.push_str(&as_text(v)),
                None => return Err("!Format: not enough arguments for the format".into()),
            },
            other => {
                return Err(format!(
                    "!Format: unsupported conversion %{}",
                    other.map(String::from).unwrap_or_default()
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::blueprint::yaml;

    fn eval(text: &str) -> Result<Value, TagError> {
        let node = yaml::parse(text).expect("yaml").expect("a document");
        let keys = HashMap::from([("earlier".to_string(), json!("id-1"))]);
        let context = Map::from_iter([("domain".to_string(), json!("example.org"))]);
        let cache = Cache::default();
        let scope = Scope::new(&keys, &context, &cache);
        resolve(&node, &scope)
    }

    #[test]
    fn each_tag_evaluates() {
        for (text, want) in [
            ("v: !KeyOf earlier", json!("id-1")),
            ("v: !Context domain", json!("example.org")),
            ("v: !Context [missing, fallback]", json!("fallback")),
            ("v: !Format ['%s-%d', a, 1]", json!("a-1")),
            ("v: !If [true, yes, no]", json!("yes")),
            ("v: !If [false, yes]", json!(false)),
            ("v: !Condition [AND, true, false]", json!(false)),
            ("v: !Condition [XOR, true, false]", json!(true)),
            ("v: !Condition [NOT, false]", json!(true)),
        ] {
            assert_eq!(eval(text), Ok(json!({ "v": want })), "{text}");
        }
    }

    #[test]
    fn bad_tags_are_errors_with_their_line() {
        for text in [
            "v: !KeyOf later",
            "v: !Find [no.such.model, [name, x]]",
            "v: !Format [1]",
            "v: !Condition [MAYBE, true]",
            "v: !Unknown x",
            // Tags that read arguments refuse an empty list instead of panicking.
            "v: !Context []",
            "v: !Env []",
            "v: !Format []",
            "v: !If []",
            "v: !Condition []",
        ] {
            let e = eval(text).expect_err(text);
            assert_eq!(e.line, 1, "{text}");
        }
    }
}
