//! authentik's model names and field names for every object latchkey has: which fields each
//! model accepts (with type and authentik's default, `table`) and how an object maps to and
//! from its attributes (`attrs`).

mod attrs;
mod endpoints;
mod table;

use serde_json::{Map, Value, json};

use crate::domain::redirect::RedirectUri;
use crate::domain::*;
use crate::domain::{Kind, Object};

pub use attrs::{from_attrs, to_attrs};
pub use endpoints::KEY_DIGEST;
pub use table::{META_APPLY_BLUEPRINT, MODELS};

/// A field's type, which decides what values it accepts.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// Text (numbers are accepted and kept as text).
    Str,
    /// Text or null.
    OptStr,
    /// true or false.
    Bool,
    /// A whole number.
    Int,
    /// One of an enum's authentik spellings: (is valid, the choices for messages).
    Enum(fn(&str) -> bool, fn() -> String),
    /// Another object's id (from !KeyOf / !Find) or null.
    Ref,
    /// A list of other objects' ids.
    RefList,
    /// A list of strings.
    StrList,
    /// A JSON mapping (attributes).
    Json,
    /// OAuth2 redirect URIs: the list form or the older newline-separated string.
    RedirectUris,
    /// Write-only (a user's password): accepted, never exported.
    Secret,
}

/// One field of a model.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub default: Value,
}

/// Which variant of a kind-with-settings a model is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// A kind without variants.
    None,
    /// One stage kind.
    Stage(StageKind),
    /// One policy kind.
    Policy(PolicyKind),
    /// One connector kind.
    Connector(ConnectorKind),
}

/// One authentik model latchkey understands.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    pub name: &'static str,
    pub kind: Kind,
    pub variant: Variant,
    /// Fields common to the kind (`name`, …), then the variant's settings fields.
    pub fields: Vec<Field>,
    /// How many leading fields are common (the rest are the typed settings' fields).
    pub common: usize,
    /// The fields that identify an object on export.
    pub natural_key: &'static [&'static str],
}

impl ModelSpec {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Every accepted field name, for error messages.
    pub fn field_names(&self) -> String {
        self.fields
            .iter()
            .map(|f| f.name)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// authentik's defaults for every field.
    pub fn defaults(&self) -> Map<String, Value> {
        self.fields
            .iter()
            .filter(|f| !matches!(f.ty, Ty::Secret))
            .map(|f| (f.name.to_string(), f.default.clone()))
            .collect()
    }

    /// True when `obj` is an object of this model (kind and variant).
    pub fn matches(&self, obj: &Object) -> bool {
        match (obj, self.variant) {
            (Object::Stage(s), Variant::Stage(k)) => s.kind() == k,
            (Object::Policy(p), Variant::Policy(k)) => p.kind() == k,
            (Object::Connector(c), Variant::Connector(k)) => c.kind() == k,
            (o, Variant::None) => o.kind() == self.kind,
            _ => false,
        }
    }
}

/// The model called `name`.
pub fn spec(name: &str) -> Option<&'static ModelSpec> {
    MODELS.iter().find(|m| m.name.eq_ignore_ascii_case(name))
}

/// The model an object belongs to.
pub fn spec_of(obj: &Object) -> Option<&'static ModelSpec> {
    MODELS.iter().find(|m| m.matches(obj))
}

/// Checks `value` against the field's type and returns it normalised (scalars to strings for
/// text fields, authentik's older newline-separated `redirect_uris` string to the list form).
pub fn normalise(field: &Field, value: Value) -> Result<Value, String> {
    let got = type_name(&value);
    let bad = |want: &str| Err(format!("expected {want}, got {got}"));
    match field.ty {
        Ty::Str | Ty::Secret => match value {
            Value::String(_) => Ok(value),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            _ => bad("a string"),
        },
        Ty::OptStr | Ty::Ref => match value {
            Value::String(_) | Value::Null => Ok(value),
            _ => bad(if matches!(field.ty, Ty::Ref) {
                "a reference (!KeyOf, !Find or an id) or null"
            } else {
                "a string or null"
            }),
        },
        Ty::Bool => match value {
            Value::Bool(_) => Ok(value),
            _ => bad("true or false"),
        },
        Ty::Int => match &value {
            Value::Number(n) if n.is_i64() => Ok(value),
            _ => bad("an integer"),
        },
        Ty::Enum(valid, choices) => match &value {
            Value::String(s) if valid(s) => Ok(value),
            Value::String(s) => Err(format!("'{s}' is not one of: {}", choices())),
            _ => bad("a string"),
        },
        Ty::RefList | Ty::StrList => match &value {
            Value::Array(items) if items.iter().all(Value::is_string) => Ok(value),
            Value::Null => Ok(json!([])),
            _ => bad("a list of strings"),
        },
        Ty::Json => match value {
            Value::Object(_) => Ok(value),
            Value::Null => Ok(json!({})),
            _ => bad("a mapping"),
        },
        Ty::RedirectUris => redirect_uris(value),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn redirect_uris(value: Value) -> Result<Value, String> {
    let list: Vec<RedirectUri> = match value {
        Value::Null => Vec::new(),
        Value::String(text) => text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| match l {
                "*" | ".*" => RedirectUri {
                    matching_mode: MatchingMode::Regex,
                    url: ".*".into(),
                    redirect_uri_type: RedirectUriType::Authorization,
                },
                _ => RedirectUri::strict(l),
            })
            .collect(),
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                let uri: RedirectUri = serde_json::from_value(item).map_err(|e| {
                    format!("each entry needs matching_mode (strict|regex) and url: {e}")
                })?;
                out.push(uri);
            }
            out
        }
        other => {
            return Err(format!(
                "expected a list of {{matching_mode, url}} or a newline-separated string, got {}",
                type_name(&other)
            ));
        }
    };
    serde_json::to_value(list).map_err(|e| e.to_string())
}
