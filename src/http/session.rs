//! The session cookie and the CSRF check. What a session holds and how it is stored is
//! [`crate::flows::session`]; HTTP only reads the cookie (the session extractor is in
//! [`super::extract`]), sends `Set-Cookie` and compares CSRF tokens.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

use crate::context::Context;
use crate::crypto::secrets;
pub use crate::flows::session::{DEFAULT_LIFETIME, IDLE_TIMEOUT, Session};

/// The session cookie's name.
pub const COOKIE_NAME: &str = "latchkey_session";

/// The session cookie's value, when the request carries a plausible one.
pub(super) fn cookie_value(headers: &HeaderMap) -> Option<String> {
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
