//! `/if/flow/<slug>/`: each challenge as a plain HTML form that works without JavaScript,
//! styled by the default brand. Everything user- or admin-supplied is HTML-escaped; forms carry
//! the session's CSRF token, checked in constant time.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::AppState;
use super::errors::HttpError;
use super::extract::{ClientIp, form_pairs};
use super::headers::security_headers;
use super::session::{self, Session};
use crate::domain::Brand;
use crate::flows::challenge::PromptField;
use crate::flows::executor::Start;
use crate::flows::{Challenge, ChallengeKind, LogoutFrame, Response, lookup};
use crate::oauth::session_step::{StepRequest, run_step};

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
        } => identification(
            &mut o,
            c,
            user_fields,
            *password_fields,
            *enable_remember_me,
        ),
        ChallengeKind::Password { pending_user, .. } => password(&mut o, c, pending_user),
        ChallengeKind::AuthenticatorValidate { pending_user, .. } => {
            totp_code(&mut o, c, pending_user)
        }
        ChallengeKind::AuthenticatorTotpSetup {
            config_url,
            secret,
            qr_svg,
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
        ChallengeKind::AccessDenied { .. } | ChallengeKind::Redirect { .. } => {}
    }
    o
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
fn password(o: &mut String, c: &Challenge, pending_user: &str) {
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
}

/// `ak-stage-authenticator-validate`: a TOTP code.
fn totp_code(o: &mut String, c: &Challenge, pending_user: &str) {
    let _ = write!(o, "<p class=\"user\">{}</p>", text(pending_user));
    input(
        o,
        c,
        "code",
        "Authentication code",
        "text",
        "inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9]*\" autofocus required",
    );
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

/// `ak-stage-consent`: what the application asks for, and the token the answer echoes.
fn consent(o: &mut String, c: &Challenge, header_text: &str, permissions: &[String], token: &str) {
    let _ = write!(o, "<p>{}</p>", text(header_text));
    if !permissions.is_empty() {
        o.push_str("<p>The application requests:</p><ul>");
        for p in permissions {
            let _ = write!(o, "<li>{}</li>", text(p));
        }
        o.push_str("</ul>");
    }
    let _ = write!(
        o,
        "<input type=\"hidden\" name=\"token\" value=\"{}\">",
        attr(token)
    );
    field_errors(o, c, "token");
    o.push_str("<button type=\"submit\">Continue</button>");
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
    o.push_str(&super::pages::logout_iframes(
        logout_urls.iter().map(|f| f.url.as_str()),
    ));
    o.push_str("<button type=\"submit\">Continue</button>");
}

/// Renders a challenge as a full page.
pub fn render(brand: Option<&Brand>, c: &Challenge, csrf: &str, action: &str) -> String {
    let title = brand
        .map(|b| b.branding_title.as_str())
        .unwrap_or("latchkey");
    let logo = brand.map(|b| b.branding_logo.as_str()).unwrap_or("");
    // Custom CSS sits inside <style>: '<' is neutralised so it can never close the element.
    let css = brand
        .map(|b| b.branding_custom_css.replace('<', "\\3c "))
        .unwrap_or_default();
    let mut o = String::with_capacity(4096);
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{page} - {brand}</title><style>{BASE_CSS}{css}</style></head><body><main class=\"card\">",
        page = text(&c.title),
        brand = text(title),
    );
    if !logo.is_empty() {
        let _ = write!(
            o,
            "<img class=\"logo\" src=\"{}\" alt=\"{}\">",
            attr(logo),
            attr(title)
        );
    } else {
        let _ = write!(o, "<p class=\"brand\">{}</p>", text(title));
    }
    let _ = write!(o, "<h1>{}</h1>", text(&c.title));
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
    }
    o.push_str("</main></body></html>");
    o
}

const BASE_CSS: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}\
.card{max-width:24rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}\
label{display:block;margin-top:1rem}input{width:100%;padding:.5rem;box-sizing:border-box}\
button{margin-top:1.5rem;width:100%;padding:.6rem}.error{color:#b00020}.logo{max-height:3rem}\
.qr svg{width:200px;height:200px}code{word-break:break-all}";

fn action_url(slug: &str) -> String {
    format!("/if/flow/{slug}/")
}

async fn respond(
    state: &AppState,
    sess: &Session,
    status: StatusCode,
    slug: &str,
    challenge: &Challenge,
) -> HttpResponse {
    let mut resp = if let ChallengeKind::Redirect { to } = &challenge.kind {
        (StatusCode::SEE_OTHER, [(header::LOCATION, to.clone())]).into_response()
    } else {
        // An unreadable brand degrades to the unbranded page rather than failing the step.
        let brand = lookup::default_brand(&state.ctx).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read the default brand");
            None
        });
        let html = render(
            brand.as_ref(),
            challenge,
            &sess.data.csrf,
            &action_url(slug),
        );
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response()
    };
    security_headers(state, Some(sess), &mut resp);
    if let ChallengeKind::ProviderIframeLogout { logout_urls } = &challenge.kind
        && let Some(csp) = super::pages::frame_csp(logout_urls.iter().map(|f| f.url.as_str()))
    {
        resp.headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    resp
}

/// GET: the current challenge. `next` is kept only when it is a same-origin relative path.
pub async fn get_flow(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    ClientIp(ip): ClientIp,
    mut sess: Session,
) -> Result<HttpResponse, HttpError> {
    let start = Start {
        next: q.get("next").cloned(),
        application: None,
        extra: Default::default(),
        allow_empty: false,
    };
    let request = StepRequest::Show(start);
    let step = run_step(state.step_context(), &mut sess, &ip, &slug, request).await?;
    Ok(respond(&state, &sess, StatusCode::OK, &slug, &step.challenge).await)
}

/// POST: a form submission. A missing or wrong CSRF token is refused (403) without touching
/// the flow.
pub async fn post_flow(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ClientIp(ip): ClientIp,
    mut sess: Session,
    body: Bytes,
) -> Result<HttpResponse, HttpError> {
    let mut response = Response::from_pairs(form_pairs(&body));
    let csrf = response.fields.remove("csrf");
    if !session::csrf_ok(&sess, csrf.as_deref()) {
        tracing::warn!(flow = %slug, "flow POST with a missing or wrong CSRF token");
        let request = StepRequest::Show(Start::default());
        let step = run_step(state.step_context(), &mut sess, &ip, &slug, request).await?;
        let c = step.challenge.with_error(
            "non_field_errors",
            "Your session expired or the form was stale; please try again.",
        );
        return Ok(respond(&state, &sess, StatusCode::FORBIDDEN, &slug, &c).await);
    }
    let request = StepRequest::Answer(response);
    let step = run_step(state.step_context(), &mut sess, &ip, &slug, request).await?;
    Ok(respond(&state, &sess, StatusCode::OK, &slug, &step.challenge).await)
}
