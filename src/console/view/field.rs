//! One form field on screen: its label, its value (boxed when it spans lines, is a URI list,
//! or is in error, with the error or warning in the box's title), and authentik's help text
//! under it while it is focused.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::console::data::Data;
use crate::console::form::field::{FieldKind, FieldValue};
use crate::console::form::{FieldState, duration_preview};
use crate::console::keymap::{self, Action};
use crate::console::text::{ellipsize, inert};
use crate::console::theme::Theme;
use crate::domain::redirect::RedirectUri;

/// The label column's width.
const LABEL: u16 = 24;
/// The width of a URI row's matching mode (`strict ` / `regex  `).
const MODE: u16 = 7;

/// True when the value is drawn in a box (`width`: the field's row).
fn boxed(f: &FieldState, focused: bool, width: u16) -> bool {
    f.error.is_some()
        || f.spec.kind.is_multiline()
        || f.spec.kind == FieldKind::Uris
        || wrapped_rows(f, focused, width).is_some()
}

/// The rows a revealed secret takes to be read whole while it is not being edited (a client
/// secret is longer than any line): it wraps inside its box. `None` when it is masked, being
/// edited, or fits on its line.
fn wrapped_rows(f: &FieldState, focused: bool, width: u16) -> Option<u16> {
    if focused || !f.revealed || !matches!(f.spec.kind, FieldKind::Secret(_)) {
        return None;
    }
    let line = usize::from(width.saturating_sub(LABEL + 1));
    let chars = f.value.text().chars().count();
    let inside = line.saturating_sub(2).max(1);
    (chars > line).then(|| u16::try_from(chars.div_ceil(inside)).unwrap_or(u16::MAX))
}

/// The rows a field takes in a row `width` wide (the focused one shows more lines and its
/// help; a field that opens a section has its title above it).
pub fn height(f: &FieldState, focused: bool, width: u16) -> u16 {
    u16::from(f.heading.is_some()) + field_height(f, focused, width)
}

/// The rows of the field itself, without its section title.
fn field_height(f: &FieldState, focused: bool, width: u16) -> u16 {
    let body: u16 = match f.spec.kind {
        _ if let Some(rows) = wrapped_rows(f, focused, width) => rows,
        k if k.is_multiline() => {
            let n = f.value.text().lines().count().max(1) as u16;
            n.clamp(1, if focused { 6 } else { 3 })
        }
        FieldKind::Uris => match &f.value {
            FieldValue::Uris(r) => (r.len() as u16).max(1),
            _ => 1,
        },
        _ => 1,
    };
    body + if boxed(f, focused, width) { 2 } else { 0 }
        + u16::from(focused && !f.spec.help.is_empty())
}

/// Draws one field into `rect`.
pub fn draw(
    theme: &Theme,
    data: &Data,
    f: &FieldState,
    focused: bool,
    frame: &mut Frame,
    rect: Rect,
) {
    let rect = match f.heading {
        Some(title) => section_title(theme, title, frame, rect),
        None => rect,
    };
    label(theme, f, focused, frame, rect);
    let help_h = u16::from(focused && !f.spec.help.is_empty());
    let value_rect = Rect {
        x: rect.x + LABEL,
        y: rect.y,
        width: rect.width.saturating_sub(LABEL + 1),
        height: rect.height.saturating_sub(help_h),
    };
    if help_h == 1 {
        frame.render_widget(
            Paragraph::new(Line::styled(
                ellipsize(f.spec.help, usize::from(value_rect.width)),
                theme.muted(),
            )),
            Rect {
                y: rect.y + rect.height - 1,
                height: 1,
                ..value_rect
            },
        );
    }
    let inner = if boxed(f, focused, rect.width) {
        value_box(theme, f, focused, frame, value_rect)
    } else {
        value_rect
    };
    if wrapped_rows(f, focused, rect.width).is_some() {
        wrapped(theme, f.value.text(), frame, inner);
        return;
    }
    match (&f.value, f.spec.kind) {
        (FieldValue::Uris(rows), _) => uri_rows(theme, f, rows, focused, frame, inner),
        (_, kind) if kind.is_text() => text(theme, f, focused, frame, inner),
        (FieldValue::Bool(b), _) => frame.render_widget(
            Paragraph::new(Line::styled(if *b { "[x]" } else { "[ ]" }, theme.text())),
            inner,
        ),
        (FieldValue::One(v), _) => one(theme, data, f, v.as_deref(), frame, inner),
        (FieldValue::Many(ids), _) => many(theme, data, f, ids, frame, inner),
        _ => {}
    }
}

/// A revealed secret, whole: cut into lines as wide as `inner`.
fn wrapped(theme: &Theme, text: &str, frame: &mut Frame, inner: Rect) {
    let chars: Vec<char> = inert(text).chars().collect();
    let lines: Vec<Line> = chars
        .chunks(usize::from(inner.width.max(1)))
        .map(|c| Line::styled(c.iter().collect::<String>(), theme.text()))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A section's title on the first row of `rect` (`── Protocol settings ──…`); returns the
/// rows under it.
fn section_title(theme: &Theme, title: &str, frame: &mut Frame, rect: Rect) -> Rect {
    let width = usize::from(rect.width);
    let head = format!("── {title} ");
    let rule = "─".repeat(width.saturating_sub(head.chars().count()));
    frame.render_widget(
        Paragraph::new(Line::styled(
            ellipsize(&format!("{head}{rule}"), width),
            theme.muted(),
        )),
        Rect { height: 1, ..rect },
    );
    Rect {
        y: rect.y + 1,
        height: rect.height.saturating_sub(1),
        ..rect
    }
}

/// `> Label *`: the marker on the focused field, the star on required ones.
fn label(theme: &Theme, f: &FieldState, focused: bool, frame: &mut Frame, rect: Rect) {
    let req = if f.spec.required { " *" } else { "" };
    let marker = if focused { ">" } else { " " };
    let label = format!("{marker} {}{req}", f.spec.label);
    let style = if focused {
        theme.accent()
    } else {
        theme.text()
    };
    frame.render_widget(
        Paragraph::new(Line::styled(
            ellipsize(&label, usize::from(LABEL - 1)),
            style,
        )),
        Rect {
            width: LABEL.min(rect.width),
            height: 1,
            ..rect
        },
    );
}

/// The value's box, titled with its error or warning; returns the room inside it.
fn value_box(theme: &Theme, f: &FieldState, focused: bool, frame: &mut Frame, area: Rect) -> Rect {
    let title_width = usize::from(area.width.saturating_sub(2));
    let mut b = Block::default().borders(Borders::ALL);
    if let Some(e) = &f.error {
        b = b.border_style(theme.error()).title(Span::styled(
            ellipsize(&format!(" ERROR: {} ", inert(e)), title_width),
            theme.error(),
        ));
    } else if let Some(w) = &f.warning {
        b = b.border_style(theme.warn()).title(Span::styled(
            ellipsize(&format!(" WARNING: {} ", inert(w)), title_width),
            theme.warn(),
        ));
    } else {
        b = b.border_style(if focused {
            theme.accent()
        } else {
            theme.border()
        });
    }
    let inner = b.inner(area);
    frame.render_widget(b, area);
    inner
}

/// A redirect URI list: one `mode url` line per row, the selected row in the editor.
fn uri_rows(
    theme: &Theme,
    f: &FieldState,
    rows: &[RedirectUri],
    focused: bool,
    frame: &mut Frame,
    inner: Rect,
) {
    if rows.is_empty() {
        let empty = format!(
            "(none: type a URL, {} adds a row)",
            keymap::label_of(Action::AddRow)
        );
        frame.render_widget(Paragraph::new(Line::styled(empty, theme.muted())), inner);
    }
    for (i, r) in rows.iter().enumerate() {
        let y = inner.y + i as u16;
        if y >= inner.y + inner.height {
            break;
        }
        let row = Rect {
            y,
            height: 1,
            ..inner
        };
        let mode = format!("{:<7}", r.matching_mode.as_str());
        frame.render_widget(
            Paragraph::new(Line::styled(mode, theme.muted())),
            Rect {
                width: MODE.min(row.width),
                ..row
            },
        );
        let url_rect = Rect {
            x: row.x + MODE,
            width: row.width.saturating_sub(MODE),
            ..row
        };
        if focused && i == f.row {
            if let Some(ed) = &f.editor {
                frame.render_widget(ed, url_rect);
            }
        } else {
            frame.render_widget(
                Paragraph::new(Line::styled(inert(&r.url), theme.text())),
                url_rect,
            );
        }
    }
}

/// A text value: the editor when focused, else the text (secrets as dots), and a
/// duration's "= 1h 2m" after it.
fn text(theme: &Theme, f: &FieldState, focused: bool, frame: &mut Frame, inner: Rect) {
    let kind = f.spec.kind;
    if focused && let Some(ed) = &f.editor {
        frame.render_widget(ed, inner);
    } else {
        let text = f.value.text();
        let shown = if matches!(kind, FieldKind::Secret(_)) && !f.revealed {
            if text.is_empty() {
                String::new()
            } else {
                "•".repeat(text.chars().count().min(24))
            }
        } else {
            inert(text)
        };
        let lines: Vec<Line> = shown
            .lines()
            .map(|l| Line::styled(l.to_string(), theme.text()))
            .collect();
        frame.render_widget(Paragraph::new(lines), inner);
    }
    if kind == FieldKind::Duration
        && let Some(p) = duration_preview(f.value.text())
    {
        let len = f.value.text().chars().count() as u16 + 2;
        if len + 2 < inner.width {
            frame.render_widget(
                Paragraph::new(Line::styled(p, theme.muted())),
                Rect {
                    x: inner.x + len,
                    width: inner.width - len,
                    height: 1,
                    ..inner
                },
            );
        }
    }
}

/// A select: `< chosen name  v >` (names, not ids).
fn one(
    theme: &Theme,
    data: &Data,
    f: &FieldState,
    v: Option<&str>,
    frame: &mut Frame,
    inner: Rect,
) {
    let choices = (f.spec.choices)(data);
    let label = match v {
        Some(id) => choices
            .iter()
            .find(|c| c.id == id)
            .map_or_else(|| format!("(missing {id})"), |c| c.label.clone()),
        None => "(none)".into(),
    };
    let w = usize::from(inner.width.saturating_sub(6));
    let text = format!("< {:<w$} v >", ellipsize(&inert(&label), w));
    frame.render_widget(Paragraph::new(Line::styled(text, theme.text())), inner);
}

/// A multi-select: how many are chosen, and their names.
fn many(
    theme: &Theme,
    data: &Data,
    f: &FieldState,
    ids: &[String],
    frame: &mut Frame,
    inner: Rect,
) {
    let choices = (f.spec.choices)(data);
    let names: Vec<String> = ids
        .iter()
        .map(|id| {
            choices
                .iter()
                .find(|c| c.id == *id)
                .map_or_else(|| id.clone(), |c| c.label.clone())
        })
        .collect();
    let text = if names.is_empty() {
        "(none)".to_string()
    } else {
        format!("{}: {}", names.len(), names.join(", "))
    };
    frame.render_widget(
        Paragraph::new(Line::styled(
            ellipsize(&inert(&text), usize::from(inner.width)),
            theme.text(),
        )),
        inner,
    );
}
