//! What one form field is (declared once per object kind) and the value it edits.

use crate::console::data::Data;
use crate::domain::Object;
use crate::domain::redirect::RedirectUri;

/// What a field's secret generator makes on Ctrl-G.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generate {
    /// Nothing: Ctrl-G does nothing.
    Nothing,
    /// A 40-character OAuth2 client id.
    ClientId,
    /// A 128-character OAuth2 client secret.
    ClientSecret,
}

/// How a field is edited and drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// One line of text.
    Text,
    /// One masked line (Ctrl-T reveals, Ctrl-G generates).
    Secret(Generate),
    /// One line shown in clear that Ctrl-G can generate (a client ID: an identifier, not a
    /// secret, which an admin reads off the screen into the application's settings).
    Id(Generate),
    /// Several lines (expressions, PEM, JSON, CSS).
    Multiline,
    /// Several lines that must be a JSON object.
    Json,
    /// One of a list (Enter opens the picker).
    Select,
    /// Any of a list (Enter opens a checklist).
    MultiSelect,
    /// On/off (Space).
    Toggle,
    /// A whole number.
    Number,
    /// An authentik duration (`hours=1;minutes=2`).
    Duration,
    /// Redirect URIs: rows of {strict|regex, url}.
    Uris,
}

impl FieldKind {
    /// True for fields typed into through a text editor.
    pub fn is_text(self) -> bool {
        matches!(
            self,
            FieldKind::Text
                | FieldKind::Secret(_)
                | FieldKind::Id(_)
                | FieldKind::Multiline
                | FieldKind::Json
                | FieldKind::Number
                | FieldKind::Duration
        )
    }

    /// True for editors taller than one line.
    pub fn is_multiline(self) -> bool {
        matches!(self, FieldKind::Multiline | FieldKind::Json)
    }
}

/// A field's value while the form is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    /// Text (also numbers and durations before parsing).
    Text(String),
    /// A toggle.
    Bool(bool),
    /// A select: the chosen id (or enum spelling); `None` for "none".
    One(Option<String>),
    /// A multi-select: the chosen ids.
    Many(Vec<String>),
    /// Redirect URIs.
    Uris(Vec<RedirectUri>),
}

impl FieldValue {
    /// The text of a text value ("" otherwise).
    pub fn text(&self) -> &str {
        match self {
            FieldValue::Text(t) => t,
            _ => "",
        }
    }

    /// The chosen id of a select.
    pub fn one(&self) -> Option<&str> {
        match self {
            FieldValue::One(v) => v.as_deref(),
            _ => None,
        }
    }

    /// The toggle's state.
    pub fn flag(&self) -> bool {
        matches!(self, FieldValue::Bool(true))
    }

    /// The chosen ids of a multi-select.
    pub fn many(&self) -> &[String] {
        match self {
            FieldValue::Many(v) => v,
            _ => &[],
        }
    }
}

/// One choice of a select: the stored id and what the picker shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// What is stored.
    pub id: String,
    /// What is shown (names, not ids).
    pub label: String,
}

/// One field of one object kind: declared once, drawn and edited by the one form widget.
#[derive(Clone, Copy)]
pub struct FieldSpec {
    /// The name validation errors use (`slug`, `client_id`, …).
    pub key: &'static str,
    /// The label on screen.
    pub label: &'static str,
    /// authentik's helper text, shown under the focused field.
    pub help: &'static str,
    /// Empty values are refused.
    pub required: bool,
    /// How it is edited.
    pub kind: FieldKind,
    /// A select's or checklist's choices.
    pub choices: fn(&Data) -> Vec<Choice>,
    /// Reads the value from the object being edited.
    pub get: fn(&Object) -> FieldValue,
    /// Writes the value onto the object being saved.
    pub set: fn(&mut Object, &FieldValue),
}

impl std::fmt::Debug for FieldSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldSpec").field("key", &self.key).finish()
    }
}

/// For fields without choices.
pub fn no_choices(_: &Data) -> Vec<Choice> {
    Vec::new()
}

/// For fields the form reads by key instead of through the object.
pub fn no_get(_: &Object) -> FieldValue {
    FieldValue::Text(String::new())
}

/// See [`no_get`].
pub fn no_set(_: &mut Object, _: &FieldValue) {}
