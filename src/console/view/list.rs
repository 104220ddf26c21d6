//! A tab's live list: only the rows in view are built into widgets, so long lists stay cheap.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, Cell, Paragraph, Row, Scrollbar, ScrollbarOrientation, ScrollbarState, Table,
    TableState,
};

use super::tone_style;
use crate::console::app::App;
use crate::console::tabs::{Column, ListRow, TABS};
use crate::console::text::{ellipsize, ellipsize_middle, inert};

/// Columns kept at this width: all of them from 80 columns, the essential ones below.
fn columns_for(width: u16, columns: &[Column]) -> Vec<usize> {
    (0..columns.len())
        .filter(|&i| (width >= 80 || columns[i].narrow) && width >= columns[i].from_width)
        .collect()
}

/// The list block of the active tab: its rows in view as a table, or why there are none.
pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let spec = &TABS[app.tab_index()];
    let rows = app.visible_rows();
    let block = list_block(app, rows.len());
    if rows.is_empty() {
        let msg = if !app.is_loaded() {
            "loading…".to_string()
        } else if app.total_rows() == 0 {
            format!("No {} yet.", spec.name.to_lowercase())
        } else {
            "Nothing matches the filter (esc clears it).".to_string()
        };
        frame.render_widget(
            Paragraph::new(Line::styled(format!(" {msg}"), app.theme().muted())).block(block),
            area,
        );
        return;
    }
    table(app, &rows, block, frame, area);
    let inner_height = usize::from(area.height.saturating_sub(3));
    if rows.len() > inner_height && area.height > 4 {
        scrollbar(app, rows.len() - inner_height, frame, area);
    }
}

/// The block around the list: the tab's name and counts, the filter, the position.
fn list_block(app: &App, shown: usize) -> Block<'static> {
    let theme = app.theme();
    let spec = &TABS[app.tab_index()];
    let mut title = vec![Span::styled(
        format!(" {} ({}/{}) ", spec.name, shown, app.total_rows()),
        theme.title(),
    )];
    if spec.id == crate::console::tabs::TabId::Events && !app.event_filter().is_unfiltered() {
        title.push(Span::styled(
            format!("where {} ", inert(&app.event_filter().describe())),
            theme.accent(),
        ));
    }
    if !app.filter().is_empty() {
        title.push(Span::styled(
            format!("filter: {} ", inert(app.filter())),
            theme.accent(),
        ));
    }
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Line::from(title));
    if shown > 0 {
        block = block.title_bottom(
            Line::styled(
                format!(" {}/{} ", app.selected_index() + 1, shown),
                theme.muted(),
            )
            .right_aligned(),
        );
    }
    block
}

/// The rows in view, in the columns that fit, long text cut with a visible "..".
fn table(app: &App, rows: &[&ListRow], block: Block<'_>, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let spec = &TABS[app.tab_index()];
    let keep = columns_for(area.width, spec.columns);
    let widths: Vec<Constraint> = keep
        .iter()
        .map(|&i| {
            let c = spec.columns[i];
            if c.fill {
                Constraint::Fill(c.width)
            } else {
                Constraint::Length(c.width)
            }
        })
        .collect();
    let header = Row::new(
        keep.iter()
            .map(|&i| Cell::from(spec.columns[i].title))
            .collect::<Vec<_>>(),
    )
    .style(theme.muted().add_modifier(Modifier::BOLD));
    // The same split the table makes (2 columns for "> ", spacing 1), so long text can be
    // cut with a visible ".." instead of silently.
    let [_, cols_area] = Layout::horizontal([Constraint::Length(2), Constraint::Fill(0)])
        .areas(Rect::new(0, 0, area.width.saturating_sub(2), 1));
    let col_widths: Vec<usize> = Layout::horizontal(widths.clone())
        .flex(Flex::Start)
        .spacing(1)
        .split(cols_area)
        .iter()
        .map(|r| usize::from(r.width))
        .collect();
    let inner_height = usize::from(area.height.saturating_sub(3));
    let offset = app.scroll_offset();
    let shown: Vec<Row> = rows
        .iter()
        .skip(offset)
        .take(inner_height)
        .map(|r| {
            Row::new(
                keep.iter()
                    .zip(&col_widths)
                    .map(|(&i, &w)| {
                        r.cells.get(i).map_or_else(Cell::default, |c| {
                            // The first column identifies the row: keep both of its ends.
                            let text = if i == 0 {
                                ellipsize_middle(&c.text, w)
                            } else {
                                ellipsize(&c.text, w)
                            };
                            Cell::from(Span::styled(text, tone_style(theme, c.tone)))
                        })
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let mut state =
        TableState::default().with_selected(Some(app.selected_index().saturating_sub(offset)));
    let table = Table::new(shown, widths)
        .header(header)
        .block(block)
        .row_highlight_style(theme.selection())
        .highlight_symbol("> ");
    frame.render_stateful_widget(table, area, &mut state);
}

/// The scrollbar beside rows that do not all fit (`hidden` of them are out of view).
fn scrollbar(app: &App, hidden: usize, frame: &mut Frame, area: Rect) {
    let mut sb = ScrollbarState::new(hidden).position(app.scroll_offset());
    let bar_area = Rect {
        y: area.y + 2,
        height: area.height.saturating_sub(3),
        ..area
    };
    frame.render_stateful_widget(
        Scrollbar::new(ScrollbarOrientation::VerticalRight)
            .begin_symbol(None)
            .end_symbol(None)
            .style(app.theme().muted()),
        bar_area,
        &mut sb,
    );
}

/// The Events tab's alternative body: the newest server log lines, made inert.
pub fn logs(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let lines = app.logs();
    let height = usize::from(area.height.saturating_sub(2));
    let start = lines.len().saturating_sub(height);
    let text: Vec<Line> = if lines.is_empty() {
        vec![Line::styled(" No log lines yet.", theme.muted())]
    } else {
        lines[start..]
            .iter()
            .map(|l| Line::styled(inert(l), theme.text()))
            .collect()
    };
    // `latchkey console` has no server in this process: its log is the console's own.
    let whose = match app.server_mode() {
        crate::console::app::ServerMode::InProcess => "Server log",
        crate::console::app::ServerMode::Elsewhere if app.instances_read() => "Console log",
        crate::console::app::ServerMode::Elsewhere => "Server log",
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Span::styled(
            format!(" {whose} ({} lines, L: events) ", lines.len()),
            theme.title(),
        ));
    frame.render_widget(Paragraph::new(text).block(block), area);
}
