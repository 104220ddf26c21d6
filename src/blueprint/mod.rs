//! authentik blueprints: read (YAML with tags and line numbers), check, apply in one
//! transaction, and export. The default objects bootstrap creates are blueprints too
//! (`fixtures/blueprints/default/`, embedded at build time).

pub mod apply;
pub mod cache;
pub mod change_events;
pub mod document;
pub mod error;
pub mod export;
pub mod models;
pub mod resolve;
pub mod tags;
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
        "default/flow-default-provider-authorization-explicit-consent.yaml",
        include_str!(
            "../../fixtures/blueprints/default/flow-default-provider-authorization-explicit-consent.yaml"
        ),
    ),
    (
        "default/flow-default-provider-authorization-implicit-consent.yaml",
        include_str!(
            "../../fixtures/blueprints/default/flow-default-provider-authorization-implicit-consent.yaml"
        ),
    ),
    (
        "default/flow-default-provider-invalidation.yaml",
        include_str!("../../fixtures/blueprints/default/flow-default-provider-invalidation.yaml"),
    ),
    (
        "default/system-providers-oauth2.yaml",
        include_str!("../../fixtures/blueprints/default/system-providers-oauth2.yaml"),
    ),
    // After the authentication flow, whose identification stage it links itself into; in slug
    // order among the flows, as an export lists them.
    (
        "default/flow-default-recovery-flow.yaml",
        include_str!("../../fixtures/blueprints/default/flow-default-recovery-flow.yaml"),
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
        "default/default-brand-recovery.yaml",
        include_str!("../../fixtures/blueprints/default/default-brand-recovery.yaml"),
    ),
    (
        "default/flow-device-code.yaml",
        include_str!("../../fixtures/blueprints/default/flow-device-code.yaml"),
    ),
    (
        "default/flow-default-enrollment-flow.yaml",
        include_str!("../../fixtures/blueprints/default/flow-default-enrollment-flow.yaml"),
    ),
    (
        "default/flow-oobe.yaml",
        include_str!("../../fixtures/blueprints/default/flow-oobe.yaml"),
    ),
];

/// Blueprints bootstrap does not apply but a `metaapplyblueprint` entry may name: the
/// authentik platform's CLI client (`authentik CLI`, which its agent blueprint requires).
pub const META_ONLY_BLUEPRINTS: &[(&str, &str)] = &[(
    "platform/cli.yaml",
    include_str!("../../fixtures/blueprints/platform/cli.yaml"),
)];

/// authentik's paths (under its `blueprints/` directory) of the blueprints latchkey bundles
/// under another path, so a `metaapplyblueprint` naming authentik's `path` finds them.
pub const AUTHENTIK_PATHS: &[(&str, &str)] = &[
    (
        "system/providers-oauth2.yaml",
        "default/system-providers-oauth2.yaml",
    ),
    ("default/default-brand.yaml", "default/default-brand.yaml"),
];

/// Every blueprint latchkey carries: (key, text).
pub fn bundled() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    DEFAULT_BLUEPRINTS.iter().chain(META_ONLY_BLUEPRINTS)
}

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
/// source names in a `metaapplyblueprint` entry comes just before it (once), after the ones it
/// names in turn.
pub fn parse_all(sources: &[Source]) -> Result<Vec<Blueprint>, BlueprintError> {
    let mut out: Vec<Blueprint> = Vec::new();
    for source in sources {
        let bp = document::parse(source)?;
        with_requires(bp, &mut out, &mut Vec::new())?;
    }
    Ok(out)
}

/// Pushes the bundled blueprints `bp` requires (depth first), then `bp`. `visiting` holds the
/// bundled files being expanded, so a cycle stops instead of recursing forever.
fn with_requires(
    bp: Blueprint,
    out: &mut Vec<Blueprint>,
    visiting: &mut Vec<String>,
) -> Result<(), BlueprintError> {
    for key in &bp.requires {
        let file = bundled_file(key);
        if out.iter().any(|b| b.file == file) || visiting.contains(&file) {
            continue;
        }
        if let Some((_, text)) = bundled().find(|(k, _)| k == key) {
            let required = document::parse(&Source {
                file: file.clone(),
                text: (*text).to_string(),
            })?;
            visiting.push(file);
            with_requires(required, out, visiting)?;
            visiting.pop();
        }
    }
    out.push(bp);
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every bundled blueprint parses, has a name of its own (metaapplyblueprint matches by
    /// it), and every authentik path points at one of them.
    #[test]
    fn bundled_blueprints_parse_with_distinct_names_and_known_paths() {
        let mut names = Vec::new();
        for (key, text) in bundled() {
            let bp = document::parse(&Source {
                file: bundled_file(key),
                text: (*text).to_string(),
            })
            .unwrap_or_else(|e| panic!("{key}: {e}"));
            assert!(!bp.name.is_empty(), "{key}");
            assert!(!names.contains(&bp.name), "{key}: {} twice", bp.name);
            names.push(bp.name);
        }
        for (theirs, ours) in AUTHENTIK_PATHS {
            assert!(bundled().any(|(k, _)| k == ours), "{theirs} -> {ours}");
        }
    }
}
