//! The flow inspector and the live executions: a list of selectable items and the selected
//! item's pane, side by side when the terminal is wide, stacked at 80 columns. Long values
//! wrap under themselves; both panes scroll, so nothing is cut without a way to read it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::console::app::{App, InspectView, LiveView};
use crate::console::dry_run::ResultView;
use crate::console::inspect::{self, ItemKind, Section};
use crate::console::text::{inert, wrap};
use crate::console::theme::Theme;

/// Side by side from this width on; stacked below it.
const SIDE_BY_SIDE: u16 = 100;

/// The list area and the pane area.
fn split(area: Rect) -> (Rect, Rect) {
    if area.width >= SIDE_BY_SIDE {
        let [a, b] = Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
            .areas(area);
        (a, b)
    } else {
        let [a, b] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
        (a, b)
    }
}

fn block(theme: &Theme, title: String, focused: bool) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(if focused {
            theme.accent()
        } else {
            theme.border()
        })
        .title(Span::styled(inert(&title), theme.title()))
}

/// Inner text width of a bordered pane.
fn inner(area: Rect) -> usize {
    usize::from(area.width.saturating_sub(2)).max(8)
}

/// Draws the inspector over the body.
pub fn draw_inspector(app: &App, view: &InspectView, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let Some(flow) = app.data().flows.iter().find(|f| f.id == view.flow_id) else {
        return;
    };
    let (list_area, pane_area) = split(area);
    let width = inner(list_area);
    let mut lines = kv_lines(theme, &inspect::header(flow), width);
    let items = app.inspector_items();
    let flow_policies = items
        .iter()
        .filter(|i| i.kind == ItemKind::FlowPolicy)
        .count();
    let stages = items
        .iter()
        .filter(|i| i.kind == ItemKind::StageBinding)
        .count();
    let mut cursor_end = 0;
    for (i, item) in items.iter().enumerate() {
        if i == 0 || (item.kind == ItemKind::StageBinding && i == flow_policies) {
            let title = if item.kind == ItemKind::FlowPolicy {
                format!(" Flow policy bindings ({flow_policies})")
            } else {
                format!(" Stage bindings ({stages})")
            };
            lines.push(Line::raw(""));
            lines.push(Line::styled(title, theme.accent()));
        }
        let selected = i == view.cursor;
        lines.extend(item_lines(theme, &item.text, selected, width));
        if selected {
            cursor_end = lines.len();
        }
    }
    if items.is_empty() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            " No stage bindings: the flow has nothing to run.",
            theme.muted(),
        ));
    } else if flow_policies == 0 {
        lines.insert(
            4,
            Line::styled(" No policy bindings on the flow itself.", theme.muted()),
        );
        cursor_end += 1;
    }
    let height = usize::from(list_area.height.saturating_sub(2));
    let scroll = cursor_end.saturating_sub(height);
    let title = format!(" Inspect {} ({}) ", flow.slug, flow.name);
    frame.render_widget(
        Paragraph::new(lines.into_iter().skip(scroll).collect::<Vec<_>>()).block(block(
            theme,
            title,
            !view.in_pane,
        )),
        list_area,
    );
    let pane = app.inspector_pane();
    let pane_title = match items.get(view.cursor).map(|i| i.kind) {
        Some(ItemKind::StageBinding) => " Stage and its bindings (enter: scroll) ",
        Some(_) => " Policy binding (enter: scroll) ",
        None => " Nothing selected ",
    };
    draw_pane(
        theme,
        &pane,
        view.pane_scroll,
        view.in_pane,
        pane_title.to_string(),
        frame,
        pane_area,
    );
}

/// Draws the live executions over the body.
pub fn draw_live(app: &App, view: &LiveView, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let (list_area, pane_area) = split(area);
    let width = inner(list_area);
    let executions = app.live_executions();
    let cursor = app.live_cursor();
    let mut lines = Vec::new();
    let mut cursor_end = 0;
    for (i, e) in executions.iter().enumerate() {
        lines.extend(item_lines(
            theme,
            &inspect::execution_line(e),
            i == cursor,
            width,
        ));
        if i == cursor {
            cursor_end = lines.len();
        }
    }
    if executions.is_empty() {
        lines.push(Line::styled(
            " No flow is being executed right now (refreshes every second).",
            theme.muted(),
        ));
    }
    let height = usize::from(list_area.height.saturating_sub(2));
    let scroll = cursor_end.saturating_sub(height);
    let which = view.flow_slug.as_deref().unwrap_or("every flow");
    let title = format!(" Live executions: {which} ({}) ", executions.len());
    frame.render_widget(
        Paragraph::new(lines.into_iter().skip(scroll).collect::<Vec<_>>()).block(block(
            theme,
            title,
            !view.in_pane,
        )),
        list_area,
    );
    let pane = app
        .selected_execution()
        .map(inspect::execution_pane)
        .unwrap_or_default();
    draw_pane(
        theme,
        &pane,
        view.pane_scroll,
        view.in_pane,
        " Plan and context (enter: scroll) ".into(),
        frame,
        pane_area,
    );
}

/// Draws a dry run's answer over the body: the result, and for a simulation the selected
/// stage's challenge beside it (below it at 80 columns).
pub fn draw_result(app: &App, view: &ResultView, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let title = format!(" {} (dry run, nothing written) ", view.title);
    let Some(step) = view.steps.get(view.step) else {
        draw_pane(theme, &view.sections, view.scroll, true, title, frame, area);
        return;
    };
    let (main, side) = split(area);
    draw_pane(
        theme,
        &view.sections,
        view.scroll,
        !view.in_steps,
        title,
        frame,
        main,
    );
    let side_title = format!(
        " Stage {}/{} (n/p step, enter: scroll) ",
        view.step + 1,
        view.steps.len()
    );
    draw_pane(
        theme,
        std::slice::from_ref(step),
        view.step_scroll,
        view.in_steps,
        side_title,
        frame,
        side,
    );
}

fn draw_pane(
    theme: &Theme,
    sections: &[Section],
    scroll: usize,
    focused: bool,
    title: String,
    frame: &mut Frame,
    area: Rect,
) {
    let width = inner(area);
    let mut lines = Vec::new();
    for (i, s) in sections.iter().enumerate() {
        if i > 0 {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(
            format!(" {}", inert(&s.title)),
            theme.accent(),
        ));
        if s.lines.is_empty() {
            lines.push(Line::styled("   none", theme.muted()));
        }
        lines.extend(kv_lines(theme, &s.lines, width));
    }
    let height = usize::from(area.height.saturating_sub(2));
    let scroll = scroll.min(lines.len().saturating_sub(height.max(1)));
    frame.render_widget(
        Paragraph::new(lines.into_iter().skip(scroll).collect::<Vec<_>>())
            .block(block(theme, title, focused)),
        area,
    );
}

/// A selectable item, wrapped, the selected one marked and highlighted.
fn item_lines(theme: &Theme, text: &str, selected: bool, width: usize) -> Vec<Line<'static>> {
    let style: Style = if selected {
        theme.selection()
    } else {
        theme.text()
    };
    wrap(&inert(text), width.saturating_sub(3))
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let mark = match (i, selected) {
                (0, true) => ">",
                _ => " ",
            };
            let indent = if i == 0 { "" } else { "    " };
            Line::styled(format!("{mark} {indent}{part}"), style)
        })
        .collect()
}

/// `key  value` lines, values wrapped (and split at their newlines) under themselves; a key
/// too long for the key column gets a line of its own, its value under it.
fn kv_lines(theme: &Theme, lines: &[(String, String)], width: usize) -> Vec<Line<'static>> {
    let key_width = lines
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0)
        .min(width / 3);
    let value_width = width.saturating_sub(key_width + 4).max(8);
    let mut out = Vec::new();
    for (k, v) in lines {
        let mut key = inert(k);
        if key.chars().count() > key_width {
            for part in wrap(&key, width.saturating_sub(2)) {
                out.push(Line::styled(format!("  {part}"), theme.muted()));
            }
            key = String::new();
        }
        for (i, part) in wrap(&inert_lines(v), value_width).into_iter().enumerate() {
            let shown_key = if i == 0 { key.as_str() } else { "" };
            out.push(Line::from(vec![
                Span::styled(format!("  {shown_key:<key_width$}  "), theme.muted()),
                Span::styled(part, theme.text()),
            ]));
        }
    }
    out
}

/// Inert text that keeps its newlines (expressions read line by line).
fn inert_lines(v: &str) -> String {
    v.split('\n').map(inert).collect::<Vec<_>>().join("\n")
}
