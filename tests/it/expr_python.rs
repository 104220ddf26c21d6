//! authentik's Python expressions (src/expr/python): every expression of authentik's system and
//! default blueprints and of its expression documentation, recreated under
//! fixtures/expressions/, compiles and gives authentik's answer for a table of users and
//! contexts; the sandbox refuses and stops what it must.

use std::net::IpAddr;
use std::sync::Arc;

use latchkey::expr::python::{
    self, CalledPolicy, GroupFacts, HttpFacts, Input, LimitKind, Limits, Lookup, Object,
    RequestFacts, Signature, SyncHost, UserFacts, Value, matches_user, user_object,
};
use serde_json::{Map, Value as Json, json};

const FIXTURES: &[(&str, &str)] = &[
    (
        "authentik-blueprints.toml",
        include_str!("../../fixtures/expressions/authentik-blueprints.toml"),
    ),
    (
        "authentik-docs.toml",
        include_str!("../../fixtures/expressions/authentik-docs.toml"),
    ),
];

fn group(name: &str, superuser: bool, attributes: Json) -> GroupFacts {
    GroupFacts {
        pk: format!("g-{name}"),
        name: name.into(),
        is_superuser: superuser,
        attributes,
        parent_pk: None,
    }
}

fn user(username: &str, name: &str, email: &str) -> UserFacts {
    UserFacts {
        pk: format!("u-{username}"),
        uid: format!("uid-{username}"),
        username: username.into(),
        name: name.into(),
        email: email.into(),
        is_active: true,
        user_type: "internal".into(),
        path: "users".into(),
        attributes: json!({}),
        has_usable_password: true,
        ..UserFacts::default()
    }
}

/// The users the cases name.
fn users() -> Vec<UserFacts> {
    let alice = UserFacts {
        attributes: json!({"settings": {"locale": "de"}, "team": "wonderland"}),
        groups: vec![
            group("admins", true, json!({"team": "admins"})),
            group("users", false, json!({"team": "users"})),
        ],
        authenticators: vec!["totp".into()],
        ..user("alice", "Alice Liddell", "alice@example.org")
    };
    let authenticated = UserFacts {
        backend: Some("authentik.core.auth.InbuiltBackend".into()),
        ..alice.clone()
    };
    let bob = UserFacts {
        is_active: false,
        has_usable_password: false,
        ..user("bob", "Bob", "")
    };
    let carol = UserFacts {
        groups: vec![group(
            "my-admin-group",
            false,
            json!({"goauthentik.io/user/can-change-email": true}),
        )],
        ..user("carol", "C", "carol@example.org")
    };
    let akadmin = UserFacts {
        has_usable_password: false,
        ..user("akadmin", "authentik Default Admin", "")
    };
    let mut authenticated = authenticated;
    authenticated.username = "alice-authenticated".into();
    vec![alice, authenticated, bob, carol, akadmin]
}

fn find_user(name: &str) -> UserFacts {
    if name == "anonymous" {
        return UserFacts::anonymous();
    }
    users()
        .into_iter()
        .find(|u| u.username == name)
        .unwrap_or_else(|| panic!("no user {name} in the table"))
}

/// The store behind `ak_user_by` and `ak_call_policy`.
struct Table;

impl SyncHost for Table {
    fn user_by(&self, lookups: &[Lookup]) -> Result<Option<UserFacts>, String> {
        Ok(users().into_iter().find(|u| matches_user(u, lookups)))
    }
    fn call_policy(
        &self,
        name: &str,
        kwargs: &Map<String, Json>,
    ) -> Result<Option<CalledPolicy>, String> {
        Ok((name == "test-policy-2").then(|| CalledPolicy {
            passing: kwargs.get("foo") == Some(&json!("bar")),
            messages: Vec::new(),
            raw_result: Value::Bool(true),
        }))
    }
}

/// JSON from a fixture, with "@user:NAME" and {"@class": …} turned into objects.
fn fixture_value(j: &Json) -> Value {
    match j {
        Json::String(s) if s.starts_with("@user:") => {
            Value::Object(user_object(Arc::new(find_user(&s["@user:".len()..]))))
        }
        Json::Object(m) if m.contains_key("@class") => {
            let class = m["@class"].as_str().unwrap_or("Object");
            let mut o = Object::plain(
                class,
                m.iter()
                    .filter(|(k, _)| !k.starts_with('@'))
                    .map(|(k, v)| (k.clone(), fixture_value(v)))
                    .collect(),
            );
            if let Some(Json::Object(methods)) = m.get("@methods") {
                o.methods = methods
                    .iter()
                    .map(|(k, v)| (k.clone(), fixture_value(v)))
                    .collect();
            }
            Value::Object(o)
        }
        Json::Object(m) => Value::dict(m.iter().map(|(k, v)| (k.clone(), fixture_value(v)))),
        Json::Array(a) => Value::List(a.iter().map(fixture_value).collect()),
        other => Value::from(other),
    }
}

fn pairs(text: Option<&str>) -> Vec<(String, Value)> {
    let Some(text) = text else { return Vec::new() };
    let json: Json = serde_json::from_str(text).unwrap_or_else(|e| panic!("bad JSON {text}: {e}"));
    json.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), fixture_value(v)))
                .collect()
        })
        .unwrap_or_default()
}

fn signature(spec: &str) -> Signature {
    match spec.split_once(':') {
        Some(("property_mapping", vars)) => {
            Signature::property_mapping(&vars.split(',').collect::<Vec<_>>())
        }
        _ => match spec {
            "policy" => Signature::policy(),
            "scope_mapping" => Signature::scope_mapping(),
            "prompt" => Signature::prompt(),
            other => panic!("unknown signature {other}"),
        },
    }
}

fn case_input(case: &toml::Table) -> Input {
    let text = |k: &str| case.get(k).and_then(|v| v.as_str());
    let client_ip: IpAddr = text("client_ip")
        .unwrap_or("10.0.0.5")
        .parse()
        .expect("client ip");
    Input {
        request: RequestFacts {
            user: find_user(text("user").unwrap_or("anonymous")),
            http: Some(HttpFacts {
                method: "GET".into(),
                path: "/if/flow/test/".into(),
                client_ip: Some(client_ip),
                base_url: "https://id.example.org".into(),
                ..HttpFacts::default()
            }),
            context: pairs(text("context")),
            plan_context: text("plan").map(|p| pairs(Some(p))),
            is_sso_flow: case.get("sso").and_then(|v| v.as_bool()).unwrap_or(false),
            ..RequestFacts::default()
        },
        vars: pairs(text("vars")),
        now: 1_700_000_000,
        ..Input::default()
    }
}

#[test]
fn authentik_corpus_compiles_and_answers_as_authentik() {
    let mut checked = 0;
    for (file, text) in FIXTURES {
        let doc: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let expressions = doc["expression"].as_array().expect("expressions");
        for expr in expressions {
            let expr = expr.as_table().expect("table");
            let name = expr["name"].as_str().expect("name");
            let source = expr["source"].as_str().expect("source");
            python::check(source).unwrap_or_else(|e| panic!("{file} {name}: check: {e}"));
            let sig = signature(expr["signature"].as_str().expect("signature"));
            let program =
                python::compile(source, &sig).unwrap_or_else(|e| panic!("{file} {name}: {e}"));
            for case in expr["case"].as_array().expect("cases") {
                let case = case.as_table().expect("case");
                let input = case_input(case);
                let out = python::evaluate_sync(&program, &input, Limits::POLICY, &Table);
                let got = out
                    .result
                    .as_ref()
                    .unwrap_or_else(|e| panic!("{file} {name} {case:?}: {e}"))
                    .to_json();
                let want: Json = serde_json::from_str(case["expect"].as_str().expect("expect"))
                    .expect("expect JSON");
                assert_eq!(got, want, "{file} {name} {case:?}");
                if let Some(messages) = case.get("expect_messages").and_then(|m| m.as_array()) {
                    let want: Vec<&str> = messages.iter().filter_map(|m| m.as_str()).collect();
                    assert_eq!(out.messages, want, "{file} {name}");
                }
                if let Some(plan) = case.get("expect_plan").and_then(|p| p.as_str()) {
                    let want: Map<String, Json> = serde_json::from_str(plan).expect("plan JSON");
                    let got = out.plan_context.clone().unwrap_or_default();
                    for (k, v) in want {
                        let found = got
                            .iter()
                            .find(|(gk, _)| gk == &k)
                            .map(|(_, gv)| gv.to_json());
                        assert_eq!(found, Some(v), "{file} {name}: plan key {k}");
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 70, "only {checked} cases ran");
}

#[test]
fn the_seed_policy_restricts_the_admin_scope_to_the_group() {
    let source = "if \"my-admin-scope\" in request.context[\"oauth_scopes\"]:\n    return ak_is_group_member(request.user, name=\"my-admin-group\")";
    let program = python::compile(source, &Signature::policy()).expect("compiles");
    let run = |who: &str, scopes: &[&str]| {
        let mut input = Input::default();
        input.request.user = find_user(who);
        input.request.context = vec![(
            "oauth_scopes".into(),
            Value::List(scopes.iter().map(|s| Value::str(*s)).collect()),
        )];
        python::evaluate_sync(&program, &input, Limits::POLICY, &Table)
            .passing()
            .map_err(|e| e.clone())
    };
    assert_eq!(run("carol", &["openid", "my-admin-scope"]), Ok(true));
    assert_eq!(run("alice", &["openid", "my-admin-scope"]), Ok(false));
    // Without the scope the function falls off its end: None, which authentik counts as a fail.
    assert_eq!(run("carol", &["openid"]), Ok(false));
}

#[test]
fn the_sandbox_refuses_at_compile_time_with_the_line() {
    for (source, line) in [
        ("import os\nreturn os.listdir('/')", 1),
        ("x = 1\nreturn open('/etc/passwd').read()", 2),
        ("return __import__('os').system('id')", 1),
        ("return ''.__class__.__mro__[1].__subclasses__()", 1),
        ("def f():\n    pass\nreturn f.__globals__", 3),
    ] {
        let err = python::check(source).expect_err(source);
        assert!(err.is_compile_error(), "{source}: {err}");
        assert_eq!(err.line, Some(line), "{source}: {err}");
    }
}

#[test]
fn the_sandbox_stops_runaway_expressions_and_names_the_limit() {
    let limits = Limits {
        cpu_time: std::time::Duration::from_millis(100),
        deadline: std::time::Duration::from_millis(500),
        ..Limits::POLICY
    };
    for (source, limit) in [
        ("while True:\n    pass", LimitKind::Time),
        ("return len([0] * 10 ** 9)", LimitKind::Memory),
        (
            "def down(n):\n    return down(n + 1)\nreturn down(0)",
            LimitKind::Recursion,
        ),
    ] {
        let program = python::compile(source, &Signature::policy()).expect("compiles");
        let out = python::evaluate_sync(&program, &Input::default(), limits, &Table);
        let err = out.result.expect_err(source);
        assert_eq!(err.limit_kind(), Some(limit), "{source}: {err}");
        assert!(err.message.contains(limit.name()), "{source}: {err}");
    }
}
