//! An administrator's help for a user who cannot sign in (authentik's user actions "Create
//! recovery link" and "Send recovery email"): both plan the default brand's recovery flow with
//! the user as the pending user and store the plan as a single-use flow token; the link resumes
//! it (so the recovery flow skips identification and the email check) and lets the user choose
//! a new password. The link is either handed over by the admin or emailed by the recovery
//! flow's email stage.

use serde_json::json;

use super::inspect::flow_error;
use super::{Service, ServiceError, ServiceResult};
use crate::domain::{Flow, StageSettings, User};
use crate::flows::planner::{self, PlanOutcome};
use crate::flows::stages::{self, LinkMail};
use crate::flows::{Env, FlowContext, Plan, flow_token, lookup};
use crate::store::{self, flow_tokens};

/// A recovery link to hand over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryLink {
    /// The absolute URL (`…/if/flow/<recovery>/?flow_token=…`); the only copy of the key.
    pub url: String,
    /// Unix seconds after which it no longer works.
    pub expires_at: i64,
}

/// How long a handed-over link works unless the caller says otherwise (authentik's default
/// `token_duration` for this action is 30 minutes too short for a link passed on by hand).
pub const DEFAULT_LINK_LIFETIME: i64 = 24 * 3600;

/// The recovery flow planned for one user.
struct PlannedRecovery {
    env: Env,
    flow: Flow,
    plan: Plan,
    user: User,
}

impl Service {
    /// authentik's "Create recovery link": a single-use link into the brand's recovery flow for
    /// `user_id`, valid for `valid_for` seconds, to hand over when no email can be sent. Refused
    /// when the brand has no recovery flow or the flow does not apply to the user.
    pub async fn create_recovery_link(
        &self,
        user_id: &str,
        valid_for: i64,
    ) -> ServiceResult<RecoveryLink> {
        let r = self.plan_recovery(user_id).await?;
        let issued = flow_token::issue(
            &r.env,
            flow_token::Issue {
                flow: &r.flow,
                plan: &r.plan,
                user_id: &r.user.id,
                purpose: flow_tokens::PURPOSE_RECOVERY,
                lifetime: valid_for.max(1),
            },
        )
        .await
        .map_err(flow_error)?;
        let (key, expires_at) =
            issued.ok_or_else(|| ServiceError::Refused("no link in a dry run".into()))?;
        r.env
            .event(
                "custom_recovery_link_created",
                &r.user.username,
                Some(&r.user.id),
                json!({"flow": r.flow.slug, "expires": expires_at}),
            )
            .await
            .map_err(flow_error)?;
        Ok(RecoveryLink {
            url: flow_token::link(self.context().public_url(), &r.flow.slug, &key),
            expires_at,
        })
    }

    /// authentik's "Send recovery email": emails `user_id` a recovery link through the brand's
    /// recovery flow's email stage (its subject, template and expiry) and the server's SMTP
    /// configuration. Returns the address it went to. A failure to send is refused with the
    /// reason and recorded as a `configuration_error` event.
    pub async fn send_recovery_email(&self, user_id: &str) -> ServiceResult<String> {
        let r = self.plan_recovery(user_id).await?;
        if r.user.email.trim().is_empty() {
            return Err(ServiceError::Refused(format!(
                "{} has no email address; create a recovery link instead",
                r.user.username
            )));
        }
        let stage = self.email_stage_of(&r).await?;
        let StageSettings::Email(settings) = &stage.settings else {
            return Err(ServiceError::Refused("no email stage".into()));
        };
        let mail = LinkMail {
            env: &r.env,
            flow: &r.flow,
            stage_name: &stage.name,
            settings,
            user: &r.user,
            plan: &r.plan,
            purpose: flow_tokens::PURPOSE_RECOVERY,
            lifetime: settings.token_expiry_seconds(),
        };
        match stages::send_link_mail(mail).await.map_err(flow_error)? {
            Ok(()) => Ok(r.user.email.clone()),
            Err(e) => Err(ServiceError::Refused(format!(
                "the email was not sent: {e}"
            ))),
        }
    }

    /// Plans the default brand's recovery flow for the user, as an anonymous visitor would
    /// start it (an empty flow is allowed, as authentik's action allows it).
    async fn plan_recovery(&self, user_id: &str) -> ServiceResult<PlannedRecovery> {
        let ctx = self.context();
        let user = {
            let mut conn = self.store().read().await?;
            store::users::get(&mut conn, user_id)
                .await?
                .ok_or_else(|| ServiceError::NotFound("the user".into()))?
        };
        let brand = lookup::default_brand(ctx).await?;
        let flow_id = brand
            .and_then(|b| b.flow_recovery_id)
            .ok_or_else(|| ServiceError::Refused("No recovery flow set.".into()))?;
        let flow = {
            let mut conn = self.store().read().await?;
            store::flows::get(&mut conn, &flow_id)
                .await?
                .ok_or_else(|| ServiceError::Refused("No recovery flow set.".into()))?
        };
        let env = Env::new(ctx, "", None);
        let context = FlowContext {
            pending_user: Some(user.id.clone()),
            pending_user_identifier: Some(user.username.clone()),
            allow_empty: true,
            ..Default::default()
        };
        match planner::plan(&env, &flow, context)
            .await
            .map_err(flow_error)?
        {
            PlanOutcome::Planned(plan) => Ok(PlannedRecovery {
                env,
                flow,
                plan: *plan,
                user,
            }),
            PlanOutcome::Denied(_) => Err(ServiceError::Refused(
                "Recovery flow not applicable to user".into(),
            )),
        }
    }

    /// The first email stage in the planned recovery flow.
    async fn email_stage_of(&self, r: &PlannedRecovery) -> ServiceResult<crate::domain::Stage> {
        for planned in &r.plan.stages {
            let stage = stages::load(&r.env, &planned.stage_id)
                .await
                .map_err(flow_error)?;
            if matches!(stage.settings, StageSettings::Email(_)) {
                return Ok(stage);
            }
        }
        Err(ServiceError::Refused(format!(
            "the recovery flow {} has no email stage; create a recovery link instead",
            r.flow.slug
        )))
    }
}
