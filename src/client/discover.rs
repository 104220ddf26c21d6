//! Finding the endpoints: from `--url` (an issuer `…/application/o/<slug>/`, or a base URL with
//! `--app <slug>`, the slug defaulting to the client id) to the OpenID discovery document.

use serde::Deserialize;

use super::error::{ClientError, one_line};
use super::http::HttpClient;

/// The endpoints the client uses, from the discovery document.
#[derive(Debug, Clone, Deserialize)]
pub struct Endpoints {
    /// The issuer, exactly as the server names itself.
    pub issuer: String,
    /// RFC 6749 token endpoint.
    pub token_endpoint: String,
    /// RFC 8628 device authorization endpoint.
    pub device_authorization_endpoint: Option<String>,
    /// RFC 7009 revocation endpoint.
    pub revocation_endpoint: Option<String>,
}

/// The issuer URL (with trailing slash) for `--url`/`--app`/`--client-id`.
pub fn issuer_url(url: &str, app: Option<&str>, client_id: &str) -> Result<String, ClientError> {
    let parsed = url::Url::parse(url.trim()).map_err(|e| {
        ClientError::Usage(format!(
            "--url {url:?} is not a URL ({e}); pass e.g. https://idp.example.com"
        ))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ClientError::Usage(format!(
            "--url {url:?} must be an http(s) URL with a host"
        )));
    }
    let path = parsed.path();
    if let Some(idx) = path.find("/application/o/") {
        let rest = &path[idx + "/application/o/".len()..];
        let slug = rest.split('/').next().unwrap_or("");
        if slug.is_empty() {
            return Err(ClientError::Usage(format!(
                "--url {url:?} names no application after /application/o/"
            )));
        }
        if let Some(a) = app.filter(|a| *a != slug) {
            return Err(ClientError::Usage(format!(
                "--app {a:?} conflicts with the application {slug:?} in --url"
            )));
        }
        let mut issuer = parsed.clone();
        issuer.set_path(&format!("{}/application/o/{slug}/", &path[..idx]));
        issuer.set_query(None);
        issuer.set_fragment(None);
        return Ok(issuer.to_string());
    }
    let slug = app.unwrap_or(client_id);
    let mut issuer = parsed.clone();
    issuer.set_path(&format!(
        "{}/application/o/{slug}/",
        path.trim_end_matches('/')
    ));
    issuer.set_query(None);
    issuer.set_fragment(None);
    Ok(issuer.to_string())
}

/// Fetches `<issuer>.well-known/openid-configuration`.
pub async fn discover(http: &HttpClient, issuer: &str) -> Result<Endpoints, ClientError> {
    let url = format!("{issuer}.well-known/openid-configuration");
    let response = http
        .inner()
        .get(&url)
        .send()
        .await
        .map_err(|e| ClientError::unreachable(&url, e))?;
    if !response.status().is_success() {
        return Err(ClientError::BadResponse {
            url,
            reason: format!(
                "HTTP {} (is the application slug right? pass --app SLUG)",
                response.status().as_u16()
            ),
        });
    }
    response
        .json::<Endpoints>()
        .await
        .map_err(|e| ClientError::BadResponse {
            url,
            reason: format!("not a discovery document: {}", one_line(&e)),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_from_url_forms() {
        let i = |u: &str, a: Option<&str>| issuer_url(u, a, "authentik-cli");
        assert_eq!(
            i("https://idp.example/application/o/cli/", None)
                .ok()
                .as_deref(),
            Some("https://idp.example/application/o/cli/")
        );
        assert_eq!(
            i(
                "https://idp.example/application/o/cli/.well-known/openid-configuration",
                None
            )
            .ok()
            .as_deref(),
            Some("https://idp.example/application/o/cli/")
        );
        assert_eq!(
            i("http://127.0.0.1:9000", None).ok().as_deref(),
            Some("http://127.0.0.1:9000/application/o/authentik-cli/")
        );
        assert_eq!(
            i("http://127.0.0.1:9000/", Some("app")).ok().as_deref(),
            Some("http://127.0.0.1:9000/application/o/app/")
        );
        assert!(i("https://idp.example/application/o/cli/", Some("other")).is_err());
        assert!(i("not a url", None).is_err());
        assert!(i("ftp://x/", None).is_err());
    }
}
