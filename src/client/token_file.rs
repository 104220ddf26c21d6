//! The token file: `$XDG_CONFIG_HOME/latchkey/tokens.json` (else the platform config dir),
//! mode 0600, replaced atomically (written to a private temp file, then renamed).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::ClientError;

/// What `latchkey login` stores.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredTokens {
    /// The issuer the tokens came from.
    pub issuer: String,
    /// The client they were issued to (needed to refresh and revoke).
    pub client_id: String,
    /// Where to refresh.
    pub token_endpoint: String,
    /// Where to revoke (RFC 7009), when the server has one.
    pub revocation_endpoint: Option<String>,
    /// The current access token.
    pub access_token: String,
    /// The current refresh token (rotated on every refresh).
    pub refresh_token: Option<String>,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// Unix time the access token expires at.
    pub expires_at: i64,
}

/// Where the tokens live.
pub fn token_file_path() -> Result<PathBuf, ClientError> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(dirs::config_dir)
        .ok_or_else(|| ClientError::TokenFile {
            path: "tokens.json".into(),
            reason: "no configuration directory; set XDG_CONFIG_HOME".into(),
        })?;
    Ok(base.join("latchkey").join("tokens.json"))
}

fn file_error(path: &Path, e: impl std::fmt::Display) -> ClientError {
    ClientError::TokenFile {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Reads the stored tokens; `NotLoggedIn` when there are none.
pub fn load(path: &Path) -> Result<StoredTokens, ClientError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ClientError::NotLoggedIn);
        }
        Err(e) => return Err(file_error(path, e)),
    };
    serde_json::from_str(&text).map_err(|e| {
        file_error(
            path,
            format!("unreadable ({e}); delete it and log in again"),
        )
    })
}

/// Writes the tokens: a 0600 temp file in the same directory, synced, then renamed over.
pub fn save(path: &Path, tokens: &StoredTokens) -> Result<(), ClientError> {
    let dir = path
        .parent()
        .ok_or_else(|| file_error(path, "has no parent directory"))?;
    create_private_dir(dir).map_err(|e| file_error(dir, e))?;
    let text = serde_json::to_vec_pretty(tokens).map_err(|e| file_error(path, e))?;
    let tmp = dir.join(format!(
        ".tokens.json.{}.{}",
        std::process::id(),
        crate::crypto::secrets::random_alnum(8)
    ));
    let result = (|| -> std::io::Result<()> {
        let mut file = open_private(&tmp)?;
        file.write_all(&text)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| file_error(path, e))
}

/// Deletes the token file (absent is fine).
pub fn delete(path: &Path) -> Result<(), ClientError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(file_error(path, e)),
    }
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}
