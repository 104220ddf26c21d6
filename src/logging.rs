//! Logging: to stderr for `serve`, to a file and an in-memory ring for the console, so nothing
//! ever writes over the console's screen.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The most recent log lines, shown in the console's events view.
#[derive(Clone, Default)]
pub struct LogRing {
    lines: Arc<Mutex<VecDeque<String>>>,
}

impl LogRing {
    const CAPACITY: usize = 1000;

    /// A copy of the lines, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn push(&self, line: &str) {
        if let Ok(mut l) = self.lines.lock() {
            if l.len() == Self::CAPACITY {
                l.pop_front();
            }
            l.push_back(line.to_string());
        }
    }
}

/// Writes each log record to the file and the ring.
#[derive(Clone)]
struct FileAndRing {
    file: Arc<Mutex<File>>,
    ring: LogRing,
}

struct RecordWriter {
    target: FileAndRing,
    buf: Vec<u8>,
}

impl Write for RecordWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for RecordWriter {
    fn drop(&mut self) {
        if let Ok(mut f) = self.target.file.lock() {
            let _ = f.write_all(&self.buf);
        }
        let text = String::from_utf8_lossy(&self.buf);
        for line in text.lines() {
            self.target.ring.push(line);
        }
    }
}

impl<'a> MakeWriter<'a> for FileAndRing {
    type Writer = RecordWriter;

    fn make_writer(&'a self) -> Self::Writer {
        RecordWriter {
            target: self.clone(),
            buf: Vec::new(),
        }
    }
}

fn filter() -> EnvFilter {
    EnvFilter::try_from_env("LATCHKEY_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"))
}

/// The default log file: $XDG_STATE_HOME/latchkey/latchkey.log.
pub fn default_log_file() -> PathBuf {
    std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(dirs::state_dir)
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(|| PathBuf::from("."))
        .join("latchkey")
        .join("latchkey.log")
}

/// Sends logs to `path` and to the returned ring; nothing goes to stdout or stderr.
pub fn init_file(path: &Path) -> io::Result<LogRing> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let ring = LogRing::default();
    let writer = FileAndRing {
        file: Arc::new(Mutex::new(file)),
        ring: ring.clone(),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_ansi(false)
        .with_writer(writer)
        .try_init();
    Ok(ring)
}

/// Sends logs to stderr (the `serve` command).
pub fn init_stderr() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(io::stderr)
        .try_init();
}
