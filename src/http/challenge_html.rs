//! Challenges as HTML: each challenge a plain form that works without JavaScript, in the shared
//! page shell ([`super::shell`]) styled by the request's brand. Everything user- or admin-supplied
//! is HTML-escaped; forms carry the session's CSRF token. Pure rendering: no request, no
//! session, no store.

use std::fmt::Write as _;

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::shell;
use crate::domain::Brand;
use crate::flows::challenge::{CANCEL_URL, ConsentPermission, PromptField};
use crate::flows::{Challenge, ChallengeKind, LogoutFrame};

fn field_errors(out: &mut String, c: &Challenge, field: &str) {
    if let Some(list) = c.errors.get(field) {
        for e in list {
            let _ = write!(out, "<p class=\"error\" role=\"alert\">{}</p>", text(e));
        }
    }
}

fn input(out: &mut String, c: &Challenge, name: &str, label: &str, kind: &str, extra: &str) {
    let _ = write!(
        out,
        "<label for=\"{n}\">{l}</label><input id=\"{n}\" name=\"{n}\" type=\"{k}\" {extra}>",
        n = attr(name),
        l = text(label),
        k = attr(kind),
    );
    field_errors(out, c, name);
}

/// The form's fields and button for a challenge (empty for the terminal kinds).
fn form_body(c: &Challenge) -> String {
    let mut o = String::new();
    match &c.kind {
        ChallengeKind::Identification {
            user_fields,
            password_fields,
            enable_remember_me,
            enroll_url,
            passwordless_url,
            recovery_url,
            ..
        } => {
            identification(
                &mut o,
                c,
                user_fields,
                *password_fields,
                *enable_remember_me,
            );
            if let Some(url) = passwordless_url {
                let _ = write!(
                    o,
                    "<p><a id=\"passwordless\" href=\"{}\">Use a security key</a></p>",
                    attr(url)
                );
            }
            if let Some(url) = recovery_url {
                let _ = write!(
                    o,
                    "<p class=\"links\"><a id=\"recovery\" href=\"{}\">Forgot username or password?</a></p>",
                    attr(url)
                );
            }
            if let Some(url) = enroll_url {
                let _ = write!(
                    o,
                    "<p class=\"links\">Need an account? <a id=\"enroll\" href=\"{}\">Sign up.</a></p>",
                    attr(url)
                );
            }
        }
        ChallengeKind::Password {
            pending_user,
            recovery_url,
            ..
        } => password(&mut o, c, pending_user, recovery_url.as_deref()),
        ChallengeKind::AuthenticatorValidate {
            pending_user,
            device_classes,
            webauthn,
        } => {
            if let Some(options) = webauthn {
                let _ = write!(o, "<p class=\"user\">{}</p>", text(pending_user));
                super::webauthn_html::ceremony(&mut o, c, "get", "webauthn", options);
            }
            if device_classes.iter().any(|d| d != "webauthn") {
                totp_code(
                    &mut o,
                    c,
                    pending_user,
                    device_classes.iter().any(|d| d == "static"),
                )
            }
        }
        ChallengeKind::AuthenticatorWebauthnSetup { registration, .. } => {
            o.push_str("<p>Register a passkey or security key for this account.</p>");
            super::webauthn_html::ceremony(&mut o, c, "create", "response", registration);
        }
        ChallengeKind::AuthenticatorTotpSetup {
            config_url,
            secret,
            qr_svg,
            ..
        } => totp_setup(&mut o, c, config_url, secret, qr_svg),
        ChallengeKind::Consent {
            header_text,
            permissions,
            token,
            ..
        } => consent(&mut o, c, header_text, permissions, token),
        ChallengeKind::Prompt { fields } => {
            for f in fields {
                prompt_field(&mut o, c, f);
            }
            o.push_str("<button type=\"submit\">Continue</button>");
        }
        ChallengeKind::ProviderIframeLogout { logout_urls } => iframe_logout(&mut o, logout_urls),
        ChallengeKind::EndpointAgent { .. } => {
            // Without scripts the page cannot reach the Agent: it goes on without a device
            // (an optional stage continues, a required one says what is missing).
            o.push_str(
                "<p>This sign-in checks your device through the authentik Agent.</p>\
                 <button type=\"submit\">Continue</button>",
            );
        }
        ChallengeKind::Email => o.push_str(
            "<p id=\"email-sent\">Email sent. Check your inbox and follow the link in it to \
             continue; you may close this page.</p>\
             <button type=\"submit\" class=\"secondary\">Send the email again</button>",
        ),
        ChallengeKind::AccessDenied { .. } | ChallengeKind::Redirect { .. } => {}
        ChallengeKind::AuthenticatorStaticSetup { codes, .. } => static_codes(&mut o, c, codes),
    }
    o
}

/// `ak-stage-authenticator-static`: the recovery codes, shown this once, then Continue saves
/// them.
fn static_codes(o: &mut String, c: &Challenge, codes: &[String]) {
    o.push_str(
        "<p>Save these recovery codes somewhere safe. Each works once, and they are not shown \
         again.</p><ul class=\"recovery-codes\" id=\"recovery-codes\">",
    );
    for code in codes {
        let _ = write!(o, "<li><code>{}</code></li>", text(code));
    }
    o.push_str("</ul>");
    field_errors(o, c, "non_field_errors");
    o.push_str("<button type=\"submit\">I have saved them</button>");
}

/// `ak-stage-identification`: the identifier (labelled by the fields it matches), optionally
/// the password and "stay signed in".
fn identification(
    o: &mut String,
    c: &Challenge,
    user_fields: &[String],
    password_fields: bool,
    enable_remember_me: bool,
) {
    let label = user_fields
        .iter()
        .map(|f| match f.as_str() {
            "email" => "Email",
            "upn" => "UPN",
            _ => "Username",
        })
        .collect::<Vec<_>>()
        .join(" or ");
    input(
        o,
        c,
        "uid_field",
        &label,
        "text",
        "autocomplete=\"username\" autofocus required",
    );
    if password_fields {
        input(
            o,
            c,
            "password",
            "Password",
            "password",
            "autocomplete=\"current-password\"",
        );
    }
    if enable_remember_me {
        o.push_str(
            "<label><input type=\"checkbox\" name=\"remember_me\" value=\"true\"> \
             Stay signed in</label>",
        );
    }
    o.push_str("<button type=\"submit\">Log in</button>");
}

/// `ak-stage-password`.
fn password(o: &mut String, c: &Challenge, pending_user: &str, recovery_url: Option<&str>) {
    let _ = write!(o, "<p class=\"user\">{}</p>", text(pending_user));
    input(
        o,
        c,
        "password",
        "Password",
        "password",
        "autocomplete=\"current-password\" autofocus required",
    );
    o.push_str("<button type=\"submit\">Continue</button>");
    if let Some(url) = recovery_url {
        let _ = write!(
            o,
            "<p class=\"links\"><a id=\"recovery\" href=\"{}\">Forgot password?</a></p>",
            attr(url)
        );
    }
}

/// `ak-stage-authenticator-validate`: a TOTP code, or a recovery code (letters and digits)
/// when the user has one.
fn totp_code(o: &mut String, c: &Challenge, pending_user: &str, recovery_codes: bool) {
    let _ = write!(o, "<p class=\"user\">{}</p>", text(pending_user));
    let (label, extra) = if recovery_codes {
        (
            "Authentication code or recovery code",
            "autocomplete=\"one-time-code\" autocapitalize=\"off\" autofocus required",
        )
    } else {
        (
            "Authentication code",
            "inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9]*\" autofocus required",
        )
    };
    input(o, c, "code", label, "text", extra);
    o.push_str("<button type=\"submit\">Continue</button>");
}

/// `ak-stage-authenticator-totp`: the QR code, the secret and the URI, then a first code.
fn totp_setup(o: &mut String, c: &Challenge, config_url: &str, secret: &str, qr_svg: &str) {
    o.push_str("<p>Scan this code with your authenticator app, or enter the secret by hand.</p>");
    // The SVG is generated by the qrcode crate from the URI; it contains no markup taken from
    // input.
    let _ = write!(
        o,
        "<div class=\"qr\">{}</div>",
        qr_svg
            .trim_start_matches(|ch| ch != '<')
            .replace("<?xml version=\"1.0\" standalone=\"yes\"?>", "")
    );
    let _ = write!(
        o,
        "<p>Secret: <code id=\"totp-secret\">{}</code></p>",
        text(secret)
    );
    let _ = write!(o, "<p class=\"uri\"><code>{}</code></p>", text(config_url));
    input(
        o,
        c,
        "code",
        "Code",
        "text",
        "inputmode=\"numeric\" autocomplete=\"one-time-code\" required",
    );
    o.push_str("<button type=\"submit\">Confirm</button>");
}

/// `ak-stage-consent`: what the application asks for (each scope's description), the token
/// the answer echoes, Continue and Deny (which declines: the client gets `access_denied`).
fn consent(
    o: &mut String,
    c: &Challenge,
    header_text: &str,
    permissions: &[ConsentPermission],
    token: &str,
) {
    let _ = write!(o, "<p id=\"header-text\">{}</p>", text(header_text));
    let list = permission_list(permissions);
    if !list.is_empty() {
        let _ = write!(o, "<p>The application asks for:</p>{list}");
    }
    let _ = write!(
        o,
        "<input type=\"hidden\" name=\"token\" value=\"{}\">",
        attr(token)
    );
    field_errors(o, c, "token");
    o.push_str(
        "<button type=\"submit\">Continue</button>\
         <button type=\"submit\" class=\"secondary\" name=\"deny\" value=\"true\">Deny</button>",
    );
}

/// The permissions a consent grants, as the consent and `/device` pages list them: each
/// scope mapping's description, or the scope itself when the mapping has none. `openid` alone
/// only signs the user in, so it is not listed (as authentik's consent page does). Empty when
/// nothing is left to list.
pub fn permission_list(permissions: &[ConsentPermission]) -> String {
    let items: String = permissions
        .iter()
        .filter(|p| p.id != "openid")
        .map(|p| {
            let shown = if p.name.is_empty() {
                format!("<code>{}</code>", text(&p.id))
            } else {
                text(&p.name).into_owned()
            };
            format!("<li data-permission-code=\"{}\">{shown}</li>", attr(&p.id))
        })
        .collect();
    if items.is_empty() {
        return items;
    }
    format!("<ul class=\"permissions\" id=\"permissions\">{items}</ul>")
}

/// The HTML input type for authentik's prompt field types (text for anything else).
fn prompt_input_type(field_type: &str) -> &'static str {
    match field_type {
        "email" => "email",
        "password" => "password",
        "number" => "number",
        "checkbox" => "checkbox",
        "hidden" => "hidden",
        "date" => "date",
        "date-time" => "datetime-local",
        _ => "text",
    }
}

/// One field of `ak-stage-prompt` (static text and separators are paragraphs).
fn prompt_field(o: &mut String, c: &Challenge, f: &PromptField) {
    if matches!(f.field_type.as_str(), "static" | "separator") {
        let _ = write!(o, "<p>{}</p>", text(&f.initial_value));
        return;
    }
    let kind = prompt_input_type(&f.field_type);
    let extra = format!(
        "value=\"{}\" placeholder=\"{}\"{}{}",
        attr(&f.initial_value),
        attr(&f.placeholder),
        if f.required && kind != "checkbox" {
            " required"
        } else {
            ""
        },
        if f.field_type == "text_read_only" {
            " readonly"
        } else {
            ""
        },
    );
    input(o, c, &f.field_key, &f.label, kind, &extra);
    if !f.sub_text.is_empty() {
        let _ = write!(o, "<p class=\"help\">{}</p>", text(&f.sub_text));
    }
}

/// `ak-provider-iframe-logout`: the relying parties signed out of, each URL in a hidden frame.
fn iframe_logout(o: &mut String, logout_urls: &[LogoutFrame]) {
    o.push_str("<p>Signing you out of:</p><ul>");
    for f in logout_urls {
        let _ = write!(o, "<li>{}</li>", text(&f.provider_name));
    }
    o.push_str("</ul>");
    o.push_str(&logout_iframes(logout_urls.iter().map(|f| f.url.as_str())));
    o.push_str("<button type=\"submit\">Continue</button>");
}

/// Renders a challenge as a full page in the shared shell.
pub fn render(brand: Option<&Brand>, c: &Challenge, csrf: &str, action: &str) -> String {
    render_with_script(brand, c, csrf, action, None)
}

/// [`render`], plus the WebAuthn script under `nonce` for the challenges that need it
/// ([`super::webauthn_html::needs_script`]); every other page stays script-free.
pub fn render_with_script(
    brand: Option<&Brand>,
    c: &Challenge,
    csrf: &str,
    action: &str,
    nonce: Option<&str>,
) -> String {
    let mut o = String::with_capacity(2048);
    for m in &c.messages {
        let _ = write!(o, "<p class=\"message\">{}</p>", text(m));
    }
    if let ChallengeKind::AccessDenied { error_message } = &c.kind {
        let _ = write!(
            o,
            "<p class=\"error\" role=\"alert\" id=\"access-denied\">{}</p><p><a href=\"{}\">Start again</a></p>",
            text(error_message),
            attr(action)
        );
    } else {
        field_errors(&mut o, c, "non_field_errors");
        let _ = write!(
            o,
            "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <input type=\"hidden\" name=\"component\" value=\"{}\">{}</form>",
            attr(action),
            attr(csrf),
            attr(c.kind.component()),
            form_body(c)
        );
        if let Some(nonce) = nonce.filter(|_| super::webauthn_html::needs_script(c)) {
            super::webauthn_html::script(&mut o, nonce);
        }
    }
    if !c.flow_slug.is_empty() && shown_user(c).is_some_and(|u| !u.is_empty()) {
        // authentik's "Not you?" beside the user a step names: cancels the flow.
        let _ = write!(
            o,
            "<p class=\"links\"><a id=\"cancel\" href=\"{}\">Not you?</a></p>",
            attr(CANCEL_URL)
        );
    }
    let look = shell::Look {
        layout: c.flow.layout,
        background: &c.flow.background,
    };
    shell::document_with(brand, look, &c.title, &o)
}

/// The user a step names (authentik's `WithUserInfoChallenge`), beside whom the page offers
/// to cancel.
fn shown_user(c: &Challenge) -> Option<&str> {
    match &c.kind {
        ChallengeKind::Password { pending_user, .. }
        | ChallengeKind::AuthenticatorValidate { pending_user, .. }
        | ChallengeKind::AuthenticatorTotpSetup { pending_user, .. }
        | ChallengeKind::AuthenticatorWebauthnSetup { pending_user, .. }
        | ChallengeKind::AuthenticatorStaticSetup { pending_user, .. }
        | ChallengeKind::Consent { pending_user, .. } => Some(pending_user),
        ChallengeKind::AccessDenied { .. } => Some(&c.pending_user),
        _ => None,
    }
}

/// Hidden iframes loading each front-channel logout URL.
pub fn logout_iframes<'a>(urls: impl IntoIterator<Item = &'a str>) -> String {
    urls.into_iter()
        .map(|u| {
            format!(
                "<iframe src=\"{}\" title=\"sign-out\" width=\"0\" height=\"0\" \
                 style=\"border:0;display:none\"></iframe>",
                attr(u)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::ChallengeKind;

    fn perm(id: &str, name: &str) -> ConsentPermission {
        ConsentPermission {
            id: id.into(),
            name: name.into(),
        }
    }

    #[test]
    fn permissions_are_listed_by_description_escaped_openid_left_out() {
        let list = permission_list(&[
            perm("email", "Email <address>"),
            perm("openid", ""),
            perm("groups", ""),
        ]);
        assert_eq!(
            list,
            "<ul class=\"permissions\" id=\"permissions\">\
             <li data-permission-code=\"email\">Email &lt;address&gt;</li>\
             <li data-permission-code=\"groups\"><code>groups</code></li></ul>"
        );
        assert_eq!(
            permission_list(&[perm("openid", "")]),
            "",
            "nothing to list"
        );
    }

    #[test]
    fn the_consent_page_has_continue_then_deny_and_echoes_the_token() {
        let c = Challenge::new(
            ChallengeKind::Consent {
                pending_user: "akadmin".into(),
                header_text: "You're about to sign into app.".into(),
                permissions: vec![perm("profile", "General Profile Information")],
                token: "tok\"en".into(),
            },
            "Redirecting to app",
            "consent",
        );
        let html = render(None, &c, "csrf-1", "/if/flow/consent/");
        let cont = html.find(">Continue</button>").expect("Continue");
        let deny = html
            .find("name=\"deny\" value=\"true\">Deny</button>")
            .expect("Deny");
        assert!(cont < deny, "Continue is the default (first) button");
        assert!(
            html.contains("name=\"token\" value=\"tok&quot;en\""),
            "{html}"
        );
        assert!(html.contains("General Profile Information"), "{html}");
        assert!(html.contains(shell::STYLESHEET), "the shared stylesheet");
    }
}
