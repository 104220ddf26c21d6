//! The terminal admin console (ratatui + crossterm). It reads and writes only through the
//! service layer.
//!
//! [`app::App`] holds all state and handles keys without I/O, [`view::draw`] renders it, and
//! [`run`] is the thin async loop that feeds it terminal events, store changes and ticks.

#![warn(missing_docs)]

pub mod actions;
pub mod app;
pub mod data;
pub mod dialog;
pub mod external_edit;
pub mod filter;
pub mod form;
pub mod keymap;
pub mod tabs;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod view;

use std::io::IsTerminal;
use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::logging::LogRing;
use crate::service::Service;

use app::{App, AppConfig};
use data::DataSource;
use tabs::Tone;
use theme::Theme;

/// What the console needs from `main`.
pub struct ConsoleContext {
    /// The use-cases the console reads through.
    pub service: Service,
    /// The server's public URL, shown in the header.
    pub server_url: String,
    /// Where the store lives, shown in the header.
    pub store_path: String,
    /// Started with `--readonly`.
    pub readonly: bool,
    /// `--theme`.
    pub theme: Option<String>,
    /// Recent log lines, for the events view.
    pub logs: LogRing,
    /// A message shown once at start (the generated bootstrap password).
    pub startup_toast: Option<String>,
}

/// Why the console stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The terminal could not be set up, read or drawn on (the io error is the source).
    #[error(
        "the terminal cannot be used for the console (run it in a terminal, or use `latchkey serve`)"
    )]
    Terminal(#[from] std::io::Error),
    /// A bad `--theme`: the message names the file and the bad key.
    #[error("{0}")]
    Theme(String),
}

/// How often logs and "now" are refreshed without any other event.
const TICK: Duration = Duration::from_secs(1);

/// Runs the console on the current terminal until the user quits or `cancel` fires.
pub async fn run(ctx: ConsoleContext, cancel: CancellationToken) -> Result<(), ConsoleError> {
    // Resolve the theme before touching the terminal, so its error prints on a normal screen.
    let theme = Theme::load(ctx.theme.as_deref())?;
    // Escape codes piped into a file are useless, and crossterm would otherwise grab /dev/tty.
    if !std::io::stdout().is_terminal() {
        return Err(ConsoleError::Terminal(std::io::Error::other(
            "standard output is not a terminal",
        )));
    }
    let source = DataSource::new(ctx.service.clone());
    let mut changes = ctx.service.store().subscribe();
    let mut app = App::new(AppConfig {
        store_path: ctx.store_path.clone(),
        server_url: ctx.server_url.clone(),
        readonly: ctx.readonly,
        startup_toast: ctx.startup_toast.clone(),
        theme,
    });
    let mut guard = terminal::TerminalGuard::enter()?;
    let size = guard.terminal().size()?;
    app.resize(size.width, size.height);
    reload(&source, &mut app).await;
    app.apply_logs(ctx.logs.lines());

    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    let mut changes_open = true;
    loop {
        guard.terminal().draw(|f| view::draw(&app, f))?;
        if app.should_quit() {
            break;
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            ev = events.next() => match ev {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => app.handle_key(key),
                Some(Ok(Event::Resize(w, h))) => app.resize(w, h),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            change = changes.recv(), if changes_open => match change {
                Ok(_) | Err(RecvError::Lagged(_)) => {
                    // Coalesce a burst of commits into one reload.
                    while changes.try_recv().is_ok() {}
                    reload(&source, &mut app).await;
                }
                Err(RecvError::Closed) => changes_open = false,
            },
            _ = tick.tick() => app.apply_logs(ctx.logs.lines()),
        }
        while let Some(request) = app.take_request() {
            let outcome = actions::execute(&ctx.service, request).await;
            app.apply_outcome(outcome);
        }
        if let Some(edit) = app.take_external_edit() {
            // Hand the terminal to the editor: stop reading keys (the event stream would
            // steal the editor's input), leave the alternate screen, and take it all back.
            drop(events);
            guard.suspend()?;
            let result = external_edit::edit(edit.key, &edit.text);
            guard.resume()?;
            events = EventStream::new();
            app.finish_external_edit(edit.key, result);
        }
        if let Some(text) = app.take_clipboard() {
            use std::io::Write;
            let seq = app::osc52(&text, std::env::var_os("TMUX").is_some());
            let backend = guard.terminal().backend_mut();
            backend.write_all(seq.as_bytes())?;
            backend.flush()?;
        }
        if app.take_refresh_request() {
            // `r` / Ctrl-L: reload and repaint every cell, in case something scribbled on
            // the screen.
            guard.terminal().clear()?;
            reload(&source, &mut app).await;
        }
    }
    drop(guard);
    Ok(())
}

/// Loads a fresh snapshot; a failure becomes a status message, the old data stays on screen.
async fn reload(source: &DataSource, app: &mut App) {
    match source.load().await {
        Ok(data) => app.apply_data(data),
        Err(e) => {
            tracing::warn!(error = %e, "console reload failed");
            app.set_status(&format!("cannot read the store: {e}"), Tone::Error);
        }
    }
}
