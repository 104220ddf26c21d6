//! The dashboard's charts, drawn with ratatui's `Chart` and `Sparkline` from the counted
//! series. Each series has its own look (a line, dots, bars) as well as its own colour, so
//! they stay apart without colour (`NO_COLOR`).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Sparkline};

use super::block;
use crate::console::app::App;
use crate::console::text::{ellipsize, inert};
use crate::service::dashboard::Series;

/// authentik's title for the weekly chart.
pub const WEEK_TITLE: &str = " Logins and authorizations over the last week (per 8 hours) ";
/// The same at 80 columns.
pub const WEEK_TITLE_SHORT: &str = " Logins, last week (per 8h) ";
/// authentik's title for the top applications.
pub const APPS_TITLE: &str = " Apps with most usage ";
/// The monthly chart's title.
pub const MONTH_TITLE: &str = " Logins and failed logins per day, last month ";
/// authentik's "Users created per day in the last month", shortened to its panel.
pub const USERS_TITLE: &str = " Users created per day ";
/// The tokens line's title.
pub const TOKENS_TITLE: &str = " Tokens issued per minute ";

/// How a series is drawn.
#[derive(Clone, Copy)]
enum Look {
    Line,
    Dots,
    Bars,
}

impl Look {
    /// The legend's sample of the look.
    fn symbol(self) -> &'static str {
        match self {
            Look::Line => "⣀",
            Look::Dots => "•",
            Look::Bars => "▄",
        }
    }

    fn dataset<'a>(self, points: &'a [(f64, f64)], style: Style) -> Dataset<'a> {
        let (marker, graph) = match self {
            Look::Line => (Marker::Braille, GraphType::Line),
            Look::Dots => (Marker::Dot, GraphType::Scatter),
            Look::Bars => (Marker::HalfBlock, GraphType::Bar),
        };
        Dataset::default()
            .marker(marker)
            .graph_type(graph)
            .style(style)
            .data(points)
    }
}

/// One series on a chart, with its legend label.
struct Plot<'a> {
    label: &'a str,
    series: &'a Series,
    style: Style,
    look: Look,
}

/// The series' points; a line keeps its zeros, dots and bars only mark buckets with any.
fn points(series: &Series, look: Look) -> Vec<(f64, f64)> {
    series
        .counts
        .iter()
        .enumerate()
        .filter(|(_, n)| matches!(look, Look::Line) || **n > 0)
        .map(|(i, n)| (i as f64, *n as f64))
        .collect()
}

/// A chart of `plots` over their buckets, the legend (with each series' total) along the
/// bottom border, the x axis labelled by `x_labels` and the y axis from 0 to the peak.
fn chart(app: &App, frame: &mut Frame, area: Rect, title: &str, plots: &[Plot], x: [&str; 3]) {
    let theme = app.theme();
    let data: Vec<Vec<(f64, f64)>> = plots.iter().map(|p| points(p.series, p.look)).collect();
    let buckets = plots
        .iter()
        .map(|p| p.series.counts.len())
        .max()
        .unwrap_or(1);
    let peak = plots
        .iter()
        .map(|p| p.series.peak())
        .max()
        .unwrap_or(0)
        .max(1);
    let datasets = plots
        .iter()
        .zip(&data)
        .map(|(p, d)| p.look.dataset(d, p.style))
        .collect();
    let mut legend = vec![Span::raw(" ")];
    for p in plots {
        legend.push(Span::styled(
            format!("{} {}", p.look.symbol(), p.label),
            p.style,
        ));
        legend.push(Span::styled(
            format!(" {}  ", p.series.total()),
            theme.text(),
        ));
    }
    let chart = Chart::new(datasets)
        .block(block(theme, title).title_bottom(Line::from(legend)))
        .legend_position(None)
        .x_axis(
            Axis::default()
                .bounds([0.0, buckets.saturating_sub(1).max(1) as f64])
                .labels(x.map(|l| Span::styled(l, theme.muted())))
                .style(theme.border()),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, peak as f64])
                .labels([
                    Span::styled("0", theme.muted()),
                    Span::styled(peak.to_string(), theme.muted()),
                ])
                .style(theme.border()),
        );
    frame.render_widget(chart, area);
}

/// Logins (line), authorizations (dots) and failed logins (bars) per 8 hours, last week.
pub fn week(app: &App, frame: &mut Frame, area: Rect, title: &str) {
    let theme = app.theme();
    let s = &app.data().dashboard;
    let plots = [
        Plot {
            label: "logins",
            series: &s.logins_week,
            style: theme.ok(),
            look: Look::Line,
        },
        Plot {
            label: "authorizations",
            series: &s.authorizations_week,
            style: theme.accent(),
            look: Look::Dots,
        },
        Plot {
            label: "failed",
            series: &s.failed_week,
            style: theme.error(),
            look: Look::Bars,
        },
    ];
    chart(app, frame, area, title, &plots, ["-7d", "-3.5d", "now"]);
}

/// Logins (line) and failed logins (bars) per day, last month.
pub fn month(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let s = &app.data().dashboard;
    let plots = [
        Plot {
            label: "logins",
            series: &s.logins_month,
            style: theme.ok(),
            look: Look::Line,
        },
        Plot {
            label: "failed",
            series: &s.failed_month,
            style: theme.error(),
            look: Look::Bars,
        },
    ];
    chart(
        app,
        frame,
        area,
        MONTH_TITLE,
        &plots,
        ["-30d", "-15d", "today"],
    );
}

/// The applications users were authorized to most this week, with a bar each.
pub fn top_apps(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let apps = &app.data().dashboard.top_apps;
    let width = usize::from(area.width.saturating_sub(2));
    let lines: Vec<Line> = if apps.is_empty() {
        vec![Line::styled(" None in the last week.", theme.muted())]
    } else {
        let most = apps
            .iter()
            .map(|a| a.authorizations)
            .max()
            .unwrap_or(1)
            .max(1);
        let count_width = most.to_string().len();
        let name_width = (width / 2).clamp(4, 18);
        let bar_width = width.saturating_sub(name_width + count_width + 3);
        apps.iter()
            .map(|a| {
                let bar = (a.authorizations as usize * bar_width).div_ceil(most as usize);
                Line::from(vec![
                    Span::styled(
                        format!(" {:<name_width$}", ellipsize(&inert(&a.name), name_width)),
                        theme.text(),
                    ),
                    Span::styled(
                        format!(" {:>count_width$} ", a.authorizations),
                        theme.text(),
                    ),
                    Span::styled("█".repeat(bar), theme.accent()),
                ])
            })
            .collect()
    };
    frame.render_widget(Paragraph::new(lines).block(block(theme, APPS_TITLE)), area);
}

/// A sparkline of `series` (its newest buckets that fit) under one line of `caption`.
fn spark(app: &App, frame: &mut Frame, area: Rect, title: &str, series: &Series, caption: &str) {
    let theme = app.theme();
    let outer = block(theme, title);
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let [text, line] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    frame.render_widget(Paragraph::new(Line::styled(caption, theme.muted())), text);
    let shown = usize::from(line.width);
    let newest = &series.counts[series.counts.len().saturating_sub(shown)..];
    frame.render_widget(
        Sparkline::default()
            .data(newest)
            .max(series.peak().max(1))
            .style(theme.accent()),
        line,
    );
}

/// Users created per day over the last month.
pub fn users_created(app: &App, frame: &mut Frame, area: Rect) {
    let s = &app.data().dashboard.users_month;
    let caption = format!(
        " {} in 30 days, today {}",
        s.total(),
        s.counts.last().unwrap_or(&0)
    );
    spark(app, frame, area, USERS_TITLE, s, &caption);
}

/// Access tokens issued per minute over the last half hour.
pub fn tokens(app: &App, frame: &mut Frame, area: Rect) {
    let s = &app.data().dashboard.tokens_per_minute;
    let caption = format!(
        " {} in 30 min, this minute {}",
        s.total(),
        s.counts.last().unwrap_or(&0)
    );
    spark(app, frame, area, TOKENS_TITLE, s, &caption);
}

/// The tokens sparkline in one row (the small layout's summary).
pub fn tokens_row(app: &App, frame: &mut Frame, area: Rect) {
    let theme = app.theme();
    let s = &app.data().dashboard.tokens_per_minute;
    let label = format!(" tokens/min {:>4} ", s.counts.last().unwrap_or(&0));
    let [text, line] = Layout::horizontal([
        Constraint::Length(u16::try_from(label.len()).unwrap_or(u16::MAX)),
        Constraint::Min(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(Span::styled(label, theme.muted())), text);
    let shown = usize::from(line.width);
    let newest = &s.counts[s.counts.len().saturating_sub(shown)..];
    frame.render_widget(
        Sparkline::default()
            .data(newest)
            .max(s.peak().max(1))
            .style(theme.accent()),
        line,
    );
}
