//! authentik blueprints: read (YAML with tags and line numbers), check, apply in one
//! transaction, and export. The default objects bootstrap creates are blueprints too
//! (`fixtures/blueprints/default/`, embedded at build time).

pub mod apply;
pub mod cache;
pub mod document;
pub mod error;
pub mod export;
pub mod models;
pub mod resolve;
pub mod yaml;

use std::path::Path;

pub use apply::{ApplyReport, PasswordPlan, Passwords};
pub use document::{Blueprint, Source};
pub use error::{BlueprintError, Location};
pub use export::ExportFilter;

/// The blueprints bootstrap applies, in order (embedded so the binary needs no files).
pub const DEFAULT_BLUEPRINTS: &[(&str, &str)] = &[
    (
        "default/flow-default-authentication-flow.yaml",
        include_str!("../../fixtures/blueprints/default/flow-default-authentication-flow.yaml"),
    ),
    (
        "default/flow-default-invalidation-flow.yaml",
        include_str!("../../fixtures/blueprints/default/flow-default-invalidation-flow.yaml"),
    ),
    (
        "default/flow-default-provider-authorization.yaml",
        include_str!("../../fixtures/blueprints/default/flow-default-provider-authorization.yaml"),
    ),
    (
        "default/system-providers-oauth2.yaml",
        include_str!("../../fixtures/blueprints/default/system-providers-oauth2.yaml"),
    ),
    (
        "default/flow-default-user-settings-flow.yaml",
        include_str!("../../fixtures/blueprints/default/flow-default-user-settings-flow.yaml"),
    ),
    (
        "default/default-brand.yaml",
        include_str!("../../fixtures/blueprints/default/default-brand.yaml"),
    ),
    (
        "default/flow-device-code.yaml",
        include_str!("../../fixtures/blueprints/default/flow-device-code.yaml"),
    ),
    (
        "default/flow-oobe.yaml",
        include_str!("../../fixtures/blueprints/default/flow-oobe.yaml"),
    ),
];

/// Reads blueprint files (refusing huge ones before reading them whole).
pub fn read_sources(paths: &[impl AsRef<Path>]) -> Result<Vec<Source>, BlueprintError> {
    let mut out = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let file = path.display().to_string();
        let read_err = |reason: String| BlueprintError::Read {
            file: file.clone(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| read_err(e.to_string()))?;
        if meta.len() > yaml::MAX_FILE_BYTES as u64 {
            return Err(BlueprintError::at(
                &Location {
                    file: file.clone(),
                    line: 1,
                    entry: None,
                },
                format!(
                    "the file is {} bytes; blueprints larger than {} bytes are refused",
                    meta.len(),
                    yaml::MAX_FILE_BYTES
                ),
            ));
        }
        let text = std::fs::read_to_string(path).map_err(|e| read_err(e.to_string()))?;
        out.push(Source { file, text });
    }
    Ok(out)
}

/// Parses and checks every source; the first problem is returned. A bundled blueprint that a
/// source names in a `metaapplyblueprint` entry comes just before it (once).
pub fn parse_all(sources: &[Source]) -> Result<Vec<Blueprint>, BlueprintError> {
    let mut out: Vec<Blueprint> = Vec::new();
    for source in sources {
        let bp = document::parse(source)?;
        for key in &bp.requires {
            let file = bundled_file(key);
            if out.iter().any(|b| b.file == file) {
                continue;
            }
            if let Some((_, text)) = DEFAULT_BLUEPRINTS.iter().find(|(k, _)| k == key) {
                out.push(document::parse(&Source {
                    file,
                    text: (*text).to_string(),
                })?);
            }
        }
        out.push(bp);
    }
    Ok(out)
}

fn bundled_file(key: &str) -> String {
    format!("fixtures/blueprints/{key}")
}

/// The embedded default blueprints, checked.
pub fn defaults() -> Result<Vec<Blueprint>, BlueprintError> {
    let sources: Vec<Source> = DEFAULT_BLUEPRINTS
        .iter()
        .map(|(file, text)| Source {
            file: bundled_file(file),
            text: (*text).to_string(),
        })
        .collect();
    parse_all(&sources)
}
