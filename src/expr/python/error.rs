//! Why a Python expression was refused or did not produce a value: one error type for compile
//! time (so a console field or a blueprint entry can be refused with its line) and run time (so
//! a policy fails closed and the event says what happened).

use std::fmt;

/// Which resource limit an evaluation ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// The interpreter's CPU-time budget.
    Time,
    /// The wall-clock deadline (interpreter time plus host look-ups).
    Deadline,
    /// The memory budget.
    Memory,
    /// The recursion depth.
    Recursion,
    /// The number of host calls (`ak_user_by`, `ak_call_policy`, …) one evaluation may make.
    HostCalls,
}

impl LimitKind {
    /// The name used in messages and events.
    pub fn name(self) -> &'static str {
        match self {
            LimitKind::Time => "CPU time limit",
            LimitKind::Deadline => "deadline",
            LimitKind::Memory => "memory limit",
            LimitKind::Recursion => "recursion limit",
            LimitKind::HostCalls => "host call limit",
        }
    }
}

/// What kind of failure an [`ExprError`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The source is not valid Python.
    Syntax,
    /// Valid Python that latchkey's interpreter refuses: a forbidden import or builtin, an
    /// attribute walk to interpreter internals, a name that is not defined, syntax the
    /// interpreter does not implement, or an authentik helper latchkey does not offer.
    Unsupported,
    /// The expression raised an exception (the Python type name, e.g. `KeyError`).
    Exception(String),
    /// The expression exceeded a limit; it failed closed.
    Limit(LimitKind),
    /// The expression returned a value of the wrong shape (a scope mapping must return a dict).
    Result,
}

/// A refused or failed expression: the kind, the line in the admin's source (1-based, where
/// known) and a message for the admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The line of the expression's source it happened on, when known.
    pub line: Option<u32>,
    /// A message for the admin (no user data beyond what the expression itself printed).
    pub message: String,
}

impl ExprError {
    pub(crate) fn new(kind: ErrorKind, line: Option<u32>, message: impl Into<String>) -> Self {
        Self {
            kind,
            line,
            message: message.into(),
        }
    }

    pub(crate) fn unsupported(line: Option<u32>, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, line, message)
    }

    pub(crate) fn limit(limit: LimitKind, line: Option<u32>, detail: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::Limit(limit),
            line,
            format!("{} exceeded: {detail}", limit.name()),
        )
    }

    /// Whether this error is a compile-time refusal (syntax or unsupported construct).
    pub fn is_compile_error(&self) -> bool {
        matches!(self.kind, ErrorKind::Syntax | ErrorKind::Unsupported)
    }

    /// The limit this error reports, if it is one.
    pub fn limit_kind(&self) -> Option<LimitKind> {
        match self.kind {
            ErrorKind::Limit(l) => Some(l),
            _ => None,
        }
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        match &self.kind {
            ErrorKind::Exception(name) if !self.message.starts_with(name.as_str()) => {
                write!(f, "{name}: {}", self.message)
            }
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ExprError {}
