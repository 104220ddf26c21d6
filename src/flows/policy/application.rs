//! Whether an application's policy bindings admit a user: the one check the authorization
//! endpoint and the user's library ask (authentik's `PolicyAccessView` and its application
//! list evaluate the same engine for the same user).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{PolicyRequest, PolicyResult, evaluate_target};
use crate::domain::Application;
use crate::flows::{Env, FlowContext};

/// The application's policy bindings evaluated for `user_id` with their messages. The policies
/// see the application as `request.context["application"]` and `extra` beside it (the
/// authorization endpoint's `oauth_scopes`). No bindings admit everyone; a policy that cannot
/// be evaluated (or a user that cannot be loaded) denies, with a warning in the log.
pub async fn application_admits(
    env: &Env,
    user_id: &str,
    app: &Application,
    extra: BTreeMap<String, Value>,
) -> PolicyResult {
    let context = FlowContext {
        application: Some(app.id.clone()),
        extra,
        ..FlowContext::default()
    };
    let refused = |why: String| {
        tracing::warn!(application = %app.slug, error = %why, "application policies failed");
        PolicyResult::default()
    };
    match PolicyRequest::load(env, Some(user_id), &context).await {
        Ok(req) => evaluate_target(env, &app.id, app.policy_engine_mode, &req)
            .await
            .unwrap_or_else(|e| refused(e.to_string())),
        Err(e) => refused(e.to_string()),
    }
}
