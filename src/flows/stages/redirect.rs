//! Redirect (static mode): leaves the flow for `target_static` (or the context override; `/`
//! when neither is set).

use super::{Show, StageCtx};
use crate::domain::RedirectSettings;

/// Redirects to the configured target.
pub fn challenge(sc: &mut StageCtx<'_>, s: &RedirectSettings) -> Show {
    let target = sc
        .plan
        .context
        .extra
        .get("redirect_stage_target")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| match s.target_static.as_str() {
            "" => "/".to_string(),
            target => target.to_string(),
        });
    Show::Challenge(crate::flows::challenge::ChallengeKind::Redirect { to: target })
}
