//! The operating-system user and host a console or CLI change is made by (read from the
//! environment, so it lives here rather than in the pure domain).

use crate::domain::Actor;

/// The actor for changes made in this process through `origin` ("console" or "cli"): the
/// login name (`$USER`, `$LOGNAME`, else the uid) on this host.
pub fn local_actor(origin: &str) -> Actor {
    let user = ["USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .or_else(uid)
        .unwrap_or_else(|| "unknown".into());
    Actor::local(origin, &user, &super::instances::host_name())
}

/// `uid <n>` from `/proc/self/status` (when no login name is in the environment).
fn uid() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1).map(|n| format!("uid {n}"))
}
