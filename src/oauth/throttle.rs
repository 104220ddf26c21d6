//! An in-memory token bucket per key (client IP, session id), so guessable things such as user
//! codes cannot be brute-forced. Time comes from the caller (the service's injected clock).

use std::collections::HashMap;
use std::sync::Mutex;

/// Entries kept before full, idle buckets are pruned.
const PRUNE_AT: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: i64,
}

/// A token bucket per key: `capacity` tries, refilled at `capacity` per `period` seconds.
#[derive(Debug)]
pub struct Throttle {
    capacity: f64,
    per_second: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Throttle {
    /// A throttle allowing `capacity` tries per `period_seconds` per key.
    pub fn new(capacity: u32, period_seconds: u32) -> Self {
        Self {
            capacity: f64::from(capacity.max(1)),
            per_second: f64::from(capacity.max(1)) / f64::from(period_seconds.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one try from every key's bucket at once, or none when any is empty; `Err` carries
    /// the seconds until a try is available again.
    pub fn try_acquire(&self, keys: &[String], now: i64) -> Result<(), u64> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > PRUNE_AT {
            let (cap, rate) = (self.capacity, self.per_second);
            buckets.retain(|_, b| b.tokens + (now - b.updated) as f64 * rate < cap);
        }
        let mut refreshed = Vec::with_capacity(keys.len());
        for key in keys {
            let b = buckets.get(key).copied().unwrap_or(Bucket {
                tokens: self.capacity,
                updated: now,
            });
            let elapsed = (now - b.updated).max(0) as f64;
            let tokens = (b.tokens + elapsed * self.per_second).min(self.capacity);
            if tokens < 1.0 {
                return Err(((1.0 - tokens) / self.per_second).ceil() as u64);
            }
            refreshed.push((key.clone(), tokens));
        }
        for (key, tokens) in refreshed {
            buckets.insert(
                key,
                Bucket {
                    tokens: tokens - 1.0,
                    updated: now,
                },
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_empties_and_refills() {
        let t = Throttle::new(3, 60);
        let k = vec!["ip:1".to_string()];
        for _ in 0..3 {
            assert!(t.try_acquire(&k, 100).is_ok());
        }
        assert_eq!(t.try_acquire(&k, 100), Err(20));
        assert!(t.try_acquire(&["ip:2".to_string()], 100).is_ok());
        assert!(t.try_acquire(&k, 120).is_ok());
        assert!(t.try_acquire(&k, 120).is_err());
    }
}
