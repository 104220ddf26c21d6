//! Nothing cut without a way to read it: `^R` opens the message that has focus (a form's
//! banner, a dialog's error, the status line, or the focused field's label and help) whole in
//! a scrollable window; `v` shows a provider's selected value (a secret) there, so it can be
//! read from the screen when the terminal ignores OSC 52; and the first-start message waits
//! there until it is acknowledged.

use super::App;
use super::overlay::{MessageView, Overlay};
use crate::console::keymap::{self, Action};
use crate::console::tabs::Tone;
use crate::console::text::{inert, wrap};

/// The message window's text width and the rows of text it shows on a `width`x`height`
/// terminal (the view draws with the same numbers, so scrolling stops at the last line).
pub fn message_geometry(width: u16, height: u16, text: &str) -> (usize, usize) {
    // 100 columns, or wider when the screen allows so that the longest word (a link or key
    // shown once) fits on one line and can be selected with the mouse.
    let longest = text
        .split_whitespace()
        .map(|w| w.chars().count())
        .max()
        .unwrap_or(0);
    let want = u16::try_from(longest + 5).unwrap_or(u16::MAX).max(100);
    let window = width.saturating_sub(4).min(want);
    let text = usize::from(window.saturating_sub(4)).max(1);
    // Header, tab bar, status and footer around the body; the window's two borders.
    let rows = usize::from(height.saturating_sub(4 + 2)).max(1);
    (text, rows)
}

impl App {
    /// Opens `text` whole over what is showing.
    pub(super) fn show_message(&mut self, title: &str, text: &str, tone: Tone) {
        self.overlays.push(Overlay::Message(MessageView {
            title: inert(title),
            text: text.lines().map(inert).collect::<Vec<_>>().join("\n"),
            scroll: 0,
            tone,
            copy: None,
        }));
    }

    /// Opens a secret that exists only now (an enrollment token's key) in a window that `y`
    /// copies it from; once the window is closed the console has no way to show it again.
    pub(super) fn show_secret_once(&mut self, what: &str, secret: &str) {
        let text = format!(
            "{secret}\n\nThis is {what}. It is shown now and never again (only its digest is \
             stored): y copies it (OSC 52), or select it with the mouse. Enter closes."
        );
        self.show_message("Copy the key now: it is shown once", &text, Tone::Warn);
        if let Some(Overlay::Message(m)) = self.overlays.top_mut() {
            m.copy = Some(super::Clip {
                what: what.to_string(),
                value: secret.to_string(),
            });
        }
    }

    /// `^R`: the message that has focus, whole; says so when there is none.
    pub(super) fn read_message(&mut self) {
        match self.focused_message() {
            Some((title, text, tone)) => {
                self.status = None;
                self.show_message(&title, &text, tone);
            }
            None => self.set_status("no message to read here", Tone::Muted),
        }
    }

    /// The message `^R` opens: `(title, text, tone)`.
    fn focused_message(&self) -> Option<(String, String, Tone)> {
        let status = self
            .status
            .as_ref()
            .map(|s| ("Message".to_string(), s.text.clone(), s.tone));
        match self.overlays.top() {
            Some(Overlay::Form(f)) => {
                if let Some(b) = &f.banner {
                    return Some((f.title.clone(), b.clone(), Tone::Error));
                }
                if let Some(w) = &f.confirm_warnings {
                    return Some((f.title.clone(), w.clone(), Tone::Warn));
                }
                status.or_else(|| {
                    let field = f.focused()?;
                    let mut text = format!("{}\n\n{}", field.spec.label, field.spec.help);
                    if let Some(e) = field.error.as_ref().or(field.warning.as_ref()) {
                        text.push_str(&format!("\n\n{e}"));
                    }
                    Some((f.title.clone(), text, Tone::Normal))
                })
            }
            Some(Overlay::Delete(d)) => d
                .error
                .clone()
                .map(|e| (format!("Delete {}", d.name), e, Tone::Error))
                .or(status),
            Some(Overlay::Import(d)) => d
                .error
                .clone()
                .map(|e| (format!("Import {}", d.file), e, Tone::Error))
                .or(status),
            _ => status,
        }
    }

    /// `v` in a provider detail: the selected value whole (the one way to read a secret when
    /// the clipboard cannot be reached).
    pub(super) fn reveal_selected(&mut self) {
        let lines = self.copy_lines();
        match lines.get(self.copy_cursor()) {
            Some(line) => {
                let title = format!("{} (select it with the mouse, or type it)", line.label);
                self.note_secret_view(line, "reveal");
                self.show_message(&title, &line.value, Tone::Normal);
            }
            None => self.no_action(keymap::label_of(Action::RevealValue)),
        }
    }

    /// A message window row's action: scroll or close.
    pub(super) fn message_action(&mut self, action: Action) {
        let (width, height) = (self.width, self.height);
        let Some(Overlay::Message(m)) = self.overlays.top_mut() else {
            return;
        };
        let (text_width, rows) = message_geometry(width, height, &m.text);
        let max = wrap(&m.text, text_width).len().saturating_sub(rows);
        let page = rows as isize;
        let delta = match action {
            Action::Dismiss => {
                self.overlays.pop();
                return;
            }
            Action::Copy => {
                match m.copy.clone() {
                    Some(clip) => self.copy_clip(clip),
                    None => self.no_action(keymap::label_of(Action::Copy)),
                }
                return;
            }
            Action::Down => 1,
            Action::Up => -1,
            Action::PageDown => page,
            Action::PageUp => -page,
            Action::Top => isize::MIN / 2,
            Action::Bottom => isize::MAX / 2,
            _ => 0,
        };
        m.scroll = m.scroll.saturating_add_signed(delta).min(max);
    }

    /// The open message window.
    pub fn message(&self) -> Option<&MessageView> {
        match self.overlays.top() {
            Some(Overlay::Message(m)) => Some(m),
            _ => None,
        }
    }
}
