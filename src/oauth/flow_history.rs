//! What happened in one flow execution, for the console's live view and the `flow_execution`
//! event (authentik's "Flow execution"): when the plan started and when each stage was passed.
//! It rides in the plan's scratch map under [`HISTORY_KEY`] (scratch is keyed by stage id, a
//! UUID, so the key cannot clash), so it is stored with the session and read from the store by
//! a console in any process, and the flow engine needs no field of its own for it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::flows::{ChallengeKind, Effect, Plan};

/// The plan scratch key the history is kept under.
pub const HISTORY_KEY: &str = "latchkey.io/execution";

/// When an execution started and which stages it passed, when.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionHistory {
    /// When the plan was made (unix seconds).
    pub started_at: i64,
    /// The stages passed, in order.
    pub done: Vec<StageDone>,
}

/// One stage passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageDone {
    /// The stage (its id).
    pub stage_id: String,
    /// When the step that passed it ran (unix seconds).
    pub at: i64,
}

/// The history kept in `plan`, if any.
pub fn read(plan: &Plan) -> Option<ExecutionHistory> {
    plan.scratch
        .get(HISTORY_KEY)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

/// What a plan looked like before a step, to tell afterwards what the step passed.
#[derive(Debug, Clone)]
pub struct Before {
    index: usize,
    stage_ids: Vec<String>,
    history: ExecutionHistory,
}

/// Notes `slot` before a step (`None`: no execution in progress).
pub fn before(slot: &Option<Plan>, now: i64) -> Option<Before> {
    slot.as_ref().map(|p| Before {
        index: p.index,
        stage_ids: p.stages.iter().map(|s| s.stage_id.clone()).collect(),
        history: read(p).unwrap_or(ExecutionHistory {
            started_at: now,
            done: Vec::new(),
        }),
    })
}

/// An execution that ended in the step: what the `flow_execution` event records.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// How it ended: `completed`, `declined`, `denied` or `redirected`.
    pub outcome: &'static str,
    /// Every stage of the plan, in order.
    pub stage_ids: Vec<String>,
    /// Its history, up to the end.
    pub history: ExecutionHistory,
}

impl Finished {
    /// The event's context: the flow, the outcome, the plan and its history.
    pub fn event_context(&self, slug: &str) -> Value {
        json!({
            "flow": slug,
            "outcome": self.outcome,
            "started_at": self.history.started_at,
            "plan": self.stage_ids,
            "history": self.history.done,
        })
    }
}

/// Records in the plan the stages the step passed (a new plan starts its history now); returns
/// the finished execution when the step ended the plan.
pub fn after(
    before: Option<Before>,
    slot: &mut Option<Plan>,
    effects: &[Effect],
    challenge: &ChallengeKind,
    now: i64,
) -> Option<Finished> {
    match (before, slot.as_mut()) {
        (before, Some(plan)) => {
            let (from, mut history) = match before {
                // The same plan went on (a restart starts from its first stage again).
                Some(b) if plan.index >= b.index && same_stages(&b.stage_ids, plan) => {
                    (b.index, b.history)
                }
                _ => (0, fresh(now)),
            };
            passed(&mut history, plan_ids(plan), from, plan.index, now);
            plan.scratch.insert(HISTORY_KEY.to_string(), json!(history));
            None
        }
        (Some(b), None) => {
            let mut history = b.history;
            let outcome = outcome(effects, challenge);
            if outcome == "completed" {
                let ids = b.stage_ids.clone();
                passed(&mut history, ids, b.index, b.stage_ids.len(), now);
            }
            Some(Finished {
                outcome,
                stage_ids: b.stage_ids,
                history,
            })
        }
        (None, None) => None,
    }
}

fn fresh(now: i64) -> ExecutionHistory {
    ExecutionHistory {
        started_at: now,
        done: Vec::new(),
    }
}

fn plan_ids(plan: &Plan) -> Vec<String> {
    plan.stages.iter().map(|s| s.stage_id.clone()).collect()
}

/// True when the plan still starts with the stages it had (stages may be inserted later on).
fn same_stages(before: &[String], plan: &Plan) -> bool {
    before.len() <= plan.stages.len()
        && before
            .iter()
            .zip(&plan.stages)
            .all(|(a, s)| *a == s.stage_id)
}

fn passed(history: &mut ExecutionHistory, ids: Vec<String>, from: usize, to: usize, now: i64) {
    for stage_id in ids.into_iter().take(to).skip(from) {
        history.done.push(StageDone { stage_id, at: now });
    }
}

fn outcome(effects: &[Effect], challenge: &ChallengeKind) -> &'static str {
    if effects.iter().any(|e| matches!(e, Effect::Completed(_))) {
        "completed"
    } else if effects.iter().any(|e| matches!(e, Effect::Declined(_))) {
        "declined"
    } else if matches!(challenge, ChallengeKind::AccessDenied { .. }) {
        "denied"
    } else {
        "redirected"
    }
}
