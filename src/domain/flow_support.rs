//! Flow settings latchkey cannot honour, refused when the flow is saved (issue 21: no setting
//! is stored silently).

use super::{FieldErrors, Flow, FlowAuthentication};

/// Refuses `authentication: require_outpost`: authentik admits only requests an outpost makes,
/// and latchkey has no outposts, so the flow could never run.
pub fn check_flow_support(e: &mut FieldErrors, f: &Flow) {
    if f.authentication == FlowAuthentication::RequireOutpost {
        e.add(
            "authentication",
            "require_outpost cannot be honoured: latchkey has no outposts, so no request could \
             ever run this flow. Choose another requirement (none, require_authenticated, \
             require_unauthenticated, require_superuser or require_redirect).",
        );
    }
}
