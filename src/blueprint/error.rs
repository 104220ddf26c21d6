//! Blueprint errors: every one names the file, the line and (when there is one) the entry, so a
//! failed import can be fixed without guessing.

/// Where in a blueprint something went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    /// 1-based entry number and its model, when the error is inside an entry.
    pub entry: Option<(usize, String)>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if let Some((n, model)) = &self.entry {
            write!(f, ": entry {n} ({model})")?;
        }
        Ok(())
    }
}

/// Why a blueprint could not be read, applied or exported.
#[derive(Debug, thiserror::Error)]
pub enum BlueprintError {
    /// The file could not be read.
    #[error("{file}: cannot read: {reason}")]
    Read { file: String, reason: String },
    /// The blueprint is invalid or an entry failed; nothing was written.
    #[error("{at}: {message}")]
    At { at: Location, message: String },
    /// The store failed outside any entry.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A request the importer cannot serve (an unknown model to export, a password that cannot
    /// be hashed).
    #[error("{0}")]
    Refused(String),
}

impl BlueprintError {
    /// An error at `at`.
    pub fn at(at: &Location, message: impl Into<String>) -> Self {
        BlueprintError::At {
            at: at.clone(),
            message: message.into(),
        }
    }
}
