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
        let depth = ColorDepth::detect(
            std::env::var("COLORTERM").ok().as_deref(),
            std::env::var("TERM").ok().as_deref(),
        );
        Ok(Self::resolve(choice, no_color)?.limited_to(depth))
    }

    /// Maps every colour the terminal cannot show to the nearest one it can, so a theme with
    /// `#rrggbb` or 256-colour indexes stays readable on a 16-colour terminal.
    pub fn limited_to(mut self, depth: ColorDepth) -> Self {
        for c in &mut self.colors {
            *c = depth.fit(*c);
        }
        self
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

/// How many colours the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorDepth {
    /// The 16 ANSI colours (the safe default for an unknown terminal).
    Ansi16,
    /// The xterm 256-colour palette.
    Indexed256,
    /// 24-bit colour.
    TrueColor,
}

/// xterm's default RGB values of the 16 ANSI colours, in ratatui's named order.
const ANSI16: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 0, 0)),
    (Color::Green, (0, 205, 0)),
    (Color::Yellow, (205, 205, 0)),
    (Color::Blue, (0, 0, 238)),
    (Color::Magenta, (205, 0, 205)),
    (Color::Cyan, (0, 205, 205)),
    (Color::Gray, (229, 229, 229)),
    (Color::DarkGray, (127, 127, 127)),
    (Color::LightRed, (255, 0, 0)),
    (Color::LightGreen, (0, 255, 0)),
    (Color::LightYellow, (255, 255, 0)),
    (Color::LightBlue, (92, 92, 255)),
    (Color::LightMagenta, (255, 0, 255)),
    (Color::LightCyan, (0, 255, 255)),
    (Color::White, (255, 255, 255)),
];

const CUBE: [u8; 6] = [0, 95, 135, 175, 215, 255];

fn indexed_rgb(n: u8) -> (u8, u8, u8) {
    match n {
        0..16 => ANSI16[usize::from(n)].1,
        16..232 => {
            let i = n - 16;
            (
                CUBE[usize::from(i / 36)],
                CUBE[usize::from(i / 6 % 6)],
                CUBE[usize::from(i % 6)],
            )
        }
        _ => {
            let v = 8 + 10 * (n - 232);
            (v, v, v)
        }
    }
}

fn distance(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let d = |x: u8, y: u8| (i32::from(x) - i32::from(y)).unsigned_abs();
    d(a.0, b.0).pow(2) + d(a.1, b.1).pow(2) + d(a.2, b.2).pow(2)
}

impl ColorDepth {
    /// What the terminal advertises: `COLORTERM=truecolor|24bit`, else a `TERM` with
    /// `256color`, else 16 colours.
    pub fn detect(colorterm: Option<&str>, term: Option<&str>) -> Self {
        let ct = colorterm.unwrap_or("").to_ascii_lowercase();
        if ct == "truecolor" || ct == "24bit" {
            ColorDepth::TrueColor
        } else if term.is_some_and(|t| t.contains("256color") || t.contains("direct")) {
            ColorDepth::Indexed256
        } else {
            ColorDepth::Ansi16
        }
    }

    /// The nearest colour this depth can show.
    pub fn fit(self, c: Color) -> Color {
        let rgb = match c {
            Color::Rgb(r, g, b) => (r, g, b),
            Color::Indexed(n) => indexed_rgb(n),
            named => return named,
        };
        match (self, c) {
            (ColorDepth::TrueColor, _) | (ColorDepth::Indexed256, Color::Indexed(_)) => c,
            (ColorDepth::Indexed256, _) => {
                let best = (16..=255u8)
                    .min_by_key(|n| distance(indexed_rgb(*n), rgb))
                    .unwrap_or(16);
                Color::Indexed(best)
            }
            (ColorDepth::Ansi16, _) => ANSI16
                .iter()
                .min_by_key(|(_, p)| distance(*p, rgb))
                .map_or(Color::Reset, |(named, _)| *named),
        }
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
    fn colour_depth_is_detected_and_colours_fit_it() {
        assert_eq!(
            ColorDepth::detect(Some("truecolor"), Some("xterm")),
            ColorDepth::TrueColor
        );
        assert_eq!(
            ColorDepth::detect(None, Some("screen-256color")),
            ColorDepth::Indexed256
        );
        assert_eq!(ColorDepth::detect(None, Some("linux")), ColorDepth::Ansi16);
        assert_eq!(ColorDepth::detect(None, None), ColorDepth::Ansi16);
        let d16 = ColorDepth::Ansi16;
        assert_eq!(d16.fit(Color::Rgb(250, 10, 5)), Color::LightRed);
        assert_eq!(d16.fit(Color::Indexed(21)), Color::Blue);
        assert_eq!(d16.fit(Color::Indexed(244)), Color::DarkGray);
        assert_eq!(d16.fit(Color::Cyan), Color::Cyan, "named colours stay");
        let d256 = ColorDepth::Indexed256;
        assert_eq!(d256.fit(Color::Rgb(255, 0, 0)), Color::Indexed(196));
        assert_eq!(d256.fit(Color::Indexed(33)), Color::Indexed(33));
        let tc = ColorDepth::TrueColor;
        assert_eq!(tc.fit(Color::Rgb(1, 2, 3)), Color::Rgb(1, 2, 3));
        let theme = Theme::parse("[colors]\naccent = \"#ff8800\"\ntext = \"208\"\n", "t.toml")
            .unwrap_or_default()
            .limited_to(ColorDepth::Ansi16);
        for style in [theme.accent(), theme.text()] {
            assert!(
                !matches!(style.fg, Some(Color::Rgb(..)) | Some(Color::Indexed(_))),
                "{style:?}"
            );
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
