//! The frame around every view: header, tab bar, status line and key-hints footer.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::tone_style;
use crate::console::app::{App, ServerMode};
use crate::console::keymap::{self, Action, Mode};
use crate::console::tabs::{TABS, Tone};
use crate::console::text::{ellipsize, inert};
use crate::context::Health;

/// The breadcrumb's share of a narrow header before the URL is cut.
const CRUMB_MIN: usize = 24;

/// Instance name, breadcrumb, then store, the server's URL and health, and the RO/RW flag on
/// the right.
pub fn header(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let cfg = app.config();
    let mut crumb = TABS[app.tab_index()].name.to_string();
    if let (Mode::Detail, Some(row)) = (app.mode(), app.detail()) {
        crumb.push_str(" > ");
        crumb.push_str(row.title());
    }
    if let Some(f) = app.form() {
        crumb.push_str(" > ");
        crumb.push_str(&f.title);
    }
    let marker = match app.form() {
        Some(f) if f.dirty => "  [modified]",
        _ => "",
    };
    if app.mode() == Mode::Help {
        crumb.push_str(" > Help");
    }
    let flag = if cfg.readonly { "RO" } else { "RW" };
    let (health, health_tone) = server_health(app);
    let health_len = health.chars().count();
    let width = usize::from(area.width);
    let crumb_len = crumb.chars().count() + marker.len();
    let left_len = " latchkey  ".len() + crumb_len;
    let room = width.saturating_sub(left_len + flag.len() + 6 + health_len);
    // The server's URL comes before a long breadcrumb (a form's title): the crumb keeps at
    // least CRUMB_MIN characters and is cut to what the URL leaves; the store path only
    // shows in what is left beside the whole crumb.
    let url_room = width.saturating_sub(
        " latchkey  ".len() + crumb_len.min(CRUMB_MIN) + flag.len() + 6 + health_len,
    );
    let url = match app.server_url() {
        u if u.is_empty() => "no server".to_string(),
        u => inert(&u),
    };
    let store = inert(&cfg.store_path);
    let right_mid = if url.chars().count() + store.chars().count() + 2 <= room {
        format!("{store}  {url}")
    } else if url.chars().count() < room {
        let store_room = room.saturating_sub(url.chars().count() + 2);
        if store_room > 4 {
            format!("{}  {url}", ellipsize(&store, store_room))
        } else {
            url
        }
    } else {
        ellipsize(&url, url_room)
    };
    let right_len = right_mid.chars().count() + health_len + 2 + flag.len() + 1;
    // A long title is cut, never the "[modified]" mark after it.
    let crumb_room = width.saturating_sub(" latchkey  ".len() + right_len + 1);
    let crumb = ellipsize(&crumb, crumb_room.saturating_sub(marker.len())) + marker;
    let pad = width.saturating_sub(" latchkey  ".len() + crumb.chars().count() + right_len);
    let line = Line::from(vec![
        Span::styled(
            " latchkey  ",
            theme.header().add_modifier(ratatui::style::Modifier::BOLD),
        ),
        Span::styled(crumb, theme.header()),
        Span::styled(" ".repeat(pad), theme.header()),
        Span::styled(right_mid, theme.header()),
        Span::styled(health, theme.header().patch(tone_style(theme, health_tone))),
        Span::styled(format!("  {flag} "), theme.header()),
    ]);
    frame.render_widget(Paragraph::new(line).style(theme.header()), area);
}

/// What the header says after the URL: ` live`, ` stale 2m`, ` +1` for more live servers,
/// or nothing when no server recorded itself (a console started with the server in-process
/// before its first read, or a test).
fn server_health(app: &App) -> (String, Tone) {
    let Some(primary) = app.primary_instance() else {
        return match app.server_mode() {
            ServerMode::Elsewhere if app.instances_read() => {
                ("  (not running)".into(), Tone::Error)
            }
            _ => (String::new(), Tone::Normal),
        };
    };
    let others = app
        .instances()
        .iter()
        .filter(|i| i.is_live() && i.id != primary.id)
        .count();
    let more = if others > 0 {
        format!(" +{others}")
    } else {
        String::new()
    };
    match primary.health {
        Health::Live => (format!(" live{more}"), Tone::Ok),
        Health::Stale => (
            format!(" stale {}{more}", age(primary.heartbeat_age)),
            Tone::Warn,
        ),
    }
}

/// Seconds as "40s", "12m", "5h" or "3d".
fn age(secs: i64) -> String {
    match secs.max(0) {
        s @ 0..60 => format!("{s}s"),
        s @ 60..3600 => format!("{}m", s / 60),
        s @ 3600..86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// How the tab bar names the tabs, widest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// Every tab's full name.
    Full,
    /// Full names for the tabs with a digit, short ones for the others (Devices, Events):
    /// what fits 120 columns.
    FullWithDigits,
    /// Every tab's short name (fits 80 columns).
    Short,
}

/// Every tab, named: full names when they fit, then full names for the tabs with a digit,
/// then short ones (which fit 80 columns), with two spaces between them, or one where two do
/// not fit. Below 80 columns only the active tab between `<` and `>`.
pub fn tab_bar(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let width = usize::from(area.width);
    let active = app.tab_index();
    let style_for = |i: usize| {
        if i == active {
            theme.selection()
        } else {
            theme.muted()
        }
    };
    let mut spans = vec![Span::raw(" ")];
    let fits = [Naming::Full, Naming::FullWithDigits, Naming::Short]
        .into_iter()
        .flat_map(|n| [(n, 2), (n, 1)])
        .find(|&(naming, sep)| width >= 80 && tab_bar_width(naming, sep) <= width);
    match fits {
        Some((naming, sep)) => {
            for i in 0..TABS.len() {
                if i > 0 {
                    spans.push(Span::raw(" ".repeat(sep)));
                }
                spans.push(Span::styled(tab_label(i, naming), style_for(i)));
            }
        }
        None => {
            spans.push(Span::styled("< ", theme.muted()));
            spans.push(Span::styled(
                tab_label(active, Naming::Full),
                theme.selection(),
            ));
            spans.push(Span::styled(
                format!(" ({}/{}) >", active + 1, TABS.len()),
                theme.muted(),
            ));
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A tab's label in the bar: its hotkey and its full or short name.
fn tab_label(i: usize, naming: Naming) -> String {
    let t = &TABS[i];
    let short = match naming {
        Naming::Full => false,
        Naming::FullWithDigits => t.hotkey.is_none(),
        Naming::Short => true,
    };
    let name = if short { t.short } else { t.name };
    match t.hotkey {
        Some(k) => format!("{k} {name}"),
        None => name.to_string(),
    }
}

/// The columns the whole tab bar takes (with its leading space).
pub fn tab_bar_width(naming: Naming, sep: usize) -> usize {
    (0..TABS.len())
        .map(|i| tab_label(i, naming).chars().count())
        .sum::<usize>()
        + sep * (TABS.len() - 1)
        + 1
}

/// The toast, the filter prompt, or the tab's one-line description.
pub fn status(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let line = if app.mode() == Mode::Filter {
        Line::from(vec![
            Span::styled(" filter: ", theme.accent()),
            Span::styled(inert(app.filter()), theme.text()),
            Span::styled("_", theme.accent()),
            Span::styled("   (text, !not, a|b)", theme.muted()),
        ])
    } else if app.mode() == Mode::Command {
        let hint = app
            .completions()
            .into_iter()
            .take(6)
            .collect::<Vec<_>>()
            .join("  ");
        Line::from(vec![
            Span::styled(" :", theme.accent()),
            Span::styled(inert(app.command()), theme.text()),
            Span::styled("_", theme.accent()),
            Span::styled(format!("   {}", inert(&hint)), theme.muted()),
        ])
    } else if let Some(f) = app.form() {
        let yes = keymap::label_of(Action::Yes);
        if f.confirm_discard {
            Line::styled(
                format!(" drop your edits? {yes} drops them, any other key keeps editing"),
                theme.warn(),
            )
        } else if let Some(w) = &f.confirm_warnings {
            Line::styled(
                fitted(
                    &format!("{}: {yes} saves anyway, any other key goes back", inert(w)),
                    area.width,
                ),
                theme.warn(),
            )
        } else if f.saving {
            Line::styled(" saving…", theme.muted())
        } else if let Some(s) = app.status() {
            Line::styled(fitted(&s.text, area.width), tone_style(theme, s.tone))
        } else {
            let help = f.focused().map_or("", |x| x.spec.help);
            Line::styled(fitted(help, area.width), theme.muted())
        }
    } else if let Some(s) = app.status() {
        Line::styled(fitted(&s.text, area.width), tone_style(theme, s.tone))
    } else if !app.is_loaded() {
        Line::from(Span::styled(" loading…", theme.muted()))
    } else {
        Line::from(Span::styled(
            format!(" {}", TABS[app.tab_index()].description),
            theme.muted(),
        ))
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// One status line's text: whole when it fits, else cut with the key that reads it whole.
fn fitted(text: &str, width: u16) -> String {
    let room = usize::from(width).saturating_sub(2);
    if text.chars().count() <= room {
        return format!(" {text}");
    }
    let more = format!(" ({} reads all)", keymap::label_of(Action::ReadMessage));
    format!(
        " {}{more}",
        ellipsize(text, room.saturating_sub(more.chars().count()))
    )
}

/// Key hints generated from the keymap table; 4 verbs below 80 columns. When they do not all
/// fit, the ones not marked essential go first, so back, help and quit always show.
pub fn footer(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let max = if area.width < 80 { 4 } else { usize::MAX };
    let essential = app.essential_hints();
    let mut hints: Vec<(&str, &str)> = app.hints().into_iter().take(max).collect();
    let width = |h: &[(&str, &str)]| {
        1 + h
            .iter()
            .map(|(k, v)| k.chars().count() + v.chars().count() + 3)
            .sum::<usize>()
    };
    while width(&hints) > usize::from(area.width) {
        match hints.iter().rposition(|h| !essential.contains(h)) {
            Some(i) => {
                hints.remove(i);
            }
            None => break,
        }
    }
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (keys, verb) in hints {
        let w = keys.chars().count() + verb.chars().count() + 3;
        if used + w > usize::from(area.width) {
            break;
        }
        spans.push(Span::styled(keys, theme.accent()));
        spans.push(Span::styled(format!(" {verb}  "), theme.muted()));
        used += w;
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tab_is_named_at_80_columns() {
        assert!(
            tab_bar_width(Naming::Short, 1) <= 80,
            "short labels take {} columns",
            tab_bar_width(Naming::Short, 1)
        );
        assert!(
            tab_bar_width(Naming::FullWithDigits, 1) <= 120,
            "the digits' tabs are named in full at 120 columns"
        );
        for t in TABS {
            assert!(!t.short.is_empty(), "{} has a short name", t.name);
        }
    }

    #[test]
    fn ages_are_short() {
        assert_eq!(
            [age(5), age(120), age(7200), age(200_000)],
            ["5s", "2m", "2h", "2d"]
        );
    }
}
