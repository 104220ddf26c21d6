//! The flow inspector (`i` on a flow, `:inspect <slug>`) and the live executions (`L` in the
//! inspector, `:live` for every flow): opening them, moving over their items, Enter into the
//! selected item's pane, and the executions the tick refreshes from the store.

use super::App;
use super::clamp_add;
use super::overlay::{InspectView, LiveView, Overlay};
use crate::console::inspect::{self, Item, Section};
use crate::console::keymap::Action;
use crate::console::tabs::{TABS, TabId, Tone};
use crate::service::executions::LiveExecution;

impl App {
    /// Replaces the flow executions in progress (read from the store about once a second).
    pub fn apply_executions(&mut self, executions: Vec<LiveExecution>) {
        self.data.executions = executions;
    }

    /// The open inspector (also while help or the live view is over it).
    pub fn inspector(&self) -> Option<&InspectView> {
        self.overlays.inspector()
    }

    /// The inspector's selectable items (policy and stage bindings, in order).
    pub fn inspector_items(&self) -> Vec<Item> {
        self.inspector()
            .map(|v| inspect::items(&self.data, &v.flow_id))
            .unwrap_or_default()
    }

    /// The pane of the inspector's selected item.
    pub fn inspector_pane(&self) -> Vec<Section> {
        let Some(v) = self.inspector() else {
            return Vec::new();
        };
        self.inspector_items()
            .get(v.cursor)
            .map(|item| inspect::pane(&self.data, item))
            .unwrap_or_default()
    }

    /// The open live view.
    pub fn live_view(&self) -> Option<&LiveView> {
        self.overlays.live()
    }

    /// The executions the live view lists, most recently active first.
    pub fn live_executions(&self) -> Vec<&LiveExecution> {
        let slug = self.live_view().and_then(|v| v.flow_slug.as_deref());
        inspect::executions(&self.data, slug)
    }

    /// Index of the selected execution in [`App::live_executions`].
    pub fn live_cursor(&self) -> usize {
        let Some(v) = self.live_view() else {
            return 0;
        };
        v.selected
            .as_ref()
            .and_then(|k| self.live_executions().iter().position(|e| &e.key == k))
            .unwrap_or(0)
    }

    /// The selected execution, if any is in progress.
    pub fn selected_execution(&self) -> Option<&LiveExecution> {
        self.live_executions().get(self.live_cursor()).copied()
    }

    /// `i`: the inspector on the selected (or open) flow.
    pub(super) fn start_inspect(&mut self) {
        let key = match self.overlays.detail() {
            Some(d) => Some(d.row.key.clone()),
            None => self.selected_row().map(|r| r.key.clone()),
        };
        match key {
            Some(flow_id) => self.open_inspector(flow_id),
            None => self.set_status("no flow selected", Tone::Muted),
        }
    }

    /// Opens the inspector on a flow, by slug (`:inspect <slug>`).
    pub(super) fn inspect_slug(&mut self, slug: &str) {
        let Some(id) = self
            .data
            .flows
            .iter()
            .find(|f| f.slug == slug)
            .map(|f| f.id.clone())
        else {
            self.set_status(&format!("no flow with slug '{slug}'"), Tone::Warn);
            return;
        };
        if let Some(flows) = TABS.iter().position(|t| t.id == TabId::Flows) {
            self.switch_tab(flows);
        }
        self.open_inspector(id);
    }

    fn open_inspector(&mut self, flow_id: String) {
        if !self.data.flows.iter().any(|f| f.id == flow_id) {
            return;
        }
        self.overlays.push(Overlay::Inspect(InspectView {
            flow_id,
            ..Default::default()
        }));
    }

    /// `L` in the inspector (that flow's executions) and `:live` (every flow's).
    pub(super) fn start_live(&mut self) {
        let flow_slug = self.inspector().and_then(|v| {
            self.data
                .flows
                .iter()
                .find(|f| f.id == v.flow_id)
                .map(|f| f.slug.clone())
        });
        self.overlays.push(Overlay::Live(LiveView {
            opened_for: flow_slug.clone(),
            flow_slug,
            ..Default::default()
        }));
    }

    /// A row's action while the inspector has focus.
    pub(super) fn inspect_action(&mut self, action: Action) {
        let items = self.inspector_items();
        let pane_len = section_lines(&self.inspector_pane());
        let page = self.page() as isize;
        let Some(Overlay::Inspect(v)) = self.overlays.top_mut() else {
            return;
        };
        match (action, move_delta(action, page)) {
            (_, Some(delta)) if v.in_pane => {
                v.pane_scroll = clamp_add(v.pane_scroll, delta, pane_len.saturating_sub(1));
            }
            (_, Some(delta)) => {
                v.cursor = clamp_add(v.cursor, delta, items.len().saturating_sub(1));
                v.pane_scroll = 0;
            }
            (Action::Open, _) => v.in_pane = !v.in_pane && !items.is_empty(),
            (Action::Back, _) if v.in_pane => v.in_pane = false,
            (Action::Back, _) => {
                self.overlays.pop();
            }
            (Action::LiveExecutions, _) => self.start_live(),
            (Action::Simulate, _) => self.start_simulate(),
            (Action::ToggleHelp, _) => self.toggle_help(),
            _ => {}
        }
    }

    /// A row's action while the live view has focus.
    pub(super) fn live_action(&mut self, action: Action) {
        let keys: Vec<String> = self
            .live_executions()
            .iter()
            .map(|e| e.key.clone())
            .collect();
        let cursor = self.live_cursor();
        let pane_len = self
            .selected_execution()
            .map_or(0, |e| section_lines(&inspect::execution_pane(e)));
        let page = self.page() as isize;
        let Some(Overlay::Live(v)) = self.overlays.top_mut() else {
            return;
        };
        match (action, move_delta(action, page)) {
            (_, Some(delta)) if v.in_pane => {
                v.pane_scroll = clamp_add(v.pane_scroll, delta, pane_len.saturating_sub(1));
            }
            (_, Some(delta)) => {
                let i = clamp_add(cursor, delta, keys.len().saturating_sub(1));
                v.selected = keys.get(i).cloned();
                v.pane_scroll = 0;
            }
            (Action::Open, _) => v.in_pane = !v.in_pane && !keys.is_empty(),
            (Action::LiveExecutions, _) => {
                v.flow_slug = match v.flow_slug {
                    Some(_) => None,
                    None => v.opened_for.clone(),
                };
                v.pane_scroll = 0;
            }
            (Action::Back, _) if v.in_pane => v.in_pane = false,
            (Action::Back, _) => {
                self.overlays.pop();
            }
            (Action::ToggleHelp, _) => self.toggle_help(),
            _ => {}
        }
    }
}

/// How far a moving action moves, or `None` for other actions.
pub(super) fn move_delta(action: Action, page: isize) -> Option<isize> {
    match action {
        Action::Down => Some(1),
        Action::Up => Some(-1),
        Action::PageDown => Some(page),
        Action::PageUp => Some(-page),
        Action::Top => Some(isize::MIN / 2),
        Action::Bottom => Some(isize::MAX / 2),
        _ => None,
    }
}

/// Lines a pane's sections take before wrapping (title and blank line each).
fn section_lines(sections: &[Section]) -> usize {
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
