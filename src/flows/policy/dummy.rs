//! Dummy policies: a fixed result after a wait (for testing bindings and timeouts).

use std::time::Duration;

use super::{PolicyError, setting_bool, setting_i64};
use crate::domain::Policy;

/// Waits `wait_min` seconds (bounded to 60) and returns `result`.
pub async fn passes(policy: &Policy) -> Result<(bool, Vec<String>), PolicyError> {
    let wait = setting_i64(policy, "wait_min", 0).clamp(0, 60) as u64;
    if wait > 0 {
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
    Ok((setting_bool(policy, "result", false), Vec::new()))
}
