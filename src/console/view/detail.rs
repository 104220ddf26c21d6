//! The read-only detail view: one object's fields as `key: value` lines.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::console::app::{AccountSection, App};
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
    let tab = crate::console::tabs::TABS[app.tab_index()].id;
    let height = usize::from(area.height.saturating_sub(2));
    let bindings = app.binding_lines();
    if app.device_access_group_detail().is_some() {
        let title = format!(
            " Policy / Group / User bindings ({}): j/k select, B bind, E edit, X remove",
            bindings.len()
        );
        selectable(app, &mut lines, title, bindings.into_iter().map(|(_, t)| t));
    } else if !bindings.is_empty() || tab == crate::console::tabs::TabId::Flows {
        let (stages, policies) = app.flow_binding_counts(&row.key);
        let title = if policies == 0 {
            format!(
                " Stage bindings ({stages}): j/k select, b bind, B bind policy, E edit, X remove"
            )
        } else {
            format!(
                " Stage bindings ({stages}), policy bindings ({policies}): j/k select, b bind, \
                 B bind policy, E edit, X remove"
            )
        };
        selectable(app, &mut lines, title, bindings.into_iter().map(|(_, t)| t));
    }
    let is_user = app.data().users.iter().any(|u| u.id == row.key);
    if tab == crate::console::tabs::TabId::Users && is_user {
        let sessions = app.session_lines();
        if !sessions.is_empty() {
            scroll = scroll.max(cursor_scroll(lines.len(), app.copy_cursor(), height));
        }
        let title = format!(
            " Sessions ({}): j/k select, R revoke (signs out, revokes its tokens)",
            sessions.len()
        );
        let first = sessions.len();
        selectable(app, &mut lines, title, sessions.into_iter().map(|(_, t)| t));
        account_sections(app, &mut lines, &mut scroll, height, first);
    }
    let copy = app.copy_lines();
    if !copy.is_empty() {
        scroll = scroll.max(cursor_scroll(lines.len(), app.copy_cursor(), height));
        let w = copy
            .iter()
            .map(|c| c.label.chars().count())
            .max()
            .unwrap_or(0);
        let items = copy.iter().map(|c| format!("{:<w$}  {}", c.label, c.shown));
        selectable(
            app,
            &mut lines,
            " URLs and credentials (j/k select, y copy)".into(),
            items,
        );
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

/// The user detail's authenticators, consents and tokens, each a titled section; the detail's
/// one cursor continues from the sessions (`first` is the index of the first line here).
fn account_sections(
    app: &App,
    lines: &mut Vec<Line<'static>>,
    scroll: &mut usize,
    height: usize,
    first: usize,
) {
    let all = app.account_lines();
    let mut index = first;
    for section in AccountSection::ALL {
        let items: Vec<String> = all
            .iter()
            .filter(|l| l.section == section)
            .map(|l| l.text.clone())
            .collect();
        let count = items.len();
        if count == 0 && section == AccountSection::Notification {
            // Only users who received one get the section (most never do).
            continue;
        }
        let cursor = app.copy_cursor();
        if (index..index + count).contains(&cursor) {
            *scroll = (*scroll).max(cursor_scroll(lines.len(), cursor - index, height));
        }
        let title = format!(" {} ({count}): {}", section.title(), section.keys());
        selectable_from(app, lines, title, items.into_iter(), index);
        index += count;
    }
}

/// The scroll that keeps the cursor's line of a section starting after `before` lines in view.
fn cursor_scroll(before: usize, cursor: usize, height: usize) -> usize {
    // A blank line and the section title come before the items.
    (before + 2 + cursor + 1).saturating_sub(height)
}

/// A titled list of the detail's selectable lines (bindings, sessions, URLs), the one under
/// the detail cursor highlighted. Item text is made inert here.
fn selectable(
    app: &App,
    lines: &mut Vec<Line<'static>>,
    title: String,
    items: impl Iterator<Item = String>,
) {
    selectable_from(app, lines, title, items, 0);
}

/// [`selectable`] for a section whose first item is the cursor's `first`.
fn selectable_from(
    app: &App,
    lines: &mut Vec<Line<'static>>,
    title: String,
    items: impl Iterator<Item = String>,
    first: usize,
) {
    let theme = app.theme();
    lines.push(Line::raw(""));
    lines.push(Line::styled(title, theme.accent()));
    for (i, text) in items.enumerate() {
        let selected = first + i == app.copy_cursor();
        let text = format!(
            "{} {}",
            if selected { ">" } else { " " },
            crate::console::text::inert(&text)
        );
        lines.push(Line::styled(
            text,
            if selected {
                theme.selection()
            } else {
                theme.text()
            },
        ));
    }
}
