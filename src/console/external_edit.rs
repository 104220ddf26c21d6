//! Ctrl-E: a multi-line field edited in the admin's own editor (`$VISUAL`, then `$EDITOR`, then
//! `vi`), run through `sh -c` like git does so `EDITOR="code -w"` works. The text goes through a
//! private temp file (mode 0600: it may be a private key) that is removed afterwards.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::process::Command;

/// The editor command line the admin configured.
pub fn editor_command() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string())
}

/// The temp file's extension, so the editor highlights the right syntax.
fn extension(key: &str) -> &'static str {
    match key {
        "expression" => "py",
        "certificate_data" | "key_data" => "pem",
        "attributes" | "context" => "json",
        "branding_custom_css" => "css",
        _ => "txt",
    }
}

fn temp_path(key: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "latchkey-{}.{}",
        crate::domain::new_id(),
        extension(key)
    ))
}

/// Runs the configured editor on `text` (the terminal must already be handed back to it) and
/// returns what it saved; an editor that fails leaves the field as it was.
pub fn edit(key: &str, text: &str) -> Result<String, String> {
    edit_with(&editor_command(), key, text)
}

/// [`edit`] with an explicit editor command line.
pub fn edit_with(editor: &str, key: &str, text: &str) -> Result<String, String> {
    let path = temp_path(key);
    let result = edit_at(editor, &path, text);
    let _ = std::fs::remove_file(&path);
    result
}

fn edit_at(editor: &str, path: &PathBuf, text: &str) -> Result<String, String> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create a temp file for the editor: {e}"))?;
    let mut body = text.to_string();
    if !body.is_empty() && !body.ends_with('\n') {
        body.push('\n');
    }
    file.write_all(body.as_bytes())
        .map_err(|e| format!("cannot write the temp file: {e}"))?;
    drop(file);
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("latchkey-editor")
        .arg(path)
        .status()
        .map_err(|e| format!("cannot run the editor '{editor}': {e}"))?;
    if !status.success() {
        return Err(format!(
            "the editor '{editor}' exited with {status}: the field is unchanged"
        ));
    }
    let mut out =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read the edited text: {e}"))?;
    // Editors end files with a newline; the field's text did not have one.
    if !text.ends_with('\n') && out.ends_with('\n') {
        out.pop();
        if out.ends_with('\r') {
            out.pop();
        }
    }
    Ok(out)
}
