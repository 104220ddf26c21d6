//! The frame around every view: header, tab bar, status line and key-hints footer.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::tone_style;
use crate::console::app::App;
use crate::console::keymap::{self, Action, Mode};
use crate::console::tabs::TABS;
use crate::console::text::{ellipsize, inert};

/// Instance name, breadcrumb, then store, server URL and the RO/RW flag on the right.
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
        if f.dirty {
            crumb.push_str("  [modified]");
        }
    }
    if app.mode() == Mode::Help {
        crumb.push_str(" > Help");
    }
    let flag = if cfg.readonly { "RO" } else { "RW" };
    let width = usize::from(area.width);
    let left_len = " latchkey  ".len() + crumb.chars().count();
    let room = width.saturating_sub(left_len + flag.len() + 6);
    let url = inert(&cfg.server_url);
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
        ellipsize(&url, room)
    };
    let right = format!("{right_mid}  {flag} ");
    let crumb = ellipsize(
        &crumb,
        width.saturating_sub(" latchkey  ".len() + right.chars().count() + 1),
    );
    let pad =
        width.saturating_sub(" latchkey  ".len() + crumb.chars().count() + right.chars().count());
    let line = Line::from(vec![
        Span::styled(
            " latchkey  ",
            theme.header().add_modifier(ratatui::style::Modifier::BOLD),
        ),
        Span::styled(crumb, theme.header()),
        Span::styled(" ".repeat(pad), theme.header()),
        Span::styled(right, theme.header()),
    ]);
    frame.render_widget(Paragraph::new(line).style(theme.header()), area);
}

/// Every tab when it fits (full names, then short ones); otherwise a window around the active
/// tab with `<<`/`>>`; below 80 columns only the active tab between `<` and `>`.
pub fn tab_bar(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let width = usize::from(area.width);
    let label = |i: usize, short: bool| {
        let t = &TABS[i];
        let name = if short { t.short } else { t.name };
        match t.hotkey {
            Some(k) => format!("{k} {name}"),
            None => name.to_string(),
        }
    };
    let total = |short: bool, sep: usize| -> usize {
        (0..TABS.len())
            .map(|i| label(i, short).chars().count())
            .sum::<usize>()
            + sep * (TABS.len() - 1)
            + 1
    };
    let active = app.tab_index();
    let style_for = |i: usize| {
        if i == active {
            theme.selection()
        } else {
            theme.muted()
        }
    };
    let mut spans = vec![Span::raw(" ")];
    if width < 80 {
        spans.push(Span::styled("< ", theme.muted()));
        spans.push(Span::styled(label(active, false), theme.selection()));
        spans.push(Span::styled(
            format!(" ({}/{}) >", active + 1, TABS.len()),
            theme.muted(),
        ));
    } else {
        let (short, sep) = if total(false, 2) <= width {
            (false, 2)
        } else if total(false, 1) <= width {
            (false, 1)
        } else {
            (true, 2)
        };
        if total(short, sep) <= width {
            for i in 0..TABS.len() {
                if i > 0 {
                    spans.push(Span::raw(" ".repeat(sep)));
                }
                spans.push(Span::styled(label(i, short), style_for(i)));
            }
        } else {
            // A window of tabs that contains the active one, leaving room for the markers.
            let budget = width.saturating_sub(1 + 4);
            let mut start = 0;
            loop {
                let mut used = 0;
                let mut end = start;
                while end < TABS.len() {
                    let w = label(end, true).chars().count() + if end > start { 2 } else { 0 };
                    if used + w > budget {
                        break;
                    }
                    used += w;
                    end += 1;
                }
                if active < end || start >= active {
                    if start > 0 {
                        spans.push(Span::styled("<< ", theme.muted()));
                    }
                    for i in start..end {
                        if i > start {
                            spans.push(Span::raw("  "));
                        }
                        spans.push(Span::styled(label(i, true), style_for(i)));
                    }
                    if end < TABS.len() {
                        spans.push(Span::styled("  >>", theme.muted()));
                    }
                    break;
                }
                start += 1;
            }
        }
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
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
                format!(" {}: {yes} saves anyway, any other key goes back", inert(w)),
                theme.warn(),
            )
        } else if f.saving {
            Line::styled(" saving…", theme.muted())
        } else if let Some(s) = app.status() {
            Line::from(Span::styled(
                format!(" {}", s.text),
                tone_style(theme, s.tone),
            ))
        } else {
            let help = f.focused().map_or("", |x| x.spec.help);
            Line::styled(
                format!(
                    " {}",
                    ellipsize(help, usize::from(area.width).saturating_sub(2))
                ),
                theme.muted(),
            )
        }
    } else if let Some(s) = app.status() {
        Line::from(Span::styled(
            format!(" {}", s.text),
            tone_style(theme, s.tone),
        ))
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

/// Key hints generated from the keymap table; 4 verbs below 80 columns.
pub fn footer(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let max = if area.width < 80 { 4 } else { usize::MAX };
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (keys, verb) in app.hints().into_iter().take(max) {
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
