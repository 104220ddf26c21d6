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
    // As the WHATWG URL parser reads it: leading C0 controls and spaces stripped, and ASCII tab
    // and newline removed anywhere, so `j\tavascript:` is still `javascript:` to a browser.
    let trimmed = uri.trim_start_matches(|c: char| c.is_whitespace() || c.is_control());
    let lower: String = trimmed
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    ["javascript:", "data:", "vbscript:"]
        .iter()
        .any(|s| lower.starts_with(s))
}

/// The anchored form of an admin's redirect URI pattern, so `a.example` cannot match
/// `a.example.evil.com`; a pattern that does not compile is an error that names the position
/// and what is wrong.
pub fn anchored(pattern: &str) -> Result<regex::Regex, String> {
    // The pattern must compile on its own first: `)|(a` compiles once wrapped, as `^(?:)|(a)$`,
    // and would then match outside its anchors.
    regex::Regex::new(pattern).map_err(|e| regex_error(pattern, &e))?;
    regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|_| {
        // Said of the pattern as the admin wrote it, so the position is theirs.
        match regex::Regex::new(pattern) {
            Err(e) => regex_error(pattern, &e),
            Ok(_) => "the regex cannot be anchored".into(),
        }
    })
}

/// A regex error as one line: the position (1-based) when the error shows one, and the reason.
pub fn regex_error(pattern: &str, e: &regex::Error) -> String {
    let text = e.to_string();
    // regex reports the span as a caret line; turn it into a column.
    let col = text
        .lines()
        .find(|l| l.trim_start().starts_with('^'))
        .and_then(|l| l.find('^'))
        .and_then(|caret| {
            text.lines()
                .find(|l| l.contains(pattern))
                .and_then(|l| l.find(pattern))
                .map(|start| caret.saturating_sub(start) + 1)
        });
    let reason = text
        .lines()
        .rev()
        .find(|l| l.starts_with("error:"))
        .map(|l| l.trim_start_matches("error:").trim().to_string())
        .unwrap_or_else(|| text.lines().last().unwrap_or_default().to_string());
    match col {
        Some(c) => format!("invalid regex at position {c}: {reason}"),
        None => format!("invalid regex: {reason}"),
    }
}
