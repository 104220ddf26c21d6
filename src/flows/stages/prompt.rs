//! Prompt: typed fields (text, email, password, number, checkbox, hidden, static…) collected
//! into `prompt_data`, then the stage's `validation_policies`. As authentik's prompt stage: a
//! field's placeholder and initial value may be Python expressions (`placeholder_expression`,
//! `initial_value_expression`) evaluated with `request`, `user` and `prompt_context` when the
//! field is shown; a value already in `prompt_data` is the initial value; `static` fields show
//! their initial value as text and answer nothing; two password fields must match.

use std::sync::LazyLock;

use serde_json::{Value, json};

use super::{Reply, Show, StageCtx};
use crate::domain::{Prompt, PromptSettings};
use crate::expr::python::{self, Cache, Input, Limits, Signature};
use crate::flows::FlowResult;
use crate::flows::challenge::{ChallengeKind, PromptField, Response};
use crate::flows::policy::{PolicyRequest, StoreHost, evaluate_policy, request_facts};
use crate::store;

/// Compiled placeholder and initial-value expressions by text.
static PROGRAMS: LazyLock<Cache> = LazyLock::new(Cache::default);

/// The field types that show something but answer nothing.
const DISPLAY_ONLY: &[&str] = &["static", "separator"];

/// The stage's prompts, by order.
async fn prompts(sc: &StageCtx<'_>, s: &PromptSettings) -> FlowResult<Vec<Prompt>> {
    let all = {
        let mut conn = sc.env.store.read().await?;
        store::stages::list_prompts(&mut conn).await?
    };
    let mut out: Vec<Prompt> = all
        .into_iter()
        .filter(|p| s.lists_prompt(&p.id, Some(&p.name)))
        .collect();
    out.sort_by_key(|p| p.order);
    Ok(out)
}

/// A field as the challenge shows it, before any expression is evaluated.
fn field(p: Prompt) -> PromptField {
    PromptField {
        field_key: p.field_key,
        label: p.label,
        field_type: p.field_type,
        required: p.required,
        placeholder: p.placeholder,
        initial_value: p.initial_value,
        sub_text: p.sub_text,
        order: p.order,
    }
}

/// What an expression's value shows as: text as it is, `None` as nothing, anything else as
/// its JSON text.
fn shown(value: &python::Value) -> String {
    match value {
        python::Value::None => String::new(),
        python::Value::Str(s) => s.clone(),
        other => match other.to_json() {
            Value::String(s) => s,
            j => j.to_string(),
        },
    }
}

/// Evaluates a placeholder or initial-value expression of the field `key`. A failing
/// expression shows nothing (authentik logs it and goes on; latchkey does not show the
/// expression's source to the visitor) and is logged with the field's key.
async fn evaluate(sc: &StageCtx<'_>, req: &PolicyRequest, key: &str, source: &str) -> String {
    let program = match PROGRAMS.program(source, &Signature::prompt()) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(field = %key, error = %e, "prompt expression refused");
            return String::new();
        }
    };
    let prompt_context = req
        .context
        .prompt_data
        .iter()
        .map(|(k, v)| (k.clone(), python::Value::from(v)));
    let input = Input {
        request: request_facts(req, sc.env),
        vars: vec![("prompt_context".into(), python::Value::dict(prompt_context))],
        now: sc.env.now,
        ..Input::default()
    };
    // A prompt default may call a policy (`ak_call_policy`): it gets a policy's usual limit.
    let host = StoreHost {
        env: sc.env,
        req,
        timeout: std::time::Duration::from_secs(30),
    };
    let outcome = python::evaluate(&program, &input, Limits::MAPPING, &host).await;
    match &outcome.result {
        Ok(v) => shown(v),
        Err(e) => {
            tracing::warn!(field = %key, error = %e, "prompt expression failed");
            String::new()
        }
    }
}

/// The fields with their placeholders and initial values as the visitor sees them.
async fn shown_fields(sc: &StageCtx<'_>, s: &PromptSettings) -> FlowResult<Vec<PromptField>> {
    let prompts = prompts(sc, s).await?;
    let needs_request = prompts
        .iter()
        .any(|p| p.placeholder_expression || p.initial_value_expression);
    let req = if needs_request {
        Some(PolicyRequest::load(sc.env, sc.user_id().as_deref(), &sc.plan.context).await?)
    } else {
        None
    };
    let mut out = Vec::with_capacity(prompts.len());
    for p in prompts {
        let (placeholder_expr, initial_expr) =
            (p.placeholder_expression, p.initial_value_expression);
        let prefilled = sc.plan.context.prompt_data.get(&p.field_key).cloned();
        let mut f = field(p);
        if let Some(req) = &req {
            if placeholder_expr {
                f.placeholder = evaluate(sc, req, &f.field_key, &f.placeholder).await;
            }
            if initial_expr && prefilled.is_none() {
                f.initial_value = evaluate(sc, req, &f.field_key, &f.initial_value).await;
            }
        }
        // As authentik: what the flow already collected for this key is the initial value
        // (never for a password, which is not shown back).
        if let Some(v) = prefilled.filter(|_| f.field_type != "password") {
            f.initial_value = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
        }
        out.push(f);
    }
    Ok(out)
}

/// Shows the fields.
pub async fn challenge(sc: &mut StageCtx<'_>, s: &PromptSettings) -> FlowResult<Show> {
    Ok(Show::Challenge(ChallengeKind::Prompt {
        fields: shown_fields(sc, s).await?,
    }))
}

fn check(f: &PromptField, raw: Option<&str>) -> Result<Option<Value>, String> {
    let v = raw.unwrap_or("").trim_end_matches(['\r', '\n']);
    let empty = v.trim().is_empty();
    if DISPLAY_ONLY.contains(&f.field_type.as_str()) {
        return Ok(None);
    }
    if f.field_type == "checkbox" {
        return Ok(Some(json!(matches!(v, "true" | "on" | "1"))));
    }
    if empty {
        return if f.required {
            Err("This field is required.".into())
        } else {
            Ok(None)
        };
    }
    if v.len() > 4096 {
        return Err("This value is too long.".into());
    }
    match f.field_type.as_str() {
        "email" if !(v.contains('@') && !v.starts_with('@') && !v.ends_with('@')) => {
            Err("Enter a valid email address.".into())
        }
        "number" => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(|n| Some(json!(n)))
            .ok_or_else(|| "Enter a number.".into()),
        "username" if v.chars().any(char::is_whitespace) => {
            Err("Usernames may not contain spaces.".into())
        }
        _ => Ok(Some(json!(v))),
    }
}

/// The field that reports two password fields that differ: the second of them (authentik
/// compares `password` with `password_repeat`, and every password field with the others).
fn password_mismatch(
    fields: &[PromptField],
    data: &serde_json::Map<String, Value>,
) -> Option<String> {
    let mut passwords = fields
        .iter()
        .filter(|f| f.field_type == "password" || f.field_key == "password_repeat")
        .filter_map(|f| data.get(&f.field_key).map(|v| (&f.field_key, v)));
    let (_, first) = passwords.next()?;
    passwords
        .find(|(_, v)| *v != first)
        .map(|(key, _)| key.clone())
}

/// Validates every field, then the validation policies.
pub async fn respond(sc: &mut StageCtx<'_>, s: &PromptSettings, r: &Response) -> FlowResult<Reply> {
    let fields: Vec<PromptField> = prompts(sc, s).await?.into_iter().map(field).collect();
    let mut data = serde_json::Map::new();
    for f in &fields {
        match check(f, r.get(&f.field_key)) {
            Ok(Some(v)) => {
                data.insert(f.field_key.clone(), v);
            }
            Ok(None) => {}
            Err(msg) => return Ok(Reply::invalid(&f.field_key, &msg)),
        }
    }
    if let Some(key) = password_mismatch(&fields, &data) {
        return Ok(Reply::invalid(&key, "Passwords don't match."));
    }
    let mut ctx = sc.plan.context.clone();
    for (k, v) in &data {
        ctx.prompt_data.insert(k.clone(), v.clone());
    }
    if !s.validation_policies.is_empty() {
        let user = sc.user_id();
        let req = PolicyRequest::load(sc.env, user.as_deref(), &ctx).await?;
        for id in &s.validation_policies {
            let policy = {
                let mut conn = sc.env.store.read().await?;
                store::policies::get(&mut conn, id).await?
            };
            let Some(policy) = policy else { continue };
            match evaluate_policy(sc.env, &policy, &req, std::time::Duration::from_secs(30)).await {
                Ok((true, _)) => {}
                Ok((false, msgs)) => {
                    let msg = msgs.join(" ");
                    let msg = if msg.is_empty() {
                        "Invalid input.".to_string()
                    } else {
                        msg
                    };
                    return Ok(Reply::invalid("non_field_errors", &msg));
                }
                Err(e) => return Ok(Reply::invalid("non_field_errors", e.user_message())),
            }
        }
    }
    sc.plan.context = ctx;
    Ok(Reply::Next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(key: &str, kind: &str, required: bool) -> PromptField {
        PromptField {
            field_key: key.into(),
            label: key.into(),
            field_type: kind.into(),
            required,
            placeholder: String::new(),
            initial_value: String::new(),
            sub_text: String::new(),
            order: 0,
        }
    }

    #[test]
    fn static_and_separator_fields_answer_nothing_even_when_required() {
        for kind in ["static", "separator"] {
            assert_eq!(check(&f("header", kind, true), None), Ok(None), "{kind}");
            assert_eq!(
                check(&f("header", kind, true), Some("x")),
                Ok(None),
                "{kind}"
            );
        }
    }

    #[test]
    fn required_email_and_password_fields() {
        assert!(check(&f("email", "email", true), None).is_err());
        assert!(check(&f("email", "email", true), Some("nobody")).is_err());
        assert_eq!(
            check(&f("email", "email", true), Some("a@example.org")),
            Ok(Some(json!("a@example.org")))
        );
        assert_eq!(
            check(&f("password", "password", true), Some("pw")),
            Ok(Some(json!("pw")))
        );
    }

    #[test]
    fn differing_passwords_are_reported_at_the_repeat_field() {
        let fields = [
            f("password", "password", true),
            f("password_repeat", "password", true),
        ];
        let data = |a: &str, b: &str| {
            let mut m = serde_json::Map::new();
            m.insert("password".into(), json!(a));
            m.insert("password_repeat".into(), json!(b));
            m
        };
        assert_eq!(
            password_mismatch(&fields, &data("one", "two")).as_deref(),
            Some("password_repeat")
        );
        assert_eq!(password_mismatch(&fields, &data("same", "same")), None);
        assert_eq!(password_mismatch(&fields[..1], &data("one", "two")), None);
    }

    #[test]
    fn expression_values_show_as_text() {
        assert_eq!(shown(&python::Value::None), "");
        assert_eq!(shown(&python::Value::str("x")), "x");
        assert_eq!(shown(&python::Value::Int(3)), "3");
    }
}
