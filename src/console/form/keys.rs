//! What keys do to a form. The keymap decides which action a key is (from [`Form::focus`]);
//! this module carries actions out, and feeds keys no row binds to the focused text input.

use crossterm::event::{KeyEvent, KeyModifiers};

use super::field::{FieldKind, FieldValue, Generate};
use super::picker::{Picker, PickerOutcome};
use super::{FieldState, Form, FormOutcome, editor};
use crate::console::data::Data;
use crate::console::keymap::{self, Action, Field, Focus, Mode};
use crate::domain::MatchingMode;
use crate::domain::redirect::RedirectUri;
use crate::service::objects::{generate_client_id, generate_client_secret};

/// A change to the Ctrl-F search.
enum FindEdit {
    Close,
    Next,
    Pop,
    Push(char),
}

impl FieldKind {
    /// The kind as the keymap sees it.
    pub fn keys(self) -> Field {
        match self {
            FieldKind::Text | FieldKind::Id(_) | FieldKind::Number | FieldKind::Duration => {
                Field::Text
            }
            FieldKind::Secret(_) => Field::Secret,
            FieldKind::Multiline | FieldKind::Json => Field::Lines,
            FieldKind::Toggle => Field::Toggle,
            FieldKind::Select => Field::Select,
            FieldKind::MultiSelect => Field::Multi,
            FieldKind::Uris => Field::Uris,
        }
    }
}

impl Form {
    /// Where keys go: the form's question, search or picker when one is open, otherwise the
    /// focused field.
    pub fn focus(&self) -> Focus {
        let mode = if self.confirm_discard || self.confirm_warnings.is_some() {
            Mode::Confirm
        } else if self.find.is_some() {
            Mode::Find
        } else if let Some(p) = &self.picker {
            if p.multi {
                Mode::Checklist
            } else {
                Mode::Picker
            }
        } else {
            Mode::Form
        };
        let field = (mode == Mode::Form)
            .then(|| self.focused().map(|f| f.spec.kind.keys()))
            .flatten();
        Focus {
            mode,
            field,
            stale: self.stale,
            dry_run: matches!(self.purpose, super::Purpose::DryRun(_)),
        }
    }

    /// Carries out what a bound key asks.
    pub fn act(&mut self, action: Action, data: &Data) -> FormOutcome {
        if self.confirm_discard || self.confirm_warnings.is_some() {
            if action == Action::Yes {
                return self.answer_yes();
            }
            self.answer_no();
            return FormOutcome::Stay;
        }
        if self.find.is_some() {
            match action {
                Action::Cancel => self.find_step(FindEdit::Close),
                Action::FindNext => self.find_step(FindEdit::Next),
                Action::DeleteChar => self.find_step(FindEdit::Pop),
                _ => {}
            }
            return FormOutcome::Stay;
        }
        if let Some(p) = &mut self.picker {
            let outcome = p.act(action);
            self.picked(outcome);
            return FormOutcome::Stay;
        }
        match action {
            Action::Cancel if self.dirty => self.confirm_discard = true,
            Action::Cancel => return FormOutcome::Close,
            Action::Save | Action::RunDryRun => return self.save(),
            Action::NextField => self.move_focus(1),
            Action::PrevField => self.move_focus(-1),
            Action::Find => self.start_find(),
            Action::EditExternally => return self.edit_externally(),
            Action::OpenPicker => self.open_picker(data),
            Action::NewForField => {
                if let Some(f) = self.focused() {
                    return FormOutcome::CreateFor(f.spec.key);
                }
            }
            _ => {
                if self.field_action(action, data) {
                    self.dirty = true;
                    self.banner = None;
                    self.validate();
                }
            }
        }
        FormOutcome::Stay
    }

    /// Takes a key no row binds: text for the focused input, or "no" to an open question.
    pub fn type_key(&mut self, ev: &KeyEvent) {
        if self.confirm_discard || self.confirm_warnings.is_some() {
            self.answer_no();
            return;
        }
        if self.find.is_some() {
            if let Some(c) = keymap::typed_char(ev) {
                self.find_step(FindEdit::Push(c));
            }
            return;
        }
        if let Some(p) = &mut self.picker {
            p.type_key(ev);
            return;
        }
        let Some(f) = self.fields.get_mut(self.focus) else {
            return;
        };
        let changed = match f.spec.kind {
            FieldKind::Uris => type_uri(f, ev),
            k if k.is_text() => text_input(f, ev),
            _ => false,
        };
        if changed {
            self.dirty = true;
            self.banner = None;
            self.validate();
        }
    }

    /// `y` to "drop your edits?" closes; to "save despite the warnings?" saves.
    fn answer_yes(&mut self) -> FormOutcome {
        if std::mem::take(&mut self.confirm_discard) {
            return FormOutcome::Close;
        }
        if self.confirm_warnings.take().is_some() {
            return FormOutcome::Save;
        }
        FormOutcome::Stay
    }

    /// Any other key: the question goes away and editing goes on.
    fn answer_no(&mut self) {
        if !std::mem::take(&mut self.confirm_discard) {
            self.confirm_warnings = None;
        }
    }

    /// Ctrl-S: saves only when every field is valid and every expression compiles, and asks
    /// first about warnings.
    fn save(&mut self) -> FormOutcome {
        self.validate();
        if self.invalid_count() == 0 {
            self.expressions_compile();
        }
        if let Some(i) = self.fields.iter().position(|f| f.error.is_some()) {
            self.focus = i;
            self.banner = Some(format!(
                "{} invalid field(s): fix them before saving",
                self.invalid_count()
            ));
            return FormOutcome::Stay;
        }
        let warnings: Vec<String> = self
            .fields
            .iter()
            .filter_map(|f| f.warning.clone())
            .collect();
        if !warnings.is_empty() {
            self.confirm_warnings = Some(warnings.join("; "));
            return FormOutcome::Stay;
        }
        FormOutcome::Save
    }

    fn edit_externally(&self) -> FormOutcome {
        match self.focused() {
            Some(f) if f.spec.kind.is_multiline() => FormOutcome::EditExternally {
                key: f.spec.key,
                text: f.value.text().to_string(),
            },
            _ => FormOutcome::Stay,
        }
    }

    fn start_find(&mut self) {
        if self
            .focused()
            .is_some_and(|f| f.spec.kind.is_text() && f.editor.is_some())
        {
            self.find = Some(String::new());
        }
    }

    /// Ctrl-F's search: typing searches as you type (case-insensitive, literal), Enter finds
    /// the next match, Esc closes the search.
    fn find_step(&mut self, edit: FindEdit) {
        let Some(pattern) = &mut self.find else {
            return;
        };
        let Some(ed) = self
            .fields
            .get_mut(self.focus)
            .and_then(|f| f.editor.as_mut())
        else {
            self.find = None;
            return;
        };
        let retype = match edit {
            FindEdit::Close => {
                // An empty pattern always compiles: nothing to report.
                let _ = ed.set_search_pattern("");
                self.find = None;
                self.banner = None;
                return;
            }
            FindEdit::Next => false,
            FindEdit::Pop => {
                pattern.pop();
                true
            }
            FindEdit::Push(c) => {
                pattern.push(c);
                true
            }
        };
        if pattern.is_empty() {
            // The empty pattern always compiles: there is no error to show.
            let _ = ed.set_search_pattern("");
            self.banner = None;
            return;
        }
        if retype && let Err(e) = ed.set_search_pattern(format!("(?i){}", regex::escape(pattern))) {
            self.banner = Some(format!("cannot search for '{pattern}': {e}"));
            return;
        }
        let found = ed.search_forward(retype);
        self.banner = (!found).then(|| format!("no match for '{pattern}'"));
    }

    fn open_picker(&mut self, data: &Data) {
        let Some(f) = self.fields.get(self.focus) else {
            return;
        };
        if !matches!(f.spec.kind, FieldKind::Select | FieldKind::MultiSelect) {
            return;
        }
        let choices = (f.spec.choices)(data);
        self.picker = Some(Picker::open(
            self.focus,
            f.spec.kind == FieldKind::MultiSelect,
            !f.spec.required,
            choices,
            &f.value,
        ));
    }

    /// What the open picker did: closed, or closed with a value for its field.
    fn picked(&mut self, outcome: PickerOutcome) {
        match outcome {
            PickerOutcome::Stay => {}
            PickerOutcome::Cancel => self.picker = None,
            PickerOutcome::Pick(v) => {
                let i = self.picker.take().map_or(self.focus, |p| p.field);
                if let Some(f) = self.fields.get_mut(i) {
                    f.value = v;
                    self.dirty = true;
                }
                self.validate();
            }
        }
    }

    /// An action on the focused field; true when its value changed.
    fn field_action(&mut self, action: Action, data: &Data) -> bool {
        let Some(f) = self.fields.get_mut(self.focus) else {
            return false;
        };
        match action {
            Action::Down | Action::Up if f.spec.kind == FieldKind::Uris => {
                move_uri_row(f, action == Action::Down);
                false
            }
            Action::Down => {
                self.move_focus(1);
                false
            }
            Action::Up => {
                self.move_focus(-1);
                false
            }
            Action::Toggle if f.spec.kind == FieldKind::Toggle => {
                f.value = FieldValue::Bool(!f.value.flag());
                true
            }
            Action::CyclePrev | Action::CycleNext => cycle(f, action == Action::CycleNext, data),
            Action::Reveal => {
                reveal(f);
                false
            }
            Action::Generate => generate(f),
            Action::AddRow | Action::RemoveRow | Action::ToggleMatching => uri_rows(f, action),
            _ => text_command(f, action),
        }
    }

    pub(super) fn move_focus(&mut self, delta: isize) {
        let n = self.fields.len();
        if n == 0 {
            return;
        }
        self.focus = (self.focus as isize + delta).rem_euclid(n as isize) as usize;
    }
}

/// Left/Right on a select: the previous or next option, like radio buttons.
fn cycle(f: &mut FieldState, forward: bool, data: &Data) -> bool {
    if f.spec.kind != FieldKind::Select {
        return false;
    }
    let mut ids: Vec<Option<String>> = (f.spec.choices)(data)
        .into_iter()
        .map(|c| Some(c.id))
        .collect();
    if !f.spec.required {
        ids.insert(0, None);
    }
    let n = ids.len();
    if n == 0 {
        return false;
    }
    let current = f.value.one().map(str::to_string);
    let next = match (ids.iter().position(|i| *i == current), forward) {
        (Some(i), true) => (i + 1) % n,
        (Some(i), false) => (i + n - 1) % n,
        (None, _) => 0,
    };
    f.value = FieldValue::One(ids[next].clone());
    true
}

/// Ctrl-T: shows or masks a secret.
fn reveal(f: &mut FieldState) {
    f.revealed = !f.revealed;
    if let Some(ed) = &mut f.editor {
        if f.revealed {
            ed.clear_mask_char();
        } else {
            ed.set_mask_char('•');
        }
    }
}

/// Ctrl-G: a new client id or secret (fields without a generator keep their value, so the
/// key does nothing on other text fields).
fn generate(f: &mut FieldState) -> bool {
    let new = match f.spec.kind {
        FieldKind::Secret(Generate::ClientId) | FieldKind::Id(Generate::ClientId) => {
            generate_client_id()
        }
        FieldKind::Secret(Generate::ClientSecret) | FieldKind::Id(Generate::ClientSecret) => {
            generate_client_secret()
        }
        _ => return false,
    };
    let mut ed = editor(&new, &f.spec);
    if f.revealed {
        ed.clear_mask_char();
    }
    f.editor = Some(ed);
    f.value = FieldValue::Text(new);
    true
}

/// Feeds a key no row binds to a text editor (printable keys, Backspace, arrows inside the
/// text, …; Ctrl keys only through rows); true when the text changed.
fn text_input(f: &mut FieldState, ev: &KeyEvent) -> bool {
    if ev.modifiers.contains(KeyModifiers::CONTROL) {
        return false;
    }
    let Some(ed) = &mut f.editor else {
        return false;
    };
    let changed = ed.input_without_shortcuts(*ev);
    if changed {
        sync_text(f);
    }
    changed
}

/// The text editing rows (undo, redo, delete word, …); true when the text changed.
fn text_command(f: &mut FieldState, action: Action) -> bool {
    if !f.spec.kind.is_text() && !has_uri_row(f) {
        return false;
    }
    let Some(ed) = &mut f.editor else {
        return false;
    };
    let changed = match action {
        Action::Undo => ed.undo(),
        Action::Redo => ed.redo(),
        Action::DeleteWord => ed.delete_word(),
        Action::DeleteToEnd => ed.delete_line_by_end(),
        Action::WordLeft => {
            ed.move_cursor(tui_textarea::CursorMove::WordBack);
            false
        }
        Action::WordRight => {
            ed.move_cursor(tui_textarea::CursorMove::WordForward);
            false
        }
        _ => false,
    };
    if changed {
        sync_text(f);
    }
    changed
}

/// Copies the editor's text into the field's value (the selected row of a URI list).
fn sync_text(f: &mut FieldState) {
    let Some(ed) = &f.editor else {
        return;
    };
    let text = ed.lines().join("\n");
    if f.spec.kind == FieldKind::Uris {
        if let FieldValue::Uris(rows) = &mut f.value
            && let Some(r) = rows.get_mut(f.row)
        {
            r.url = text;
        }
    } else {
        f.value = FieldValue::Text(text);
    }
}

fn has_uri_row(f: &FieldState) -> bool {
    matches!(&f.value, FieldValue::Uris(rows) if !rows.is_empty())
}

/// Puts the selected URI row's text into the editor.
fn load_uri_row(f: &mut FieldState) {
    let url = match &f.value {
        FieldValue::Uris(rows) => rows.get(f.row).map(|r| r.url.clone()).unwrap_or_default(),
        _ => String::new(),
    };
    f.editor = Some(editor(&url, &f.spec));
}

/// Typing into an empty URI list starts its first row.
fn type_uri(f: &mut FieldState, ev: &KeyEvent) -> bool {
    if let FieldValue::Uris(rows) = &mut f.value
        && rows.is_empty()
    {
        if keymap::typed_char(ev).is_none() {
            return false;
        }
        rows.push(RedirectUri::strict(""));
        f.row = 0;
        load_uri_row(f);
    }
    text_input(f, ev)
}

fn move_uri_row(f: &mut FieldState, down: bool) {
    let FieldValue::Uris(rows) = &f.value else {
        return;
    };
    let n = rows.len();
    if n == 0 {
        return;
    }
    f.row = if down {
        (f.row + 1).min(n - 1)
    } else {
        f.row.saturating_sub(1)
    };
    load_uri_row(f);
}

/// Ctrl-N adds a row, Ctrl-X removes the selected one, Ctrl-O switches strict/regex.
fn uri_rows(f: &mut FieldState, action: Action) -> bool {
    let FieldValue::Uris(rows) = &mut f.value else {
        return false;
    };
    match action {
        Action::AddRow => {
            rows.push(RedirectUri::strict(""));
            f.row = rows.len() - 1;
        }
        Action::RemoveRow if f.row < rows.len() => {
            rows.remove(f.row);
            f.row = f.row.min(rows.len().saturating_sub(1));
        }
        Action::ToggleMatching => {
            let Some(r) = rows.get_mut(f.row) else {
                return false;
            };
            r.matching_mode = match r.matching_mode {
                MatchingMode::Strict => MatchingMode::Regex,
                MatchingMode::Regex => MatchingMode::Strict,
            };
            return true;
        }
        _ => return false,
    }
    load_uri_row(f);
    true
}
