//! Expression policies: a sandboxed rhai script returning a boolean.

use std::time::Duration;

use super::{PolicyError, PolicyRequest};
use crate::domain::ExpressionSettings;
use crate::expr::{self, Limits};

/// Runs the script on a blocking thread with a wall-clock deadline no longer than the timeout.
pub async fn passes(
    s: &ExpressionSettings,
    req: &PolicyRequest,
    timeout: Duration,
) -> Result<(bool, Vec<String>), PolicyError> {
    if s.expression.is_empty() {
        return Err(PolicyError::Settings("no expression".into()));
    }
    let source = s.expression.clone();
    let request = req.to_expr_value();
    let limits = Limits {
        deadline: timeout.min(Limits::default().deadline),
        ..Limits::default()
    };
    tokio::task::spawn_blocking(move || expr::evaluate_bool(&source, &request, limits))
        .await
        .map_err(|e| PolicyError::Settings(format!("expression task failed: {e}")))?
        .map_err(PolicyError::from)
}
