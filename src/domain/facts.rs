//! The shape of the facts an Agent checks in with (authentik's `DeviceFacts` serializer, as
//! authentik-client's `DeviceFactsRequest` models it), as data: one table of fields per object.
//! [`validate_facts`] checks a body against it and answers what authentik's serializer would —
//! the facts with unknown fields dropped, or Django REST framework's nested error body.

use serde_json::{Map, Value};

use super::devices::DeviceFacts;

/// What a field holds.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Str,
    Int,
    Bool,
    /// One of these strings.
    Choice(&'static [&'static str]),
    /// A list of strings (DRF's `ListField(child=CharField())`).
    StrList,
    /// A nested object.
    Object(&'static [Field]),
    /// A list of nested objects (a `many=True` serializer).
    Objects(&'static [Field]),
    /// Any JSON object (the `vendor` section, free-form per vendor).
    AnyObject,
}

/// One field of an object: its name, what it holds, whether it must be present.
#[derive(Debug, Clone, Copy)]
struct Field {
    name: &'static str,
    shape: Shape,
    required: bool,
}

const fn req(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        required: true,
    }
}

const fn opt(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        required: false,
    }
}

/// authentik's `OSFamily` values.
pub const OS_FAMILIES: &[&str] = &[
    "linux", "unix", "bsd", "windows", "mac_os", "android", "i_os", "other",
];

const OS: &[Field] = &[
    req("family", Shape::Choice(OS_FAMILIES)),
    opt("name", Shape::Str),
    opt("version", Shape::Str),
    opt("arch", Shape::Str),
];
const DISK: &[Field] = &[
    req("name", Shape::Str),
    req("mountpoint", Shape::Str),
    opt("label", Shape::Str),
    opt("capacity_total_bytes", Shape::Int),
    opt("capacity_used_bytes", Shape::Int),
    opt("encryption_enabled", Shape::Bool),
];
const INTERFACE: &[Field] = &[
    req("name", Shape::Str),
    req("hardware_address", Shape::Str),
    opt("ip_addresses", Shape::StrList),
    opt("dns_servers", Shape::StrList),
];
const NETWORK: &[Field] = &[
    req("hostname", Shape::Str),
    opt("firewall_enabled", Shape::Bool),
    req("interfaces", Shape::Objects(INTERFACE)),
    opt("gateway", Shape::Str),
];
const HARDWARE: &[Field] = &[
    opt("model", Shape::Str),
    opt("manufacturer", Shape::Str),
    req("serial", Shape::Str),
    opt("cpu_name", Shape::Str),
    opt("cpu_count", Shape::Int),
    opt("memory_bytes", Shape::Int),
];
const SOFTWARE: &[Field] = &[
    req("name", Shape::Str),
    opt("version", Shape::Str),
    req("source", Shape::Str),
    opt("path", Shape::Str),
];
const PROCESS: &[Field] = &[
    req("id", Shape::Int),
    req("name", Shape::Str),
    opt("user", Shape::Str),
];
const USER: &[Field] = &[
    req("id", Shape::Str),
    opt("username", Shape::Str),
    opt("name", Shape::Str),
    opt("home", Shape::Str),
];
const GROUP: &[Field] = &[req("id", Shape::Str), opt("name", Shape::Str)];

/// The top level: every section optional and nullable, as in authentik.
const FACTS: &[Field] = &[
    opt("os", Shape::Object(OS)),
    opt("disks", Shape::Objects(DISK)),
    opt("network", Shape::Object(NETWORK)),
    opt("hardware", Shape::Object(HARDWARE)),
    opt("software", Shape::Objects(SOFTWARE)),
    opt("processes", Shape::Objects(PROCESS)),
    opt("users", Shape::Objects(USER)),
    opt("groups", Shape::Objects(GROUP)),
    opt("vendor", Shape::AnyObject),
];

const REQUIRED: &str = "This field is required.";
const NOT_NULL: &str = "This field may not be null.";

/// Django REST framework's name for a JSON value's type in its "got …" messages.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn messages(text: String) -> Value {
    Value::Array(vec![Value::String(text)])
}

/// Checks `body` against authentik's facts serializer: `Ok` with the facts (unknown fields
/// dropped, as the serializer's `validated_data`), or `Err` with DRF's 400 body, e.g.
/// `{"os": {"family": ["This field is required."]}}`.
pub fn validate_facts(body: &Value) -> Result<DeviceFacts, Value> {
    match body {
        Value::Object(map) => validate_object(FACTS, map).map(DeviceFacts),
        other => Err(serde_json::json!({
            "non_field_errors": [format!(
                "Invalid data. Expected a dictionary, but got {}.",
                type_name(other)
            )]
        })),
    }
}

fn validate_object(fields: &[Field], map: &Map<String, Value>) -> Result<Value, Value> {
    let mut out = Map::new();
    let mut errors = Map::new();
    for field in fields {
        match map.get(field.name) {
            None if field.required => {
                errors.insert(field.name.into(), messages(REQUIRED.into()));
            }
            None => {}
            Some(Value::Null) if field.required => {
                errors.insert(field.name.into(), messages(NOT_NULL.into()));
            }
            Some(Value::Null) => {
                out.insert(field.name.into(), Value::Null);
            }
            Some(value) => match validate_value(field.shape, value) {
                Ok(v) => {
                    out.insert(field.name.into(), v);
                }
                Err(e) => {
                    errors.insert(field.name.into(), e);
                }
            },
        }
    }
    if errors.is_empty() {
        Ok(Value::Object(out))
    } else {
        Err(Value::Object(errors))
    }
}

fn validate_value(shape: Shape, value: &Value) -> Result<Value, Value> {
    let wrong = |text: &str| Err(messages(text.into()));
    match (shape, value) {
        (Shape::Str, Value::String(_)) => Ok(value.clone()),
        // DRF's CharField takes numbers too, as their text.
        (Shape::Str, Value::Number(n)) => Ok(Value::String(n.to_string())),
        (Shape::Str, _) => wrong("Not a valid string."),
        (Shape::Int, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(value.clone()),
        (Shape::Int, _) => wrong("A valid integer is required."),
        (Shape::Bool, Value::Bool(_)) => Ok(value.clone()),
        (Shape::Bool, _) => wrong("Must be a valid boolean."),
        (Shape::Choice(choices), Value::String(s)) if choices.contains(&s.as_str()) => {
            Ok(value.clone())
        }
        (Shape::Choice(_), other) => {
            let shown = other
                .as_str()
                .map_or_else(|| other.to_string(), str::to_string);
            Err(messages(format!("\"{shown}\" is not a valid choice.")))
        }
        (Shape::StrList, Value::Array(items)) => validate_str_list(items),
        (Shape::Objects(fields), Value::Array(items)) => validate_objects(fields, items),
        (Shape::StrList | Shape::Objects(_), other) => Err(messages(format!(
            "Expected a list of items but got type \"{}\".",
            type_name(other)
        ))),
        (Shape::Object(fields), Value::Object(map)) => validate_object(fields, map),
        (Shape::AnyObject, Value::Object(_)) => Ok(value.clone()),
        (Shape::Object(_) | Shape::AnyObject, other) => Err(messages(format!(
            "Invalid data. Expected a dictionary, but got {}.",
            type_name(other)
        ))),
    }
}

/// A list of strings; DRF reports a bad item under its index (`{"0": ["…"]}`).
fn validate_str_list(items: &[Value]) -> Result<Value, Value> {
    let mut errors = Map::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match validate_value(Shape::Str, item) {
            Ok(v) => out.push(v),
            Err(e) => {
                errors.insert(i.to_string(), e);
            }
        }
    }
    if errors.is_empty() {
        Ok(Value::Array(out))
    } else {
        Err(Value::Object(errors))
    }
}

/// A list of objects; DRF reports one entry per item, `{}` for the good ones.
fn validate_objects(fields: &[Field], items: &[Value]) -> Result<Value, Value> {
    let mut failed = false;
    let mut results = Vec::with_capacity(items.len());
    for item in items {
        let result = match item {
            Value::Object(map) => validate_object(fields, map),
            other => Err(serde_json::json!({"non_field_errors": [format!(
                "Invalid data. Expected a dictionary, but got {}.",
                type_name(other)
            )]})),
        };
        failed |= result.is_err();
        results.push(result);
    }
    if failed {
        Err(Value::Array(
            results
                .into_iter()
                .map(|r| r.err().unwrap_or_else(|| Value::Object(Map::new())))
                .collect(),
        ))
    } else {
        Ok(Value::Array(results.into_iter().flatten().collect()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn full_facts_pass_and_unknown_fields_are_dropped() {
        let body = json!({
            "os": {"family": "linux", "name": "Ubuntu", "extra": 1},
            "network": {"hostname": "h", "interfaces": [
                {"name": "eth0", "hardware_address": "aa", "ip_addresses": ["10.0.0.1"]}]},
            "software": [{"name": "a", "source": "dpkg"}],
            "processes": [{"id": 1, "name": "init"}],
            "users": [{"id": "1000"}], "groups": [{"id": "1000", "name": "g"}],
            "vendor": {"goauthentik.io/platform": {"agent_version": "1"}},
            "disks": null, "whatever": true,
        });
        let facts = validate_facts(&body).expect("valid");
        assert_eq!(facts.0["os"], json!({"family": "linux", "name": "Ubuntu"}));
        assert!(facts.0.get("whatever").is_none());
        assert_eq!(facts.0["disks"], Value::Null);
        assert_eq!(validate_facts(&json!({})).expect("empty").0, json!({}));
    }

    #[test]
    fn errors_have_drfs_nested_shape() {
        let body = json!({
            "os": {"family": "plan9"},
            "hardware": {},
            "software": [{"name": "a", "source": "s"}, {"name": 5}],
            "processes": {"id": 1},
            "network": {"hostname": "h", "interfaces": [
                {"name": "e", "hardware_address": "a", "ip_addresses": [[1]]}]},
        });
        let err = validate_facts(&body).expect_err("invalid");
        assert_eq!(
            err,
            json!({
                "os": {"family": ["\"plan9\" is not a valid choice."]},
                "hardware": {"serial": ["This field is required."]},
                "software": [{}, {"source": ["This field is required."]}],
                "processes": ["Expected a list of items but got type \"dict\"."],
                "network": {"interfaces": [{"ip_addresses": {"0": ["Not a valid string."]}}]},
            })
        );
        assert_eq!(
            validate_facts(&json!([1])).expect_err("not an object"),
            json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})
        );
    }
}
