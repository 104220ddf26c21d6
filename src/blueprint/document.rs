//! The blueprint document (`version`, `metadata`, `context`, `entries`), checked as a whole
//! before anything is written: known models, known fields, known states, supported tags, and
//! `!KeyOf` only to earlier entries.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::error::{BlueprintError, Location};
use super::models::{self, META_APPLY_BLUEPRINT, ModelSpec};
use super::yaml::{self, Node, NodeValue};

/// The tags latchkey evaluates.
pub const SUPPORTED_TAGS: &[&str] = &[
    "!KeyOf",
    "!Find",
    "!Context",
    "!Env",
    "!Format",
    "!If",
    "!Condition",
    "!Enumerate",
    "!Index",
    "!Value",
    "!File",
    "!AtIndex",
    "!ParseJSON",
    "!FindObject",
];

/// One blueprint file's text and the name errors use for it.
#[derive(Debug, Clone)]
pub struct Source {
    pub file: String,
    pub text: String,
}

/// What an entry does with its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Present,
    Created,
    MustCreated,
    Absent,
}

/// One checked entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub at: Location,
    pub spec: &'static ModelSpec,
    pub state: State,
    pub id: Option<String>,
    pub identifiers: Option<Node>,
    pub attrs: Option<Node>,
    pub conditions: Vec<Node>,
}

/// One checked blueprint.
#[derive(Debug, Clone)]
pub struct Blueprint {
    pub file: String,
    pub name: String,
    pub context: Map<String, Value>,
    pub entries: Vec<Entry>,
    /// Bundled blueprints its `authentik_blueprints.metaapplyblueprint` entries name, by their
    /// key in [`super::bundled`]: applied before it.
    pub requires: Vec<&'static str>,
}

/// Parses and checks one source.
pub fn parse(source: &Source) -> Result<Blueprint, BlueprintError> {
    let file = source.file.clone();
    let root = root(source)?;
    let name = root
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Node::as_str)
        .unwrap_or_default()
        .to_string();
    let context = context(&root, &file)?;
    let (entries, requires) = entries(&root, &file)?;
    Ok(Blueprint {
        file,
        name,
        context,
        entries,
        requires,
    })
}

fn at_line(file: &str, line: usize) -> Location {
    Location {
        file: file.to_string(),
        line,
        entry: None,
    }
}

/// The document's root mapping, with only known top-level keys and `version: 1`.
fn root(source: &Source) -> Result<Node, BlueprintError> {
    let file = &source.file;
    let root = yaml::parse(&source.text)
        .map_err(|e| {
            let at = Location {
                entry: entry_at_line(&source.text, e.line),
                ..at_line(file, e.line)
            };
            BlueprintError::at(&at, e.message)
        })?
        .ok_or_else(|| BlueprintError::at(&at_line(file, 1), "the file is empty"))?;
    let NodeValue::Map(pairs) = &root.value else {
        return Err(BlueprintError::at(
            &at_line(file, root.line),
            "a blueprint is a mapping with version, metadata, context and entries",
        ));
    };
    for (k, _) in pairs {
        if !matches!(
            k.as_str(),
            Some("version" | "metadata" | "context" | "entries")
        ) {
            return Err(BlueprintError::at(
                &at_line(file, k.line),
                format!(
                    "unknown top-level key {}; expected version, metadata, context, entries",
                    describe_key(k)
                ),
            ));
        }
    }
    match root.get("version") {
        Some(v) if v.value == NodeValue::Int(1) && v.tag.is_none() => Ok(root),
        Some(v) => Err(BlueprintError::at(
            &at_line(file, v.line),
            "unsupported version: only `version: 1` exists",
        )),
        None => Err(BlueprintError::at(
            &at_line(file, root.line),
            "missing `version: 1`",
        )),
    }
}

/// The `context` mapping (plain values only).
fn context(root: &Node, file: &str) -> Result<Map<String, Value>, BlueprintError> {
    let Some(ctx) = root.get("context") else {
        return Ok(Map::new());
    };
    check_tags(ctx, file)?;
    match super::resolve::plain(ctx) {
        Some(Value::Object(m)) => Ok(m),
        Some(Value::Null) => Ok(Map::new()),
        _ => Err(BlueprintError::at(
            &at_line(file, ctx.line),
            "context must be a mapping of plain values",
        )),
    }
}

/// The checked entries, and the bundled blueprints the `metaapplyblueprint` entries name.
fn entries(root: &Node, file: &str) -> Result<(Vec<Entry>, Vec<&'static str>), BlueprintError> {
    let mut entries = Vec::new();
    let mut requires = Vec::new();
    let mut declared: HashSet<String> = HashSet::new();
    let Some(list) = root.get("entries") else {
        return Ok((entries, requires));
    };
    let items = match &list.value {
        NodeValue::Seq(items) => items.as_slice(),
        NodeValue::Null => &[],
        _ => {
            return Err(BlueprintError::at(
                &at_line(file, list.line),
                "entries must be a list",
            ));
        }
    };
    for (n, item) in items.iter().enumerate() {
        if item.get("model").and_then(Node::as_str) == Some(META_APPLY_BLUEPRINT) {
            let at = Location {
                file: file.to_string(),
                line: item.line,
                entry: Some((n + 1, META_APPLY_BLUEPRINT.to_string())),
            };
            if let Some(key) = meta_apply(item, &at)?
                && !requires.contains(&key)
            {
                requires.push(key);
            }
            continue;
        }
        let entry = parse_entry(file, n + 1, item, &declared)?;
        if let Some(id) = &entry.id {
            declared.insert(id.clone());
        }
        entries.push(entry);
    }
    Ok((entries, requires))
}

/// An `authentik_blueprints.metaapplyblueprint` entry: names another blueprint (attrs
/// `identifiers: {name | path}`) to apply first. latchkey knows the blueprints it bundles; an
/// unknown one is skipped when `required: false`, else an error.
fn meta_apply(item: &Node, at: &Location) -> Result<Option<&'static str>, BlueprintError> {
    let attrs = item.get("attrs");
    let ids = attrs.and_then(|a| a.get("identifiers"));
    let name = ids.and_then(|i| i.get("name")).and_then(Node::as_str);
    let path = ids.and_then(|i| i.get("path")).and_then(Node::as_str);
    let required = match attrs.and_then(|a| a.get("required")) {
        None => true,
        Some(n) => match n.value {
            NodeValue::Bool(b) => b,
            _ => return Err(BlueprintError::at(at, "`required` must be true or false")),
        },
    };
    if name.is_none() && path.is_none() {
        return Err(BlueprintError::at(
            at,
            "attrs.identifiers must name the blueprint to apply (`name` or `path`)",
        ));
    }
    let path = path.map(|p| {
        super::AUTHENTIK_PATHS
            .iter()
            .find(|(theirs, _)| *theirs == p)
            .map_or(p, |(_, ours)| *ours)
    });
    let found = super::bundled().find(|(key, text)| {
        path.is_some_and(|p| p == *key)
            || name.is_some_and(|n| bundled_name(text).as_deref() == Some(n))
    });
    match found {
        Some((key, _)) => Ok(Some(key)),
        None if !required => Ok(None),
        None => {
            let known: Vec<String> = super::bundled()
                .filter_map(|(_, text)| bundled_name(text))
                .collect();
            Err(BlueprintError::at(
                at,
                format!(
                    "the blueprint {} is not one latchkey bundles (it has: {}); apply that file \
                     with `latchkey apply` first and remove this entry, or mark it \
                     `required: false`",
                    name.or(path).unwrap_or_default(),
                    known.join(", ")
                ),
            ))
        }
    }
}

/// The `metadata.name` of a bundled blueprint.
fn bundled_name(text: &str) -> Option<String> {
    yaml::parse(text)
        .ok()
        .flatten()?
        .get("metadata")?
        .get("name")?
        .as_str()
        .map(str::to_string)
}

/// Best effort for errors found before the tree exists (bad YAML, alias bombs): the entry whose
/// `- model:` line is the last one at or before `line`.
fn entry_at_line(text: &str, line: usize) -> Option<(usize, String)> {
    if text.len() > yaml::MAX_FILE_BYTES {
        return None;
    }
    let mut found = None;
    let mut n = 0;
    for l in text.lines().take(line) {
        if let Some(model) = l.trim_start().strip_prefix("- model:") {
            n += 1;
            found = Some((n, model.trim().to_string()));
        }
    }
    found
}

fn describe_key(k: &Node) -> String {
    k.as_str()
        .map(|s| format!("'{s}'"))
        .unwrap_or_else(|| format!("({})", k.type_name()))
}

fn parse_entry(
    file: &str,
    n: usize,
    item: &Node,
    declared: &HashSet<String>,
) -> Result<Entry, BlueprintError> {
    let mut at = Location {
        file: file.to_string(),
        line: item.line,
        entry: Some((n, "?".into())),
    };
    let NodeValue::Map(pairs) = &item.value else {
        return Err(BlueprintError::at(&at, "an entry must be a mapping"));
    };
    let model_node = item
        .get("model")
        .ok_or_else(|| BlueprintError::at(&at, "missing `model`"))?;
    let model = model_node
        .as_str()
        .ok_or_else(|| BlueprintError::at(&at, "`model` must be a plain string"))?;
    at.entry = Some((n, model.to_string()));
    let spec = models::spec(model).ok_or_else(|| {
        BlueprintError::at(
            &Location {
                line: model_node.line,
                ..at.clone()
            },
            format!("unknown model '{model}'"),
        )
    })?;
    let mut entry = Entry {
        at: at.clone(),
        spec,
        state: State::Present,
        id: None,
        identifiers: None,
        attrs: None,
        conditions: Vec::new(),
    };
    for (k, v) in pairs {
        let line_at = Location {
            line: k.line,
            ..at.clone()
        };
        entry_key(&mut entry, k, v, &line_at)?;
    }
    check_tags(item, file).map_err(|e| with_entry(e, &at))?;
    check_keyof(item, declared, &at)?;
    Ok(entry)
}

/// Reads one key of an entry into `entry`.
fn entry_key(entry: &mut Entry, k: &Node, v: &Node, at: &Location) -> Result<(), BlueprintError> {
    match k.as_str() {
        Some("model") => {}
        Some("state") => {
            entry.state = match v.as_str() {
                Some("present") => State::Present,
                Some("created") => State::Created,
                Some("must_created") => State::MustCreated,
                Some("absent") => State::Absent,
                _ => {
                    return Err(BlueprintError::at(
                        at,
                        "state must be one of: present, created, must_created, absent",
                    ));
                }
            }
        }
        Some("id") => {
            entry.id = Some(
                v.as_str()
                    .ok_or_else(|| BlueprintError::at(at, "`id` must be a string"))?
                    .to_string(),
            )
        }
        Some(key @ ("identifiers" | "attrs")) => {
            let identifiers = key == "identifiers";
            let v = &with_aliases(entry.spec, v);
            check_fields(entry.spec, v, at, identifiers)?;
            if identifiers {
                entry.identifiers = Some(v.clone());
            } else {
                entry.attrs = Some(v.clone());
            }
        }
        Some("conditions") => match &v.value {
            NodeValue::Seq(items) => entry.conditions = items.clone(),
            _ => return Err(BlueprintError::at(at, "conditions must be a list")),
        },
        Some("permissions") => {
            return Err(BlueprintError::at(
                at,
                "object permissions are not supported by latchkey",
            ));
        }
        _ => {
            return Err(BlueprintError::at(
                at,
                format!(
                    "unknown entry key {}; expected model, state, id, identifiers, attrs, \
                     conditions",
                    describe_key(k)
                ),
            ));
        }
    }
    Ok(())
}

/// Field names authentik's serializers accept in blueprints only, for the model's own field:
/// (model, blueprint name, field).
const FIELD_ALIASES: &[(&str, &str, &str)] = &[("authentik_core.application", "icon", "meta_icon")];

/// `node` with every aliased field key renamed to the field it stands for.
fn with_aliases(spec: &ModelSpec, node: &Node) -> Node {
    let NodeValue::Map(pairs) = &node.value else {
        return node.clone();
    };
    let renamed = pairs
        .iter()
        .map(|(k, v)| {
            let alias = FIELD_ALIASES
                .iter()
                .find(|(m, a, _)| *m == spec.name && k.as_str() == Some(*a));
            match alias {
                Some((_, _, field)) => (
                    Node {
                        value: NodeValue::Str((*field).to_string()),
                        ..k.clone()
                    },
                    v.clone(),
                ),
                None => (k.clone(), v.clone()),
            }
        })
        .collect();
    Node {
        value: NodeValue::Map(renamed),
        ..node.clone()
    }
}

fn with_entry(e: BlueprintError, at: &Location) -> BlueprintError {
    match e {
        BlueprintError::At { at: inner, message } => BlueprintError::At {
            at: Location {
                entry: at.entry.clone(),
                ..inner
            },
            message,
        },
        other => other,
    }
}

fn check_fields(
    spec: &ModelSpec,
    node: &Node,
    at: &Location,
    identifiers: bool,
) -> Result<(), BlueprintError> {
    let NodeValue::Map(pairs) = &node.value else {
        if node.value == NodeValue::Null {
            return Ok(());
        }
        return Err(BlueprintError::at(
            at,
            format!("expected a mapping of fields, got {}", node.type_name()),
        ));
    };
    for (k, _) in pairs {
        let name = k.as_str().unwrap_or_default();
        if identifiers && name == "pk" {
            continue;
        }
        if spec.field(name).is_none() {
            return Err(BlueprintError::at(
                &Location {
                    line: k.line,
                    ..at.clone()
                },
                format!(
                    "unknown field {} for {}; known fields: {}",
                    describe_key(k),
                    spec.name,
                    spec.field_names()
                ),
            ));
        }
    }
    Ok(())
}

/// Fails on the first tag latchkey does not evaluate.
fn check_tags(node: &Node, file: &str) -> Result<(), BlueprintError> {
    if let Some(tag) = &node.tag
        && !SUPPORTED_TAGS.contains(&tag.as_str())
    {
        return Err(BlueprintError::at(
            &Location {
                file: file.to_string(),
                line: node.line,
                entry: None,
            },
            format!(
                "unsupported tag {tag}; latchkey supports {}",
                SUPPORTED_TAGS.join(", ")
            ),
        ));
    }
    match &node.value {
        NodeValue::Seq(items) => items.iter().try_for_each(|i| check_tags(i, file)),
        NodeValue::Map(pairs) => pairs.iter().try_for_each(|(k, v)| {
            check_tags(k, file)?;
            check_tags(v, file)
        }),
        _ => Ok(()),
    }
}

/// Fails on a `!KeyOf` that names no earlier entry (a forward reference or a cycle).
fn check_keyof(
    node: &Node,
    declared: &HashSet<String>,
    at: &Location,
) -> Result<(), BlueprintError> {
    if node.tag.as_deref() == Some("!KeyOf") {
        let name = match &node.value {
            NodeValue::Str(s) => s.clone(),
            _ => {
                return Err(BlueprintError::at(
                    &Location {
                        line: node.line,
                        ..at.clone()
                    },
                    "!KeyOf takes the id of an earlier entry",
                ));
            }
        };
        if !declared.contains(&name) {
            return Err(BlueprintError::at(
                &Location {
                    line: node.line,
                    ..at.clone()
                },
                format!(
                    "!KeyOf {name}: no earlier entry has id '{name}' (a forward reference or a \
                     cycle; entries resolve in order)"
                ),
            ));
        }
    }
    match &node.value {
        NodeValue::Seq(items) => items.iter().try_for_each(|i| check_keyof(i, declared, at)),
        NodeValue::Map(pairs) => pairs
            .iter()
            .try_for_each(|(_, v)| check_keyof(v, declared, at)),
        _ => Ok(()),
    }
}
