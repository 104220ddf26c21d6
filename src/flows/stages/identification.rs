//! Identification: who is logging in, by username and/or email (case-insensitive by default).
//! With `pretend_user_exists` an unknown user gets the same next challenge, and an embedded
//! password check costs the same time (`verify_dummy`), so accounts cannot be enumerated.
//! The enrollment, recovery and password-less flows are linked with the query the flow was
//! opened with; `show_matched_user` decides whether later stages name the matched account or
//! what was typed.

use super::{Reply, Show, StageCtx, flow_url, password};
use crate::domain::IdentificationSettings;
use crate::flows::FlowResult;
use crate::flows::challenge::{ChallengeKind, Response};
use crate::flows::flow_token::IS_RESTORED;
use crate::store::{self, logins};

/// The fields matched; none selected means the username (latchkey has no sources to offer).
fn user_fields(s: &IdentificationSettings) -> Vec<String> {
    if s.user_fields.is_empty() {
        vec!["username".into()]
    } else {
        s.user_fields.clone()
    }
}

/// Asks for the identifier (and the password when a password stage is embedded), linking the
/// password-less and recovery flows when the stage names them; passes a restored plan that
/// knows its user.
pub async fn challenge(sc: &StageCtx<'_>, s: &IdentificationSettings) -> FlowResult<Show> {
    // A plan resumed from a flow token was made for its user: nobody is asked who they are.
    let restored = sc.plan.context.extra.contains_key(IS_RESTORED);
    if restored && sc.plan.context.pending_user.is_some() {
        return Ok(Show::Next);
    }
    Ok(Show::Challenge(ChallengeKind::Identification {
        user_fields: user_fields(s),
        password_fields: s.password_stage.is_some(),
        enable_remember_me: s.enable_remember_me,
        show_source_labels: s.show_source_labels,
        enroll_url: flow_url(sc, s.enrollment_flow.as_deref()).await?,
        passwordless_url: flow_url(sc, s.passwordless_flow.as_deref()).await?,
        recovery_url: flow_url(sc, s.recovery_flow.as_deref()).await?,
    }))
}

/// Matches the identifier; an unknown or inactive user continues anonymously when pretending.
pub async fn respond(
    sc: &mut StageCtx<'_>,
    s: &IdentificationSettings,
    r: &Response,
) -> FlowResult<Reply> {
    let uid = r.get("uid_field").map(str::trim).unwrap_or("");
    if uid.is_empty() || uid.len() > 256 {
        return Ok(Reply::invalid("uid_field", "This field is required."));
    }
    let case_insensitive = s.case_insensitive_matching;
    let mut found = None;
    let mut matched_username = None;
    {
        let mut conn = sc.env.store.read().await?;
        for field in user_fields(s) {
            if let Some(id) = logins::find_user_id(&mut conn, &field, uid, case_insensitive).await?
            {
                if let Some(user) = store::users::get(&mut conn, &id)
                    .await?
                    .filter(|u| u.is_active)
                {
                    matched_username = Some(user.username);
                    found = Some(id);
                }
                break;
            }
        }
    }
    let embedded = s.password_stage.is_some();
    if found.is_none() && !embedded {
        // authentik's identification_failed: an unknown identifier lowers its reputation.
        crate::flows::policy::record_failed_login(sc.env, uid).await?;
    }
    if found.is_none() && !s.pretend_user_exists && !embedded {
        return Ok(Reply::invalid("uid_field", "Failed to authenticate."));
    }
    let remember =
        s.enable_remember_me && matches!(r.get("remember_me"), Some("true" | "on" | "1"));
    sc.plan
        .context
        .extra
        .insert("remember_me".into(), serde_json::Value::Bool(remember));
    sc.plan.context.pending_user = found.clone();
    // authentik's `get_pending_user(for_display)`: the matched account's username when the
    // stage shows the matched user, else (and for an unknown identifier) what was typed.
    sc.plan.context.pending_user_identifier = match matched_username {
        Some(username) if s.show_matched_user => Some(username),
        _ => Some(uid.to_string()),
    };
    if embedded {
        let pw = r.get("password").unwrap_or("");
        let backends = embedded_backends(sc, s).await?;
        match password::verify_user_password(sc.env, found.as_deref(), uid, pw, backends).await? {
            password::PasswordCheck::Right => {
                sc.plan.context.auth_methods.push("password".into());
            }
            password::PasswordCheck::AppPassword => {
                sc.plan.context.auth_methods.push("app_password".into());
            }
            password::PasswordCheck::Wrong => {
                return Ok(Reply::invalid("password", "Failed to authenticate."));
            }
            password::PasswordCheck::Throttled(message) => {
                return Ok(Reply::invalid("password", &message));
            }
        }
    }
    Ok(Reply::Next)
}

/// The backends of the embedded password stage (authentik checks the password against them);
/// the user database when the stage is gone or is not a password stage.
async fn embedded_backends(
    sc: &StageCtx<'_>,
    s: &IdentificationSettings,
) -> FlowResult<password::Backends> {
    let Some(id) = s.password_stage.as_deref() else {
        return Ok(password::Backends::INBUILT);
    };
    let mut conn = sc.env.store.read().await?;
    Ok(
        match store::stages::get(&mut conn, id)
            .await?
            .map(|st| st.settings)
        {
            Some(crate::domain::StageSettings::Password(p)) => password::Backends::of(&p.backends),
            _ => password::Backends::INBUILT,
        },
    )
}
