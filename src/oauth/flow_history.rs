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
    /// How it ended: `completed`, `declined`, `denied`, `redirected` or `abandoned`.
    pub outcome: &'static str,
    /// Every stage of the plan, in order.
    pub stage_ids: Vec<String>,
    /// Its history, up to the end.
    pub history: ExecutionHistory,
}

impl Finished {
    /// An execution left at its current stage in a session that expired: what it had passed
    /// (`started` stands for the start of a plan older than history).
    pub fn abandoned(plan: &Plan, started: i64) -> Self {
        Self {
            outcome: "abandoned",
            stage_ids: plan_ids(plan),
            history: read(plan).unwrap_or_else(|| fresh(started)),
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::{FlowContext, PlannedStage};

    fn plan(stages: &[&str], index: usize) -> Plan {
        Plan {
            version: crate::flows::context::PLAN_VERSION,
            flow_id: "f".into(),
            flow_slug: "flow".into(),
            stages: stages
                .iter()
                .map(|id| PlannedStage {
                    binding_id: format!("b-{id}"),
                    stage_id: id.to_string(),
                    re_evaluate_policies: false,
                    invalid_response_action: Default::default(),
                    policy_engine_mode: Default::default(),
                    admitted: false,
                })
                .collect(),
            index,
            context: FlowContext::default(),
            initial_context: FlowContext::default(),
            scratch: Default::default(),
        }
    }

    const SHOW: ChallengeKind = ChallengeKind::Redirect { to: String::new() };

    #[test]
    fn a_new_plan_starts_its_history_and_each_step_notes_the_stages_it_passed() {
        let mut slot = Some(plan(&["id", "pw", "login"], 0));
        assert_eq!(after(before(&None, 100), &mut slot, &[], &SHOW, 100), None);
        let h = slot.as_ref().and_then(read).expect("history");
        assert_eq!((h.started_at, h.done.len()), (100, 0));

        let b = before(&slot, 107);
        if let Some(p) = slot.as_mut() {
            p.index = 2;
        }
        assert_eq!(after(b, &mut slot, &[], &SHOW, 107), None);
        let h = slot.as_ref().and_then(read).expect("history");
        assert_eq!(h.started_at, 100, "the start stays");
        let done: Vec<(&str, i64)> = h.done.iter().map(|d| (d.stage_id.as_str(), d.at)).collect();
        assert_eq!(done, vec![("id", 107), ("pw", 107)]);
    }

    #[test]
    fn a_completed_plan_is_finished_with_every_stage_passed() {
        let mut slot = Some(plan(&["id", "pw"], 0));
        after(None, &mut slot, &[], &SHOW, 10);
        let b = before(&slot, 20);
        slot = None;
        let effects = [Effect::Completed(Box::default())];
        let f = after(b, &mut slot, &effects, &SHOW, 20).expect("finished");
        assert_eq!(f.outcome, "completed");
        assert_eq!(f.stage_ids, vec!["id", "pw"]);
        assert_eq!(f.history.done.len(), 2);
        let ctx = f.event_context("flow");
        assert_eq!(ctx["flow"], "flow");
        assert_eq!(ctx["history"][1]["stage_id"], "pw");
    }

    #[test]
    fn an_abandoned_plan_keeps_what_it_had_passed_and_its_start() {
        let mut slot = Some(plan(&["id", "pw", "login"], 0));
        after(None, &mut slot, &[], &SHOW, 10);
        let b = before(&slot, 12);
        if let Some(p) = slot.as_mut() {
            p.index = 1;
        }
        after(b, &mut slot, &[], &SHOW, 12);
        let f = Finished::abandoned(slot.as_ref().expect("plan"), 99);
        assert_eq!(f.outcome, "abandoned");
        assert_eq!(
            f.history.started_at, 10,
            "the plan's own start, not the fallback"
        );
        assert_eq!(f.history.done.len(), 1);
        let old = Finished::abandoned(&plan(&["id"], 0), 99);
        assert_eq!(old.history.started_at, 99, "no history: the fallback start");
    }

    #[test]
    fn a_denied_plan_is_finished_with_what_it_had_passed() {
        let mut slot = Some(plan(&["id", "pw"], 1));
        let b = before(&slot, 5);
        slot = None;
        let denied = ChallengeKind::AccessDenied {
            error_message: "no".into(),
        };
        let f = after(b, &mut slot, &[], &denied, 6).expect("finished");
        assert_eq!(f.outcome, "denied");
        assert!(f.history.done.is_empty());
        assert_eq!(after(None, &mut None, &[], &denied, 6), None, "nothing ran");
    }
}
