//! The read-only detail view: one object's fields as `key: value` lines.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::console::app::App;
use crate::console::tabs::{ListRow, TABS};

/// Draws `row`'s fields, scrolled by the app's detail scroll.
pub fn draw(app: &App, row: &ListRow, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let key_width = row
        .detail
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    // Values wrap under themselves, not under the keys, so long fingerprints stay readable.
    let value_width = usize::from(area.width.saturating_sub(2))
        .saturating_sub(key_width + 3)
        .max(8);
    let mut lines: Vec<Line> = Vec::new();
    for (k, v) in row.detail.iter() {
        let chars: Vec<char> = v.chars().collect();
        let mut chunks = chars
            .chunks(value_width)
            .map(|c| c.iter().collect::<String>());
        let first = chunks.next().unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(format!(" {k:<key_width$}  "), theme.muted()),
            Span::styled(first, theme.text()),
        ]));
        for more in chunks {
            lines.push(Line::from(vec![
                Span::raw(" ".repeat(key_width + 3)),
                Span::styled(more, theme.text()),
            ]));
        }
    }
    // Wrapped lines make the scroll a line offset: the scrolled fields' lines, or more so the
    // selected copy line stays in view.
    let mut scroll: usize = row
        .detail
        .iter()
        .take(app.detail_scroll())
        .map(|(_, v)| v.chars().count().div_ceil(value_width).max(1))
        .sum();
    let bindings = app.binding_lines();
    if !bindings.is_empty()
        || crate::console::tabs::TABS[app.tab_index()].id == crate::console::tabs::TabId::Flows
    {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!(
                " Stage bindings ({}): j/k select, b bind, E edit, X remove",
                bindings.len()
            ),
            theme.accent(),
        ));
        for (i, (_, text)) in bindings.iter().enumerate() {
            let marker = if i == app.copy_cursor() { ">" } else { " " };
            let text = format!("{marker} {}", crate::console::text::inert(text));
            lines.push(if i == app.copy_cursor() {
                Line::styled(text, theme.selection())
            } else {
                Line::styled(text, theme.text())
            });
        }
    }
    let is_user = app.data().users.iter().any(|u| u.id == row.key);
    if crate::console::tabs::TABS[app.tab_index()].id == crate::console::tabs::TabId::Users
        && is_user
    {
        let sessions = app.session_lines();
        if !sessions.is_empty() {
            let cursor_line = lines.len() + 2 + app.copy_cursor();
            let height = usize::from(area.height.saturating_sub(2));
            scroll = scroll.max((cursor_line + 1).saturating_sub(height));
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!(
                " Sessions ({}): j/k select, R revoke (signs out, revokes its tokens)",
                sessions.len()
            ),
            theme.accent(),
        ));
        for (i, (_, text)) in sessions.iter().enumerate() {
            let marker = if i == app.copy_cursor() { ">" } else { " " };
            let text = format!("{marker} {}", crate::console::text::inert(text));
            lines.push(if i == app.copy_cursor() {
                Line::styled(text, theme.selection())
            } else {
                Line::styled(text, theme.text())
            });
        }
    }
    let copy = app.copy_lines();
    if !copy.is_empty() {
        let cursor_line = lines.len() + 2 + app.copy_cursor();
        let height = usize::from(area.height.saturating_sub(2));
        scroll = scroll.max((cursor_line + 1).saturating_sub(height));
        let w = copy
            .iter()
            .map(|c| c.label.chars().count())
            .max()
            .unwrap_or(0);
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            " URLs and credentials (j/k select, y copy)",
            theme.accent(),
        ));
        for (i, c) in copy.iter().enumerate() {
            let marker = if i == app.copy_cursor() { ">" } else { " " };
            let text = format!(
                "{marker} {:<w$}  {}",
                c.label,
                crate::console::text::inert(&c.shown)
            );
            lines.push(if i == app.copy_cursor() {
                Line::styled(text, theme.selection())
            } else {
                Line::styled(text, theme.text())
            });
        }
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Span::styled(
            format!(" {} > {} ", TABS[app.tab_index()].name, row.title()),
            theme.title(),
        ));
    let lines: Vec<Line> = lines.into_iter().skip(scroll).collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
