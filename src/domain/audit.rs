//! The audit trail's questions and the shapes of its answers, shared by the store's query, the
//! `latchkey events` command and the console's Events tab so that all three read one filter the
//! same way: which actions, whose, from which application, address and origin, in which time
//! range; where a follower left off; a time bound as people type it ("1h", RFC 3339); an
//! event's one-line summary; and an event as authentik's API serialises it (for a SIEM).
//!
//! Writing it (model changes, secrets viewed, passwords set) is
//! `crate::blueprint::change_events`.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Event, Timestamp};

/// How many events one query answers at most, whatever the caller asks for (the store never
/// hands out the whole trail in one go).
pub const MAX_LIMIT: i64 = 10_000;

/// How a filter matches the username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserMatch {
    /// The username is exactly this (an indexed lookup).
    Exact(String),
    /// The username contains this, ignoring ASCII case.
    Contains(String),
}

/// Which events an audit query wants; empty criteria match every event. Times are unix
/// seconds, `since` inclusive and `until` exclusive, so consecutive ranges do not overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter {
    /// Any of these actions (empty: every action).
    pub actions: Vec<String>,
    /// The username, exactly or as a substring.
    pub user: Option<UserMatch>,
    /// The application's slug, exactly.
    pub app: Option<String>,
    /// The client's address, exactly.
    pub client_ip: Option<String>,
    /// The origin exactly; a single word also matches that word's qualified origins
    /// ("blueprint" matches "blueprint default-flows").
    pub origin: Option<String>,
    /// Created at or after this.
    pub since: Option<Timestamp>,
    /// Created before this.
    pub until: Option<Timestamp>,
    /// At most this many events (clamped to 1..=[`MAX_LIMIT`]).
    pub limit: i64,
}

impl Default for EventFilter {
    fn default() -> Self {
        Self {
            actions: Vec::new(),
            user: None,
            app: None,
            client_ip: None,
            origin: None,
            since: None,
            until: None,
            limit: 500,
        }
    }
}

impl EventFilter {
    /// True when no criterion narrows the events (only the limit applies).
    pub fn is_unfiltered(&self) -> bool {
        self.actions.is_empty()
            && self.user.is_none()
            && self.app.is_none()
            && self.client_ip.is_none()
            && self.origin.is_none()
            && self.since.is_none()
            && self.until.is_none()
    }

    /// The limit the store applies.
    pub fn effective_limit(&self) -> i64 {
        self.limit.clamp(1, MAX_LIMIT)
    }

    /// The criteria as one short line ("action login|logout, user ~ann, since 2026-01-01 …"),
    /// for titles and status lines; empty when unfiltered.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if !self.actions.is_empty() {
            parts.push(format!("action {}", self.actions.join("|")));
        }
        match &self.user {
            Some(UserMatch::Exact(u)) => parts.push(format!("user ={u}")),
            Some(UserMatch::Contains(u)) => parts.push(format!("user ~{u}")),
            None => {}
        }
        if let Some(a) = &self.app {
            parts.push(format!("app {a}"));
        }
        if let Some(ip) = &self.client_ip {
            parts.push(format!("ip {ip}"));
        }
        if let Some(o) = &self.origin {
            parts.push(format!("origin {o}"));
        }
        if let Some(t) = self.since {
            parts.push(format!("since {}", rfc3339(t)));
        }
        if let Some(t) = self.until {
            parts.push(format!("until {}", rfc3339(t)));
        }
        parts.join(", ")
    }
}

/// Where a follower of the trail has read up to: events are ordered by `(created_at, id)`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventCursor {
    /// The last event's time.
    pub created_at: Timestamp,
    /// The last event's id (ids are time-ordered UUIDs, so they break ties within a second).
    pub id: String,
}

impl EventCursor {
    /// The cursor just past `e`.
    pub fn after(e: &Event) -> Self {
        Self {
            created_at: e.created_at,
            id: e.id.clone(),
        }
    }
}

/// A time bound that is neither a duration ago nor an RFC 3339 time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{text:?} is not a time: write how long ago (a number and s, m, h, d or w: 30m, 1h, 2d), \
     a date (2026-01-31) or an RFC 3339 time (2026-01-31T08:00:00Z)"
)]
pub struct TimeBoundError {
    /// What was typed.
    pub text: String,
}

/// Reads a time bound as people type it: `30m`/`1h`/`2d`/`1w`/`90s` ago from `now`, a date
/// (midnight UTC) or an RFC 3339 time.
pub fn parse_time_bound(text: &str, now: Timestamp) -> Result<Timestamp, TimeBoundError> {
    let t = text.trim();
    let bad = || TimeBoundError {
        text: text.to_string(),
    };
    if let Some(unit) = t.chars().last().filter(char::is_ascii_alphabetic) {
        let number = &t[..t.len() - unit.len_utf8()];
        if !number.is_empty() && number.chars().all(|c| c.is_ascii_digit()) {
            let seconds: i64 = match unit {
                's' => 1,
                'm' => 60,
                'h' => 3_600,
                'd' => 86_400,
                'w' => 7 * 86_400,
                _ => return Err(bad()),
            };
            let n: i64 = number.parse().map_err(|_| bad())?;
            return n
                .checked_mul(seconds)
                .and_then(|ago| now.checked_sub(ago))
                .ok_or_else(bad);
        }
    }
    if let Ok(at) = OffsetDateTime::parse(t, &Rfc3339) {
        return Ok(at.unix_timestamp());
    }
    let day = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(t, &day)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .map_err(|_| bad())
}

/// A unix time as RFC 3339 in UTC (`2026-01-31T08:00:00Z`), or the number itself when it is
/// out of range.
pub fn rfc3339(at: Timestamp) -> String {
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| at.to_string())
}

/// True when an event reports a failure or an attack (shown in the error colour everywhere).
pub fn is_failure(action: &str) -> bool {
    action.contains("failed") || action.contains("suspicious") || action.ends_with("exception")
}

/// What an event is about in a few words, for a list column: the model and its name for
/// model events, the message when there is one, else the context's first keys.
pub fn summary(e: &Event) -> String {
    let Some(map) = e.context.as_object() else {
        return String::new();
    };
    if let Some(model) = map.get("model").and_then(Value::as_object) {
        let kind = model
            .get("model_name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let name = model
            .get("name")
            .or_else(|| model.get("pk"))
            .map(text_of)
            .unwrap_or_default();
        let mut s = format!("{kind} {name}").trim().to_string();
        if let Some(diff) = map.get("diff").and_then(Value::as_object)
            && !diff.is_empty()
        {
            let keys: Vec<&str> = diff.keys().map(String::as_str).collect();
            s.push_str(&format!(" ({})", keys.join(", ")));
        }
        return s;
    }
    if let Some(m) = map.get("message") {
        return text_of(m);
    }
    map.iter()
        .take(3)
        .map(|(k, v)| format!("{k}={}", text_of(v)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A value in a few words: a string as it is, a model reference by its name, else JSON.
fn text_of(v: &Value) -> String {
    if let Some(name) = v.get("name").and_then(Value::as_str) {
        return name.to_string();
    }
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// The event as authentik's events API serialises it (`pk`, `user` {`pk`, `username`},
/// `action`, `app`, `context`, `client_ip`, `created`, `brand`), plus latchkey's `origin`: one
/// object per line of `latchkey events --json`, and what `y` copies in the console.
pub fn to_authentik_json(e: &Event) -> Value {
    let user = if e.username.is_empty() && e.user_id.is_none() {
        Value::Object(Map::new())
    } else {
        json!({"pk": e.user_id, "username": e.username})
    };
    let brand = if e.brand.is_empty() {
        Value::Object(Map::new())
    } else {
        json!({"name": e.brand})
    };
    json!({
        "pk": e.id,
        "user": user,
        "action": e.action,
        "app": e.app,
        "context": e.context,
        "client_ip": if e.client_ip.is_empty() { Value::Null } else { json!(e.client_ip) },
        "created": rfc3339(e.created_at),
        "brand": brand,
        "origin": e.origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = 1_767_225_600; // 2026-01-01T00:00:00Z

    #[test]
    fn time_bounds_read_durations_ago_dates_and_rfc3339() {
        let cases: &[(&str, Timestamp)] = &[
            ("90s", NOW - 90),
            ("30m", NOW - 1_800),
            ("1h", NOW - 3_600),
            (" 2d ", NOW - 2 * 86_400),
            ("1w", NOW - 7 * 86_400),
            ("0m", NOW),
            ("2025-12-31", NOW - 86_400),
            ("2026-01-01T01:00:00Z", NOW + 3_600),
            ("2026-01-01T01:00:00+01:00", NOW),
        ];
        for (text, want) in cases {
            assert_eq!(parse_time_bound(text, NOW), Ok(*want), "{text}");
        }
    }

    #[test]
    fn bad_time_bounds_say_which_forms_are_accepted() {
        for text in [
            "",
            "yesterday",
            "1y",
            "h",
            "-1h",
            "1.5h",
            "2026-13-01",
            "1ĥ",
        ] {
            let err = parse_time_bound(text, NOW).expect_err(text);
            let msg = err.to_string();
            assert!(
                msg.contains("30m, 1h, 2d") && msg.contains("RFC 3339"),
                "{msg}"
            );
        }
        assert!(parse_time_bound("99999999999999999d", NOW).is_err());
    }

    fn event(context: Value) -> Event {
        Event {
            id: "e-1".into(),
            action: "model_updated".into(),
            username: "ann".into(),
            user_id: Some("u-1".into()),
            app: "grafana".into(),
            client_ip: "10.0.0.1".into(),
            origin: "http".into(),
            context,
            brand: String::new(),
            created_at: NOW,
        }
    }

    #[test]
    fn summaries_name_the_model_and_what_changed() {
        let e = event(
            json!({"model": {"model_name": "user", "name": "bob", "pk": "u-2"},
                             "diff": {"email": {"old": "a", "new": "b"}}}),
        );
        assert_eq!(summary(&e), "user bob (email)");
        assert_eq!(
            summary(&event(json!({"message": "Invalid password"}))),
            "Invalid password"
        );
        assert_eq!(summary(&event(json!({"a": 1, "b": "x"}))), "a=1 b=x");
        assert_eq!(
            summary(&event(
                json!({"authorized_application": {"name": "Grafana", "pk": "a"}})
            )),
            "authorized_application=Grafana"
        );
        assert_eq!(summary(&event(json!(null))), "");
    }

    #[test]
    fn the_json_shape_is_authentiks_event_plus_origin() {
        let v = to_authentik_json(&event(json!({"k": "v"})));
        assert_eq!(v["pk"], "e-1");
        assert_eq!(v["user"], json!({"pk": "u-1", "username": "ann"}));
        assert_eq!(v["created"], "2026-01-01T00:00:00Z");
        assert_eq!(v["client_ip"], "10.0.0.1");
        assert_eq!(v["origin"], "http");
        assert_eq!(v["context"], json!({"k": "v"}));
        let mut anonymous = event(json!({}));
        anonymous.username.clear();
        anonymous.user_id = None;
        anonymous.client_ip.clear();
        let v = to_authentik_json(&anonymous);
        assert_eq!(v["user"], json!({}));
        assert_eq!(v["client_ip"], Value::Null);
    }

    #[test]
    fn a_filter_describes_itself_and_clamps_its_limit() {
        let f = EventFilter {
            actions: vec!["login".into(), "logout".into()],
            user: Some(UserMatch::Contains("an".into())),
            since: Some(NOW),
            limit: 0,
            ..EventFilter::default()
        };
        assert_eq!(
            f.describe(),
            "action login|logout, user ~an, since 2026-01-01T00:00:00Z"
        );
        assert_eq!(f.effective_limit(), 1);
        assert!(!f.is_unfiltered());
        assert!(EventFilter::default().is_unfiltered());
        assert_eq!(EventFilter::default().describe(), "");
    }
}
