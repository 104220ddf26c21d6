//! The provider detail's copyable lines (every URL an application needs, the client id and
//! the secret) and `y`, which hands the chosen value to the loop to send as OSC 52.

use super::App;
use crate::console::tabs::{ListRow, TABS, TabId, Tone};
use crate::service::providers::provider_urls;

/// One copyable line of the provider detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyLine {
    /// What it is.
    pub label: String,
    /// What is shown (secrets masked).
    pub shown: String,
    /// What `y` copies.
    pub value: String,
}

impl App {
    /// The open detail's row when it has focus on a `tab` tab.
    fn detail_row_on(&self, tab: TabId) -> Option<&ListRow> {
        let d = self.overlays.detail_on_top()?;
        (TABS[self.tab].id == tab).then_some(&d.row)
    }

    /// The provider detail's copyable lines (empty elsewhere).
    pub fn copy_lines(&self) -> Vec<CopyLine> {
        let Some(row) = self.detail_row_on(TabId::Providers) else {
            return Vec::new();
        };
        let Some(p) = self.data.providers.iter().find(|p| p.id == row.key) else {
            return Vec::new();
        };
        let app = self
            .data
            .applications
            .iter()
            .find(|a| a.provider_id.as_deref() == Some(p.id.as_str()));
        let mut out: Vec<CopyLine> = provider_urls(
            &self.config.server_url,
            app.map(|a| a.slug.as_str()),
            p.oauth2.issuer_mode,
        )
        .into_iter()
        .map(|(label, url)| CopyLine {
            label: label.into(),
            shown: url.clone(),
            value: url,
        })
        .collect();
        out.push(CopyLine {
            label: "Client ID".into(),
            shown: mask(&p.client_id),
            value: p.client_id.clone(),
        });
        if !p.oauth2.client_secret.is_empty() {
            out.push(CopyLine {
                label: "Client Secret".into(),
                shown: mask(&p.oauth2.client_secret),
                value: p.oauth2.client_secret.clone(),
            });
        }
        out
    }

    /// The flow detail's stage bindings, in order (`(binding id, "order  stage (kind)")`), each
    /// followed by the policy bindings on it, then the flow's own policy bindings.
    pub fn binding_lines(&self) -> Vec<(String, String)> {
        let Some(row) = self.detail_row_on(TabId::Flows) else {
            return Vec::new();
        };
        self.flow_binding_lines(&row.key)
    }

    /// The user detail's live sessions: `(session id, "ip  agent  since  last seen")`.
    pub fn session_lines(&self) -> Vec<(String, String)> {
        let Some(row) = self.detail_row_on(TabId::Users) else {
            return Vec::new();
        };
        let now = self.data.now;
        self.data
            .sessions
            .iter()
            .filter(|s| s.user_id == row.key)
            .map(|s| {
                let agent: String = s.user_agent.chars().take(40).collect();
                let text = format!(
                    "{:<15}  signed in {} ago, last seen {} ago, ends in {}  {}",
                    if s.client_ip.is_empty() {
                        "?"
                    } else {
                        &s.client_ip
                    },
                    ago(now - s.created_at),
                    ago(now - s.last_seen),
                    ago(s.expires_at - now),
                    if agent.is_empty() {
                        "(no user agent)".into()
                    } else {
                        agent
                    },
                );
                (s.id.clone(), text)
            })
            .collect()
    }

    /// `R` in a user's detail: end the selected session and revoke what it issued.
    pub(super) fn revoke_selected_session(&mut self) {
        let lines = self.session_lines();
        match lines.get(self.copy_cursor()) {
            Some((id, text)) => {
                self.pending = Some(crate::console::actions::Request::RevokeSession {
                    id: id.clone(),
                    label: text.split_whitespace().next().unwrap_or("").to_string(),
                });
            }
            None => self.set_status("no session selected", Tone::Muted),
        }
    }

    /// The selected copyable line (provider detail) or binding (flow detail).
    pub fn copy_cursor(&self) -> usize {
        self.overlays.detail_on_top().map_or(0, |d| d.cursor)
    }

    pub(super) fn copy_selected(&mut self) {
        let lines = self.copy_lines();
        if let Some(line) = lines.get(self.copy_cursor()) {
            self.clipboard = Some(line.value.clone());
            self.set_status(
                &format!("copied {} to the clipboard (OSC 52)", line.label),
                Tone::Ok,
            );
        }
    }

    /// Moves the provider detail's cursor; false when there is no such detail.
    pub(super) fn move_copy_cursor(&mut self, delta: isize) -> bool {
        let n = self
            .copy_lines()
            .len()
            .max(self.binding_lines().len())
            .max(self.session_lines().len());
        match self.overlays.detail_on_top_mut() {
            Some(d) if n > 0 => {
                d.cursor = d.cursor.saturating_add_signed(delta).min(n - 1);
                true
            }
            _ => false,
        }
    }

    /// Returns and clears the text `y` asked to copy.
    pub fn take_clipboard(&mut self) -> Option<String> {
        self.clipboard.take()
    }
}

/// A duration in seconds as "3d", "5h", "12m" or "40s".
fn ago(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

/// Shows only that a secret or random id is there, never its value.
fn mask(s: &str) -> String {
    format!("{} ({} chars, y copies)", "•".repeat(8), s.chars().count())
}

/// The OSC 52 escape that puts `text` on the clipboard, wrapped for tmux's passthrough when
/// running inside tmux.
pub fn osc52(text: &str, in_tmux: bool) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    let seq = format!("\x1b]52;c;{b64}\x07");
    if in_tmux {
        format!("\x1bPtmux;{}\x1b\\", seq.replace('\x1b', "\x1b\x1b"))
    } else {
        seq
    }
}
