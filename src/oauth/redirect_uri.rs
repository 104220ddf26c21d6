//! Redirect URI matching (RFC 6749 §3.1.2.3, RFC 8252 §7.3, OAuth 2.0 Security BCP §4.1.3):
//! strict entries compare byte for byte, loopback entries may differ only in port, regex entries
//! must match the whole URI, and script-capable schemes never match.

use crate::domain::redirect::{RedirectUri, is_forbidden_scheme};
use crate::domain::{MatchingMode, RedirectUriType};

/// Why a redirect URI was refused (authentik's causes, so logs read the same).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    #[error("redirect_uri is missing")]
    Missing,
    #[error("redirect_uri uses a forbidden scheme")]
    ForbiddenScheme,
    #[error("redirect_uri does not match any registered redirect URI")]
    NoMatch,
}

use crate::domain::redirect::anchored;

/// Splits `http://127.0.0.1:PORT/rest` or `http://[::1]:PORT/rest` into (host, rest).
fn loopback_parts(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let (host, after) = if let Some(r) = rest.strip_prefix("127.0.0.1") {
        ("127.0.0.1", r)
    } else if let Some(r) = rest.strip_prefix("[::1]") {
        ("[::1]", r)
    } else {
        return None;
    };
    let after = match after.strip_prefix(':') {
        Some(port_and_rest) => {
            let digits = port_and_rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(port_and_rest.len());
            if digits == 0 || digits > 5 {
                return None;
            }
            &port_and_rest[digits..]
        }
        None => after,
    };
    if !(after.is_empty() || after.starts_with('/') || after.starts_with('?')) {
        return None; // e.g. `127.0.0.1.evil.com` or `127.0.0.1@evil`
    }
    Some((host, after))
}

fn strict_matches(registered: &str, candidate: &str) -> bool {
    if registered == candidate {
        return true;
    }
    match (loopback_parts(registered), loopback_parts(candidate)) {
        (Some((rh, rr)), Some((ch, cr))) => rh == ch && rr == cr,
        _ => false,
    }
}

/// Checks `candidate` against the provider's registered URIs of `kind`. An empty list never
/// matches: a provider never learns a redirect URI from a request.
pub fn check(
    registered: &[RedirectUri],
    kind: RedirectUriType,
    candidate: Option<&str>,
) -> Result<(), RedirectError> {
    let candidate = candidate
        .filter(|c| !c.is_empty())
        .ok_or(RedirectError::Missing)?;
    if is_forbidden_scheme(candidate) {
        return Err(RedirectError::ForbiddenScheme);
    }
    let found = registered
        .iter()
        .filter(|r| r.redirect_uri_type == kind)
        .any(|r| match r.matching_mode {
            MatchingMode::Strict => strict_matches(&r.url, candidate),
            MatchingMode::Regex => match anchored(&r.url) {
                Ok(re) => re.is_match(candidate),
                Err(err) => {
                    tracing::warn!(pattern = %r.url, error = %err, "invalid redirect URI regex skipped");
                    false
                }
            },
        });
    if found {
        Ok(())
    } else {
        Err(RedirectError::NoMatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict(url: &str) -> Vec<RedirectUri> {
        vec![RedirectUri::strict(url)]
    }

    fn regex(pattern: &str) -> Vec<RedirectUri> {
        vec![RedirectUri {
            matching_mode: MatchingMode::Regex,
            url: pattern.into(),
            redirect_uri_type: RedirectUriType::Authorization,
        }]
    }

    fn ok(reg: &[RedirectUri], uri: &str) -> bool {
        check(reg, RedirectUriType::Authorization, Some(uri)).is_ok()
    }

    /// Found by the property tests: `)|(a` compiled once wrapped (`^(?:)|(a)$`) and matched
    /// `a` outside the anchors; a browser reads `j\tavascript:` as `javascript:`.
    #[test]
    fn patterns_cannot_escape_their_anchors_nor_schemes_hide_behind_breaks() {
        assert!(!ok(&regex(")|(a"), "a"));
        assert!(!ok(&regex(")|(a"), "https://evil.example/a"));
        for uri in [
            "j\tavascript:alert(1)",
            "java\nscript:x",
            "d\ra\tta:text/html,x",
        ] {
            assert_eq!(
                check(&regex(".*"), RedirectUriType::Authorization, Some(uri)),
                Err(RedirectError::ForbiddenScheme),
                "{uri:?}"
            );
        }
    }

    #[test]
    fn strict_attack_table() {
        let reg = strict("https://app.example.com/cb");
        assert!(ok(&reg, "https://app.example.com/cb"));
        for attack in [
            "https://app.example.com/cb/",
            "https://APP.example.com/cb",
            "https://app.example.com/CB",
            "https://app.example.com:443/cb",
            "https://app.example.com/cb?x=1",
            "https://app.example.com/cb#frag",
            "https://app.example.com/cb%2F",
            "https://app.example.com/cb/../cb",
            "https://app.example.com/x/../cb",
            "https://app.example.com/cb;x",
            "https://app.example.com/cb%00",
            "https://app.example.com@evil.example/cb",
            "https://evil.example/cb",
            "https://app.example.com.evil.example/cb",
            "http://app.example.com/cb",
            " https://app.example.com/cb",
            "",
        ] {
            assert!(!ok(&reg, attack), "{attack:?} must not match");
        }
    }

    #[test]
    fn loopback_may_vary_only_in_port() {
        let reg = strict("http://127.0.0.1/cb");
        assert!(ok(&reg, "http://127.0.0.1:51234/cb"));
        assert!(ok(&reg, "http://127.0.0.1/cb"));
        assert!(!ok(&reg, "http://127.0.0.1:51234/other"));
        assert!(!ok(&reg, "http://127.0.0.1.evil.example/cb"));
        assert!(!ok(&reg, "http://127.0.0.1:80@evil.example/cb"));
        assert!(!ok(&reg, "https://127.0.0.1:51234/cb"));
        assert!(!ok(&reg, "http://localhost:51234/cb"));
        let v6 = strict("http://[::1]:8080/cb");
        assert!(ok(&v6, "http://[::1]:9999/cb"));
        assert!(!ok(&v6, "http://127.0.0.1:9999/cb"));
        // Non-loopback hosts never get port flexibility.
        assert!(!ok(
            &strict("http://localhost:8080/cb"),
            "http://localhost:8081/cb"
        ));
    }

    #[test]
    fn regex_is_anchored() {
        let reg = regex(r"https://app\.example\.com/.*");
        assert!(ok(&reg, "https://app.example.com/anything"));
        assert!(!ok(&reg, "https://evil.example/?https://app.example.com/x"));
        let unescaped = regex("https://app.example.com/cb");
        assert!(!ok(&unescaped, "https://app.example.com/cb.evil"));
        assert!(!ok(&regex("http://local.invalid?"), "http://localhost"));
        assert!(ok(&regex(".+"), "foo://localhost"));
        assert!(
            !ok(&regex("+"), "foo://localhost"),
            "invalid regex is skipped"
        );
    }

    #[test]
    fn script_schemes_never_match_even_catch_all() {
        let reg = regex(".*");
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "  javascript:alert(1)",
            "\tdata:text/html,x",
            "vbscript:x",
        ] {
            assert_eq!(
                check(&reg, RedirectUriType::Authorization, Some(bad)),
                Err(RedirectError::ForbiddenScheme),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn empty_list_and_missing_never_match() {
        assert_eq!(
            check(&[], RedirectUriType::Authorization, Some("https://a/cb")),
            Err(RedirectError::NoMatch)
        );
        assert_eq!(
            check(
                &strict("https://a/cb"),
                RedirectUriType::Authorization,
                None
            ),
            Err(RedirectError::Missing)
        );
        // Logout entries do not authorize.
        let logout = vec![RedirectUri {
            matching_mode: MatchingMode::Strict,
            url: "https://a/cb".into(),
            redirect_uri_type: RedirectUriType::Logout,
        }];
        assert!(!ok(&logout, "https://a/cb"));
    }
}
