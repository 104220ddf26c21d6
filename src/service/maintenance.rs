//! The periodic housekeeping of a store: executions abandoned in sessions that expired are
//! reported (authentik's "Flow execution" event, outcome `abandoned`), then the store deletes
//! every expired row ([`Store::sweep`](crate::store::Store::sweep)). Reporting comes first, so
//! a session past its deletion grace is still reported before it goes.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Service, ServiceResult};
use crate::context::EventSubject;
use crate::flows::session::SessionData;
use crate::oauth::flow_history::Finished;
use crate::store;
use crate::store::maintenance::{Retention, Swept};

/// Expired sessions read per batch when reporting abandoned executions.
const ABANDONED_BATCH: i64 = 200;

/// What one maintenance run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Maintained {
    /// `flow_execution` events recorded for abandoned executions.
    pub abandoned: usize,
    /// What the store's sweep deleted.
    pub swept: Swept,
}

impl Service {
    /// Records a `flow_execution` event (outcome `abandoned`, with its plan and history) for
    /// every flow plan left in a session that expired, and drops the plan from the session so
    /// it is reported once, even with several instances on one store. Returns how many.
    pub async fn report_abandoned_executions(&self) -> ServiceResult<usize> {
        let mut reported = 0;
        loop {
            let rows =
                store::sessions::expired_with_plans(self.store(), self.now(), ABANDONED_BATCH)
                    .await?;
            let full = rows.len() as i64 == ABANDONED_BATCH;
            let mut claimed_any = false;
            for row in rows {
                let Ok(mut data) = serde_json::from_str::<SessionData>(&row.data) else {
                    tracing::warn!(session = %row.id, "session data unreadable; left to the sweep");
                    continue;
                };
                let plans = std::mem::take(&mut data.plans);
                let Ok(emptied) = serde_json::to_string(&data) else {
                    continue;
                };
                if !store::sessions::swap_data(self.store(), &row.id, &row.data, &emptied).await? {
                    continue; // another instance (or a late request) got there first
                }
                claimed_any = true;
                for (slug, plan) in &plans {
                    let finished = Finished::abandoned(plan, row.created_at);
                    let subject = EventSubject {
                        user_id: row.user_id.clone(),
                        client_ip: row.client_ip.clone(),
                        ..Default::default()
                    };
                    self.context()
                        .record_event("flow_execution", subject, finished.event_context(slug))
                        .await?;
                    reported += 1;
                }
            }
            if !full || !claimed_any {
                return Ok(reported);
            }
        }
    }

    /// One maintenance run: abandoned executions reported, then expired rows deleted.
    pub async fn maintain(&self, retention: Retention) -> ServiceResult<Maintained> {
        let abandoned = self.report_abandoned_executions().await?;
        let swept = self.store().sweep(self.now(), retention).await?;
        Ok(Maintained { abandoned, swept })
    }

    /// Runs [`Service::maintain`] every `interval` (and once at start) until `cancel` fires;
    /// each run is logged with what it did. A failed run is logged and retried at the next
    /// tick.
    pub fn spawn_maintenance(
        &self,
        interval: Duration,
        retention: Retention,
        cancel: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tick.tick() => {}
                }
                match service.maintain(retention).await {
                    Ok(done) if done.abandoned > 0 || done.swept.total() > 0 => tracing::info!(
                        abandoned = done.abandoned,
                        deleted = ?done.swept.deleted,
                        millis = done.swept.millis as u64,
                        "maintenance: abandoned executions reported, expired rows deleted"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "maintenance run failed; retrying later"),
                }
            }
        })
    }
}
