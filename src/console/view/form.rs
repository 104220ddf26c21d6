//! The one form widget's drawing: any kind's fields as label + value rows, errors at the field
//! (a red box titled `ERROR: …`), the invalid count in the bottom border, and popups for
//! pickers, the type chooser and the delete dialog.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::console::app::App;
use crate::console::data::Data;
use crate::console::dialog::{DeleteDialog, ImportDialog};
use crate::console::form::field::{FieldKind, FieldValue};
use crate::console::form::picker::Picker;
use crate::console::form::{FieldState, Form, duration_preview};
use crate::console::keymap::{self, Action};
use crate::console::text::{ellipsize, inert};
use crate::console::theme::Theme;
use crate::service::usages::OnDelete;

const LABEL: u16 = 24;

fn height(f: &FieldState, focused: bool) -> u16 {
    let body: u16 = match f.spec.kind {
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
    let boxed = f.error.is_some() || f.spec.kind.is_multiline() || f.spec.kind == FieldKind::Uris;
    body + if boxed { 2 } else { 0 } + u16::from(focused && !f.spec.help.is_empty())
}

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
        .map(|(i, f)| height(f, i == form.focus))
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
        field(theme, app.data(), f, i == form.focus, frame, rect);
        y += h;
    }
    if let Some(p) = &form.picker {
        let title = form.fields.get(p.field).map_or("Pick", |f| f.spec.label);
        picker(theme, p, title, &app.hint_line(), frame, area);
    }
}

fn field(theme: &Theme, data: &Data, f: &FieldState, focused: bool, frame: &mut Frame, rect: Rect) {
    let req = if f.spec.required { " *" } else { "" };
    let marker = if focused { ">" } else { " " };
    let label = format!("{marker} {}{req}", f.spec.label);
    let label_style = if focused {
        theme.accent()
    } else {
        theme.text()
    };
    frame.render_widget(
        Paragraph::new(Line::styled(
            ellipsize(&label, usize::from(LABEL - 1)),
            label_style,
        )),
        Rect {
            width: LABEL.min(rect.width),
            height: 1,
            ..rect
        },
    );
    let help_h = u16::from(focused && !f.spec.help.is_empty());
    let value_rect = Rect {
        x: rect.x + LABEL,
        y: rect.y,
        width: rect.width.saturating_sub(LABEL + 1),
        height: rect.height - help_h,
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
    let boxed = f.error.is_some() || f.spec.kind.is_multiline() || f.spec.kind == FieldKind::Uris;
    let inner = if boxed {
        let mut b = Block::default().borders(Borders::ALL);
        if let Some(e) = &f.error {
            b = b.border_style(theme.error()).title(Span::styled(
                ellipsize(
                    &format!(" ERROR: {} ", inert(e)),
                    usize::from(value_rect.width.saturating_sub(2)),
                ),
                theme.error(),
            ));
        } else if let Some(w) = &f.warning {
            b = b.border_style(theme.warn()).title(Span::styled(
                ellipsize(
                    &format!(" WARNING: {} ", inert(w)),
                    usize::from(value_rect.width.saturating_sub(2)),
                ),
                theme.warn(),
            ));
        } else {
            b = b.border_style(if focused {
                theme.accent()
            } else {
                theme.border()
            });
        }
        let inner = b.inner(value_rect);
        frame.render_widget(b, value_rect);
        inner
    } else {
        value_rect
    };
    match (&f.value, f.spec.kind) {
        (FieldValue::Uris(rows), _) => {
            if rows.is_empty() {
                frame.render_widget(
                    Paragraph::new(Line::styled(
                        format!(
                            "(none: type a URL, {} adds a row)",
                            keymap::label_of(Action::AddRow)
                        ),
                        theme.muted(),
                    )),
                    inner,
                );
            }
            for (i, r) in rows.iter().enumerate() {
                let y = inner.y + i as u16;
                if y >= inner.y + inner.height {
                    break;
                }
                let mode = format!("{:<7}", r.matching_mode.as_str());
                let row = Rect {
                    y,
                    height: 1,
                    ..inner
                };
                frame.render_widget(
                    Paragraph::new(Line::styled(mode, theme.muted())),
                    Rect {
                        width: 7.min(row.width),
                        ..row
                    },
                );
                let url_rect = Rect {
                    x: row.x + 7,
                    width: row.width.saturating_sub(7),
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
        (_, kind) if kind.is_text() => {
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
        (FieldValue::Bool(b), _) => {
            frame.render_widget(
                Paragraph::new(Line::styled(if *b { "[x]" } else { "[ ]" }, theme.text())),
                inner,
            );
        }
        (FieldValue::One(v), _) => {
            let choices = (f.spec.choices)(data);
            let label = match v {
                Some(id) => choices
                    .iter()
                    .find(|c| c.id == *id)
                    .map_or_else(|| format!("(missing {id})"), |c| c.label.clone()),
                None => "(none)".into(),
            };
            let w = usize::from(inner.width.saturating_sub(6));
            let text = format!("< {:<w$} v >", ellipsize(&inert(&label), w));
            frame.render_widget(Paragraph::new(Line::styled(text, theme.text())), inner);
        }
        (FieldValue::Many(ids), _) => {
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
        _ => {}
    }
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Draws a picker (or checklist) popup; `keys` is its line of key hints.
pub fn picker(theme: &Theme, p: &Picker, title: &str, keys: &str, frame: &mut Frame, area: Rect) {
    let visible = p.visible();
    let h = (visible.len() as u16 + 4).clamp(6, area.height.saturating_sub(2));
    let rect = centered(area, area.width.saturating_sub(8).min(64), h);
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.accent())
        .title(Span::styled(format!(" {title} "), theme.title()))
        .title_bottom(
            Line::styled(
                if p.multi {
                    format!(" {keys} ")
                } else {
                    format!(" type to filter  {keys} ")
                },
                theme.muted(),
            )
            .alignment(Alignment::Right),
        );
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [q, list] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" filter: ", theme.muted()),
            Span::styled(inert(&p.query), theme.text()),
            Span::styled("_", theme.accent()),
        ])),
        q,
    );
    let rows = usize::from(list.height);
    let start = p.selected.saturating_sub(rows.saturating_sub(1));
    let lines: Vec<Line> = visible
        .iter()
        .enumerate()
        .skip(start)
        .take(rows)
        .map(|(i, c)| {
            let tick = if p.multi {
                if p.checked.contains(&c.id) {
                    "[x] "
                } else {
                    "[ ] "
                }
            } else {
                ""
            };
            let text = format!(" {tick}{}", inert(&c.label));
            if i == p.selected {
                Line::styled(text, theme.selection())
            } else {
                Line::styled(text, theme.text())
            }
        })
        .collect();
    if lines.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled(" no match", theme.muted())),
            list,
        );
    } else {
        frame.render_widget(Paragraph::new(lines), list);
    }
}

/// Draws the delete confirmation dialog.
pub fn dialog(theme: &Theme, d: &DeleteDialog, frame: &mut Frame, area: Rect) {
    let mut lines: Vec<Line> = Vec::new();
    if d.usages.is_empty() {
        lines.push(Line::styled(" Nothing else uses it.", theme.muted()));
    } else {
        lines.push(Line::styled(" Used by:", theme.text()));
        for u in &d.usages {
            let style = match u.effect {
                OnDelete::Blocks => theme.error(),
                OnDelete::Deleted | OnDelete::BindingRemoved => theme.warn(),
                OnDelete::Cleared => theme.text(),
            };
            lines.push(Line::styled(
                format!(
                    "  {:<18} {} {} ({})",
                    u.effect.label(),
                    u.kind,
                    inert(&u.name),
                    u.field
                ),
                style,
            ));
        }
    }
    lines.push(Line::raw(""));
    if let Some(b) = d.blocked() {
        lines.push(Line::styled(format!(" {}", inert(&b)), theme.error()));
    } else if d.needs_typing() {
        lines.push(Line::from(vec![
            Span::styled(
                format!(" Type '{}' to confirm: ", inert(&d.name)),
                theme.text(),
            ),
            Span::styled(inert(&d.typed), theme.accent()),
            Span::styled("_", theme.accent()),
        ]));
    }
    if let Some(e) = &d.error {
        lines.push(Line::styled(format!(" {e}"), theme.error()));
    }
    let h = (lines.len() as u16 + 4).min(area.height);
    let rect = centered(area, area.width.saturating_sub(8).min(70), h);
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.error())
        .title(Span::styled(
            format!(" Delete {} ", inert(&d.name)),
            theme.title(),
        ));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [body, buttons] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    frame.render_widget(Paragraph::new(lines), body);
    let cancel = if d.on_delete {
        theme.text()
    } else {
        theme.selection()
    };
    let delete = if !d.on_delete {
        theme.muted()
    } else if d.armed() {
        theme
            .error()
            .add_modifier(ratatui::style::Modifier::REVERSED)
    } else {
        theme
            .muted()
            .add_modifier(ratatui::style::Modifier::REVERSED)
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" [ Cancel ] ", cancel),
            Span::raw("  "),
            Span::styled(" [ Delete ] ", delete),
        ]))
        .alignment(Alignment::Center),
        buttons,
    );
}

/// Draws the blueprint import confirmation: what applying would change, Cancel focused.
pub fn import_dialog(theme: &Theme, d: &ImportDialog, frame: &mut Frame, area: Rect) {
    let r = &d.report;
    let count = |n: usize, what: &str, style| {
        Line::styled(
            format!("  {n:>6}  {what}"),
            if n > 0 { style } else { theme.muted() },
        )
    };
    let mut lines: Vec<Line> = vec![
        Line::styled(format!(" {}", inert(&d.file)), theme.accent()),
        Line::raw(""),
        Line::styled(" Applying it would:", theme.text()),
        count(r.created, "create", theme.ok()),
        count(r.updated, "update", theme.warn()),
        count(r.deleted, "delete", theme.error()),
        count(r.unchanged, "leave unchanged", theme.muted()),
    ];
    if r.skipped > 0 {
        lines.push(count(r.skipped, "skip (conditions false)", theme.muted()));
    }
    lines.push(Line::raw(""));
    if r.is_noop() {
        lines.push(Line::styled(
            " Nothing would change: the store already matches.",
            theme.muted(),
        ));
    } else {
        lines.push(Line::styled(
            " All of it in one transaction, or nothing.",
            theme.muted(),
        ));
    }
    if d.applying {
        lines.push(Line::styled(" applying…", theme.muted()));
    }
    if let Some(e) = &d.error {
        lines.push(Line::styled(format!(" {e}"), theme.error()));
    }
    let h = (lines.len() as u16 + 4).min(area.height);
    let rect = centered(area, area.width.saturating_sub(8).min(70), h);
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.accent())
        .title(Span::styled(" Import blueprint ", theme.title()));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [body, buttons] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    frame.render_widget(Paragraph::new(lines), body);
    let (cancel, apply) = if d.on_apply {
        (
            theme.text(),
            theme
                .accent()
                .add_modifier(ratatui::style::Modifier::REVERSED),
        )
    } else {
        (theme.selection(), theme.muted())
    };
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" [ Cancel ] ", cancel),
            Span::raw("  "),
            Span::styled(" [ Apply ] ", apply),
        ]))
        .alignment(Alignment::Center),
        buttons,
    );
}
