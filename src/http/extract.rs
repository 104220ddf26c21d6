//! The extractors the handlers share: the browser session, the client IP, and form-encoded
//! parameters (from the query string on GET, the body on POST).

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::SharedState;
use super::errors::HttpError;
use super::session::{self, Session};
use crate::flows::RequestInfo;

/// The client's IP from the socket (forwarded headers are not trusted: no proxy is
/// configured); empty when the router runs without connection info.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientIp(pub String);

impl ClientIp {
    /// Reads the connection info axum records for each request.
    pub fn from_parts(parts: &Parts) -> Self {
        Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| a.ip().to_string())
                .unwrap_or_default(),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self::from_parts(parts))
    }
}

/// The host the request named (its `Host` header, else the URI's authority), as sent: it picks
/// the brand ([`crate::flows::lookup::brand_for_host`]). `None` when the request named none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestHost(pub Option<String>);

impl RequestHost {
    /// Reads the request's host.
    pub fn from_parts(parts: &Parts) -> Self {
        let header = parts
            .headers
            .get(axum::http::header::HOST)
            .and_then(|v| v.to_str().ok());
        let authority = parts.uri.authority().map(|a| a.as_str());
        Self(header.or(authority).map(str::to_string))
    }

    /// The host, for the brand lookups.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestHost {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self::from_parts(parts))
    }
}

/// Headers that carry credentials: never handed to expressions.
const CREDENTIAL_HEADERS: [&str; 3] = ["cookie", "authorization", "proxy-authorization"];

/// `user-agent` → `User-Agent`, the spelling Django's `request.headers` iterates with.
fn header_title(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
            })
        })
        .collect::<Vec<_>>()
        .join("-")
}

impl RequestInfo {
    /// The request line and headers (hyper already bounds their number and size), without
    /// the credential headers.
    pub fn from_parts(parts: &Parts) -> Self {
        let headers = parts
            .headers
            .iter()
            .filter(|(name, _)| !CREDENTIAL_HEADERS.contains(&name.as_str()))
            .filter_map(|(name, value)| {
                let value = value.to_str().ok()?;
                Some((header_title(name.as_str()), value.to_string()))
            })
            .collect();
        Self {
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: form_pairs(parts.uri.query().unwrap_or_default().as_bytes()),
            headers,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestInfo {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self::from_parts(parts))
    }
}

/// The request's browser session: the live one its cookie names, or a fresh anonymous one
/// (stored on its first save). Loading only reads; a store failure is an error page.
impl FromRequestParts<SharedState> for Session {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, HttpError> {
        let ClientIp(ip) = ClientIp::from_parts(parts);
        let cookie = session::request_cookie(&parts.headers);
        let value = cookie.as_ref().map(|c| c.value.as_str());
        let mut loaded = crate::flows::session::load(&state.ctx, value, &ip).await?;
        session::note_cookie_name(&mut loaded, cookie.as_ref());
        crate::oauth::session_step::end_if_binding_broken(&state.ctx, &mut loaded).await?;
        Ok(loaded)
    }
}

/// Form-encoded parameters as ordered pairs (repeats kept, so validators can refuse them).
pub fn form_pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_info_titles_headers_and_leaves_out_credentials() {
        let (parts, ()) = axum::http::Request::builder()
            .method("POST")
            .uri("/if/flow/login/?next=%2Fx&a=1")
            .header("user-agent", "curl/8")
            .header("x-forwarded-for", "10.0.0.1")
            .header("cookie", "authentik_session=secret")
            .header("authorization", "Bearer secret")
            .body(())
            .map(axum::http::Request::into_parts)
            .expect("a request");
        let info = RequestInfo::from_parts(&parts);
        assert_eq!(info.method, "POST");
        assert_eq!(info.path, "/if/flow/login/");
        assert_eq!(
            info.query,
            vec![("next".into(), "/x".into()), ("a".into(), "1".into())]
        );
        assert_eq!(
            info.headers,
            vec![
                ("User-Agent".into(), "curl/8".into()),
                ("X-Forwarded-For".into(), "10.0.0.1".into()),
            ]
        );
    }
}
