//! How `y` reaches the clipboard over SSH: OSC 52, sent plainly. tmux (3.3 and later)
//! forwards a plain OSC 52 when its `set-clipboard` is `on`; its DCS passthrough wrapper is used
//! only when `set-clipboard` is not `on` and the pane's `allow-passthrough` is (tmux drops it
//! otherwise). Both options are read from the running tmux at each copy (`tmux show-options`),
//! so the status line can say whether the value can be known to have arrived, and offer to
//! show it when it cannot.

use std::process::Command;

use super::app::Delivery;

/// The tmux options that decide what happens to an OSC 52 from inside a pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmuxOptions {
    /// The server's `set-clipboard`: `on`, `external` (tmux's default) or `off`.
    pub set_clipboard: String,
    /// The pane's `allow-passthrough`: `on`, `all` or `off` (tmux's default).
    pub allow_passthrough: String,
}

/// What is known about the terminal the console writes to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClipboardEnv {
    /// Inside tmux ($TMUX): its options, `None` when they could not be read.
    pub tmux: Option<Option<TmuxOptions>>,
    /// $TERM.
    pub term: String,
    /// $TERM_PROGRAM (set by iTerm2, WezTerm, ghostty; not forwarded by SSH).
    pub term_program: String,
    /// Windows Terminal ($WT_SESSION).
    pub windows_terminal: bool,
}

impl ClipboardEnv {
    /// Reads the environment and, inside tmux, asks tmux for its two options.
    pub fn probe() -> Self {
        let var = |k: &str| std::env::var(k).unwrap_or_default();
        let tmux = std::env::var_os("TMUX").map(|_| {
            Some(TmuxOptions {
                set_clipboard: tmux_option(&["show-options", "-sv", "set-clipboard"])?,
                allow_passthrough: tmux_option(&["show-options", "-Apv", "allow-passthrough"])
                    .unwrap_or_else(|| "off".into()),
            })
        });
        Self {
            tmux,
            term: var("TERM"),
            term_program: var("TERM_PROGRAM"),
            windows_terminal: std::env::var_os("WT_SESSION").is_some(),
        }
    }

    /// Whether to wrap the sequence for tmux's passthrough, and what the admin can be told.
    pub fn decide(&self) -> (bool, Delivery) {
        match &self.tmux {
            Some(Some(t)) if t.set_clipboard == "on" => {
                (false, Delivery::Accepted("tmux set-clipboard on".into()))
            }
            Some(Some(t)) if matches!(t.allow_passthrough.as_str(), "on" | "all") => {
                (true, Delivery::Unknown)
            }
            Some(Some(t)) => (
                false,
                Delivery::Dropped(format!(
                    "tmux drops OSC 52 here (set-clipboard {})",
                    t.set_clipboard
                )),
            ),
            Some(None) => (false, Delivery::Unknown),
            None => match self.known_terminal() {
                Some(name) => (false, Delivery::Accepted(name)),
                None => (false, Delivery::Unknown),
            },
        }
    }

    /// A terminal known to take OSC 52 by default, by its name.
    fn known_terminal(&self) -> Option<String> {
        const TERMS: &[&str] = &["kitty", "alacritty", "foot", "wezterm", "ghostty"];
        const PROGRAMS: &[&str] = &["iTerm.app", "WezTerm", "ghostty"];
        if let Some(t) = TERMS.iter().find(|t| self.term.contains(*t)) {
            return Some((*t).to_string());
        }
        if let Some(p) = PROGRAMS.iter().find(|p| self.term_program == **p) {
            return Some((*p).to_string());
        }
        self.windows_terminal.then(|| "Windows Terminal".into())
    }
}

/// One tmux option's value, `None` when tmux cannot be asked.
fn tmux_option(args: &[&str]) -> Option<String> {
    let out = Command::new("tmux").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let value = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_tmux(set_clipboard: &str, allow_passthrough: &str) -> ClipboardEnv {
        ClipboardEnv {
            tmux: Some(Some(TmuxOptions {
                set_clipboard: set_clipboard.into(),
                allow_passthrough: allow_passthrough.into(),
            })),
            term: "tmux-256color".into(),
            ..ClipboardEnv::default()
        }
    }

    #[test]
    fn plain_unless_only_tmux_passthrough_would_carry_it() {
        let (wrap, d) = in_tmux("on", "on").decide();
        assert!(!wrap && matches!(d, Delivery::Accepted(_)));
        let (wrap, d) = in_tmux("external", "on").decide();
        assert!(wrap && d == Delivery::Unknown);
        let (wrap, d) = in_tmux("external", "all").decide();
        assert!(wrap && d == Delivery::Unknown);
        let (wrap, d) = in_tmux("external", "off").decide();
        assert!(!wrap && matches!(d, Delivery::Dropped(why) if why.contains("external")));
        let unreadable = ClipboardEnv {
            tmux: Some(None),
            ..ClipboardEnv::default()
        };
        assert_eq!(unreadable.decide(), (false, Delivery::Unknown));
    }

    #[test]
    fn outside_tmux_only_known_terminals_count_as_accepted() {
        let kitty = ClipboardEnv {
            term: "xterm-kitty".into(),
            ..ClipboardEnv::default()
        };
        assert_eq!(kitty.decide(), (false, Delivery::Accepted("kitty".into())));
        let xterm = ClipboardEnv {
            term: "xterm-256color".into(),
            ..ClipboardEnv::default()
        };
        assert_eq!(xterm.decide(), (false, Delivery::Unknown));
    }
}
