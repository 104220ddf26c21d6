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

/// Draws the dashboard into `area`.
pub fn draw(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let d = app.data();
    let [top, bottom] = Layout::vertical([Constraint::Length(9), Constraint::Min(3)]).areas(area);
    let [counts_area, certs_area] =
        Layout::horizontal([Constraint::Length(28), Constraint::Min(20)]).areas(top);

    let mut expiring: Vec<(i64, &str)> = d
        .certificates
        .iter()
        .map(|c| (days_left(c.not_after, d.now), c.name.as_str()))
        .filter(|(days, _)| *days < EXPIRY_WARNING_DAYS)
        .collect();
    expiring.sort_unstable();

    let count = |label: &str, n: usize| {
        Line::from(vec![
            Span::styled(format!(" {label:<16}"), theme.muted()),
            Span::styled(format!("{n:>6}"), theme.text()),
        ])
    };
    let counts = vec![
        count("users", d.users.len()),
        count("groups", d.groups.len()),
        count("applications", d.applications.len()),
        count("providers", d.providers.len()),
        count("flows", d.flows.len()),
        count("stages", d.stages.len()),
        Line::from(vec![
            Span::styled(format!(" {:<16}", "certs expiring"), theme.muted()),
            Span::styled(
                format!("{:>6}", expiring.len()),
                if expiring.is_empty() {
                    theme.ok()
                } else {
                    theme.warn()
                },
            ),
        ]),
    ];
    frame.render_widget(
        Paragraph::new(counts).block(block(theme, " Instance ")),
        counts_area,
    );

    let width = usize::from(certs_area.width.saturating_sub(4));
    let mut cert_lines = vec![Line::styled(
        format!(
            " {} certificate(s); {} expire within {EXPIRY_WARNING_DAYS} days",
            d.certificates.len(),
            expiring.len()
        ),
        theme.muted(),
    )];
    for (days, name) in &expiring {
        let (text, style) = if *days < 0 {
            (format!("expired {} days ago", -days), theme.error())
        } else {
            (format!("expires in {days} days"), theme.warn())
        };
        cert_lines.push(Line::styled(
            ellipsize(&format!(" ! {} {text}", inert(name)), width),
            style,
        ));
    }
    if expiring.is_empty() && !d.certificates.is_empty() {
        cert_lines.push(Line::styled(" all certificates are valid", theme.ok()));
    }
    frame.render_widget(
        Paragraph::new(cert_lines).block(block(theme, " Certificates ")),
        certs_area,
    );

    // Tall terminals also get the server log tail, since the server runs in this process.
    let (bottom, log_area) = if bottom.height >= 20 {
        let [events, logs] =
            Layout::vertical([Constraint::Min(8), Constraint::Length(10)]).areas(bottom);
        (events, Some(logs))
    } else {
        (bottom, None)
    };
    if let Some(log_area) = log_area {
        let lines = app.logs();
        let shown = usize::from(log_area.height.saturating_sub(2));
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
            log_area,
        );
    }
    let rows = usize::from(bottom.height.saturating_sub(2));
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
        bottom,
    );
}
