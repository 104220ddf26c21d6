//! Password strength policies: length and character classes (authentik's field names).

use serde_json::Value;

use super::{PolicyError, PolicyRequest};
use crate::domain::PasswordPolicySettings;

/// Checks the password in the context (`password_field` from prompt data).
pub fn passes(
    s: &PasswordPolicySettings,
    req: &PolicyRequest,
) -> Result<(bool, Vec<String>), PolicyError> {
    let Some(Value::String(pw)) = req.context.prompt_data.get(&s.password_field) else {
        return Ok((false, vec!["Password not set in context".into()]));
    };
    let symbols = &s.symbol_charset;
    let count = |f: &dyn Fn(char) -> bool| pw.chars().filter(|c| f(*c)).count() as i64;
    let ok = pw.chars().count() as i64 >= s.length_min
        && count(&|c| c.is_uppercase()) >= s.amount_uppercase
        && count(&|c| c.is_lowercase()) >= s.amount_lowercase
        && count(&|c| c.is_ascii_digit()) >= s.amount_digits
        && count(&|c| symbols.contains(c)) >= s.amount_symbols;
    if ok {
        Ok((true, Vec::new()))
    } else {
        let msg = if s.error_message.is_empty() {
            "Password does not meet the requirements."
        } else {
            s.error_message.as_str()
        };
        Ok((false, vec![msg.to_string()]))
    }
}
