//! The one keymap table. Dispatch, the footer hints and the `?` help overlay are all generated
//! from it, and `--readonly` removes mutating actions here and nowhere else, so no view can
//! register a key that escapes read-only mode.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What the console is focused on; decides which bindings apply.
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
    /// A create/edit form: keys go to the form widget.
    Form,
    /// Picking what `n` creates (stage type, policy type, …).
    Choose,
    /// The delete confirmation dialog.
    Delete,
    /// The blueprint import confirmation (what would change).
    Import,
    /// Typing a `:` command.
    Command,
    /// The Ctrl-P palette over this keymap.
    Palette,
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
    /// Selection (or detail scroll) one down.
    Down,
    /// Selection (or detail scroll) one up.
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
    /// Delete the filter's last character.
    FilterBackspace,
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
    /// Handled by the form, picker or dialog widget itself (listed for hints and help).
    Widget,
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
    /// User detail: end the selected session and revoke its tokens (mutating).
    RevokeSession,
    /// Certificates: write the certificate and key to files (refused read-only: key material).
    ExportCertificate,
}

/// A key a binding answers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character (Shift is implied by the character).
    Char(char),
    /// Ctrl plus a letter.
    Ctrl(char),
    /// A named key.
    Code(KeyCode),
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
            (Key::Code(c), code) => c == code,
            _ => false,
        }
    }
}

/// One row of the keymap.
#[derive(Debug, Clone, Copy)]
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
}

const LIST: &[Mode] = &[Mode::List];
const LIST_DETAIL: &[Mode] = &[Mode::List, Mode::Detail];
/// Moving: lists, detail views, and scrolling the help overlay.
const MOVE: &[Mode] = &[Mode::List, Mode::Detail, Mode::Help];
const ANYWHERE: &[Mode] = &[Mode::List, Mode::Detail, Mode::Help];

/// The keymap, in the order help lists it.
pub const KEYMAP: &[Binding] = &[
    Binding {
        keys: &[Key::Code(KeyCode::Enter)],
        label: "enter",
        action: Action::Open,
        description: "Open the selected object",
        hint: Some("open"),
        mutates: false,
        essential: true,
        modes: LIST,
    },
    Binding {
        keys: &[Key::Char('n')],
        label: "n",
        action: Action::New,
        description: "New object (picks a type first)",
        hint: Some("new"),
        mutates: true,
        essential: false,
        modes: LIST,
    },
    Binding {
        keys: &[Key::Char('e')],
        label: "e",
        action: Action::Edit,
        description: "Edit the selected object",
        hint: Some("edit"),
        mutates: true,
        essential: false,
        modes: LIST_DETAIL,
    },
    Binding {
        keys: &[Key::Char('D')],
        label: "D",
        action: Action::Delete,
        description: "Delete: shows what uses it first",
        hint: Some("delete"),
        mutates: true,
        essential: false,
        modes: LIST_DETAIL,
    },
    Binding {
        keys: &[Key::Char('b')],
        label: "b",
        action: Action::BindStage,
        description: "Flow detail: bind a stage",
        hint: Some("bind stage"),
        mutates: true,
        essential: false,
        modes: &[Mode::Detail],
    },
    Binding {
        keys: &[Key::Char('E')],
        label: "E",
        action: Action::EditBinding,
        description: "Flow detail: edit the binding",
        hint: Some("edit binding"),
        mutates: true,
        essential: false,
        modes: &[Mode::Detail],
    },
    Binding {
        keys: &[Key::Char('X')],
        label: "X",
        action: Action::RemoveBinding,
        description: "Flow detail: remove the binding",
        hint: Some("unbind"),
        mutates: true,
        essential: false,
        modes: &[Mode::Detail],
    },
    Binding {
        keys: &[Key::Char('P')],
        label: "P",
        action: Action::SetPassword,
        description: "Users: set password",
        hint: Some("password"),
        mutates: true,
        essential: false,
        modes: LIST_DETAIL,
    },
    Binding {
        keys: &[Key::Char('R')],
        label: "R",
        action: Action::RevokeSession,
        description: "User detail: revoke the session",
        hint: Some("revoke"),
        mutates: true,
        essential: false,
        modes: &[Mode::Detail],
    },
    Binding {
        keys: &[Key::Char('x')],
        label: "x",
        action: Action::ExportCertificate,
        description: "Certificates: export to files",
        hint: Some("export"),
        // Writes key material to disk: a read-only console does not.
        mutates: true,
        essential: false,
        modes: LIST_DETAIL,
    },
    Binding {
        keys: &[Key::Char('I')],
        label: "I",
        action: Action::Import,
        description: "Flows: import a blueprint file",
        hint: Some("import"),
        mutates: true,
        essential: false,
        modes: LIST,
    },
    Binding {
        keys: &[Key::Char('y')],
        label: "y",
        action: Action::Copy,
        description: "Provider detail: copy (OSC 52)",
        hint: Some("copy"),
        mutates: false,
        essential: false,
        modes: &[Mode::Detail],
    },
    Binding {
        keys: &[],
        label: "tab",
        action: Action::Widget,
        description: "Form: next field (S-tab previous)",
        hint: Some("next"),
        mutates: false,
        essential: true,
        modes: &[Mode::Form],
    },
    Binding {
        keys: &[],
        label: "enter",
        action: Action::Widget,
        description: "Form: pick (selects), Space toggles",
        hint: Some("pick"),
        mutates: false,
        essential: false,
        modes: &[Mode::Form, Mode::Choose],
    },
    Binding {
        keys: &[],
        label: "^T/^G",
        action: Action::Widget,
        description: "Form: reveal / generate a secret",
        hint: Some("reveal/gen"),
        mutates: false,
        essential: false,
        modes: &[Mode::Form],
    },
    Binding {
        keys: &[],
        label: "^E",
        action: Action::Widget,
        description: "Form: edit multi-line text in $EDITOR",
        hint: None,
        mutates: false,
        essential: false,
        modes: &[Mode::Form],
    },
    Binding {
        keys: &[],
        label: "^F",
        action: Action::Widget,
        description: "Form: find in the text (enter: next)",
        hint: None,
        mutates: false,
        essential: false,
        modes: &[Mode::Form],
    },
    Binding {
        keys: &[],
        label: "^S",
        action: Action::Widget,
        description: "Form: save (only when valid)",
        hint: Some("save"),
        mutates: true,
        essential: true,
        modes: &[Mode::Form],
    },
    Binding {
        keys: &[],
        label: "esc",
        action: Action::Widget,
        description: "Form, picker, dialog: cancel",
        hint: Some("cancel"),
        mutates: false,
        essential: true,
        modes: &[Mode::Form, Mode::Choose, Mode::Delete, Mode::Import],
    },
    Binding {
        keys: &[],
        label: "tab",
        action: Action::Widget,
        description: "Delete dialog: Cancel / Delete",
        hint: Some("switch"),
        mutates: false,
        essential: true,
        modes: &[Mode::Delete],
    },
    Binding {
        keys: &[],
        label: "tab",
        action: Action::Widget,
        description: "Import dialog: Cancel / Apply",
        hint: Some("switch"),
        mutates: false,
        essential: true,
        modes: &[Mode::Import],
    },
    Binding {
        keys: &[Key::Char(':')],
        label: ":",
        action: Action::StartCommand,
        description: "Command line: :flow S, :import F, :q",
        hint: Some("command"),
        mutates: false,
        essential: false,
        modes: LIST_DETAIL,
    },
    Binding {
        keys: &[Key::Ctrl('p')],
        label: "^P",
        action: Action::Palette,
        description: "Palette: every action by name",
        hint: Some("palette"),
        mutates: false,
        essential: false,
        modes: LIST_DETAIL,
    },
    Binding {
        keys: &[],
        label: "tab",
        action: Action::Widget,
        description: "Command line: complete",
        hint: Some("complete"),
        mutates: false,
        essential: true,
        modes: &[Mode::Command],
    },
    Binding {
        keys: &[],
        label: "enter",
        action: Action::Widget,
        description: "Command line, palette: run",
        hint: Some("run"),
        mutates: false,
        essential: true,
        modes: &[Mode::Command, Mode::Palette],
    },
    Binding {
        keys: &[],
        label: "esc",
        action: Action::Widget,
        description: "Command line, palette: cancel",
        hint: Some("cancel"),
        mutates: false,
        essential: true,
        modes: &[Mode::Command, Mode::Palette],
    },
    Binding {
        keys: &[Key::Char('/')],
        label: "/",
        action: Action::StartFilter,
        description: "Filter: text, !not, a|b",
        hint: Some("filter"),
        mutates: false,
        essential: true,
        modes: LIST,
    },
    Binding {
        keys: &[Key::Code(KeyCode::Enter)],
        label: "enter",
        action: Action::KeepFilter,
        description: "Filtering: keep the filter",
        hint: Some("keep"),
        mutates: false,
        essential: true,
        modes: &[Mode::Filter],
    },
    Binding {
        keys: &[Key::Code(KeyCode::Esc)],
        label: "esc",
        action: Action::ClearFilter,
        description: "Filtering: clear the filter",
        hint: Some("clear"),
        mutates: false,
        essential: true,
        modes: &[Mode::Filter],
    },
    Binding {
        keys: &[Key::Code(KeyCode::Backspace)],
        label: "bksp",
        action: Action::FilterBackspace,
        description: "Filtering: delete a char",
        hint: None,
        mutates: false,
        essential: false,
        modes: &[Mode::Filter],
    },
    Binding {
        keys: &[Key::Char('j'), Key::Code(KeyCode::Down)],
        label: "j/down",
        action: Action::Down,
        description: "Move down",
        hint: None,
        mutates: false,
        essential: false,
        modes: MOVE,
    },
    Binding {
        keys: &[Key::Char('k'), Key::Code(KeyCode::Up)],
        label: "k/up",
        action: Action::Up,
        description: "Move up",
        hint: None,
        mutates: false,
        essential: false,
        modes: MOVE,
    },
    Binding {
        keys: &[Key::Char('g'), Key::Code(KeyCode::Home)],
        label: "g",
        action: Action::Top,
        description: "Go to the top",
        hint: None,
        mutates: false,
        essential: false,
        modes: MOVE,
    },
    Binding {
        keys: &[Key::Char('G'), Key::Code(KeyCode::End)],
        label: "G",
        action: Action::Bottom,
        description: "Go to the bottom",
        hint: None,
        mutates: false,
        essential: false,
        modes: MOVE,
    },
    Binding {
        keys: &[Key::Code(KeyCode::PageDown), Key::Ctrl('d')],
        label: "pgdn",
        action: Action::PageDown,
        description: "Page down",
        hint: None,
        mutates: false,
        essential: false,
        modes: MOVE,
    },
    Binding {
        keys: &[Key::Code(KeyCode::PageUp), Key::Ctrl('u')],
        label: "pgup",
        action: Action::PageUp,
        description: "Page up",
        hint: None,
        mutates: false,
        essential: false,
        modes: MOVE,
    },
    Binding {
        keys: &[Key::Digit],
        label: "1-0",
        action: Action::JumpTab,
        description: "Jump to tab by number",
        hint: Some("tabs"),
        mutates: false,
        essential: false,
        modes: LIST,
    },
    Binding {
        keys: &[Key::Code(KeyCode::Tab)],
        label: "tab",
        action: Action::NextTab,
        description: "Next tab",
        hint: None,
        mutates: false,
        essential: false,
        modes: LIST,
    },
    Binding {
        keys: &[Key::Code(KeyCode::BackTab)],
        label: "S-tab",
        action: Action::PrevTab,
        description: "Previous tab",
        hint: None,
        mutates: false,
        essential: false,
        modes: LIST,
    },
    Binding {
        keys: &[Key::Char('L')],
        label: "L",
        action: Action::ToggleLogs,
        description: "Events: toggle server log",
        hint: Some("logs"),
        mutates: false,
        essential: false,
        modes: LIST,
    },
    Binding {
        keys: &[Key::Char('r'), Key::Ctrl('l')],
        label: "r",
        action: Action::Refresh,
        description: "Reload from the store",
        hint: None,
        mutates: false,
        essential: false,
        modes: LIST_DETAIL,
    },
    Binding {
        keys: &[Key::Code(KeyCode::Esc)],
        label: "esc",
        action: Action::Back,
        description: "Back / clear filter / close",
        hint: Some("back"),
        mutates: false,
        essential: true,
        modes: &[Mode::Detail, Mode::Help, Mode::List],
    },
    Binding {
        keys: &[Key::Char('?')],
        label: "?",
        action: Action::ToggleHelp,
        description: "Show or hide this help",
        hint: Some("help"),
        mutates: false,
        essential: true,
        modes: ANYWHERE,
    },
    Binding {
        keys: &[Key::Char('q')],
        label: "q",
        action: Action::Quit,
        description: "Back; quit from a list",
        hint: Some("quit"),
        mutates: false,
        essential: true,
        modes: ANYWHERE,
    },
    Binding {
        keys: &[Key::Ctrl('c')],
        label: "^C",
        action: Action::ForceQuit,
        description: "Quit",
        hint: None,
        mutates: false,
        essential: false,
        modes: &[
            Mode::List,
            Mode::Detail,
            Mode::Help,
            Mode::Filter,
            Mode::Form,
            Mode::Choose,
            Mode::Delete,
            Mode::Import,
            Mode::Command,
            Mode::Palette,
        ],
    },
];

/// The bindings usable in `mode`, with mutating ones removed in read-only mode.
pub fn bindings(mode: Mode, readonly: bool) -> impl Iterator<Item = &'static Binding> {
    KEYMAP
        .iter()
        .filter(move |b| b.modes.contains(&mode) && !(readonly && b.mutates))
}

/// The binding a key press triggers in `mode`, if any.
pub fn lookup(mode: Mode, readonly: bool, ev: &KeyEvent) -> Option<&'static Binding> {
    bindings(mode, readonly).find(|b| b.keys.iter().any(|k| k.matches(ev)))
}

/// A mutating binding the key would have triggered if the console were writable (to explain
/// why nothing happened).
pub fn refused_in_readonly(mode: Mode, ev: &KeyEvent) -> Option<&'static Binding> {
    bindings(mode, false).find(|b| b.mutates && b.keys.iter().any(|k| k.matches(ev)))
}
