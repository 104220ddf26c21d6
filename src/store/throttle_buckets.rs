//! The request throttles' token buckets (table `throttle_buckets`, migration 0032), so that
//! every instance on the store spends one budget per key: a guess made at one instance costs
//! the same at all of them. A bucket holds integers (thousandths of a try and the unix second
//! of its last take; the refill since is computed at the next take), and a missing row is a
//! full bucket. A refused take writes nothing, so refusals do not move the refill's schedule
//! and the `retry_after` it answers holds.
//!
//! [`take`] reads the buckets and then writes them in the caller's write transaction: writers
//! are serialized across processes (SQLite's `BEGIN IMMEDIATE`, PostgreSQL's advisory writer
//! lock in `Store::write_tx`), so no other instance takes in between, and its takes from
//! several keys are all or none.

use super::{Conn, StoreResult};

/// One try, in the units a bucket is stored in.
pub const TRY: i64 = 1000;

/// The size and refill of one throttle's buckets: `capacity` tries, refilled at `capacity`
/// per `period` seconds (an empty bucket is full again after `period`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    capacity: i64,
    period: i64,
}

impl Rate {
    /// `capacity` tries per `period` seconds; each at least 1.
    pub fn new(capacity: u32, period: u32) -> Self {
        Self {
            capacity: i64::from(capacity.max(1)),
            period: i64::from(period.max(1)),
        }
    }

    /// A full bucket, in thousandths of a try.
    fn full(self) -> i64 {
        self.capacity * TRY
    }
}

/// What [`take`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// One try was taken from every key's bucket.
    Taken,
    /// Some bucket had no whole try, so nothing was taken; one is available in `retry_after`
    /// seconds.
    Exhausted { retry_after: u64 },
}

/// A bucket as stored: what was left at its last take, and when that was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Bucket {
    /// Thousandths of a try.
    pub tokens: i64,
    /// Unix seconds of the last take.
    pub updated_at: i64,
}

impl Bucket {
    /// What the bucket holds at `now`: refilled at the rate since its last take, never past
    /// full, and never less than stored when `now` is before that take (another instance's
    /// clock ahead of this one). No row: a full bucket.
    pub fn refilled(stored: Option<Bucket>, rate: Rate, now: i64) -> i64 {
        let Some(b) = stored else {
            return rate.full();
        };
        let elapsed = now.saturating_sub(b.updated_at).clamp(0, rate.period);
        let refill = i128::from(elapsed) * i128::from(rate.full()) / i128::from(rate.period);
        let refill = i64::try_from(refill).unwrap_or(i64::MAX);
        b.tokens.saturating_add(refill).min(rate.full())
    }

    /// Seconds from `now` until this bucket holds a whole try: the first second at which the
    /// refill since its last take makes up what it lacked then (rounded up, at least 1).
    fn wait_for_try(self, rate: Rate, now: i64) -> u64 {
        let lacking = TRY.saturating_sub(self.tokens).max(0);
        let full = rate.full();
        let needed = lacking.saturating_mul(rate.period).saturating_add(full - 1) / full;
        let elapsed = now.saturating_sub(self.updated_at).max(0);
        u64::try_from(needed.saturating_sub(elapsed).max(1)).unwrap_or(1)
    }
}

/// Writes a key's bucket after a take: `$2` left, taken at `$3`, full again by `$4`.
const STORE_TAKE: &str = "\
    INSERT INTO throttle_buckets (key, tokens, updated_at, expires_at) VALUES ($1, $2, $3, $4) \
    ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, updated_at = excluded.updated_at, \
      expires_at = excluded.expires_at";

/// Takes one try from the bucket of every key in `keys` at `now` (unix seconds), or none when
/// any bucket has less than a try: then nothing is written and the answer is the seconds until
/// every one of them has a try again. Run it inside a write transaction: what it reads there
/// no other writer changes before it writes (see the module's note).
pub async fn take(conn: &mut Conn, keys: &[String], rate: Rate, now: i64) -> StoreResult<Take> {
    let mut after = Vec::with_capacity(keys.len());
    let mut wait = 0;
    for key in keys {
        let stored: Option<Bucket> =
            sqlx::query_as("SELECT tokens, updated_at FROM throttle_buckets WHERE key = $1")
                .bind(key)
                .fetch_optional(&mut *conn)
                .await?;
        let tokens = Bucket::refilled(stored, rate, now);
        if let Some(b) = stored.filter(|_| tokens < TRY) {
            wait = wait.max(b.wait_for_try(rate, now));
        }
        // Never move a bucket's time backwards (a clock behind another instance's).
        let at = stored.map_or(now, |b| b.updated_at.max(now));
        after.push((key, tokens.saturating_sub(TRY), at));
    }
    if wait > 0 {
        return Ok(Take::Exhausted { retry_after: wait });
    }
    for (key, tokens, at) in after {
        sqlx::query(STORE_TAKE)
            .bind(key)
            .bind(tokens)
            .bind(at)
            .bind(at.saturating_add(rate.period))
            .execute(&mut *conn)
            .await?;
    }
    Ok(Take::Taken)
}

/// What is left in `key`'s bucket as last stored (thousandths of a try), without the refill
/// since; `None` for a full bucket that was never taken from or was swept.
pub async fn stored_tokens(conn: &mut Conn, key: &str) -> StoreResult<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT tokens FROM throttle_buckets WHERE key = $1")
            .bind(key)
            .fetch_optional(conn)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreLocation};

    async fn store() -> Store {
        Store::open(&StoreLocation::Memory).await.expect("open")
    }

    async fn take_at(store: &Store, keys: &[&str], rate: Rate, now: i64) -> Take {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        let mut tx = store.write_tx().await.expect("tx");
        let took = take(tx.conn(), &keys, rate, now).await.expect("take");
        tx.commit().await.expect("commit");
        took
    }

    async fn stored(store: &Store, key: &str) -> Option<i64> {
        let mut conn = store.read().await.expect("conn");
        stored_tokens(&mut conn, key).await.expect("read")
    }

    #[tokio::test]
    async fn a_bucket_empties_says_when_to_retry_and_refills_at_its_rate() {
        let s = store().await;
        let rate = Rate::new(3, 60);
        for _ in 0..3 {
            assert_eq!(take_at(&s, &["ip:1"], rate, 100).await, Take::Taken);
        }
        // Three tries a minute: one every 20 s.
        assert_eq!(
            take_at(&s, &["ip:1"], rate, 100).await,
            Take::Exhausted { retry_after: 20 }
        );
        assert_eq!(
            take_at(&s, &["ip:1"], rate, 110).await,
            Take::Exhausted { retry_after: 10 },
            "half a try refilled"
        );
        assert_eq!(take_at(&s, &["ip:2"], rate, 110).await, Take::Taken);
        assert_eq!(take_at(&s, &["ip:1"], rate, 120).await, Take::Taken);
        assert_eq!(
            take_at(&s, &["ip:1"], rate, 120).await,
            Take::Exhausted { retry_after: 20 }
        );
    }

    #[tokio::test]
    async fn a_bucket_never_refills_past_full() {
        let s = store().await;
        let rate = Rate::new(2, 10);
        assert_eq!(take_at(&s, &["k"], rate, 0).await, Take::Taken);
        // An hour later: full (2 tries), not 360.
        for _ in 0..2 {
            assert_eq!(take_at(&s, &["k"], rate, 3600).await, Take::Taken);
        }
        assert_eq!(
            take_at(&s, &["k"], rate, 3600).await,
            Take::Exhausted { retry_after: 5 }
        );
    }

    #[tokio::test]
    async fn retry_after_is_always_enough_for_a_whole_try() {
        let s = store().await;
        // Ten tries a minute: 1/6 of a try per second, so a spent bucket waits 6 s, not 5.
        let rate = Rate::new(10, 60);
        for _ in 0..10 {
            assert_eq!(take_at(&s, &["k"], rate, 0).await, Take::Taken);
        }
        let Take::Exhausted { retry_after } = take_at(&s, &["k"], rate, 0).await else {
            panic!("the bucket is spent");
        };
        assert_eq!(retry_after, 6);
        assert_eq!(
            take_at(&s, &["k"], rate, 5).await,
            Take::Exhausted { retry_after: 1 }
        );
        assert_eq!(take_at(&s, &["k"], rate, 6).await, Take::Taken);
    }

    #[tokio::test]
    async fn takes_from_several_keys_are_all_or_none() {
        let s = store().await;
        let rate = Rate::new(2, 60);
        assert_eq!(
            take_at(&s, &["ip:1", "session:a"], rate, 0).await,
            Take::Taken
        );
        assert_eq!(take_at(&s, &["session:a"], rate, 0).await, Take::Taken);
        let before = stored(&s, "ip:1").await;
        assert_eq!(before, Some(1000), "one try left for the IP");
        // The session is spent: the IP's try is not taken either.
        assert_eq!(
            take_at(&s, &["ip:1", "session:a"], rate, 0).await,
            Take::Exhausted { retry_after: 30 }
        );
        assert_eq!(
            stored(&s, "ip:1").await,
            before,
            "nothing taken from the IP"
        );
        assert_eq!(
            stored(&s, "session:a").await,
            Some(0),
            "nor from the session"
        );
        assert_eq!(
            take_at(&s, &["ip:1", "session:b"], rate, 0).await,
            Take::Taken
        );
        assert_eq!(stored(&s, "ip:1").await, Some(0));
    }

    #[tokio::test]
    async fn a_clock_behind_the_last_take_refills_nothing() {
        let s = store().await;
        let rate = Rate::new(1, 60);
        assert_eq!(take_at(&s, &["k"], rate, 1000).await, Take::Taken);
        // Another instance whose clock is 30 s behind: no negative refill, a full wait.
        assert_eq!(
            take_at(&s, &["k"], rate, 970).await,
            Take::Exhausted { retry_after: 60 }
        );
        assert_eq!(take_at(&s, &["k"], rate, 1060).await, Take::Taken);
    }

    #[tokio::test]
    async fn an_idle_bucket_expires_when_it_is_full_again_and_is_swept() {
        let s = store().await;
        let rate = Rate::new(5, 60);
        assert_eq!(take_at(&s, &["k"], rate, 1000).await, Take::Taken);
        let swept = s
            .sweep(1059, crate::store::maintenance::Retention::default())
            .await
            .expect("sweep");
        assert_eq!(swept.count("throttle_buckets"), 0, "still refilling");
        let swept = s
            .sweep(1061, crate::store::maintenance::Retention::default())
            .await
            .expect("sweep");
        assert_eq!(swept.count("throttle_buckets"), 1);
        assert_eq!(stored(&s, "k").await, None);
    }
}
