//! A flow's look in its HTML pages (issue 21): `layout` as the page container's class,
//! `background` as the page's background image (escaped for CSS), `compatibility_mode`
//! (honoured trivially: the pages have no shadow DOM), the "Not you?" link to the cancel URL
//! beside the user a step names, and `require_outpost` refused at save.

use latchkey::domain::*;
use latchkey::service::ServiceError;
use reqwest::header::LOCATION;

use crate::flows_support::{AUTH_FLOW, edit_flow, get_page, html_login, jar, post_form};
use crate::support::{ADMIN_PASSWORD, spawn_server};

#[tokio::test]
async fn a_flows_layout_and_background_style_its_html_page() {
    let s = spawn_server().await;
    let c = jar();
    let (_, html) = get_page(&c, &s.base_url, AUTH_FLOW).await;
    assert!(
        html.contains("<main class=\"card layout-stacked\">"),
        "{html}"
    );
    assert!(
        !html.contains("background-image"),
        "no background by default: {html}"
    );

    let hostile = "https://img.example/bg.jpg?a=1&b=\"x\"\\\n</style><script>alert(1)</script>";
    edit_flow(&s.service, AUTH_FLOW, |f| {
        f.layout = FlowLayout::SidebarRight;
        f.background = hostile.into();
    })
    .await;
    let c = jar();
    let (status, html) = get_page(&c, &s.base_url, AUTH_FLOW).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<main class=\"card layout-sidebar_right\">"),
        "{html}"
    );
    assert!(
        html.contains(
            "background-image:url(\"https://img.example/bg.jpg?a=1&b=\\22 x\\22 \\5c \\a \\3c \
             /style\\3e \\3c script\\3e alert(1)\\3c /script\\3e \")"
        ),
        "{html}"
    );
    assert_eq!(
        html.matches("</style>").count(),
        1,
        "the style element is not closed early"
    );
    assert!(!html.contains("<script>"), "{html}");

    for (layout, class) in [
        (FlowLayout::ContentLeft, "layout-content_left"),
        (FlowLayout::ContentRight, "layout-content_right"),
        (FlowLayout::SidebarLeft, "layout-sidebar_left"),
    ] {
        edit_flow(&s.service, AUTH_FLOW, |f| f.layout = layout).await;
        let (_, html) = get_page(&jar(), &s.base_url, AUTH_FLOW).await;
        assert!(
            html.contains(&format!("<main class=\"card {class}\">")),
            "{html}"
        );
    }
}

#[tokio::test]
async fn a_flow_in_compatibility_mode_still_signs_in_through_plain_forms() {
    let s = spawn_server().await;
    edit_flow(&s.service, AUTH_FLOW, |f| f.compatibility_mode = true).await;
    let c = jar();
    let (_, html) = get_page(&c, &s.base_url, AUTH_FLOW).await;
    // The inputs are in the document itself (no shadow DOM for password managers to miss).
    assert!(
        html.contains("<input id=\"uid_field\" name=\"uid_field\""),
        "{html}"
    );
    let r = html_login(&c, &s.base_url, "akadmin", ADMIN_PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers().get(LOCATION).and_then(|v| v.to_str().ok()),
        Some("/")
    );
}

#[tokio::test]
async fn a_step_naming_the_user_links_to_the_cancel_url_which_starts_over() {
    let s = spawn_server().await;
    let c = jar();
    let (_, page) = get_page(&c, &s.base_url, AUTH_FLOW).await;
    assert!(!page.contains("Not you?"), "nobody is named yet");
    let r = post_form(
        &c,
        &s.base_url,
        AUTH_FLOW,
        &page,
        &[("uid_field", "akadmin")],
    )
    .await;
    let page = r.text().await.expect("password page");
    assert!(
        page.contains("<a id=\"cancel\" href=\"/flows/-/cancel/\">Not you?</a>"),
        "{page}"
    );
    let r = c
        .get(format!("{}/flows/-/cancel/", s.base_url))
        .send()
        .await
        .expect("cancel");
    assert_eq!(r.status(), 302);
    let (_, page) = get_page(&c, &s.base_url, AUTH_FLOW).await;
    assert!(
        page.contains("name=\"uid_field\""),
        "the flow starts over: {page}"
    );
}

#[tokio::test]
async fn a_flow_requiring_an_outpost_is_refused_at_save() {
    let s = spawn_server().await;
    let mut flow = s
        .service
        .list_flows()
        .await
        .expect("flows")
        .into_iter()
        .find(|f| f.slug == AUTH_FLOW)
        .expect("flow");
    flow.authentication = FlowAuthentication::RequireOutpost;
    let err = s
        .service
        .save(&Object::Flow(flow), false)
        .await
        .expect_err("refused");
    let ServiceError::Invalid(errors) = &err else {
        panic!("{err:?}");
    };
    let e = errors
        .0
        .iter()
        .find(|e| e.field == "authentication")
        .expect("authentication");
    assert!(e.message.contains("no outposts"), "{}", e.message);
}
