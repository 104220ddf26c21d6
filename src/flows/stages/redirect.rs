//! Redirect (authentik's `RedirectStage`): `static` leaves the flow for `target_static`, `flow`
//! plans `target_flow` (with this plan's context when `keep_context`) into the session and
//! sends the browser to its page, carrying the query this flow was opened with. A plan's
//! `redirect_stage_target` overrides both: a URL, or `ak-flow://<slug>` for a flow.

use serde_json::Value;

use super::{Show, StageCtx, flow_page_url};
use crate::domain::{Flow, RedirectMode, RedirectSettings};
use crate::flows::FlowResult;
use crate::flows::challenge::ChallengeKind;
use crate::flows::context::FlowContext;
use crate::flows::env::Effect;
use crate::flows::planner::{self, PlanOutcome};
use crate::store;

/// The context key that overrides the stage's target (authentik's
/// `PLAN_CONTEXT_REDIRECT_STAGE_TARGET`).
pub const REDIRECT_STAGE_TARGET: &str = "redirect_stage_target";
/// The context key a plan started by a redirect stage carries: the slug of the flow it came
/// from (authentik's `PLAN_CONTEXT_IS_REDIRECTED`).
pub const IS_REDIRECTED: &str = "is_redirected";
/// The scheme of an override that names a flow.
const FLOW_SCHEME: &str = "ak-flow://";

/// Where the stage sends the user.
enum Target {
    Url(String),
    Flow(Flow),
}

/// Redirects to the override, else to the configured target.
pub async fn challenge(sc: &mut StageCtx<'_>, s: &RedirectSettings) -> FlowResult<Show> {
    let target = match override_target(sc).await? {
        Some(t) => t,
        None => match s.mode {
            RedirectMode::Static => Target::Url(match s.target_static.as_str() {
                "" => "/".to_string(),
                target => target.to_string(),
            }),
            RedirectMode::Flow => {
                let flow = match s.target_flow.as_deref().filter(|id| !id.is_empty()) {
                    Some(id) => {
                        let mut conn = sc.env.store.read().await?;
                        store::flows::get(&mut conn, id).await?
                    }
                    None => None,
                };
                match flow {
                    Some(f) => Target::Flow(f),
                    None => {
                        return Ok(Show::Deny(
                            "No target found for Redirect stage: its target flow may have been \
                             deleted. Ask an administrator to choose the stage's target_flow."
                                .into(),
                        ));
                    }
                }
            }
        },
    };
    let to = match target {
        Target::Url(url) => url,
        Target::Flow(flow) => match switch_flow(sc, &flow, s.keep_context).await? {
            Ok(to) => to,
            Err(message) => return Ok(Show::Deny(message)),
        },
    };
    Ok(Show::Challenge(ChallengeKind::Redirect { to }))
}

/// The plan's `redirect_stage_target`: a URL, or a flow when it is `ak-flow://<slug>` and the
/// flow exists (a missing flow falls back to the stage's own target, as authentik does).
async fn override_target(sc: &StageCtx<'_>) -> FlowResult<Option<Target>> {
    let Some(raw) = sc
        .plan
        .context
        .extra
        .get(REDIRECT_STAGE_TARGET)
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    else {
        return Ok(None);
    };
    let Some(slug) = raw.strip_prefix(FLOW_SCHEME) else {
        return Ok(Some(Target::Url(raw.to_string())));
    };
    let slug = slug.trim_end_matches('/');
    let mut conn = sc.env.store.read().await?;
    Ok(store::flows::get_by_slug(&mut conn, slug)
        .await?
        .map(Target::Flow))
}

/// Plans `flow` into the session (an [`Effect::StartPlan`]) and answers its page's URL; the
/// planner's refusal is returned as the message to deny with.
async fn switch_flow(
    sc: &mut StageCtx<'_>,
    flow: &Flow,
    keep_context: bool,
) -> FlowResult<Result<String, String>> {
    let here = &sc.plan.context;
    let mut context = if keep_context {
        here.clone()
    } else {
        // What authentik keeps outside the plan (the session's query and `next`) survives.
        FlowContext {
            redirect: here.redirect.clone(),
            query: here.query.clone(),
            client_ip: here.client_ip.clone(),
            ..Default::default()
        }
    };
    context
        .extra
        .insert(IS_REDIRECTED.into(), Value::String(sc.flow.slug.clone()));
    let query = context.query.clone();
    match planner::plan(sc.env, flow, context).await? {
        PlanOutcome::Planned(plan) => {
            sc.effects.push(Effect::StartPlan {
                slug: flow.slug.clone(),
                plan,
            });
            Ok(Ok(flow_page_url(&flow.slug, &query)))
        }
        PlanOutcome::Denied(messages) => Ok(Err(messages.join(" "))),
    }
}
