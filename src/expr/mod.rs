//! Sandboxed expressions. [`python`] is authentik's Python expression engine (the one
//! policies, scope mappings and prompts move to); the rhai functions below are what the
//! callers still use until they are rewired. Every engine is bounded in operations, call depth,
//! sizes and wall-clock time, so an admin-written script can neither loop forever nor exhaust
//! memory.

pub mod python;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rhai::{Dynamic, Engine, Map, Scope};
use serde_json::Value;

/// Why an expression did not produce a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    /// The script does not parse.
    #[error("expression does not compile: {0}")]
    Compile(String),
    /// The script failed while running (including hitting a limit or the deadline).
    #[error("expression failed: {0}")]
    Runtime(String),
    /// The script returned something of the wrong type.
    #[error("expression returned {0}, expected a boolean")]
    NotBool(String),
}

/// Limits applied to every evaluation.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum number of operations.
    pub max_operations: u64,
    /// Wall-clock budget.
    pub deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_operations: 1_000_000,
            deadline: Duration::from_secs(2),
        }
    }
}

/// What an evaluation returned, plus the messages it emitted with `ak_message`.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The script's value, as JSON.
    pub value: Value,
    /// Messages for the user.
    pub messages: Vec<String>,
}

/// rhai's standard library, built once: `Engine::new` rebuilds it for every engine, which
/// dominated a scope mapping's cost on the token endpoint.
static STANDARD: std::sync::LazyLock<rhai::Shared<rhai::Module>> = std::sync::LazyLock::new(|| {
    use rhai::packages::Package;
    rhai::packages::StandardPackage::new().as_shared_module()
});

fn engine(limits: Limits, messages: Arc<Mutex<Vec<String>>>) -> Engine {
    let mut engine = Engine::new_raw();
    engine.register_global_module(STANDARD.clone());
    engine.set_max_operations(limits.max_operations);
    engine.set_max_call_levels(32);
    engine.set_max_expr_depths(64, 32);
    engine.set_max_string_size(64 * 1024);
    engine.set_max_array_size(10_000);
    engine.set_max_map_size(10_000);
    engine.set_max_modules(0);
    let started = Instant::now();
    let deadline = limits.deadline;
    engine.on_progress(move |_| {
        if started.elapsed() > deadline {
            Some(Dynamic::from("deadline exceeded"))
        } else {
            None
        }
    });
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
    engine.register_fn("ak_message", move |text: &str| {
        if let Ok(mut m) = messages.lock()
            && m.len() < 32
        {
            m.push(text.chars().take(1000).collect());
        }
    });
    engine.register_fn("ak_is_group_member", |user: Map, name: &str| -> bool {
        user.get("groups")
            .and_then(|g| g.clone().into_typed_array::<String>().ok())
            .is_some_and(|groups| groups.iter().any(|g| g == name))
    });
    engine.register_fn("ak_user_has_authenticator", |user: Map| -> bool {
        user.get("authenticators")
            .and_then(|v| v.as_int().ok())
            .is_some_and(|n| n > 0)
    });
    engine
}

/// A compiled expression, reusable across evaluations: the token endpoint evaluates scope
/// mappings on every request and must not re-parse them.
#[derive(Clone)]
pub struct Program(Arc<rhai::AST>);

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Program")
    }
}

/// Parses `source` once (with the same nesting limits evaluation applies).
pub fn compile(source: &str) -> Result<Program, ExprError> {
    let engine = engine(Limits::default(), Arc::new(Mutex::new(Vec::new())));
    engine
        .compile(source)
        .map(|ast| Program(Arc::new(ast)))
        .map_err(|e| ExprError::Compile(e.to_string()))
}

/// Runs a compiled program with `request` bound as a map (`request.user`, `request.context`, …).
/// Blocking: call it from `spawn_blocking` when the script may be slow.
pub fn run(program: &Program, request: &Value, limits: Limits) -> Result<Outcome, ExprError> {
    let messages = Arc::new(Mutex::new(Vec::new()));
    let engine = engine(limits, messages.clone());
    let mut scope = Scope::new();
    let request: Dynamic =
        rhai::serde::to_dynamic(request).map_err(|e| ExprError::Runtime(e.to_string()))?;
    scope.push_constant("request", request);
    let result: Dynamic = engine
        .eval_ast_with_scope(&mut scope, &program.0)
        .map_err(|e| ExprError::Runtime(e.to_string()))?;
    let value: Value =
        rhai::serde::from_dynamic(&result).map_err(|e| ExprError::Runtime(e.to_string()))?;
    let messages = messages.lock().map(|m| m.clone()).unwrap_or_default();
    Ok(Outcome { value, messages })
}

/// Compiles and runs `source` (policies, which are evaluated far less often than scopes).
pub fn evaluate(source: &str, request: &Value, limits: Limits) -> Result<Outcome, ExprError> {
    run(&compile(source)?, request, limits)
}

/// Runs a policy expression: it must return a boolean.
pub fn evaluate_bool(
    source: &str,
    request: &Value,
    limits: Limits,
) -> Result<(bool, Vec<String>), ExprError> {
    let out = evaluate(source, request, limits)?;
    match out.value {
        Value::Bool(b) => Ok((b, out.messages)),
        other => Err(ExprError::NotBool(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn helpers_and_limits() {
        let req = json!({"user": {"username": "a", "groups": ["g1"], "authenticators": 1}, "context": {}});
        let l = Limits::default();
        assert_eq!(
            evaluate_bool("ak_is_group_member(request.user, \"g1\")", &req, l),
            Ok((true, vec![]))
        );
        assert_eq!(
            evaluate_bool("ak_message(\"hi\"); false", &req, l),
            Ok((false, vec!["hi".into()]))
        );
        assert!(
            evaluate_bool("ak_user_has_authenticator(request.user)", &req, l).is_ok_and(|r| r.0)
        );
        assert!(matches!(
            evaluate_bool("loop {}", &req, l),
            Err(ExprError::Runtime(_))
        ));
        let short = Limits {
            max_operations: u64::MAX,
            deadline: Duration::from_millis(50),
        };
        assert!(matches!(
            evaluate_bool("loop {}", &req, short),
            Err(ExprError::Runtime(_))
        ));
        assert!(matches!(
            evaluate_bool("1", &req, l),
            Err(ExprError::NotBool(_))
        ));
        assert!(matches!(
            evaluate_bool("(", &req, l),
            Err(ExprError::Compile(_))
        ));
        assert!(matches!(
            evaluate_bool("let s = \"a\"; loop { s += s; }", &req, short),
            Err(ExprError::Runtime(_))
        ));
    }
}
