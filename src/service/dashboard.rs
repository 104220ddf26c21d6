//! The dashboard's figures, as authentik's admin overview has them: logins, failed logins and
//! authorizations over the last week per 8 hours, the applications with most usage, users
//! created and logins per day over the last month, tokens issued per minute. Read in one
//! snapshot by index range counts (`store::stats`), never by loading events.

use super::{Service, ServiceResult};
use crate::store::stats::{self, Counted, Window};

/// authentik's event actions the dashboard counts.
pub use crate::flows::actions::{AUTHORIZE_APPLICATION, LOGIN, LOGIN_FAILED};

/// Seconds per bucket of the weekly chart (authentik's "per 8 hours").
pub const WEEK_STEP: i64 = 8 * 3600;
/// 8-hour buckets in a week.
pub const WEEK_BUCKETS: i64 = 21;
/// Seconds per day.
pub const DAY: i64 = 86_400;
/// Days in the monthly charts.
pub const MONTH_DAYS: i64 = 30;
/// Minutes in the tokens-per-minute line.
pub const TOKEN_MINUTES: i64 = 30;
/// Applications listed under "Apps with most usage".
pub const TOP_APPS: i64 = 5;

/// Counts in consecutive buckets of `step` seconds from `start`, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Series {
    /// The first bucket's first second (unix).
    pub start: i64,
    /// Seconds per bucket.
    pub step: i64,
    /// One count per bucket.
    pub counts: Vec<u64>,
}

impl Series {
    fn of(window: Window, counts: Vec<u64>) -> Self {
        Self {
            start: window.start,
            step: window.step,
            counts,
        }
    }

    /// Every bucket's count added up.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The largest bucket (0 when empty).
    pub fn peak(&self) -> u64 {
        self.counts.iter().copied().max().unwrap_or(0)
    }
}

/// An application and how many times users were authorized to it in the last week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppUsage {
    /// The application's slug.
    pub slug: String,
    /// Its name.
    pub name: String,
    /// `authorize_application` events naming it.
    pub authorizations: u64,
}

/// Everything the dashboard charts, computed at `now`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DashboardStats {
    /// When these were counted (unix seconds).
    pub now: i64,
    /// Logins per 8 hours over the last week.
    pub logins_week: Series,
    /// Failed logins per 8 hours over the last week.
    pub failed_week: Series,
    /// Authorizations per 8 hours over the last week.
    pub authorizations_week: Series,
    /// Logins per day over the last month.
    pub logins_month: Series,
    /// Failed logins per day over the last month.
    pub failed_month: Series,
    /// Users created per day over the last month.
    pub users_month: Series,
    /// The applications authorized most over the last week, most first.
    pub top_apps: Vec<AppUsage>,
    /// Access tokens issued per minute over the last half hour.
    pub tokens_per_minute: Series,
}

/// Days (UTC) split in thirds are the week's 8-hour buckets: one 8-hour series over the month
/// gives both the month per day and the week per 8 hours, so those rows are counted once.
fn month_and_week(now: i64, days: Window, thirds: Vec<u64>) -> (Series, Series) {
    let per_day = thirds.chunks(3).map(|c| c.iter().sum()).collect();
    let week = Window::ending_at(now, WEEK_STEP, WEEK_BUCKETS);
    let first = usize::try_from((week.start - days.start) / WEEK_STEP).unwrap_or_default();
    let len = usize::try_from(WEEK_BUCKETS).unwrap_or_default();
    let counts = thirds
        .get(first..first + len)
        .map(<[u64]>::to_vec)
        .unwrap_or_default();
    (Series::of(days, per_day), Series::of(week, counts))
}

impl Service {
    /// The dashboard's figures at `now`, read in one snapshot.
    pub async fn dashboard_stats(&self, now: i64) -> ServiceResult<DashboardStats> {
        let days = Window::ending_at(now, DAY, MONTH_DAYS);
        let thirds = Window {
            start: days.start,
            step: WEEK_STEP,
            buckets: MONTH_DAYS * 3,
        };
        let week = Window::ending_at(now, WEEK_STEP, WEEK_BUCKETS);
        let minutes = Window::ending_at(now, 60, TOKEN_MINUTES);
        let mut tx = self.store().read_tx().await?;
        let conn = tx.conn();
        let logins = stats::buckets(conn, Counted::Events(LOGIN), thirds).await?;
        let failed = stats::buckets(conn, Counted::Events(LOGIN_FAILED), thirds).await?;
        let authorizations =
            stats::buckets(conn, Counted::Events(AUTHORIZE_APPLICATION), week).await?;
        let users = stats::buckets(conn, Counted::UsersCreated, days).await?;
        let tokens = stats::buckets(conn, Counted::AccessTokens, minutes).await?;
        let top = stats::top_applications(
            conn,
            AUTHORIZE_APPLICATION,
            week.start,
            week.end(),
            TOP_APPS,
        )
        .await?;
        tx.finish().await?;
        let (logins_month, logins_week) = month_and_week(now, days, logins);
        let (failed_month, failed_week) = month_and_week(now, days, failed);
        Ok(DashboardStats {
            now,
            logins_week,
            failed_week,
            authorizations_week: Series::of(week, authorizations),
            logins_month,
            failed_month,
            users_month: Series::of(days, users),
            top_apps: top
                .into_iter()
                .map(|a| AppUsage {
                    slug: a.slug,
                    name: a.name,
                    authorizations: u64::try_from(a.uses).unwrap_or_default(),
                })
                .collect(),
            tokens_per_minute: Series::of(minutes, tokens),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_week_is_the_last_21_thirds_up_to_the_one_holding_now() {
        // now in the second third of the last day: the week ends with that third.
        let now = 100 * DAY + WEEK_STEP + 5;
        let days = Window::ending_at(now, DAY, MONTH_DAYS);
        let thirds: Vec<u64> = (0..90).collect();
        let (month, week) = month_and_week(now, days, thirds);
        assert_eq!(month.counts.len(), 30);
        assert_eq!(month.counts[0], 1 + 2);
        assert_eq!(month.counts[29], 87 + 88 + 89);
        assert_eq!(week.counts, (68..89).collect::<Vec<u64>>());
        assert_eq!(week.start, days.start + 68 * WEEK_STEP);
        assert_eq!(week.step, WEEK_STEP);
    }
}
