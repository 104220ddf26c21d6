//! The registry of servers on this store: a `serve` or `run` process records itself at start
//! ([`Context::register_instance`]), heartbeats every [`HEARTBEAT`] and removes itself on a
//! clean stop ([`Registration::stop`]); a `latchkey console` in another process reads
//! [`Context::server_instances`] to find them and tell a live server from one that died.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Context;
use crate::store::StoreResult;
use crate::store::instances::{self, InstanceRow};

/// How often a server touches its row.
pub const HEARTBEAT: Duration = Duration::from_secs(2);

/// A server whose last heartbeat is at most this old (seconds) is live; older, it is stale
/// (crashed, killed, or its machine is gone).
pub const LIVE_WITHIN: i64 = 10;

/// Rows whose heartbeat is older than this (seconds) are deleted when a server starts.
pub const FORGET_AFTER: i64 = 24 * 3600;

/// What a starting server says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceInfo {
    /// The public base URL it serves.
    pub public_url: String,
    /// The address its listener is bound to.
    pub listen: String,
}

/// Whether a recorded server still answers for itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Its heartbeat is recent.
    Live,
    /// No heartbeat for longer than [`LIVE_WITHIN`]: it died without removing itself.
    Stale,
}

/// One recorded server, with its health at the time it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInstance {
    /// Its random id.
    pub id: String,
    /// The public base URL it serves.
    pub public_url: String,
    /// The address its listener is bound to.
    pub listen: String,
    /// The host it runs on.
    pub host: String,
    /// Its process id on that host.
    pub pid: i64,
    /// latchkey's version.
    pub version: String,
    /// When it started (unix seconds).
    pub started_at: i64,
    /// Seconds since its last heartbeat.
    pub heartbeat_age: i64,
    /// Seconds since it started, when read (the dashboard's uptime).
    pub uptime: i64,
    /// Live or stale.
    pub health: Health,
}

impl ServerInstance {
    fn from_row(row: InstanceRow, now: i64) -> Self {
        let age = (now - row.heartbeat_at).max(0);
        Self {
            id: row.id,
            public_url: row.public_url,
            listen: row.listen,
            host: row.host,
            pid: row.pid,
            version: row.version,
            started_at: row.started_at,
            heartbeat_age: age,
            uptime: (now - row.started_at).max(0),
            health: if age <= LIVE_WITHIN {
                Health::Live
            } else {
                Health::Stale
            },
        }
    }

    /// True when its heartbeat is recent.
    pub fn is_live(&self) -> bool {
        self.health == Health::Live
    }
}

/// A server's row in the registry, kept fresh by a heartbeat task until [`Registration::stop`].
pub struct Registration {
    ctx: Context,
    id: String,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Registration {
    /// This server's id in the registry.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A clean stop: ends the heartbeat and deletes the row, so consoles see the server gone
    /// rather than stale. A failure is logged (the row then turns stale by itself).
    pub async fn stop(self) {
        self.cancel.cancel();
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "the heartbeat task ended abnormally");
        }
        if let Err(e) = instances::remove(self.ctx.store(), &self.id).await {
            tracing::warn!(error = %e, "could not remove this server from the store's registry");
        }
    }
}

impl Context {
    /// Records this process as a server on the store and heartbeats until `cancel` fires or
    /// [`Registration::stop`] is called. Rows of servers silent for [`FORGET_AFTER`] go.
    pub async fn register_instance(
        &self,
        info: InstanceInfo,
        cancel: &CancellationToken,
    ) -> StoreResult<Registration> {
        let now = self.now();
        let forgotten = instances::forget_older_than(self.store(), now - FORGET_AFTER).await?;
        if forgotten > 0 {
            tracing::info!(forgotten, "forgot servers silent for a day");
        }
        let row = InstanceRow {
            id: crate::domain::new_id(),
            public_url: info.public_url,
            listen: info.listen,
            host: host_name(),
            pid: i64::from(std::process::id()),
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at: now,
            heartbeat_at: now,
        };
        instances::register(self.store(), &row).await?;
        let cancel = cancel.child_token();
        let task = tokio::spawn(heartbeat(self.clone(), row.clone(), cancel.clone()));
        Ok(Registration {
            ctx: self.clone(),
            id: row.id,
            cancel,
            task,
        })
    }

    /// Every server recorded on the store, live ones first, each with its health now.
    pub async fn server_instances(&self) -> StoreResult<Vec<ServerInstance>> {
        let now = self.now();
        let mut out: Vec<ServerInstance> = instances::list(self.store())
            .await?
            .into_iter()
            .map(|r| ServerInstance::from_row(r, now))
            .collect();
        out.sort_by_key(|i| (!i.is_live(), i.heartbeat_age));
        Ok(out)
    }
}

/// Touches the row every [`HEARTBEAT`]; writes it again if it was forgotten (a process that
/// was suspended for a day). A failed beat is logged and retried at the next one.
async fn heartbeat(ctx: Context, mut row: InstanceRow, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tick.tick() => {}
        }
        let now = ctx.now();
        match instances::heartbeat(ctx.store(), &row.id, now).await {
            Ok(true) => {}
            Ok(false) => {
                row.heartbeat_at = now;
                if let Err(e) = instances::register(ctx.store(), &row).await {
                    tracing::warn!(error = %e, "could not record this server again");
                }
            }
            Err(e) => tracing::warn!(error = %e, "heartbeat failed; retrying"),
        }
    }
}

/// The machine's name, for telling servers on several hosts apart.
pub(crate) fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(heartbeat_at: i64) -> InstanceRow {
        InstanceRow {
            id: "i".into(),
            public_url: "http://x".into(),
            listen: "127.0.0.1:1".into(),
            host: "h".into(),
            pid: 1,
            version: "0".into(),
            started_at: 0,
            heartbeat_at,
        }
    }

    #[test]
    fn a_recent_heartbeat_is_live_and_an_old_one_stale() {
        let live = ServerInstance::from_row(row(100), 100 + LIVE_WITHIN);
        assert_eq!(
            (live.health, live.heartbeat_age),
            (Health::Live, LIVE_WITHIN)
        );
        let stale = ServerInstance::from_row(row(100), 101 + LIVE_WITHIN);
        assert_eq!(stale.health, Health::Stale);
        let ahead = ServerInstance::from_row(row(200), 100);
        assert_eq!(
            (ahead.health, ahead.heartbeat_age),
            (Health::Live, 0),
            "a clock behind another host's reads as live, not negative"
        );
    }
}
