//! Deleting what can never be used again: expired codes, tokens, device codes, sessions,
//! reputation rows, idle (full again) throttle buckets and consents, and events past their
//! retention; then a WAL checkpoint.
//!
//! Rows go in batches of [`BATCH`], each in its own short write transaction, so a server on the
//! same store keeps writing between them. A used authorization code or device code, and a
//! consumed refresh token, is kept until it expires plus [`Retention::grace`]: until then a
//! replay of it must still be recognised (and revoke what it produced).

use std::time::Instant;

use super::{Store, StoreResult};

/// Rows deleted per write transaction.
pub const BATCH: i64 = 500;

/// How long things are kept past their expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Seconds an expired code, token, device code or session is kept before deletion.
    pub grace: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Self { grace: 3600 }
    }
}

/// What one run deleted, per table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swept {
    /// `(table, rows deleted)` for every table that lost rows.
    pub deleted: Vec<(&'static str, u64)>,
    /// Milliseconds the run took.
    pub millis: u128,
}

impl Swept {
    /// Rows deleted from `table`.
    pub fn count(&self, table: &str) -> u64 {
        self.deleted
            .iter()
            .find(|(t, _)| *t == table)
            .map_or(0, |(_, n)| *n)
    }

    /// Rows deleted in all.
    pub fn total(&self) -> u64 {
        self.deleted.iter().map(|(_, n)| n).sum()
    }
}

/// `(table, condition on ?1 = the cutoff)`; the table and column names are constants.
const SWEEPS: &[(&str, &str, bool)] = &[
    ("authorization_codes", "expires_at < $1", true),
    ("access_tokens", "expires_at < $1", true),
    ("refresh_tokens", "expires_at < $1", true),
    ("device_codes", "expires_at < $1", true),
    ("sessions", "expires_at < $1 OR idle_expires_at < $1", true),
    ("reputation", "expires_at < $1", false),
    ("login_failures", "expires_at < $1", false),
    ("throttle_buckets", "expires_at < $1", false),
    (
        "consents",
        "expires_at IS NOT NULL AND expires_at < $1",
        false,
    ),
    ("events", "expires_at < $1", false),
];

impl Store {
    /// One maintenance run at `now` (unix seconds): every expired row goes, in batches.
    pub async fn sweep(&self, now: i64, retention: Retention) -> StoreResult<Swept> {
        let started = Instant::now();
        let mut swept = Swept::default();
        for (table, condition, with_grace) in SWEEPS {
            let cutoff = if *with_grace {
                now - retention.grace
            } else {
                now
            };
            let id = self.engine().row_identity();
            let sql = format!(
                "DELETE FROM {table} WHERE {id} IN \
                 (SELECT {id} FROM {table} WHERE {condition} LIMIT {BATCH})"
            );
            let mut total = 0;
            loop {
                let mut tx = self.write_tx().await?;
                let n = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(cutoff)
                    .execute(tx.conn())
                    .await?
                    .rows_affected();
                tx.commit().await?;
                total += n;
                if n < BATCH as u64 {
                    break;
                }
            }
            if total > 0 {
                swept.deleted.push((table, total));
            }
        }
        if swept.total() > 0 {
            self.checkpoint().await?;
        }
        swept.millis = started.elapsed().as_millis();
        Ok(swept)
    }

    /// Moves the WAL's pages into the database file and truncates the WAL, so deleted rows stop
    /// costing disk. A busy checkpoint (a reader holds old pages) is retried at the next run.
    pub async fn checkpoint(&self) -> StoreResult<()> {
        if !matches!(self.location(), super::StoreLocation::File(_)) {
            return Ok(());
        }
        let mut conn = self.read().await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}
