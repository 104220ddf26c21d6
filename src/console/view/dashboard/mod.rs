//! The dashboard (authentik's admin overview, in the terminal): logins, failed logins and
//! authorizations over the last week, the applications with most usage, logins and users
//! created per day over the last month, tokens issued per minute, the serving instances,
//! certificates close to expiry and recent events. Everything is drawn from the snapshot
//! (`Data::dashboard`, counted at reload): a frame never queries.
//!
//! Below 100x30 of body (an 80x24 terminal) it shows the week, the top applications, recent
//! events and one summary panel; from there every panel; from 140 columns the server log too.

mod charts;
mod panels;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders};

use crate::console::app::App;
use crate::console::theme::Theme;

/// Body size from which every panel is shown.
const FULL_WIDTH: u16 = 100;
const FULL_HEIGHT: u16 = 30;
/// Body width from which the server log's tail is shown too.
const LOG_WIDTH: u16 = 140;
/// Width of the right-hand column.
const SIDE: u16 = 36;
const SIDE_SMALL: u16 = 28;

fn block<'a>(theme: &Theme, title: &'a str) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Span::styled(title, theme.title()))
}

/// Draws the dashboard into `area`, laid out for its size.
pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    if area.width >= FULL_WIDTH && area.height >= FULL_HEIGHT {
        full(app, frame, area);
    } else {
        small(app, frame, area);
    }
}

/// Every panel: the week and the top applications; the month, users created and tokens per
/// minute; recent events (and the log when wide) beside the servers and the counts.
fn full(app: &App, frame: &mut Frame, area: Rect) {
    let [week_row, month_row, bottom] = Layout::vertical([
        Constraint::Length(12),
        Constraint::Length(9),
        Constraint::Min(8),
    ])
    .areas(area);
    let [week, apps] =
        Layout::horizontal([Constraint::Min(40), Constraint::Length(SIDE)]).areas(week_row);
    charts::week(app, frame, week, charts::WEEK_TITLE);
    charts::top_apps(app, frame, apps);
    let [month, users, tokens] = Layout::horizontal([
        Constraint::Min(30),
        Constraint::Length(30),
        Constraint::Length(SIDE),
    ])
    .areas(month_row);
    charts::month(app, frame, month);
    charts::users_created(app, frame, users);
    charts::tokens(app, frame, tokens);
    let [left, side] =
        Layout::horizontal([Constraint::Min(40), Constraint::Length(SIDE)]).areas(bottom);
    if area.width >= LOG_WIDTH {
        let [events, log] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(left);
        panels::recent_events(app, frame, events);
        panels::log_tail(app, frame, log);
    } else {
        panels::recent_events(app, frame, left);
    }
    let servers = panels::servers_height(app);
    let [servers_area, counts_area] =
        Layout::vertical([Constraint::Length(servers), Constraint::Min(3)]).areas(side);
    panels::servers(app, frame, servers_area);
    panels::counts(app, frame, counts_area);
}

/// An 80x24 terminal: the week and the top applications over recent events and one summary
/// (servers, tokens per minute, counts, certificates).
fn small(app: &App, frame: &mut Frame, area: Rect) {
    let top_height = (area.height / 2).max(6);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(top_height), Constraint::Min(3)]).areas(area);
    let side = SIDE_SMALL.min(area.width / 3);
    let [week, apps] =
        Layout::horizontal([Constraint::Min(20), Constraint::Length(side)]).areas(top);
    charts::week(app, frame, week, charts::WEEK_TITLE_SHORT);
    charts::top_apps(app, frame, apps);
    let [events, summary] =
        Layout::horizontal([Constraint::Min(20), Constraint::Length(side)]).areas(bottom);
    panels::recent_events(app, frame, events);
    panels::summary(app, frame, summary);
}
