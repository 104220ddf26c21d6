//! Redirect URI entries and their exact matching rules (RFC 6749 §3.1.2, RFC 8252 §7.3,
//! OAuth 2.0 Security BCP §4.1): strict entries compare byte for byte, regex entries are anchored.

use serde::{Deserialize, Serialize};

use super::enums::{MatchingMode, RedirectUriType};

/// One allowed redirect URI of a provider, as authentik stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectUri {
    pub matching_mode: MatchingMode,
    pub url: String,
    #[serde(default)]
    pub redirect_uri_type: RedirectUriType,
}

impl RedirectUri {
    /// A strict authorization redirect URI.
    pub fn strict(url: impl Into<String>) -> Self {
        Self {
            matching_mode: MatchingMode::Strict,
            url: url.into(),
            redirect_uri_type: RedirectUriType::Authorization,
        }
    }
}

/// Schemes that can run code in a browser; never a valid redirect target.
pub fn is_forbidden_scheme(uri: &str) -> bool {
    let trimmed = uri.trim_start_matches(|c: char| c.is_whitespace() || c.is_control());
    let lower = trimmed.to_ascii_lowercase();
    ["javascript:", "data:", "vbscript:"]
        .iter()
        .any(|s| lower.starts_with(s))
}
