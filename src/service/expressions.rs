//! Checking an admin's expression before it is saved, so a syntax error is refused at the
//! field (with its line) instead of failing closed at the first login. Every caller (the
//! console, the service, blueprint application) goes through [`check`]: authentik's Python,
//! compiled by the sandboxed engine with the names its evaluation binds.

use crate::domain::{ExpressionSettings, FieldErrors, Object, PolicySettings};

/// What an expression is for: each engine compiles a policy and a scope mapping with the
/// names its evaluation binds (`request`, `user`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpressionKind {
    /// A policy's expression: returns true or false.
    Policy,
    /// A scope mapping's expression: returns the claims.
    ScopeMapping,
    /// A prompt field's placeholder or initial value (`placeholder_expression`,
    /// `initial_value_expression`): returns the text shown.
    Prompt,
}

/// Why an expression was refused: the line it is on (1-based, when the engine knows it) and
/// what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.shown())]
pub struct ExpressionError {
    /// The line of the admin's source the error is on.
    pub line: Option<u32>,
    /// What is wrong, without the position.
    pub message: String,
}

impl ExpressionError {
    /// `line 2: …` when the line is known, the message alone otherwise.
    fn shown(&self) -> String {
        match self.line {
            Some(line) => format!("line {line}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

/// Compiles `source` as an expression of `kind` (authentik's Python); nothing runs. An empty
/// source is valid (a scope mapping without one adds no claims; a policy's is required by its
/// form).
pub fn check(kind: ExpressionKind, source: &str) -> Result<(), ExpressionError> {
    use crate::expr::python::{Signature, compile};
    if source.trim().is_empty() {
        return Ok(());
    }
    if crate::expr::looks_like_rhai(source) {
        return Err(ExpressionError {
            line: Some(1),
            message: crate::expr::RHAI_REFUSED.into(),
        });
    }
    let signature = match kind {
        ExpressionKind::Policy => Signature::policy(),
        ExpressionKind::ScopeMapping => Signature::scope_mapping(),
        ExpressionKind::Prompt => Signature::prompt(),
    };
    compile(source, &signature)
        .map(|_| ())
        .map_err(|e| ExpressionError {
            line: e.line,
            message: e.message,
        })
}

/// The expressions an object carries, with the form field each is at: an expression
/// policy's and a scope mapping's `expression`, a prompt's `placeholder` and `initial_value`
/// when they are marked as expressions.
pub fn expressions_of(obj: &Object) -> Vec<(&'static str, ExpressionKind, &str)> {
    match obj {
        Object::Policy(p) => match &p.settings {
            PolicySettings::Expression(ExpressionSettings { expression }) => {
                vec![("expression", ExpressionKind::Policy, expression.as_str())]
            }
            _ => Vec::new(),
        },
        Object::ScopeMapping(m) => vec![(
            "expression",
            ExpressionKind::ScopeMapping,
            m.expression.as_str(),
        )],
        Object::Prompt(p) => [
            (
                p.placeholder_expression,
                "placeholder",
                p.placeholder.as_str(),
            ),
            (
                p.initial_value_expression,
                "initial_value",
                p.initial_value.as_str(),
            ),
        ]
        .into_iter()
        .filter(|(is_expr, _, _)| *is_expr)
        .map(|(_, field, source)| (field, ExpressionKind::Prompt, source))
        .collect(),
        _ => Vec::new(),
    }
}

/// The expressions an object carries ([`expressions_of`]), checked, each error at its field.
pub fn check_object(obj: &Object) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::default();
    for (field, kind, source) in expressions_of(obj) {
        if let Err(e) = check(kind, source) {
            errors.add(field, e.to_string());
        }
    }
    errors.into_result()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syntax_error_names_its_line() {
        let err = check(ExpressionKind::Policy, "a = 1\nb = (a +)\nreturn b == 1")
            .expect_err("a syntax error");
        assert_eq!(err.line, Some(2), "{err:?}");
        assert!(err.to_string().starts_with("line 2: "), "{err}");
    }

    #[test]
    fn valid_and_empty_expressions_pass() {
        for source in ["return True", "", "return {\"email\": request.user.email}"] {
            assert_eq!(
                check(ExpressionKind::ScopeMapping, source),
                Ok(()),
                "{source}"
            );
        }
    }

    #[test]
    fn prompt_expressions_are_checked_at_their_field_only_when_marked() {
        let prompt = |placeholder_expression, initial_value_expression| {
            Object::Prompt(crate::domain::Prompt {
                id: "p".into(),
                name: "p".into(),
                field_key: "k".into(),
                label: "K".into(),
                field_type: "text".into(),
                required: true,
                placeholder: "return request.user.username".into(),
                initial_value: "import os\nreturn os.name".into(),
                sub_text: String::new(),
                order: 0,
                placeholder_expression,
                initial_value_expression,
                created_at: 0,
                updated_at: 0,
                version: 1,
            })
        };
        // Plain text is never compiled.
        assert_eq!(check_object(&prompt(false, false)), Ok(()));
        assert_eq!(check_object(&prompt(true, false)), Ok(()));
        let errors = check_object(&prompt(true, true)).expect_err("import os");
        let text = errors.to_string();
        assert!(text.contains("initial_value"), "{text}");
        assert!(!text.contains("placeholder"), "{text}");
    }

    #[test]
    fn rhai_and_forbidden_names_are_refused() {
        let err = check(
            ExpressionKind::ScopeMapping,
            "#{ email: request.user.email }",
        )
        .expect_err("rhai");
        assert!(err.message.contains("rhai"), "{err:?}");
        let err =
            check(ExpressionKind::Policy, "x = 1\nimport os\nreturn True").expect_err("import os");
        assert_eq!(err.line, Some(2), "{err:?}");
        // Scope mapping names are not a policy's.
        assert!(check(ExpressionKind::Policy, "return token.scope").is_err());
        assert_eq!(
            check(ExpressionKind::ScopeMapping, "return {\"s\": token.scope}"),
            Ok(())
        );
    }
}
