//! Unit tests of the Python engine: the API, the rewrites, the sandbox and the limits.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::json;

use super::*;

fn group(name: &str, superuser: bool) -> GroupFacts {
    GroupFacts {
        pk: format!("g-{name}"),
        name: name.into(),
        is_superuser: superuser,
        attributes: json!({"team": name}),
        parent_pk: None,
    }
}

fn alice() -> UserFacts {
    UserFacts {
        pk: "u-1".into(),
        uid: "uid-1".into(),
        username: "alice".into(),
        name: "Alice Liddell".into(),
        email: "alice@example.org".into(),
        is_active: true,
        user_type: "internal".into(),
        path: "users".into(),
        attributes: json!({"settings": {"locale": "de"}, "k": "v"}),
        groups: vec![group("admins", true), group("users", false)],
        inherited_groups: vec![group("staff", false)],
        has_usable_password: true,
        authenticators: vec!["totp".into()],
        ..UserFacts::default()
    }
}

fn input() -> Input {
    Input {
        request: RequestFacts {
            user: alice(),
            http: Some(HttpFacts {
                method: "GET".into(),
                path: "/if/flow/x/".into(),
                query: vec![("next".into(), "/a".into())],
                headers: vec![("User-Agent".into(), "test".into())],
                client_ip: Some(IpAddr::from([10, 1, 2, 3])),
                base_url: "https://id.example.org".into(),
            }),
            context: vec![(
                "oauth_scopes".into(),
                Value::List(vec![Value::str("openid"), Value::str("my-admin-scope")]),
            )],
            plan_context: Some(vec![(
                "prompt_data".into(),
                Value::dict([("email", Value::str("a@b.c"))]),
            )]),
            ..RequestFacts::default()
        },
        now: 1_700_000_000,
        ..Input::default()
    }
}

/// A store of one user and one policy.
struct Store;

impl SyncHost for Store {
    fn user_by(&self, lookups: &[Lookup]) -> Result<Option<UserFacts>, String> {
        Ok(Some(alice()).filter(|u| matches_user(u, lookups)))
    }
    fn call_policy(
        &self,
        name: &str,
        kwargs: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Option<CalledPolicy>, String> {
        Ok((name == "is-foo").then(|| CalledPolicy {
            passing: kwargs.get("foo") == Some(&json!("bar")),
            messages: vec!["called".into()],
            raw_result: Value::Bool(true),
        }))
    }
}

impl Host for Store {
    async fn user_by(&self, lookups: &[Lookup]) -> Result<Option<UserFacts>, String> {
        SyncHost::user_by(self, lookups)
    }
    async fn call_policy(
        &self,
        name: &str,
        kwargs: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Option<CalledPolicy>, String> {
        SyncHost::call_policy(self, name, kwargs)
    }
}

fn policy(src: &str) -> Outcome {
    let program = compile(src, &Signature::policy()).expect("compiles");
    evaluate_sync(&program, &input(), Limits::POLICY, &Store)
}

fn value(src: &str) -> Value {
    let out = policy(src);
    out.result.unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn refused(src: &str) -> ExprError {
    match compile(src, &Signature::policy()) {
        Err(e) => e,
        Ok(_) => panic!("compiled: {src}"),
    }
}

#[test]
fn policy_api() {
    assert_eq!(value("return request.user.username"), Value::str("alice"));
    assert_eq!(
        value("return ak_is_group_member(request.user, name=\"admins\")"),
        Value::Bool(true)
    );
    assert_eq!(
        value("return ak_is_group_member(request.user, name=\"staff\")"),
        Value::Bool(true),
        "inherited groups count, as authentik's all_groups()"
    );
    assert_eq!(
        value("return ak_is_group_member(request.user, name__startswith=\"nope\")"),
        Value::Bool(false)
    );
    assert_eq!(
        value("return [g.name for g in request.user.ak_groups.all()]"),
        Value::List(vec![Value::str("admins"), Value::str("users")])
    );
    assert_eq!(
        value("return request.user.group_attributes()[\"team\"]"),
        Value::str("users")
    );
    assert_eq!(
        value("return request.user.attributes.get(\"k\")"),
        Value::str("v")
    );
    assert_eq!(value("return request.user.is_superuser"), Value::Bool(true));
    assert_eq!(
        value("return ak_user_has_authenticator(request.user, device_type=\"webauthn\")"),
        Value::Bool(false)
    );
    assert_eq!(
        value("return ak_user_has_authenticator(request.user)"),
        Value::Bool(true)
    );
    assert_eq!(
        value("return context[\"prompt_data\"][\"email\"]"),
        Value::str("a@b.c")
    );
    assert_eq!(
        value("return request.http_request.build_absolute_uri(\"/\").rstrip(\"/\")"),
        Value::str("https://id.example.org")
    );
    assert_eq!(value("return http_request.path"), Value::str("/if/flow/x/"));
    assert_eq!(value("return str(ak_client_ip)"), Value::str("10.1.2.3"));
    assert_eq!(
        value("return ak_client_ip in ip_network(\"10.0.0.0/8\") and ak_client_ip.is_private"),
        Value::Bool(true)
    );
    assert_eq!(
        value(
            "from ipaddress import ip_network\nreturn ip_address(\"192.0.2.1\") in ip_network(\"192.0.2.0/24\")"
        ),
        Value::Bool(true)
    );
    assert_eq!(
        value("import ipaddress\nreturn ipaddress.ip_address(\"8.8.8.8\").is_global"),
        Value::Bool(true)
    );
    assert_eq!(value("return ak_is_sso_flow"), Value::Bool(false));
    assert_eq!(
        value("return regex_match(request.user.username, \"^al\")"),
        Value::Bool(true)
    );
    assert_eq!(
        value("return regex_replace(request.user.email, \"(.+)@.+\", \"\")"),
        Value::str("")
    );
    assert_eq!(value("return list_flatten([\"foo\"])"), Value::str("foo"));
    assert_eq!(
        value("return slugify(\"Hello World!\")"),
        Value::str("hello-world")
    );
}

#[test]
fn host_lookups() {
    assert_eq!(
        value("u = ak_user_by(username=\"alice\")\nreturn u.email if u else None"),
        Value::str("alice@example.org")
    );
    assert_eq!(value("return ak_user_by(username=\"bob\")"), Value::None);
    assert_eq!(
        value("r = ak_call_policy(\"is-foo\", foo=\"bar\")\nreturn [r.passing, list(r.messages)]"),
        Value::List(vec![
            Value::Bool(true),
            Value::List(vec![Value::str("called")])
        ])
    );
    let err = policy("return ak_call_policy(\"missing\")")
        .result
        .expect_err("fails");
    assert_eq!(err.kind, ErrorKind::Exception("ValueError".into()));
    let program = compile(
        "return ak_user_by(username=\"alice\").username",
        &Signature::policy(),
    )
    .expect("compiles");
    let out = futures::executor::block_on(evaluate(&program, &input(), Limits::POLICY, &Store));
    assert_eq!(out.result, Ok(Value::str("alice")));
    let out = evaluate_sync(&program, &input(), Limits::POLICY, &NoHost);
    assert_eq!(
        out.result.expect_err("no store").kind,
        ErrorKind::Exception("HostError".into())
    );
}

#[test]
fn messages_logs_events_and_plan_context() {
    let out = policy(
        "ak_message(\"hi\")\nak_logger.info(\"seen\", user=request.user.username)\nprint(\"p\")\nak_create_event(\"custom\", foo=1)\ncontext[\"flow_plan\"].context[\"redirect\"] = \"/x\"\nreturn False",
    );
    assert_eq!(out.passing(), Ok(false));
    assert_eq!(out.messages, vec!["hi".to_string()]);
    assert_eq!(out.logs[0].level, "info");
    assert_eq!(out.logs[0].fields["user"], json!("alice"));
    assert_eq!(out.logs[1].level, "print");
    assert_eq!(out.events[0].action, "custom");
    let plan = out.plan_context.expect("plan context comes back");
    assert!(
        plan.iter()
            .any(|(k, v)| k == "redirect" && v == &Value::str("/x"))
    );
}

#[test]
fn truthiness_and_claims() {
    assert_eq!(policy("return None").passing(), Ok(false));
    assert_eq!(policy("return []").passing(), Ok(false));
    assert_eq!(policy("return \"x\"").passing(), Ok(true));
    assert_eq!(policy("return request.user").passing(), Ok(true));
    let program = compile(
        "return {\"email\": request.user.email, \"email_verified\": False}",
        &Signature::scope_mapping(),
    )
    .expect("compiles");
    let out = evaluate_sync(&program, &input(), Limits::MAPPING, &NoHost);
    assert_eq!(
        serde_json::Value::Object(out.claims().expect("claims")),
        json!({"email": "alice@example.org", "email_verified": false})
    );
}

#[test]
fn generator_bodies_collect_their_values() {
    assert_eq!(
        value("for group in request.user.ak_groups.all():\n    yield group.name"),
        Value::List(vec![Value::str("admins"), Value::str("users")])
    );
    assert_eq!(
        value("yield 1\nif True:\n    return\nyield 2"),
        Value::List(vec![Value::Int(1)])
    );
}

#[test]
fn errors_carry_their_line() {
    let out = policy("x = 1\nreturn {}[\"missing\"]");
    let err = out.result.expect_err("fails");
    assert_eq!(err.kind, ErrorKind::Exception("KeyError".into()));
    assert_eq!(err.line, Some(2));
    let err = refused("x = 1\nif x:\nreturn 2");
    assert_eq!(err.kind, ErrorKind::Syntax);
    assert_eq!(err.line, Some(3));
}

#[test]
fn compile_time_refusals() {
    for (src, line, needle) in [
        ("import os\nreturn 1", 1, "import of 'os'"),
        ("x = 1\nreturn open(\"/etc/passwd\").read()", 2, "open()"),
        ("return __import__(\"os\")", 1, "__import__"),
        ("return eval(\"1\")", 1, "eval()"),
        ("exec(\"x=1\")", 1, "exec()"),
        (
            "return ().__class__.__base__.__subclasses__()",
            1,
            "interpreter internal",
        ),
        ("return request.user.__dict__", 1, "__dict__"),
        ("return getattr(request, \"__class__\")", 1, "__class__"),
        ("return \"{0.__class__}\".format(request)", 1, "format"),
        ("return __builtins__", 1, "__builtins__"),
        ("return globals()", 1, "globals()"),
        ("return requests.get(\"http://x\")", 1, "network"),
        (
            "return ak_send_email(\"a@b\", \"s\", body=\"b\")",
            1,
            "email",
        ),
        ("return undefined_name", 1, "not defined"),
        ("del request.context[\"x\"]\nreturn 1", 1, "del"),
        (
            "from authentik.core.models import Group\nreturn 1",
            1,
            "Group",
        ),
        ("return _ak_plan", 1, "internals"),
        ("x = [(yield 1)]", 1, "yield"),
    ] {
        let err = refused(src);
        assert!(err.is_compile_error(), "{src}: {err}");
        assert_eq!(err.line, Some(line), "{src}: {err}");
        assert!(err.message.contains(needle), "{src}: {err}");
    }
    assert!(check("return request.user.username").is_ok());
}

#[test]
fn limits_fail_closed_and_say_which() {
    let short = Limits {
        cpu_time: Duration::from_millis(50),
        deadline: Duration::from_millis(200),
        ..Limits::POLICY
    };
    let run = |src: &str, limits: Limits| {
        let program = compile(src, &Signature::policy()).expect("compiles");
        evaluate_sync(&program, &input(), limits, &Store)
            .result
            .expect_err("fails")
    };
    assert_eq!(
        run("while True:\n    pass", short).limit_kind(),
        Some(LimitKind::Time)
    );
    let wall = Limits {
        deadline: Duration::from_millis(30),
        ..short
    };
    assert_eq!(
        run("while True:\n    pass", wall).limit_kind(),
        Some(LimitKind::Deadline)
    );
    // Growing a list hits the memory budget long before this CPU budget, even on a busy box.
    let roomy = Limits {
        cpu_time: Duration::from_secs(5),
        deadline: Duration::from_secs(10),
        ..short
    };
    assert_eq!(
        run("return len([0] * 10**9)", short).limit_kind(),
        Some(LimitKind::Memory)
    );
    assert_eq!(
        run("return len(list(range(10**9)))", roomy).limit_kind(),
        Some(LimitKind::Memory)
    );
    assert_eq!(
        run("return 2 ** (10 ** 9)", short).limit_kind(),
        Some(LimitKind::Memory)
    );
    assert_eq!(
        run("def f(n):\n    return f(n + 1)\nreturn f(0)", short).limit_kind(),
        Some(LimitKind::Recursion)
    );
    let many = Limits {
        host_calls: 3,
        ..short
    };
    assert_eq!(
        run("for i in range(10):\n    ak_user_by(username=\"x\")", many).limit_kind(),
        Some(LimitKind::HostCalls)
    );
}

#[test]
fn every_allowed_builtin_exists() {
    let missing: Vec<&str> = super::source::BUILTINS
        .iter()
        .copied()
        .filter(|name| {
            let out = policy(&format!("return {name}"));
            matches!(&out.result, Err(e) if e.kind == ErrorKind::Exception("NameError".into()))
        })
        .collect();
    assert_eq!(missing, Vec::<&str>::new());
}

#[test]
fn programs_and_evaluations_cross_threads() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let program = compile(
        "return ak_user_by(username=\"alice\")",
        &Signature::policy(),
    )
    .expect("compiles");
    send_sync(&program);
    let input = input();
    let future = evaluate(&program, &input, Limits::POLICY, &Store);
    send(&future);
    drop(future);
    let shared = program.clone();
    let handle = std::thread::spawn(move || {
        evaluate_sync(&shared, &Input::default(), Limits::POLICY, &Store)
            .result
            .is_ok()
    });
    assert_eq!(handle.join().ok(), Some(true));
}

#[test]
fn prompt_and_scope_signatures() {
    let program = compile(
        "return user.username + \"/\" + prompt_context.get(\"x\", \"-\")",
        &Signature::prompt(),
    )
    .expect("compiles");
    let mut i = input();
    i.vars.push((
        "prompt_context".into(),
        Value::dict([("x", Value::str("y"))]),
    ));
    assert_eq!(
        evaluate_sync(&program, &i, Limits::MAPPING, &NoHost).result,
        Ok(Value::str("alice/y"))
    );
    let program = compile(
        "return {\"aud\": provider.client_id, \"sid\": token.session_id}",
        &Signature::scope_mapping(),
    )
    .expect("compiles");
    let mut i = input();
    i.vars.push((
        "provider".into(),
        Value::Object(Object::plain(
            "OAuth2Provider",
            vec![("client_id".into(), Value::str("c1"))],
        )),
    ));
    i.vars.push((
        "token".into(),
        Value::Object(Object::plain(
            "AccessToken",
            vec![("session_id".into(), Value::str("s1"))],
        )),
    ));
    let claims = evaluate_sync(&program, &i, Limits::MAPPING, &NoHost)
        .claims()
        .expect("claims");
    assert_eq!(
        serde_json::Value::Object(claims),
        json!({"aud": "c1", "sid": "s1"})
    );
    // `context` is a policy's variable, not a scope mapping's.
    assert!(compile("return context", &Signature::scope_mapping()).is_err());
}

#[test]
fn datetime_uses_the_callers_clock() {
    assert_eq!(
        value("import datetime\nreturn datetime.datetime.now().year"),
        Value::Int(2023)
    );
    assert_eq!(
        value("from datetime import timedelta\nreturn str(timedelta(hours=1))"),
        Value::str("1:00:00")
    );
    assert_eq!(
        value("import json\nreturn json.loads('{\"a\": [1]}')[\"a\"]"),
        Value::List(vec![Value::Int(1)])
    );
    assert_eq!(
        value("import re\nreturn bool(re.match(r\"^a\", \"abc\"))"),
        Value::Bool(true)
    );
}

#[test]
fn deep_nesting_is_refused_or_bounded() {
    let deep = format!("return {}1{}", "(".repeat(5000), ")".repeat(5000));
    let compiled = compile(&deep, &Signature::policy());
    if let Ok(p) = compiled {
        let out = evaluate_sync(&p, &input(), Limits::POLICY, &NoHost);
        assert!(out.result.is_ok() || out.result.is_err());
    }
    // A value nested 100000 deep crosses the boundary without exhausting the native stack.
    let out = policy("x = []\nfor i in range(100000):\n    x = [x]\nreturn x");
    if let Ok(v) = &out.result {
        let mut depth = 0;
        let mut json = v.to_json();
        while let serde_json::Value::Array(mut a) = json {
            depth += 1;
            json = a.pop().unwrap_or_default();
        }
        assert!(depth <= 100_001);
    }
}

#[test]
fn the_cache_compiles_once_per_text_and_signature() {
    let cache = Cache::default();
    let a = cache
        .program("return 1", &Signature::policy())
        .expect("compiles");
    let b = cache
        .program("return 1", &Signature::policy())
        .expect("compiles");
    assert_eq!(a.wrapped_source(), b.wrapped_source());
    assert!(
        cache
            .program("return context", &Signature::scope_mapping())
            .is_err()
    );
    assert!(
        cache
            .program("return context", &Signature::policy())
            .is_ok()
    );
}

#[test]
fn plan_context_writes_come_back_as_changes() {
    // Setting a user as the pending user, as authentik's initial-setup flow does.
    let out = policy(
        "akadmin = ak_user_by(username=\"alice\")\ncontext[\"flow_plan\"].context[\"pending_user\"] = akadmin\nreturn True",
    );
    assert_eq!(out.passing(), Ok(true));
    assert_eq!(out.plan_changes.len(), 1, "{:?}", out.plan_changes);
    let change = &out.plan_changes[0];
    assert_eq!(change.key, "pending_user");
    let Some(Value::Object(user)) = &change.value else {
        panic!("a user object: {change:?}");
    };
    assert_eq!(user.user().map(|u| u.pk.as_str()), Some("u-1"));
    // Removing and changing keys; untouched keys are not reported.
    let out = policy(
        "ctx = context[\"flow_plan\"].context\nctx.pop(\"prompt_data\")\nctx[\"k\"] = [1]\nreturn True",
    );
    let keys: Vec<(&str, bool)> = out
        .plan_changes
        .iter()
        .map(|c| (c.key.as_str(), c.value.is_some()))
        .collect();
    assert_eq!(keys, [("k", true), ("prompt_data", false)]);
    // Reading is no change; a failed evaluation reports none.
    assert!(
        policy("x = context[\"flow_plan\"].context.get(\"prompt_data\")\nreturn True")
            .plan_changes
            .is_empty()
    );
    assert!(
        policy("context[\"flow_plan\"].context[\"k\"] = 1\nreturn 1 / 0")
            .plan_changes
            .is_empty()
    );
}

#[test]
fn authentiks_run_once_policy_compiles_to_its_native_effect() {
    // The code of authentik's initial-setup "set authentication" policy (as the bundled
    // flow-oobe.yaml carries it), reformatted: whitespace and comments do not matter.
    let run_once = "# closes the setup flow\nfrom authentik.flows.models import Flow, FlowAuthenticationRequirement\nFlow.objects.filter(slug=\"initial-setup\").update(\n    authentication=FlowAuthenticationRequirement.REQUIRE_SUPERUSER,\n)\nreturn True\n";
    let out = policy(run_once);
    assert_eq!(out.passing(), Ok(true));
    assert_eq!(
        out.effects,
        [Effect::SetFlowAuthentication {
            flow_slug: "initial-setup".into(),
            authentication: crate::domain::FlowAuthentication::RequireSuperuser,
        }]
    );
    assert_eq!(check(run_once), Ok(()));
    // Any edit makes it an ordinary expression, refused for its import.
    let edited = run_once.replace("initial-setup", "default-authentication-flow");
    let err = check(&edited).expect_err("refused");
    assert!(err.message.contains("authentik.flows.models"), "{err}");
    assert!(policy("return True").effects.is_empty());
}
