//! Scope mappings evaluated by the sandboxed expression engine, with tight limits: they run on
//! the token endpoint's path.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use super::claims::ScopeEvaluator;
use crate::domain::ScopeMapping;
use crate::expr::{self, Limits, Program};

/// The production evaluator: each mapping's expression must return an object of claims.
/// Compiled programs are cached by source text, so the token endpoint parses each mapping once.
#[derive(Debug, Default)]
pub struct ExpressionScopes {
    cache: Mutex<HashMap<String, Program>>,
}

/// Beyond this many distinct expressions the cache starts over (admins edit, old texts linger).
const CACHE_LIMIT: usize = 1024;

impl ExpressionScopes {
    fn program(&self, source: &str) -> Result<Program, String> {
        if let Some(p) = self.cache.lock().ok().and_then(|c| c.get(source).cloned()) {
            return Ok(p);
        }
        let program = expr::compile(source).map_err(|e| e.to_string())?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(source.to_string(), program.clone());
        }
        Ok(program)
    }
}

const LIMITS: Limits = Limits {
    max_operations: 100_000,
    deadline: Duration::from_millis(250),
};

impl ScopeEvaluator for ExpressionScopes {
    fn evaluate(&self, mapping: &ScopeMapping, request: &Value) -> Result<Value, String> {
        if mapping.expression.trim().is_empty() {
            return Ok(Value::Object(Default::default()));
        }
        let program = self.program(&mapping.expression)?;
        expr::run(&program, request, LIMITS)
            .map(|o| o.value)
            .map_err(|e| e.to_string())
    }
}
