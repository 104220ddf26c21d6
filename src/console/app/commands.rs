//! The `:` command line (tab names, `:flow <slug>`, `:import PATH`, `:q`, with Tab completion) and the Ctrl-P
//! palette, which lists the keymap table itself so it can never offer a key that does not exist.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::App;
use crate::console::form::field::{Choice, FieldValue};
use crate::console::form::picker::{Picker, PickerOutcome};
use crate::console::keymap::{self, Action, Key, Mode};
use crate::console::tabs::{TABS, TabId, Tone};

/// Every word `:` understands besides tab names.
const VERBS: &[&str] = &["flow ", "import ", "q", "quit"];

impl App {
    /// The command being typed after `:`.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The open palette.
    pub fn palette(&self) -> Option<&Picker> {
        self.palette.as_ref().map(|(p, _)| p)
    }

    /// Completions of the command typed so far.
    pub fn completions(&self) -> Vec<String> {
        let typed = self.command.to_lowercase();
        if let Some(prefix) = typed.strip_prefix("flow ") {
            return self
                .data
                .flows
                .iter()
                .filter(|f| f.slug.starts_with(prefix))
                .map(|f| format!("flow {}", f.slug))
                .collect();
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

    pub(super) fn command_key(&mut self, ev: &KeyEvent) {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        match ev.code {
            KeyCode::Esc => self.mode = self.command_return,
            KeyCode::Backspace if self.command.pop().is_none() => self.mode = self.command_return,
            KeyCode::Backspace => {}
            KeyCode::Tab => {
                let all = self.completions();
                if let Some(first) = all.first() {
                    // Complete to the longest common prefix, or the only candidate.
                    let mut common = first.clone();
                    for c in &all[1..] {
                        while !c.starts_with(&common) {
                            common.pop();
                        }
                    }
                    if common.len() > self.command.len() {
                        self.command = common;
                    }
                }
            }
            KeyCode::Enter => {
                let cmd = self.command.trim().to_string();
                self.mode = self.command_return;
                self.run_command(&cmd);
            }
            KeyCode::Char(c) if !ctrl => self.command.push(c),
            _ => {}
        }
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
                        self.detail = Some(row);
                        self.detail_scroll = 0;
                        self.mode = Mode::Detail;
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

    pub(super) fn open_palette(&mut self) {
        let from = self.mode;
        let bindings: Vec<&'static keymap::Binding> = keymap::bindings(from, self.config.readonly)
            .filter(|b| {
                !b.keys.is_empty()
                    && !matches!(b.action, Action::Palette | Action::JumpTab | Action::Widget)
                    && !b.keys.iter().any(|k| matches!(k, Key::Digit))
            })
            .collect();
        let choices = bindings
            .iter()
            .enumerate()
            .map(|(i, b)| Choice {
                id: i.to_string(),
                label: format!("{:<8} {}", b.label, b.description),
            })
            .collect();
        self.palette = Some((
            Picker::open(0, false, false, choices, &FieldValue::One(None)),
            bindings,
        ));
        self.command_return = from;
        self.mode = Mode::Palette;
    }

    pub(super) fn palette_key(&mut self, ev: &KeyEvent) {
        let Some((picker, bindings)) = &mut self.palette else {
            self.mode = Mode::List;
            return;
        };
        match picker.handle_key(ev) {
            PickerOutcome::Stay => {}
            PickerOutcome::Cancel => {
                self.palette = None;
                self.mode = self.command_return;
            }
            PickerOutcome::Pick(v) => {
                let b = v
                    .one()
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| bindings.get(i).copied());
                self.palette = None;
                self.mode = self.command_return;
                if let Some(b) = b {
                    let code = match b.keys.first() {
                        Some(Key::Char(c)) => KeyCode::Char(*c),
                        Some(Key::Ctrl(c)) => KeyCode::Char(*c),
                        Some(Key::Code(c)) => *c,
                        _ => KeyCode::Null,
                    };
                    self.dispatch(b, &KeyEvent::new(code, KeyModifiers::NONE));
                }
            }
        }
    }
}
