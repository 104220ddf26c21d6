//! Every event action authentik knows (its `EventAction` choices), so filters, the
//! event-matcher policy and the CLI accept exactly these, plus `custom_*`.

/// authentik's actions, in its order. `impersonation_started`/`_ended` are reserved: latchkey
/// has no impersonation, so nothing records them.
pub const ALL: &[&str] = &[
    "login",
    "login_failed",
    "logout",
    "user_write",
    "suspicious_request",
    "password_set",
    "secret_view",
    "secret_rotate",
    "invitation_used",
    "authorize_application",
    "source_linked",
    "impersonation_started",
    "impersonation_ended",
    "flow_execution",
    "policy_execution",
    "policy_exception",
    "property_mapping_exception",
    "system_task_execution",
    "system_task_exception",
    "system_exception",
    "configuration_error",
    "model_created",
    "model_updated",
    "model_deleted",
    "email_sent",
    "update_available",
];

/// True when `action` is one of authentik's or a custom one (`custom_…`).
pub fn is_known(action: &str) -> bool {
    ALL.contains(&action) || action.starts_with("custom_")
}

#[cfg(test)]
mod tests {
    #[test]
    fn authentiks_actions_and_custom_ones_are_known_others_not() {
        assert!(super::is_known("model_updated"));
        assert!(super::is_known("custom_device_code_denied"));
        assert!(!super::is_known("model_changed"));
    }
}
