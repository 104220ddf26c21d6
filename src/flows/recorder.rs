//! The dry-run recorder: what a simulated step *would* have written, and every policy binding
//! the engine evaluated with its answer, messages, log lines and time. A step runs in
//! [`Mode::DryRun`] when the inspector simulates it; every write in `flows/` goes through
//! [`crate::flows::Env::write_tx`] or [`crate::flows::Env::event`], which consult the mode, so a
//! dry run cannot reach the store's writer by any code path that asks the environment.

use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

/// Whether a step's writes happen (the server) or are only recorded (a simulation).
#[derive(Clone, Default)]
pub enum Mode {
    /// Writes are applied (the server, the device seam, the CLI).
    #[default]
    Live,
    /// Nothing is written; what would have been is recorded here.
    DryRun(Recorder),
}

impl Mode {
    /// The recorder of a dry run.
    pub fn recorder(&self) -> Option<&Recorder> {
        match self {
            Mode::Live => None,
            Mode::DryRun(r) => Some(r),
        }
    }
}

/// One policy binding as the engine evaluated it (authentik's `PolicyResult` with its log).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PolicyTrace {
    /// What the binding is on: the target's id (a flow, a stage binding, an application).
    pub target: String,
    /// The binding.
    pub binding_id: String,
    /// `policy <name>`, `group <name>` or `user <username>`.
    pub subject: String,
    /// The binding negates the result.
    pub negate: bool,
    /// What counted, after negation (or the binding's `failure_result` on an error).
    pub passing: bool,
    /// The policy's own answer; `None` when it errored.
    pub raw_passing: Option<bool>,
    /// Messages for the user.
    pub messages: Vec<String>,
    /// Lines the expression logged (`ak_logger`, `print`).
    pub logs: Vec<String>,
    /// Why it failed to evaluate.
    pub error: Option<String>,
    /// The error's line in the expression, when it has one.
    pub error_line: Option<u32>,
    /// How long it took, microseconds.
    pub elapsed_us: u64,
}

/// What a dry run collected.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recording {
    /// Writes suppressed, in order (`event login_failed`, `reputation`, …).
    pub writes: Vec<String>,
    /// Every binding evaluated, in order.
    pub policies: Vec<PolicyTrace>,
    /// What stages said about themselves (a stage skipped for its configuration), in order.
    pub notes: Vec<String>,
    /// Log lines not yet attached to a binding's trace.
    pending_logs: Vec<String>,
}

/// Shared, cheap to clone; the simulation reads it when the step is done.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Recording>>);

impl Recorder {
    fn lock(&self) -> MutexGuard<'_, Recording> {
        // A panic while holding the lock leaves a recording that is still readable.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes a write that was not made.
    pub fn suppressed(&self, what: impl Into<String>) {
        self.lock().writes.push(what.into());
    }

    /// Notes what a stage did that the simulation should say (e.g. that it was skipped).
    pub fn note(&self, line: impl Into<String>) {
        self.lock().notes.push(line.into());
    }

    /// Notes a line an expression logged (attached to the next finished binding).
    pub fn log(&self, line: impl Into<String>) {
        self.lock().pending_logs.push(line.into());
    }

    /// Files a binding's trace, with the log lines since the last one.
    pub fn policy(&self, mut trace: PolicyTrace) {
        let mut rec = self.lock();
        trace.logs = std::mem::take(&mut rec.pending_logs);
        rec.policies.push(trace);
    }

    /// The log lines not attached to a binding (a policy evaluated on its own).
    pub fn take_logs(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().pending_logs)
    }

    /// How many traces are filed so far (to slice one target's traces out).
    pub fn policy_count(&self) -> usize {
        self.lock().policies.len()
    }

    /// A copy of what was collected.
    pub fn snapshot(&self) -> Recording {
        self.lock().clone()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// Files that may open the store's write transaction directly: the environment (which
    /// consults the mode) and the browser session store the HTTP layer calls after a step
    /// (a simulation never has a session).
    const MAY_WRITE_DIRECTLY: &[&str] = &["env.rs", "session.rs"];

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        let entries = std::fs::read_dir(dir).expect("src/flows is readable");
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The dry run's guarantee holds by construction only while every write in `flows/` goes
    /// through `Env::write_tx` / `Env::event` / `Env::may_write`: this keeps it so.
    #[test]
    fn flows_write_only_through_the_environment() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/flows");
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        assert!(files.len() > 10, "found the flows sources");
        // Spelled in two halves so this file does not match itself.
        let needle = format!("{}{}", "write", "_tx()");
        for path in files {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if MAY_WRITE_DIRECTLY.contains(&name) {
                continue;
            }
            let source = std::fs::read_to_string(&path).expect("readable");
            for (n, line) in source.lines().enumerate() {
                assert!(
                    !line.contains(&needle),
                    "{}:{}: a direct store write bypasses the dry run; use env.write_tx(what)",
                    path.display(),
                    n + 1
                );
            }
        }
    }
}
