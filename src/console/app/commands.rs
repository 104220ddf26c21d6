//! The `:` command line (tab names, `:flow <slug>`, `:inspect <slug>`, `:live`, `:import PATH`,
//! `:q`, with Tab completion) and the Ctrl-P
//! palette, which lists the keymap table itself so it can never offer a key that does not exist.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::App;
use super::overlay::{DetailView, Overlay};
use crate::console::form::picker::{ListPick, Picker};
use crate::console::keymap::{self, Action, Key};
use crate::console::tabs::{TABS, TabId, Tone};

/// Every word `:` understands besides tab names.
const VERBS: &[&str] = &["flow ", "inspect ", "live", "import ", "q", "quit"];

impl App {
    /// The command being typed after `:` (empty when the command line is closed).
    pub fn command(&self) -> &str {
        match self.overlays.top() {
            Some(Overlay::Command(typed)) => typed,
            _ => "",
        }
    }

    /// The open palette.
    pub fn palette(&self) -> Option<&Picker> {
        match self.overlays.top() {
            Some(Overlay::Palette(p, _)) => Some(p),
            _ => None,
        }
    }

    /// Completions of the command typed so far.
    pub fn completions(&self) -> Vec<String> {
        let typed = self.command().to_lowercase();
        for verb in ["flow", "inspect"] {
            if let Some(prefix) = typed.strip_prefix(verb).and_then(|t| t.strip_prefix(' ')) {
                return self
                    .data
                    .flows
                    .iter()
                    .filter(|f| f.slug.starts_with(prefix))
                    .map(|f| format!("{verb} {}", f.slug))
                    .collect();
            }
        }
        TABS.iter()
            .map(|t| t.name.to_lowercase())
            .chain(
                VERBS
                    .iter()
                    .filter(|v| **v != "import " || self.import_allowed())
                    .map(|v| v.to_string()),
            )
            .filter(|c| c.starts_with(&typed))
            .collect()
    }

    /// A command line row's action: Tab completes, Enter runs, Esc (or Backspace on nothing)
    /// closes.
    pub(super) fn command_action(&mut self, action: Action) {
        let completion = (action == Action::Complete)
            .then(|| self.completion())
            .flatten();
        let Some(Overlay::Command(typed)) = self.overlays.top_mut() else {
            return;
        };
        match action {
            // Backspace deletes a character; on an empty line it closes the command line.
            Action::DeleteChar if typed.pop().is_some() => {}
            Action::Cancel | Action::DeleteChar => {
                self.overlays.pop();
            }
            Action::Complete => {
                if let Some(c) = completion {
                    *typed = c;
                }
            }
            Action::Accept => {
                let cmd = typed.trim().to_string();
                self.overlays.pop();
                self.run_command(&cmd);
            }
            _ => {}
        }
    }

    /// What Tab completes to: the longest common prefix of the completions, if it is longer
    /// than what was typed.
    fn completion(&self) -> Option<String> {
        let all = self.completions();
        let mut common = all.first()?.clone();
        for c in &all[1..] {
            while !c.starts_with(&common) {
                common.pop();
            }
        }
        (common.len() > self.command().len()).then_some(common)
    }

    fn run_command(&mut self, cmd: &str) {
        let lower = cmd.to_lowercase();
        if lower == "q" || lower == "quit" {
            self.quit = true;
            return;
        }
        if lower == "import" || lower.starts_with("import ") {
            // The path keeps its case.
            let path = cmd.get("import".len()..).unwrap_or_default().trim();
            self.command_import(path);
            return;
        }
        if let Some(slug) = lower.strip_prefix("inspect ") {
            self.inspect_slug(slug.trim());
            return;
        }
        if lower == "live" {
            self.overlays.clear();
            self.start_live();
            return;
        }
        if let Some(slug) = lower.strip_prefix("flow ") {
            let slug = slug.trim();
            let Some(flows) = TABS.iter().position(|t| t.id == TabId::Flows) else {
                return;
            };
            self.switch_tab(flows);
            self.set_filter(String::new());
            let found = self
                .visible_rows()
                .iter()
                .position(|r| r.cells.first().is_some_and(|c| c.text == slug));
            match found {
                Some(i) => {
                    self.tabs[self.tab].selected = i;
                    self.clamp(self.tab);
                    if let Some(row) = self.selected_row().cloned() {
                        self.overlays.push(Overlay::Detail(DetailView {
                            row,
                            scroll: 0,
                            cursor: 0,
                        }));
                    }
                }
                None => self.set_status(&format!("no flow with slug '{slug}'"), Tone::Warn),
            }
            return;
        }
        match TABS
            .iter()
            .position(|t| t.name.to_lowercase() == lower || t.short.to_lowercase() == lower)
        {
            Some(i) => self.switch_tab(i),
            None => self.set_status(
                &format!("unknown command ':{cmd}' (tab completes)"),
                Tone::Warn,
            ),
        }
    }

    /// Ctrl-P: every row of where the palette was opened from, by name.
    pub(super) fn open_palette(&mut self) {
        let bindings: Vec<&'static keymap::Binding> =
            keymap::bindings(self.focus(), self.config.readonly)
                .filter(|b| {
                    !matches!(b.action, Action::Palette | Action::JumpTab)
                        && !b.keys.iter().any(|k| matches!(k, Key::Digit))
                })
                .collect();
        let labels = bindings
            .iter()
            .map(|b| format!("{:<8} {}", b.label, b.description));
        let picker = Picker::over_list(labels);
        self.overlays.push(Overlay::Palette(picker, bindings));
    }

    /// A palette row's action: picking a row closes the palette and does what that row does
    /// where the palette was opened.
    pub(super) fn palette_action(&mut self, action: Action) {
        let Some(Overlay::Palette(picker, bindings)) = self.overlays.top_mut() else {
            return;
        };
        let ListPick::Closed(picked) = picker.act_on_list(action, bindings) else {
            return;
        };
        self.overlays.pop();
        if let Some(b) = picked {
            let ev = b
                .keys
                .first()
                .map_or(KeyEvent::new(KeyCode::Null, KeyModifiers::NONE), |k| {
                    k.event()
                });
            self.dispatch(b, &ev);
        }
    }
}
