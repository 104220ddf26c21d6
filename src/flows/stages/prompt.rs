//! Prompt: typed fields (text, email, password, number, checkbox, hidden…) collected into
//! `prompt_data`, then the stage's `validation_policies`.

use serde_json::{Value, json};

use super::{Reply, Show, StageCtx};
use crate::domain::PromptSettings;
use crate::flows::FlowResult;
use crate::flows::challenge::{ChallengeKind, PromptField, Response};
use crate::flows::policy::{PolicyRequest, evaluate_policy};
use crate::store;

async fn fields(sc: &StageCtx<'_>, s: &PromptSettings) -> FlowResult<Vec<PromptField>> {
    let all = {
        let mut conn = sc.env.store.read().await?;
        store::stages::list_prompts(&mut conn).await?
    };
    let mut out: Vec<PromptField> = all
        .into_iter()
        .filter(|p| s.lists_prompt(&p.id, Some(&p.name)))
        .map(|p| PromptField {
            field_key: p.field_key,
            label: p.label,
            field_type: p.field_type,
            required: p.required,
            placeholder: p.placeholder,
            initial_value: p.initial_value,
            sub_text: p.sub_text,
            order: p.order,
        })
        .collect();
    out.sort_by_key(|f| f.order);
    Ok(out)
}

/// Shows the fields.
pub async fn challenge(sc: &mut StageCtx<'_>, s: &PromptSettings) -> FlowResult<Show> {
    Ok(Show::Challenge(ChallengeKind::Prompt {
        fields: fields(sc, s).await?,
    }))
}

fn check(f: &PromptField, raw: Option<&str>) -> Result<Option<Value>, String> {
    let v = raw.unwrap_or("").trim_end_matches(['\r', '\n']);
    let empty = v.trim().is_empty();
    match f.field_type.as_str() {
        "static" | "separator" => return Ok(None),
        "checkbox" => return Ok(Some(json!(matches!(v, "true" | "on" | "1")))),
        _ => {}
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

/// Validates every field, then the validation policies.
pub async fn respond(sc: &mut StageCtx<'_>, s: &PromptSettings, r: &Response) -> FlowResult<Reply> {
    let fields = fields(sc, s).await?;
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
    if let (Some(a), Some(b)) = (data.get("password"), data.get("password_repeat"))
        && a != b
    {
        return Ok(Reply::invalid("password_repeat", "Passwords don't match."));
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
                Err(_) => return Ok(Reply::invalid("non_field_errors", "Validation failed.")),
            }
        }
    }
    sc.plan.context = ctx;
    Ok(Reply::Next)
}
