//! `!File path` / `!File [path, default]`: a file's text, trimmed (as authentik's). A file
//! that does not exist or cannot be read gives the default (null without one), as authentik
//! does. latchkey is stricter about which files a blueprint may read (docs/DEPARTURES.md): an
//! absolute path without `..`, a regular file of at most [`MAX_FILE_BYTES`] of UTF-8 text, and
//! nothing under the kernel's pseudo-filesystems (`/proc`, `/sys`, `/dev`).

use std::io::Read;
use std::path::{Component, Path};

use serde_json::Value;

use crate::blueprint::resolve::{Scope, TagError, resolve};
use crate::blueprint::yaml::{Node, NodeValue};

/// The largest file `!File` reads (secrets and certificates are far smaller).
pub const MAX_FILE_BYTES: u64 = 64 * 1024;

/// Directories whose files are never read: what they hold is the kernel's, not a secret an
/// admin put there for a blueprint.
const REFUSED_ROOTS: &[&str] = &["/proc", "/sys", "/dev"];

fn err<T>(node: &Node, message: impl Into<String>) -> Result<T, TagError> {
    Err(TagError {
        line: node.line,
        message: message.into(),
    })
}

/// `!File`.
pub fn file(node: &Node, untagged: &Node, scope: &Scope<'_>) -> Result<Value, TagError> {
    let (path_node, default) = match &untagged.value {
        NodeValue::Seq(items) => match items.as_slice() {
            [p] => (p, Value::Null),
            [p, d] => (p, resolve(d, scope)?),
            _ => return err(node, "!File takes a path, or [path, default]"),
        },
        _ => (untagged, Value::Null),
    };
    let path = resolve(path_node, scope)?;
    let Some(path) = path.as_str().filter(|p| !p.is_empty()) else {
        return err(node, "!File takes a path, or [path, default]");
    };
    check_path(path).or_else(|m| err(node, format!("!File {path}: {m}")))?;
    match read_text(Path::new(path)) {
        Ok(text) => Ok(Value::String(text.trim().to_string())),
        Err(Unreadable::Io(e)) => {
            tracing::warn!(path, error = %e, "!File: cannot read the file; using the default");
            Ok(default)
        }
        Err(Unreadable::Refused(m)) => err(node, format!("!File {path}: {m}")),
    }
}

/// Refuses relative paths, `..` and the pseudo-filesystems.
fn check_path(path: &str) -> Result<(), String> {
    let p = Path::new(path);
    if !p.is_absolute() {
        return Err(
            "the path must be absolute (a relative one depends on where latchkey was \
                    started)"
                .into(),
        );
    }
    if p.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err("the path must not contain `..`".into());
    }
    if REFUSED_ROOTS.iter().any(|r| p.starts_with(r)) {
        return Err(format!(
            "files under {} are not read",
            REFUSED_ROOTS.join(", ")
        ));
    }
    Ok(())
}

enum Unreadable {
    /// Missing or unreadable: the default applies.
    Io(std::io::Error),
    /// Read, but not something a blueprint may use: an error.
    Refused(String),
}

fn read_text(path: &Path) -> Result<String, Unreadable> {
    let meta = std::fs::metadata(path).map_err(Unreadable::Io)?;
    if !meta.is_file() {
        return Err(Unreadable::Refused("not a regular file".into()));
    }
    // Checked again on the bytes read: the file may grow between the two.
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(Unreadable::Io)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(Unreadable::Io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|_| Unreadable::Refused("the file is not UTF-8 text".into()))
}

fn too_big(len: u64) -> Unreadable {
    Unreadable::Refused(format!(
        "the file is {len} bytes or more; !File reads at most {MAX_FILE_BYTES}"
    ))
}
