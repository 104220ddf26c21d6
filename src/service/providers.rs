//! Provider admin helpers: checking a redirect URI as the authorize endpoint will use it, and
//! the URLs an application needs to talk to a provider.

/// What the form should say about one redirect URI before it is saved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UriCheck {
    /// Refuses the save.
    pub error: Option<String>,
    /// Asks for confirmation before saving.
    pub warning: Option<String>,
}

/// Checks one redirect URI the way the authorize endpoint will use it: regexes are compiled
/// anchored (errors name the position), catch-alls and unescaped dots need confirmation,
/// `http://` is only for loopback hosts, script schemes never.
pub fn check_redirect_uri(mode: crate::domain::MatchingMode, url: &str) -> UriCheck {
    use crate::domain::MatchingMode;
    let mut out = UriCheck::default();
    let url = url.trim();
    if url.is_empty() {
        out.error = Some("required: a URL or a regex".into());
        return out;
    }
    if crate::domain::redirect::is_forbidden_scheme(url) {
        out.error = Some("javascript:, data: and vbscript: URIs are never allowed".into());
        return out;
    }
    if mode == MatchingMode::Regex {
        if let Err(e) = crate::domain::redirect::anchored(url) {
            out.error = Some(e);
            return out;
        }
        let bare = url.trim_start_matches('^').trim_end_matches('$');
        if matches!(bare, ".*" | ".+" | "(.*)" | "(.+)") || bare.starts_with(".*") {
            out.warning = Some(format!("'{url}' matches any URL: an open redirect"));
        } else if has_unescaped_dot(url) {
            out.warning = Some(format!(
                "'{url}' has an unescaped '.', which matches any character (write \\.)"
            ));
        }
    }
    let lower = url.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("http://") {
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = host.rsplit('@').next().unwrap_or_default();
        let bare_host = if host.starts_with('[') {
            host.split(']')
                .next()
                .map(|h| format!("{h}]"))
                .unwrap_or_default()
        } else {
            host.split(':').next().unwrap_or_default().to_string()
        };
        let loopback = matches!(bare_host.as_str(), "127.0.0.1" | "[::1]" | "localhost")
            || (mode == MatchingMode::Regex
                && (bare_host.starts_with("127\\.0\\.0\\.1")
                    || bare_host.starts_with("localhost")));
        if !loopback {
            out.error = Some("http:// is only allowed for loopback hosts (127.0.0.1, [::1], localhost): use https://".into());
        }
    }
    out
}

fn has_unescaped_dot(pattern: &str) -> bool {
    let mut escaped = false;
    let mut in_class = false;
    for c in pattern.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' => in_class = true,
            ']' => in_class = false,
            '.' if !in_class => return true,
            _ => {}
        }
    }
    false
}

/// Every URL an application needs to talk to a provider, as the discovery document advertises
/// them: `(label, url)`. Without an application only the shared endpoints exist.
pub fn provider_urls(
    public_url: &str,
    app_slug: Option<&str>,
    issuer_mode: crate::domain::IssuerMode,
) -> Vec<(&'static str, String)> {
    let public_url = public_url.trim_end_matches('/');
    let base = format!("{public_url}/application/o");
    let mut out = Vec::new();
    if let Some(slug) = app_slug {
        let issuer = match issuer_mode {
            crate::domain::IssuerMode::PerProvider => format!("{base}/{slug}/"),
            crate::domain::IssuerMode::Global => format!("{public_url}/"),
        };
        out.push(("Issuer", issuer));
        out.push((
            "OpenID Configuration URL",
            format!("{base}/{slug}/.well-known/openid-configuration"),
        ));
    }
    out.push(("Authorize URL", format!("{base}/authorize/")));
    out.push(("Token URL", format!("{base}/token/")));
    out.push(("Userinfo URL", format!("{base}/userinfo/")));
    if let Some(slug) = app_slug {
        out.push(("JWKS URL", format!("{base}/{slug}/jwks/")));
        out.push(("Logout URL", format!("{base}/{slug}/end-session/")));
    }
    out.push(("Device URL", format!("{base}/device/")));
    out.push(("Revoke URL", format!("{base}/revoke/")));
    out.push(("Introspect URL", format!("{base}/introspect/")));
    out
}
