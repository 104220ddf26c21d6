//! Counts over time for the dashboard: how many rows fall in each of a run of equal time
//! buckets, and the applications authorized most over a time range.
//!
//! Every count is an index range (migration 0040): SQLite keeps no counts in its b-trees, so a
//! `GROUP BY` over a bucket expression would walk every row and then sort them; counting each
//! bucket's range with its own correlated `COUNT(*)` only steps through the index, and the
//! whole series is still one statement. The same SQL runs on both engines.

use super::{Conn, StoreResult};

/// A run of `buckets` equal time buckets of `step` seconds from `start` (unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    /// The first bucket's first second.
    pub start: i64,
    /// Seconds per bucket.
    pub step: i64,
    /// How many buckets.
    pub buckets: i64,
}

impl Window {
    /// `buckets` buckets of `step` seconds aligned on multiples of `step` since the epoch
    /// (UTC), the last one holding `now`, so a bucket's bounds do not move between reloads.
    pub fn ending_at(now: i64, step: i64, buckets: i64) -> Self {
        let step = step.max(1);
        Self {
            start: now.div_euclid(step) * step - (buckets - 1) * step,
            step,
            buckets: buckets.max(0),
        }
    }

    /// The second after the last bucket.
    pub fn end(&self) -> i64 {
        self.start + self.step * self.buckets
    }
}

/// What a series counts: rows of one table by their creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted<'a> {
    /// Events with this action (index `events_action_created`).
    Events(&'a str),
    /// Users created (index `users_created`).
    UsersCreated,
    /// Access tokens issued: every token grant issues one (index `access_tokens_created`).
    AccessTokens,
}

impl Counted<'_> {
    /// The table and the extra condition on the counted rows (`$4` is the action); constants.
    fn source(&self) -> (&'static str, &'static str) {
        match self {
            Counted::Events(_) => ("events", "AND c.action = $4"),
            Counted::UsersCreated => ("users", ""),
            Counted::AccessTokens => ("access_tokens", ""),
        }
    }
}

/// The statement counting `what` per bucket: `$1` start, `$2` step, `$3` buckets, `$4` the
/// action. The recursive CTE numbers the buckets; CAST keeps them BIGINT on PostgreSQL, as the
/// bound values are.
fn series_sql(what: Counted<'_>) -> String {
    let (table, filter) = what.source();
    format!(
        "WITH RECURSIVE b(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM b \
         WHERE i + 1 < $3) \
         SELECT b.i AS bucket, (SELECT COUNT(*) FROM {table} c \
         WHERE c.created_at >= $1 + b.i * $2 AND c.created_at < $1 + (b.i + 1) * $2 {filter}) \
         AS n FROM b ORDER BY b.i"
    )
}

/// How many rows of `what` fall in each bucket of `window`, oldest first (zeros included).
pub async fn buckets(conn: &mut Conn, what: Counted<'_>, window: Window) -> StoreResult<Vec<u64>> {
    if window.buckets == 0 {
        return Ok(Vec::new());
    }
    let mut query = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(series_sql(what)))
        .bind(window.start)
        .bind(window.step)
        .bind(window.buckets);
    if let Counted::Events(action) = what {
        query = query.bind(action);
    }
    let rows = query.fetch_all(conn).await?;
    let mut counts = vec![0; usize::try_from(window.buckets).unwrap_or_default()];
    for (bucket, n) in rows {
        if let Some(slot) = usize::try_from(bucket).ok().and_then(|i| counts.get_mut(i)) {
            *slot = u64::try_from(n).unwrap_or_default();
        }
    }
    Ok(counts)
}

/// One application and how many events of an action named it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AppCount {
    /// The application's slug (what events record in `app`).
    pub slug: String,
    /// Its name.
    pub name: String,
    /// Events in the range.
    pub uses: i64,
}

/// `$1` the action, `$2`..`$3` the range, `$4` the limit.
const TOP_APPS_SQL: &str = "SELECT slug, name, uses FROM (SELECT a.slug AS slug, a.name AS name, \
     (SELECT COUNT(*) FROM events e WHERE e.action = $1 AND e.app = a.slug \
     AND e.created_at >= $2 AND e.created_at < $3) AS uses FROM applications a) t \
     WHERE uses > 0 ORDER BY uses DESC, slug LIMIT $4";

/// The `limit` applications named by most `action` events in `[from, to)`, most first (slug
/// order among equals), leaving out those with none. One range count per application (index
/// `events_action_app_created`); applications deleted since are not listed.
pub async fn top_applications(
    conn: &mut Conn,
    action: &str,
    from: i64,
    to: i64,
    limit: i64,
) -> StoreResult<Vec<AppCount>> {
    Ok(sqlx::query_as(TOP_APPS_SQL)
        .bind(action)
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(conn)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreLocation};

    /// SQLite's plan for `sql`, one detail line each.
    async fn plan(store: &Store, sql: &str, binds: &[i64]) -> Vec<String> {
        let mut conn = store.read().await.expect("conn");
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(explain));
        for b in binds {
            q = q.bind(*b);
        }
        q.fetch_all(&mut *conn)
            .await
            .expect("explain")
            .into_iter()
            .map(|r| r.3)
            .collect()
    }

    #[tokio::test]
    async fn every_count_is_an_index_range_never_a_scan_of_the_counted_table() {
        let store = Store::open(&StoreLocation::Memory).await.expect("store");
        let cases = [
            (
                Counted::Events("login"),
                "events_action_created",
                &[0, 60, 30, 0][..],
            ),
            (Counted::UsersCreated, "users_created", &[0, 60, 30]),
            (Counted::AccessTokens, "access_tokens_created", &[0, 60, 30]),
        ];
        for (what, index, binds) in cases {
            let lines = plan(&store, &series_sql(what), binds).await;
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with("SEARCH c USING COVERING INDEX") && l.contains(index)),
                "{what:?}: {lines:?}"
            );
            assert!(
                !lines.iter().any(|l| l.starts_with("SCAN c")),
                "{what:?}: {lines:?}"
            );
        }
        let lines = plan(&store, TOP_APPS_SQL, &[0, 0, 1, 5]).await;
        assert!(
            lines.iter().any(|l| {
                l.starts_with("SEARCH e USING COVERING INDEX events_action_app_created")
            }),
            "{lines:?}"
        );
        assert!(!lines.iter().any(|l| l.starts_with("SCAN e")), "{lines:?}");
    }

    #[test]
    fn a_window_is_aligned_on_its_step_and_ends_with_the_bucket_holding_now() {
        let w = Window::ending_at(28_800 * 10 + 5, 28_800, 3);
        assert_eq!(w.start, 28_800 * 8);
        assert_eq!(w.end(), 28_800 * 11);
        // On a boundary, now opens the last bucket.
        let w = Window::ending_at(86_400 * 3, 86_400, 2);
        assert_eq!((w.start, w.end()), (86_400 * 2, 86_400 * 4));
    }
}
