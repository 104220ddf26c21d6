//! The Flows tab's blueprint Import: a path (form or `:import PATH`) → a preview of what would
//! change (nothing written) → Apply or Cancel → one transaction. Read-only consoles refuse it
//! through the keymap table like every other mutating action.

use super::App;
use super::overlay::Overlay;
use crate::console::actions::Request;
use crate::console::dialog::{ImportDialog, ImportOutcome};
use crate::console::form::open;
use crate::console::keymap::{self, Action, Focus, Mode};
use crate::console::tabs::{TABS, TabId, Tone};
use crate::console::text::inert;
use crate::service::blueprints::{ApplyReport, Source};

impl App {
    /// Whether Import is allowed (the keymap table decides, so read-only removes it here too).
    pub(super) fn import_allowed(&self) -> bool {
        keymap::bindings(Focus::of(Mode::List), self.config.readonly)
            .any(|b| b.action == Action::Import)
    }

    /// `I` on the Flows tab: asks for the file.
    pub(super) fn start_import(&mut self) {
        if TABS[self.tab].id != TabId::Flows {
            return;
        }
        self.open_form(open::import_form());
    }

    /// `:import PATH`: straight to the preview (`:import` alone opens the form).
    pub(super) fn command_import(&mut self, path: &str) {
        if !self.import_allowed() {
            self.set_status("read-only: import is disabled", Tone::Warn);
            return;
        }
        if let Some(flows) = TABS.iter().position(|t| t.id == TabId::Flows) {
            self.tab = flows;
        }
        self.overlays.clear();
        if path.is_empty() {
            self.start_import();
        } else {
            self.set_status(&format!("reading {path}…"), Tone::Muted);
            self.pending = Some(Request::PreviewBlueprint {
                path: path.to_string(),
            });
        }
    }

    /// The preview came back: open the confirmation.
    pub(super) fn show_preview(&mut self, file: String, sources: Vec<Source>, report: ApplyReport) {
        self.close_form();
        self.overlays
            .push(Overlay::Import(ImportDialog::new(file, sources, report)));
    }

    /// A blueprint failed: at the path field, in the dialog, or on the status line.
    pub(super) fn show_import_error(&mut self, msg: &str) {
        let msg = inert(msg);
        match self.overlays.top_mut() {
            Some(Overlay::Form(form)) => {
                form.saving = false;
                // At the field (marked), and whole in the banner (the field's title is short).
                form.set_error("path", &msg);
                form.banner = Some(msg);
            }
            Some(Overlay::Import(d)) => {
                d.applying = false;
                d.error = Some(msg);
            }
            _ => self.set_status(&msg, Tone::Error),
        }
    }

    /// An import dialog row's action: Apply runs the previewed text in one transaction.
    pub(super) fn import_action(&mut self, action: Action) {
        let Some(Overlay::Import(d)) = self.overlays.top_mut() else {
            return;
        };
        match d.act(action) {
            ImportOutcome::Stay => {}
            ImportOutcome::Cancel => {
                self.overlays.pop();
                self.set_status("import cancelled: nothing changed", Tone::Muted);
            }
            ImportOutcome::Apply => {
                d.applying = true;
                self.pending = Some(Request::ApplyBlueprint {
                    file: d.file.clone(),
                    sources: d.sources.clone(),
                });
            }
        }
    }

    /// The open import confirmation.
    pub fn import_dialog(&self) -> Option<&ImportDialog> {
        match self.overlays.top() {
            Some(Overlay::Import(d)) => Some(d),
            _ => None,
        }
    }
}
