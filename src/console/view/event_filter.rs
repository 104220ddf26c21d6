//! The Events tab's audit filter popup: one line per field of `FILTER_FIELDS`, the focused
//! one's hint under them, why the last Enter was refused, and the keys (from the keymap).

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::console::app::{App, EventFilterForm, FILTER_FIELDS};
use crate::console::text::{ellipsize, inert};

/// Draws the popup centred over `area`.
pub fn draw(app: &App, f: &EventFilterForm, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let label_width = FILTER_FIELDS
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let width = area.width.saturating_sub(4).min(72);
    let value_width = usize::from(width).saturating_sub(label_width + 6).max(4);
    let mut lines: Vec<Line> = FILTER_FIELDS
        .iter()
        .zip(&f.values)
        .enumerate()
        .map(|(i, ((label, _), value))| {
            let focused = i == f.focus;
            // The end of a long value stays in view while it is typed.
            let shown: String = {
                let v = inert(value);
                let n = v.chars().count();
                let room = value_width.saturating_sub(1);
                if focused && n > room {
                    v.chars().skip(n - room).collect()
                } else {
                    ellipsize(&v, value_width)
                }
            };
            let mut spans = vec![
                Span::styled(
                    format!(
                        " {}{label:<label_width$}  ",
                        if focused { ">" } else { " " }
                    ),
                    if focused {
                        theme.accent()
                    } else {
                        theme.muted()
                    },
                ),
                Span::styled(shown, theme.text()),
            ];
            if focused {
                spans.push(Span::styled("_", theme.accent()));
            }
            Line::from(spans)
        })
        .collect();
    lines.push(Line::raw(""));
    let hint = FILTER_FIELDS.get(f.focus).map_or("", |(_, h)| h);
    lines.push(Line::styled(format!(" {hint}"), theme.muted()));
    if let Some(e) = &f.error {
        lines.push(Line::styled(format!(" {}", inert(e)), theme.error()));
    }
    let height = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect {
        x: area.x + (area.width.saturating_sub(width)) / 2,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.accent())
        .title(Span::styled(
            " Filter events (read from the store) ",
            theme.title(),
        ))
        .title_bottom(
            Line::styled(format!(" {} ", app.hint_line()), theme.muted())
                .alignment(Alignment::Right),
        );
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}
