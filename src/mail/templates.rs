//! The email stage's templates (authentik's `email/password_reset.html` and
//! `email/account_confirmation.html`, written for latchkey in `templates/email/`): each a plain
//! text and an HTML body with `{{ url }}`, `{{ username }}`, `{{ name }}` and `{{ expires }}`
//! filled in (HTML-escaped in the HTML body).

use html_escape::encode_double_quoted_attribute as escape;

use super::MailError;

/// authentik's name of the password-reset template.
pub const PASSWORD_RESET: &str = "email/password_reset.html";
/// authentik's name of the account-confirmation template.
pub const ACCOUNT_CONFIRMATION: &str = "email/account_confirmation.html";

/// One template: authentik's name, its label and both bodies.
pub struct Template {
    /// authentik's template path.
    pub name: &'static str,
    /// What the console shows.
    pub label: &'static str,
    text: &'static str,
    html: &'static str,
}

/// Every template latchkey has.
pub const TEMPLATES: &[Template] = &[
    Template {
        name: PASSWORD_RESET,
        label: "Password Reset",
        text: include_str!("../../templates/email/password_reset.txt"),
        html: include_str!("../../templates/email/password_reset.html"),
    },
    Template {
        name: ACCOUNT_CONFIRMATION,
        label: "Account Confirmation",
        text: include_str!("../../templates/email/account_confirmation.txt"),
        html: include_str!("../../templates/email/account_confirmation.html"),
    },
];

/// What a template is filled with.
#[derive(Debug, Clone, Default)]
pub struct TemplateVars {
    /// The link to open.
    pub url: String,
    /// The user's username.
    pub username: String,
    /// The user's name (the username when empty).
    pub name: String,
    /// When the link expires, as text.
    pub expires: String,
}

/// Both rendered bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Plain text.
    pub text: String,
    /// HTML.
    pub html: String,
}

fn fill(template: &str, vars: &TemplateVars, escape_html: bool) -> String {
    let name = if vars.name.trim().is_empty() {
        &vars.username
    } else {
        &vars.name
    };
    let pairs = [
        ("url", vars.url.as_str()),
        ("username", vars.username.as_str()),
        ("name", name.as_str()),
        ("expires", vars.expires.as_str()),
    ];
    let mut out = template.to_string();
    for (key, value) in pairs {
        let value = if escape_html {
            escape(value).into_owned()
        } else {
            value.to_string()
        };
        out = out.replace(&format!("{{{{ {key} }}}}"), &value);
    }
    out
}

/// Renders the template named `name` (authentik's path).
pub fn render(name: &str, vars: &TemplateVars) -> Result<Rendered, MailError> {
    let t = TEMPLATES
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| MailError::UnknownTemplate(name.to_string()))?;
    Ok(Rendered {
        text: fill(t.text, vars, false),
        html: fill(t.html, vars, true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_templates_fill_every_placeholder_and_escape_html() {
        let vars = TemplateVars {
            url: "https://id.example/if/flow/r/?flow_token=a&b".into(),
            username: "<bob>".into(),
            name: String::new(),
            expires: "2027-01-15 08:30 UTC".into(),
        };
        for t in TEMPLATES {
            let r = render(t.name, &vars).expect(t.name);
            assert!(
                !r.text.contains("{{") && !r.html.contains("{{"),
                "{}",
                t.name
            );
            assert!(r.text.contains("flow_token=a&b") && r.text.contains("<bob>"));
            assert!(r.html.contains("flow_token=a&amp;b") && r.html.contains("&lt;bob&gt;"));
        }
        assert_eq!(
            render("email/nope.html", &vars),
            Err(MailError::UnknownTemplate("email/nope.html".into()))
        );
    }
}
