//! The one keymap table. Every key the console answers to is a row here: dispatch looks keys
//! up in it, and the footer hints, the `?` help overlay, the Ctrl-P palette and the pickers'
//! key lines are generated from it. `--readonly` removes mutating rows here and nowhere else,
//! so no view or widget can register a key that escapes read-only mode.
//!
//! A row applies where its [`Mode`]s say, narrowed by a [`When`] (the focused form field's
//! kind, or a stale form). Keys that no row binds go to the focused text input, if any, as
//! typed text; nothing else reads key codes.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What has focus; decides which rows apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A tab's list (or the dashboard).
    List,
    /// The read-only detail view of one object.
    Detail,
    /// The `?` overlay.
    Help,
    /// Typing a `/` filter: printable keys go to the filter, not to the keymap.
    Filter,
    /// A create/edit form, on one of its fields (see [`Field`]).
    Form,
    /// A form's select picker (printable keys filter it).
    Picker,
    /// A form's multi-select checklist (printable keys filter it).
    Checklist,
    /// Ctrl-F in a form: printable keys are the text searched for.
    Find,
    /// A form's yes/no question (drop the edits? save despite warnings?).
    Confirm,
    /// Picking what `n` creates (stage type, policy type, …).
    Choose,
    /// The delete confirmation dialog (printable keys type the name to confirm).
    Delete,
    /// The blueprint import confirmation (what would change).
    Import,
    /// Typing a `:` command.
    Command,
    /// The Ctrl-P palette over this keymap.
    Palette,
    /// `run` mode's "quit and stop the server?" dialog.
    Quit,
    /// A message read whole (an error, a revealed value, the first-start message).
    Message,
    /// The flow inspector.
    Inspect,
    /// The live executions.
    Live,
    /// A dry run's answer (simulation, policy test, access check, token preview).
    Result,
    /// The Events tab's audit filter popup: printable keys type into its focused field.
    EventFilter,
}

impl Mode {
    /// Every mode, in the order the help overlay lists their keys.
    pub const ALL: [Mode; 20] = [
        Mode::List,
        Mode::Detail,
        Mode::Filter,
        Mode::EventFilter,
        Mode::Help,
        Mode::Form,
        Mode::Find,
        Mode::Picker,
        Mode::Checklist,
        Mode::Confirm,
        Mode::Choose,
        Mode::Delete,
        Mode::Import,
        Mode::Command,
        Mode::Palette,
        Mode::Quit,
        Mode::Message,
        Mode::Inspect,
        Mode::Live,
        Mode::Result,
    ];
}

/// The kind of the focused form field, as far as keys care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// One line of text (also numbers and durations).
    Text,
    /// One masked line.
    Secret,
    /// Several lines (expressions, PEM, JSON).
    Lines,
    /// On/off.
    Toggle,
    /// One of a list.
    Select,
    /// Any of a list.
    Multi,
    /// Redirect URI rows.
    Uris,
}

impl Field {
    /// Every kind (the keymap's own tests walk them).
    pub const ALL: [Field; 7] = [
        Field::Text,
        Field::Secret,
        Field::Lines,
        Field::Toggle,
        Field::Select,
        Field::Multi,
        Field::Uris,
    ];
}

/// Where keys go right now: the mode, and in a form the focused field's kind and whether
/// the stored object changed since the form opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Focus {
    /// What has focus.
    pub mode: Mode,
    /// The focused field's kind (only in [`Mode::Form`]).
    pub field: Option<Field>,
    /// The open form's object changed in the store (`r` reloads it).
    pub stale: bool,
    /// The open form asks for one of the inspector's dry runs (`^S` runs it, read-only too).
    pub dry_run: bool,
}

impl Focus {
    /// A focus outside forms.
    pub const fn of(mode: Mode) -> Self {
        Self {
            mode,
            field: None,
            stale: false,
            dry_run: false,
        }
    }
}

/// What narrows a row beyond its modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Wherever its modes apply.
    Always,
    /// In a form, only on fields of these kinds (no narrowing in other modes).
    On(&'static [Field]),
    /// Only while the open form is stale.
    Stale,
    /// Only in a dry run's form.
    DryRun,
    /// Anywhere but a dry run's form.
    NotDryRun,
}

impl When {
    fn holds(self, focus: Focus) -> bool {
        match self {
            When::Always => true,
            When::On(fields) => {
                focus.mode != Mode::Form || focus.field.is_some_and(|f| fields.contains(&f))
            }
            When::Stale => focus.stale,
            When::DryRun => focus.dry_run,
            When::NotDryRun => !focus.dry_run,
        }
    }
}

/// Everything a key can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Back out of a popup or view; quit from a list.
    Quit,
    /// Quit from anywhere.
    ForceQuit,
    /// Next tab, wrapping.
    NextTab,
    /// Previous tab, wrapping.
    PrevTab,
    /// The tab whose hotkey is the digit pressed.
    JumpTab,
    /// One down: list selection, detail scroll, picker choice, form field or URI row.
    Down,
    /// One up (see [`Action::Down`]).
    Up,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// One page down.
    PageDown,
    /// One page up.
    PageUp,
    /// Open the selected row in the detail view.
    Open,
    /// Close the view or popup, or clear the filter.
    Back,
    /// Start typing a filter.
    StartFilter,
    /// Stop typing, keep the filter.
    KeepFilter,
    /// Stop typing, drop the filter.
    ClearFilter,
    /// Delete the last character typed into a one-line input (filter, find, picker, …).
    DeleteChar,
    /// Show or hide the help overlay.
    ToggleHelp,
    /// Reload from the store and repaint.
    Refresh,
    /// Events tab: switch between events and the server log.
    ToggleLogs,
    /// Create an object (mutating).
    New,
    /// Edit the selected object (mutating).
    Edit,
    /// Delete the selected object (mutating).
    Delete,
    /// Flow detail: bind a stage to the flow (mutating).
    BindStage,
    /// Users: set the selected user's password (mutating).
    SetPassword,
    /// Copy the selected URL / client id / secret via OSC 52.
    Copy,
    /// Flow detail: edit the selected stage binding (mutating).
    EditBinding,
    /// Flow detail: remove the selected stage binding (mutating).
    RemoveBinding,
    /// Start typing a `:` command.
    StartCommand,
    /// Open the Ctrl-P palette.
    Palette,
    /// Flows: import a blueprint file (mutating).
    Import,
    /// User detail: end the selected session and revoke its tokens, or (after a confirmation)
    /// delete the selected authenticator, revoke the selected consent or token (mutating).
    RevokeSession,
    /// User detail: a single-use link into the recovery flow, shown once (mutating).
    CreateRecoveryLink,
    /// User detail: email the user a recovery link (mutating).
    SendRecoveryEmail,
    /// Certificates: write the certificate and key to files (refused read-only: key material).
    ExportCertificate,
    /// Close the focused form, picker, dialog, search or command line (a dirty form asks).
    Cancel,
    /// Take the picker's selected choice, or run the typed command.
    Accept,
    /// Press the dialog's focused button (Delete or Apply change the store).
    Press,
    /// Move a dialog's focus between its buttons.
    SwitchButton,
    /// Complete the typed command.
    Complete,
    /// Next form field, wrapping.
    NextField,
    /// Previous form field, wrapping.
    PrevField,
    /// Flip a switch, or tick a checklist item.
    Toggle,
    /// Open the focused select's picker.
    OpenPicker,
    /// The focused select's previous option, wrapping.
    CyclePrev,
    /// The focused select's next option, wrapping.
    CycleNext,
    /// Save the form when every field is valid (mutating).
    Save,
    /// Show or mask the focused secret.
    Reveal,
    /// Generate a new client id or secret.
    Generate,
    /// Edit the focused multi-line field in `$EDITOR`.
    EditExternally,
    /// Search the focused text.
    Find,
    /// The next match of the search.
    FindNext,
    /// Redirect URIs: add a row.
    AddRow,
    /// Redirect URIs: remove the selected row.
    RemoveRow,
    /// Redirect URIs: switch the row between strict and regex matching.
    ToggleMatching,
    /// Text: undo.
    Undo,
    /// Text: redo.
    Redo,
    /// Text: delete the word before the cursor.
    DeleteWord,
    /// Text: delete to the end of the line.
    DeleteToEnd,
    /// Text: cursor one word left.
    WordLeft,
    /// Text: cursor one word right.
    WordRight,
    /// A stale form: load the stored object again.
    Reload,
    /// Answer a form's question with yes.
    Yes,
    /// Read the whole message (the error, banner or status, or the focused field's label and
    /// help) in a scrollable window.
    ReadMessage,
    /// Provider detail: show the selected value (a secret) whole, to read it from the screen.
    RevealValue,
    /// Close the message window.
    Dismiss,
    /// Form: create a new object for the focused select and select it (mutating).
    NewForField,
    /// Applications: a new application and its provider in one form (mutating).
    NewWithProvider,
    /// Flow detail: bind a policy to the selected stage binding or the flow (mutating).
    BindPolicy,
    /// Flows: open the flow inspector on the selected flow.
    Inspect,
    /// The live executions of the inspected flow; in the live view, this flow's or every
    /// flow's.
    LiveExecutions,
    /// Inspector: simulate the flow for a user (nothing written).
    Simulate,
    /// Policies, applications, OAuth2 providers: test policy, check access, token preview.
    Test,
    /// A simulation's result: the next stage's challenge.
    NextStep,
    /// A simulation's result: the previous stage's challenge.
    PrevStep,
    /// A dry run's form: run it (nothing is written, so read-only keeps it).
    RunDryRun,
    /// User detail: delete every authenticator of the user, after a confirmation (mutating).
    ResetMfa,
    /// User detail: make an app password or API token, its key shown once (mutating).
    NewToken,
    /// Events: open the audit filter (action, user, application, client IP, origin, time).
    FilterEvents,
}

/// A key a binding answers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character without Ctrl (Shift is implied by the character).
    Char(char),
    /// Ctrl plus a letter.
    Ctrl(char),
    /// A named key, with any modifiers.
    Code(KeyCode),
    /// Ctrl plus a named key.
    CtrlCode(KeyCode),
    /// Any of `0`-`9`.
    Digit,
}

impl Key {
    fn matches(self, ev: &KeyEvent) -> bool {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        match (self, ev.code) {
            (Key::Char(c), KeyCode::Char(e)) => !ctrl && c == e,
            (Key::Ctrl(c), KeyCode::Char(e)) => ctrl && c.eq_ignore_ascii_case(&e),
            (Key::Digit, KeyCode::Char(e)) => !ctrl && e.is_ascii_digit(),
            (Key::CtrlCode(c), code) => ctrl && c == code,
            (Key::Code(c), code) => c == code,
            _ => false,
        }
    }

    /// The plain key event this key stands for (the palette "presses" it; tests walk them).
    pub fn event(self) -> KeyEvent {
        match self {
            Key::Char(c) => KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
            Key::Ctrl(c) => KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL),
            Key::Code(KeyCode::BackTab) => KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT),
            Key::Code(c) => KeyEvent::new(c, KeyModifiers::NONE),
            Key::CtrlCode(c) => KeyEvent::new(c, KeyModifiers::CONTROL),
            Key::Digit => KeyEvent::new(KeyCode::Char('1'), KeyModifiers::NONE),
        }
    }
}

/// True for a key event that types a character into a text input (no Ctrl).
pub fn typed_char(ev: &KeyEvent) -> Option<char> {
    match ev.code {
        KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => Some(c),
        _ => None,
    }
}

/// How the status line names a key press no row takes (`x`, `^O`, `F5`); `None` for events
/// that are no key a person pressed.
pub fn key_name(ev: &KeyEvent) -> Option<String> {
    let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
    let name = match ev.code {
        KeyCode::Char(' ') => "space".to_string(),
        KeyCode::Char(c) if ctrl => format!("^{}", c.to_ascii_uppercase()),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::F(n) => format!("F{n}"),
        KeyCode::Enter => "enter".into(),
        KeyCode::Esc => "esc".into(),
        KeyCode::Tab => "tab".into(),
        KeyCode::BackTab => "S-tab".into(),
        KeyCode::Backspace => "bksp".into(),
        KeyCode::Delete => "del".into(),
        KeyCode::Insert => "ins".into(),
        KeyCode::Left => "left".into(),
        KeyCode::Right => "right".into(),
        KeyCode::Up => "up".into(),
        KeyCode::Down => "down".into(),
        KeyCode::Home => "home".into(),
        KeyCode::End => "end".into(),
        KeyCode::PageUp => "pgup".into(),
        KeyCode::PageDown => "pgdn".into(),
        _ => return None,
    };
    Some(name)
}

/// One row of the keymap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// Keys that trigger the action.
    pub keys: &'static [Key],
    /// How the keys are written in help and hints.
    pub label: &'static str,
    /// What happens.
    pub action: Action,
    /// The help overlay's description.
    pub description: &'static str,
    /// The footer's short verb; `None` keeps it out of the footer.
    pub hint: Option<&'static str>,
    /// True when the action would change the store (hidden and refused in read-only mode).
    pub mutates: bool,
    /// Kept in the footer on narrow (60-79 column) terminals, which show only 4 hints.
    pub essential: bool,
    /// Where the binding applies.
    pub modes: &'static [Mode],
    /// What narrows it further.
    pub when: When,
    /// How the help overlay lists it, when it shares a line with its pair (`j/k`, `g/G`): the
    /// palette and the status line keep `label` and `description`.
    pub help: Option<(&'static str, &'static str)>,
}

/// A row with no hint, not mutating, not essential, in every focus of its modes.
const fn row(
    keys: &'static [Key],
    label: &'static str,
    action: Action,
    modes: &'static [Mode],
    description: &'static str,
) -> Binding {
    Binding {
        keys,
        label,
        action,
        description,
        hint: None,
        mutates: false,
        essential: false,
        modes,
        when: When::Always,
        help: None,
    }
}

impl Binding {
    /// Shown in the footer as `label hint`.
    const fn hint(mut self, hint: &'static str) -> Self {
        self.hint = Some(hint);
        self
    }

    /// Kept in the footer of narrow terminals.
    const fn essential(mut self) -> Self {
        self.essential = true;
        self
    }

    /// Changes the store: gone in read-only mode.
    const fn mutating(mut self) -> Self {
        self.mutates = true;
        self
    }

    /// Listed in the help overlay as `label  description`, one line shared with its pair (so
    /// the whole table fits the overlay at 120x40).
    const fn help_as(mut self, label: &'static str, description: &'static str) -> Self {
        self.help = Some((label, description));
        self
    }

    /// The help overlay's line for this row.
    pub fn help_entry(&self) -> (&'static str, &'static str) {
        self.help.unwrap_or((self.label, self.description))
    }

    /// In a form, only on these field kinds.
    const fn on(mut self, fields: &'static [Field]) -> Self {
        self.when = When::On(fields);
        self
    }

    /// Narrowed to (or away from) a dry run's form.
    const fn when(mut self, when: When) -> Self {
        self.when = when;
        self
    }

    /// Only while the open form is stale.
    const fn when_stale(mut self) -> Self {
        self.when = When::Stale;
        self
    }

    /// True when the row applies in `focus`.
    pub fn applies(&self, focus: Focus) -> bool {
        self.modes.contains(&focus.mode) && self.when.holds(focus)
    }

    /// True when `ev` is one of the row's keys.
    pub fn matches(&self, ev: &KeyEvent) -> bool {
        self.keys.iter().any(|k| k.matches(ev))
    }
}

use Action as A;
use Key::{Char, Code, Ctrl, CtrlCode, Digit};

const ENTER: Key = Code(KeyCode::Enter);
const ESC: Key = Code(KeyCode::Esc);
const TAB: Key = Code(KeyCode::Tab);
const BACKTAB: Key = Code(KeyCode::BackTab);
const BKSP: Key = Code(KeyCode::Backspace);
const DOWN: Key = Code(KeyCode::Down);
const UP: Key = Code(KeyCode::Up);
const LEFT: Key = Code(KeyCode::Left);
const RIGHT: Key = Code(KeyCode::Right);
const SPACE: Key = Char(' ');

const LIST: &[Mode] = &[Mode::List];
const DETAIL: &[Mode] = &[Mode::Detail];
const LIST_DETAIL: &[Mode] = &[Mode::List, Mode::Detail];
/// Moving: lists, detail views, and scrolling the help overlay and the message window.
const MOVE: &[Mode] = &[Mode::List, Mode::Detail, Mode::Help, Mode::Message];
const ANYWHERE: &[Mode] = &[Mode::List, Mode::Detail, Mode::Help];
/// The views that are not a text input: tabs switch from all of them.
const VIEWS: &[Mode] = &[Mode::List, Mode::Detail, Mode::Help];
/// Where a message can be cut short: `^R` reads it whole.
const MESSAGES: &[Mode] = &[
    Mode::List,
    Mode::Detail,
    Mode::Form,
    Mode::Delete,
    Mode::Import,
    Mode::Confirm,
];
const FILTER: &[Mode] = &[Mode::Filter];
const FORM: &[Mode] = &[Mode::Form];
/// Moving inside forms and pickers (arrows only: letters are typed there).
const FORM_PICKERS: &[Mode] = &[
    Mode::Form,
    Mode::Picker,
    Mode::Checklist,
    Mode::Choose,
    Mode::Palette,
];
const PICKERS: &[Mode] = &[Mode::Picker, Mode::Choose, Mode::Palette];
/// A form and the prompts inside it (the stale form's `r` works in all of them).
const FORM_PROMPTS: &[Mode] = &[
    Mode::Form,
    Mode::Picker,
    Mode::Checklist,
    Mode::Find,
    Mode::Confirm,
];
/// One-line inputs whose last character Backspace deletes.
const LINE_INPUTS: &[Mode] = &[
    Mode::Filter,
    Mode::EventFilter,
    Mode::Find,
    Mode::Picker,
    Mode::Checklist,
    Mode::Choose,
    Mode::Palette,
    Mode::Delete,
    Mode::Command,
];
/// What Esc closes.
const CLOSABLE: &[Mode] = &[
    Mode::Form,
    Mode::Find,
    Mode::Picker,
    Mode::Checklist,
    Mode::Choose,
    Mode::Delete,
    Mode::Import,
    Mode::Command,
    Mode::Palette,
    Mode::Quit,
    Mode::EventFilter,
];
const DIALOGS: &[Mode] = &[Mode::Delete, Mode::Import];
const EVERYWHERE: &[Mode] = &Mode::ALL;
/// The flow inspector and the live view.
const INSPECTOR: &[Mode] = &[Mode::Inspect, Mode::Live, Mode::Result];

/// Fields typed into through a text editor.
const TEXT: &[Field] = &[Field::Text, Field::Secret, Field::Lines, Field::Uris];
/// Fields with a searchable editor.
const SEARCHABLE: &[Field] = &[Field::Text, Field::Secret, Field::Lines];
/// Fields Enter leaves for the next one.
const ONE_LINE: &[Field] = &[Field::Text, Field::Secret];
/// Fields where the arrows move between fields (or URI rows) instead of the text cursor.
const NOT_LINES: &[Field] = &[
    Field::Text,
    Field::Secret,
    Field::Toggle,
    Field::Select,
    Field::Multi,
    Field::Uris,
];
const CHOICES: &[Field] = &[Field::Select, Field::Multi];

// Help lines that pairs of rows share.
const FIELD_MOVES: &str = "Next / previous field, URI row, choice";
const URI_ROWS: &str = "Redirect URIs: add / remove a row";
const TAKE: &str = "Picker, checklist: take the choice(s)";
const SWITCH: &str = "Dialog: switch between the buttons";
const INSPECT: &str = "Inspect/live; s simulate (n/p), t test";
const MESSAGE: &str = "Message: close (y: copy a key shown)";
const ACCOUNT: &str = "Users: revoke / reset MFA / new token";
const RECOVERY: &str = "Users: recovery link / recovery email";
const FILTERS: &str = "Filter: text, !not, a|b; f: by field";
const EVENT_FILTER_KEYS: &str = "Event filter: apply / empty; tab moves";
const EVENT_FILTER: &[Mode] = &[Mode::EventFilter];

/// The keymap, in the order help and the footer list it.
#[rustfmt::skip]
pub const KEYMAP: &[Binding] = &[
    // Lists and details.
    row(&[ENTER], "enter", A::Open, LIST, "Open the selected object").hint("open").essential(),
    row(&[Char('n')], "n", A::New, LIST, "New object (in a form: for the select)").hint("new").mutating(),
    row(&[Char('e')], "e", A::Edit, LIST_DETAIL, "Edit the selected object").hint("edit").mutating(),
    row(&[Char('D')], "D", A::Delete, LIST_DETAIL, "Delete: shows what uses it first").hint("delete").mutating(),
    row(&[Char('b')], "b", A::BindStage, DETAIL, "Flow detail: bind a stage").hint("bind stage").mutating(),
    row(&[Char('E')], "E", A::EditBinding, DETAIL, "Flow/group detail: edit the binding").hint("edit binding").mutating(),
    row(&[Char('X')], "X", A::RemoveBinding, DETAIL, "Flow/group detail: remove the binding").hint("unbind").mutating(),
    row(&[Char('P')], "P", A::SetPassword, LIST_DETAIL, "Users: set password").hint("password").mutating(),
    row(&[Char('R')], "R", A::RevokeSession, DETAIL, "User detail: revoke the selected session, token, consent or authenticator").hint("revoke").mutating().help_as("R/M/T", ACCOUNT),
    row(&[Char('M')], "M", A::ResetMfa, DETAIL, "User detail: reset MFA (delete every authenticator)").hint("reset MFA").mutating().help_as("R/M/T", ACCOUNT),
    row(&[Char('T')], "T", A::NewToken, DETAIL, "User detail: new app password / API token").hint("new token").mutating().help_as("R/M/T", ACCOUNT),
    row(&[Char('K')], "K", A::CreateRecoveryLink, DETAIL, "User detail: create a recovery link").hint("recovery link").mutating().help_as("K/S", RECOVERY),
    row(&[Char('S')], "S", A::SendRecoveryEmail, DETAIL, "User detail: send a recovery email").hint("recovery email").mutating().help_as("K/S", RECOVERY),
    // Writes key material to disk: a read-only console does not.
    row(&[Char('x')], "x", A::ExportCertificate, LIST_DETAIL, "Certificates: export to files").hint("export").mutating(),
    row(&[Char('I')], "I", A::Import, LIST, "Flows: import a blueprint file").hint("import").mutating(),
    row(&[Char('y')], "y", A::Copy, LIST_DETAIL, "Copy the provider value / event JSON").hint("copy"),
    row(&[Char('v')], "v", A::RevealValue, DETAIL, "Show a provider value / event JSON").hint("show"),
    row(&[Char(':')], ":", A::StartCommand, LIST_DETAIL, "Command line: :flow S, :import F, :q").hint("command"),
    row(&[Ctrl('p')], "^P", A::Palette, LIST_DETAIL, "Palette: every action by name").hint("palette"),
    row(&[Char('/')], "/", A::StartFilter, LIST, "Filter: text, !not, a|b").hint("filter").essential().help_as("/, f", FILTERS),
    row(&[Char('f')], "f", A::FilterEvents, LIST, "Events: filter by action, user, app, IP, time").hint("audit filter").help_as("/, f", FILTERS),
    row(&[TAB, DOWN], "tab", A::NextField, EVENT_FILTER, "Event filter: next field").hint("next").essential().help_as("enter/^X", EVENT_FILTER_KEYS),
    row(&[BACKTAB, UP], "S-tab", A::PrevField, EVENT_FILTER, "Event filter: previous field").help_as("enter/^X", EVENT_FILTER_KEYS),
    row(&[ENTER], "enter", A::Accept, EVENT_FILTER, "Event filter: apply (every field empty: none)").hint("apply").essential().help_as("enter/^X", EVENT_FILTER_KEYS),
    row(&[Ctrl('x')], "^X", A::ClearFilter, EVENT_FILTER, "Event filter: empty every field").hint("empty").help_as("enter/^X", EVENT_FILTER_KEYS),
    row(&[ENTER], "enter", A::KeepFilter, FILTER, "Filtering: keep the filter").hint("keep").essential(),
    row(&[ESC], "esc", A::ClearFilter, FILTER, "Filtering: clear the filter").hint("clear").essential(),
    row(&[BKSP], "bksp", A::DeleteChar, LINE_INPUTS, "Typing: delete the last character"),
    row(&[Char('j'), DOWN], "j/down", A::Down, MOVE, "Move down").help_as("j/k", "Move down / up"),
    row(&[Char('k'), UP], "k/up", A::Up, MOVE, "Move up").help_as("j/k", "Move down / up"),
    row(&[Char('g'), Code(KeyCode::Home)], "g", A::Top, MOVE, "Go to the top").help_as("g/G", "Go to the top / bottom"),
    row(&[Char('G'), Code(KeyCode::End)], "G", A::Bottom, MOVE, "Go to the bottom").help_as("g/G", "Go to the top / bottom"),
    row(&[Code(KeyCode::PageDown), Ctrl('d')], "pgdn", A::PageDown, MOVE, "Page down").help_as("pgdn/up", "Page down / up"),
    row(&[Code(KeyCode::PageUp), Ctrl('u')], "pgup", A::PageUp, MOVE, "Page up").help_as("pgdn/up", "Page down / up"),
    row(&[Digit], "1-0", A::JumpTab, VIEWS, "Jump to tab by number").hint("tabs"),
    row(&[TAB], "tab", A::NextTab, VIEWS, "Next tab"),
    row(&[BACKTAB], "S-tab", A::PrevTab, VIEWS, "Previous tab"),
    row(&[Char('L')], "L", A::ToggleLogs, LIST, "Events: toggle server log").hint("logs"),
    row(&[Char('r'), Ctrl('l')], "r", A::Refresh, LIST_DETAIL, "Reload from the store"),
    row(&[ESC], "esc", A::Back, &[Mode::Detail, Mode::Help, Mode::List], "Back / clear filter / close").hint("back").essential(),
    row(&[Char('?')], "?", A::ToggleHelp, ANYWHERE, "Show or hide this help").hint("help").essential(),
    row(&[Char('q')], "q", A::Quit, ANYWHERE, "Back; quit (run: asks first)").hint("quit").essential(),
    row(&[Ctrl('c')], "^C", A::ForceQuit, EVERYWHERE, "Quit at once (also :q)"),
    row(&[Ctrl('r')], "^R", A::ReadMessage, MESSAGES, "Read the whole message or help"),
    // Forms: the focused field's kind decides which of these apply.
    row(&[TAB], "tab", A::NextField, FORM, "Form: next field").hint("next").essential(),
    row(&[BACKTAB], "S-tab", A::PrevField, FORM, "Form: previous field"),
    row(&[ENTER], "enter", A::NextField, FORM, "Form: next field (one-line text)").on(ONE_LINE),
    row(&[DOWN], "down", A::Down, FORM_PICKERS, "Next field, URI row or choice").on(NOT_LINES).help_as("down/up", FIELD_MOVES),
    row(&[UP], "up", A::Up, FORM_PICKERS, "Previous field, URI row or choice").on(NOT_LINES).help_as("down/up", FIELD_MOVES),
    row(&[ENTER, SPACE], "enter", A::OpenPicker, FORM, "Form: open the select's picker").hint("pick").on(CHOICES),
    row(&[SPACE, ENTER], "space", A::Toggle, FORM, "Form: flip the switch").hint("toggle").on(&[Field::Toggle]),
    row(&[LEFT], "←/→", A::CyclePrev, FORM, "Form: cycle the select's options").hint("cycle").on(&[Field::Select]),
    row(&[RIGHT], "←/→", A::CycleNext, FORM, "Form: cycle the select's options").hint("cycle").on(&[Field::Select]),
    row(&[Ctrl('t')], "^T", A::Reveal, FORM, "Form: show or hide the secret").hint("reveal").on(&[Field::Secret]),
    row(&[Ctrl('g')], "^G", A::Generate, FORM, "Form: generate a client ID or secret").hint("generate").on(&[Field::Secret]),
    row(&[Ctrl('e')], "^E", A::EditExternally, FORM, "Form: edit multi-line text in $EDITOR").hint("editor").on(&[Field::Lines]),
    row(&[Ctrl('f')], "^F", A::Find, FORM, "Form: find in the text (enter: next)").on(SEARCHABLE),
    row(&[Ctrl('n')], "^N", A::AddRow, FORM, "Redirect URIs: add a row").hint("add").on(&[Field::Uris]).help_as("^N/^X", URI_ROWS),
    row(&[Ctrl('x')], "^X", A::RemoveRow, FORM, "Redirect URIs: remove the row").hint("remove").on(&[Field::Uris]).help_as("^N/^X", URI_ROWS),
    row(&[Ctrl('o')], "^O", A::ToggleMatching, FORM, "Redirect URIs: strict or regex").hint("regex").on(&[Field::Uris]),
    row(&[Ctrl('z')], "^Z", A::Undo, FORM, "Text: undo").on(TEXT).help_as("^Z/^Y", "Text: undo / redo"),
    row(&[Ctrl('y')], "^Y", A::Redo, FORM, "Text: redo").on(TEXT).help_as("^Z/^Y", "Text: undo / redo"),
    row(&[Ctrl('w')], "^W", A::DeleteWord, FORM, "Text: delete the previous word").on(TEXT),
    row(&[Ctrl('k')], "^K", A::DeleteToEnd, FORM, "Text: delete to the end of the line").on(TEXT),
    row(&[CtrlCode(KeyCode::Left)], "^←/^→", A::WordLeft, FORM, "Text: move a word left or right").on(TEXT),
    row(&[CtrlCode(KeyCode::Right)], "^←/^→", A::WordRight, FORM, "Text: move a word left or right").on(TEXT),
    row(&[Ctrl('s')], "^S", A::Save, FORM, "Form: save (only when valid)").hint("save").mutating().essential().when(When::NotDryRun),
    // The search, the pickers and the command line.
    row(&[ENTER], "enter", A::FindNext, &[Mode::Find], "Find: the next match").hint("next").essential(),
    row(&[SPACE], "space", A::Toggle, &[Mode::Checklist], "Checklist: tick or untick").hint("toggle"),
    row(&[ENTER], "enter", A::Accept, PICKERS, "Picker: take the selected choice").hint("pick").essential().help_as("enter", TAKE),
    row(&[ENTER], "enter", A::Accept, &[Mode::Checklist], "Checklist: done").hint("done").essential().help_as("enter", TAKE),
    row(&[TAB], "tab", A::Complete, &[Mode::Command], "Command line: complete").hint("complete").essential(),
    row(&[ENTER], "enter", A::Accept, &[Mode::Command], "Command line: run").hint("run").essential(),
    row(&[ESC], "esc", A::Cancel, CLOSABLE, "Form, picker, dialog, command: cancel").hint("cancel").essential(),
    // Dialogs and questions.
    row(&[TAB, BACKTAB, LEFT, RIGHT], "tab", A::SwitchButton, &[Mode::Delete], "Delete dialog: Cancel / Delete").hint("switch").essential().help_as("tab", SWITCH),
    row(&[TAB, BACKTAB, LEFT, RIGHT], "tab", A::SwitchButton, &[Mode::Import], "Import dialog: Cancel / Apply").hint("switch").essential().help_as("tab", SWITCH),
    row(&[ENTER], "enter", A::Press, DIALOGS, "Dialog: press the focused button").mutating(),
    row(&[Char('y'), Char('Y')], "y", A::Yes, &[Mode::Confirm], "Form question: yes (any other key: no)").hint("yes").essential(),
    row(&[Char('r')], "r", A::Reload, FORM_PROMPTS, "Changed elsewhere: reload the form").hint("reload").when_stale(),
    // `run`'s quit dialog (the server stops with the console) and the message window.
    row(&[TAB, BACKTAB, LEFT, RIGHT], "tab", A::SwitchButton, &[Mode::Quit], "Quit dialog: Cancel / Quit").hint("switch").essential().help_as("tab", SWITCH),
    row(&[ENTER], "enter", A::Press, &[Mode::Quit], "Quit dialog: press the button").hint("press").essential(),
    row(&[Char('y')], "y", A::Yes, &[Mode::Quit], "Quit dialog: quit, stop the server").hint("quit"),
    row(&[ENTER, ESC, Char('q')], "enter", A::Dismiss, &[Mode::Message], "Message: close").hint("close").essential().help_as("enter/y", MESSAGE),
    row(&[Char('y')], "y", A::Copy, &[Mode::Message], "Key shown once: copy it (OSC 52)").hint("copy").help_as("enter/y", MESSAGE),
    row(&[Ctrl('g')], "^G", A::Generate, FORM, "Form: generate a client ID or secret").on(&[Field::Text]),
    row(&[Char('n')], "n", A::NewForField, FORM, "New object (in a form: for the select)").mutating().on(&[Field::Select]),
    row(&[Char('N')], "N", A::NewWithProvider, LIST, "Applications: new app with its provider").hint("new+provider").mutating(),
    row(&[Char('B')], "B", A::BindPolicy, DETAIL, "Flow/group detail: bind a policy").hint("bind policy").mutating(),
    // The flow inspector and the live executions.
    row(&[Char('i')], "i", A::Inspect, LIST_DETAIL, "Flows: inspect the flow (:inspect S)").hint("inspect").help_as("i/L", INSPECT),
    row(&[Char('j'), DOWN], "j/down", A::Down, INSPECTOR, "Move down").help_as("j/k", "Move down / up"),
    row(&[Char('k'), UP], "k/up", A::Up, INSPECTOR, "Move up").help_as("j/k", "Move down / up"),
    row(&[Char('g'), Code(KeyCode::Home)], "g", A::Top, INSPECTOR, "Go to the top").help_as("g/G", "Go to the top / bottom"),
    row(&[Char('G'), Code(KeyCode::End)], "G", A::Bottom, INSPECTOR, "Go to the bottom").help_as("g/G", "Go to the top / bottom"),
    row(&[Code(KeyCode::PageDown), Ctrl('d')], "pgdn", A::PageDown, INSPECTOR, "Page down").help_as("pgdn/up", "Page down / up"),
    row(&[Code(KeyCode::PageUp), Ctrl('u')], "pgup", A::PageUp, INSPECTOR, "Page up").help_as("pgdn/up", "Page down / up"),
    row(&[ENTER], "enter", A::Open, INSPECTOR, "Inspector: read the stage, policy or execution").hint("open").essential().help_as("enter", "Open the selected object"),
    row(&[Char('L')], "L", A::LiveExecutions, &[Mode::Inspect], "Inspector: live executions of the flow").hint("live").help_as("i/L", INSPECT),
    row(&[Char('L')], "L", A::LiveExecutions, &[Mode::Live], "Live: this flow's or every flow's (:live)").hint("all/flow").help_as("i/L", INSPECT),
    row(&[ESC, Char('q')], "esc", A::Back, INSPECTOR, "Inspector: out of the pane, then close").hint("back").essential().help_as("esc", "Back / clear filter / close"),
    row(&[Char('?')], "?", A::ToggleHelp, INSPECTOR, "Show or hide this help").hint("help").essential(),
    // The inspector's dry runs (nothing is written): they share the inspector's help line.
    row(&[Char('s')], "s", A::Simulate, &[Mode::Inspect], "Inspector: simulate the flow for a user").hint("simulate").help_as("i/L", INSPECT),
    row(&[Char('t')], "t", A::Test, LIST_DETAIL, "Test policy, check access, token preview").hint("test").help_as("i/L", INSPECT),
    row(&[Char('n')], "n", A::NextStep, &[Mode::Result], "Simulation: the next stage's challenge").hint("next stage").help_as("i/L", INSPECT),
    row(&[Ctrl('s')], "^S", A::RunDryRun, FORM, "Dry run: run it (nothing is written)").hint("run").essential().when(When::DryRun).help_as("i/L", INSPECT),
    row(&[Char('p')], "p", A::PrevStep, &[Mode::Result], "Simulation: the previous stage's challenge").hint("prev").help_as("i/L", INSPECT),
];

/// The rows usable in `focus`, with mutating ones removed in read-only mode.
pub fn bindings(focus: Focus, readonly: bool) -> impl Iterator<Item = &'static Binding> {
    KEYMAP
        .iter()
        .filter(move |b| b.applies(focus) && !(readonly && b.mutates))
}

/// Every row of `mode` whatever narrows it (the help overlay lists them all).
pub fn rows(mode: Mode, readonly: bool) -> impl Iterator<Item = &'static Binding> {
    KEYMAP
        .iter()
        .filter(move |b| b.modes.contains(&mode) && !(readonly && b.mutates))
}

/// The binding a key press triggers in `focus`, if any.
pub fn lookup(focus: Focus, readonly: bool, ev: &KeyEvent) -> Option<&'static Binding> {
    bindings(focus, readonly).find(|b| b.matches(ev))
}

/// A mutating binding the key would have triggered if the console were writable (to explain
/// why nothing happened).
pub fn refused_in_readonly(focus: Focus, ev: &KeyEvent) -> Option<&'static Binding> {
    bindings(focus, false).find(|b| b.mutates && b.matches(ev))
}

/// How the table writes the first key of `action` (for prose such as "r to reload").
pub fn label_of(action: Action) -> &'static str {
    KEYMAP
        .iter()
        .find(|b| b.action == action)
        .map_or("?", |b| b.label)
}

/// The `(keys, verb)` hints of the rows of `focus` that `keep` lets through, once each
/// (the two halves of a pair such as Left/Right share one).
pub fn hints(
    focus: Focus,
    readonly: bool,
    keep: impl Fn(&Binding) -> bool,
) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for b in bindings(focus, readonly).filter(|b| keep(b)) {
        if let Some(h) = b.hint
            && !out.contains(&(b.label, h))
        {
            out.push((b.label, h));
        }
    }
    out
}

/// Every hint of `focus`, joined as the footer writes them.
pub fn hint_line(focus: Focus, readonly: bool) -> String {
    hints(focus, readonly, |_| true)
        .iter()
        .map(|(k, h)| format!("{k} {h}"))
        .collect::<Vec<_>>()
        .join("  ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every focus the console can be in.
    fn every_focus() -> Vec<Focus> {
        let mut out = Vec::new();
        for mode in Mode::ALL {
            let fields: Vec<Option<Field>> = if mode == Mode::Form {
                Field::ALL.iter().copied().map(Some).collect()
            } else {
                vec![None]
            };
            for field in fields {
                for stale in [false, true] {
                    for dry_run in [false, true] {
                        out.push(Focus {
                            mode,
                            field,
                            stale,
                            dry_run,
                        });
                    }
                }
            }
        }
        out
    }

    fn events(key: Key) -> Vec<KeyEvent> {
        match key {
            Key::Digit => ('0'..='9')
                .map(|c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
                .collect(),
            k => vec![k.event()],
        }
    }

    #[test]
    fn every_row_is_reachable_through_dispatch() {
        for b in KEYMAP {
            assert!(!b.keys.is_empty(), "{}: a row without keys", b.description);
            let focus = every_focus()
                .into_iter()
                .find(|f| b.applies(*f))
                .unwrap_or_else(|| panic!("{}: applies nowhere", b.description));
            for key in b.keys {
                for ev in events(*key) {
                    assert_eq!(
                        lookup(focus, false, &ev),
                        Some(b),
                        "{} ({:?}) in {focus:?}",
                        b.description,
                        key
                    );
                }
            }
        }
    }

    #[test]
    fn no_two_rows_in_one_focus_share_a_key() {
        for focus in every_focus() {
            let rows: Vec<&Binding> = bindings(focus, false).collect();
            for (i, a) in rows.iter().enumerate() {
                for b in &rows[i + 1..] {
                    for key in a.keys.iter().chain(b.keys) {
                        for ev in events(*key) {
                            assert!(
                                !(a.matches(&ev) && b.matches(&ev)),
                                "{focus:?}: '{}' and '{}' both answer {ev:?}",
                                a.description,
                                b.description
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn read_only_removes_every_mutating_row_and_nothing_else() {
        assert!(KEYMAP.iter().any(|b| b.mutates));
        for focus in every_focus() {
            assert!(bindings(focus, true).all(|b| !b.mutates), "{focus:?}");
            let writable = bindings(focus, false).filter(|b| !b.mutates).count();
            assert_eq!(bindings(focus, true).count(), writable, "{focus:?}");
            for b in bindings(focus, false).filter(|b| b.mutates) {
                for key in b.keys {
                    let ev = key.event();
                    assert!(lookup(focus, true, &ev).is_none_or(|f| !f.mutates));
                    assert!(refused_in_readonly(focus, &ev).is_some(), "{}", b.label);
                }
            }
        }
    }

    #[test]
    fn text_inputs_keep_printable_keys() {
        // Letters that act in lists type into forms, pickers and one-line inputs.
        for mode in [
            Mode::Form,
            Mode::Picker,
            Mode::Find,
            Mode::Choose,
            Mode::Palette,
            Mode::Delete,
            Mode::Command,
            Mode::Filter,
            Mode::EventFilter,
        ] {
            let field = (mode == Mode::Form).then_some(Field::Text);
            let focus = Focus {
                mode,
                field,
                stale: false,
                dry_run: false,
            };
            for c in "qnDe?/:jkgGrxyIPXEbR0123456789 ".chars() {
                let ev = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
                assert!(
                    lookup(focus, false, &ev).is_none(),
                    "{mode:?}: '{c}' is bound"
                );
            }
        }
    }
}
