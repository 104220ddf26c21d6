//! Which brand answers a request: authentik's `get_brand_for_request` with its newest domain
//! rule (a brand's `domain` matches the request's host exactly or as a parent domain, at a dot:
//! `example.com` matches `example.com` and `login.example.com`, never `fake-example.com`), the
//! longest matching domain first, else the default brand.

use super::Brand;

/// The host a request names (the `Host` header or a TLS server name), as brands are matched
/// against it: ASCII lower case, without a port, brackets or a trailing dot; `None` when empty.
pub fn normalise_host(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let host = if let Some(rest) = raw.strip_prefix('[') {
        // An IPv6 literal: `[::1]:8443`.
        rest.split_once(']').map_or(rest, |(h, _)| h)
    } else if raw.matches(':').count() == 1 {
        raw.split_once(':').map_or(raw, |(h, _)| h)
    } else {
        raw
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// Whether `domain` (a brand's) matches `host` (already [`normalise_host`]d).
pub fn domain_matches(domain: &str, host: &str) -> bool {
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    if domain.is_empty() {
        return false;
    }
    host == domain
        || host
            .strip_suffix(domain.as_str())
            .is_some_and(|rest| rest.ends_with('.'))
}

/// The brand for a request to `host`: the brand whose domain matches it, the longest domain
/// first; else the default brand; `None` when neither exists.
pub fn brand_for_host<'a>(brands: &'a [Brand], host: Option<&str>) -> Option<&'a Brand> {
    let host = host.and_then(normalise_host);
    host.as_deref()
        .and_then(|h| {
            brands
                .iter()
                .filter(|b| domain_matches(&b.domain, h))
                .max_by_key(|b| b.domain.trim_end_matches('.').len())
        })
        .or_else(|| brands.iter().find(|b| b.default))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brand(domain: &str, default: bool) -> Brand {
        Brand {
            id: domain.into(),
            domain: domain.into(),
            default,
            branding_title: domain.into(),
            branding_logo: String::new(),
            branding_favicon: String::new(),
            branding_custom_css: String::new(),
            flow_authentication_id: None,
            flow_invalidation_id: None,
            flow_recovery_id: None,
            flow_unenrollment_id: None,
            flow_user_settings_id: None,
            flow_device_code_id: None,
            web_certificate_id: None,
            default_application_id: None,
            attributes: serde_json::Value::Null,
            created_at: 0,
            updated_at: 0,
            version: 1,
        }
    }

    fn pick<'a>(brands: &'a [Brand], host: &str) -> Option<&'a str> {
        brand_for_host(brands, Some(host)).map(|b| b.domain.as_str())
    }

    #[test]
    fn hosts_lose_their_port_case_and_trailing_dot() {
        assert_eq!(
            normalise_host("Login.Example.COM:8443").as_deref(),
            Some("login.example.com")
        );
        assert_eq!(
            normalise_host("example.com.").as_deref(),
            Some("example.com")
        );
        assert_eq!(normalise_host("[::1]:9000").as_deref(), Some("::1"));
        assert_eq!(normalise_host("::1").as_deref(), Some("::1"));
        assert_eq!(normalise_host(" "), None);
    }

    #[test]
    fn the_longest_domain_matching_at_a_dot_wins_else_the_default() {
        let brands = [
            brand("authentik-default", true),
            brand("example.com", false),
            brand("login.example.com", false),
        ];
        assert_eq!(pick(&brands, "example.com"), Some("example.com"));
        assert_eq!(pick(&brands, "app.example.com:443"), Some("example.com"));
        assert_eq!(
            pick(&brands, "LOGIN.example.com"),
            Some("login.example.com")
        );
        assert_eq!(
            pick(&brands, "a.login.example.com"),
            Some("login.example.com")
        );
        assert_eq!(pick(&brands, "fake-example.com"), Some("authentik-default"));
        assert_eq!(pick(&brands, "127.0.0.1:9000"), Some("authentik-default"));
        assert_eq!(
            brand_for_host(&brands, None).map(|b| b.domain.as_str()),
            Some("authentik-default")
        );
        assert_eq!(pick(&brands[1..], "other.org"), None, "no default brand");
    }
}
