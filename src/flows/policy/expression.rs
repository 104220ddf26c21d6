//! Expression policies: a sandboxed rhai script returning a boolean.

use std::time::Duration;

use super::{PolicyError, PolicyRequest, setting_str};
use crate::domain::Policy;
use crate::expr::{self, Limits};

/// Runs the script on a blocking thread with a wall-clock deadline no longer than the timeout.
pub async fn passes(
    policy: &Policy,
    req: &PolicyRequest,
    timeout: Duration,
) -> Result<(bool, Vec<String>), PolicyError> {
    let source = setting_str(policy, "expression")
        .ok_or_else(|| PolicyError::Settings("no expression".into()))?
        .to_string();
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
