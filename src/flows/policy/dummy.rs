//! Dummy policies: a fixed result after a wait (for testing bindings and timeouts).

use std::time::Duration;

use super::PolicyError;
use crate::domain::DummySettings;

/// Waits `wait_min` seconds (bounded to 60) and returns `result`.
pub async fn passes(s: &DummySettings) -> Result<(bool, Vec<String>), PolicyError> {
    let wait = s.wait_min.clamp(0, 60) as u64;
    if wait > 0 {
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
    Ok((s.result, Vec::new()))
}
