//! Writes the store (or a filtered part of it) as a blueprint that `apply` takes back with no
//! change. References become `!Find` lookups by natural key, so the file also applies to another
//! instance. Passwords are never exported.

use std::collections::HashMap;

use serde_json::Value;

use super::models::{self, MODELS, ModelSpec, Ty};
use super::resolve::Cache;
use crate::domain::{Kind, Object};

/// Which objects to export.
#[derive(Debug, Clone, Default)]
pub struct ExportFilter {
    /// Only this model (authentik's name, e.g. `authentik_flows.flow`).
    pub model: Option<String>,
    /// Only objects whose name, slug, username or domain equals this.
    pub name: Option<String>,
}

/// A YAML value to write.
#[derive(Debug, Clone)]
enum Out {
    V(Value),
    Tag(&'static str, Vec<Out>),
    Seq(Vec<Out>),
    Map(Vec<(String, Out)>),
}

struct Index<'a> {
    by_id: HashMap<&'a str, (&'static ModelSpec, &'a Object)>,
}

impl<'a> Index<'a> {
    fn new(cache: &'a Cache) -> Self {
        let mut by_id = HashMap::new();
        for obj in cache.all() {
            if let Some(spec) = models::spec_of(obj) {
                by_id.insert(obj.id(), (spec, obj));
            }
        }
        Index { by_id }
    }

    /// `!Find [model, [key, value], ...]` for an id, or the raw id when unknown.
    fn reference(&self, id: &str, depth: usize) -> Out {
        let Some((spec, obj)) = self.by_id.get(id) else {
            return Out::V(Value::String(id.to_string()));
        };
        if depth > 4 {
            return Out::V(Value::String(id.to_string()));
        }
        let attrs = models::to_attrs(obj);
        let mut args = vec![Out::V(Value::String(spec.name.to_string()))];
        for key in spec.natural_key {
            let v = attrs.get(*key).cloned().unwrap_or(Value::Null);
            if v.is_null() && spec.natural_key.len() > 1 {
                continue;
            }
            let value = self.field_value(spec, key, v, depth + 1);
            args.push(Out::Seq(vec![
                Out::V(Value::String(key.to_string())),
                value,
            ]));
        }
        Out::Tag("!Find", args)
    }

    fn field_value(&self, spec: &ModelSpec, key: &str, v: Value, depth: usize) -> Out {
        match (spec.field(key).map(|f| f.ty), v) {
            (Some(Ty::Ref), Value::String(id)) => self.reference(&id, depth),
            (Some(Ty::RefList), Value::Array(ids)) => Out::Seq(
                ids.iter()
                    .map(|id| match id {
                        Value::String(id) => self.reference(id, depth),
                        other => Out::V(other.clone()),
                    })
                    .collect(),
            ),
            (_, v) => Out::V(v),
        }
    }
}

fn display_name(obj: &Object) -> Vec<String> {
    let attrs = models::to_attrs(obj);
    ["name", "slug", "username", "domain"]
        .iter()
        .filter_map(|k| attrs.get(*k).and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// Renders the objects in `cache` as a blueprint.
pub fn render(cache: &Cache, filter: &ExportFilter) -> String {
    let index = Index::new(cache);
    let mut entries = Vec::new();
    for spec in MODELS.iter() {
        if filter.model.as_deref().is_some_and(|m| m != spec.name) {
            continue;
        }
        let mut objs: Vec<&Object> = cache
            .objects(spec.kind)
            .iter()
            .filter(|o| spec.matches(o))
            .collect();
        // Parents before children, so the file applies to an empty store in order; stage
        // bindings by their flow's slug (flows are listed by slug), so an export of the
        // re-applied file lists them alike whatever order the flows were made in.
        let flow_slug = |id: &str| {
            cache.objects(Kind::Flow).iter().find_map(|f| match f {
                Object::Flow(f) if f.id == id => Some(f.slug.clone()),
                _ => None,
            })
        };
        objs.sort_by_cached_key(|o| match o {
            Object::Group { group, .. } => (group.parent_id.is_some(), None, 0),
            Object::FlowStageBinding(b) => (false, flow_slug(&b.flow_id), b.order),
            _ => (false, None, 0),
        });
        for obj in objs {
            if let Some(name) = &filter.name
                && !display_name(obj).contains(name)
            {
                continue;
            }
            entries.push(entry(&index, spec, obj));
        }
    }
    let mut doc = vec![
        ("version".to_string(), Out::V(Value::from(1))),
        (
            "metadata".to_string(),
            Out::Map(vec![(
                "name".to_string(),
                Out::V(Value::String("latchkey export".into())),
            )]),
        ),
        ("entries".to_string(), Out::Seq(entries)),
    ];
    let mut text =
        String::from("# Exported by latchkey; `latchkey apply` takes it back unchanged.\n");
    let body = std::mem::take(&mut doc);
    write_map(&body, 0, &mut text);
    text
}

fn entry(index: &Index<'_>, spec: &'static ModelSpec, obj: &Object) -> Out {
    let attrs = models::to_attrs(obj);
    let mut identifiers = Vec::new();
    let mut rest = Vec::new();
    for field in &spec.fields {
        if matches!(field.ty, Ty::Secret)
            || (spec.kind == crate::domain::Kind::Group && field.name == "users")
        {
            continue;
        }
        let v = attrs.get(field.name).cloned().unwrap_or(Value::Null);
        let out = index.field_value(spec, field.name, v, 0);
        if spec.natural_key.contains(&field.name) {
            identifiers.push((field.name.to_string(), out));
        } else {
            rest.push((field.name.to_string(), out));
        }
    }
    Out::Map(vec![
        ("model".into(), Out::V(Value::String(spec.name.into()))),
        ("identifiers".into(), Out::Map(identifiers)),
        ("attrs".into(), Out::Map(rest)),
    ])
}

/// A scalar as YAML: plain when that reads back as the same string, JSON-quoted otherwise.
fn inline_value(v: &Value) -> String {
    match v {
        Value::String(s) if is_plain_safe(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(inline_value)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!(
                    "{}: {}",
                    inline_value(&Value::String(k.clone())),
                    inline_value(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => serde_json::to_string(other).unwrap_or_else(|_| "null".into()),
    }
}

fn is_plain_safe(s: &str) -> bool {
    let reserved = matches!(
        s.to_ascii_lowercase().as_str(),
        "" | "~" | "null" | "true" | "false" | "yes" | "no" | "on" | "off"
    );
    !reserved
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '='))
        && s.parse::<f64>().is_err()
}

fn inline(out: &Out) -> String {
    match out {
        Out::V(v) => inline_value(v),
        Out::Tag(tag, args) => format!("{tag} [{}]", join(args)),
        Out::Seq(items) => format!("[{}]", join(items)),
        Out::Map(pairs) => format!(
            "{{{}}}",
            pairs
                .iter()
                .map(|(k, v)| format!("{k}: {}", inline(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn join(items: &[Out]) -> String {
    items.iter().map(inline).collect::<Vec<_>>().join(", ")
}

fn is_block(out: &Out) -> bool {
    match out {
        Out::Map(p) => !p.is_empty(),
        Out::Seq(items) => !items.is_empty() && items.iter().any(|i| matches!(i, Out::Map(_))),
        _ => false,
    }
}

fn write_map(pairs: &[(String, Out)], indent: usize, text: &mut String) {
    let pad = " ".repeat(indent);
    for (i, (k, v)) in pairs.iter().enumerate() {
        // The first key of a list item follows its "- " marker.
        let prefix = if i == 0 && text.ends_with("- ") {
            String::new()
        } else {
            pad.clone()
        };
        if is_block(v) {
            text.push_str(&format!("{prefix}{k}:\n"));
            write_block(v, indent + 2, text);
        } else {
            text.push_str(&format!("{prefix}{k}: {}\n", inline(v)));
        }
    }
}

fn write_block(out: &Out, indent: usize, text: &mut String) {
    match out {
        Out::Map(pairs) => write_map(pairs, indent, text),
        Out::Seq(items) => {
            let pad = " ".repeat(indent);
            for item in items {
                match item {
                    Out::Map(pairs) if !pairs.is_empty() => {
                        text.push_str(&format!("{pad}- "));
                        write_map(pairs, indent + 2, text);
                    }
                    other => text.push_str(&format!("{pad}- {}\n", inline(other))),
                }
            }
        }
        other => text.push_str(&format!("{}{}\n", " ".repeat(indent), inline(other))),
    }
}
