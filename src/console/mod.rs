//! The terminal admin console (ratatui + crossterm). It reads and writes only through the
//! service layer.
//!
//! [`app::App`] holds all state and handles keys without I/O, [`view::draw`] renders it, and
//! [`run`] is the thin async loop that feeds it terminal events, store changes and ticks.

#![warn(missing_docs)]

pub mod actions;
pub mod app;
pub mod clipboard;
pub mod data;
pub mod dialog;
pub mod dry_run;
pub mod external_edit;
pub mod facts;
pub mod filter;
pub mod form;
pub mod inspect;
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

use app::{App, AppConfig, ServerMode};
use data::DataSource;
use tabs::Tone;
use theme::Theme;

/// What the console needs from `main`.
pub struct ConsoleContext {
    /// The use-cases the console reads through.
    pub service: Service,
    /// The server's public URL, shown in the header (empty: found in the store's registry).
    pub server_url: String,
    /// Whether the server runs in this process (`run`) or elsewhere (`console`).
    pub server: ServerMode,
    /// Where the store lives, shown in the header.
    pub store_path: String,
    /// Started with `--readonly`.
    pub readonly: bool,
    /// `--theme`.
    pub theme: Option<String>,
    /// Recent log lines, for the events view.
    pub logs: LogRing,
    /// The initial-setup URL while akadmin has no usable password, shown until acknowledged.
    pub initial_setup_url: Option<String>,
}

/// What the console says while the initial setup is to do (akadmin has no password yet):
/// wraps at any width, stays until acknowledged.
pub fn first_start_message(setup_url: &str) -> String {
    format!(
        "akadmin, the administrator of this instance, has no password yet. Open this address \
         in a browser to choose its email and password; you are signed in right after:\n\n\
         {setup_url}\n\nOr set one with P on the Users tab (0). To have it set at the first \
         start instead, start with LATCHKEY_BOOTSTRAP_PASSWORD."
    )
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

/// Activity (tokens, sessions, events) reloads the console at most this often: a busy token
/// endpoint commits a batch every few milliseconds, and every reload rebuilds all rows.
/// Configuration changes still reload at once.
const ACTIVITY_RELOAD: Duration = Duration::from_secs(1);

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
    let mut app = App::new(AppConfig {
        store_path: ctx.store_path.clone(),
        server_url: ctx.server_url.clone(),
        readonly: ctx.readonly,
        startup_toast: ctx.initial_setup_url.as_deref().map(first_start_message),
        theme,
    })
    .with_server_mode(ctx.server);
    let mut guard = terminal::TerminalGuard::enter()?;
    let size = guard.terminal().size()?;
    app.resize(size.width, size.height);
    event_loop(&ctx, &source, &mut app, &mut guard, &cancel).await?;
    drop(guard);
    Ok(())
}

/// Draws, then waits for a key, a store change, a tick or `cancel`, until the user quits.
async fn event_loop(
    ctx: &ConsoleContext,
    source: &DataSource,
    app: &mut App,
    guard: &mut terminal::TerminalGuard,
    cancel: &CancellationToken,
) -> Result<(), ConsoleError> {
    // Subscribe before the first load, so no commit falls between the two.
    let mut changes = ctx.service.store().subscribe();
    reload(source, app).await;
    app.apply_logs(ctx.logs.lines());
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    let mut changes_open = true;
    let mut pacing = ReloadPacing::new();
    loop {
        guard.terminal().draw(|f| view::draw(app, f))?;
        if app.should_quit() {
            return Ok(());
        }
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            ev = events.next() => match ev {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => app.handle_key(key),
                Some(Ok(Event::Resize(w, h))) => app.resize(w, h),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            },
            change = changes.recv(), if changes_open => {
                let config = match change {
                    // Coalesce a burst of commits into one reload.
                    Ok(first) => {
                        let mut config = first.topic.affects_config();
                        while let Ok(c) = changes.try_recv() {
                            config |= c.topic.affects_config();
                        }
                        Some(config)
                    }
                    // Too many commits to tell what they were: reload as for activity (the
                    // tick catches up within ACTIVITY_RELOAD + TICK at the latest).
                    Err(RecvError::Lagged(_)) => {
                        while changes.try_recv().is_ok() {}
                        Some(false)
                    }
                    Err(RecvError::Closed) => {
                        changes_open = false;
                        None
                    }
                };
                if let Some(config) = config
                    && pacing.note(config)
                {
                    reload(source, app).await;
                    pacing.reloaded();
                }
            },
            _ = tick.tick() => {
                app.apply_logs(ctx.logs.lines());
                reload_instances(source, app).await;
                if app.live_view().is_some() {
                    reload_executions(source, app).await;
                }
                if pacing.due() {
                    reload(source, app).await;
                    pacing.reloaded();
                }
            }
        }
        after_input(ctx, source, app, guard, &mut events).await?;
    }
}

/// What the last input asked the loop for: use-case calls, `$EDITOR`, the clipboard, a
/// full repaint.
async fn after_input(
    ctx: &ConsoleContext,
    source: &DataSource,
    app: &mut App,
    guard: &mut terminal::TerminalGuard,
    events: &mut EventStream,
) -> Result<(), ConsoleError> {
    while let Some(request) = app.take_request() {
        let outcome = actions::execute(&ctx.service, request).await;
        app.apply_outcome(outcome);
    }
    if let Some(edit) = app.take_external_edit() {
        // Hand the terminal to the editor: stop reading keys (the event stream would
        // steal the editor's input), leave the alternate screen, and take it all back.
        // Dropping the old stream stops its reader; the new one reads only once the loop
        // polls it again, after the editor.
        *events = EventStream::new();
        guard.suspend()?;
        let result = external_edit::edit(edit.key, &edit.text);
        guard.resume()?;
        app.finish_external_edit(edit.key, result);
    }
    if let Some(clip) = app.take_clip() {
        use std::io::Write;
        let (wrap, delivery) = clipboard::ClipboardEnv::probe().decide();
        let seq = app::osc52(&clip.value, wrap);
        let backend = guard.terminal().backend_mut();
        backend.write_all(seq.as_bytes())?;
        backend.flush()?;
        app.clipboard_sent(&clip, &delivery);
    }
    if app.take_refresh_request() {
        // `r` / Ctrl-L: reload and repaint every cell, in case something scribbled on
        // the screen.
        guard.terminal().clear()?;
        reload(source, app).await;
    }
    Ok(())
}

/// When store changes reload the console: configuration at once, activity (tokens, sessions,
/// events) at most every [`ACTIVITY_RELOAD`], with a pending one caught up by the tick.
struct ReloadPacing {
    last: tokio::time::Instant,
    pending: bool,
}

impl ReloadPacing {
    fn new() -> Self {
        Self {
            last: tokio::time::Instant::now(),
            pending: false,
        }
    }

    /// Notes changes; true when they should reload now.
    fn note(&mut self, config: bool) -> bool {
        self.pending = true;
        config || self.last.elapsed() >= ACTIVITY_RELOAD
    }

    /// True when noted activity has waited long enough.
    fn due(&self) -> bool {
        self.pending && self.last.elapsed() >= ACTIVITY_RELOAD
    }

    fn reloaded(&mut self) {
        self.last = tokio::time::Instant::now();
        self.pending = false;
    }
}

/// Loads a fresh snapshot; a failure becomes a status message, the old data stays on screen.
async fn reload(source: &DataSource, app: &mut App) {
    reload_instances(source, app).await;
    let events = app.event_filter().clone();
    match source.load_with(&events).await {
        Ok(data) => app.apply_data(data),
        Err(e) => {
            tracing::warn!(error = %e, "console reload failed");
            app.set_status(&format!("cannot read the store: {e}"), Tone::Error);
        }
    }
}

/// Reads the store's server registry (the header's URL and health); a failure is logged and
/// the last answer stays.
async fn reload_instances(source: &DataSource, app: &mut App) {
    match source.instances().await {
        Ok(instances) => app.apply_instances(instances),
        Err(e) => tracing::warn!(error = %e, "cannot read the store's server registry"),
    }
}

/// Reads the flow executions in progress for the live view (every tick while it is open, so
/// it follows a user within about a second, whichever process serves them); a failure is
/// logged and the last answer stays.
async fn reload_executions(source: &DataSource, app: &mut App) {
    match source.executions().await {
        Ok(executions) => app.apply_executions(executions),
        Err(e) => tracing::warn!(error = %e, "cannot read the flow executions"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn configuration_reloads_at_once_and_activity_at_most_once_a_second() {
        let mut p = ReloadPacing::new();
        assert!(p.note(true), "a configuration change reloads at once");
        p.reloaded();
        assert!(!p.note(false), "activity right after a reload waits");
        assert!(!p.due());
        tokio::time::advance(ACTIVITY_RELOAD / 2).await;
        assert!(!p.note(false), "more activity still waits");
        assert!(p.note(true), "but a configuration change does not");
        p.reloaded();
        assert!(!p.due(), "nothing pending after a reload");
        assert!(!p.note(false));
        tokio::time::advance(ACTIVITY_RELOAD).await;
        assert!(p.due(), "the tick catches up with pending activity");
        p.reloaded();
        tokio::time::advance(ACTIVITY_RELOAD * 3).await;
        assert!(!p.due(), "no activity, no reload");
        assert!(
            p.note(false),
            "activity long after the last reload reloads at once"
        );
    }
}
