//! Initial setup as authentik does it: a fresh instance without a bootstrap password runs the
//! bundled `initial-setup` flow (authentik's out-of-box experience) over the JSON executor once;
//! afterwards, or with a bootstrap password, the flow refuses with a clear message.

use std::sync::Arc;

use latchkey::context::{Config, SystemClock};
use latchkey::domain::FlowAuthentication;
use latchkey::http::{self, AppState};
use latchkey::service::Service;
use latchkey::store;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::flows_support::*;
use crate::support::{TestServer, spawn_server, temp_store};

pub const SETUP: &str = "initial-setup";
pub const NEW_PASSWORD: &str = "chosen-at-setup-1";

/// A server over a store bootstrapped without a password (what a first start without
/// `LATCHKEY_BOOTSTRAP_PASSWORD` does).
pub async fn spawn_fresh_server() -> TestServer {
    let listener = http::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("addr"));
    let (dir, st) = temp_store().await;
    let service = Service::new(st, Config::new(&base_url), Arc::new(SystemClock));
    service.bootstrap(None).await.expect("bootstrap");
    let cancel = CancellationToken::new();
    http::spawn_server(listener, AppState::new(service.clone()), cancel.clone());
    TestServer::from_parts(base_url, service, cancel, dir)
}

/// The setup prompt's answer.
fn answer(email: &str, password: &str, repeat: &str) -> Value {
    json!({
        "component": "ak-stage-prompt",
        "email": email,
        "password": password,
        "password_repeat": repeat,
    })
}

async fn initial_setup_flow(service: &Service) -> latchkey::domain::Flow {
    let mut conn = service.store().read().await.expect("conn");
    store::flows::get_by_slug(&mut conn, SETUP)
        .await
        .expect("get")
        .expect("the initial-setup flow is installed")
}

/// Signs in through the default authentication flow's JSON executor; the last challenge.
async fn json_login(c: &reqwest::Client, base: &str, password: &str) -> Value {
    api_get(c, base, AUTH_FLOW).await;
    api_post(
        c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-identification", "uid_field": "akadmin"}),
    )
    .await;
    api_post(
        c,
        base,
        AUTH_FLOW,
        json!({"component": "ak-stage-password", "password": password}),
    )
    .await
}

#[tokio::test]
async fn initial_setup_sets_akadmin_once_signs_in_then_refuses() {
    let srv = spawn_fresh_server().await;
    add_whoami(&srv.service).await;
    assert!(!admin(&srv.service).await.has_password);
    let c = jar();
    let v = api_get(&c, &srv.base_url, SETUP).await;
    assert_eq!(v["component"], "ak-stage-prompt", "{v}");
    let keys: Vec<&str> = v["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["field_key"].as_str())
        .collect();
    assert_eq!(
        keys,
        ["oobe-header-text", "email", "password", "password_repeat"]
    );
    let header = &v["fields"][0];
    assert_eq!(header["type"], "static", "{header}");
    assert!(
        header["initial_value"]
            .as_str()
            .is_some_and(|t| t.contains("akadmin")),
        "{header}"
    );
    // Planning the flow closed it to anyone but a superuser (authentik's run-once policy,
    // run natively).
    assert_eq!(
        initial_setup_flow(&srv.service).await.authentication,
        FlowAuthentication::RequireSuperuser
    );

    let v = api_post(
        &c,
        &srv.base_url,
        SETUP,
        answer("admin@example.org", NEW_PASSWORD, NEW_PASSWORD),
    )
    .await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
    let akadmin = admin(&srv.service).await;
    assert!(akadmin.has_password);
    assert_eq!(akadmin.email, "admin@example.org");
    assert!(logged_in(&c, &srv.base_url).await, "signed in as akadmin");
    assert_eq!(events_of(&srv.service, "password_set").await.len(), 1);

    // The new password works for a fresh client.
    let other = jar();
    let v = json_login(&other, &srv.base_url, NEW_PASSWORD).await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");

    // Afterwards: an anonymous visitor is refused, and so is the signed-in superuser.
    let v = api_get(&jar(), &srv.base_url, SETUP).await;
    assert_eq!(v["component"], "ak-stage-access-denied", "{v}");
    assert_eq!(v["error_message"], "Flow requires superuser.", "{v}");
    let v = api_get(&c, &srv.base_url, SETUP).await;
    assert_eq!(v["component"], "ak-stage-access-denied", "{v}");
    assert!(
        v["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("already done")),
        "{v}"
    );
}

#[tokio::test]
async fn with_a_bootstrap_password_initial_setup_refuses() {
    let srv = spawn_server().await;
    let v = api_get(&jar(), &srv.base_url, SETUP).await;
    assert_eq!(v["component"], "ak-stage-access-denied", "{v}");
    assert_eq!(
        v["error_message"],
        "Initial setup is already done: akadmin has a password. Sign in instead.",
        "{v}"
    );
    // Refused before planning: the flow stays as it was.
    assert_eq!(
        initial_setup_flow(&srv.service).await.authentication,
        FlowAuthentication::None
    );
}

#[tokio::test]
async fn mismatched_passwords_are_a_field_error_and_change_nothing() {
    let srv = spawn_fresh_server().await;
    let c = jar();
    api_get(&c, &srv.base_url, SETUP).await;
    let v = api_post(
        &c,
        &srv.base_url,
        SETUP,
        answer("admin@example.org", NEW_PASSWORD, "something-else-1"),
    )
    .await;
    assert_eq!(v["component"], "ak-stage-prompt", "{v}");
    assert_eq!(
        v["response_errors"]["password_repeat"][0]["string"], "Passwords don't match.",
        "{v}"
    );
    let akadmin = admin(&srv.service).await;
    assert!(!akadmin.has_password, "nothing written");
    assert_eq!(akadmin.email, "root@localhost");
    assert!(events_of(&srv.service, "password_set").await.is_empty());
    // The same visitor may try again (retry keeps the plan).
    let v = api_post(
        &c,
        &srv.base_url,
        SETUP,
        answer("admin@example.org", NEW_PASSWORD, NEW_PASSWORD),
    )
    .await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
    assert!(admin(&srv.service).await.has_password);
}

#[tokio::test]
async fn prompt_expressions_compute_placeholders_and_initial_values() {
    let srv = spawn_server().await;
    let blueprint = r#"
version: 1
entries:
  - model: authentik_flows.flow
    id: flow
    identifiers: {slug: prompt-expr}
    attrs: {name: prompt-expr, title: Prompt expressions, designation: stage_configuration}
  - model: authentik_stages_prompt.prompt
    id: hello
    identifiers: {name: prompt-expr-hello}
    attrs:
      field_key: hello
      label: Hello
      type: static
      initial_value: return "Hello " + request.user.username
      initial_value_expression: true
      order: 0
  - model: authentik_stages_prompt.prompt
    id: nick
    identifiers: {name: prompt-expr-nick}
    attrs:
      field_key: nick
      label: Nickname
      type: text
      required: false
      placeholder: return "e.g. " + user.username.upper()
      placeholder_expression: true
      initial_value: plain text, not run
      order: 1
  - model: authentik_stages_prompt.promptstage
    id: stage
    identifiers: {name: prompt-expr-stage}
    attrs:
      fields: [!KeyOf hello, !KeyOf nick]
  - model: authentik_flows.flowstagebinding
    identifiers: {target: !KeyOf flow, stage: !KeyOf stage, order: 0}
"#;
    srv.service
        .apply_blueprints(&[latchkey::blueprint::Source {
            file: "prompt-expr.yaml".into(),
            text: blueprint.into(),
        }])
        .await
        .expect("applies");
    let c = jar();
    let v = json_login(&c, &srv.base_url, crate::support::ADMIN_PASSWORD).await;
    assert_eq!(v["component"], "xak-flow-redirect", "{v}");
    let v = api_get(&c, &srv.base_url, "prompt-expr").await;
    assert_eq!(v["component"], "ak-stage-prompt", "{v}");
    assert_eq!(v["fields"][0]["initial_value"], "Hello akadmin", "{v}");
    assert_eq!(v["fields"][1]["placeholder"], "e.g. AKADMIN", "{v}");
    assert_eq!(
        v["fields"][1]["initial_value"], "plain text, not run",
        "{v}"
    );
    let (status, page) = get_page(&c, &srv.base_url, "prompt-expr").await;
    assert_eq!(status, 200);
    assert!(page.contains("Hello akadmin"), "{page}");
    assert!(page.contains("placeholder=\"e.g. AKADMIN\""), "{page}");
}

#[tokio::test]
async fn a_prompt_expression_that_does_not_compile_is_refused_at_save() {
    let srv = spawn_server().await;
    let blueprint = r#"
version: 1
entries:
  - model: authentik_stages_prompt.prompt
    identifiers: {name: broken-prompt}
    attrs:
      field_key: broken
      label: Broken
      type: text
      initial_value: "import os\nreturn os.getcwd()"
      initial_value_expression: true
"#;
    let err = srv
        .service
        .apply_blueprints(&[latchkey::blueprint::Source {
            file: "broken.yaml".into(),
            text: blueprint.into(),
        }])
        .await
        .expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("initial_value"), "{text}");
    assert!(text.contains("import of 'os' is not allowed"), "{text}");
}

#[tokio::test]
async fn any_other_authentik_import_is_refused_at_save() {
    let srv = spawn_server().await;
    let blueprint = r#"
version: 1
entries:
  - model: authentik_policies_expression.expressionpolicy
    identifiers: {name: edits-flows}
    attrs:
      expression: |
        from authentik.flows.models import Flow
        Flow.objects.filter(slug="default-authentication-flow").delete()
        return True
"#;
    let err = srv
        .service
        .apply_blueprints(&[latchkey::blueprint::Source {
            file: "edits.yaml".into(),
            text: blueprint.into(),
        }])
        .await
        .expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("authentik.flows.models"), "{text}");
}

/// Reads `serve`'s stderr until `latchkey: serving on` (or gives up); the lines read.
fn serve_stderr(env_password: Option<&str>) -> String {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    cmd.env_remove("LATCHKEY_DB")
        .env_remove("LATCHKEY_LISTEN")
        .env_remove("LATCHKEY_BOOTSTRAP_PASSWORD")
        .args(["serve", "--listen", "127.0.0.1:0", "--public-url"])
        .arg("https://id.example.org")
        .arg("--log-file")
        .arg(dir.path().join("log"))
        .arg("--db")
        .arg(dir.path().join("x.db"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(p) = env_password {
        cmd.env("LATCHKEY_BOOTSTRAP_PASSWORD", p);
    }
    let mut child = cmd.spawn().expect("spawn serve");
    let mut lines = Vec::new();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let done = line.contains("serving on");
            lines.push(line);
            if done {
                break;
            }
        }
    }
    child.kill().expect("stop serve");
    child.wait().expect("wait");
    lines.join("\n")
}

#[test]
fn serve_prints_the_initial_setup_url_only_without_a_bootstrap_password() {
    let stderr = serve_stderr(None);
    assert!(
        stderr.contains(
            "open https://id.example.org/if/flow/initial-setup/ to set its email and password"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("LATCHKEY_BOOTSTRAP_PASSWORD"), "{stderr}");
    let stderr = serve_stderr(Some("scripted-password-1"));
    assert!(stderr.contains("serving on"), "{stderr}");
    assert!(!stderr.contains("initial-setup"), "{stderr}");
}

#[tokio::test]
async fn the_bundled_initial_setup_blueprint_reapplies_as_a_no_op() {
    let srv = spawn_fresh_server().await;
    let before = crate::blueprint::snapshot(&srv.service).await;
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/blueprints/default/flow-oobe.yaml");
    let sources = latchkey::blueprint::read_sources(&[path]).expect("read");
    let report = srv
        .service
        .apply_blueprints(&sources)
        .await
        .expect("reapply");
    assert!(report.is_noop(), "{report}");
    assert_eq!(before, crate::blueprint::snapshot(&srv.service).await);
}
