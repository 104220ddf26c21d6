//! The inspector's dry runs from the keyboard: `s` in the inspector (simulate the flow), `t` on
//! a policy, an application or an OAuth2 provider (test, check access, token preview) open the
//! dry run's form; its answer opens the result view, whose panes scroll and whose simulation
//! steps `n`/`p` walk through.

use super::overlay::Overlay;
use super::{App, clamp_add};
use crate::console::dry_run::{DryRun, DryRunAnswer, ResultView};
use crate::console::inspect::Section;
use crate::console::keymap::Action;
use crate::console::tabs::{TABS, TabId, Tone};

impl App {
    /// The open dry-run result.
    pub fn dry_run_result(&self) -> Option<&ResultView> {
        self.overlays.result()
    }

    /// `s` in the inspector: the simulation form for the inspected flow.
    pub(super) fn start_simulate(&mut self) {
        let slug = self.inspector().and_then(|v| {
            self.data
                .flows
                .iter()
                .find(|f| f.id == v.flow_id)
                .map(|f| f.slug.clone())
        });
        if let Some(slug) = slug {
            self.open_form(DryRun::Simulate(slug).form());
        }
    }

    /// `t`: the dry run of the selected (or open) policy, application or provider.
    pub(super) fn start_test(&mut self) {
        let key = match self.overlays.detail() {
            Some(d) => Some(d.row.key.clone()),
            None => self.selected_row().map(|r| r.key.clone()),
        };
        let Some(id) = key else {
            self.set_status("nothing selected", Tone::Muted);
            return;
        };
        let d = &self.data;
        let dry_run = match TABS[self.tab].id {
            TabId::Policies => d
                .policies
                .iter()
                .find(|p| p.id == id)
                .map(|p| DryRun::TestPolicy(p.id.clone(), p.name.clone())),
            TabId::Applications => d
                .applications
                .iter()
                .find(|a| a.id == id)
                .map(|a| DryRun::CheckAccess(a.slug.clone())),
            TabId::Providers => d
                .providers
                .iter()
                .find(|p| p.id == id)
                .map(|p| DryRun::PreviewTokens(p.id.clone(), p.name.clone())),
            _ => None,
        };
        match dry_run {
            Some(dry_run) => self.open_form(dry_run.form()),
            None => self.set_status("t: nothing to test here", Tone::Muted),
        }
    }

    /// A dry run answered: its form closes and the result opens where the form was.
    pub(super) fn show_dry_run(&mut self, title: String, answer: &DryRunAnswer) {
        if self.overlays.form_on_top() {
            self.overlays.pop();
        }
        let view = ResultView::new(title, answer, &self.data);
        self.overlays.push(Overlay::Result(view));
        self.set_status("dry run: nothing was written", Tone::Ok);
    }

    /// A row's action while a dry-run result has focus.
    pub(super) fn result_action(&mut self, action: Action) {
        let page = self.page() as isize;
        let Some(Overlay::Result(v)) = self.overlays.top_mut() else {
            return;
        };
        let step_len = v
            .steps
            .get(v.step)
            .map_or(0, |s| lines(std::slice::from_ref(s)));
        let main_len = lines(&v.sections);
        match (action, super::inspect::move_delta(action, page)) {
            (_, Some(delta)) if v.in_steps => {
                v.step_scroll = clamp_add(v.step_scroll, delta, step_len.saturating_sub(1));
            }
            (_, Some(delta)) => v.scroll = clamp_add(v.scroll, delta, main_len.saturating_sub(1)),
            (Action::NextStep | Action::PrevStep, _) if v.steps.is_empty() => {}
            (Action::NextStep, _) => {
                v.step = (v.step + 1).min(v.steps.len() - 1);
                v.step_scroll = 0;
            }
            (Action::PrevStep, _) => {
                v.step = v.step.saturating_sub(1);
                v.step_scroll = 0;
            }
            (Action::Open, _) => v.in_steps = !v.in_steps && !v.steps.is_empty(),
            (Action::Back, _) if v.in_steps => v.in_steps = false,
            (Action::Back, _) => {
                self.overlays.pop();
            }
            (Action::ToggleHelp, _) => self.toggle_help(),
            _ => {}
        }
    }
}

/// Lines sections take before wrapping (title and blank line each; values split at newlines).
fn lines(sections: &[Section]) -> usize {
    sections
        .iter()
        .map(|s| {
            2 + s
                .lines
                .iter()
                .map(|(_, v)| v.lines().count().max(1))
                .sum::<usize>()
        })
        .sum()
}
