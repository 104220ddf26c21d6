//! Colour themes: TOML files whose colours are named by meaning, three compiled in, so a view
//! asks for "error" or "selection" and never hard-codes a colour.

use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};

use super::ConsoleError;

/// The compiled-in themes, by the name `--theme` accepts.
pub const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// Every colour key a theme may set, so a typo is reported instead of silently ignored.
const KEYS: &[&str] = &[
    "text",
    "muted",
    "accent",
    "error",
    "warn",
    "ok",
    "selection_fg",
    "selection_bg",
    "header_fg",
    "header_bg",
    "border",
    "title",
];

/// Resolved colours; `mono` (NO_COLOR) drops every colour and keeps only modifiers.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    colors: [Color; KEYS.len()],
    mono: bool,
}

impl Default for Theme {
    fn default() -> Self {
        Self {
            colors: [Color::Reset; KEYS.len()],
            mono: true,
        }
    }
}

impl Theme {
    /// Resolves `--theme` (a built-in name or a path; `None` = dark) and honours `NO_COLOR`.
    pub fn load(choice: Option<&str>) -> Result<Self, ConsoleError> {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self::resolve(choice, no_color)
    }

    /// [`Theme::load`] with the `NO_COLOR` decision passed in (tests must not touch the
    /// process environment).
    pub fn resolve(choice: Option<&str>, no_color: bool) -> Result<Self, ConsoleError> {
        let name = choice.unwrap_or("dark");
        let mut theme = match builtin(name) {
            Some(text) => Self::parse(text, &format!("built-in theme {name}"))?,
            None => {
                let text = std::fs::read_to_string(name).map_err(|e| {
                    ConsoleError::Theme(format!(
                        "theme {name}: cannot read it ({e}); use one of {} or a path to a .toml file",
                        BUILTIN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                    ))
                })?;
                Self::parse(&text, name)?
            }
        };
        theme.mono = no_color;
        Ok(theme)
    }

    /// Parses theme TOML; `file` names the source in errors. Keys left out keep the terminal's
    /// default colour.
    pub fn parse(text: &str, file: &str) -> Result<Self, ConsoleError> {
        let bad =
            |key: &str, why: String| ConsoleError::Theme(format!("theme {file}: {key}: {why}"));
        let table: toml::Table = toml::from_str(text)
            .map_err(|e| ConsoleError::Theme(format!("theme {file}: {}", e.message())))?;
        let mut colors = [Color::Reset; KEYS.len()];
        for (section, value) in &table {
            let toml::Value::Table(entries) = value else {
                return Err(bad(section, "expected a [colors] table".into()));
            };
            if section != "colors" {
                return Err(bad(section, "unknown section (only [colors])".into()));
            }
            for (key, value) in entries {
                let full = format!("colors.{key}");
                let Some(slot) = KEYS.iter().position(|k| k == key) else {
                    return Err(bad(
                        &full,
                        format!("unknown key; known keys: {}", KEYS.join(", ")),
                    ));
                };
                let Some(s) = value.as_str() else {
                    return Err(bad(&full, "expected a string".into()));
                };
                colors[slot] = parse_color(s).ok_or_else(|| {
                    bad(
                        &full,
                        format!("'{s}' is not a colour (name, 0-255 or #rrggbb)"),
                    )
                })?;
            }
        }
        Ok(Self {
            colors,
            mono: false,
        })
    }

    /// True when colours are off (`NO_COLOR`).
    pub fn is_mono(&self) -> bool {
        self.mono
    }

    fn fg(&self, key: &str) -> Style {
        if self.mono {
            return Style::default();
        }
        Style::default().fg(self.color(key))
    }

    fn color(&self, key: &str) -> Color {
        KEYS.iter()
            .position(|k| *k == key)
            .map_or(Color::Reset, |i| self.colors[i])
    }

    /// Ordinary text.
    pub fn text(&self) -> Style {
        self.fg("text")
    }

    /// Secondary text: hints, empty states, column headers.
    pub fn muted(&self) -> Style {
        if self.mono {
            return Style::default().add_modifier(Modifier::DIM);
        }
        self.fg("muted")
    }

    /// The thing to look at: the active tab, key names.
    pub fn accent(&self) -> Style {
        self.fg("accent").add_modifier(Modifier::BOLD)
    }

    /// Failures and expired things.
    pub fn error(&self) -> Style {
        self.fg("error").add_modifier(Modifier::BOLD)
    }

    /// Things that need attention soon.
    pub fn warn(&self) -> Style {
        let s = self.fg("warn");
        if self.mono {
            s.add_modifier(Modifier::UNDERLINED)
        } else {
            s
        }
    }

    /// Healthy state.
    pub fn ok(&self) -> Style {
        self.fg("ok")
    }

    /// The selected row; reversed without colour so it stays visible under NO_COLOR.
    pub fn selection(&self) -> Style {
        if self.mono {
            return Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD);
        }
        Style::default()
            .fg(self.color("selection_fg"))
            .bg(self.color("selection_bg"))
            .add_modifier(Modifier::BOLD)
    }

    /// The header line.
    pub fn header(&self) -> Style {
        if self.mono {
            return Style::default().add_modifier(Modifier::REVERSED);
        }
        Style::default()
            .fg(self.color("header_fg"))
            .bg(self.color("header_bg"))
    }

    /// Block borders.
    pub fn border(&self) -> Style {
        self.fg("border")
    }

    /// Block titles.
    pub fn title(&self) -> Style {
        self.fg("title").add_modifier(Modifier::BOLD)
    }
}

fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

fn parse_color(s: &str) -> Option<Color> {
    match s.trim().to_ascii_lowercase().as_str() {
        "default" | "reset" | "" => Some(Color::Reset),
        other => Color::from_str(other).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse() {
        for (name, text) in BUILTIN {
            let theme = Theme::parse(text, name).unwrap_or_default();
            assert!(!theme.is_mono(), "{name} failed to parse");
        }
    }

    #[test]
    fn bad_key_is_named() {
        let err = Theme::parse("[colors]\naccnet = \"red\"\n", "x.toml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("x.toml") && err.contains("colors.accnet"),
            "{err}"
        );
        let err = Theme::parse("[colors]\naccent = \"purplish\"\n", "y.toml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("y.toml") && err.contains("colors.accent"),
            "{err}"
        );
    }
}
