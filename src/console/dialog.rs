//! The delete dialog: who uses the target and what happens to each, Cancel focused, and the
//! target's name typed to confirm anything that cascades.

use crossterm::event::KeyEvent;

use crate::console::actions::AccountChange;
use crate::console::keymap::{Action, typed_char};

use crate::domain::Kind;
use crate::service::usages::{OnDelete, Usage};

/// What a delete dialog deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteTarget {
    /// A stored object of this kind.
    Object(Kind),
    /// An invitation (kept apart from the objects: its token is a secret digest).
    Invitation,
}

/// An open delete dialog.
#[derive(Debug, Clone)]
pub struct DeleteDialog {
    /// What the target is.
    pub target: DeleteTarget,
    /// The target's id.
    pub id: String,
    /// The target's name/slug (typed to confirm).
    pub name: String,
    /// Who uses it.
    pub usages: Vec<Usage>,
    /// Why it cannot be deleted at all.
    pub refused: Option<String>,
    /// Focus on the Delete button (Cancel otherwise).
    pub on_delete: bool,
    /// What was typed to confirm.
    pub typed: String,
    /// The last failure.
    pub error: Option<String>,
    /// What confirming does instead of deleting an object: a change to a user's account.
    pub change: Option<AccountChange>,
    /// The title's and the button's verb ("Delete", "Revoke", "Reset").
    pub verb: &'static str,
    /// What the change does, shown in place of the used-by list.
    pub note: Option<String>,
}

/// What a key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogOutcome {
    /// Still open.
    Stay,
    /// Closed, nothing deleted.
    Cancel,
    /// Confirmed.
    Delete,
}

impl DeleteDialog {
    /// Opens with Cancel focused.
    pub fn new(
        kind: Kind,
        id: String,
        name: String,
        usages: Vec<Usage>,
        refused: Option<String>,
    ) -> Self {
        Self {
            target: DeleteTarget::Object(kind),
            id,
            name,
            usages,
            refused,
            on_delete: false,
            typed: String::new(),
            error: None,
            change: None,
            verb: "Delete",
            note: None,
        }
    }

    /// A confirmation of an account change from the user detail (`what` names the item in
    /// the title, `note` says what happens), Cancel focused; nothing is typed to confirm.
    pub fn account(verb: &'static str, what: String, note: String, change: AccountChange) -> Self {
        Self {
            change: Some(change),
            verb,
            note: Some(note),
            ..Self::new(Kind::User, String::new(), what, Vec::new(), None)
        }
    }

    /// Opens for an invitation, which nothing else uses (Cancel focused).
    pub fn invitation(id: String, name: String) -> Self {
        Self {
            target: DeleteTarget::Invitation,
            ..Self::new(Kind::User, id, name, Vec::new(), None)
        }
    }

    /// Why Delete cannot be pressed yet, if it cannot.
    pub fn blocked(&self) -> Option<String> {
        if let Some(r) = &self.refused {
            return Some(r.clone());
        }
        if let Some(b) = self.usages.iter().find(|u| u.effect == OnDelete::Blocks) {
            return Some(format!(
                "refused: {} '{}' uses it as {}",
                b.kind, b.name, b.field
            ));
        }
        None
    }

    /// True when the target's name must be typed (the delete cascades to other objects).
    pub fn needs_typing(&self) -> bool {
        !self.usages.is_empty()
    }

    /// True when Enter on Delete would delete.
    pub fn armed(&self) -> bool {
        self.blocked().is_none() && (!self.needs_typing() || self.typed == self.name)
    }

    /// Carries out what a bound key asks: switch buttons, press one, cancel, or delete a
    /// typed character.
    pub fn act(&mut self, action: Action) -> DialogOutcome {
        match action {
            Action::Cancel => DialogOutcome::Cancel,
            Action::SwitchButton => {
                self.on_delete = !self.on_delete;
                DialogOutcome::Stay
            }
            Action::Press if !self.on_delete => DialogOutcome::Cancel,
            Action::Press if self.armed() => DialogOutcome::Delete,
            Action::DeleteChar => {
                self.typed.pop();
                DialogOutcome::Stay
            }
            _ => DialogOutcome::Stay,
        }
    }

    /// Takes a key no row binds: a printable one types the name to confirm.
    pub fn type_key(&mut self, ev: &KeyEvent) {
        if let Some(c) = typed_char(ev)
            && self.needs_typing()
        {
            self.typed.push(c);
        }
    }
}

/// The blueprint import confirmation: what applying the file would change, Cancel focused.
#[derive(Debug, Clone)]
pub struct ImportDialog {
    /// The file as the admin named it.
    pub file: String,
    /// The text read at preview time: exactly what Apply applies.
    pub sources: Vec<crate::service::blueprints::Source>,
    /// What applying would do.
    pub report: crate::service::blueprints::ApplyReport,
    /// Focus on the Apply button (Cancel otherwise).
    pub on_apply: bool,
    /// The last failure.
    pub error: Option<String>,
    /// Apply was pressed and the request is running.
    pub applying: bool,
}

/// What a key did in the import dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    /// Still open.
    Stay,
    /// Closed, nothing applied.
    Cancel,
    /// Confirmed.
    Apply,
}

impl ImportDialog {
    /// Opens with Cancel focused.
    pub fn new(
        file: String,
        sources: Vec<crate::service::blueprints::Source>,
        report: crate::service::blueprints::ApplyReport,
    ) -> Self {
        Self {
            file,
            sources,
            report,
            on_apply: false,
            error: None,
            applying: false,
        }
    }

    /// Carries out what a bound key asks: switch buttons, press one, or cancel (nothing
    /// while the import runs).
    pub fn act(&mut self, action: Action) -> ImportOutcome {
        if self.applying {
            return ImportOutcome::Stay;
        }
        match action {
            Action::Cancel => ImportOutcome::Cancel,
            Action::SwitchButton => {
                self.on_apply = !self.on_apply;
                ImportOutcome::Stay
            }
            Action::Press if self.on_apply => ImportOutcome::Apply,
            Action::Press => ImportOutcome::Cancel,
            _ => ImportOutcome::Stay,
        }
    }
}
