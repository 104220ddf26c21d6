//! authentik's event-matcher policy (`authentik/policies/event_matcher/models.py`): it passes
//! when every field it sets matches the event in the request context (`context["event"]`, which
//! the notifier puts there, as authentik's `event_trigger_handler` does). Without an event it
//! fails; with no field set it passes (authentik's `all()` of no checks).

use serde_json::Value;

use super::PolicyVerdict;
use crate::domain::EventMatcherSettings;

/// The request-context key the event is under.
pub const EVENT_KEY: &str = "event";

/// Matches `event` (the JSON an event is handed to policies as: `action`, `app`,
/// `client_ip`, `context`) against the set fields; messages name the fields that matched.
pub fn matches(s: &EventMatcherSettings, event: Option<&Value>) -> PolicyVerdict {
    let Some(event) = event else {
        return PolicyVerdict {
            passing: false,
            messages: vec!["No event in the request context.".into()],
            ..PolicyVerdict::default()
        };
    };
    let text = |k: &str| event.get(k).and_then(Value::as_str).unwrap_or_default();
    let model = event_model(event);
    let checks: [(&Option<String>, String, &str); 4] = [
        (&s.action, text("action").to_string(), "Action matched."),
        (
            &s.client_ip,
            text("client_ip").to_string(),
            "Client IP matched.",
        ),
        (&s.app, text("app").to_string(), "App matched."),
        (&s.model, model, "Model matched."),
    ];
    let mut passing = true;
    let mut messages = Vec::new();
    for (want, got, message) in checks {
        let Some(want) = want.as_deref().filter(|w| !w.is_empty()) else {
            continue;
        };
        if want == got {
            messages.push(message.to_string());
        } else {
            passing = false;
        }
    }
    PolicyVerdict {
        passing,
        messages,
        ..PolicyVerdict::default()
    }
}

/// `app.model_name` from the event context's `model` (authentik's model_* events carry it).
fn event_model(event: &Value) -> String {
    let model = event.get("context").and_then(|c| c.get("model"));
    let part = |k: &str| {
        model
            .and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or("None")
            .to_string()
    };
    format!("{}.{}", part("app"), part("model_name"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event() -> Value {
        json!({
            "action": "model_created", "app": "authentik.core", "client_ip": "192.0.2.7",
            "context": {"model": {"app": "authentik_core", "model_name": "user", "pk": "1"}},
        })
    }

    fn with(f: impl FnOnce(&mut EventMatcherSettings)) -> EventMatcherSettings {
        let mut s = EventMatcherSettings::default();
        f(&mut s);
        s
    }

    #[test]
    fn each_field_matches_alone_and_refuses_another_value() {
        type Set = fn(&mut EventMatcherSettings, Option<String>);
        let fields: [(Set, &str, &str); 4] = [
            (|s, v| s.action = v, "model_created", "login_failed"),
            (|s, v| s.client_ip = v, "192.0.2.7", "192.0.2.8"),
            (|s, v| s.app = v, "authentik.core", "authentik.flows"),
            (
                |s, v| s.model = v,
                "authentik_core.user",
                "authentik_core.group",
            ),
        ];
        for (set, good, bad) in fields {
            let s = with(|s| set(s, Some(good.into())));
            let v = matches(&s, Some(&event()));
            assert!(v.passing, "{good} should match");
            assert_eq!(v.messages.len(), 1);
            let s = with(|s| set(s, Some(bad.into())));
            assert!(
                !matches(&s, Some(&event())).passing,
                "{bad} should not match"
            );
        }
    }

    #[test]
    fn every_set_field_must_match() {
        let s = with(|s| {
            s.action = Some("model_created".into());
            s.client_ip = Some("198.51.100.1".into());
        });
        assert!(!matches(&s, Some(&event())).passing);
        let s = with(|s| {
            s.action = Some("model_created".into());
            s.client_ip = Some("192.0.2.7".into());
            s.model = Some("authentik_core.user".into());
        });
        let v = matches(&s, Some(&event()));
        assert!(v.passing);
        assert_eq!(v.messages.len(), 3);
    }

    #[test]
    fn without_an_event_it_fails_and_with_no_field_it_passes() {
        let s = with(|s| s.action = Some("login".into()));
        assert!(!matches(&s, None).passing);
        assert!(matches(&EventMatcherSettings::default(), Some(&event())).passing);
        let empty = with(|s| s.app = Some(String::new()));
        assert!(
            matches(&empty, Some(&event())).passing,
            "an empty field is unset"
        );
    }
}
