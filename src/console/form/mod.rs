//! The one form widget's state: any object kind's declared fields, edited from the keyboard,
//! validated live, and turned back into a domain object only when every field is valid.

pub mod field;
mod keys;
pub mod open;
pub mod picker;
pub mod specs;
pub mod stage_specs;
pub mod with_provider;

use tui_textarea::TextArea;

use crate::domain::Duration;
use crate::domain::Object;
use crate::service::providers::check_redirect_uri;
use field::{FieldKind, FieldSpec, FieldValue};
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
    /// Insert a new application and its new provider (the companion) in one transaction.
    CreateWithProvider,
    /// Run a dry run of the inspector (nothing is written).
    DryRun(DryRun),
    /// Make an enrollment token (the service makes its key, shown once).
    CreateEnrollmentToken,
    /// Make an invitation (the service makes its link, shown once).
    CreateInvitation,
    /// Make an app password or API token for the user with this id and username (the
    /// service makes its key, shown once).
    CreateToken(String, String),
}

/// Which dry run a form asks for, and of what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DryRun {
    /// `s` in the inspector: plan the flow with this slug.
    Simulate(String),
    /// `t` on a policy: authentik's "Test Policy" (the policy's id and name).
    TestPolicy(String, String),
    /// `t` on an application: "Check access" (its slug).
    CheckAccess(String),
    /// `t` on an OAuth2 provider: the token preview (its id and name).
    PreviewTokens(String, String),
}

/// Which object of the form a field reads from and writes to: most forms edit one object,
/// "create application with provider" edits the application and, as its companion, the
/// provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Part {
    /// The form's object ([`Form::base`]).
    #[default]
    Base,
    /// The second object ([`Form::companion`]).
    Companion,
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
    /// Which object the field edits.
    pub part: Part,
    /// The field's name on its object as validation names it: the key, except where the two
    /// objects of a form share a name (the companion provider's `name` is keyed
    /// `provider_name`).
    pub object_key: &'static str,
    /// A section title drawn above the field (authentik's form groups).
    pub heading: Option<&'static str>,
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
    /// `n` on a select: open a form creating an object for field `key` (the new object is
    /// selected there once saved).
    CreateFor(&'static str),
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
    /// The second object a form edits ([`Part::Companion`] fields write onto it).
    pub companion: Option<Object>,
    /// Opened with `n` from another form's select: once this form's object is saved, that
    /// form (under this one) selects it in the field with this key.
    pub select_in_parent: Option<&'static str>,
}

/// A text editor over `text` (masked for secrets), the cursor at the end.
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

impl FieldState {
    /// The field `spec` of `part`, its value read from `obj`.
    fn new(spec: FieldSpec, obj: &Object, part: Part) -> Self {
        let value = (spec.get)(obj);
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
            part,
            object_key: spec.key,
            heading: None,
        }
    }
}

impl Form {
    /// Opens a form over `base` with `specs`, reading every value from the object.
    pub fn new(title: &str, base: Object, purpose: Purpose, specs: Vec<FieldSpec>) -> Self {
        let fields = specs
            .into_iter()
            .map(|spec| FieldState::new(spec, &base, Part::Base))
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
            companion: None,
            select_in_parent: None,
        };
        form.validate();
        form
    }

    /// Adds `companion` as the form's second object with its `specs` after the base's fields;
    /// `renamed` maps a field key to the name validation uses on the companion (`provider_name`
    /// → `name`).
    pub fn with_companion(
        mut self,
        companion: Object,
        specs: Vec<FieldSpec>,
        renamed: &[(&str, &'static str)],
    ) -> Self {
        for spec in specs {
            let mut f = FieldState::new(spec, &companion, Part::Companion);
            if let Some((_, name)) = renamed.iter().find(|(k, _)| *k == spec.key) {
                f.object_key = name;
            }
            self.fields.push(f);
        }
        self.companion = Some(companion);
        self.validate();
        self
    }

    /// Titles sections: `(first field's key, title)`, drawn above that field.
    pub fn with_sections(mut self, sections: &[(&str, &'static str)]) -> Self {
        for (key, title) in sections {
            if let Some(f) = self.fields.iter_mut().find(|f| f.spec.key == *key) {
                f.heading = Some(title);
            }
        }
        self
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

    /// The field a service error names: `provider.<name>` is the companion provider's field
    /// of that name; anything else is a field key, or the base object's field of that name.
    fn field_named(&self, name: &str) -> Option<usize> {
        let on = |part: Part, name: &str| {
            self.fields
                .iter()
                .position(|f| f.part == part && f.object_key == name)
        };
        if self.companion.is_some()
            && let Some(rest) =
                name.strip_prefix(crate::service::applications::PROVIDER_FIELD_PREFIX)
        {
            return on(Part::Companion, rest);
        }
        self.fields
            .iter()
            .position(|f| f.spec.key == name)
            .or_else(|| on(Part::Base, name))
    }

    /// Marks `key` invalid with `message` (server-side errors) and focuses it.
    pub fn set_error(&mut self, key: &str, message: &str) -> bool {
        if let Some(i) = self.field_named(key) {
            self.fields[i].error = Some(message.to_string());
            self.focus = i;
            true
        } else {
            false
        }
    }

    /// The object with every field written on (valid only when `invalid_count() == 0`).
    pub fn build(&self) -> Object {
        self.build_part(&self.base, Part::Base)
    }

    /// The companion with its fields written on, when the form has one.
    pub fn build_companion(&self) -> Option<Object> {
        self.companion
            .as_ref()
            .map(|c| self.build_part(c, Part::Companion))
    }

    fn build_part(&self, obj: &Object, part: Part) -> Object {
        let mut obj = obj.clone();
        for f in self.fields.iter().filter(|f| f.part == part) {
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
        if self.purpose == Purpose::GenerateCertificate
            && let Ok(days) = self
                .value(VALIDITY_DAYS)
                .map_or("", |v| v.text())
                .trim()
                .parse()
            && let Err(why) = crate::service::certificates::check_validity_days(days)
        {
            self.set_error_quiet(VALIDITY_DAYS, &why);
        }
        for (obj, part) in self.objects_to_check() {
            if let Err(errs) = crate::domain::validate_object(&obj) {
                self.mark(part, errs);
            }
        }
    }

    /// The objects the domain's rules apply to, each with the part its fields are in.
    fn objects_to_check(&self) -> Vec<(Object, Part)> {
        match self.purpose {
            Purpose::Create | Purpose::Update => vec![(self.build(), Part::Base)],
            Purpose::CreateWithProvider => {
                let mut out = Vec::new();
                if let Some((app, provider)) = with_provider::pair(self) {
                    out.push((Object::Application(app), Part::Base));
                    out.push((Object::Provider(provider), Part::Companion));
                }
                out
            }
            _ => Vec::new(),
        }
    }

    /// Shows `errors` of the object of `part` at its fields (errors about fields the form
    /// does not have, such as a binding's flow, stay off it).
    fn mark(&mut self, part: Part, errors: crate::domain::FieldErrors) {
        for e in errors.0 {
            if let Some(f) = self
                .fields
                .iter_mut()
                .find(|f| f.part == part && f.object_key == e.field)
                && f.error.is_none()
            {
                f.error = Some(e.message);
            }
        }
    }

    /// Ctrl-S's last check before saving: the expressions compile (each error at its field,
    /// with its line).
    fn expressions_compile(&mut self) {
        for (obj, part) in self.objects_to_check() {
            if let Err(errs) = crate::service::expressions::check_object(&obj) {
                self.mark(part, errs);
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
}

/// The generate-certificate form's validity field.
const VALIDITY_DAYS: &str = crate::service::certificates::VALIDITY_DAYS;

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
                // An optional duration left empty means "none" (an enrollment token's expiry).
                FieldKind::Duration if !spec.required && t.trim().is_empty() => {}
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
