//! `/` and authentik's `/flows/-/default/<designation>/` (`RootRedirectView`, `ToDefaultFlow`):
//! a visitor nobody signed in goes to the brand's authentication flow, a signed-in external user
//! or service account to the brand's `default_application`, anyone else to the user's interface
//! (`/if/user/`). Every flow that ends without a `next` lands here.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use html_escape::encode_text as text;

use super::AppState;
use super::SharedState;
use super::errors::HttpError;
use super::extract::RequestHost;
use super::pages;
use super::session::Session;
use super::user_page::USER_PATH;
use crate::flows::lookup;
use crate::flows::stages::flow_page_url;
use crate::service::ServiceError;

async fn no_flow(state: &AppState, host: &RequestHost, sess: &Session, what: &str) -> Response {
    let body = format!(
        "<p class=\"error\" role=\"alert\">There is no {} flow.</p>",
        text(what)
    );
    let status = StatusCode::NOT_FOUND;
    pages::page(state, host.get(), Some(sess), status, "Not found", &body).await
}

/// `GET /`.
pub async fn root(
    State(state): State<SharedState>,
    host: RequestHost,
    sess: Session,
) -> Result<Response, HttpError> {
    let Some(user_id) = sess.user_id.clone() else {
        let Some(slug) = lookup::default_authentication_flow(&state.ctx, host.get()).await? else {
            return Ok(no_flow(&state, &host, &sess, "authentication").await);
        };
        let next = BTreeMap::from([("next".to_string(), "/".to_string())]);
        return Ok(pages::redirect(
            &state,
            host.get(),
            Some(&sess),
            &flow_page_url(&slug, &next),
        )
        .await);
    };
    let launch = match state
        .service
        .default_application_launch(host.get(), &user_id)
        .await
    {
        Err(ServiceError::NotFound(_)) => None,
        other => other?,
    };
    let to = launch.as_deref().unwrap_or(USER_PATH);
    Ok(pages::redirect(&state, host.get(), Some(&sess), to).await)
}

/// `GET /flows/-/default/authentication/`: the brand's authentication flow (else the first by
/// slug), keeping the query.
pub async fn default_authentication(
    State(state): State<SharedState>,
    Query(q): Query<BTreeMap<String, String>>,
    host: RequestHost,
    sess: Session,
) -> Result<Response, HttpError> {
    match lookup::default_authentication_flow(&state.ctx, host.get()).await? {
        Some(slug) => {
            Ok(pages::redirect(&state, host.get(), Some(&sess), &flow_page_url(&slug, &q)).await)
        }
        None => Ok(no_flow(&state, &host, &sess, "authentication").await),
    }
}

/// `GET /flows/-/default/invalidation/`: the brand's invalidation flow (else the first by
/// slug), keeping the query.
pub async fn default_invalidation(
    State(state): State<SharedState>,
    Query(q): Query<BTreeMap<String, String>>,
    host: RequestHost,
    sess: Session,
) -> Result<Response, HttpError> {
    match lookup::invalidation_flow(&state.ctx, host.get()).await? {
        Some(slug) => {
            Ok(pages::redirect(&state, host.get(), Some(&sess), &flow_page_url(&slug, &q)).await)
        }
        None => Ok(no_flow(&state, &host, &sess, "sign-out").await),
    }
}
