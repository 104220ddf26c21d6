//! The session cookie, the CSRF check and the session extractor. What a session holds and how
//! it is stored is [`crate::flows::session`]; HTTP only reads the cookie, sends `Set-Cookie` and
//! compares CSRF tokens.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use axum::http::request::Parts;

use super::AppState;
use super::errors::HttpError;
use super::extract::ClientIp;
use crate::context::Context;
use crate::crypto::secrets;
pub use crate::flows::session::{
    DATA_VERSION, DEFAULT_LIFETIME, IDLE_TIMEOUT, PARKED_LIFETIME, PendingAuthorization, Session,
    SessionData,
};

/// The session cookie's name.
pub const COOKIE_NAME: &str = "latchkey_session";

/// The session cookie's value, when the request carries a plausible one.
fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE_NAME)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The request's browser session: the live one its cookie names, or a fresh anonymous one
/// (stored on its first save). Loading only reads; a store failure is an error page.
impl FromRequestParts<AppState> for Session {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, HttpError> {
        let ClientIp(ip) = ClientIp::from_parts(parts);
        let cookie = cookie_value(&parts.headers);
        Ok(crate::flows::session::load(&state.ctx, cookie.as_deref(), &ip).await?)
    }
}

/// The Set-Cookie value: HttpOnly, SameSite=Lax, Path=/, Secure when the public URL is https.
pub fn set_cookie_header(ctx: &Context, session: &Session) -> String {
    let mut c = format!(
        "{COOKIE_NAME}={}; HttpOnly; SameSite=Lax; Path=/",
        session.cookie_value()
    );
    if ctx.config().public_url.starts_with("https://") {
        c.push_str("; Secure");
    }
    if let Some(age) = session.max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    c
}

/// Checks a submitted CSRF token against the session's, in constant time.
pub fn csrf_ok(session: &Session, given: Option<&str>) -> bool {
    match given {
        Some(g) if !g.is_empty() && !session.data.csrf.is_empty() => {
            secrets::constant_time_eq(g, &session.data.csrf)
        }
        _ => false,
    }
}
