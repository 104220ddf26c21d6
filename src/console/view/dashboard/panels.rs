//! The dashboard's text panels: the serving instances, counts and certificates close to
//! expiry, recent events, the server log's tail, and the small layout's summary of them.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{block, charts};
use crate::console::app::App;
use crate::console::tabs::days_left;
use crate::console::text::{datetime, ellipsize, inert};
use crate::console::theme::Theme;
use crate::context::{Health, ServerInstance};

/// Certificates expiring within this many days are called out.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// Instances listed at most (the header counts the others).
const MAX_SERVERS: usize = 3;

/// The certificates expiring within [`EXPIRY_WARNING_DAYS`] (or expired), soonest first.
fn expiring(app: &App) -> Vec<(i64, &str)> {
    let d = app.data();
    let mut soon: Vec<(i64, &str)> = d
        .certificates
        .iter()
        .map(|c| (days_left(c.not_after, d.now), c.name.as_str()))
        .filter(|(days, _)| *days < EXPIRY_WARNING_DAYS)
        .collect();
    soon.sort_unstable();
    soon
}

/// One expiring certificate's line.
fn expiry_line(theme: &Theme, days: i64, name: &str, width: usize) -> Line<'static> {
    let (text, style) = if days < 0 {
        (format!("expired {} days ago", -days), theme.error())
    } else {
        (format!("expires in {days} days"), theme.warn())
    };
    let name_width = width.saturating_sub(text.len() + 4);
    Line::styled(
        format!(" ! {} {text}", ellipsize(&inert(name), name_width)),
        style,
    )
}

/// Seconds as "40s", "12m", "5h13m" or "3d4h".
fn uptime(secs: i64) -> String {
    match secs.max(0) {
        s @ 0..60 => format!("{s}s"),
        s @ 60..3600 => format!("{}m", s / 60),
        s @ 3600..86400 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        s => format!("{}d{}h", s / 86400, s % 86400 / 3600),
    }
}

fn health(theme: &Theme, i: &ServerInstance) -> (String, Style) {
    match i.health {
        Health::Live => ("live".into(), theme.ok()),
        Health::Stale => (format!("stale {}s", i.heartbeat_age), theme.warn()),
    }
}

/// Rows the servers panel needs: two per listed instance, or one saying there is none.
pub fn servers_height(app: &App) -> u16 {
    let n = app.instances().len().clamp(1, MAX_SERVERS);
    let rows = if app.instances().is_empty() { 1 } else { n * 2 };
    u16::try_from(rows + 2).unwrap_or(u16::MAX)
}

/// The serving instances: health and public URL, then version and uptime.
pub fn servers(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let width = usize::from(area.width.saturating_sub(2));
    let mut lines = Vec::new();
    for i in app.instances().iter().take(MAX_SERVERS) {
        let (state, style) = health(theme, i);
        lines.push(Line::from(vec![
            Span::styled(format!(" {state:<6}"), style),
            Span::styled(
                ellipsize(&inert(&i.public_url), width.saturating_sub(8)),
                theme.text(),
            ),
        ]));
        lines.push(Line::styled(
            ellipsize(
                &format!("   v{}  up {}", inert(&i.version), uptime(i.uptime)),
                width,
            ),
            theme.muted(),
        ));
    }
    if lines.is_empty() {
        lines.push(Line::styled(" No server recorded itself.", theme.muted()));
    }
    let title = format!(" Servers ({}) ", app.instances().len());
    frame.render_widget(Paragraph::new(lines).block(block(theme, &title)), area);
}

/// How many of each thing the instance has, then the certificates expiring soon.
pub fn counts(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let d = app.data();
    let width = usize::from(area.width.saturating_sub(2));
    let pair = |a: (&str, usize), b: (&str, usize)| {
        Line::from(vec![
            Span::styled(format!(" {:<12}", a.0), theme.muted()),
            Span::styled(format!("{:>5}", a.1), theme.text()),
            Span::styled(format!("  {:<9}", b.0), theme.muted()),
            Span::styled(format!("{:>5}", b.1), theme.text()),
        ])
    };
    let soon = expiring(app);
    let mut lines = vec![
        pair(("users", d.users.len()), ("groups", d.groups.len())),
        pair(
            ("applications", d.applications.len()),
            ("providers", d.providers.len()),
        ),
        pair(("flows", d.flows.len()), ("stages", d.stages.len())),
        Line::from(vec![
            Span::styled(" certs expiring", theme.muted()),
            Span::styled(
                format!("{:>3}", soon.len()),
                if soon.is_empty() {
                    theme.ok()
                } else {
                    theme.warn()
                },
            ),
            Span::styled(format!("  of {}", d.certificates.len()), theme.muted()),
        ]),
    ];
    lines.extend(
        soon.iter()
            .map(|(days, name)| expiry_line(theme, *days, name, width)),
    );
    frame.render_widget(
        Paragraph::new(lines).block(block(theme, " Instance ")),
        area,
    );
}

/// The small layout's one panel: the first instance, tokens per minute, counts and the
/// soonest certificate.
pub fn summary(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let d = app.data();
    let outer = block(theme, " Instance ");
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let width = usize::from(inner.width);
    let [server, tokens, rest] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(inner);
    let server_line = match app.instances().first() {
        Some(i) => {
            let (state, style) = health(theme, i);
            Line::from(vec![
                Span::styled(format!(" {state}"), style),
                Span::styled(
                    ellipsize(
                        &format!("  v{}  up {}", inert(&i.version), uptime(i.uptime)),
                        width.saturating_sub(state.len() + 1),
                    ),
                    theme.muted(),
                ),
            ])
        }
        None => Line::styled(" no server recorded", theme.muted()),
    };
    frame.render_widget(Paragraph::new(server_line), server);
    charts::tokens_row(app, frame, tokens);
    let count = |label: &str, n: usize| {
        Line::from(vec![
            Span::styled(format!(" {label:<14}"), theme.muted()),
            Span::styled(format!("{n:>5}"), theme.text()),
        ])
    };
    let soon = expiring(app);
    let mut lines = vec![
        count("users", d.users.len()),
        count("applications", d.applications.len()),
        count("flows", d.flows.len()),
        Line::from(vec![
            Span::styled(format!(" {:<14}", "certs expiring"), theme.muted()),
            Span::styled(
                format!("{:>5}", soon.len()),
                if soon.is_empty() {
                    theme.ok()
                } else {
                    theme.warn()
                },
            ),
        ]),
    ];
    if let Some((days, name)) = soon.first() {
        lines.push(expiry_line(theme, *days, name, width));
    }
    frame.render_widget(Paragraph::new(lines), rest);
}

/// The newest server log lines that fit.
pub fn log_tail(app: &App, frame: &mut Frame, area: Rect) {
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

/// The newest events that fit, failures in the error colour; the date and the client IP
/// only when there is room for them.
pub fn recent_events(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let d = app.data();
    let rows = usize::from(area.height.saturating_sub(2));
    let wide = area.width >= 90;
    let events: Vec<Line> = if d.events.is_empty() {
        vec![Line::styled(" No events yet.", theme.muted())]
    } else {
        d.events
            .iter()
            .take(rows)
            .map(|e| {
                let style = if crate::domain::audit::is_failure(&e.action) {
                    theme.error()
                } else {
                    theme.text()
                };
                // "YYYY-MM-DD HH:MM", or only the time where the app would not fit.
                let when = datetime(e.created_at);
                let when = match when.get(when.len().saturating_sub(5)..) {
                    Some(time) if !wide => time,
                    _ => when.as_str(),
                };
                let mut spans = vec![
                    Span::styled(format!(" {when} "), theme.muted()),
                    Span::styled(format!("{:<22}", ellipsize(&inert(&e.action), 21)), style),
                    Span::styled(
                        format!("{:<13}", ellipsize(&inert(&e.username), 12)),
                        theme.text(),
                    ),
                ];
                if wide {
                    spans.push(Span::styled(
                        format!("{:<16}", ellipsize(&inert(&e.client_ip), 15)),
                        theme.muted(),
                    ));
                }
                // The application, or what the event is about (a model change's object).
                if e.app.is_empty() {
                    let about = crate::domain::audit::summary(e);
                    spans.push(Span::styled(inert(&about), theme.muted()));
                } else {
                    spans.push(Span::styled(inert(&e.app), theme.text()));
                }
                Line::from(spans)
            })
            .collect()
    };
    frame.render_widget(
        Paragraph::new(events).block(block(theme, " Recent events ")),
        area,
    );
}
