//! `latchkey events`: the audit trail from the shell, through the same service query as the
//! console's Events tab. A table for people or JSON Lines in authentik's event shape for a
//! SIEM, on stdout, oldest first (the newest at the bottom, as `tail` does); `--follow` polls
//! the store twice a second and prints each new event once, until Ctrl-C, SIGTERM or the end
//! of standard input.

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::cli::EventsArgs;
use crate::console::text::{ellipsize, inert};
use crate::domain::audit::{self, TimeBoundError, parse_time_bound};
use crate::domain::{Event, EventFilter, UserMatch};
use crate::service::{Service, ServiceError};

/// How often `--follow` asks the store for new events.
pub const FOLLOW_POLL: Duration = Duration::from_millis(500);

/// Why an events command failed.
#[derive(Debug, thiserror::Error)]
pub enum EventsCliError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("--{flag}: {source}")]
    Time {
        flag: &'static str,
        source: TimeBoundError,
    },
    #[error(
        "--action: '{0}' is not an event action: use one of authentik's (login, login_failed, \
         model_created, model_updated, authorize_application, …) or custom_…"
    )]
    UnknownAction(String),
    #[error("cannot write the events: {0}")]
    Write(#[from] std::io::Error),
}

/// The filter the flags ask for, with relative times counted back from `now`.
pub fn filter_of(args: &EventsArgs, now: i64) -> Result<EventFilter, EventsCliError> {
    let bound = |flag: &'static str, v: &Option<String>| {
        v.as_deref()
            .map(|t| parse_time_bound(t, now))
            .transpose()
            .map_err(|source| EventsCliError::Time { flag, source })
    };
    let user = match (&args.user, &args.user_contains) {
        (Some(u), _) => Some(UserMatch::Exact(u.clone())),
        (None, Some(u)) => Some(UserMatch::Contains(u.clone())),
        (None, None) => None,
    };
    if let Some(bad) = args
        .actions
        .iter()
        .find(|a| !crate::domain::event_actions::is_known(a))
    {
        return Err(EventsCliError::UnknownAction(bad.clone()));
    }
    Ok(EventFilter {
        actions: args.actions.clone(),
        user,
        app: args.app.clone(),
        client_ip: args.client_ip.clone(),
        origin: args.origin.clone(),
        since: bound("since", &args.since)?,
        until: bound("until", &args.until)?,
        limit: args.limit,
    })
}

/// How the events are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns for people (text made inert).
    Table,
    /// One authentik-shaped JSON object per line.
    JsonLines,
}

/// The columns of the table: header and width (the last one takes what is left).
const COLUMNS: &[(&str, usize)] = &[
    ("TIME (UTC)", 19),
    ("ACTION", 22),
    ("USER", 20),
    ("ORIGIN", 24),
    ("APP", 16),
    ("CONTEXT", 60),
];

/// The table's header line.
pub fn header() -> String {
    row(COLUMNS.iter().map(|(h, _)| h.to_string()).collect())
}

fn row(cells: Vec<String>) -> String {
    let mut out = String::new();
    for (i, (cell, (_, width))) in cells.iter().zip(COLUMNS).enumerate() {
        let text = ellipsize(&inert(cell), *width);
        if i + 1 == COLUMNS.len() {
            out.push_str(&text);
        } else {
            out.push_str(&format!("{text:<width$}  "));
        }
    }
    out.trim_end().to_string()
}

/// One event as a line of `format` (without the newline).
pub fn line(e: &Event, format: Format) -> String {
    match format {
        Format::JsonLines => audit::to_authentik_json(e).to_string(),
        Format::Table => {
            let time = audit::rfc3339(e.created_at)
                .replace('T', " ")
                .trim_end_matches('Z')
                .to_string();
            let origin = if e.client_ip.is_empty() {
                e.origin.clone()
            } else {
                format!("{} {}", e.origin, e.client_ip)
            };
            row(vec![
                time,
                e.action.clone(),
                e.username.clone(),
                origin,
                e.app.clone(),
                audit::summary(e),
            ])
        }
    }
}

fn write_batch(out: &mut impl Write, events: &[Event], format: Format) -> std::io::Result<()> {
    for e in events {
        writeln!(out, "{}", line(e, format))?;
    }
    out.flush()
}

/// Runs the command, printing to `out`; `stop` ends `--follow`. Returns the summary for
/// stderr (empty when following: the events are the output). A reader that goes away
/// (`| head`) ends the command without an error.
pub async fn run(
    service: &Service,
    args: &EventsArgs,
    out: &mut impl Write,
    stop: impl Future<Output = ()>,
) -> Result<String, EventsCliError> {
    let filter = filter_of(args, service.now())?;
    let format = if args.json {
        Format::JsonLines
    } else {
        Format::Table
    };
    match print(service, filter, format, args.follow, out, stop).await {
        Err(EventsCliError::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Ok(String::new())
        }
        other => other,
    }
}

async fn print(
    service: &Service,
    filter: EventFilter,
    format: Format,
    follow: bool,
    out: &mut impl Write,
    stop: impl Future<Output = ()>,
) -> Result<String, EventsCliError> {
    if format == Format::Table {
        writeln!(out, "{}", header())?;
    }
    if !follow {
        let mut events = service.query_events(&filter).await?;
        events.reverse();
        write_batch(out, &events, format)?;
        let what = filter.describe();
        return Ok(match (events.len(), what.is_empty()) {
            (1, true) => "1 event".to_string(),
            (n, true) => format!("{n} events"),
            (1, false) => format!("1 event ({what})"),
            (n, false) => format!("{n} events ({what})"),
        });
    }
    let mut follower = service.follow_events(filter);
    tokio::pin!(stop);
    loop {
        let batch = follower.poll().await?;
        write_batch(out, &batch, format)?;
        tokio::select! {
            () = &mut stop => return Ok(String::new()),
            () = tokio::time::sleep(FOLLOW_POLL) => {}
        }
    }
}

/// Resolves at Ctrl-C, SIGTERM, or the end of standard input when it is a terminal (Ctrl-D)
/// or a pipe (its writer closed it); `/dev/null` and files do not end a follower at once.
/// The signal handlers are installed here, before the first event is printed, so a signal
/// that arrives early still ends the command cleanly. Call it inside the runtime.
pub fn stop_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    let eof = stdin_can_end().then(|| {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        // A plain thread, not tokio's blocking pool: the runtime does not wait for it when
        // the command ends for another reason.
        std::thread::spawn(move || {
            let mut sink = [0u8; 256];
            let mut stdin = std::io::stdin().lock();
            loop {
                match std::io::Read::read(&mut stdin, &mut sink) {
                    Ok(0) => break,
                    Err(e) if e.kind() != std::io::ErrorKind::Interrupted => break,
                    _ => {}
                }
            }
            // The receiver is gone only when the command ended already.
            tx.send(()).ok();
        });
        rx
    });
    async move {
        let eof = async {
            let ended = match eof {
                Some(rx) => rx.await.is_ok(),
                None => false,
            };
            if !ended {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let signalled = async {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(interrupt) => {}
                () = wait(terminate) => {}
            }
        };
        #[cfg(not(unix))]
        let signalled = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = signalled => {}
            () = eof => {}
        }
    }
}

/// True when the end of standard input means someone wants the follower to stop.
fn stdin_can_end() -> bool {
    if std::io::stdin().is_terminal() {
        return true;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        std::fs::metadata("/dev/stdin").is_ok_and(|m| m.file_type().is_fifo())
    }
    #[cfg(not(unix))]
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> EventsArgs {
        EventsArgs {
            since: None,
            until: None,
            actions: Vec::new(),
            user: None,
            user_contains: None,
            app: None,
            client_ip: None,
            origin: None,
            limit: 100,
            json: false,
            follow: false,
        }
    }

    #[test]
    fn flags_become_the_filter() {
        let a = EventsArgs {
            since: Some("1h".into()),
            until: Some("2026-01-01".into()),
            actions: vec!["login".into(), "logout".into()],
            user_contains: Some("an".into()),
            app: Some("grafana".into()),
            client_ip: Some("10.0.0.1".into()),
            origin: Some("http".into()),
            limit: 7,
            ..args()
        };
        let f = filter_of(&a, 1_767_225_600).expect("filter");
        assert_eq!(f.since, Some(1_767_225_600 - 3_600));
        assert_eq!(f.until, Some(1_767_225_600));
        assert_eq!(f.user, Some(UserMatch::Contains("an".into())));
        assert_eq!(f.actions.len(), 2);
        assert_eq!(
            (f.app.as_deref(), f.client_ip.as_deref(), f.limit),
            (Some("grafana"), Some("10.0.0.1"), 7)
        );
        let bad = filter_of(
            &EventsArgs {
                until: Some("soon".into()),
                ..args()
            },
            0,
        )
        .expect_err("bad --until");
        assert!(
            bad.to_string()
                .starts_with("--until: \"soon\" is not a time")
        );
    }

    #[test]
    fn table_cells_are_inert_and_cut_to_their_column() {
        let e = Event {
            id: "e".into(),
            action: "login_failed".into(),
            username: "evil\u{1b}]52;c;x\u{7}".into(),
            user_id: None,
            app: String::new(),
            client_ip: "10.0.0.9".into(),
            origin: "http".into(),
            context: serde_json::json!({"message": "x".repeat(200)}),
            brand: String::new(),
            created_at: 1_767_225_600,
        };
        let l = line(&e, Format::Table);
        assert!(!l.contains('\u{1b}') && l.contains("evil^[]52"), "{l}");
        assert!(l.starts_with("2026-01-01 00:00:00  login_failed"), "{l}");
        assert!(l.contains("http 10.0.0.9"));
        assert!(l.ends_with(".."), "{l}");
        let json: serde_json::Value =
            serde_json::from_str(&line(&e, Format::JsonLines)).expect("json");
        assert_eq!(json["user"]["username"], "evil\u{1b}]52;c;x\u{7}");
    }
}
