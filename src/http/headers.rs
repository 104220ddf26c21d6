//! The headers every page and flow API answer carries, and the session's Set-Cookie.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

use super::AppState;
use super::session::{self, Session};

/// The security headers of every page: no framing, no scripts, no caching, no sniffing.
pub fn base_security_headers(resp: &mut Response) {
    let h = resp.headers_mut();
    let set = |h: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: https:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    );
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::CACHE_CONTROL, "no-store");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
}

/// Lets the one inline script under `nonce` run (the WebAuthn step's page); the rest of the
/// policy is the base one.
pub fn allow_script_nonce(resp: &mut Response, nonce: &str) {
    let policy = format!(
        "default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: https:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    );
    if let Ok(v) = HeaderValue::from_str(&policy) {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, v);
    }
}

/// The security headers, plus the session's Set-Cookie when its cookie must be (re)sent.
pub fn security_headers(state: &AppState, sess: Option<&Session>, resp: &mut Response) {
    base_security_headers(resp);
    let Some(s) = sess.filter(|s| s.set_cookie) else {
        return;
    };
    for cookie in session::set_cookie_headers(&state.ctx, s) {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
}
