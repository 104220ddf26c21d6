//! Email and self-service recovery against a real SMTP server (aiosmtpd on loopback): the
//! recovery email arrives and its link resets the password once, then never again, and not
//! after it expired; a bad SMTP URL, a refused connection and a server that never answers are
//! an error page and a `configuration_error` event within the send timeout; the CLI's recovery
//! link and the admin's recovery email work; the identification stage links the recovery flow
//! in HTML and JSON; the email stage shows in the JSON executor and in the simulation.

use std::process::Command;
use std::time::{Duration, Instant};

use latchkey::domain::Event;
use latchkey::flows::stages::SEND_FAILED;
use latchkey::service::inspect::SimulationInput;
use serde_json::json;

use crate::flows_support::{AUTH_FLOW, api_get, api_post, get_page, html_login, jar, post_form};
use crate::smtp_support::{
    MailServer, SmtpServer, free_port, link_in, smtp_config, spawn_mail_server, unquote_printable,
};

const RECOVERY: &str = "default-recovery-flow";
const OLD_PASSWORD: &str = "old-password-1234";
const NEW_PASSWORD: &str = "brand-new-password-5678";

/// Creates ann (ann@example.test) with `OLD_PASSWORD`.
async fn ann(s: &MailServer) -> String {
    let user = s
        .service
        .create_user("ann", "ann@example.test", false)
        .await
        .expect("create ann");
    s.service
        .set_user_password(&user.id, OLD_PASSWORD, "test")
        .await
        .expect("password");
    user.id
}

async fn events(s: &MailServer, action: &str) -> Vec<Event> {
    s.service
        .recent_events(200)
        .await
        .expect("events")
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

/// Asks for a recovery email for `who` through the HTML pages; returns the page shown after.
async fn ask_for_email(s: &MailServer, who: &str) -> String {
    let c = jar();
    let (status, page) = get_page(&c, &s.base_url, RECOVERY).await;
    assert_eq!(status, 200, "{page}");
    let r = post_form(&c, &s.base_url, RECOVERY, &page, &[("uid_field", who)]).await;
    r.text().await.expect("body")
}

/// Opens `link` in a fresh browser and sets `NEW_PASSWORD`; returns the final status.
async fn reset_with(link: &str, base: &str) -> u16 {
    let c = jar();
    let page = c
        .get(link)
        .send()
        .await
        .expect("open link")
        .text()
        .await
        .expect("body");
    assert!(page.contains("name=\"password_repeat\""), "{page}");
    let r = post_form(
        &c,
        base,
        RECOVERY,
        &page,
        &[
            ("password", NEW_PASSWORD),
            ("password_repeat", NEW_PASSWORD),
        ],
    )
    .await;
    r.status().as_u16()
}

async fn login_status(s: &MailServer, password: &str) -> u16 {
    html_login(&jar(), &s.base_url, "ann", password)
        .await
        .status()
        .as_u16()
}

async fn open_link_page(link: &str) -> String {
    jar()
        .get(link)
        .send()
        .await
        .expect("open link")
        .text()
        .await
        .expect("body")
}

#[tokio::test]
async fn a_recovery_email_arrives_and_its_link_resets_the_password_once() {
    let smtp = SmtpServer::start().await;
    let s = spawn_mail_server(Some(smtp_config(&smtp.url()))).await;
    ann(&s).await;
    let page = ask_for_email(&s, "ann@example.test").await;
    assert!(page.contains("id=\"email-sent\""), "{page}");
    let messages = smtp.wait_for(1).await;
    let mail = &messages[0];
    assert!(mail.contains("To: ann@example.test"), "{mail}");
    assert!(mail.contains("Subject: Reset your password"), "{mail}");
    assert!(mail.contains("From: latchkey@example.test"), "{mail}");
    assert!(mail.contains("text/html"), "an HTML alternative: {mail}");
    let link = link_in(mail);
    assert!(link.starts_with(&format!("{}/if/flow/{RECOVERY}/?flow_token=", s.base_url)));
    let sent = events(&s, "email_sent").await;
    assert_eq!(sent.len(), 1);
    assert!(
        !sent[0].context.to_string().contains("flow_token"),
        "no link in the event: {:?}",
        sent[0].context
    );

    assert_eq!(
        reset_with(&link, &s.base_url).await,
        303,
        "password set, signed in"
    );
    assert_eq!(
        login_status(&s, NEW_PASSWORD).await,
        303,
        "the new password works"
    );
    assert_ne!(
        login_status(&s, OLD_PASSWORD).await,
        303,
        "the old one no longer"
    );

    let again = open_link_page(&link).await;
    assert!(again.contains("already been used"), "{again}");
    assert!(!again.contains("password_repeat"), "{again}");
}

#[tokio::test]
async fn an_unknown_identifier_gets_the_same_page_and_no_email() {
    let smtp = SmtpServer::start().await;
    let s = spawn_mail_server(Some(smtp_config(&smtp.url()))).await;
    ann(&s).await;
    let page = ask_for_email(&s, "nobody@example.test").await;
    assert!(page.contains("id=\"email-sent\""), "{page}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(smtp.messages().is_empty(), "no email for nobody");
    assert!(events(&s, "email_sent").await.is_empty());
}

#[tokio::test]
async fn the_link_expires_with_the_stage_s_token_expiry() {
    let smtp = SmtpServer::start().await;
    let s = spawn_mail_server(Some(smtp_config(&smtp.url()))).await;
    ann(&s).await;
    ask_for_email(&s, "ann").await;
    let link = link_in(&smtp.wait_for(1).await[0]);
    // The default recovery flow's email stage: minutes=30.
    s.clock.advance(30 * 60);
    let page = open_link_page(&link).await;
    assert!(page.contains("has expired"), "{page}");
    assert_eq!(login_status(&s, OLD_PASSWORD).await, 303, "nothing changed");
}

#[tokio::test]
async fn a_link_works_just_before_it_expires() {
    let smtp = SmtpServer::start().await;
    let s = spawn_mail_server(Some(smtp_config(&smtp.url()))).await;
    ann(&s).await;
    ask_for_email(&s, "ann").await;
    let link = link_in(&smtp.wait_for(1).await[0]);
    s.clock.advance(30 * 60 - 1);
    assert_eq!(reset_with(&link, &s.base_url).await, 303);
}

/// A TCP server that accepts and never says a word (an SMTP server that hangs).
async fn silent_server() -> (u16, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = l.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = l.accept().await {
            held.push(sock);
        }
    });
    (port, task)
}

#[tokio::test]
async fn a_bad_url_or_an_unreachable_server_is_an_error_page_and_an_event_never_a_hang() {
    let (silent, _task) = silent_server().await;
    let cases = [
        ("http://mail.example.test".to_string(), "scheme"),
        ("smtp://u:secret-pw@127.0.0.1:25".to_string(), "password"),
        (
            format!("smtp://127.0.0.1:{}", free_port()),
            "sending failed",
        ),
        (format!("smtp://127.0.0.1:{silent}"), ""),
    ];
    for (url, says) in cases {
        let s = spawn_mail_server(Some(smtp_config(&url))).await;
        ann(&s).await;
        let started = Instant::now();
        let page = ask_for_email(&s, "ann").await;
        let took = started.elapsed();
        assert!(took < Duration::from_secs(6), "{url}: took {took:?}");
        assert!(page.contains(SEND_FAILED), "{url}: {page}");
        assert!(page.contains("id=\"access-denied\""), "{url}: {page}");
        let errors = events(&s, "configuration_error").await;
        assert_eq!(errors.len(), 1, "{url}");
        let context = errors[0].context.to_string();
        assert!(context.contains(says), "{url}: {context}");
        assert!(
            !context.contains("secret-pw") && !context.contains("flow_token"),
            "{context}"
        );
        assert!(events(&s, "email_sent").await.is_empty());
    }
}

#[tokio::test]
async fn no_smtp_configuration_is_an_error_page_and_an_event() {
    let s = spawn_mail_server(None).await;
    ann(&s).await;
    let page = ask_for_email(&s, "ann").await;
    assert!(page.contains(SEND_FAILED), "{page}");
    let errors = events(&s, "configuration_error").await;
    assert!(
        errors[0].context.to_string().contains("no SMTP server"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn the_cli_recovery_link_resets_the_password_once() {
    let s = spawn_mail_server(None).await;
    ann(&s).await;
    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .env_remove("LATCHKEY_SMTP_URL")
        .args([
            "user",
            "recovery-link",
            "ann",
            "--db",
            &s.db,
            "--public-url",
            &s.base_url,
        ])
        .output()
        .expect("run latchkey");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let link = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        link.starts_with(&format!("{}/if/flow/{RECOVERY}/?flow_token=", s.base_url)),
        "{link}"
    );
    assert!(stderr.contains("works once"), "{stderr}");
    // The plan already knows ann: no identification, no email; straight to the new password.
    assert_eq!(reset_with(&link, &s.base_url).await, 303);
    assert_eq!(login_status(&s, NEW_PASSWORD).await, 303);
    assert!(open_link_page(&link).await.contains("already been used"));

    let out = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["user", "recovery-link", "nobody", "--db", &s.db])
        .output()
        .expect("run latchkey");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user named nobody"));
}

#[tokio::test]
async fn the_admin_s_recovery_email_sends_a_link_that_skips_identification() {
    let smtp = SmtpServer::start().await;
    let s = spawn_mail_server(Some(smtp_config(&smtp.url()))).await;
    let id = ann(&s).await;
    let to = s.service.send_recovery_email(&id).await.expect("sent");
    assert_eq!(to, "ann@example.test");
    let link = link_in(&smtp.wait_for(1).await[0]);
    assert_eq!(reset_with(&link, &s.base_url).await, 303);
    assert_eq!(login_status(&s, NEW_PASSWORD).await, 303);
}

#[tokio::test]
async fn the_admin_s_recovery_email_without_a_server_is_refused_with_the_reason() {
    let s = spawn_mail_server(Some(smtp_config(&format!(
        "smtp://127.0.0.1:{}",
        free_port()
    ))))
    .await;
    let id = ann(&s).await;
    let err = s
        .service
        .send_recovery_email(&id)
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("not sent"), "{err}");
    assert_eq!(events(&s, "configuration_error").await.len(), 1);
}

#[tokio::test]
async fn the_identification_stage_links_the_recovery_flow_in_html_and_json() {
    let s = spawn_mail_server(None).await;
    let (_, page) = get_page(&jar(), &s.base_url, AUTH_FLOW).await;
    assert!(
        page.contains(&format!("href=\"/if/flow/{RECOVERY}/\"")),
        "{page}"
    );
    let challenge = api_get(&jar(), &s.base_url, AUTH_FLOW).await;
    assert_eq!(challenge["component"], "ak-stage-identification");
    assert_eq!(
        challenge["recovery_url"],
        format!("/if/flow/{RECOVERY}/"),
        "{challenge}"
    );
}

#[tokio::test]
async fn the_json_executor_shows_the_email_stage_and_resumes_from_the_link() {
    let smtp = SmtpServer::start().await;
    let s = spawn_mail_server(Some(smtp_config(&smtp.url()))).await;
    ann(&s).await;
    let c = jar();
    let first = api_get(&c, &s.base_url, RECOVERY).await;
    assert_eq!(first["component"], "ak-stage-identification", "{first}");
    let email = api_post(
        &c,
        &s.base_url,
        RECOVERY,
        json!({"component": "ak-stage-identification", "uid_field": "ann"}),
    )
    .await;
    assert_eq!(email["component"], "ak-stage-email", "{email}");
    let parsed: authentik_client::models::ChallengeTypes =
        serde_json::from_value(email.clone()).expect("authentik's model");
    assert!(matches!(
        parsed,
        authentik_client::models::ChallengeTypes::AkStageEmail(_)
    ));
    let link = link_in(&smtp.wait_for(1).await[0]);
    let key = link.split("flow_token=").nth(1).expect("key");
    // authentik's executor passes the page's query on as `query`.
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("query", &format!("flow_token={key}"))
        .finish();
    let url = format!("{}/api/v3/flows/executor/{RECOVERY}/?{query}", s.base_url);
    let other = jar();
    let resumed: serde_json::Value = other
        .get(&url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(resumed["component"], "ak-stage-prompt", "{resumed}");
    let reused: serde_json::Value = jar()
        .get(&url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(reused["component"], "ak-stage-access-denied", "{reused}");
}

#[tokio::test]
async fn the_simulation_shows_the_email_stage_and_sends_nothing() {
    let smtp = SmtpServer::start().await;
    let s = spawn_mail_server(Some(smtp_config(&smtp.url()))).await;
    let id = ann(&s).await;
    let sim = s
        .service
        .simulate_flow(&SimulationInput {
            flow_slug: RECOVERY.into(),
            context: json!({"pending_user": id}),
            ..Default::default()
        })
        .await
        .expect("simulate");
    let step = sim
        .steps
        .iter()
        .find(|st| st.challenge["component"] == "ak-stage-email")
        .unwrap_or_else(|| panic!("an email step: {sim:?}"));
    assert!(step.summary.contains("sends an email"), "{}", step.summary);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(smtp.messages().is_empty(), "a dry run sends nothing");
}

#[tokio::test]
async fn submitting_the_email_page_sends_a_new_link_and_the_page_stays() {
    let smtp = SmtpServer::start().await;
    let s = spawn_mail_server(Some(smtp_config(&smtp.url()))).await;
    ann(&s).await;
    let c = jar();
    let (_, page) = get_page(&c, &s.base_url, RECOVERY).await;
    let r = post_form(&c, &s.base_url, RECOVERY, &page, &[("uid_field", "ann")]).await;
    let page = r.text().await.expect("body");
    assert!(page.contains("id=\"email-sent\""), "{page}");
    let again = post_form(&c, &s.base_url, RECOVERY, &page, &[]).await;
    let again = again.text().await.expect("body");
    assert!(
        again.contains("id=\"email-sent\"") && again.contains("Email sent again."),
        "{again}"
    );
    let messages = smtp.wait_for(2).await;
    let (first, second) = (link_in(&messages[0]), link_in(&messages[1]));
    assert_ne!(first, second, "each email has its own link");
    assert_eq!(reset_with(&second, &s.base_url).await, 303);
}

#[tokio::test]
async fn the_link_activates_an_inactive_user_as_the_stage_says() {
    let smtp = SmtpServer::start().await;
    let s = spawn_mail_server(Some(smtp_config(&smtp.url()))).await;
    let id = ann(&s).await;
    let mut user = s
        .service
        .user_by_username("ann")
        .await
        .expect("read")
        .expect("ann");
    user.is_active = false;
    s.service
        .save(
            &latchkey::domain::Object::User {
                user,
                groups: Vec::new(),
            },
            false,
        )
        .await
        .expect("deactivate");
    s.service.send_recovery_email(&id).await.expect("sent");
    let link = link_in(&smtp.wait_for(1).await[0]);
    assert_eq!(reset_with(&link, &s.base_url).await, 303);
    let user = s
        .service
        .user_by_username("ann")
        .await
        .expect("read")
        .expect("ann");
    assert!(user.is_active, "activate_user_on_success");
    assert_eq!(login_status(&s, NEW_PASSWORD).await, 303);
}

/// Selects the users-tab row whose first cell is `name` and opens it.
fn open_user(app: &mut latchkey::console::app::App, name: &str) {
    use crossterm::event::KeyCode;
    crate::console_forms::typ(app, "0");
    app.handle_key(crate::console_forms::key(KeyCode::Home));
    for _ in 0..50 {
        if app.selected_row().map(|r| r.cells[0].text.as_str()) == Some(name) {
            app.handle_key(crate::console_forms::key(KeyCode::Enter));
            return;
        }
        app.handle_key(crate::console_forms::key(KeyCode::Down));
    }
    panic!("no user row {name}");
}

#[tokio::test]
async fn the_console_s_user_detail_creates_a_recovery_link_and_sends_a_recovery_email() {
    use crossterm::event::KeyCode;
    let smtp = SmtpServer::start().await;
    let s = spawn_mail_server(Some(smtp_config(&smtp.url()))).await;
    ann(&s).await;
    let mut app = crate::console_forms::app_over(&s.service).await;
    open_user(&mut app, "ann");

    app.handle_key(crate::console_forms::key(KeyCode::Char('S')));
    crate::console_forms::settle(&mut app, &s.service).await;
    let status = app.status().expect("status").text.clone();
    assert!(status.contains("sent to ann@example.test"), "{status}");
    let emailed = link_in(&smtp.wait_for(1).await[0]);

    app.handle_key(crate::console_forms::key(KeyCode::Char('K')));
    crate::console_forms::settle(&mut app, &s.service).await;
    let text = app.message().expect("the link's window").text.clone();
    let shown = text
        .split_whitespace()
        .find(|w| w.contains("flow_token="))
        .unwrap_or_else(|| panic!("the link is shown once: {text}"))
        .to_string();
    assert_ne!(shown, emailed);
    assert_eq!(reset_with(&shown, &s.base_url).await, 303, "{shown}");
    assert!(
        open_link_page(&emailed).await.contains("password_repeat"),
        "independent links"
    );
}

/// Changes the settings of the recovery flow's email stage.
async fn edit_email_stage(
    s: &MailServer,
    change: impl FnOnce(&mut latchkey::domain::EmailSettings),
) {
    use latchkey::domain::{Kind, Object, StageSettings};
    let stages = {
        let mut conn = s.service.store().read().await.expect("read");
        latchkey::store::objects::list(&mut conn, Kind::Stage)
            .await
            .expect("stages")
    };
    let mut email = stages
        .into_iter()
        .find(|o| matches!(o, Object::Stage(st) if matches!(st.settings, StageSettings::Email(_))))
        .expect("the recovery flow's email stage");
    if let Object::Stage(st) = &mut email
        && let StageSettings::Email(m) = &mut st.settings
    {
        change(m);
    }
    s.service.save(&email, false).await.expect("saved");
}

#[tokio::test]
async fn recovery_max_attempts_limits_the_emails_per_user_within_the_cache_timeout() {
    let smtp = SmtpServer::start().await;
    let s = spawn_mail_server(Some(smtp_config(&smtp.url()))).await;
    ann(&s).await;
    edit_email_stage(&s, |m| {
        m.recovery_max_attempts = 2;
        m.recovery_cache_timeout = "minutes=10".into();
    })
    .await;
    let c = jar();
    let (_, page) = get_page(&c, &s.base_url, RECOVERY).await;
    let r = post_form(&c, &s.base_url, RECOVERY, &page, &[("uid_field", "ann")]).await;
    let page = r.text().await.expect("body");
    assert!(page.contains("id=\"email-sent\""), "{page}");
    let again = post_form(&c, &s.base_url, RECOVERY, &page, &[]).await;
    let again = again.text().await.expect("body");
    assert!(again.contains("Email sent again."), "{again}");
    let third = post_form(&c, &s.base_url, RECOVERY, &again, &[]).await;
    let third = third.text().await.expect("body");
    assert!(
        third.contains("Too many account verification attempts"),
        "{third}"
    );
    assert_eq!(smtp.wait_for(2).await.len(), 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 2, "the third was not sent");
    // The bucket refills over the cache timeout: after it a new request sends again.
    s.clock.advance(10 * 60);
    let c = jar();
    let (_, page) = get_page(&c, &s.base_url, RECOVERY).await;
    let r = post_form(&c, &s.base_url, RECOVERY, &page, &[("uid_field", "ann")]).await;
    assert!(r.text().await.expect("body").contains("id=\"email-sent\""));
    assert_eq!(smtp.wait_for(3).await.len(), 3);
}

#[tokio::test]
async fn the_stage_s_template_and_subject_shape_the_email() {
    let smtp = SmtpServer::start().await;
    let s = spawn_mail_server(Some(smtp_config(&smtp.url()))).await;
    ann(&s).await;
    edit_email_stage(&s, |m| {
        m.template = "email/account_confirmation.html".into();
        m.subject = "Confirm your account".into();
    })
    .await;
    ask_for_email(&s, "ann").await;
    let mail = &smtp.wait_for(1).await[0];
    assert!(mail.contains("Subject: Confirm your account"), "{mail}");
    let text = unquote_printable(mail);
    assert!(text.contains("please confirm the email address"), "{text}");
    assert!(!text.contains("reset the password"), "{text}");
}
