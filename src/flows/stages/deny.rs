//! Deny: stops the flow with `deny_message`.

use super::Show;
use crate::domain::DenySettings;

/// Always denies.
pub fn challenge(s: &DenySettings) -> Show {
    Show::Deny(if s.deny_message.is_empty() {
        "Permission denied.".into()
    } else {
        s.deny_message.clone()
    })
}
