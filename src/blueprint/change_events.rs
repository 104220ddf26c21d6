//! The audit trail's record of one model write, in authentik's terms: `model_created`,
//! `model_updated` (with a field-level diff) and `model_deleted`, whose context names the model
//! as authentik's events do (`{"app", "model_name", "pk", "name"}`). It lives beside the model
//! table because that table is what knows an object's authentik model and field names and which
//! fields are secret; the console's saves (through the service) and blueprint applies both record
//! through here, inside the transaction of the write, so an event exists exactly when the change
//! does.
//!
//! No secret reaches an event: a secret field (a client secret, a private key, a password, an
//! enrollment key) appears in a diff only as [`MASK`], and only when it changed.
//!
//! Reading the trail back (filters, cursors, its JSON shape) is [`crate::domain::audit`].

use serde_json::{Map, Value, json};

use super::models::{self, Ty};
use crate::domain::{Actor, Event, Object};
use crate::store::{self, StoreResult, Topic, WriteTx};

/// authentik's action for a new object.
pub const MODEL_CREATED: &str = "model_created";
/// authentik's action for a changed object.
pub const MODEL_UPDATED: &str = "model_updated";
/// authentik's action for a deleted object.
pub const MODEL_DELETED: &str = "model_deleted";
pub use crate::flows::actions::PASSWORD_SET;
/// authentik's action for a secret shown or copied.
pub const SECRET_VIEW: &str = "secret_view";
/// authentik's action for a secret replaced by a new one.
pub const SECRET_ROTATE: &str = "secret_rotate";

/// What a secret value is replaced by in every event (authentik's cleansing mask).
pub const MASK: &str = "********************";

/// Attribute names that hold secrets though their model table type is a plain string (a
/// webhook URL often carries its credential, as Slack's do).
const SECRET_ATTRS: &[&str] = &[
    "client_secret",
    "key_data",
    "password",
    "key",
    "webhook_url",
];

/// Bookkeeping the diff leaves out (it moves on every write).
const BOOKKEEPING: &[&str] = &["created_at", "updated_at", "version", "last_login"];

/// True when attribute `name` of `obj`'s model holds a secret.
pub fn is_secret(obj: &Object, name: &str) -> bool {
    SECRET_ATTRS.contains(&name)
        || models::spec_of(obj)
            .and_then(|s| s.field(name))
            .is_some_and(|f| matches!(f.ty, Ty::Secret))
}

/// authentik's model reference of an object: its app and model name, primary key and name.
pub fn model_ref(obj: &Object) -> Value {
    let full = models::spec_of(obj)
        .map(|s| s.name)
        .unwrap_or("latchkey.unknown");
    let (app, model_name) = full.split_once('.').unwrap_or(("latchkey", full));
    json!({
        "app": app,
        "model_name": model_name,
        "pk": obj.id(),
        "name": display_name(obj),
    })
}

/// The name a person knows the object by (name, slug, username or domain; a binding by its
/// order; else its id).
pub fn display_name(obj: &Object) -> String {
    let attrs = models::to_attrs(obj);
    ["name", "username", "slug", "domain"]
        .iter()
        .find_map(|k| attrs.get(*k).and_then(Value::as_str).map(str::to_string))
        .or_else(|| attrs.get("order").map(|o| format!("order {o}")))
        .unwrap_or_else(|| obj.id().to_string())
}

/// The fields that differ between `before` and `after`, each as
/// `{"previous_value", "new_value"}` (secrets masked); empty when nothing a person set changed.
pub fn diff(before: &Object, after: &Object) -> Map<String, Value> {
    let old = comparable(before);
    let new = comparable(after);
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Map::new();
    for key in keys {
        let (a, b) = (
            old.get(key).unwrap_or(&Value::Null),
            new.get(key).unwrap_or(&Value::Null),
        );
        if a == b {
            continue;
        }
        let (a, b) = if is_secret(after, key) {
            (masked(a), masked(b))
        } else {
            (a.clone(), b.clone())
        };
        out.insert(key.clone(), json!({ "previous_value": a, "new_value": b }));
    }
    out
}

/// The secret fields whose value differs between `before` and `after` (a rotation).
pub fn rotated_secrets(before: &Object, after: &Object) -> Vec<String> {
    let old = models::to_attrs(before);
    let new = models::to_attrs(after);
    new.iter()
        .filter(|(k, v)| is_secret(after, k) && old.get(*k) != Some(*v) && !v.is_null())
        .filter(|(k, _)| old.get(*k).is_some_and(|o| !o.is_null() && o != ""))
        .map(|(k, _)| k.clone())
        .collect()
}

fn masked(v: &Value) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::String(s) if s.is_empty() => Value::String(String::new()),
        _ => Value::String(MASK.into()),
    }
}

/// The object's attributes without bookkeeping, nested secrets masked.
fn comparable(obj: &Object) -> Map<String, Value> {
    let mut attrs = models::to_attrs(obj);
    for k in BOOKKEEPING {
        attrs.remove(*k);
    }
    attrs
}

/// The object's attributes as an event shows a created or deleted object (secrets masked).
fn snapshot(obj: &Object) -> Map<String, Value> {
    comparable(obj)
        .into_iter()
        .map(|(k, v)| {
            let v = if is_secret(obj, &k) { masked(&v) } else { v };
            (k, v)
        })
        .collect()
}

/// The event a write makes, or `None` when an update changed nothing a person set.
/// `before`/`after`: `None`/`Some` creates, `Some`/`Some` updates, `Some`/`None` deletes.
pub fn change_event(
    actor: &Actor,
    before: Option<&Object>,
    after: Option<&Object>,
    now: i64,
) -> Option<Event> {
    let (action, obj, detail) = match (before, after) {
        (None, Some(new)) => (MODEL_CREATED, new, json!({ "attrs": snapshot(new) })),
        (Some(old), Some(new)) => {
            let d = diff(old, new);
            if d.is_empty() {
                return None;
            }
            (MODEL_UPDATED, new, json!({ "diff": d }))
        }
        (Some(old), None) => (MODEL_DELETED, old, json!({ "attrs": snapshot(old) })),
        (None, None) => return None,
    };
    let mut context = json!({ "model": model_ref(obj) });
    if let (Value::Object(c), Value::Object(d)) = (&mut context, detail) {
        c.extend(d);
    }
    Some(Event::by(actor, action, context, now))
}

/// Records the event of one write inside the write's transaction (see [`change_event`]), and
/// a `secret_rotate` for every secret the update replaced.
pub async fn record_change(
    tx: &mut WriteTx,
    actor: &Actor,
    before: Option<&Object>,
    after: Option<&Object>,
    now: i64,
) -> StoreResult<()> {
    let Some(event) = change_event(actor, before, after, now) else {
        return Ok(());
    };
    store::events::insert(tx.conn(), &event).await?;
    if let (Some(old), Some(new)) = (before, after) {
        for field in rotated_secrets(old, new) {
            let context = json!({ "model": model_ref(new), "field": field });
            let rotate = Event::by(actor, SECRET_ROTATE, context, now);
            store::events::insert(tx.conn(), &rotate).await?;
        }
    }
    tx.touch(Topic::Events);
    Ok(())
}

/// The `password_set` event of `actor` setting the password of user `user_id` (`username`).
pub fn password_set_event(actor: &Actor, user_id: &str, username: &str, now: i64) -> Event {
    let context = json!({ "user": { "pk": user_id, "username": username } });
    Event::by(actor, PASSWORD_SET, context, now)
}

/// The `secret_view` event of `actor` revealing or copying attribute `field` of `obj` (`how`:
/// "reveal" or "copy"); the value itself is never part of it.
pub fn secret_view_event(actor: &Actor, obj: &Object, field: &str, how: &str, now: i64) -> Event {
    let context = json!({ "model": model_ref(obj), "field": field, "how": how });
    Event::by(actor, SECRET_VIEW, context, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Application, OAuth2Settings, Provider};

    fn provider(secret: &str) -> Object {
        Object::Provider(Provider {
            id: "p-1".into(),
            name: "grafana".into(),
            client_id: "client-1".into(),
            authorization_flow_id: None,
            authentication_flow_id: None,
            invalidation_flow_id: None,
            signing_key_id: None,
            encryption_key_id: None,
            scope_mapping_ids: Vec::new(),
            oauth2: OAuth2Settings {
                client_secret: secret.into(),
                ..OAuth2Settings::default()
            },
            created_at: 0,
            updated_at: 0,
            version: 1,
        })
    }

    fn app(launch: &str, version: i64) -> Object {
        Object::Application(Application {
            id: "a-1".into(),
            name: "Grafana".into(),
            slug: "grafana".into(),
            meta_launch_url: launch.into(),
            version,
            updated_at: version * 10,
            ..Application::default()
        })
    }

    #[test]
    fn an_update_lists_only_what_changed_with_both_values() {
        let d = diff(&app("https://a.example/", 1), &app("https://b.example/", 2));
        assert_eq!(d.keys().collect::<Vec<_>>(), vec!["meta_launch_url"]);
        assert_eq!(d["meta_launch_url"]["previous_value"], "https://a.example/");
        assert_eq!(d["meta_launch_url"]["new_value"], "https://b.example/");
    }

    #[test]
    fn a_changed_secret_is_masked_and_counts_as_a_rotation() {
        let before = provider("old-secret-value");
        let after = provider("new-secret-value");
        let d = diff(&before, &after);
        let text = serde_json::to_string(&d).unwrap_or_default();
        assert!(d.contains_key("client_secret"), "{text}");
        assert!(!text.contains("secret-value"), "{text}");
        assert!(text.contains(MASK));
        assert_eq!(rotated_secrets(&before, &after), vec!["client_secret"]);
    }

    #[test]
    fn creation_and_deletion_name_the_model_and_mask_secrets() {
        let obj = provider("very-secret");
        let actor = Actor::local("console", "root", "host");
        for (b, a, action) in [
            (None, Some(&obj), MODEL_CREATED),
            (Some(&obj), None, MODEL_DELETED),
        ] {
            let e = change_event(&actor, b, a, 0).unwrap_or_else(|| panic!("{action}"));
            assert_eq!(e.action, action);
            assert_eq!(e.username, "root@host");
            assert_eq!(e.origin, "console");
            assert_eq!(e.context["model"]["app"], "authentik_providers_oauth2");
            assert_eq!(e.context["model"]["name"], "grafana");
            let text = e.context.to_string();
            assert!(!text.contains("very-secret"), "{text}");
        }
    }

    #[test]
    fn an_update_that_changes_nothing_but_bookkeeping_records_nothing() {
        let actor = Actor::system();
        let (a, b) = (app("https://a.example/", 1), app("https://a.example/", 2));
        assert!(change_event(&actor, Some(&a), Some(&b), 0).is_none());
    }
}
