//! Deny: stops the flow with `deny_message`.

use super::{Show, StageCtx};

/// Always denies.
pub fn challenge(sc: &mut StageCtx<'_>) -> Show {
    let msg = sc.setting_str("deny_message", "");
    Show::Deny(if msg.is_empty() {
        "Permission denied.".into()
    } else {
        msg
    })
}
