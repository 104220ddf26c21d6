//! The Have I Been Pwned range query (k-anonymity): the password's SHA-1 is computed here, only
//! its first five hex digits travel to `<base>/range/<prefix>`, and the answer's suffixes are
//! compared locally. Neither the password nor its hash is ever logged or recorded.

use std::sync::OnceLock;
use std::time::Duration;

use sha1::{Digest, Sha1};

/// How long one range query may take, connecting included.
pub const HIBP_TIMEOUT: Duration = Duration::from_secs(4);

/// Why the service gave no usable answer (never names the password, its hash or the prefix).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HibpError {
    /// Connecting, sending or reading failed, or took longer than [`HIBP_TIMEOUT`].
    #[error("cannot reach {base}: {reason}")]
    Unreachable { base: String, reason: String },
    /// The service answered with an error status.
    #[error("{base} answered HTTP {status}")]
    Status { base: String, status: u16 },
}

fn client() -> Result<&'static reqwest::Client, String> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    let c = reqwest::Client::builder()
        .timeout(HIBP_TIMEOUT)
        .connect_timeout(HIBP_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.without_url().to_string())?;
    Ok(CLIENT.get_or_init(|| c))
}

/// The upper-case SHA-1 of `password` in hex, split into the 5-digit prefix sent and the
/// 35-digit suffix kept.
pub fn split_hash(password: &str) -> (String, String) {
    let digest = Sha1::digest(password.as_bytes());
    let hex = crate::crypto::secrets::hex(&digest).to_ascii_uppercase();
    let (prefix, suffix) = hex.split_at(5);
    (prefix.to_string(), suffix.to_string())
}

/// The count a range answer gives for `suffix` (0 when it is not listed). Lines are
/// `SUFFIX:COUNT`, compared case-insensitively; a malformed line is skipped.
pub fn count_in_range(body: &str, suffix: &str) -> i64 {
    body.lines()
        .filter_map(|line| line.trim().split_once(':'))
        .find(|(s, _)| s.trim().eq_ignore_ascii_case(suffix))
        .and_then(|(_, count)| count.trim().parse().ok())
        .unwrap_or(0)
}

/// How many times `password` appears in the breach corpus at `base`.
pub async fn pwned_count(base: &str, password: &str) -> Result<i64, HibpError> {
    let base = base.trim_end_matches('/').to_string();
    let unreachable = |reason: String| HibpError::Unreachable {
        base: base.clone(),
        reason,
    };
    let (prefix, suffix) = split_hash(password);
    let client = client().map_err(unreachable)?;
    let answer = client
        .get(format!("{base}/range/{prefix}"))
        .send()
        .await
        .map_err(|e| unreachable(e.without_url().to_string()))?;
    let status = answer.status();
    if !status.is_success() {
        return Err(HibpError::Status {
            base: base.clone(),
            status: status.as_u16(),
        });
    }
    let mut answer = answer;
    let mut body = Vec::new();
    while let Some(chunk) = answer
        .chunk()
        .await
        .map_err(|e| unreachable(e.without_url().to_string()))?
    {
        if body.len() + chunk.len() > MAX_RANGE_BYTES {
            return Err(unreachable(format!(
                "the range answer is larger than {MAX_RANGE_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(count_in_range(&String::from_utf8_lossy(&body), &suffix))
}

/// The most a range answer may hold: the real service answers about 30 KiB (some 800 suffixes
/// with padding); a server sending more is not the range API.
const MAX_RANGE_BYTES: usize = 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_split_after_five_hex_digits() {
        // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8
        let (prefix, suffix) = split_hash("password");
        assert_eq!(prefix, "5BAA6");
        assert_eq!(suffix, "1E4C9B93F3F0682250B6CF8331B7EE68FD8");
    }

    #[test]
    fn the_suffix_count_is_read_from_the_range_answer() {
        let body = "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n\
                    1e4c9b93f3f0682250b6cf8331b7ee68fd8:9659365\r\nbroken line\r\n";
        assert_eq!(
            count_in_range(body, "1E4C9B93F3F0682250B6CF8331B7EE68FD8"),
            9_659_365
        );
        assert_eq!(count_in_range(body, "FFFFF"), 0);
    }
}
