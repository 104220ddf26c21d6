//! The provider detail's copyable lines (every URL an application needs, the client id and
//! the secret) and `y`, which hands the chosen value to the loop to send as OSC 52; the loop
//! then says what was sent and whether it can be known to have arrived.

use super::App;
use crate::console::tabs::{ListRow, TABS, TabId, Tone};
use crate::service::providers::provider_urls;

/// A value `y` asked the loop to put on the clipboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clip {
    /// What it is, as the status line names it ("the client secret").
    pub what: String,
    /// The value.
    pub value: String,
}

/// What can be said about an OSC 52 once sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// It reaches a clipboard: tmux takes it (`set-clipboard on`) or the terminal is one known
    /// to (named here).
    Accepted(String),
    /// Sent, but nothing tells whether the terminal takes it.
    Unknown,
    /// tmux drops it (why, and how to let it through).
    Dropped(String),
}

/// One copyable line of the provider detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyLine {
    /// What it is.
    pub label: String,
    /// What is shown (secrets masked).
    pub shown: String,
    /// What `y` copies.
    pub value: String,
    /// The secret field this line shows (copying or revealing it is recorded as
    /// `secret_view`); `None` for what is no secret.
    pub secret: Option<&'static str>,
}

impl App {
    /// The open detail's row when it has focus on a `tab` tab.
    pub(super) fn detail_row_on(&self, tab: TabId) -> Option<&ListRow> {
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
            &self.server_url(),
            app.map(|a| a.slug.as_str()),
            p.oauth2.issuer_mode,
        )
        .into_iter()
        .map(|(label, url)| CopyLine {
            label: label.into(),
            shown: url.clone(),
            value: url,
            secret: None,
        })
        .collect();
        // The client id is no secret (it is in every authorize URL): shown in clear.
        out.push(CopyLine {
            label: "Client ID".into(),
            shown: p.client_id.clone(),
            value: p.client_id.clone(),
            secret: None,
        });
        if !p.oauth2.client_secret.is_empty() {
            out.push(CopyLine {
                label: "Client Secret".into(),
                shown: mask(&p.oauth2.client_secret),
                value: p.oauth2.client_secret.clone(),
                secret: Some("client_secret"),
            });
        }
        out
    }

    /// The flow detail's stage bindings, in order (`(binding id, "order  stage (kind)")`), each
    /// followed by the policy bindings on it, then the flow's own policy bindings.
    pub fn binding_lines(&self) -> Vec<(String, String)> {
        if let Some(group) = self.device_access_group_detail() {
            return self.policy_binding_lines(group, "");
        }
        let Some(row) = self.detail_row_on(TabId::Flows) else {
            return Vec::new();
        };
        self.flow_binding_lines(&row.key)
    }

    /// The id of the device access group whose detail has focus (its policy bindings are
    /// listed and edited there, as a flow's are).
    pub fn device_access_group_detail(&self) -> Option<&str> {
        let row = self.detail_row_on(TabId::Connectors)?;
        self.data
            .device_access_groups
            .iter()
            .any(|g| g.id == row.key)
            .then_some(row.key.as_str())
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

    /// `R` in a user's detail: end the selected session and revoke what it issued, or (the
    /// cursor past the sessions) confirm a change to the selected authenticator, consent or
    /// token.
    pub(super) fn revoke_selected_session(&mut self) {
        let lines = self.session_lines();
        if self.copy_cursor() >= lines.len() && !self.account_lines().is_empty() {
            self.start_account_revoke(self.copy_cursor() - lines.len());
            return;
        }
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
            self.copy_clip(Clip {
                what: format!("the {}", spoken(&line.label)),
                value: line.value.clone(),
            });
            self.note_secret_view(line, "copy");
        }
    }

    /// Asks the service to record that the provider detail's secret `line` was copied or
    /// revealed (`how`), as authentik's `secret_view`.
    pub(super) fn note_secret_view(&mut self, line: &CopyLine, how: &'static str) {
        let (Some(field), Some(row)) = (line.secret, self.detail_row_on(TabId::Providers)) else {
            return;
        };
        self.pending = Some(crate::console::actions::Request::SecretView {
            kind: crate::domain::Kind::Provider,
            id: row.key.clone(),
            field,
            how,
        });
    }

    /// Hands `clip` to the loop to send as OSC 52 and says so.
    pub(super) fn copy_clip(&mut self, clip: Clip) {
        self.set_status(&sent_message(&clip, &Delivery::Unknown), Tone::Ok);
        self.clipboard = Some(clip);
    }

    /// The loop sent `clip` as OSC 52: the status line says what was sent, and offers `v`
    /// to read the value when it cannot be known to have arrived.
    pub fn clipboard_sent(&mut self, clip: &Clip, delivery: &Delivery) {
        let tone = match delivery {
            Delivery::Accepted(_) => Tone::Ok,
            Delivery::Unknown => Tone::Normal,
            Delivery::Dropped(_) => Tone::Warn,
        };
        self.set_status(&sent_message(clip, delivery), tone);
    }

    /// Moves the provider detail's cursor; false when there is no such detail.
    pub(super) fn move_copy_cursor(&mut self, delta: isize) -> bool {
        let n = self
            .copy_lines()
            .len()
            .max(self.binding_lines().len())
            .max(self.session_lines().len() + self.account_lines().len());
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
        self.clipboard.take().map(|c| c.value)
    }

    /// Returns and clears what `y` asked to copy, with how to name it.
    pub fn take_clip(&mut self) -> Option<Clip> {
        self.clipboard.take()
    }
}

/// A label as prose: capitalised words lowered, acronyms kept ("Client ID" -> "client ID").
fn spoken(label: &str) -> String {
    label
        .split(' ')
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(first) if cs.clone().all(|c| c.is_lowercase()) => {
                    first.to_lowercase().chain(cs).collect()
                }
                _ => w.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The status line after `y`.
fn sent_message(clip: &Clip, delivery: &Delivery) -> String {
    let n = clip.value.chars().count();
    let reveal = crate::console::keymap::label_of(crate::console::keymap::Action::RevealValue);
    match delivery {
        Delivery::Accepted(_) => format!("copied {} (OSC 52, {n} chars)", clip.what),
        Delivery::Unknown => format!(
            "sent {} (OSC 52, {n} chars); not pasted? {reveal} shows it",
            clip.what
        ),
        Delivery::Dropped(why) => format!("{why}: {reveal} shows {}", clip.what),
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

/// Shows only that a secret is there, never its value.
fn mask(s: &str) -> String {
    format!(
        "{} ({} chars, y copies, v shows)",
        "•".repeat(8),
        s.chars().count()
    )
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
