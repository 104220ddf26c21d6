//! The message window: a text shown whole, wrapped to the window and scrolled with j/k
//! (an error cut short elsewhere, a revealed secret, the first-start message).

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::tone_style;
use crate::console::app::{App, MessageView, message_geometry};
use crate::console::keymap::{self, Action};
use crate::console::text::wrap;

/// Draws `m` centred over `body`.
pub fn draw(app: &App, m: &MessageView, frame: &mut Frame, body: Rect) {
    let theme = app.theme();
    let screen = frame.area();
    let (text_width, rows) = message_geometry(screen.width, screen.height, &m.text);
    let lines = wrap(&m.text, text_width);
    let shown = lines.len().min(rows).max(1);
    let offset = m.scroll.min(lines.len().saturating_sub(rows));
    let width = u16::try_from(text_width + 4)
        .unwrap_or(u16::MAX)
        .min(body.width);
    let height = (shown as u16 + 2).min(body.height);
    let rect = Rect {
        x: body.x + (body.width.saturating_sub(width)) / 2,
        y: body.y + (body.height.saturating_sub(height)) / 2,
        width,
        height,
    };
    let close = keymap::label_of(Action::Dismiss);
    let position = if lines.len() > rows {
        format!(
            " j/k scroll: {}-{} of {}  {close} closes ",
            offset + 1,
            offset + shown,
            lines.len()
        )
    } else {
        format!(" {close} closes ")
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(tone_style(theme, m.tone))
        .title(Span::styled(format!(" {} ", m.title), theme.title()))
        .title_bottom(Line::styled(position, theme.muted()).alignment(Alignment::Right));
    let style = tone_style(theme, m.tone);
    let text: Vec<Line> = lines
        .into_iter()
        .skip(offset)
        .take(shown)
        .map(|l| Line::styled(format!(" {l}"), style))
        .collect();
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(text).block(block), rect);
}
