//! Scope mappings evaluated by the sandboxed expression engine, with tight limits: they run on
//! the token endpoint's path.

use std::time::Duration;

use serde_json::Value;

use super::claims::ScopeEvaluator;
use crate::domain::ScopeMapping;
use crate::expr::{self, Limits};

/// The production evaluator: each mapping's expression must return an object of claims.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExpressionScopes;

const LIMITS: Limits = Limits {
    max_operations: 100_000,
    deadline: Duration::from_millis(250),
};

impl ScopeEvaluator for ExpressionScopes {
    fn evaluate(&self, mapping: &ScopeMapping, request: &Value) -> Result<Value, String> {
        if mapping.expression.trim().is_empty() {
            return Ok(Value::Object(Default::default()));
        }
        expr::evaluate(&mapping.expression, request, LIMITS)
            .map(|o| o.value)
            .map_err(|e| e.to_string())
    }
}
