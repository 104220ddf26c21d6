//! Email (authentik's `EmailStage`): sends the pending user a link carrying a single-use flow
//! token bound to this flow and user, then waits (`ak-stage-email`) until the link is opened,
//! which resumes the stored plan here ([`crate::flows::flow_token`]); the stage then passes,
//! activating the user when `activate_user_on_success`. In a recovery flow an identifier that
//! names nobody gets the same page and no email, so accounts cannot be enumerated. Every failure
//! to send (no or a bad SMTP configuration, an unreachable server, an unknown template) is a
//! `configuration_error` event and an error page, never a hang: sending has a total timeout.
//! One user gets at most `recovery_max_attempts` emails from a stage per
//! `recovery_cache_timeout`; past that the page says to try again later and nothing is sent.

use serde_json::json;

use super::{Reply, Show, StageCtx};
use crate::domain::{EmailSettings, Flow, FlowDesignation, User};
use crate::flows::challenge::ChallengeKind;
use crate::flows::context::Plan;
use crate::flows::env::Env;
use crate::flows::flow_token::{self, IS_RESTORED, Issue};
use crate::flows::{FlowResult, actions};
use crate::mail::{self, MailError, TemplateVars};
use crate::store::{self, Topic, flow_tokens, throttle_buckets};

/// Scratch key: the email went out for this plan (authentik's `email_sent`).
const EMAIL_SENT: &str = "email_sent";

/// Shown when sending failed; the reason is in the `configuration_error` event.
pub const SEND_FAILED: &str =
    "The email could not be sent. Please try again later or contact your administrator.";

/// Passes a plan restored from the link; otherwise sends the email once and waits.
pub async fn challenge(sc: &mut StageCtx<'_>, s: &EmailSettings) -> FlowResult<Show> {
    if sc.plan.context.extra.contains_key(IS_RESTORED) {
        if s.activate_user_on_success {
            activate_pending_user(sc).await?;
        }
        return Ok(Show::Next);
    }
    if sc.scratch(EMAIL_SENT).is_some() {
        return Ok(Show::Challenge(ChallengeKind::Email));
    }
    match send_link(sc, s).await? {
        Ok(()) => {
            sc.set_scratch(EMAIL_SENT, json!(true));
            Ok(Show::Challenge(ChallengeKind::Email))
        }
        Err(message) => Ok(Show::Deny(message)),
    }
}

/// authentik's answer to a submitted email page: the email is sent again (with a new link) and
/// the page stays, since only the link moves the flow on.
pub async fn respond(sc: &mut StageCtx<'_>, s: &EmailSettings) -> FlowResult<Reply> {
    match send_link(sc, s).await? {
        Ok(()) => Ok(Reply::invalid("non_field_errors", "Email sent again.")),
        Err(message) => Ok(Reply::Deny(message)),
    }
}

/// Who the email goes to: the pending user when they exist and are active.
async fn recipient(sc: &StageCtx<'_>) -> FlowResult<Option<User>> {
    let Some(id) = sc.plan.context.pending_user.clone() else {
        return Ok(None);
    };
    let mut conn = sc.env.store.read().await?;
    Ok(store::users::get(&mut conn, &id).await?)
}

/// Sends the email with a fresh link. `Err` is the page's message. A recovery flow without a
/// user to send to (an unknown identifier) pretends to send, as authentik does.
async fn send_link(sc: &mut StageCtx<'_>, s: &EmailSettings) -> FlowResult<Result<(), String>> {
    let recovery = sc.flow.designation == FlowDesignation::Recovery;
    let user = recipient(sc).await?;
    let Some(user) = user.filter(|u| !u.email.trim().is_empty()) else {
        return Ok(if recovery {
            Ok(())
        } else {
            Err("No pending user with an email address.".into())
        });
    };
    if !within_send_limit(sc, s, &user.id).await? {
        return Ok(Err(TOO_MANY_SENDS.into()));
    }
    let mail = LinkMail {
        env: sc.env,
        flow: sc.flow,
        stage_name: &sc.stage.name,
        settings: s,
        user: &user,
        plan: &*sc.plan,
        purpose: flow_tokens::PURPOSE_EMAIL,
        lifetime: s.token_expiry_seconds(),
    };
    Ok(send_link_mail(mail)
        .await?
        .map_err(|_| SEND_FAILED.to_string()))
}

/// Shown instead of sending once `recovery_max_attempts` emails went to one user within
/// `recovery_cache_timeout`.
pub const TOO_MANY_SENDS: &str = "Too many account verification attempts. Please try again later.";

/// Spends one of the user's `recovery_max_attempts` sends of this stage per
/// `recovery_cache_timeout` (a bucket in the store, so every instance counts the same sends);
/// false when they are used up. A dry run spends nothing.
async fn within_send_limit(
    sc: &StageCtx<'_>,
    s: &EmailSettings,
    user_id: &str,
) -> FlowResult<bool> {
    let rate = throttle_buckets::Rate::new(
        u32::try_from(s.recovery_max_attempts).unwrap_or(1),
        u32::try_from(s.recovery_cache_seconds()).unwrap_or(300),
    );
    let Some(mut tx) = sc.env.write_tx("email send counted").await? else {
        return Ok(true);
    };
    let key = format!("email-stage:{}:{user_id}", sc.stage.id);
    let taken = throttle_buckets::take(tx.conn(), &[key], rate, sc.env.now).await?;
    tx.commit().await?;
    Ok(taken == throttle_buckets::Take::Taken)
}

/// One email carrying a link that resumes `plan` for `user`: what the email stage sends, and
/// what "send recovery email" sends for the brand's recovery flow.
pub struct LinkMail<'a> {
    /// The request environment.
    pub env: &'a Env,
    /// The flow the link resumes.
    pub flow: &'a Flow,
    /// The email stage's name (for the events).
    pub stage_name: &'a str,
    /// The email stage's settings (subject, template).
    pub settings: &'a EmailSettings,
    /// Who the email goes to (has an email address).
    pub user: &'a User,
    /// The plan the link resumes.
    pub plan: &'a Plan,
    /// `flow_tokens::PURPOSE_*`.
    pub purpose: &'a str,
    /// Seconds the link works.
    pub lifetime: i64,
}

/// Issues the link's token and sends the email; records `email_sent`, or `configuration_error`
/// with the reason (which names no secret and no link) and returns it. A dry run notes what it
/// would send and sends nothing.
pub async fn send_link_mail(m: LinkMail<'_>) -> FlowResult<Result<(), MailError>> {
    let s = m.settings;
    if let Some(r) = m.env.recorder() {
        r.note(format!("would send '{}' to {}", s.template, m.user.email));
        return Ok(Ok(()));
    }
    // authentik's use_global_settings: the server's SMTP configuration, else the stage's own.
    let smtp = if s.use_global_settings {
        let Some(smtp) = m.env.smtp.clone() else {
            return configuration_error(&m, MailError::NotConfigured).await;
        };
        smtp
    } else {
        mail::SmtpConfig::of_stage(s)
    };
    let issued = flow_token::issue(
        m.env,
        Issue {
            flow: m.flow,
            plan: m.plan,
            user_id: &m.user.id,
            purpose: m.purpose,
            lifetime: m.lifetime,
        },
    )
    .await?;
    let Some((key, expires_at)) = issued else {
        return Ok(Ok(()));
    };
    let vars = TemplateVars {
        url: flow_token::link(&m.env.public_url, &m.flow.slug, &key),
        username: m.user.username.clone(),
        name: m.user.name.clone(),
        expires: expires_text(expires_at),
    };
    let sent = match mail::render(&s.template, &vars) {
        Ok(body) => {
            let email = mail::Email {
                to_name: m.user.name.clone(),
                to_address: m.user.email.clone(),
                subject: s.subject.clone(),
                text: body.text,
                html: body.html,
            };
            mail::send(&smtp, &email).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        return configuration_error(&m, e).await;
    }
    let context = json!({
        "message": "Email sent", "to": m.user.email, "subject": s.subject,
        "template": s.template, "stage": m.stage_name, "flow": m.flow.slug,
    });
    m.env
        .event(
            actions::EMAIL_SENT,
            &m.user.username,
            Some(&m.user.id),
            context,
        )
        .await?;
    Ok(Ok(()))
}

/// Records why the email was not sent and hands the reason back.
async fn configuration_error(
    m: &LinkMail<'_>,
    error: MailError,
) -> FlowResult<Result<(), MailError>> {
    tracing::warn!(stage = %m.stage_name, error = %error, "email not sent");
    let context = json!({
        "message": "Failed to send email", "error": error.to_string(),
        "stage": m.stage_name, "template": m.settings.template, "flow": m.flow.slug,
    });
    m.env
        .event(actions::CONFIGURATION_ERROR, "", None, context)
        .await?;
    Ok(Err(error))
}

/// Activates the pending user (the link proved the address).
async fn activate_pending_user(sc: &StageCtx<'_>) -> FlowResult<()> {
    let Some(mut user) = recipient(sc).await? else {
        return Ok(());
    };
    if user.is_active {
        return Ok(());
    }
    let Some(mut tx) = sc.env.write_tx("activate user").await? else {
        return Ok(());
    };
    user.is_active = true;
    user.updated_at = sc.env.now;
    store::users::update(tx.conn(), &user).await?;
    tx.touch(Topic::All);
    tx.commit().await?;
    Ok(())
}

/// When the link expires, as the email says it (UTC).
fn expires_text(at: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| at.to_string())
}
