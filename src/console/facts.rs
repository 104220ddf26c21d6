//! A device's latest facts as the console's detail shows them: one titled section per part of
//! authentik's `DeviceFacts` (OS, hardware, disks, network, software, users, groups,
//! processes, vendor), each a table of short lines. Built from the facts' JSON without I/O, so
//! a snapshot with missing or odd fields still renders (a missing value shows as `-`).

use serde_json::Value;

/// How one list section of the facts is shown: its key, its title, and the fields of each
/// item, joined on one line (the first is the item's name).
struct ListSection {
    key: &'static str,
    title: &'static str,
    fields: &'static [&'static str],
}

/// The list sections, in the order authentik's device page shows them.
const LISTS: &[ListSection] = &[
    ListSection {
        key: "disks",
        title: "Disks",
        fields: &[
            "name",
            "mountpoint",
            "label",
            "capacity_total_bytes",
            "capacity_used_bytes",
            "encryption_enabled",
        ],
    },
    ListSection {
        key: "software",
        title: "Software",
        fields: &["name", "version", "source", "path"],
    },
    ListSection {
        key: "users",
        title: "Users",
        fields: &["username", "id", "name", "home"],
    },
    ListSection {
        key: "groups",
        title: "Groups",
        fields: &["name", "id"],
    },
    ListSection {
        key: "processes",
        title: "Processes",
        fields: &["id", "name", "user"],
    },
];

/// The single-object sections and the fields shown as `key: value` lines.
const OBJECTS: &[(&str, &str, &[&str])] = &[
    ("os", "OS", &["family", "name", "version", "arch"]),
    (
        "hardware",
        "Hardware",
        &[
            "manufacturer",
            "model",
            "serial",
            "cpu_name",
            "cpu_count",
            "memory_bytes",
        ],
    ),
];

/// The facts as a detail view's `(field, value)` rows: each section's title beside its first
/// line, nothing beside the others. `facts` is the snapshot's data (`None`: the device never
/// checked in).
pub fn fact_rows(facts: Option<&Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut title = String::new();
    for line in fact_lines(facts) {
        if line.is_empty() {
            continue;
        }
        match line.strip_prefix("  ") {
            Some(item) => out.push((std::mem::take(&mut title), item.to_string())),
            None => title = line,
        }
    }
    out
}

/// The lines of the facts view: sections with a title line each and indented items.
pub fn fact_lines(facts: Option<&Value>) -> Vec<String> {
    let Some(facts) = facts.filter(|f| f.is_object()) else {
        return vec!["  no facts yet: the device has not checked in".into()];
    };
    let mut out = Vec::new();
    for (key, title, fields) in OBJECTS {
        section(&mut out, title, object_lines(facts.get(*key), fields));
    }
    let disks = &LISTS[0];
    section(&mut out, disks.title, list_lines(facts, disks));
    section(&mut out, "Network", network_lines(facts.get("network")));
    for list in &LISTS[1..] {
        section(&mut out, list.title, list_lines(facts, list));
    }
    if let Some(vendor) = facts.get("vendor").filter(|v| !v.is_null()) {
        section(&mut out, "Vendor", vec![format!("  {vendor}")]);
    }
    out
}

/// Appends a titled section (`title (n)` for lists is the caller's business).
fn section(out: &mut Vec<String>, title: &str, lines: Vec<String>) {
    if !out.is_empty() {
        out.push(String::new());
    }
    out.push(title.to_string());
    if lines.is_empty() {
        out.push("  -".into());
    } else {
        out.extend(lines);
    }
}

/// `  key: value` for each field of one object.
fn object_lines(obj: Option<&Value>, fields: &[&str]) -> Vec<String> {
    let Some(obj) = obj.filter(|o| o.is_object()) else {
        return Vec::new();
    };
    fields
        .iter()
        .map(|f| format!("  {f}: {}", scalar(obj.get(*f))))
        .collect()
}

/// A count line, then one line per item of a list section.
fn list_lines(facts: &Value, list: &ListSection) -> Vec<String> {
    let items = facts
        .get(list.key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if items.is_empty() {
        return Vec::new();
    }
    let mut out = vec![format!("  {} {}", items.len(), list.title.to_lowercase())];
    out.extend(items.iter().map(|item| {
        let cells: Vec<String> = list
            .fields
            .iter()
            .filter(|f| item.get(**f).is_some_and(|v| !v.is_null()))
            .map(|f| scalar(item.get(*f)))
            .collect();
        format!("  {}", cells.join("  "))
    }));
    out
}

/// The hostname, firewall and gateway, then one line per interface with its addresses.
fn network_lines(net: Option<&Value>) -> Vec<String> {
    let Some(net) = net.filter(|n| n.is_object()) else {
        return Vec::new();
    };
    let mut out = object_lines(Some(net), &["hostname", "firewall_enabled", "gateway"]);
    let interfaces = net
        .get("interfaces")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for i in interfaces {
        out.push(format!(
            "  interface {}  {}  {}",
            scalar(i.get("name")),
            scalar(i.get("hardware_address")),
            scalar(i.get("ip_addresses"))
        ));
    }
    out
}

/// One value as short text: strings bare, lists comma-separated, nothing as `-`.
fn scalar(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| scalar(Some(i)))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_section_shows_with_its_items() {
        let facts = json!({
            "os": {"family": "linux", "name": "Debian", "version": "13", "arch": "x86_64"},
            "hardware": {"serial": "SN-1", "model": "T14", "memory_bytes": 17179869184u64},
            "disks": [{"name": "nvme0n1", "mountpoint": "/", "encryption_enabled": true}],
            "network": {"hostname": "ws-1", "interfaces": [
                {"name": "eth0", "hardware_address": "aa:bb", "ip_addresses": ["10.0.0.2", "fe80::1"]}
            ]},
            "software": [{"name": "openssl", "version": "3.5", "source": "dpkg"}],
            "users": [{"id": "1000", "username": "alice"}],
            "groups": [{"id": "27", "name": "sudo"}],
            "processes": [{"id": 1, "name": "systemd", "user": "root"}],
            "vendor": {"goauthentik.io/platform": {"agent_version": "0.1"}},
        });
        let text = fact_lines(Some(&facts)).join("\n");
        for want in [
            "OS\n  family: linux\n  name: Debian\n  version: 13",
            "Hardware\n",
            "  serial: SN-1",
            "Disks\n  1 disks\n  nvme0n1  /  true",
            "Network\n  hostname: ws-1",
            "interface eth0  aa:bb  10.0.0.2, fe80::1",
            "Software\n  1 software\n  openssl  3.5  dpkg",
            "Users\n  1 users\n  alice  1000",
            "Groups\n  1 groups\n  sudo  27",
            "Processes\n  1 processes\n  1  systemd  root",
            "Vendor\n",
        ] {
            assert!(text.contains(want), "{want:?} in\n{text}");
        }
        let rows = fact_rows(Some(&facts));
        assert_eq!(rows[0], ("OS".to_string(), "family: linux".to_string()));
        assert_eq!(rows[1], (String::new(), "name: Debian".to_string()));
        assert!(rows.contains(&("Processes".to_string(), "1 processes".to_string())));
    }

    #[test]
    fn missing_and_odd_values_render_as_dashes() {
        assert_eq!(
            fact_rows(None),
            vec![(
                String::new(),
                "no facts yet: the device has not checked in".to_string()
            )]
        );
        let text =
            fact_lines(Some(&json!({"os": {"family": "mac_os"}, "disks": "nope"}))).join("\n");
        assert!(text.contains("  name: -"), "{text}");
        assert!(text.contains("Disks\n  -"), "{text}");
        assert!(!text.contains("Vendor"), "{text}");
    }
}
