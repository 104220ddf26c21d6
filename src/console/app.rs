//! The console's state and key handling, free of I/O: the event loop feeds it keys, data
//! snapshots and log lines, and `view::draw` renders it. Tests drive it directly.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind};

mod accounts;
mod commands;
mod copy;
mod devices;
mod dry_run;
mod events;
mod forms;
mod import;
mod inspect;
mod message;
mod overlay;
mod quit;

pub use accounts::{AccountLine, AccountSection};
pub use copy::{Clip, CopyLine, Delivery, osc52};
pub use devices::DeviceFacts;
pub use events::FILTER_FIELDS;
pub use message::message_geometry;
pub use overlay::{EventFilterForm, InspectView, LiveView, MessageView, QuitDialog};

use super::actions::Request;
use super::data::Data;
use super::filter::Filter;
use super::keymap::{self, Action, Binding, Focus, Mode};
use super::tabs::{ListRow, TABS, TabId, Tone, by_hotkey};
use super::text::inert;
use super::theme::Theme;
use crate::context::ServerInstance;
use crate::domain::EventFilter;
use overlay::{DetailView, Overlay, Overlays};

/// The smallest terminal the console draws a real screen on.
pub const MIN_WIDTH: u16 = 60;
/// See [`MIN_WIDTH`].
pub const MIN_HEIGHT: u16 = 16;
/// Rows the chrome takes around a list's rows: header, tabs, status, footer, two borders and
/// the column header.
const CHROME_ROWS: u16 = 7;

/// Where the server runs, which decides what quitting does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServerMode {
    /// `latchkey console`: the server runs in another process; quitting leaves it running.
    #[default]
    Elsewhere,
    /// `latchkey run`: the server lives in this process and stops with the console, so `q`
    /// asks first.
    InProcess,
}

/// Fixed facts the console shows and obeys, from the command line.
#[derive(Debug, Clone, Default)]
pub struct AppConfig {
    /// Shown in the header.
    pub store_path: String,
    /// Shown in the header (empty: the URL of the serving instance found in the store).
    pub server_url: String,
    /// `--readonly`: mutating actions are hidden and refused.
    pub readonly: bool,
    /// Shown in a window at start until acknowledged (the first start's password).
    pub startup_toast: Option<String>,
    /// Resolved colours.
    pub theme: Theme,
}

/// A multi-line field's text handed to `$EDITOR` (Ctrl-E).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalEdit {
    /// The field's key.
    pub key: &'static str,
    /// The text to edit.
    pub text: String,
}

/// A one-line message in the status line, cleared by the next key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The message, already made inert.
    pub text: String,
    /// How it is coloured.
    pub tone: Tone,
}

/// Per-tab list state: the filter, the rows it lets through, selection and scroll.
#[derive(Debug, Clone, Default)]
struct TabState {
    filter: String,
    visible: Vec<usize>,
    selected: usize,
    offset: usize,
}

/// The whole console state.
pub struct App {
    config: AppConfig,
    data: Data,
    loaded: bool,
    rows: Vec<Vec<ListRow>>,
    tabs: Vec<TabState>,
    tab: usize,
    overlays: Overlays,
    status: Option<Status>,
    logs: Vec<String>,
    show_logs: bool,
    width: u16,
    height: u16,
    quit: bool,
    refresh_requested: bool,
    external_edit: Option<ExternalEdit>,
    pending: Option<Request>,
    clipboard: Option<Clip>,
    server_mode: ServerMode,
    instances: Vec<ServerInstance>,
    instances_read: bool,
    device_facts: Option<DeviceFacts>,
    event_filter: EventFilter,
}

impl App {
    /// A console with no data yet, sized 80x24 until told otherwise.
    pub fn new(config: AppConfig) -> Self {
        let first_start = config.startup_toast.clone();
        let mut app = Self {
            config,
            data: Data::default(),
            loaded: false,
            rows: vec![Vec::new(); TABS.len()],
            tabs: vec![TabState::default(); TABS.len()],
            tab: 0,
            overlays: Overlays::default(),
            status: None,
            logs: Vec::new(),
            show_logs: false,
            width: 80,
            height: 24,
            quit: false,
            refresh_requested: false,
            external_edit: None,
            pending: None,
            clipboard: None,
            server_mode: ServerMode::default(),
            instances: Vec::new(),
            instances_read: false,
            device_facts: None,
            event_filter: EventFilter {
                limit: super::data::EVENT_LIMIT,
                ..EventFilter::default()
            },
        };
        if let Some(text) = first_start {
            app.show_message(
                "Initial setup: note this, then press enter",
                &text,
                Tone::Warn,
            );
        }
        app
    }

    /// The same console, told where its server runs (`run` passes [`ServerMode::InProcess`]).
    pub fn with_server_mode(mut self, mode: ServerMode) -> Self {
        self.server_mode = mode;
        self
    }

    // ---- inputs -------------------------------------------------------------------------

    /// Replaces the data, keeping each tab's selection on the same object where it still exists.
    pub fn apply_data(&mut self, data: Data) {
        let kept: Vec<Option<String>> = (0..TABS.len()).map(|i| self.selected_key(i)).collect();
        self.rows = TABS
            .iter()
            .map(|t| t.rows.map(|build| build(&data)).unwrap_or_default())
            .collect();
        self.data = data;
        self.loaded = true;
        for (i, key) in kept.into_iter().enumerate() {
            self.refilter(i, key);
        }
        self.merge_device_facts();
        if let Some(open) = self.overlays.detail_mut()
            && let Some(row) = self.rows[self.tab].iter().find(|r| r.key == open.row.key)
        {
            open.row = row.clone();
        }
        self.expand_event_detail();
        self.request_device_facts();
    }

    /// Replaces what the store's registry says about the servers (read about once a second).
    pub fn apply_instances(&mut self, instances: Vec<ServerInstance>) {
        self.instances = instances;
        self.instances_read = true;
    }

    /// Replaces the log lines shown by the Events tab's log view (oldest first).
    pub fn apply_logs(&mut self, lines: Vec<String>) {
        self.logs = lines;
    }

    /// Records the terminal size (draw uses the frame; paging and scrolling use this).
    pub fn resize(&mut self, width: u16, height: u16) {
        self.width = width;
        self.height = height;
        for i in 0..TABS.len() {
            self.clamp(i);
        }
    }

    /// Shows a message in the status line until the next key.
    pub fn set_status(&mut self, text: &str, tone: Tone) {
        self.status = Some(Status {
            text: inert(text),
            tone,
        });
    }

    /// Handles one key press: the keymap row it triggers where the focus is, or typed text
    /// for the focused input.
    pub fn handle_key(&mut self, ev: KeyEvent) {
        if ev.kind == KeyEventKind::Release {
            return;
        }
        // A key clears the status line, except `^R`, which opens what it said whole.
        let shown = self.status.take();
        if self.too_small() {
            // No dialog fits: `q` quits only when no server stops with the console.
            match keymap::lookup(Focus::of(Mode::List), true, &ev).map(|b| b.action) {
                Some(Action::ForceQuit) => self.quit = true,
                Some(Action::Quit) => self.quit = self.server_mode == ServerMode::Elsewhere,
                _ => {}
            }
            return;
        }
        let focus = self.focus();
        match keymap::lookup(focus, self.config.readonly, &ev) {
            Some(b) => {
                if b.action == Action::ReadMessage {
                    self.status = shown;
                }
                self.dispatch(b, &ev)
            }
            None => self.unbound_key(focus, &ev),
        }
    }

    /// Carries out a row's action on whatever has focus (the palette calls it too).
    pub(crate) fn dispatch(&mut self, b: &Binding, ev: &KeyEvent) {
        match b.action {
            Action::ForceQuit => {
                self.quit = true;
                return;
            }
            Action::ReadMessage => {
                self.read_message();
                return;
            }
            _ => {}
        }
        match self.overlays.top() {
            Some(Overlay::Form(_)) => self.form_action(b.action),
            Some(Overlay::Choose(..)) => self.chooser_action(b.action),
            Some(Overlay::Palette(..)) => self.palette_action(b.action),
            Some(Overlay::Delete(_)) => self.dialog_action(b.action),
            Some(Overlay::Import(_)) => self.import_action(b.action),
            Some(Overlay::Command(_)) => self.command_action(b.action),
            Some(Overlay::Quit(_)) => self.quit_action(b.action),
            Some(Overlay::Message(_)) => self.message_action(b.action),
            Some(Overlay::Inspect(_)) => self.inspect_action(b.action),
            Some(Overlay::Live(_)) => self.live_action(b.action),
            Some(Overlay::Result(_)) => self.result_action(b.action),
            Some(Overlay::EventFilter(_)) => self.event_filter_action(b.action),
            Some(Overlay::Filter) => self.view_action(b.action, ev),
            Some(Overlay::Detail(_) | Overlay::Help { .. }) | None => {
                if self.relevant(b) || b.action == Action::Back {
                    self.view_action(b.action, ev)
                } else {
                    self.no_action(b.label);
                }
            }
        }
    }

    /// Says that a key does nothing where the focus is (it never falls through to anything).
    fn no_action(&mut self, key: &str) {
        let what = match self.mode() {
            Mode::Quit => "y quits, esc stays".to_string(),
            Mode::Message => format!("{} closes", keymap::label_of(Action::Dismiss)),
            _ => format!("{} for help", keymap::label_of(Action::ToggleHelp)),
        };
        self.set_status(&format!("{key}: no action here — {what}"), Tone::Muted);
    }

    /// A key no row binds: typed text for the focused input, or why read-only refused it.
    fn unbound_key(&mut self, focus: Focus, ev: &KeyEvent) {
        match self.overlays.top_mut() {
            Some(Overlay::Filter) => {
                if let Some(c) = keymap::typed_char(ev) {
                    self.tabs[self.tab].filter.push(c);
                    self.refilter(self.tab, self.selected_key(self.tab));
                }
            }
            Some(Overlay::Form(_)) => self.form_typed(ev),
            Some(Overlay::EventFilter(_)) => {
                if let Some(c) = keymap::typed_char(ev) {
                    self.event_filter_typed(c);
                }
            }
            Some(Overlay::Choose(p, _) | Overlay::Palette(p, _)) => p.type_key(ev),
            Some(Overlay::Delete(d)) => d.type_key(ev),
            Some(Overlay::Command(typed)) => {
                if let Some(c) = keymap::typed_char(ev) {
                    typed.push(c);
                }
            }
            Some(
                Overlay::Import(_)
                | Overlay::Quit(_)
                | Overlay::Message(_)
                | Overlay::Detail(_)
                | Overlay::Inspect(_)
                | Overlay::Live(_)
                | Overlay::Result(_)
                | Overlay::Help { .. },
            )
            | None => {
                if self.config.readonly
                    && let Some(b) = keymap::refused_in_readonly(focus, ev)
                {
                    self.set_status(
                        &format!("read-only: '{}' ({}) is disabled", b.label, b.description),
                        Tone::Warn,
                    );
                } else if let Some(name) = keymap::key_name(ev) {
                    self.no_action(&name);
                }
            }
        }
    }

    /// The keys of the list, the detail view, the help overlay and the filter line.
    fn view_action(&mut self, action: Action, ev: &KeyEvent) {
        match action {
            Action::Quit | Action::Back => self.back_or_quit(action == Action::Quit),
            Action::NextTab => self.switch_tab((self.tab + 1) % TABS.len()),
            Action::PrevTab => self.switch_tab((self.tab + TABS.len() - 1) % TABS.len()),
            Action::JumpTab => {
                if let KeyCode::Char(c) = ev.code
                    && let Some(i) = by_hotkey(c)
                {
                    self.switch_tab(i);
                }
            }
            Action::Down => self.move_by(1),
            Action::Up => self.move_by(-1),
            Action::PageDown => self.move_by(self.page() as isize),
            Action::PageUp => self.move_by(-(self.page() as isize)),
            Action::Top => self.move_by(isize::MIN / 2),
            Action::Bottom => self.move_by(isize::MAX / 2),
            Action::Open => self.open_detail(),
            Action::StartFilter | Action::KeepFilter | Action::ClearFilter | Action::DeleteChar => {
                self.filter_action(action)
            }
            Action::ToggleHelp => self.toggle_help(),
            Action::Refresh => {
                self.refresh_requested = true;
                self.set_status("reloading…", Tone::Muted);
            }
            Action::ToggleLogs => {
                if TABS[self.tab].id == TabId::Events {
                    self.show_logs = !self.show_logs;
                }
            }
            Action::StartCommand => self.overlays.push(Overlay::Command(String::new())),
            Action::Palette => self.open_palette(),
            _ => self.object_action(action),
        }
    }

    /// The keys that act on the selected object (most of them open a form or a dialog).
    fn object_action(&mut self, action: Action) {
        match action {
            Action::New => self.start_new(),
            Action::Edit => self.start_edit(),
            Action::Delete => self.start_delete(),
            Action::BindStage => self.start_bind_stage(),
            Action::EditBinding => self.edit_binding(),
            Action::RemoveBinding => self.remove_binding(),
            Action::SetPassword => self.start_set_password(),
            Action::Copy if TABS[self.tab].id == TabId::Events => self.copy_event(),
            Action::RevealValue if TABS[self.tab].id == TabId::Events => self.reveal_event(),
            Action::FilterEvents => self.open_event_filter(),
            Action::Copy => self.copy_selected(),
            Action::Import => self.start_import(),
            Action::RevokeSession => self.revoke_selected_session(),
            Action::CreateRecoveryLink => self.request_recovery(false),
            Action::SendRecoveryEmail => self.request_recovery(true),
            Action::ExportCertificate => self.start_export(),
            Action::RevealValue => self.reveal_selected(),
            Action::NewWithProvider => self.start_new_with_provider(),
            Action::BindPolicy => self.start_bind_policy(),
            Action::Inspect => self.start_inspect(),
            Action::Test => self.start_test(),
            Action::ResetMfa => self.start_mfa_reset(),
            Action::NewToken => self.start_new_token(),
            _ => {}
        }
    }

    /// `q` and Esc close the detail view or the help overlay; then `q` quits and Esc clears
    /// the `/` filter, then the Events tab's audit filter.
    fn back_or_quit(&mut self, quit: bool) {
        if matches!(
            self.overlays.top(),
            Some(Overlay::Detail(_) | Overlay::Help { .. })
        ) {
            self.overlays.pop();
        } else if quit {
            self.ask_to_quit();
        } else if !self.filter().is_empty() || !self.clear_event_filter() {
            self.set_filter(String::new());
        }
    }

    fn open_detail(&mut self) {
        if let Some(row) = self.selected_row().cloned() {
            self.overlays.push(Overlay::Detail(DetailView {
                row,
                scroll: 0,
                cursor: 0,
            }));
            self.expand_event_detail();
            self.request_device_facts();
        }
    }

    fn toggle_help(&mut self) {
        if matches!(self.overlays.top(), Some(Overlay::Help { .. })) {
            self.overlays.pop();
        } else {
            self.overlays.push(Overlay::Help { scroll: 0 });
        }
    }

    /// `/` starts typing a filter; Enter keeps it, Esc drops it, Backspace deletes a char.
    fn filter_action(&mut self, action: Action) {
        match action {
            Action::StartFilter => {
                if TABS[self.tab].rows.is_some() && !self.showing_logs() {
                    self.overlays.push(Overlay::Filter);
                }
            }
            Action::KeepFilter => {
                self.overlays.pop();
            }
            Action::ClearFilter => {
                self.set_filter(String::new());
                self.overlays.pop();
            }
            _ => {
                let mut f = self.tabs[self.tab].filter.clone();
                f.pop();
                self.set_filter(f);
            }
        }
    }

    fn switch_tab(&mut self, i: usize) {
        self.tab = i;
        self.overlays.clear();
    }

    fn set_filter(&mut self, filter: String) {
        let key = self.selected_key(self.tab);
        self.tabs[self.tab].filter = filter;
        self.refilter(self.tab, key);
    }

    fn refilter(&mut self, i: usize, keep: Option<String>) {
        let filter = Filter::parse(&self.tabs[i].filter);
        let rows = &self.rows[i];
        let visible: Vec<usize> = (0..rows.len())
            .filter(|&r| filter.matches_lowercase(&rows[r].haystack))
            .collect();
        let state = &mut self.tabs[i];
        let old = state.selected;
        state.selected = keep
            .and_then(|k| visible.iter().position(|&r| rows[r].key == k))
            .unwrap_or(old.min(visible.len().saturating_sub(1)));
        state.visible = visible;
        self.clamp(i);
    }

    fn page(&self) -> usize {
        usize::from(self.height.saturating_sub(CHROME_ROWS).max(1))
    }

    fn move_by(&mut self, delta: isize) {
        match self.overlays.top() {
            Some(Overlay::Help { .. }) => {
                let max = self.help_entries().len();
                if let Some(Overlay::Help { scroll }) = self.overlays.top_mut() {
                    *scroll = clamp_add(*scroll, delta, max);
                }
                return;
            }
            Some(Overlay::Detail(_)) => {
                if !self.move_copy_cursor(delta)
                    && let Some(d) = self.overlays.detail_on_top_mut()
                {
                    let lines = d.row.detail.len();
                    d.scroll = clamp_add(d.scroll, delta, lines.saturating_sub(1));
                }
                return;
            }
            _ => {}
        }
        let i = self.tab;
        let len = self.tabs[i].visible.len();
        if len == 0 {
            return;
        }
        self.tabs[i].selected = clamp_add(self.tabs[i].selected, delta, len - 1);
        self.clamp(i);
    }

    /// Keeps the selection inside the list and the scroll offset around the selection.
    fn clamp(&mut self, i: usize) {
        let page = self.page();
        let state = &mut self.tabs[i];
        let len = state.visible.len();
        state.selected = state.selected.min(len.saturating_sub(1));
        if state.selected < state.offset {
            state.offset = state.selected;
        } else if state.selected >= state.offset + page {
            state.offset = state.selected + 1 - page;
        }
        state.offset = state.offset.min(len.saturating_sub(page));
    }

    fn selected_key(&self, i: usize) -> Option<String> {
        let state = &self.tabs[i];
        state
            .visible
            .get(state.selected)
            .and_then(|&r| self.rows[i].get(r))
            .map(|r| r.key.clone())
    }

    // ---- outputs ------------------------------------------------------------------------

    /// True once the user asked to quit.
    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Returns and clears a pending `r` reload request.
    pub fn take_refresh_request(&mut self) -> bool {
        std::mem::take(&mut self.refresh_requested)
    }

    /// The configuration.
    pub fn config(&self) -> &AppConfig {
        &self.config
    }

    /// Where the server runs.
    pub fn server_mode(&self) -> ServerMode {
        self.server_mode
    }

    /// True once the store's registry was read (until then no server is not news).
    pub fn instances_read(&self) -> bool {
        self.instances_read
    }

    /// The servers the store's registry lists, live ones first.
    pub fn instances(&self) -> &[ServerInstance] {
        &self.instances
    }

    /// The server the header names: the one at the configured URL, else the freshest.
    pub fn primary_instance(&self) -> Option<&ServerInstance> {
        let url = &self.config.server_url;
        self.instances
            .iter()
            .find(|i| !url.is_empty() && i.public_url == *url)
            .or_else(|| self.instances.first())
    }

    /// The base URL applications reach the server at: the configured one, else the serving
    /// instance's (empty when no server ever recorded itself).
    pub fn server_url(&self) -> String {
        if !self.config.server_url.is_empty() {
            return self.config.server_url.clone();
        }
        self.primary_instance()
            .map(|i| i.public_url.clone())
            .unwrap_or_default()
    }

    /// The colours.
    pub fn theme(&self) -> &Theme {
        &self.config.theme
    }

    /// The snapshot on screen.
    pub fn data(&self) -> &Data {
        &self.data
    }

    /// True after the first snapshot arrived.
    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// Index of the active tab in [`TABS`].
    pub fn tab_index(&self) -> usize {
        self.tab
    }

    /// The active tab.
    pub fn current_tab(&self) -> TabId {
        TABS[self.tab].id
    }

    /// What has focus.
    pub fn mode(&self) -> Mode {
        self.overlays.focus().mode
    }

    /// Where keys go: the mode and, in a form, the focused field.
    pub fn focus(&self) -> Focus {
        self.overlays.focus()
    }

    /// The active tab's filter text.
    pub fn filter(&self) -> &str {
        &self.tabs[self.tab].filter
    }

    /// Every row of the active tab, before filtering.
    pub fn total_rows(&self) -> usize {
        self.rows[self.tab].len()
    }

    /// The active tab's rows that pass the filter, in order.
    pub fn visible_rows(&self) -> Vec<&ListRow> {
        let rows = &self.rows[self.tab];
        self.tabs[self.tab]
            .visible
            .iter()
            .filter_map(|&r| rows.get(r))
            .collect()
    }

    /// Index of the selected row within [`App::visible_rows`].
    pub fn selected_index(&self) -> usize {
        self.tabs[self.tab].selected
    }

    /// The first visible row drawn (rows above it are scrolled off).
    pub fn scroll_offset(&self) -> usize {
        self.tabs[self.tab].offset
    }

    /// The selected row of the active tab.
    pub fn selected_row(&self) -> Option<&ListRow> {
        let state = &self.tabs[self.tab];
        state
            .visible
            .get(state.selected)
            .and_then(|&r| self.rows[self.tab].get(r))
    }

    /// The object open in the detail view (also while a form or dialog is over it).
    pub fn detail(&self) -> Option<&ListRow> {
        self.overlays.detail().map(|d| &d.row)
    }

    /// Lines of the detail view scrolled past.
    pub fn detail_scroll(&self) -> usize {
        self.overlays.detail_on_top().map_or(0, |d| d.scroll)
    }

    /// The status line message, if any.
    pub fn status(&self) -> Option<&Status> {
        self.status.as_ref()
    }

    /// Log lines (oldest first).
    pub fn logs(&self) -> &[String] {
        &self.logs
    }

    /// True when the Events tab shows the server log.
    pub fn showing_logs(&self) -> bool {
        self.show_logs && TABS[self.tab].id == TabId::Events
    }

    /// True when the terminal is below the minimum size.
    pub fn too_small(&self) -> bool {
        self.width < MIN_WIDTH || self.height < MIN_HEIGHT
    }

    /// Footer hints for what has focus: `(keys, verb)`, from the keymap table; only the
    /// essential ones below 80 columns.
    pub fn hints(&self) -> Vec<(&'static str, &'static str)> {
        let narrow = self.width < 80;
        keymap::hints(self.focus(), self.config.readonly, |b| {
            self.relevant(b) && (b.essential || !narrow)
        })
    }

    /// The footer hints kept when not all fit (back, help, quit and the like).
    pub fn essential_hints(&self) -> Vec<(&'static str, &'static str)> {
        keymap::hints(self.focus(), self.config.readonly, |b| {
            self.relevant(b) && b.essential
        })
    }

    /// Every hint of what has focus as one line (the pickers' own key line).
    pub fn hint_line(&self) -> String {
        keymap::hint_line(self.focus(), self.config.readonly)
    }

    /// How far the help overlay is scrolled (the view clamps it to what fits).
    pub fn help_scroll(&self) -> usize {
        match self.overlays.top() {
            Some(Overlay::Help { scroll }) => *scroll,
            _ => 0,
        }
    }

    /// The help overlay's lines `(keys, description)`: every row of the keymap table, by mode
    /// (a pair such as `j/k` on one line).
    pub fn help_entries(&self) -> Vec<(&'static str, &'static str)> {
        let mut out: Vec<(&'static str, &'static str)> = Vec::new();
        for mode in Mode::ALL {
            for b in keymap::rows(mode, self.config.readonly) {
                let entry = b.help_entry();
                if !out.contains(&entry) {
                    out.push(entry);
                }
            }
        }
        out
    }

    /// Whether a binding means anything on the active tab (lists vs the dashboard).
    fn relevant(&self, b: &Binding) -> bool {
        let is_list = TABS[self.tab].rows.is_some();
        if let Some(v) = self.overlays.result()
            && self.mode() == Mode::Result
        {
            // Stepping and the step pane mean something only for a simulation.
            return match b.action {
                Action::NextStep | Action::PrevStep | Action::Open => !v.steps.is_empty(),
                _ => true,
            };
        }
        match b.action {
            // Devices are made by enrolling, not by forms; events only by what they record.
            Action::New | Action::Edit | Action::Delete
                if matches!(TABS[self.tab].id, TabId::Devices | TabId::Events) =>
            {
                false
            }
            Action::Open | Action::StartFilter | Action::New | Action::Edit | Action::Delete => {
                is_list && !self.showing_logs()
            }
            Action::ToggleLogs => TABS[self.tab].id == TabId::Events,
            Action::FilterEvents => TABS[self.tab].id == TabId::Events && !self.showing_logs(),
            Action::Copy | Action::RevealValue if TABS[self.tab].id == TabId::Events => {
                self.selected_event().is_some()
            }
            Action::BindStage => TABS[self.tab].id == TabId::Flows,
            Action::EditBinding | Action::RemoveBinding | Action::BindPolicy => {
                TABS[self.tab].id == TabId::Flows || self.device_access_group_detail().is_some()
            }
            Action::Inspect => TABS[self.tab].id == TabId::Flows,
            Action::Test => matches!(
                TABS[self.tab].id,
                TabId::Policies | TabId::Applications | TabId::Providers
            ),
            Action::NewWithProvider => TABS[self.tab].id == TabId::Applications,
            Action::SetPassword | Action::CreateRecoveryLink | Action::SendRecoveryEmail => {
                TABS[self.tab].id == TabId::Users
            }
            Action::Import => TABS[self.tab].id == TabId::Flows,
            Action::ExportCertificate => TABS[self.tab].id == TabId::Certificates,
            Action::RevokeSession => {
                TABS[self.tab].id == TabId::Users
                    && !(self.session_lines().is_empty() && self.account_lines().is_empty())
            }
            Action::ResetMfa | Action::NewToken => self.detail_user().is_some(),
            Action::Copy if self.mode() == Mode::Message => {
                self.message().is_some_and(|m| m.copy.is_some())
            }
            Action::Copy | Action::RevealValue => {
                TABS[self.tab].id == TabId::Providers && !self.copy_lines().is_empty()
            }
            Action::Back => {
                self.mode() != Mode::List
                    || !self.filter().is_empty()
                    || (TABS[self.tab].id == TabId::Events && !self.event_filter.is_unfiltered())
            }
            _ => true,
        }
    }
}

fn clamp_add(value: usize, delta: isize, max: usize) -> usize {
    value.saturating_add_signed(delta).min(max)
}
