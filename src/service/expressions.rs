//! Checking an admin's expression before it is saved, so a syntax error is refused at the
//! field (with its line) instead of failing closed at the first login. Every caller goes
//! through [`check`]; it is the one place that names today's engine, so switching engines
//! (rhai today, authentik's Python next) changes one line here.

use crate::domain::{ExpressionSettings, FieldErrors, Object, PolicySettings};

/// What an expression is for: each engine compiles a policy and a scope mapping with the
/// names its evaluation binds (`request`, `user`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpressionKind {
    /// A policy's expression: returns true or false.
    Policy,
    /// A scope mapping's expression: returns the claims.
    ScopeMapping,
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

/// Compiles `source` as an expression of `kind` with today's engine; nothing runs. An empty
/// source is valid (a scope mapping without one adds no claims; a policy's is required by its
/// form).
pub fn check(kind: ExpressionKind, source: &str) -> Result<(), ExpressionError> {
    // Both kinds compile alike under rhai; the Python engine takes a signature per kind.
    let compiled = match kind {
        ExpressionKind::Policy | ExpressionKind::ScopeMapping => crate::expr::compile(source),
    };
    compiled.map(|_| ()).map_err(|e| from_rhai(&e))
}

/// rhai writes a parse error as `message (line 2, position 5)`: the line moves out of the
/// text into [`ExpressionError::line`] and the position stays as a column hint.
fn from_rhai(err: &crate::expr::ExprError) -> ExpressionError {
    let text = match err {
        crate::expr::ExprError::Compile(t) => t.as_str(),
        other => return plain(other.to_string()),
    };
    let Some(open) = text.rfind(" (line ") else {
        return plain(text.to_string());
    };
    let inner = text[open + " (line ".len()..].trim_end_matches(')');
    let (line, column) = match inner.split_once(", position ") {
        Some((l, c)) => (l.trim().parse().ok(), Some(c.trim())),
        None => (inner.trim().parse().ok(), None),
    };
    let message = text[..open].trim();
    ExpressionError {
        line,
        message: match column {
            Some(c) if line.is_some() => format!("{message} (column {c})"),
            _ => message.to_string(),
        },
    }
}

fn plain(message: String) -> ExpressionError {
    ExpressionError {
        line: None,
        message,
    }
}

/// The expressions an object carries, checked: an expression policy's and a scope mapping's
/// (both at the form field `expression`).
pub fn check_object(obj: &Object) -> Result<(), FieldErrors> {
    let (kind, source) = match obj {
        Object::Policy(p) => match &p.settings {
            PolicySettings::Expression(ExpressionSettings { expression }) => {
                (ExpressionKind::Policy, expression.as_str())
            }
            _ => return Ok(()),
        },
        Object::ScopeMapping(m) => (ExpressionKind::ScopeMapping, m.expression.as_str()),
        _ => return Ok(()),
    };
    let mut errors = FieldErrors::default();
    if let Err(e) = check(kind, source) {
        errors.add("expression", e.to_string());
    }
    errors.into_result()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syntax_error_names_its_line() {
        let err = check(ExpressionKind::Policy, "let a = 1;\nlet b = (a + ;\nb == 1")
            .expect_err("a syntax error");
        assert_eq!(err.line, Some(2), "{err:?}");
        assert!(err.to_string().starts_with("line 2: "), "{err}");
        assert!(!err.message.contains("(line"), "{err:?}");
    }

    #[test]
    fn valid_and_empty_expressions_pass() {
        for source in ["return true", "", "#{ email: request.user.email }"] {
            assert_eq!(
                check(ExpressionKind::ScopeMapping, source),
                Ok(()),
                "{source}"
            );
        }
    }

    #[test]
    fn messages_without_a_position_keep_their_text() {
        let e = from_rhai(&crate::expr::ExprError::Compile("something odd".into()));
        assert_eq!(e, plain("something odd".into()));
        let e = from_rhai(&crate::expr::ExprError::Compile("bad (line 3)".into()));
        assert_eq!((e.line, e.message.as_str()), (Some(3), "bad"));
    }
}
