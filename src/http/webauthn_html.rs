//! The one script latchkey's pages carry: the WebAuthn step calls
//! `navigator.credentials.create`/`get` with the options the stage built (kept in a data
//! attribute, HTML-escaped), converts between base64url and bytes, and posts the credential as
//! JSON in the form's hidden field. It runs only under the page's CSP nonce
//! ([`super::headers::allow_script_nonce`]); without JavaScript the page says what is missing.

use std::fmt::Write as _;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use html_escape::encode_double_quoted_attribute as attr;
use serde_json::Value;

use crate::flows::{Challenge, ChallengeKind};

/// True for the challenges whose page needs the script.
pub fn needs_script(c: &Challenge) -> bool {
    matches!(
        &c.kind,
        ChallengeKind::AuthenticatorWebauthnSetup { .. }
            | ChallengeKind::AuthenticatorValidate {
                webauthn: Some(_),
                ..
            }
    )
}

/// A fresh nonce for one response's script (128 random bits).
pub fn new_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::Rng::fill(&mut rand::rng(), &mut bytes);
    STANDARD.encode(bytes)
}

/// The WebAuthn block of a form: the options, the hidden field `field` the script fills, a
/// button to (re)try and where failures are shown. `mode` is `create` or `get`.
pub fn ceremony(o: &mut String, c: &Challenge, mode: &str, field: &str, options: &Value) {
    // After a refused answer the page waits for the button instead of asking again at once.
    let auto = if c.errors.contains_key(field) {
        "false"
    } else {
        "true"
    };
    let _ = write!(
        o,
        "<div id=\"webauthn\" data-mode=\"{}\" data-field=\"{}\" data-auto=\"{auto}\" data-options=\"{}\">\
         <input type=\"hidden\" name=\"{}\" value=\"\">\
         <p id=\"webauthn-status\" role=\"status\">Waiting for your authenticator… \
         (this step needs JavaScript)</p>\
         <button type=\"button\" id=\"webauthn-start\">Use security key</button></div>",
        attr(mode),
        attr(field),
        attr(&options.to_string()),
        attr(field),
    );
    if let Some(list) = c.errors.get(field) {
        for e in list {
            let _ = write!(
                o,
                "<p class=\"error\" role=\"alert\">{}</p>",
                html_escape::encode_text(e)
            );
        }
    }
}

/// The script, under `nonce`.
pub fn script(o: &mut String, nonce: &str) {
    let _ = write!(o, "<script nonce=\"{}\">{}</script>", attr(nonce), SCRIPT);
}

/// Runs the ceremony once on load and again on the button; posts the result.
const SCRIPT: &str = r#"(function () {
  var el = document.getElementById("webauthn");
  if (!el || !window.PublicKeyCredential) { return; }
  var form = el.closest("form");
  var out = form.querySelector("input[name='" + el.dataset.field + "']");
  var status = document.getElementById("webauthn-status");
  function bytes(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var b = atob(s), a = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) { a[i] = b.charCodeAt(i); }
    return a.buffer;
  }
  function text(buf) {
    var a = new Uint8Array(buf), s = "";
    for (var i = 0; i < a.length; i++) { s += String.fromCharCode(a[i]); }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function ids(list) { (list || []).forEach(function (c) { c.id = bytes(c.id); }); }
  function run() {
    var o = JSON.parse(el.dataset.options), create = el.dataset.mode === "create", p;
    o.challenge = bytes(o.challenge);
    if (create) { o.user.id = bytes(o.user.id); ids(o.excludeCredentials); }
    else { ids(o.allowCredentials); }
    status.textContent = "Waiting for your authenticator…";
    p = create ? navigator.credentials.create({ publicKey: o })
               : navigator.credentials.get({ publicKey: o });
    p.then(function (cred) {
      var r = cred.response, j = { id: cred.id, rawId: text(cred.rawId), type: cred.type,
        clientExtensionResults: {}, response: { clientDataJSON: text(r.clientDataJSON) } };
      if (create) { j.response.attestationObject = text(r.attestationObject); }
      else {
        j.response.authenticatorData = text(r.authenticatorData);
        j.response.signature = text(r.signature);
        j.response.userHandle = r.userHandle ? text(r.userHandle) : null;
      }
      out.value = JSON.stringify(j);
      form.submit();
    }).catch(function (e) {
      status.textContent = "The authenticator did not answer (" + e.name + "). Try again.";
      status.setAttribute("data-error", e.name);
    });
  }
  document.getElementById("webauthn-start").addEventListener("click", run);
  if (el.dataset.auto !== "false") { run(); }
})();"#;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn setup() -> Challenge {
        Challenge::new(
            ChallengeKind::AuthenticatorWebauthnSetup {
                pending_user: "alice".into(),
                registration: json!({"challenge": "abc", "rp": {"name": "<x>\"y"}}),
            },
            "Setup",
            "setup",
        )
    }

    #[test]
    fn only_webauthn_steps_get_the_script() {
        let page = crate::http::challenge_html::render_with_script(
            None,
            &setup(),
            "csrf",
            "/if/flow/setup/",
            Some("n0nce"),
        );
        assert!(page.contains("<script nonce=\"n0nce\">"), "{page}");
        assert!(
            page.contains("data-options=\"{&quot;challenge&quot;:&quot;abc&quot;"),
            "{page}"
        );
        assert!(!page.contains("<x>"), "options are escaped: {page}");
        let totp = Challenge::new(
            ChallengeKind::AuthenticatorValidate {
                pending_user: "alice".into(),
                device_classes: vec!["totp".into()],
                webauthn: None,
            },
            "Login",
            "login",
        );
        assert!(!needs_script(&totp));
        let page = crate::http::challenge_html::render_with_script(
            None,
            &totp,
            "csrf",
            "/if/flow/login/",
            Some("n0nce"),
        );
        assert!(!page.contains("<script"), "{page}");
    }

    #[test]
    fn nonces_are_fresh() {
        assert_ne!(new_nonce(), new_nonce());
        assert!(new_nonce().len() >= 22);
    }
}
