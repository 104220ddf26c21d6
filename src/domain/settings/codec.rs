//! The JSON form of settings structs: written whole, read leniently.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Every field of `settings` as a JSON object.
pub fn to_json<T: Serialize>(settings: &T) -> Value {
    // Settings structs hold only strings, numbers, booleans and lists, which always serialise.
    serde_json::to_value(settings).unwrap_or_else(|_| Value::Object(Map::new()))
}

/// Reads `value` into `T`; when the whole object does not fit, field by field: a known field
/// keeps its stored value if that value fits its type, and takes the default otherwise;
/// unknown fields are ignored. Anything that is not an object reads as the defaults.
pub fn lenient<T>(value: &Value) -> T
where
    T: DeserializeOwned + Serialize + Default,
{
    if let Ok(parsed) = T::deserialize(value) {
        return parsed;
    }
    let Value::Object(stored) = value else {
        return T::default();
    };
    let Value::Object(mut merged) = to_json(&T::default()) else {
        return T::default();
    };
    for (key, v) in stored {
        let Some(slot) = merged.get_mut(key) else {
            continue;
        };
        let before = std::mem::replace(slot, v.clone());
        if T::deserialize(&Value::Object(merged.clone())).is_err() {
            merged.insert(key.clone(), before);
        }
    }
    T::deserialize(&Value::Object(merged)).unwrap_or_default()
}

/// The entries of `all` whose value differs from the same key in `defaults`.
pub fn changed(all: &Value, defaults: &Value) -> Value {
    let Value::Object(all) = all else {
        return Value::Object(Map::new());
    };
    Value::Object(
        all.iter()
            .filter(|(k, v)| defaults.get(k.as_str()) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}
