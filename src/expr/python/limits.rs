//! The resource limits of one evaluation. Every limit is always set: an admin-written
//! expression can neither spin, nor allocate without bound, nor recurse the native stack away,
//! nor loop on host look-ups.

use std::time::Duration;

/// Limits applied to one evaluation; exceeding any of them fails the evaluation closed with an
/// [`ErrorKind::Limit`](super::ErrorKind::Limit) naming the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// CPU time the interpreter may spend executing (host look-ups excluded).
    pub cpu_time: Duration,
    /// Wall-clock budget from the start of the evaluation, host look-ups included.
    pub deadline: Duration,
    /// Bytes one value may need: checked before every large allocation (`[0] * n`,
    /// `"x" * n`, `2 ** n`, `list(range(n))`, string building), so an expression cannot ask
    /// for more at once; gradual growth is bounded by `cpu_time`.
    pub memory: usize,
    /// Python call depth.
    pub recursion: usize,
    /// Host calls (`ak_user_by`, `ak_call_policy`) one evaluation may make.
    pub host_calls: usize,
}

impl Limits {
    /// Policies: authentik's expressions may look users up and call other policies.
    pub const POLICY: Limits = Limits {
        cpu_time: Duration::from_millis(500),
        deadline: Duration::from_secs(2),
        memory: 32 * 1024 * 1024,
        recursion: 64,
        host_calls: 100,
    };

    /// Scope mappings and prompt defaults: they run on the token endpoint's and the flow
    /// executor's hot path, so they get a tighter budget.
    pub const MAPPING: Limits = Limits {
        cpu_time: Duration::from_millis(100),
        deadline: Duration::from_millis(250),
        memory: 16 * 1024 * 1024,
        recursion: 64,
        host_calls: 20,
    };

    /// The same limits with the deadline shortened to at most `timeout` (a binding's timeout).
    pub fn within(self, timeout: Duration) -> Limits {
        Limits {
            deadline: self.deadline.min(timeout),
            cpu_time: self.cpu_time.min(timeout),
            ..self
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::POLICY
    }
}
