//! Redirect (static mode): leaves the flow for `target_static` (or the context override).

use super::{Show, StageCtx};

/// Redirects to the configured target.
pub fn challenge(sc: &mut StageCtx<'_>) -> Show {
    let target = sc
        .plan
        .context
        .extra
        .get("redirect_stage_target")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| sc.setting_str("target_static", "/"));
    Show::Challenge(crate::flows::challenge::ChallengeKind::Redirect { to: target })
}
