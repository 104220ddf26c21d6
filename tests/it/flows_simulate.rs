//! The inspector's simulation against the real server: for a table of flows, users and
//! contexts, the simulated plan is the plan the server keeps in the session after a GET over
//! HTTP (stage list, first challenge, denial), and a simulation writes nothing (every table's
//! rows and the change counters are byte-identical before and after). Also the redirect loop of
//! issue 15: a denied default authentication flow with `message_continue` ends on its page.

use latchkey::domain::*;
use latchkey::service::Service;
use latchkey::service::inspect::{Simulation, SimulationInput};
use latchkey::store;
use serde_json::{Value, json};
use sqlx::Row;

use crate::flows_support::*;
use crate::server::create_oidc_app;
use crate::support::{ADMIN_PASSWORD, TestServer, spawn_server};

/// Every table's rows (quoted, in rowid order) plus the change counters and the generation:
/// equal dumps mean nothing was written.
pub async fn dump(service: &Service) -> String {
    let engine = service.store().engine();
    let mut conn = service.store().read().await.expect("conn");
    let mut tables: Vec<String> = sqlx::query_scalar(engine.tables_sql())
        .fetch_all(&mut *conn)
        .await
        .expect("tables");
    tables.sort();
    let mut out = format!("generation {}\n", service.store().config_generation());
    for t in tables {
        // The names come from the store's own schema.
        let sql = match engine {
            store::Engine::Sqlite => {
                let cols: Vec<String> =
                    sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                        .bind(&t)
                        .fetch_all(&mut *conn)
                        .await
                        .expect("columns")
                        .iter()
                        .map(|c: &String| format!("quote(\"{c}\")"))
                        .collect();
                format!(
                    "SELECT count(*), coalesce(group_concat({}, '|'), '') FROM \"{t}\"",
                    cols.join(" || ',' || ")
                )
            }
            store::Engine::Postgres => format!(
                "SELECT count(*), coalesce(string_agg(r::text, '|' ORDER BY r::text), '') \
                 FROM \"{t}\" r"
            ),
        };
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *conn)
            .await
            .expect("rows");
        let n: i64 = row.get(0);
        let rows: String = row.get(1);
        out.push_str(&format!("{t} {n}: {rows}\n"));
    }
    out
}

/// Simulates and checks that nothing was written.
async fn simulate_writing_nothing(service: &Service, input: &SimulationInput) -> Simulation {
    let mut changes = service.store().subscribe();
    let before = dump(service).await;
    let sim = service.simulate_flow(input).await.expect("simulate");
    assert_eq!(before, dump(service).await, "a simulation wrote: {input:?}");
    assert!(
        changes.try_recv().is_err(),
        "a simulation published a change"
    );
    sim
}

/// Every session's (id, data).
async fn sessions(service: &Service) -> Vec<(String, String)> {
    let mut conn = service.store().read().await.expect("conn");
    sqlx::query("SELECT id, data FROM sessions ORDER BY id")
        .fetch_all(&mut *conn)
        .await
        .expect("sessions")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// What the server did for a GET of `slug` on the JSON executor: the challenge, and the
/// stage bindings of the plan it kept in the session (`None`: no plan kept).
async fn server_plan(
    s: &TestServer,
    c: &reqwest::Client,
    slug: &str,
) -> (Value, Option<Vec<String>>) {
    let before = sessions(&s.service).await;
    let challenge = api_get(c, &s.base_url, slug).await;
    let after = sessions(&s.service).await;
    let changed = after.iter().find(|row| !before.contains(row));
    let plan = changed.and_then(|(_, data)| {
        let data: Value = serde_json::from_str(data).expect("session json");
        let stages = data["plans"][slug]["stages"].as_array()?.clone();
        Some(
            stages
                .iter()
                .map(|st| st["binding_id"].as_str().unwrap_or("").to_string())
                .collect(),
        )
    });
    (challenge, plan)
}

/// Who runs the flow in a case.
#[derive(Clone, Copy, Debug)]
enum Who {
    Anonymous,
    Admin,
    Plain,
}

const PLAIN_PASSWORD: &str = "plain-password-1";

async fn expression(service: &Service, name: &str, source: &str) -> String {
    add_policy(
        service,
        name,
        PolicyKind::Expression,
        json!({"expression": source}),
    )
    .await
}

/// The flows of the table: a group binding on a stage binding evaluated at plan time, an
/// expression on the flow, and a re-evaluated stage binding.
async fn build_flows(s: &TestServer, admins_group: &str) {
    let svc = &s.service;
    let ident = || {
        (
            StageKind::Identification,
            json!({"user_fields": ["username"]}),
        )
    };
    let password = || (StageKind::Password, json!({}));
    // A group on the second stage binding, evaluated when planning.
    let (flow, b, _) = add_flow(
        svc,
        "sim-group",
        FlowAuthentication::None,
        vec![ident(), password()],
    )
    .await;
    edit_binding(svc, &flow, &b[1], |x| {
        x.evaluate_on_plan = true;
        x.re_evaluate_policies = false;
    })
    .await;
    bind(
        svc,
        &b[1],
        BindingSubject::Group(admins_group.into()),
        Opts::default(),
    )
    .await;
    // An expression on the flow: only akadmin may start it.
    let (flow, _, _) = add_flow(
        svc,
        "sim-expr",
        FlowAuthentication::None,
        vec![ident(), password()],
    )
    .await;
    let p = expression(
        svc,
        "sim-only-akadmin",
        "ak_message('only akadmin')\nreturn request.user.username == 'akadmin'",
    )
    .await;
    bind(svc, &flow, BindingSubject::Policy(p), Opts::default()).await;
    // A re-evaluated binding first (its policies run again when reached).
    let (_, b, _) = add_flow(
        svc,
        "sim-reeval",
        FlowAuthentication::None,
        vec![ident(), password()],
    )
    .await;
    let p = expression(
        svc,
        "sim-reeval-policy",
        "return request.user.is_authenticated",
    )
    .await;
    bind(svc, &b[0], BindingSubject::Policy(p), Opts::default()).await;
}

#[tokio::test]
async fn flows_simulate_matches_the_servers_plan_and_writes_nothing() {
    let s = spawn_server().await;
    let svc = &s.service;
    let admin = admin(svc).await;
    let plain = add_user(svc, "plain", "plain@example.com", PLAIN_PASSWORD).await;
    let admins_group = {
        let mut conn = svc.store().read().await.expect("conn");
        store::groups::of_user(&mut conn, &admin.id)
            .await
            .expect("groups")
            .remove(0)
            .id
    };
    build_flows(&s, &admins_group).await;
    let admin_jar = jar();
    html_login(&admin_jar, &s.base_url, "akadmin", ADMIN_PASSWORD).await;
    let plain_jar = jar();
    html_login(&plain_jar, &s.base_url, "plain", PLAIN_PASSWORD).await;
    let cases = [
        (AUTH_FLOW, Who::Anonymous),
        (AUTH_FLOW, Who::Admin),
        ("sim-group", Who::Admin),
        ("sim-group", Who::Plain),
        ("sim-expr", Who::Admin),
        ("sim-expr", Who::Plain),
        ("sim-expr", Who::Anonymous),
        ("sim-reeval", Who::Admin),
        ("sim-reeval", Who::Anonymous),
    ];
    for (slug, who) in cases {
        let (client, user_id) = match who {
            Who::Anonymous => (jar(), None),
            Who::Admin => (admin_jar.clone(), Some(admin.id.clone())),
            Who::Plain => (plain_jar.clone(), Some(plain.id.clone())),
        };
        let input = SimulationInput {
            flow_slug: slug.into(),
            user_id,
            ..SimulationInput::default()
        };
        let sim = simulate_writing_nothing(svc, &input).await;
        let (challenge, plan) = server_plan(&s, &client, slug).await;
        let case = format!("{slug} as {who:?}: {sim:#?}\nserver: {challenge}");
        match &sim.denial {
            Some(d) => {
                assert_eq!(plan, None, "{case}");
                assert_eq!(challenge["component"], "ak-stage-access-denied", "{case}");
                assert_eq!(challenge["error_message"], d.reason.as_str(), "{case}");
            }
            None => {
                let first = sim
                    .steps
                    .iter()
                    .find(|st| !st.challenge.is_null())
                    .expect("a challenge");
                assert_eq!(
                    challenge["component"], first.challenge["component"],
                    "{case}"
                );
                if first.challenge["component"] == "ak-stage-access-denied" {
                    // A stage stopped the flow: the server keeps no plan either.
                    assert_eq!(plan, None, "{case}");
                    assert_eq!(challenge["error_message"], first.challenge["error_message"]);
                } else {
                    assert_eq!(plan, Some(sim.stage_bindings()), "{case}");
                }
            }
        }
        // What the table expects of each case, beyond agreeing with the server.
        match (slug, who) {
            ("sim-group", Who::Plain) => {
                assert_eq!(sim.stages.len(), 1, "{case}");
                assert_eq!(sim.dropped.len(), 1, "{case}");
                assert!(sim.dropped[0].by[0].subject.starts_with("group "), "{case}");
            }
            ("sim-group", Who::Admin) => assert_eq!(sim.stages.len(), 2, "{case}"),
            ("sim-expr", Who::Plain | Who::Anonymous) => {
                let d = sim.denial.as_ref().expect("denied");
                assert_eq!(
                    d.policy.as_deref(),
                    Some("policy sim-only-akadmin"),
                    "{case}"
                );
                assert_eq!(d.messages, vec!["only akadmin".to_string()], "{case}");
                assert!(
                    sim.suppressed_writes
                        .iter()
                        .any(|w| w == "event policy_execution"),
                    "{case}"
                );
            }
            ("sim-reeval", _) => {
                assert_eq!(sim.notes.len(), 1, "{case}");
                assert!(
                    sim.notes[0].contains("depends on what the user enters"),
                    "{case}"
                );
            }
            (AUTH_FLOW, Who::Admin) => {
                // Stepping reaches the login stage, whose writes are only recorded.
                assert!(
                    sim.suppressed_writes.iter().any(|w| w == "event login"),
                    "{case}"
                );
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn flows_simulate_reports_policy_traces_with_logs_and_errors() {
    let s = spawn_server().await;
    let svc = &s.service;
    let (flow, _, _) = add_flow(
        svc,
        "sim-trace",
        FlowAuthentication::None,
        vec![(StageKind::Identification, json!({}))],
    )
    .await;
    let logs = expression(
        svc,
        "sim-logs",
        "ak_logger.info('checked')\nreturn request.context.get('anything') == 1",
    )
    .await;
    let raises = expression(svc, "sim-raises", "x = 1\nreturn 1 / 0").await;
    let o = |order| Opts {
        order,
        ..Opts::default()
    };
    bind(svc, &flow, BindingSubject::Policy(logs), o(0)).await;
    bind(svc, &flow, BindingSubject::Policy(raises), o(1)).await;
    let input = SimulationInput {
        flow_slug: "sim-trace".into(),
        context: json!({"anything": 1}),
        ..SimulationInput::default()
    };
    let sim = simulate_writing_nothing(svc, &input).await;
    // Policy engine mode "any": the first passes (it reads the free context), so the flow plans.
    assert!(sim.denial.is_none(), "{sim:#?}");
    assert_eq!(sim.policies.len(), 2, "{sim:#?}");
    assert!(sim.policies[0].passing);
    assert_eq!(sim.policies[0].logs.len(), 1, "{sim:#?}");
    assert!(sim.policies[0].logs[0].contains("checked"), "{sim:#?}");
    assert!(sim.policies[1].error.is_some(), "{sim:#?}");
    assert_eq!(sim.policies[1].error_line, Some(2), "{sim:#?}");
    assert!(!sim.policies[1].passing);
    // The server would have recorded the exception; the simulation only says so.
    assert!(
        sim.suppressed_writes
            .iter()
            .any(|w| w == "event policy_exception"),
        "{sim:#?}"
    );
    assert!(events_of(svc, "policy_exception").await.is_empty());
    assert_eq!(sim.steps[0].summary, "asks for username", "{sim:#?}");
}

/// Issue 15's loop: a negated expression policy on the default authentication flow with
/// denied action "message, continue" sent an anonymous browser 303 → authorize → flow → 303 …
#[tokio::test]
async fn flows_denied_authentication_flow_ends_on_its_page_not_in_a_redirect_loop() {
    let s = spawn_server().await;
    let svc = &s.service;
    let provider = create_oidc_app(&s, "loop-app").await;
    let flow = {
        let mut conn = svc.store().read().await.expect("conn");
        store::flows::get_by_slug(&mut conn, AUTH_FLOW)
            .await
            .expect("get")
            .expect("flow")
    };
    edit_flow(svc, AUTH_FLOW, |f| {
        f.denied_action = DeniedAction::MessageContinue
    })
    .await;
    let p = expression(svc, "loop-negated", "return True").await;
    bind(
        svc,
        &flow.id,
        BindingSubject::Policy(p),
        Opts {
            negate: true,
            ..Opts::default()
        },
    )
    .await;
    let browser = jar();
    let mut url = format!(
        "{}/application/o/authorize/?response_type=code&client_id={}&redirect_uri={}&scope=openid",
        s.base_url,
        provider.client_id,
        form_urlencoded::byte_serialize(crate::server::APP_REDIRECT.as_bytes()).collect::<String>(),
    );
    let mut redirects = 0;
    let page = loop {
        let res = browser.get(&url).send().await.expect("get");
        if !res.status().is_redirection() {
            assert_eq!(res.status().as_u16(), 200);
            break res.text().await.expect("body");
        }
        redirects += 1;
        assert!(redirects < 5, "a redirect loop: at {url}");
        let to = res.headers()["location"]
            .to_str()
            .expect("location")
            .to_string();
        url = if to.starts_with('/') {
            format!("{}{to}", s.base_url)
        } else {
            to
        };
    };
    assert!(
        url.contains("/if/flow/default-authentication-flow/"),
        "{url}"
    );
    assert!(
        page.contains("Flow does not apply to current user."),
        "the page says it was denied: {page}"
    );
    let events = events_of(svc, "policy_execution").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let ctx = &events[0].context;
    assert_eq!(ctx["flow"], AUTH_FLOW);
    assert_eq!(ctx["denied"], true);
    assert_eq!(
        ctx["bindings"][0]["subject"], "policy loop-negated",
        "{ctx}"
    );
    // The JSON executor answers the same for the same request.
    let next = form_urlencoded::byte_serialize(b"/application/o/authorize/?client_id=x")
        .collect::<String>();
    let v: Value = jar()
        .get(format!(
            "{}?query=next%3D{next}",
            api_url(&s.base_url, AUTH_FLOW)
        ))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(v["component"], "ak-stage-access-denied", "{v}");
    // A simulation of the same says the same, and says which policy.
    let sim = svc
        .simulate_flow(&SimulationInput {
            flow_slug: AUTH_FLOW.into(),
            oauth: Some(latchkey::service::inspect::OAuthRequestInput {
                client_id: provider.client_id.clone(),
                scopes: vec!["openid".into()],
                redirect_uri: crate::server::APP_REDIRECT.into(),
                prompt: None,
            }),
            ..SimulationInput::default()
        })
        .await
        .expect("simulate");
    let d = sim.denial.expect("denied");
    assert_eq!(d.reason, "Flow does not apply to current user.");
    assert_eq!(d.policy.as_deref(), Some("policy loop-negated"));
    assert_eq!(
        sim.steps[0].challenge["component"],
        "ak-stage-access-denied"
    );
}
