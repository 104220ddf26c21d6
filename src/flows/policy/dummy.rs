//! Dummy policies: a fixed result after a random wait, for testing bindings and timeouts
//! (authentik's `DummyPolicy`).

use std::time::Duration;

use rand::Rng;

use super::PolicyError;
use crate::domain::DummySettings;

/// The longest wait latchkey makes (a binding's timeout is at most this long too).
const MAX_WAIT_SECONDS: i64 = 300;

/// The seconds to wait: uniformly in `[wait_min, wait_max]` (authentik draws from the range
/// too), bounded to [0, 300]; `wait_max` below `wait_min` (refused at save) waits `wait_min`.
pub fn wait_seconds(s: &DummySettings, rng: &mut impl Rng) -> u64 {
    let low = s.wait_min.clamp(0, MAX_WAIT_SECONDS);
    let high = s.wait_max.clamp(low, MAX_WAIT_SECONDS);
    rng.random_range(low..=high) as u64
}

/// Waits a random time in `[wait_min, wait_max]` seconds and returns `result`.
pub async fn passes(s: &DummySettings) -> Result<(bool, Vec<String>), PolicyError> {
    let wait = wait_seconds(s, &mut rand::rng());
    if wait > 0 {
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
    Ok((s.result, Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dummy(wait_min: i64, wait_max: i64) -> DummySettings {
        DummySettings {
            result: true,
            wait_min,
            wait_max,
        }
    }

    #[test]
    fn waits_are_drawn_from_wait_min_to_wait_max() {
        let mut rng = rand::rng();
        let draws: Vec<u64> = (0..200)
            .map(|_| wait_seconds(&dummy(0, 1), &mut rng))
            .collect();
        assert!(draws.iter().all(|w| *w <= 1));
        assert!(draws.contains(&0) && draws.contains(&1), "{draws:?}");
        assert_eq!(wait_seconds(&dummy(2, 2), &mut rng), 2);
        assert_eq!(wait_seconds(&dummy(3, 1), &mut rng), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn the_policy_sleeps_the_drawn_time() {
        let start = tokio::time::Instant::now();
        let (passing, _) = passes(&dummy(1, 1)).await.expect("dummy");
        assert!(passing);
        assert_eq!(start.elapsed().as_secs(), 1);
    }
}
