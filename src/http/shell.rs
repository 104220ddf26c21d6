//! The one page shell every HTML page shares (the flow pages, consent, `/device`, the OAuth
//! endpoints' own pages): the document, the brand's title or logo, the stylesheet and the
//! brand's custom CSS. Pure rendering; the body comes already escaped.

use std::fmt::Write as _;

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use crate::domain::{Brand, FlowLayout};

/// The stylesheet of every page (inline: the pages' CSP allows inline styles, never scripts).
pub const STYLESHEET: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;\
color:#1f2328;margin:0}\
.card{max-width:26rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;\
box-shadow:0 1px 4px #0002}\
h1{font-size:1.4rem;margin:.5rem 0 1rem}.brand{color:#57606a;margin:0}\
label{display:block;margin-top:1rem}input{width:100%;padding:.5rem;box-sizing:border-box}\
input[type=checkbox]{width:auto}\
button{margin-top:1.5rem;width:100%;padding:.6rem;font-size:1rem;border:1px solid #0969da;\
border-radius:6px;background:#0969da;color:#fff;cursor:pointer}\
button.secondary{margin-top:.5rem;background:#fff;color:#1f2328;border-color:#8c959f}\
.error{color:#b00020}.info{color:#1a7f37}.help{color:#57606a;font-size:.9rem}\
.logo{max-height:3rem}.qr svg{width:200px;height:200px}code{word-break:break-all}\
ul.permissions{padding-left:1.25rem}ul.permissions li{margin:.25rem 0}";

/// How a flow page is laid out (authentik's `Flow.layout` and `Flow.background`); other pages
/// use [`Look::default`] (stacked, no background).
#[derive(Debug, Clone, Copy, Default)]
pub struct Look<'a> {
    /// The layout, as a class on the page's container (`layout-stacked`, …).
    pub layout: FlowLayout,
    /// The background image URL (empty: none).
    pub background: &'a str,
}

/// Where the card sits for each layout: stacked centres it, content left/right move it to a
/// side, the sidebars make it a full-height column at the edge.
const LAYOUTS: &str = ".layout-content_left{margin-left:6vw}\
.layout-content_right{margin-right:6vw}\
.layout-sidebar_left,.layout-sidebar_right{margin:0;min-height:100vh;border-radius:0;\
box-sizing:border-box}.layout-sidebar_right{margin-left:auto}";

/// `url` as a CSS string's content: everything but plain URL characters becomes a CSS escape,
/// so no quote, backslash, newline or `<` can end the string or the `<style>` element.
pub fn css_url(url: &str) -> String {
    let mut o = String::with_capacity(url.len());
    for c in url.chars() {
        if c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&()*+,;=%".contains(c) {
            o.push(c);
        } else {
            let _ = write!(o, "\\{:x} ", c as u32);
        }
    }
    o
}

/// What the user's interface adds to [`STYLESHEET`]: a wider card, the library's application
/// cards grouped in a grid, and the account tables.
pub const USER_STYLESHEET: &str = ".card.wide{max-width:60rem}\
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}h3{font-size:1rem;margin:1rem 0 .5rem;color:#57606a}\
ul.apps{list-style:none;padding:0;display:grid;\
grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));gap:.75rem}\
li.app{border:1px solid #d0d7de;border-radius:6px;padding:.75rem}\
li.app a{display:flex;align-items:center;gap:.5rem;font-weight:600;color:#0969da;\
text-decoration:none}\
.app-icon{width:2rem;height:2rem;border-radius:4px;object-fit:contain;flex:none}\
span.app-icon{display:inline-flex;align-items:center;justify-content:center;\
background:#0969da;color:#fff}\
.publisher,.description{margin:.35rem 0 0;font-size:.9rem}.publisher{color:#57606a}\
table{width:100%;border-collapse:collapse;font-size:.9rem}\
th,td{text-align:left;padding:.35rem;border-bottom:1px solid #d0d7de;vertical-align:top}\
td form{margin:0}td button{margin:0;width:auto;padding:.25rem .6rem;font-size:.85rem}\
form.inline label{display:inline-block;margin-right:.5rem}\
form.inline input{width:auto}form.inline button{width:auto}";

/// A whole page: `title` as the heading and in the tab, `body` (already escaped) below it,
/// styled by the stylesheet and the brand (its favicon as the page's icon).
pub fn document(brand: Option<&Brand>, title: &str, body: &str) -> String {
    document_with(brand, Look::default(), title, body)
}

/// [`document`] laid out as `look` says (the flow pages).
pub fn document_with(brand: Option<&Brand>, look: Look<'_>, title: &str, body: &str) -> String {
    render(brand, look, title, body, false)
}

/// [`document`] with a wider card and [`USER_STYLESHEET`] (the user's interface).
pub fn wide_document(brand: Option<&Brand>, title: &str, body: &str) -> String {
    render(brand, Look::default(), title, body, true)
}

fn render(brand: Option<&Brand>, look: Look<'_>, title: &str, body: &str, wide: bool) -> String {
    let (wide_class, wide_css) = if wide {
        (" wide", USER_STYLESHEET)
    } else {
        ("", "")
    };
    let brand_title = brand
        .map(|b| b.branding_title.as_str())
        .unwrap_or("latchkey");
    let logo = brand.map(|b| b.branding_logo.as_str()).unwrap_or("");
    let favicon = brand.map(|b| b.branding_favicon.as_str()).unwrap_or("");
    // Custom CSS sits inside <style>: '<' is neutralised so it can never close the element.
    let css = brand
        .map(|b| b.branding_custom_css.replace('<', "\\3c "))
        .unwrap_or_default();
    let icon = if favicon.is_empty() {
        String::new()
    } else {
        format!("<link rel=\"icon\" href=\"{}\">", attr(favicon))
    };
    let background = if look.background.is_empty() {
        String::new()
    } else {
        format!(
            "body{{background-image:url(\"{}\");background-size:cover;\
             background-position:center}}",
            css_url(look.background)
        )
    };
    let mut o = String::with_capacity(4096 + body.len());
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{page} - {brand}</title>{icon}<style>{STYLESHEET}{LAYOUTS}{wide_css}{background}{css}\
         </style></head><body><main class=\"card{wide_class} layout-{layout}\">",
        page = text(title),
        brand = text(brand_title),
        layout = look.layout.as_str(),
    );
    if logo.is_empty() {
        let _ = write!(o, "<p class=\"brand\">{}</p>", text(brand_title));
    } else {
        let _ = write!(
            o,
            "<img class=\"logo\" src=\"{}\" alt=\"{}\">",
            attr(logo),
            attr(brand_title)
        );
    }
    let _ = write!(o, "<h1>{}</h1>{body}</main></body></html>", text(title));
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_escapes_the_title_and_neutralises_custom_css() {
        let brand = Brand {
            id: "b".into(),
            domain: "example.com".into(),
            default: true,
            branding_title: "Acme <Corp>".into(),
            branding_logo: String::new(),
            branding_favicon: String::new(),
            branding_custom_css: "a{color:red}</style><script>".into(),
            flow_authentication_id: None,
            flow_invalidation_id: None,
            flow_recovery_id: None,
            flow_unenrollment_id: None,
            flow_user_settings_id: None,
            flow_device_code_id: None,
            web_certificate_id: None,
            default_application_id: None,
            attributes: serde_json::Value::Null,
            created_at: 0,
            updated_at: 0,
            version: 1,
        };
        let html = document(Some(&brand), "Sign <in>", "<p>body</p>");
        assert!(
            html.contains("<h1>Sign &lt;in&gt;</h1><p>body</p>"),
            "{html}"
        );
        assert!(
            html.contains("<p class=\"brand\">Acme &lt;Corp&gt;</p>"),
            "{html}"
        );
        assert!(html.contains(STYLESHEET), "{html}");
        assert!(!html.contains("</style><script>"), "{html}");
    }

    #[test]
    fn without_a_brand_the_shell_says_latchkey() {
        let html = document(None, "Device signed in", "");
        assert!(
            html.contains("<title>Device signed in - latchkey</title>"),
            "{html}"
        );
        assert!(html.contains(STYLESHEET));
    }
}
