//! The one form widget's drawing: any kind's fields as label + value rows (see [`field`]),
//! the invalid count in the bottom border, the Ctrl-F search line and the banner, scrolled so
//! the focused field is in view, and the open picker over it.

use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{field, popup};
use crate::console::app::App;
use crate::console::form::Form;
use crate::console::keymap::{self, Action};
use crate::console::text::inert;

/// Draws the open form over the body.
pub fn draw(app: &App, form: &Form, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let invalid = form.invalid_count();
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Span::styled(format!(" {} ", form.title), theme.title()));
    if invalid > 0 {
        block = block.title_bottom(
            Line::styled(format!(" {invalid} invalid "), theme.error()).alignment(Alignment::Right),
        );
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut y = inner.y;
    let bottom = inner.y + inner.height;
    if let Some(p) = &form.find {
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(" find: ", theme.accent()),
                Span::styled(format!("{}_", inert(p)), theme.text()),
                Span::styled(
                    format!(
                        "   {} next match, {} close",
                        keymap::label_of(Action::FindNext),
                        keymap::label_of(Action::Cancel)
                    ),
                    theme.muted(),
                ),
            ])),
            Rect {
                height: 1,
                y,
                ..inner
            },
        );
        y += 1;
    }
    if let Some(b) = &form.banner {
        // Long messages (a blueprint's file:line: entry …) wrap onto up to four lines.
        let text = format!(" {}", inert(b));
        let width = usize::from(inner.width.max(1));
        let rows = (text.chars().count().div_ceil(width)).clamp(1, 4) as u16;
        frame.render_widget(
            Paragraph::new(Line::styled(text, theme.error()))
                .wrap(ratatui::widgets::Wrap { trim: false }),
            Rect {
                height: rows.min(bottom.saturating_sub(y)),
                y,
                ..inner
            },
        );
        y += rows;
    }
    // Scroll so the focused field is in view.
    let heights: Vec<u16> = form
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| field::height(f, i == form.focus, inner.width))
        .collect();
    let mut first = 0;
    let room = bottom.saturating_sub(y);
    while first < form.focus && heights[first..=form.focus].iter().sum::<u16>() > room {
        first += 1;
    }
    for (i, f) in form.fields.iter().enumerate().skip(first) {
        let h = heights[i];
        if y + h > bottom {
            break;
        }
        let rect = Rect {
            x: inner.x,
            y,
            width: inner.width,
            height: h,
        };
        field::draw(theme, app.data(), f, i == form.focus, frame, rect);
        y += h;
    }
    if let Some(p) = &form.picker {
        let title = form.fields.get(p.field).map_or("Pick", |f| f.spec.label);
        popup::picker(theme, p, title, &app.hint_line(), frame, area);
    }
}
