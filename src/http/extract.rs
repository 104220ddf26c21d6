//! The extractors the handlers share: the browser session, the client IP, and form-encoded
//! parameters (from the query string on GET, the body on POST).

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::AppState;
use super::errors::HttpError;
use super::session::{self, Session};

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

/// The request's browser session: the live one its cookie names, or a fresh anonymous one
/// (stored on its first save). Loading only reads; a store failure is an error page.
impl FromRequestParts<AppState> for Session {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let ClientIp(ip) = ClientIp::from_parts(parts);
        let cookie = session::cookie_value(&parts.headers);
        Ok(crate::flows::session::load(&state.ctx, cookie.as_deref(), &ip).await?)
    }
}

/// Form-encoded parameters as ordered pairs (repeats kept, so validators can refuse them).
pub fn form_pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
