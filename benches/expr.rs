//! The Python expression engine (src/expr/python): compile time, and one evaluation of a
//! compiled policy and of a compiled scope mapping (the token endpoint's custom-mapping case),
//! against the rhai engine it replaces for scale.
//!
//! Run: `cargo bench --bench expr` (arg: ITERATIONS, default 20000). Prints a Markdown table for
//! docs/BENCHMARKS.md.

use std::hint::black_box;
use std::time::{Duration, Instant};

use latchkey::expr::{self, python};
use python::{GroupFacts, Input, Limits, NoHost, RequestFacts, Signature, UserFacts, Value};
use serde_json::json;

const POLICY: &str = "if \"my-admin-scope\" in request.context[\"oauth_scopes\"]:\n    return ak_is_group_member(request.user, name=\"my-admin-group\")\nreturn True\n";

const PROFILE: &str = "return {\n    \"name\": request.user.name,\n    \"given_name\": request.user.name,\n    \"preferred_username\": request.user.username,\n    \"nickname\": request.user.username,\n    \"groups\": [group.name for group in request.user.ak_groups.all()],\n}\n";

const IP_POLICY: &str = "return ak_client_ip in ip_network(\"10.0.0.0/8\")\n";

const RHAI_POLICY: &str = "ak_is_group_member(request.user, \"my-admin-group\")";

fn arg(default: u32) -> u32 {
    std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .find_map(|a| a.parse().ok())
        .unwrap_or(default)
}

fn input() -> Input {
    let group = |name: &str| GroupFacts {
        pk: format!("g-{name}"),
        name: name.into(),
        attributes: json!({}),
        ..GroupFacts::default()
    };
    Input {
        request: RequestFacts {
            user: UserFacts {
                pk: "u-1".into(),
                username: "alice".into(),
                name: "Alice Liddell".into(),
                email: "alice@example.org".into(),
                is_active: true,
                attributes: json!({"locale": "de"}),
                groups: vec![group("my-admin-group"), group("users"), group("staff")],
                ..UserFacts::default()
            },
            http: Some(python::HttpFacts {
                client_ip: Some([10, 1, 2, 3].into()),
                base_url: "https://id.example.org".into(),
                ..python::HttpFacts::default()
            }),
            context: vec![(
                "oauth_scopes".into(),
                Value::List(vec![Value::str("openid"), Value::str("my-admin-scope")]),
            )],
            ..RequestFacts::default()
        },
        now: 1_700_000_000,
        ..Input::default()
    }
}

/// Mean time of `f` over `n` runs (after 1/10 of them as warm-up).
fn time<F: FnMut()>(n: u32, mut f: F) -> Duration {
    for _ in 0..n / 10 {
        f();
    }
    let started = Instant::now();
    for _ in 0..n {
        f();
    }
    started.elapsed() / n
}

fn us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

fn main() {
    let n = arg(20_000);
    let input = input();
    let compile = |src: &str, sig: &Signature| python::compile(src, sig).expect("compiles");
    let policy = compile(POLICY, &Signature::policy());
    let profile = compile(PROFILE, &Signature::scope_mapping());
    let ip = compile(IP_POLICY, &Signature::policy());
    let trivial = compile("return True", &Signature::policy());
    let check = python::evaluate_sync(&policy, &input, Limits::POLICY, &NoHost);
    assert_eq!(check.passing(), Ok(true));
    let claims = python::evaluate_sync(&profile, &input, Limits::MAPPING, &NoHost).claims();
    assert_eq!(claims.map(|c| c.len()), Ok(5));

    let rows = [
        (
            "compile: policy (Python)",
            time(n / 4, || {
                black_box(compile(POLICY, &Signature::policy()));
            }),
        ),
        (
            "compile: profile scope mapping (Python)",
            time(n / 4, || {
                black_box(compile(PROFILE, &Signature::scope_mapping()));
            }),
        ),
        (
            "evaluate: policy, compiled (Python)",
            time(n, || {
                black_box(python::evaluate_sync(
                    &policy,
                    &input,
                    Limits::POLICY,
                    &NoHost,
                ));
            }),
        ),
        (
            "evaluate: `return True`, compiled (Python: the fixed cost of an evaluation)",
            time(n, || {
                black_box(python::evaluate_sync(
                    &trivial,
                    &input,
                    Limits::POLICY,
                    &NoHost,
                ));
            }),
        ),
        (
            "evaluate: profile scope mapping, compiled (Python)",
            time(n, || {
                black_box(python::evaluate_sync(
                    &profile,
                    &input,
                    Limits::MAPPING,
                    &NoHost,
                ));
            }),
        ),
        (
            "evaluate: ip_network policy, compiled (Python, with the ipaddress prelude)",
            time(n / 4, || {
                black_box(python::evaluate_sync(&ip, &input, Limits::POLICY, &NoHost));
            }),
        ),
        (
            "compile + evaluate: policy (Python)",
            time(n / 4, || {
                let p = compile(POLICY, &Signature::policy());
                black_box(python::evaluate_sync(&p, &input, Limits::POLICY, &NoHost));
            }),
        ),
        ("evaluate: policy, compile included (rhai, for scale)", {
            let request = json!({"user": {"groups": ["my-admin-group"]}, "context": {}});
            time(n / 4, || {
                black_box(
                    expr::evaluate_bool(RHAI_POLICY, &request, expr::Limits::default()).is_ok(),
                );
            })
        }),
    ];
    println!("| expression engine ({n} iterations) | µs per call |");
    println!("|---|---|");
    for (name, d) in rows {
        println!("| {name} | {} |", us(d));
    }
}
