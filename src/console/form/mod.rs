//! The one form widget's state: any object kind's declared fields, edited from the keyboard,
//! validated live, and turned back into a domain object only when every field is valid.

pub mod field;
pub mod open;
pub mod picker;
pub mod specs;
pub mod stage_specs;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_textarea::TextArea;

use super::data::Data;
use crate::domain::Object;
use crate::domain::redirect::RedirectUri;
use crate::domain::{Duration, MatchingMode};
use crate::service::objects::{generate_client_id, generate_client_secret};
use crate::service::providers::check_redirect_uri;
use field::{FieldKind, FieldSpec, FieldValue, Generate};
use picker::Picker;

/// What saving the form does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// Insert a new object.
    Create,
    /// Update the loaded object (optimistic version check).
    Update,
    /// Generate a self-signed certificate.
    GenerateCertificate,
    /// Import a PEM certificate and key.
    ImportCertificate,
    /// Set the password of the user with this id.
    SetPassword(String),
    /// Name a blueprint file to import (a preview comes first).
    ImportBlueprint,
    /// Write the certificate keypair with this id to files.
    ExportCertificate(String),
}

/// One field's live state.
pub struct FieldState {
    /// The declaration.
    pub spec: FieldSpec,
    /// The current value (text fields mirror their editor).
    pub value: FieldValue,
    /// The editor of text fields (and of the selected redirect URI row).
    pub editor: Option<TextArea<'static>>,
    /// Why the value is refused, shown at the field.
    pub error: Option<String>,
    /// A non-blocking concern, confirmed before saving.
    pub warning: Option<String>,
    /// Secret revealed with Ctrl-T.
    pub revealed: bool,
    /// The selected row of a redirect URI list.
    pub row: usize,
}

/// What the form wants the app to do after a key.
#[derive(Debug, Clone, PartialEq)]
pub enum FormOutcome {
    /// Stay open.
    Stay,
    /// Close without saving.
    Close,
    /// Every field is valid: save this.
    Save,
    /// Ctrl-E on a multi-line field: edit `text` in `$EDITOR`, then hand it back with
    /// [`Form::finish_external_edit`].
    EditExternally {
        /// The field's key.
        key: &'static str,
        /// Its current text.
        text: String,
    },
}

/// An open form.
pub struct Form {
    /// The block title ("Create Flow", "Update Provider").
    pub title: String,
    /// The object being edited (its fields are written onto a copy at save).
    pub base: Object,
    /// What saving does.
    pub purpose: Purpose,
    /// The fields, in order.
    pub fields: Vec<FieldState>,
    /// The focused field.
    pub focus: usize,
    /// An open picker.
    pub picker: Option<Picker>,
    /// Edited since opening.
    pub dirty: bool,
    /// Esc was pressed on a dirty form: the next `y` drops the edits.
    pub confirm_discard: bool,
    /// Warnings were shown: the next `y` saves anyway.
    pub confirm_warnings: Option<String>,
    /// A message for the whole form (stale version, refused delete, save failure).
    pub banner: Option<String>,
    /// Saving is under way.
    pub saving: bool,
    /// The stored object changed since the form opened: `r` reloads it.
    pub stale: bool,
    /// Ctrl-F: the text being searched for in the focused field (Enter finds the next match).
    pub find: Option<String>,
}

fn editor(text: &str, spec: &FieldSpec) -> TextArea<'static> {
    let lines: Vec<String> = if text.is_empty() {
        vec![String::new()]
    } else {
        text.lines().map(str::to_string).collect()
    };
    let mut ta = TextArea::new(lines);
    ta.move_cursor(tui_textarea::CursorMove::Bottom);
    ta.move_cursor(tui_textarea::CursorMove::End);
    if matches!(spec.kind, FieldKind::Secret(_)) {
        ta.set_mask_char('•');
    }
    ta
}

impl Form {
    /// Opens a form over `base` with `specs`, reading every value from the object.
    pub fn new(title: &str, base: Object, purpose: Purpose, specs: Vec<FieldSpec>) -> Self {
        let fields = specs
            .into_iter()
            .map(|spec| {
                let value = (spec.get)(&base);
                let ed = if spec.kind.is_text() {
                    Some(editor(value.text(), &spec))
                } else if spec.kind == FieldKind::Uris {
                    let first = match &value {
                        FieldValue::Uris(u) => u.first().map(|r| r.url.clone()).unwrap_or_default(),
                        _ => String::new(),
                    };
                    Some(editor(&first, &spec))
                } else {
                    None
                };
                FieldState {
                    spec,
                    value,
                    editor: ed,
                    error: None,
                    warning: None,
                    revealed: false,
                    row: 0,
                }
            })
            .collect();
        let mut form = Self {
            title: title.to_string(),
            base,
            purpose,
            fields,
            focus: 0,
            picker: None,
            dirty: false,
            confirm_discard: false,
            confirm_warnings: None,
            banner: None,
            saving: false,
            stale: false,
            find: None,
        };
        form.validate();
        form
    }

    /// Sets a field's text (for forms whose fields are not on the object, and for tests).
    pub fn set_text(&mut self, key: &str, text: &str) {
        if let Some(f) = self.fields.iter_mut().find(|f| f.spec.key == key) {
            f.value = FieldValue::Text(text.to_string());
            f.editor = Some(editor(text, &f.spec));
        }
    }

    /// Takes the text `$EDITOR` left for field `key` (or why it could not run).
    pub fn finish_external_edit(&mut self, key: &str, result: Result<String, String>) {
        match result {
            Ok(text) => {
                let unchanged = self.value(key).is_some_and(|v| v.text() == text);
                if !unchanged {
                    self.set_text(key, &text);
                    self.dirty = true;
                    self.validate();
                }
                self.banner = None;
            }
            Err(why) => self.banner = Some(why),
        }
    }

    /// Ctrl-F's keys: typing searches as you type (case-insensitive, literal), Enter finds the
    /// next match, Esc closes the search.
    fn find_key(&mut self, ev: &KeyEvent) {
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
        let mut retype = false;
        match ev.code {
            KeyCode::Esc => {
                let _ = ed.set_search_pattern("");
                self.find = None;
                self.banner = None;
                return;
            }
            KeyCode::Enter => {}
            KeyCode::Backspace => {
                pattern.pop();
                retype = true;
            }
            KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => {
                pattern.push(c);
                retype = true;
            }
            _ => return,
        }
        if pattern.is_empty() {
            let _ = ed.set_search_pattern("");
            self.banner = None;
            return;
        }
        if retype {
            let _ = ed.set_search_pattern(format!("(?i){}", regex::escape(pattern)));
        }
        let found = ed.search_forward(retype);
        self.banner = (!found).then(|| format!("no match for '{pattern}'"));
    }

    /// Sets a select's value.
    pub fn set_one(&mut self, key: &str, id: Option<&str>) {
        if let Some(f) = self.fields.iter_mut().find(|f| f.spec.key == key) {
            f.value = FieldValue::One(id.map(str::to_string));
        }
    }

    /// A field's value by key.
    pub fn value(&self, key: &str) -> Option<&FieldValue> {
        self.fields
            .iter()
            .find(|f| f.spec.key == key)
            .map(|f| &f.value)
    }

    /// A field's error by key.
    pub fn error(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.spec.key == key)
            .and_then(|f| f.error.as_deref())
    }

    /// How many fields are invalid.
    pub fn invalid_count(&self) -> usize {
        self.fields.iter().filter(|f| f.error.is_some()).count()
    }

    /// The focused field.
    pub fn focused(&self) -> Option<&FieldState> {
        self.fields.get(self.focus)
    }

    /// Marks `key` invalid with `message` (server-side errors) and focuses it.
    pub fn set_error(&mut self, key: &str, message: &str) -> bool {
        if let Some(i) = self.fields.iter().position(|f| f.spec.key == key) {
            self.fields[i].error = Some(message.to_string());
            self.focus = i;
            true
        } else {
            false
        }
    }

    /// The object with every field written on (valid only when `invalid_count() == 0`).
    pub fn build(&self) -> Object {
        let mut obj = self.base.clone();
        for f in &self.fields {
            (f.spec.set)(&mut obj, &f.value);
        }
        obj
    }

    /// Re-checks every field (required, numbers, durations, JSON, redirect URIs).
    pub fn validate(&mut self) {
        for f in &mut self.fields {
            f.error = None;
            f.warning = None;
            check_field(f);
        }
        if let Purpose::SetPassword(_) = self.purpose {
            let a = self.value("password").map(|v| v.text().to_string());
            let b = self.value("password_repeat").map(|v| v.text().to_string());
            if a != b {
                self.set_error_quiet("password_repeat", "the passwords do not match");
            }
            if a.is_some_and(|p| !p.is_empty() && p.chars().count() < 8) {
                self.set_error_quiet("password", "at least 8 characters");
            }
        }
        if matches!(self.purpose, Purpose::Create | Purpose::Update) {
            let obj = self.build();
            if let Err(errs) = crate::domain::validate_object(&obj) {
                for e in errs.0 {
                    let key = e.field.as_str();
                    let key = match key {
                        "certificate_data" | "target" => continue,
                        k => k,
                    };
                    self.set_error_quiet(key, &e.message);
                }
            }
        }
    }

    fn set_error_quiet(&mut self, key: &str, message: &str) {
        if let Some(f) = self.fields.iter_mut().find(|f| f.spec.key == key)
            && f.error.is_none()
        {
            f.error = Some(message.to_string());
        }
    }

    /// Handles one key.
    pub fn handle_key(&mut self, ev: &KeyEvent, data: &Data) -> FormOutcome {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        if self.confirm_discard {
            self.confirm_discard = false;
            if matches!(ev.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                return FormOutcome::Close;
            }
            return FormOutcome::Stay;
        }
        if self.confirm_warnings.is_some() {
            self.confirm_warnings = None;
            if matches!(ev.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                return FormOutcome::Save;
            }
            return FormOutcome::Stay;
        }
        if self.find.is_some() {
            self.find_key(ev);
            return FormOutcome::Stay;
        }
        if ctrl && ev.code == KeyCode::Char('f') {
            if self
                .fields
                .get(self.focus)
                .is_some_and(|f| f.spec.kind.is_text() && f.editor.is_some())
            {
                self.find = Some(String::new());
            }
            return FormOutcome::Stay;
        }
        if ctrl
            && ev.code == KeyCode::Char('e')
            && self.picker.is_none()
            && let Some(f) = self.fields.get(self.focus)
            && f.spec.kind.is_multiline()
        {
            return FormOutcome::EditExternally {
                key: f.spec.key,
                text: f.value.text().to_string(),
            };
        }
        if let Some(p) = &mut self.picker {
            match p.handle_key(ev) {
                picker::PickerOutcome::Stay => {}
                picker::PickerOutcome::Cancel => self.picker = None,
                picker::PickerOutcome::Pick(v) => {
                    let i = p.field;
                    self.picker = None;
                    if let Some(f) = self.fields.get_mut(i) {
                        f.value = v;
                        self.dirty = true;
                    }
                    self.validate();
                }
            }
            return FormOutcome::Stay;
        }
        match ev.code {
            KeyCode::Esc => {
                if self.dirty {
                    self.confirm_discard = true;
                    return FormOutcome::Stay;
                }
                return FormOutcome::Close;
            }
            KeyCode::Char('s') if ctrl => {
                self.validate();
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
                return FormOutcome::Save;
            }
            KeyCode::Tab => {
                self.move_focus(1);
                return FormOutcome::Stay;
            }
            KeyCode::BackTab => {
                self.move_focus(-1);
                return FormOutcome::Stay;
            }
            _ => {}
        }
        let Some(f) = self.fields.get_mut(self.focus) else {
            return FormOutcome::Stay;
        };
        let kind = f.spec.kind;
        let changed = match kind {
            FieldKind::Toggle => match ev.code {
                KeyCode::Char(' ') | KeyCode::Enter => {
                    f.value = FieldValue::Bool(!f.value.flag());
                    true
                }
                KeyCode::Down => {
                    self.move_focus(1);
                    false
                }
                KeyCode::Up => {
                    self.move_focus(-1);
                    false
                }
                _ => false,
            },
            FieldKind::Select if matches!(ev.code, KeyCode::Left | KeyCode::Right) => {
                // Left/Right cycle through the options like radio buttons.
                let mut ids: Vec<Option<String>> = (f.spec.choices)(data)
                    .into_iter()
                    .map(|c| Some(c.id))
                    .collect();
                if !f.spec.required {
                    ids.insert(0, None);
                }
                let current = f.value.one().map(str::to_string);
                let at = ids.iter().position(|i| *i == current);
                let n = ids.len();
                if n == 0 {
                    false
                } else {
                    let next = match (at, ev.code) {
                        (Some(i), KeyCode::Right) => (i + 1) % n,
                        (Some(i), _) => (i + n - 1) % n,
                        (None, _) => 0,
                    };
                    f.value = FieldValue::One(ids[next].clone());
                    true
                }
            }
            FieldKind::Select | FieldKind::MultiSelect => match ev.code {
                KeyCode::Enter | KeyCode::Char(' ') => {
                    let choices = (f.spec.choices)(data);
                    self.picker = Some(Picker::open(
                        self.focus,
                        kind == FieldKind::MultiSelect,
                        !f.spec.required,
                        choices,
                        &f.value,
                    ));
                    false
                }
                KeyCode::Down => {
                    self.move_focus(1);
                    false
                }
                KeyCode::Up => {
                    self.move_focus(-1);
                    false
                }
                _ => false,
            },
            FieldKind::Uris => handle_uris(f, ev),
            _ => {
                if ctrl && matches!(ev.code, KeyCode::Char('t')) {
                    f.revealed = !f.revealed;
                    if let Some(ed) = &mut f.editor {
                        if f.revealed {
                            ed.clear_mask_char();
                        } else {
                            ed.set_mask_char('•');
                        }
                    }
                    false
                } else if ctrl && matches!(ev.code, KeyCode::Char('g')) {
                    let new = match kind {
                        FieldKind::Secret(Generate::ClientId) => Some(generate_client_id()),
                        FieldKind::Secret(Generate::ClientSecret) => Some(generate_client_secret()),
                        _ => None,
                    };
                    if let Some(new) = new {
                        let spec = f.spec;
                        f.editor = Some(editor(&new, &spec));
                        if f.revealed
                            && let Some(ed) = &mut f.editor
                        {
                            ed.clear_mask_char();
                        }
                        f.value = FieldValue::Text(new);
                        true
                    } else {
                        false
                    }
                } else if !kind.is_multiline() && matches!(ev.code, KeyCode::Down | KeyCode::Up) {
                    self.move_focus(if ev.code == KeyCode::Down { 1 } else { -1 });
                    false
                } else if !kind.is_multiline() && ev.code == KeyCode::Enter {
                    self.move_focus(1);
                    false
                } else {
                    text_input(f, ev)
                }
            }
        };
        if changed {
            self.dirty = true;
            self.banner = None;
            self.validate();
        }
        FormOutcome::Stay
    }

    fn move_focus(&mut self, delta: isize) {
        let n = self.fields.len();
        if n == 0 {
            return;
        }
        self.focus = (self.focus as isize + delta).rem_euclid(n as isize) as usize;
    }
}

/// Feeds a key to a text editor with our own table (no emacs shortcuts); true when it changed.
fn text_input(f: &mut FieldState, ev: &KeyEvent) -> bool {
    let Some(ed) = &mut f.editor else {
        return false;
    };
    let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
    let changed = if ctrl {
        match ev.code {
            KeyCode::Char('z') => ed.undo(),
            KeyCode::Char('y') => ed.redo(),
            KeyCode::Char('w') => ed.delete_word(),
            KeyCode::Char('k') => ed.delete_line_by_end(),
            KeyCode::Left => {
                ed.move_cursor(tui_textarea::CursorMove::WordBack);
                false
            }
            KeyCode::Right => {
                ed.move_cursor(tui_textarea::CursorMove::WordForward);
                false
            }
            _ => false,
        }
    } else {
        ed.input_without_shortcuts(*ev)
    };
    if changed {
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
    changed
}

fn handle_uris(f: &mut FieldState, ev: &KeyEvent) -> bool {
    let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
    let FieldValue::Uris(rows) = &mut f.value else {
        return false;
    };
    let load = |f: &mut FieldState| {
        let url = match &f.value {
            FieldValue::Uris(rows) => rows.get(f.row).map(|r| r.url.clone()).unwrap_or_default(),
            _ => String::new(),
        };
        let spec = f.spec;
        f.editor = Some(editor(&url, &spec));
    };
    match ev.code {
        KeyCode::Char('n') if ctrl => {
            rows.push(RedirectUri::strict(""));
            f.row = rows.len() - 1;
            load(f);
            true
        }
        KeyCode::Char('x') if ctrl => {
            if f.row < rows.len() {
                rows.remove(f.row);
                f.row = f.row.min(rows.len().saturating_sub(1));
                load(f);
                true
            } else {
                false
            }
        }
        KeyCode::Char('o') if ctrl => {
            if let Some(r) = rows.get_mut(f.row) {
                r.matching_mode = match r.matching_mode {
                    MatchingMode::Strict => MatchingMode::Regex,
                    MatchingMode::Regex => MatchingMode::Strict,
                };
                true
            } else {
                false
            }
        }
        KeyCode::Down | KeyCode::Up => {
            let n = rows.len();
            if n > 0 {
                f.row = if ev.code == KeyCode::Down {
                    (f.row + 1).min(n - 1)
                } else {
                    f.row.saturating_sub(1)
                };
                load(f);
            }
            false
        }
        _ => {
            if rows.is_empty() {
                if matches!(ev.code, KeyCode::Char(_)) && !ctrl {
                    rows.push(RedirectUri::strict(""));
                    f.row = 0;
                    load(f);
                } else {
                    return false;
                }
            }
            text_input(f, ev)
        }
    }
}

/// The live checks of one field: required, numbers, durations, JSON, redirect URIs.
fn check_field(f: &mut FieldState) {
    let spec = f.spec;
    match (&f.value, spec.kind) {
        (FieldValue::Text(t), kind) => {
            if spec.required && t.trim().is_empty() {
                f.error = Some("required".into());
                return;
            }
            match kind {
                FieldKind::Number if !t.trim().is_empty() && t.trim().parse::<i64>().is_err() => {
                    f.error = Some(format!("'{t}' is not a whole number"));
                }
                FieldKind::Duration => {
                    if let Err(e) = Duration::parse(t) {
                        f.error = Some(format!("{}: use e.g. hours=1;minutes=2", e.reason));
                    }
                }
                FieldKind::Json => {
                    if let Err(e) = specs::parse_json(t) {
                        f.error = Some(e);
                    }
                }
                _ => {}
            }
        }
        (FieldValue::One(None), _) if spec.required => {
            f.error = Some("required: Enter to pick".into())
        }
        (FieldValue::Uris(rows), _) => {
            let mut warnings = Vec::new();
            for (i, r) in rows.iter().enumerate() {
                let c = check_redirect_uri(r.matching_mode, &r.url);
                if let Some(e) = c.error {
                    f.error = Some(format!("row {}: {e}", i + 1));
                    f.row = i;
                    return;
                }
                if let Some(w) = c.warning {
                    warnings.push(w);
                }
            }
            if !warnings.is_empty() {
                f.warning = Some(warnings.join("; "));
            }
        }
        _ => {}
    }
}

/// The "= 1h 2m" preview of a duration field.
pub fn duration_preview(text: &str) -> Option<String> {
    Duration::parse(text)
        .ok()
        .map(|d| format!("= {}", d.human()))
}
