//! Invitations and the default enrollment flow (issue 19): a link made by the service (as the
//! console does) or the CLI enrolls a user through the HTML pages and the JSON executor, with
//! the invitation's fixed data enforced; a single-use link enrolls once, even when two people
//! opened it; expiry, another flow's link and no link at all are refused; bad input at creation
//! names the field; the token exists only in the printed link.

use std::process::Command;

use latchkey::context::{Config, SystemClock};
use latchkey::domain::Duration;
use latchkey::service::Service;
use latchkey::service::inspect::SimulationInput;
use latchkey::service::invitations::{CreatedInvitation, NewInvitation};
use latchkey::store::{self, Store, StoreLocation};
use serde_json::{Value, json};

use crate::flows_support::*;
use crate::support::{ADMIN_PASSWORD, temp_location};

const ENROLL: &str = "default-enrollment-flow";
const PASSWORD: &str = "enrolled-password-1";

fn new_invitation(name: &str, fixed: Value) -> NewInvitation {
    NewInvitation {
        name: name.into(),
        flow: None,
        fixed_data: fixed,
        single_use: true,
        expires_in: Some(Duration::from_seconds(7 * 24 * 3600)),
        created_by: "test".into(),
    }
}

async fn invite(service: &Service, new: NewInvitation) -> CreatedInvitation {
    service.create_invitation(&new).await.expect("create")
}

/// The link's path and query on the test server (the link itself names the public URL).
fn on(base: &str, link: &str) -> String {
    let at = link.find("/if/flow/").expect("a flow link");
    format!("{base}{}", &link[at..])
}

/// The token in a link.
fn token_of(link: &str) -> String {
    link.split("itoken=").nth(1).expect("itoken").to_string()
}

fn prompt_fields(username: &str, email: &str) -> Vec<(String, String)> {
    [
        ("username", username),
        ("name", "Enrolled Person"),
        ("email", email),
        ("password", PASSWORD),
        ("password_repeat", PASSWORD),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .to_vec()
}

/// Opens a link in the HTML view; returns the page.
async fn open_link(c: &reqwest::Client, url: &str) -> String {
    let r = c.get(url).send().await.expect("get");
    r.text().await.expect("body")
}

/// Submits the enrollment prompt on `page`; returns (status, body).
async fn submit_prompt(
    c: &reqwest::Client,
    base: &str,
    page: &str,
    username: &str,
    email: &str,
) -> (u16, String) {
    let fields = prompt_fields(username, email);
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = post_form(c, base, ENROLL, page, &refs).await;
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

async fn user(service: &Service, username: &str) -> Option<latchkey::domain::User> {
    let mut conn = service.store().read().await.expect("conn");
    store::users::get_by_username(&mut conn, username)
        .await
        .expect("get")
}

#[tokio::test]
async fn a_link_enrolls_once_with_its_fixed_data_then_is_refused() {
    let srv = spawn_clock_server(None).await;
    add_whoami(&srv.service).await;
    let created = invite(
        &srv.service,
        new_invitation("ann", json!({"email": "ann@corp.example"})),
    )
    .await;
    assert!(
        created
            .url
            .starts_with(&format!("{}/if/flow/{ENROLL}/?itoken=", srv.base_url)),
        "{}",
        created.url
    );
    let link = on(&srv.base_url, &created.url);
    let c = jar();
    let page = open_link(&c, &link).await;
    assert!(page.contains("name=\"username\""), "the prompt: {page}");
    // The plan in the session (stored) no longer holds the token once the stage read it.
    let dump = crate::flows_simulate::dump(&srv.service).await;
    assert!(
        !dump.contains(&token_of(&created.url)),
        "the token is stored nowhere"
    );
    // The email the user types is overridden by the invitation's.
    let (status, body) = submit_prompt(&c, &srv.base_url, &page, "ann", "typed@evil.example").await;
    assert_eq!(status, 303, "enrolled and redirected: {body}");
    let ann = user(&srv.service, "ann").await.expect("ann was created");
    assert_eq!(ann.email, "ann@corp.example");
    assert!(ann.has_password);
    assert!(
        logged_in(&c, &srv.base_url).await,
        "signed in after enrolling"
    );
    assert!(
        srv.service
            .list_invitations()
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(events_of(&srv.service, "invitation_used").await.len(), 1);
    // The same link again, in another browser: refused before any prompt.
    let other = jar();
    let page = open_link(&other, &link).await;
    assert!(page.contains("This invitation is not valid"), "{page}");
    assert!(!page.contains("name=\"username\""), "{page}");
    // No event or row holds the token.
    let token = token_of(&created.url);
    let events = srv.service.recent_events(100).await.expect("events");
    assert!(
        !serde_json::to_string(&events)
            .expect("json")
            .contains(&token)
    );
}

#[tokio::test]
async fn two_people_on_one_single_use_link_enroll_one_user() {
    let srv = spawn_clock_server(None).await;
    let created = invite(&srv.service, new_invitation("race", json!({}))).await;
    let link = on(&srv.base_url, &created.url);
    let (a, b) = (jar(), jar());
    // Both pass the invitation stage before either writes a user.
    let page_a = open_link(&a, &link).await;
    let page_b = open_link(&b, &link).await;
    assert!(page_b.contains("name=\"username\""), "{page_b}");
    let (status, _) = submit_prompt(&a, &srv.base_url, &page_a, "first", "f@x.example").await;
    assert_eq!(status, 303);
    let (_, body) = submit_prompt(&b, &srv.base_url, &page_b, "second", "s@x.example").await;
    assert!(body.contains("This invitation was already used"), "{body}");
    assert!(user(&srv.service, "first").await.is_some());
    assert!(
        user(&srv.service, "second").await.is_none(),
        "the loser's user is rolled back"
    );
}

#[tokio::test]
async fn json_executor_enrolls_and_refuses_no_expired_or_foreign_links() {
    let srv = spawn_clock_server(None).await;
    let c = jar();
    let api = |query: &str| {
        format!(
            "{}/api/v3/flows/executor/{ENROLL}/?query={}",
            srv.base_url,
            percent_encode(query)
        )
    };
    // No invitation at all.
    let v = get_json(&c, &api("")).await;
    assert_eq!(v["component"], "ak-stage-access-denied", "{v}");
    assert!(
        v["error_message"]
            .as_str()
            .unwrap_or("")
            .contains("needs an invitation"),
        "{v}"
    );

    // A multi-use invitation: two enrollments, and it stays.
    let mut multi = new_invitation("team", json!({"name": "Team Member"}));
    multi.single_use = false;
    let created = invite(&srv.service, multi).await;
    for who in ["tm1", "tm2"] {
        let c = jar();
        let v = get_json(&c, &api(&format!("itoken={}", token_of(&created.url)))).await;
        assert_eq!(v["component"], "ak-stage-prompt", "{v}");
        let mut body = json!({"component": "ak-stage-prompt"});
        for (k, val) in prompt_fields(who, &format!("{who}@x.example")) {
            body[k] = json!(val);
        }
        let v = api_post(&c, &srv.base_url, ENROLL, body).await;
        assert_eq!(v["component"], "xak-flow-redirect", "{v}");
        let u = user(&srv.service, who).await.expect("enrolled");
        assert_eq!(u.name, "Team Member", "fixed data wins");
    }
    assert_eq!(srv.service.list_invitations().await.expect("list").len(), 1);

    // Expired: valid for an hour, opened two hours later.
    let mut short = new_invitation("short", json!({}));
    short.expires_in = Some(Duration::from_seconds(3600));
    let expired = invite(&srv.service, short).await;
    srv.clock.advance(7200);
    let v = get_json(&jar(), &api(&format!("itoken={}", token_of(&expired.url)))).await;
    assert!(
        v["error_message"]
            .as_str()
            .unwrap_or("")
            .contains("not valid"),
        "{v}"
    );

    // An invitation bound to another enrollment flow does not open this one.
    add_flow(
        &srv.service,
        "other-enrollment",
        latchkey::domain::FlowAuthentication::None,
        vec![(latchkey::domain::StageKind::Invitation, json!({}))],
    )
    .await;
    let mut foreign = new_invitation("foreign", json!({}));
    foreign.flow = Some("other-enrollment".into());
    let foreign = invite(&srv.service, foreign).await;
    let v = get_json(&jar(), &api(&format!("itoken={}", token_of(&foreign.url)))).await;
    assert!(
        v["error_message"]
            .as_str()
            .unwrap_or("")
            .contains("not valid"),
        "{v}"
    );
}

/// GET a JSON executor URL with `c`; the challenge.
async fn get_json(c: &reqwest::Client, url: &str) -> Value {
    c.get(url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

fn percent_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn creation_refuses_bad_input_by_field() {
    let srv = spawn_clock_server(None).await;
    let cases: Vec<(NewInvitation, &str, &str)> = vec![
        (
            NewInvitation {
                flow: Some("no-such-flow".into()),
                ..new_invitation("a", json!({}))
            },
            "flow",
            "no flow no-such-flow",
        ),
        (
            NewInvitation {
                flow: Some(AUTH_FLOW.into()),
                ..new_invitation("b", json!({}))
            },
            "flow",
            "has no invitation stage",
        ),
        (
            new_invitation("c", json!(["not", "an", "object"])),
            "fixed_data",
            "JSON object",
        ),
        (
            NewInvitation {
                expires_in: Some(Duration::from_seconds(0)),
                ..new_invitation("d", json!({}))
            },
            "expires_in",
            "above zero",
        ),
        (new_invitation("  ", json!({})), "name", "needs a name"),
    ];
    for (new, field, message) in cases {
        let err = srv.service.create_invitation(&new).await.expect_err(field);
        let errors = err.field_errors();
        assert_eq!(errors.len(), 1, "{err}");
        assert_eq!(errors[0].field, field, "{err}");
        assert!(errors[0].message.contains(message), "{err}");
    }
    invite(&srv.service, new_invitation("dup", json!({}))).await;
    let err = srv
        .service
        .create_invitation(&new_invitation("dup", json!({})))
        .await
        .expect_err("duplicate");
    assert_eq!(err.field_errors()[0].field, "name", "{err}");
    assert_eq!(srv.service.list_invitations().await.expect("list").len(), 1);
}

#[tokio::test]
async fn the_simulation_stops_at_the_invitation_stage_without_a_link() {
    let srv = spawn_clock_server(None).await;
    let sim = srv
        .service
        .simulate_flow(&SimulationInput {
            flow_slug: ENROLL.into(),
            user_id: None,
            application: None,
            oauth: None,
            client_ip: String::new(),
            context: Value::Null,
        })
        .await
        .expect("simulate");
    let first = &sim.steps[0];
    assert_eq!(first.stage_name, "default-enrollment-invitation");
    assert_eq!(
        first.challenge["component"], "ak-stage-access-denied",
        "{first:?}"
    );
}

fn latchkey(db: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    cmd.env_remove("LATCHKEY_DB")
        .args(["--db", db, "--public-url", "https://idp.example"]);
    cmd
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("run latchkey");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test]
async fn the_cli_creates_lists_and_deletes_and_stores_no_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let location = temp_location(dir.path()).await;
    let store = Store::open(&location).await.expect("open");
    let service = Service::new(
        store,
        Config::new("https://idp.example"),
        std::sync::Arc::new(SystemClock),
    );
    service
        .bootstrap(Some(ADMIN_PASSWORD))
        .await
        .expect("bootstrap");
    service.store().close().await;
    let db = match &location {
        StoreLocation::File(p) => p.display().to_string(),
        StoreLocation::Postgres(url) => url.clone(),
        StoreLocation::Memory => unreachable!("tests use a file or a server"),
    };

    let (code, stdout, stderr) = run(latchkey(&db).args([
        "invitation",
        "create",
        "bob",
        "--expires",
        "days=2",
        "--fixed-data",
        r#"{"email": "bob@corp.example"}"#,
    ]));
    assert_eq!(code, 0, "{stderr}");
    let link = stdout.trim();
    assert!(
        link.starts_with("https://idp.example/if/flow/default-enrollment-flow/?itoken="),
        "{stdout}"
    );
    assert!(stderr.contains("single use"), "{stderr}");
    let token = token_of(link);
    assert!(token.len() >= 40, "{token}");

    let (code, stdout, _) = run(latchkey(&db).args(["invitation", "list"]));
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("bob\tdefault-enrollment-flow\tsingle-use"),
        "{stdout}"
    );
    assert!(!stdout.contains(&token), "the list never shows a token");
    if let StoreLocation::File(p) = &location {
        let mut bytes = std::fs::read(p).expect("db");
        for ext in ["-wal", "-shm"] {
            if let Ok(more) = std::fs::read(format!("{}{ext}", p.display())) {
                bytes.extend(more);
            }
        }
        let hay = String::from_utf8_lossy(&bytes);
        assert!(
            !hay.contains(&token),
            "the token is stored only as its digest"
        );
        assert!(hay.contains(&latchkey::crypto::secrets::digest(&token)));
    }

    for (args, says) in [
        (
            vec!["invitation", "create", "x", "--expires", "soon"],
            "--expires soon",
        ),
        (
            vec!["invitation", "create", "x", "--fixed-data", "{oops"],
            "--fixed-data is not JSON",
        ),
        (
            vec![
                "invitation",
                "create",
                "x",
                "--flow",
                "default-authentication-flow",
            ],
            "has no invitation stage",
        ),
        (
            vec!["invitation", "delete", "nobody"],
            "invitation nobody not found",
        ),
    ] {
        let (code, _, stderr) = run(latchkey(&db).args(&args));
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }

    let (code, _, stderr) = run(latchkey(&db).args(["invitation", "delete", "bob"]));
    assert_eq!(code, 0, "{stderr}");
    let (_, stdout, _) = run(latchkey(&db).args(["invitation", "list"]));
    assert!(stdout.is_empty(), "{stdout}");
}

#[tokio::test]
async fn a_blueprint_with_an_invitation_entry_is_refused_and_changes_nothing() {
    let srv = spawn_clock_server(None).await;
    let text = "version: 1\nentries:\n  - model: authentik_stages_invitation.invitationstage\n    identifiers:\n      name: bp-invitation-stage\n  - model: authentik_stages_invitation.invitation\n    identifiers:\n      name: bp-invitation\n    attrs:\n      single_use: true\n";
    let err = srv
        .service
        .apply_blueprints(&[latchkey::blueprint::Source {
            file: "invite.yaml".into(),
            text: text.into(),
        }])
        .await
        .expect_err("an invitation entry is refused");
    let message = err.to_string();
    assert!(
        message.contains("authentik_stages_invitation.invitation"),
        "{message}"
    );
    let mut conn = srv.service.store().read().await.expect("conn");
    assert!(
        store::stages::get_by_name(&mut conn, "bp-invitation-stage")
            .await
            .expect("get")
            .is_none(),
        "all or nothing"
    );
}

#[tokio::test]
async fn continue_flow_without_invitation_lets_the_flow_go_on_without_a_link() {
    use latchkey::domain::{Kind, Object, StageSettings};
    let srv = spawn_clock_server(None).await;
    let c = jar();
    let first = api_get(&c, &srv.base_url, ENROLL).await;
    assert_eq!(first["component"], "ak-stage-access-denied", "{first}");
    let mut stage = {
        let mut conn = srv.service.store().read().await.expect("read");
        store::objects::list(&mut conn, Kind::Stage)
            .await
            .expect("stages")
            .into_iter()
            .find(|o| matches!(o, Object::Stage(s) if matches!(s.settings, StageSettings::Invitation(_))))
            .expect("the enrollment flow's invitation stage")
    };
    if let Object::Stage(s) = &mut stage
        && let StageSettings::Invitation(i) = &mut s.settings
    {
        i.continue_flow_without_invitation = true;
    }
    srv.service.save(&stage, false).await.expect("saved");
    let c = jar();
    let next = api_get(&c, &srv.base_url, ENROLL).await;
    assert_eq!(next["component"], "ak-stage-prompt", "{next}");
}
