//! What the HTML view and the JSON view share: loading the session, running one executor step
//! against the plan kept in it, applying login/logout effects, saving, and the security headers.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response as HttpResponse;

use super::AppState;
use super::session::{self, Session};
use crate::flows::executor::{self, Start, Step};
use crate::flows::{Challenge, ChallengeKind, Effect, Env, FlowError, Response};

/// The component of the front-channel logout page (authentik's injected logout stage).
const IFRAME_LOGOUT: &str = "ak-provider-iframe-logout";

/// A flow's slug by id (pages redirect to `/if/flow/<slug>/`).
pub async fn flow_slug(state: &AppState, id: Option<&str>) -> Option<String> {
    let id = id?;
    let mut conn = state.ctx.store().read().await.ok()?;
    crate::store::flows::get(&mut conn, id)
        .await
        .ok()?
        .map(|f| f.slug)
}

/// The brand used for every host (latchkey serves one brand per instance).
pub async fn default_brand(state: &AppState) -> Option<crate::domain::Brand> {
    let mut conn = state.ctx.store().read().await.ok()?;
    crate::store::brands::list(&mut conn)
        .await
        .ok()?
        .into_iter()
        .find(|b| b.default)
}

/// Where an anonymous visitor signs in: the provider's own authentication flow when it has one,
/// else the default brand's.
pub async fn authentication_flow(state: &AppState, provider_flow: Option<&str>) -> Option<String> {
    if let Some(slug) = flow_slug(state, provider_flow).await {
        return Some(slug);
    }
    let brand = default_brand(state).await?;
    flow_slug(state, brand.flow_authentication_id.as_deref()).await
}

/// The flow context key under which the authorize endpoint marks its parked request.
pub const OAUTH_REQUEST_KEY: &str = "goauthentik.io/providers/oauth2/request";

/// One executor call.
pub enum Action {
    /// Show the current challenge (planning when needed).
    Get(Start),
    /// Submit a response.
    Post(Response),
}

/// The client's IP from the socket (forwarded headers are not trusted: no proxy is configured).
pub fn client_ip(info: Option<Extension<ConnectInfo<SocketAddr>>>) -> String {
    info.map(|Extension(ConnectInfo(a))| a.ip().to_string())
        .unwrap_or_default()
}

/// Runs one step for `slug` on the session's plan and applies its effects.
pub async fn execute(
    state: &AppState,
    sess: &mut Session,
    client_ip: &str,
    slug: &str,
    action: Action,
) -> Result<Step, FlowError> {
    let ctx = &state.ctx;
    let env = Env::new(&state.ctx, client_ip, sess.user_id.clone());
    // Answering the front-channel logout page goes on to where the flow was going.
    let action = match action {
        Action::Post(resp) if resp.component.as_deref() == Some(IFRAME_LOGOUT) => {
            if let Some(to) = sess.data.logout_continue.take() {
                session::save(ctx, sess).await?;
                return Ok(Step {
                    challenge: Challenge::new(ChallengeKind::Redirect { to }, "", slug),
                    effects: Vec::new(),
                });
            }
            Action::Get(Start::default())
        }
        other => other,
    };
    let mut slot = sess.data.plans.remove(slug);
    let mut step = match action {
        Action::Get(start) => executor::get(&env, slug, &mut slot, start).await?,
        Action::Post(resp) => executor::post(&env, slug, &mut slot, resp).await?,
    };
    let mut logout_frames = Vec::new();
    if let Some(plan) = slot {
        sess.data.plans.insert(slug.to_string(), plan);
    }
    for effect in &step.effects {
        match effect {
            Effect::Login {
                user_id,
                session_duration,
                terminate_other_sessions,
            } => {
                session::login(
                    ctx,
                    sess,
                    user_id,
                    *session_duration,
                    *terminate_other_sessions,
                    client_ip,
                )
                .await?;
            }
            Effect::Logout => {
                // Front-channel parties are found by the session's tokens, so before it ends.
                if sess.user_id.is_some()
                    && let Ok(snapshot) = state.snapshot.get().await
                {
                    let sid = crate::crypto::secrets::digest(&sess.row_id);
                    logout_frames =
                        crate::oauth::logout::frontchannel_urls(ctx, &snapshot, &sid).await;
                }
                session::logout(ctx, sess, client_ip).await?
            }
            Effect::Completed(context) => {
                if let Some(id) = context
                    .extra
                    .get(OAUTH_REQUEST_KEY)
                    .and_then(serde_json::Value::as_str)
                {
                    sess.data.oauth_done.insert(id.to_string());
                }
            }
        }
    }
    if !logout_frames.is_empty() {
        // authentik injects its iframe logout stage here; the page then goes on to where the
        // flow was going (its redirect), or back to the flow.
        sess.data.logout_continue = match &step.challenge.kind {
            ChallengeKind::Redirect { to } => Some(to.clone()),
            _ => None,
        };
        let title = match step.challenge.title.as_str() {
            "" => "Signing out".to_string(),
            t => t.to_string(),
        };
        step.challenge = Challenge::new(
            ChallengeKind::ProviderIframeLogout {
                logout_urls: logout_frames,
            },
            &title,
            slug,
        );
    }
    session::save(ctx, sess).await?;
    Ok(step)
}

/// Adds the headers every flow page and API answer carries.
pub fn security_headers(state: &AppState, sess: Option<&Session>, resp: &mut HttpResponse) {
    let h = resp.headers_mut();
    let set = |h: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: https:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    );
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::CACHE_CONTROL, "no-store");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if let Some(s) = sess.filter(|s| s.set_cookie)
        && let Ok(v) = HeaderValue::from_str(&session::set_cookie_header(&state.ctx, s))
    {
        h.append(header::SET_COOKIE, v);
    }
}
