//! `/flows/-/cancel/`, the `cancel_url` of every challenge's `flow_info` (authentik's
//! `CancelView`): drops the flows in progress from the session, then sends the browser to the
//! `next` it names when that is a same-origin path, else to the default invalidation flow
//! (where authentik's `/flows/-/default/invalidation/` leads). A session that had no flow in
//! progress is left as it was.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::SharedState;
use super::errors::HttpError;
use super::extract::RequestHost;
use super::pages;
use super::session::Session;
use crate::flows::context::safe_next;
use crate::flows::{lookup, session};

/// GET: cancels the session's flows and redirects.
pub async fn cancel(
    State(state): State<SharedState>,
    Query(q): Query<HashMap<String, String>>,
    host: RequestHost,
    sess: Result<Session, HttpError>,
) -> Result<Response, HttpError> {
    let mut sess = sess?;
    if !sess.data.plans.is_empty() {
        sess.data.plans.clear();
        session::save(&state.ctx, &mut sess).await?;
        tracing::debug!("cancelled the session's flows");
    }
    let next = q.get("next").and_then(|n| safe_next(n));
    let to = match next {
        Some(next) => next,
        None => match lookup::invalidation_flow(&state.ctx, host.get()).await? {
            Some(slug) => format!("/if/flow/{slug}/"),
            None => {
                let body = "<p class=\"error\" role=\"alert\">There is no sign-out flow.</p>";
                let status = StatusCode::NOT_FOUND;
                return Ok(
                    pages::page(&state, host.get(), Some(&sess), status, "Not found", body).await,
                );
            }
        },
    };
    Ok(pages::redirect(&state, host.get(), Some(&sess), &to).await)
}
