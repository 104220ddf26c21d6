//! Quitting never takes the IdP down by surprise: in `run` (the server lives in this process)
//! `q` on a list asks first, saying that the server stops and how many sessions are live, with
//! Cancel focused; `:q` and Ctrl-C quit at once, as in k9s and lazygit. In `console` the
//! server runs elsewhere and quitting leaves it running, so `q` quits at once.

use super::overlay::{Overlay, QuitDialog};
use super::{App, ServerMode};
use crate::console::keymap::Action;

impl App {
    /// `q` with nothing open: the dialog in `run`, quitting in `console`.
    pub(super) fn ask_to_quit(&mut self) {
        match self.server_mode {
            ServerMode::InProcess => self.overlays.push(Overlay::Quit(QuitDialog::default())),
            ServerMode::Elsewhere => self.quit = true,
        }
    }

    /// A quit dialog row's action.
    pub(super) fn quit_action(&mut self, action: Action) {
        let Some(Overlay::Quit(d)) = self.overlays.top_mut() else {
            return;
        };
        match action {
            Action::SwitchButton => d.on_quit = !d.on_quit,
            Action::Yes => self.quit = true,
            Action::Press if d.on_quit => self.quit = true,
            Action::Press | Action::Cancel => {
                self.overlays.pop();
            }
            _ => {}
        }
    }

    /// The open quit dialog.
    pub fn quit_dialog(&self) -> Option<&QuitDialog> {
        match self.overlays.top() {
            Some(Overlay::Quit(d)) => Some(d),
            _ => None,
        }
    }

    /// What the quit dialog says, one paragraph a line (the view wraps them): the server that
    /// stops and the sessions it serves.
    pub fn quit_lines(&self) -> Vec<String> {
        let sessions = self.data.sessions.len();
        let url = self.server_url();
        vec![
            format!("Quitting stops the server at {url}: it runs in this console."),
            format!(
                "{sessions} live session{} and every application signing in through it lose \
                 their IdP until latchkey starts again.",
                if sessions == 1 { "" } else { "s" }
            ),
            String::new(),
            "To leave a server running, start `latchkey serve` and attach with `latchkey \
             console`. :q or ^C quit at once."
                .into(),
        ]
    }
}
