//! Password strength policies: length and character classes (authentik's field names).

use serde_json::Value;

use super::{PolicyError, PolicyRequest, setting_i64, setting_str};
use crate::domain::Policy;

/// Checks the password in the context (`password_field`, default `password`, from prompt data).
pub fn passes(policy: &Policy, req: &PolicyRequest) -> Result<(bool, Vec<String>), PolicyError> {
    let field = setting_str(policy, "password_field").unwrap_or("password");
    let Some(Value::String(pw)) = req.context.prompt_data.get(field) else {
        return Ok((false, vec!["Password not set in context".into()]));
    };
    let symbols = setting_str(policy, "symbol_charset")
        .unwrap_or("!\\\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ ")
        .to_string();
    let count = |f: &dyn Fn(char) -> bool| pw.chars().filter(|c| f(*c)).count() as i64;
    let ok = pw.chars().count() as i64 >= setting_i64(policy, "length_min", 0)
        && count(&|c| c.is_uppercase()) >= setting_i64(policy, "amount_uppercase", 0)
        && count(&|c| c.is_lowercase()) >= setting_i64(policy, "amount_lowercase", 0)
        && count(&|c| c.is_ascii_digit()) >= setting_i64(policy, "amount_digits", 0)
        && count(&|c| symbols.contains(c)) >= setting_i64(policy, "amount_symbols", 0);
    if ok {
        Ok((true, Vec::new()))
    } else {
        let msg = setting_str(policy, "error_message")
            .filter(|m| !m.is_empty())
            .unwrap_or("Password does not meet the requirements.");
        Ok((false, vec![msg.to_string()]))
    }
}
