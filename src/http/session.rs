//! The session cookie and the CSRF check. What a session holds and how it is stored is
//! [`crate::flows::session`]; HTTP only reads the cookie (the session extractor is in
//! [`super::extract`]), sends `Set-Cookie` and compares CSRF tokens.

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

use crate::context::Context;
use crate::crypto::secrets;
pub use crate::flows::session::{DEFAULT_LIFETIME, IDLE_TIMEOUT, Session};

/// The session cookie's name: authentik's, which its clients (`ak-flow-executor`, the Agent)
/// read the session from.
pub const COOKIE_NAME: &str = "authentik_session";

/// The name latchkey gave the session cookie before: still accepted, so existing sessions
/// stay signed in, and moved to [`COOKIE_NAME`] by the answer.
pub const LEGACY_COOKIE_NAME: &str = "latchkey_session";

/// The session cookie a request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RequestCookie {
    /// The cookie's value.
    pub value: String,
    /// Whether it came under [`LEGACY_COOKIE_NAME`] (the request carried no [`COOKIE_NAME`]).
    pub legacy: bool,
}

/// The request's session cookie when it carries a plausible one: [`COOKIE_NAME`] first, else
/// [`LEGACY_COOKIE_NAME`].
pub(super) fn request_cookie(headers: &HeaderMap) -> Option<RequestCookie> {
    let named = |name: &str| {
        cookie_named(headers, name).map(|value| RequestCookie {
            value,
            legacy: name == LEGACY_COOKIE_NAME,
        })
    };
    named(COOKIE_NAME).or_else(|| named(LEGACY_COOKIE_NAME))
}

/// The value of the cookie `name`, when present, non-empty and of a plausible length.
fn cookie_named(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// Marks a session the request named by [`LEGACY_COOKIE_NAME`]: the answer sends it under
/// [`COOKIE_NAME`] and expires the old cookie ([`set_cookie_headers`]).
pub(super) fn note_cookie_name(session: &mut Session, cookie: Option<&RequestCookie>) {
    if cookie.is_some_and(|c| c.legacy) && session.is_stored() {
        session.cookie_renamed = true;
        session.set_cookie = true;
    }
}

/// The Set-Cookie values of an answer: the session's cookie (HttpOnly, SameSite=Lax, Path=/,
/// Secure when the public URL is https) and, for a session found under the old name, that
/// cookie expired.
pub fn set_cookie_headers(ctx: &Context, session: &Session) -> Vec<String> {
    let secure = ctx.config().public_url.starts_with("https://");
    let attributes = |c: &mut String| {
        c.push_str("; HttpOnly; SameSite=Lax; Path=/");
        if secure {
            c.push_str("; Secure");
        }
    };
    let mut current = format!("{COOKIE_NAME}={}", session.cookie_value());
    attributes(&mut current);
    if let Some(age) = session.max_age {
        current.push_str(&format!("; Max-Age={age}"));
    }
    let mut out = vec![current];
    if session.cookie_renamed {
        let mut expired = format!("{LEGACY_COOKIE_NAME}=");
        attributes(&mut expired);
        expired.push_str("; Max-Age=0");
        out.push(expired);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookie: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, cookie.parse().expect("header"));
        h
    }

    #[test]
    fn the_current_name_wins_and_the_old_one_is_recognised_alone() {
        let cases = [
            ("authentik_session=new", Some(("new", false))),
            ("latchkey_session=old", Some(("old", true))),
            (
                "latchkey_session=old; authentik_session=new",
                Some(("new", false)),
            ),
            ("other=1; latchkey_session=old", Some(("old", true))),
            ("authentik_session=", None),
            ("latchkey_sessionx=old", None),
            ("", None),
        ];
        for (cookie, want) in cases {
            let got = request_cookie(&headers(cookie));
            let want = want.map(|(value, legacy)| RequestCookie {
                value: value.to_string(),
                legacy,
            });
            assert_eq!(got, want, "{cookie}");
        }
    }
}
