//! The facts a device's policies read (authentik's `Device.cached_facts`): for each of the
//! device's connections only its newest snapshot counts, and not at all once it has expired
//! (an older snapshot never stands in for it); those left are merged — objects key by key,
//! lists without repeats, anything else replaced by the newer snapshot's value. `created` is
//! the newest merged snapshot's time, 0 when none is left (authentik's epoch default).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::domain::DeviceFactSnapshot;

/// The `cached_facts` object (`{data, created}`) of a device whose snapshots are `snapshots`,
/// newest first, at `now`.
pub fn cached_facts(snapshots: &[DeviceFactSnapshot], now: i64) -> Value {
    let mut seen = BTreeSet::new();
    let newest_per_connection: Vec<&DeviceFactSnapshot> = snapshots
        .iter()
        .filter(|s| seen.insert(s.connection_id.as_str()))
        .collect();
    let mut data = Value::Object(Map::new());
    let mut created = 0;
    // Oldest first, so the newest snapshot's values win where they differ.
    for s in newest_per_connection.into_iter().rev() {
        if s.expires_at.is_some_and(|at| at <= now) {
            continue;
        }
        merge(&mut data, &s.data.0);
        created = created.max(s.created_at);
    }
    json!({"data": data, "created": created})
}

/// Merges `from` into `into`: objects recursively, lists by appending what is not there yet,
/// anything else replaced.
fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (k, v) in from {
                match into.get_mut(k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        into.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(into), Value::Array(from)) => {
            for v in from {
                if !into.contains(v) {
                    into.push(v.clone());
                }
            }
        }
        (into, from) => *into = from.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DeviceFacts;

    fn snapshot(
        connection: &str,
        created: i64,
        expires: Option<i64>,
        data: Value,
    ) -> DeviceFactSnapshot {
        DeviceFactSnapshot {
            id: format!("{connection}-{created}"),
            connection_id: connection.into(),
            data: DeviceFacts(data),
            created_at: created,
            expires_at: expires,
        }
    }

    #[test]
    fn an_expired_newest_snapshot_leaves_no_facts_even_when_an_older_one_is_current() {
        let snapshots = [
            snapshot("c1", 200, Some(250), json!({"os": {"version": "24.04"}})),
            snapshot("c1", 100, None, json!({"os": {"version": "22.04"}})),
        ];
        assert_eq!(
            cached_facts(&snapshots, 300),
            json!({"data": {}, "created": 0})
        );
        assert_eq!(
            cached_facts(&snapshots, 240),
            json!({"data": {"os": {"version": "24.04"}}, "created": 200})
        );
    }

    #[test]
    fn the_newest_snapshot_of_each_connection_is_merged() {
        let snapshots = [
            snapshot(
                "c2",
                300,
                None,
                json!({"os": {"name": "Ubuntu"}, "disks": ["b"]}),
            ),
            snapshot(
                "c1",
                200,
                None,
                json!({"os": {"version": "24.04"}, "disks": ["a", "b"]}),
            ),
            snapshot("c1", 100, None, json!({"software": ["old"]})),
        ];
        assert_eq!(
            cached_facts(&snapshots, 400),
            json!({
                "data": {"os": {"name": "Ubuntu", "version": "24.04"}, "disks": ["a", "b"]},
                "created": 300
            })
        );
    }
}
