//! authentik's Python expressions, evaluated by an embedded, sandboxed interpreter (pydantic's
//! monty: Python on Ruff's parser, with no ambient file, network or process access).
//!
//! - [`compile`] an expression once for its [`Signature`] (policy, scope mapping, prompt,
//!   property mapping); everything latchkey cannot run is refused here with its line, and
//!   [`check`] is the same for a console field or a blueprint entry.
//! - [`evaluate`] (async host) or [`evaluate_sync`] (blocking host) the [`Program`] with an
//!   [`Input`] (the request's facts, loaded by the caller) under [`Limits`]; the [`Outcome`]
//!   carries the value (authentik's truthiness for policies, a dict of claims for scope
//!   mappings), the messages, log lines, events, the flow plan's context changes
//!   ([`PlanChange`], which the caller writes back into its running plan), the [`Effect`]s of a
//!   natively run authentik expression, and the time.
//!
//! The engine does no I/O: store look-ups (`ak_user_by`, `ak_call_policy`) go through the
//! caller's [`Host`]; everything else authentik's API offers is computed from the facts.

mod api;
mod error;
mod eval;
mod facts;
mod fingerprint;
mod limits;
mod native;
mod prelude;
mod program;
mod source;
mod value;

pub use api::{
    EventRecord, GroupFacts, HttpFacts, LogLine, Lookup, LookupOp, RequestFacts, SystemSettings,
    UserFacts, group_object, http_object, matches_user, policy_result_object, request_object,
    user_object,
};
pub use error::{ErrorKind, ExprError, LimitKind};
pub use eval::{
    CalledPolicy, Host, Input, NoHost, Outcome, PlanChange, SyncHost, evaluate, evaluate_sync,
};
pub use fingerprint::fingerprint;
pub use limits::Limits;
pub use native::{Effect, digest as native_digest};
pub use program::{Cache, Program, Signature, check, compile};
pub use value::{Object, ObjectKind, Value};

#[cfg(test)]
mod tests;
