//! The terminal admin console (ratatui + crossterm). It reads and writes only through the
//! service layer.

use tokio_util::sync::CancellationToken;

use crate::logging::LogRing;
use crate::service::Service;

/// What the console needs from `main`.
pub struct ConsoleContext {
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
    #[error("terminal error: {0}")]
    Terminal(#[from] std::io::Error),
    #[error("{0}")]
    Theme(String),
}

/// Runs the console on the current terminal until the user quits or `cancel` fires.
pub async fn run(ctx: ConsoleContext, cancel: CancellationToken) -> Result<(), ConsoleError> {
    let _ = (ctx, cancel);
    Err(ConsoleError::Terminal(std::io::Error::other(
        "the console is being rebuilt",
    )))
}
