//! A token bucket per key (client IP, session id, a token's digest), so guessable things such
//! as user codes cannot be brute-forced. The buckets live in the store
//! ([`crate::store::throttle_buckets`]), so every instance on one database spends one budget:
//! spreading guesses over several instances behind a load balancer gains nothing. Time comes
//! from the context's injected clock.

use crate::context::Context;
use crate::store::StoreError;
use crate::store::throttle_buckets::{self, Rate, Take};

/// Why a try was not granted.
#[derive(Debug, thiserror::Error)]
pub enum ThrottleError {
    /// A bucket is empty: try again in this many seconds (answered 429 with `Retry-After`).
    #[error("throttled; retry in {retry_after} seconds")]
    Throttled { retry_after: u64 },
    /// The store could not be asked (busy or failing): the caller answers its own server error
    /// rather than let the request through unthrottled.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A token bucket per key: `capacity` tries, refilled at `capacity` per `period` seconds.
/// Keys are stored under the throttle's namespace (`device_auth:ip:1.2.3.4`), so throttles with
/// different limits never share a bucket.
#[derive(Debug, Clone)]
pub struct Throttle {
    namespace: &'static str,
    rate: Rate,
}

impl Throttle {
    /// A throttle named `namespace` allowing `capacity` tries per `period_seconds` per key.
    pub fn new(namespace: &'static str, capacity: u32, period_seconds: u32) -> Self {
        Self {
            namespace,
            rate: Rate::new(capacity, period_seconds),
        }
    }

    /// Takes one try from every key's bucket at once (in one write transaction), or none when
    /// any is empty; `Throttled` carries the seconds until a try is available again.
    pub async fn try_acquire(&self, ctx: &Context, keys: &[String]) -> Result<(), ThrottleError> {
        let keys: Vec<String> = keys
            .iter()
            .map(|k| format!("{}:{k}", self.namespace))
            .collect();
        let mut tx = ctx.store().write_tx().await?;
        match throttle_buckets::take(tx.conn(), &keys, self.rate, ctx.now()).await? {
            Take::Taken => {
                tx.commit().await?;
                Ok(())
            }
            // Nothing was written: the transaction rolls back as it drops.
            Take::Exhausted { retry_after } => Err(ThrottleError::Throttled { retry_after }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::context::{Config, ManualClock};
    use crate::store::{Store, StoreLocation};

    async fn context(clock: Arc<ManualClock>) -> Context {
        let store = Store::open(&StoreLocation::Memory).await.expect("open");
        Context::new(store, Config::new("http://latchkey.test"), clock)
    }

    fn retry_after(result: Result<(), ThrottleError>) -> Option<u64> {
        match result {
            Ok(()) => None,
            Err(ThrottleError::Throttled { retry_after }) => Some(retry_after),
            Err(other) => panic!("store failed: {other}"),
        }
    }

    #[tokio::test]
    async fn bucket_empties_and_refills() {
        let clock = Arc::new(ManualClock::new(100));
        let ctx = context(clock.clone()).await;
        let t = Throttle::new("test", 3, 60);
        let k = vec!["ip:1".to_string()];
        for _ in 0..3 {
            assert_eq!(retry_after(t.try_acquire(&ctx, &k).await), None);
        }
        assert_eq!(retry_after(t.try_acquire(&ctx, &k).await), Some(20));
        let other = ["ip:2".to_string()];
        assert_eq!(retry_after(t.try_acquire(&ctx, &other).await), None);
        clock.advance(20);
        assert_eq!(retry_after(t.try_acquire(&ctx, &k).await), None);
        assert!(retry_after(t.try_acquire(&ctx, &k).await).is_some());
    }

    #[tokio::test]
    async fn throttles_in_different_namespaces_keep_their_own_buckets() {
        let ctx = context(Arc::new(ManualClock::new(100))).await;
        let device = Throttle::new("device_auth", 1, 60);
        let codes = Throttle::new("device_code", 1, 60);
        let k = vec!["ip:1".to_string()];
        assert_eq!(retry_after(device.try_acquire(&ctx, &k).await), None);
        assert_eq!(retry_after(codes.try_acquire(&ctx, &k).await), None);
        assert_eq!(retry_after(device.try_acquire(&ctx, &k).await), Some(60));
        let mut conn = ctx.store().read().await.expect("conn");
        let stored = throttle_buckets::stored_tokens(&mut conn, "device_auth:ip:1")
            .await
            .expect("read");
        assert_eq!(stored, Some(0), "the bucket is stored under its namespace");
    }
}
