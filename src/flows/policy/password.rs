//! Password policies as authentik's `PasswordPolicy` runs them, in its order, stopping at the
//! first check that fails: the static rules (length and character classes, when
//! `check_static_rules`), Have I Been Pwned (`check_have_i_been_pwned`: fails when the password
//! is listed more than `hibp_allowed_count` times; an unreachable service is an error, never a
//! pass) and zxcvbn (`check_zxcvbn`: fails when the score is at or below
//! `zxcvbn_score_threshold`).

use serde_json::{Value, json};

use super::hibp::{self, HibpError};
use super::{PolicyError, PolicyRequest};
use crate::domain::PasswordPolicySettings;
use crate::flows::actions;
use crate::flows::env::Env;

/// authentik's message when a static rule fails and `error_message` is empty.
const STATIC_FALLBACK: &str = "Invalid password.";

/// authentik gives zxcvbn at most this many characters (longer ones score high anyway).
const ZXCVBN_MAX_CHARS: usize = 72;

/// Checks the password in the context (`password_field` from prompt data). `policy` names the
/// policy in the `configuration_error` event an unreachable breach service records.
pub async fn passes(
    env: &Env,
    policy: &str,
    s: &PasswordPolicySettings,
    req: &PolicyRequest,
) -> Result<(bool, Vec<String>), PolicyError> {
    let Some(Value::String(pw)) = req.context.prompt_data.get(&s.password_field) else {
        return Ok((false, vec!["Password not set in context".into()]));
    };
    if pw.is_empty() {
        return Ok((false, vec!["Password not set in context".into()]));
    }
    if s.check_static_rules && !passes_static(s, pw) {
        let msg = if s.error_message.is_empty() {
            STATIC_FALLBACK
        } else {
            s.error_message.as_str()
        };
        return Ok((false, vec![msg.to_string()]));
    }
    if s.check_have_i_been_pwned {
        match hibp::pwned_count(&env.hibp_url, pw).await {
            Ok(count) if count > s.hibp_allowed_count => {
                return Ok((
                    false,
                    vec![format!("Password exists on {count} online lists.")],
                ));
            }
            Ok(_) => {}
            Err(e) => return Err(unreachable(env, policy, req, e).await),
        }
    }
    if s.check_zxcvbn {
        let (passing, messages) = passes_zxcvbn(s, pw, req);
        if !passing {
            return Ok((false, messages));
        }
    }
    Ok((true, Vec::new()))
}

/// Length and character classes (authentik counts ASCII letters and digits).
fn passes_static(s: &PasswordPolicySettings, pw: &str) -> bool {
    let count = |f: &dyn Fn(char) -> bool| pw.chars().filter(|c| f(*c)).count() as i64;
    pw.chars().count() as i64 >= s.length_min
        && count(&|c| c.is_uppercase()) >= s.amount_uppercase
        && count(&|c| c.is_lowercase()) >= s.amount_lowercase
        && count(&|c| c.is_ascii_digit()) >= s.amount_digits
        && count(&|c| s.symbol_charset.contains(c)) >= s.amount_symbols
}

/// zxcvbn over the first 72 characters, with the user's username, name and email as the
/// words a guesser would try first. Fails when the score is at or below the threshold, with
/// authentik's "Password is too weak." and zxcvbn's suggestions.
fn passes_zxcvbn(s: &PasswordPolicySettings, pw: &str, req: &PolicyRequest) -> (bool, Vec<String>) {
    let head: String = pw.chars().take(ZXCVBN_MAX_CHARS).collect();
    let inputs: Vec<&str> = req
        .user
        .iter()
        .flat_map(|u| [u.username.as_str(), u.name.as_str(), u.email.as_str()])
        .filter(|i| !i.is_empty())
        .collect();
    let estimate = zxcvbn::zxcvbn(&head, &inputs);
    let score = i64::from(u8::from(estimate.score()));
    if score > s.zxcvbn_score_threshold {
        return (true, Vec::new());
    }
    let mut messages = vec!["Password is too weak.".to_string()];
    if let Some(feedback) = estimate.feedback() {
        messages.extend(feedback.suggestions().iter().map(ToString::to_string));
    }
    (false, messages)
}

/// Records the unreachable service as `configuration_error` and answers the policy error the
/// stage shows.
async fn unreachable(env: &Env, policy: &str, req: &PolicyRequest, e: HibpError) -> PolicyError {
    tracing::warn!(policy, error = %e, "password policy: breach check failed");
    let username = req.user.as_ref().map(|u| u.username.as_str()).unwrap_or("");
    let context = json!({"policy": policy, "message": e.to_string()});
    if let Err(err) = env
        .event(
            actions::CONFIGURATION_ERROR,
            username,
            req.user.as_ref().map(|u| u.id.as_str()),
            context,
        )
        .await
    {
        tracing::warn!(error = %err, "cannot record configuration_error");
    }
    PolicyError::Unavailable(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(json: Value) -> PasswordPolicySettings {
        serde_json::from_value(json).expect("settings")
    }

    #[test]
    fn static_rules_count_length_and_classes() {
        let s = settings(json!({"length_min": 8, "amount_digits": 1, "amount_uppercase": 1}));
        assert!(passes_static(&s, "Abcdefg1"));
        assert!(!passes_static(&s, "abcdefg1"), "amount_uppercase");
        assert!(!passes_static(&s, "Abcdefgh"), "amount_digits");
        assert!(!passes_static(&s, "Abc1"), "length_min");
        let s = settings(json!({"amount_lowercase": 2}));
        assert!(passes_static(&s, "ABcd"));
        assert!(!passes_static(&s, "ABCd"), "amount_lowercase");
        let s = settings(json!({"amount_symbols": 2}));
        assert!(
            passes_static(&s, "a!b c"),
            "the default charset has the space"
        );
        assert!(!passes_static(&s, "a!bc"), "amount_symbols");
        let s = settings(json!({"amount_symbols": 1, "symbol_charset": "#"}));
        assert!(passes_static(&s, "a#"));
        assert!(!passes_static(&s, "a!"), "symbol_charset");
    }

    fn request() -> PolicyRequest {
        PolicyRequest {
            user: None,
            groups: Vec::new(),
            authenticators: 0,
            context: Default::default(),
            expr_user: None,
            call_depth: 0,
        }
    }

    #[test]
    fn zxcvbn_fails_at_or_below_the_threshold_as_authentik() {
        // "password" scores 0; a long random phrase scores 4.
        let at = |threshold: i64, pw: &str| {
            let s = settings(json!({"check_zxcvbn": true, "zxcvbn_score_threshold": threshold}));
            passes_zxcvbn(&s, pw, &request())
        };
        let (passing, messages) = at(2, "password");
        assert!(!passing);
        assert_eq!(messages[0], "Password is too weak.");
        assert!(at(3, "correct-horse-battery-staple-9Zq!").0);
        assert!(
            !at(4, "correct-horse-battery-staple-9Zq!").0,
            "score 4 is not above 4"
        );
    }
}
