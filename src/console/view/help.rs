//! The `?` overlay, generated from the keymap table (so read-only mode hides the same keys here
//! as in the footer and the dispatcher).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::console::app::App;
use crate::console::text::wrap;

/// Draws the help popup over `area`: two columns when every description fits in one, else
/// one column whose long descriptions wrap (nothing is cut).
pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let entries = app.help_entries();
    let popup_width = area.width.saturating_sub(4).min(100);
    let key_width = 8;
    let desc_width = |columns: usize| {
        (usize::from(popup_width.saturating_sub(2)) / columns).saturating_sub(key_width + 2)
    };
    let fits_two = entries
        .iter()
        .all(|(_, d)| d.chars().count() <= desc_width(2));
    let columns = if area.width >= 80 && fits_two { 2 } else { 1 };
    let desc_width = desc_width(columns).max(8);
    let lines: Vec<Line> = if columns == 2 {
        let per_column = entries.len().div_ceil(columns);
        (0..per_column)
            .map(|r| {
                let mut spans = Vec::new();
                for c in 0..columns {
                    if let Some((keys, desc)) = entries.get(c * per_column + r) {
                        spans.push(Span::styled(format!(" {keys:<key_width$}"), theme.accent()));
                        spans.push(Span::styled(format!(" {desc:<desc_width$}"), theme.text()));
                    }
                }
                Line::from(spans)
            })
            .collect()
    } else {
        let mut lines = Vec::new();
        for (keys, desc) in &entries {
            for (i, part) in wrap(desc, desc_width).into_iter().enumerate() {
                let keys = if i == 0 { *keys } else { "" };
                lines.push(Line::from(vec![
                    Span::styled(format!(" {keys:<key_width$}"), theme.accent()),
                    Span::styled(format!(" {part}"), theme.text()),
                ]));
            }
        }
        lines
    };
    let height = (lines.len() as u16 + 2).min(area.height);
    let popup = Rect {
        x: area.x + (area.width.saturating_sub(popup_width)) / 2,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width: popup_width,
        height,
    };
    let title = if app.config().readonly {
        " Keys (read-only) — esc closes "
    } else {
        " Keys — esc closes "
    };
    // On short terminals the overlay scrolls (j/k, pgdn/pgup) and says how much is hidden.
    let visible = usize::from(height.saturating_sub(2));
    let total = lines.len();
    let offset = app.help_scroll().min(total.saturating_sub(visible));
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.accent())
        .title(Span::styled(title, theme.title()));
    if total > visible {
        block = block.title_bottom(
            Line::styled(
                format!(
                    " j/k scroll: {}-{} of {total} ",
                    offset + 1,
                    (offset + visible).min(total)
                ),
                theme.muted(),
            )
            .alignment(ratatui::layout::Alignment::Right),
        );
    }
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((u16::try_from(offset).unwrap_or(u16::MAX), 0)),
        popup,
    );
}
