//! The popups over a view: a picker or checklist (a form's select, the type chooser, the
//! palette), the delete dialog with what uses its target, and the blueprint import
//! confirmation with what applying would change, and `run`'s quit confirmation.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::console::app::QuitDialog;
use crate::console::dialog::{DeleteDialog, ImportDialog};
use crate::console::form::picker::Picker;
use crate::console::text::{inert, wrap};
use crate::console::theme::Theme;
use crate::service::usages::OnDelete;

/// A `w`x`h` rectangle in the middle of `area`.
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

/// A confirmation dialog (delete, import): its lines above a Cancel button and the button that
/// confirms, centred in a bordered box.
struct Confirm<'a> {
    border: Style,
    title: Span<'a>,
    lines: Vec<Line<'a>>,
    /// The Cancel button's style (selected while the focus is on it).
    cancel: Style,
    /// The confirming button's label and style.
    confirm: (&'static str, Style),
}

impl Confirm<'_> {
    /// The dialog's width over `area`.
    fn width(area: Rect) -> u16 {
        area.width.saturating_sub(8).min(70)
    }

    /// The characters a line of text takes inside the borders, after its leading space and
    /// with a space before the right border.
    fn text_width(area: Rect) -> u16 {
        Self::width(area).saturating_sub(4).max(1)
    }

    fn draw(self, frame: &mut Frame, area: Rect) {
        let h = (self.lines.len() as u16 + 4).min(area.height);
        let rect = centered(area, Self::width(area), h);
        frame.render_widget(Clear, rect);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(self.border)
            .title(self.title);
        let inner = block.inner(rect);
        frame.render_widget(block, rect);
        let [body, buttons] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
        frame.render_widget(Paragraph::new(self.lines), body);
        let (label, style) = self.confirm;
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(" [ Cancel ] ", self.cancel),
                Span::raw("  "),
                Span::styled(label, style),
            ]))
            .alignment(Alignment::Center),
            buttons,
        );
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

/// The confirm button of a dialog whose verb is `verb`.
fn button(verb: &str) -> &'static str {
    match verb {
        "Revoke" => " [ Revoke ] ",
        "Reset" => " [ Reset ] ",
        _ => " [ Delete ] ",
    }
}

/// Draws the delete confirmation dialog.
pub fn dialog(theme: &Theme, d: &DeleteDialog, frame: &mut Frame, area: Rect) {
    let mut lines: Vec<Line> = Vec::new();
    if let Some(note) = &d.note {
        lines.push(Line::styled(format!(" {}", inert(note)), theme.text()));
    } else if d.usages.is_empty() {
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
    let title = Span::styled(format!(" {} {} ", d.verb, inert(&d.name)), theme.title());
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
    let dialog = Confirm {
        border: theme.error(),
        title,
        lines,
        cancel,
        confirm: (button(d.verb), delete),
    };
    dialog.draw(frame, area);
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
    let dialog = Confirm {
        border: theme.accent(),
        title: Span::styled(" Import blueprint ", theme.title()),
        lines,
        cancel,
        confirm: (" [ Apply ] ", apply),
    };
    dialog.draw(frame, area);
}

/// Draws `run`'s quit confirmation: the server stops with the console; Cancel focused.
/// `lines` are paragraphs, wrapped to the dialog's width so nothing is cut; the first (what
/// stops) in the warning colour.
pub fn quit_dialog(theme: &Theme, d: &QuitDialog, lines: &[String], frame: &mut Frame, area: Rect) {
    let width = usize::from(Confirm::text_width(area));
    let mut text: Vec<Line> = Vec::new();
    for (i, paragraph) in lines.iter().enumerate() {
        let style = if i == 0 { theme.warn() } else { theme.text() };
        for l in wrap(&inert(paragraph), width) {
            text.push(Line::styled(format!(" {l}"), style));
        }
    }
    let (cancel, quit) = if d.on_quit {
        (
            theme.text(),
            theme
                .error()
                .add_modifier(ratatui::style::Modifier::REVERSED),
        )
    } else {
        (theme.selection(), theme.muted())
    };
    let dialog = Confirm {
        border: theme.warn(),
        title: Span::styled(" Quit latchkey and stop the server? ", theme.title()),
        lines: text,
        cancel,
        confirm: (" [ Quit ] ", quit),
    };
    dialog.draw(frame, area);
}
