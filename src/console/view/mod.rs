//! Rendering: a pure function of [`App`] onto a frame, so snapshots test exactly what users see.

mod chrome;
mod dashboard;
mod detail;
mod event_filter;
mod field;
mod form;
mod help;
mod inspect;
mod list;
mod message;
mod popup;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::app::{App, MIN_HEIGHT, MIN_WIDTH, ServerMode};
use super::keymap::Mode;
use super::tabs::{TABS, Tone};
use super::theme::Theme;

/// Draws the whole screen.
pub fn draw(app: &App, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(app, frame, area);
        return;
    }
    let [header, tabs, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    chrome::header(app, frame, header);
    chrome::tab_bar(app, frame, tabs);
    body_view(app, frame, body);
    popups(app, frame, body);
    chrome::status(app, frame, status);
    chrome::footer(app, frame, footer);
}

/// The view under the popups: the open detail or form, the dashboard, the log, or the list.
fn body_view(app: &App, frame: &mut Frame, body: Rect) {
    match (app.mode(), app.detail()) {
        (Mode::Detail | Mode::Message | Mode::Quit, Some(row)) if app.form().is_none() => {
            detail::draw(app, row, frame, body)
        }
        _ if app.form().is_some() => {}
        _ if app.dry_run_result().is_some() => {
            if let Some(v) = app.dry_run_result() {
                inspect::draw_result(app, v, frame, body)
            }
        }
        _ if app.live_view().is_some() => {
            if let Some(v) = app.live_view() {
                inspect::draw_live(app, v, frame, body)
            }
        }
        _ if app.inspector().is_some() => {
            if let Some(v) = app.inspector() {
                inspect::draw_inspector(app, v, frame, body)
            }
        }
        _ if TABS[app.tab_index()].rows.is_none() => dashboard::draw(app, frame, body),
        _ if app.showing_logs() => list::logs(app, frame, body),
        _ => list::draw(app, frame, body),
    }
    if let Some(f) = app.form() {
        form::draw(app, f, frame, body);
    }
}

/// The popup on top, if any (its keys line comes from the keymap table).
fn popups(app: &App, frame: &mut Frame, body: Rect) {
    let theme = app.theme();
    if let Some(p) = app.chooser() {
        popup::picker(theme, p, "New: pick a type", &app.hint_line(), frame, body);
    }
    if let Some(p) = app.palette() {
        popup::picker(theme, p, "Palette", &app.hint_line(), frame, body);
    }
    if let Some(d) = app.dialog() {
        popup::dialog(theme, d, frame, body);
    }
    if let Some(d) = app.import_dialog() {
        popup::import_dialog(theme, d, frame, body);
    }
    if let Some(d) = app.quit_dialog() {
        popup::quit_dialog(theme, d, &app.quit_lines(), frame, body);
    }
    if let Some(f) = app.event_filter_form() {
        event_filter::draw(app, f, frame, body);
    }
    if app.mode() == Mode::Help {
        help::draw(app, frame, body);
    }
    if let Some(m) = app.message() {
        message::draw(app, m, frame, body);
    }
}

fn too_small(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let msg = format!(
        "terminal too small: {}x{}, need {MIN_WIDTH}x{MIN_HEIGHT}",
        area.width, area.height
    );
    let [_, mid, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(2),
        Constraint::Fill(1),
    ])
    .areas(area);
    let quits = match app.server_mode() {
        ServerMode::Elsewhere => "q quits",
        ServerMode::InProcess => "^C quits (the server stops too)",
    };
    let text = vec![
        Line::styled(msg, theme.warn()),
        Line::styled(quits, theme.muted()),
    ];
    frame.render_widget(Paragraph::new(text).centered(), mid);
}

/// The theme style for a cell tone.
fn tone_style(theme: &Theme, tone: Tone) -> Style {
    match tone {
        Tone::Normal => theme.text(),
        Tone::Muted => theme.muted(),
        Tone::Ok => theme.ok(),
        Tone::Warn => theme.warn(),
        Tone::Error => theme.error(),
    }
}
