//! The `?` overlay, generated from the keymap table (so read-only mode hides the same keys here
//! as in the footer and the dispatcher).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::console::app::App;

/// Draws the help popup over `area`, in two columns when there is room.
pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let entries = app.help_entries();
    let columns = if area.width >= 80 { 2 } else { 1 };
    let per_column = entries.len().div_ceil(columns);
    let popup_width = area.width.saturating_sub(4).min(100);
    let col_width = usize::from(popup_width.saturating_sub(2)) / columns;
    let key_width = 8;
    let lines: Vec<Line> = (0..per_column)
        .map(|r| {
            let mut spans = Vec::new();
            for c in 0..columns {
                if let Some((keys, desc)) = entries.get(c * per_column + r) {
                    let desc_width = col_width.saturating_sub(key_width + 2);
                    let desc: String = desc.chars().take(desc_width).collect();
                    spans.push(Span::styled(format!(" {keys:<key_width$}"), theme.accent()));
                    spans.push(Span::styled(format!(" {desc:<desc_width$}"), theme.text()));
                }
            }
            Line::from(spans)
        })
        .collect();
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
