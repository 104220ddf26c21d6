//! Attributes of the endpoint objects beside the connector (device access groups, enrollment
//! tokens), kept apart from `attrs.rs` so each file owns one family of models.
//!
//! An enrollment token's `key` is write-only: a blueprint's key is stored as its SHA-256
//! digest and never comes back out (export, `!FindObject`, events). A token written without a
//! key keeps the one it has, or gets a random one when new (usable once the console can show a
//! new key, issue 17).

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::crypto::secrets;
use crate::domain::{DeviceAccessGroup, EnrollmentToken};

/// The internal attribute carrying a token's key digest: the importer puts a blueprint key's
/// digest here, and a stored token's digest comes through an update the same way (not a model
/// field, so never exported or given by `!FindObject`).
pub const KEY_DIGEST: &str = "__key_digest";

/// A device access group's attributes under authentik's field names.
pub fn group_attrs(g: &DeviceAccessGroup) -> Value {
    json!({ "name": g.name, "attributes": g.attributes })
}

/// An enrollment token's attributes: references as ids, `expires` as RFC 3339, the digest
/// under [`KEY_DIGEST`] (never the key).
pub fn token_attrs(t: &EnrollmentToken) -> Value {
    json!({
        "name": t.name, "connector": t.connector_id, "device_group": t.device_group_id,
        "expiring": t.expiring, "expires": t.expires_at.and_then(rfc3339),
        KEY_DIGEST: t.key_digest,
    })
}

fn rfc3339(at: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(at)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

fn text(attrs: &Map<String, Value>, k: &str) -> Option<String> {
    attrs.get(k).and_then(Value::as_str).map(str::to_string)
}

/// A device access group from a complete attribute map.
pub fn group(attrs: &Map<String, Value>, id: String) -> DeviceAccessGroup {
    DeviceAccessGroup {
        id,
        name: text(attrs, "name").unwrap_or_default(),
        attributes: attrs
            .get("attributes")
            .cloned()
            .unwrap_or_else(|| json!({})),
        created_at: 0,
        updated_at: 0,
        version: 0,
    }
}

/// An enrollment token from a complete attribute map; `expires` must be RFC 3339.
pub fn token(attrs: &Map<String, Value>, id: String) -> Result<EnrollmentToken, String> {
    // The importer digests a blueprint's `key` into KEY_DIGEST as it reads it; an update
    // without one carries the stored digest the same way.
    let key_digest = match text(attrs, KEY_DIGEST) {
        Some(digest) => digest,
        None => secrets::digest(&secrets::random_token(32)),
    };
    let expires_at = match text(attrs, "expires") {
        None => None,
        Some(at) => Some(
            OffsetDateTime::parse(&at, &Rfc3339)
                .map_err(|e| format!("expires: '{at}' is not an RFC 3339 date and time: {e}"))?
                .unix_timestamp(),
        ),
    };
    Ok(EnrollmentToken {
        id,
        name: text(attrs, "name").unwrap_or_default(),
        connector_id: text(attrs, "connector").unwrap_or_default(),
        device_group_id: text(attrs, "device_group"),
        key_digest,
        expiring: attrs
            .get("expiring")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        expires_at,
        created_at: 0,
        updated_at: 0,
        version: 0,
    })
}
