//! Field-level validation errors, so the console can mark the exact field and the importer can
//! name the exact attribute.

use std::fmt;

/// One invalid field and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name as the object declares it (`slug`, `client_id`, …).
    pub field: String,
    /// A message that tells the admin what to type instead.
    pub message: String,
}

/// Every invalid field of one object; empty means valid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    /// Records an error on `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first message recorded for `field`.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// `Ok(())` when empty, else `Err(self)`.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for FieldErrors {}

/// authentik's slug rule: `^[-a-zA-Z0-9_]+$`, at most 50 characters.
pub fn check_slug(errors: &mut FieldErrors, field: &str, slug: &str) {
    if slug.is_empty() {
        errors.add(field, "required: letters, digits, '-' and '_'");
    } else if slug.len() > 50 {
        errors.add(field, "at most 50 characters");
    } else if !slug
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        errors.add(field, "use only letters, digits, '-' and '_' (no spaces)");
    }
}

/// A required, non-blank text field.
pub fn check_required(errors: &mut FieldErrors, field: &str, value: &str) {
    if value.trim().is_empty() {
        errors.add(field, "required");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_rules() {
        for (slug, ok) in [
            ("default-authentication-flow", true),
            ("a_b-9", true),
            ("", false),
            ("has space", false),
            ("ünï", false),
            (&"x".repeat(51), false),
        ] {
            let mut e = FieldErrors::default();
            check_slug(&mut e, "slug", slug);
            assert_eq!(e.is_empty(), ok, "{slug}");
        }
    }
}
