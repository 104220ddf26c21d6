//! The dashboard: instance counts, certificates close to expiry, recent events.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::console::app::App;
use crate::console::tabs::days_left;
use crate::console::text::{datetime, ellipsize, inert};
use crate::console::theme::Theme;

/// Certificates expiring within this many days are called out.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

fn block<'a>(theme: &Theme, title: &'a str) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border())
        .title(Span::styled(title, theme.title()))
}

/// Draws the dashboard into `area`: counts and certificates on top, recent events below
/// (and the server log's tail on tall terminals, since the server runs in this process).
pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let [top, bottom] = Layout::vertical([Constraint::Length(9), Constraint::Min(3)]).areas(area);
    let [counts_area, certs_area] =
        Layout::horizontal([Constraint::Length(28), Constraint::Min(20)]).areas(top);
    let d = app.data();
    let mut expiring: Vec<(i64, &str)> = d
        .certificates
        .iter()
        .map(|c| (days_left(c.not_after, d.now), c.name.as_str()))
        .filter(|(days, _)| *days < EXPIRY_WARNING_DAYS)
        .collect();
    expiring.sort_unstable();
    counts(app, expiring.len(), frame, counts_area);
    certificates(app, &expiring, frame, certs_area);
    let (bottom, log_area) = if bottom.height >= 20 {
        let [events, logs] =
            Layout::vertical([Constraint::Min(8), Constraint::Length(10)]).areas(bottom);
        (events, Some(logs))
    } else {
        (bottom, None)
    };
    if let Some(log_area) = log_area {
        log_tail(app, frame, log_area);
    }
    recent_events(app, frame, bottom);
}

/// How many of each thing the instance has, and how many certificates expire soon.
fn counts(app: &App, expiring: usize, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let d = app.data();
    let count = |label: &str, n: usize| {
        Line::from(vec![
            Span::styled(format!(" {label:<16}"), theme.muted()),
            Span::styled(format!("{n:>6}"), theme.text()),
        ])
    };
    let lines = vec![
        count("users", d.users.len()),
        count("groups", d.groups.len()),
        count("applications", d.applications.len()),
        count("providers", d.providers.len()),
        count("flows", d.flows.len()),
        count("stages", d.stages.len()),
        Line::from(vec![
            Span::styled(format!(" {:<16}", "certs expiring"), theme.muted()),
            Span::styled(
                format!("{expiring:>6}"),
                if expiring == 0 {
                    theme.ok()
                } else {
                    theme.warn()
                },
            ),
        ]),
    ];
    frame.render_widget(
        Paragraph::new(lines).block(block(theme, " Instance ")),
        area,
    );
}

/// The certificates expiring within [`EXPIRY_WARNING_DAYS`] (or expired), soonest first.
fn certificates(app: &App, expiring: &[(i64, &str)], frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let d = app.data();
    let width = usize::from(area.width.saturating_sub(4));
    let mut lines = vec![Line::styled(
        format!(
            " {} certificate(s); {} expire within {EXPIRY_WARNING_DAYS} days",
            d.certificates.len(),
            expiring.len()
        ),
        theme.muted(),
    )];
    for (days, name) in expiring {
        let (text, style) = if *days < 0 {
            (format!("expired {} days ago", -days), theme.error())
        } else {
            (format!("expires in {days} days"), theme.warn())
        };
        lines.push(Line::styled(
            ellipsize(&format!(" ! {} {text}", inert(name)), width),
            style,
        ));
    }
    if expiring.is_empty() && !d.certificates.is_empty() {
        lines.push(Line::styled(" all certificates are valid", theme.ok()));
    }
    frame.render_widget(
        Paragraph::new(lines).block(block(theme, " Certificates ")),
        area,
    );
}

/// The newest server log lines that fit.
fn log_tail(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let lines = app.logs();
    let shown = usize::from(area.height.saturating_sub(2));
    let tail: Vec<Line> = if lines.is_empty() {
        vec![Line::styled(" No log lines yet.", theme.muted())]
    } else {
        lines[lines.len().saturating_sub(shown)..]
            .iter()
            .map(|l| Line::styled(format!(" {}", inert(l)), theme.muted()))
            .collect()
    };
    frame.render_widget(
        Paragraph::new(tail).block(block(theme, " Server log ")),
        area,
    );
}

/// The newest events that fit, failures in the error colour.
fn recent_events(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let d = app.data();
    let rows = usize::from(area.height.saturating_sub(2));
    let events: Vec<Line> = if d.events.is_empty() {
        vec![Line::styled(" No events yet.", theme.muted())]
    } else {
        d.events
            .iter()
            .take(rows)
            .map(|e| {
                let style = if e.action.contains("failed") {
                    theme.error()
                } else {
                    theme.text()
                };
                Line::from(vec![
                    Span::styled(format!(" {} ", datetime(e.created_at)), theme.muted()),
                    Span::styled(format!("{:<22}", ellipsize(&inert(&e.action), 21)), style),
                    Span::styled(
                        format!("{:<16}", ellipsize(&inert(&e.username), 15)),
                        theme.text(),
                    ),
                    Span::styled(
                        format!("{:<16}", ellipsize(&inert(&e.client_ip), 15)),
                        theme.muted(),
                    ),
                    Span::styled(inert(&e.app), theme.text()),
                ])
            })
            .collect()
    };
    frame.render_widget(
        Paragraph::new(events).block(block(theme, " Recent events ")),
        area,
    );
}
