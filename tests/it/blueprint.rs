//! Blueprints: fixtures apply and re-apply as no-ops, export round-trips, every tag resolves,
//! every error names file, line and entry and leaves the store as it was, and the real binary
//! applies and exports.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey::blueprint::{BlueprintError, ExportFilter, Source, read_sources};
use latchkey::context::{Config, SystemClock};
use latchkey::crypto::password;
use latchkey::domain::{BindingSubject, MatchingMode};
use latchkey::service::Service;
use latchkey::store;

use crate::support::{bootstrapped_service, temp_store};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/blueprints")
}

fn fixture_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["default", "examples"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures().join(dir))
            .expect("fixture dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        out.extend(files);
    }
    out
}

fn src(text: &str) -> Vec<Source> {
    vec![Source {
        file: "test.yaml".into(),
        text: text.to_string(),
    }]
}

/// Every listing, so "unchanged" means exactly unchanged (ids, versions, timestamps).
pub(crate) async fn snapshot(s: &Service) -> String {
    format!(
        "{:?}",
        (
            s.list_flows().await.expect("flows"),
            s.list_flow_stage_bindings().await.expect("fsb"),
            s.list_stages().await.expect("stages"),
            s.list_prompts().await.expect("prompts"),
            s.list_policies().await.expect("policies"),
            s.list_policy_bindings().await.expect("pb"),
            s.list_applications().await.expect("apps"),
            s.list_providers().await.expect("providers"),
            s.list_scope_mappings().await.expect("scopes"),
            (
                s.list_certificates().await.expect("certs"),
                s.list_brands().await.expect("brands"),
                s.list_connectors().await.expect("connectors"),
                s.list_users().await.expect("users"),
                s.list_groups().await.expect("groups"),
            ),
        )
    )
}

#[tokio::test]
async fn every_fixture_applies_and_reapplies_as_a_noop() {
    for file in fixture_files() {
        let (_dir, service) = bootstrapped_service("http://x").await;
        let sources = read_sources(&[&file]).expect("read");
        service
            .apply_blueprints(&sources)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let before = snapshot(&service).await;
        let again = service.apply_blueprints(&sources).await.expect("again");
        assert!(again.is_noop(), "{}: {again}", file.display());
        assert_eq!(again.created + again.updated + again.deleted, 0);
        assert_eq!(before, snapshot(&service).await, "{}", file.display());
    }
}

#[tokio::test]
async fn device_code_flow_is_the_default_brands() {
    let (_dir, service) = bootstrapped_service("http://x").await;
    let flow = service
        .list_flows()
        .await
        .expect("flows")
        .into_iter()
        .find(|f| f.slug == "device-code")
        .expect("device-code flow");
    assert_eq!(flow.designation.as_str(), "stage_configuration");
    let brand = &service.list_brands().await.expect("brands")[0];
    assert_eq!(brand.flow_device_code_id.as_deref(), Some(flow.id.as_str()));
}

#[tokio::test]
async fn example_fixtures_create_what_they_say() {
    let (_dir, service) = bootstrapped_service("http://x").await;
    let files = [
        fixtures().join("examples/example-app.yaml"),
        fixtures().join("examples/authentik-cli.yaml"),
    ];
    let report = service
        .apply_blueprints(&read_sources(&files).expect("read"))
        .await
        .expect("apply");
    assert_eq!(report.created, 4, "{report}");
    let providers = service.list_providers().await.expect("providers");
    let cli = providers
        .iter()
        .find(|p| p.client_id == "authentik-cli")
        .expect("cli provider");
    assert_eq!(cli.oauth2.client_type.as_str(), "public");
    assert!(
        cli.oauth2
            .grant_types
            .contains(&"urn:ietf:params:oauth:grant-type:device_code".to_string())
    );
    let scopes = service.list_scope_mappings().await.expect("scopes");
    let offline = scopes
        .iter()
        .find(|m| m.scope_name == "offline_access")
        .expect("offline");
    assert!(cli.scope_mapping_ids.contains(&offline.id));
    let app = service
        .list_applications()
        .await
        .expect("apps")
        .into_iter()
        .find(|a| a.slug == "example-app")
        .expect("app");
    let example = providers
        .iter()
        .find(|p| p.client_id == "example-app")
        .expect("example provider");
    assert_eq!(app.provider_id.as_deref(), Some(example.id.as_str()));
    assert!(example.signing_key_id.is_some());
}

const USERS: &str = r#"
version: 1
entries:
  - model: authentik_core.group
    id: devs
    identifiers: {name: developers}
  - model: authentik_core.user
    id: alice
    identifiers: {username: alice}
    attrs:
      name: Alice
      password: correct-horse-battery
      groups: [!KeyOf devs, !Find [authentik_core.group, [name, authentik Admins]]]
  - model: authentik_core.user
    id: bob
    identifiers: {username: bob}
  - model: authentik_core.group
    identifiers: {name: ops}
    attrs:
      users: [!KeyOf bob]
"#;

#[tokio::test]
async fn users_get_hashed_passwords_and_memberships() {
    let (_dir, service) = bootstrapped_service("http://x").await;
    let report = service.apply_blueprints(&src(USERS)).await.expect("apply");
    assert_eq!(report.created, 4, "{report}");
    let users = service.list_users().await.expect("users");
    let alice = users.iter().find(|u| u.username == "alice").expect("alice");
    let bob = users.iter().find(|u| u.username == "bob").expect("bob");
    let mut conn = service.store().read().await.expect("conn");
    let hash = store::users::password_hash(&mut conn, &alice.id)
        .await
        .expect("hash")
        .expect("set");
    assert!(hash.starts_with("$argon2id$"));
    assert!(password::verify("correct-horse-battery", &hash));
    let groups: Vec<String> = store::groups::of_user(&mut conn, &alice.id)
        .await
        .expect("groups")
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(groups, vec!["authentik Admins", "developers"]);
    assert!(
        store::groups::is_superuser(&mut conn, &alice.id)
            .await
            .expect("su")
    );
    let bob_groups = store::groups::of_user(&mut conn, &bob.id)
        .await
        .expect("bob");
    assert_eq!(bob_groups[0].name, "ops");
    drop(conn);
    let before = snapshot(&service).await;
    let again = service.apply_blueprints(&src(USERS)).await.expect("again");
    assert!(again.is_noop(), "{again}");
    assert_eq!(before, snapshot(&service).await);
}

#[tokio::test]
async fn export_reapplies_to_the_same_store_with_no_change() {
    let (_dir, service) = bootstrapped_service("http://x").await;
    let mut sources = read_sources(&[
        fixtures().join("examples/example-app.yaml"),
        fixtures().join("examples/authentik-cli.yaml"),
    ])
    .expect("read");
    sources.extend(src(USERS));
    sources.extend(src(POLICIES));
    service.apply_blueprints(&sources).await.expect("apply");
    let before = snapshot(&service).await;
    let text = service
        .export_blueprint(&ExportFilter::default())
        .await
        .expect("export");
    let report = service
        .apply_blueprints(&src(&text))
        .await
        .expect("reapply");
    assert!(report.is_noop(), "{report}");
    assert!(report.unchanged > 30, "{report}");
    assert_eq!(before, snapshot(&service).await);
}

#[tokio::test]
async fn export_applies_to_an_empty_store_and_exports_identically() {
    let (_dir, service) = bootstrapped_service("http://x").await;
    let mut sources = read_sources(&[fixtures().join("examples/example-app.yaml")]).expect("r");
    sources.extend(src(USERS));
    sources.extend(src(POLICIES));
    service.apply_blueprints(&sources).await.expect("apply");
    let text = service
        .export_blueprint(&ExportFilter::default())
        .await
        .expect("export");

    let (_dir2, store2) = temp_store().await;
    let other = Service::new(store2, Config::new("http://y"), Arc::new(SystemClock));
    other
        .apply_blueprints(&src(&text))
        .await
        .expect("apply to empty");
    let text2 = other
        .export_blueprint(&ExportFilter::default())
        .await
        .expect("export 2");
    assert_eq!(text, text2);
    assert_eq!(
        service.list_stages().await.expect("s").len(),
        other.list_stages().await.expect("s").len()
    );
}

#[tokio::test]
async fn export_filters_by_model_and_name() {
    let (_dir, service) = bootstrapped_service("http://x").await;
    let text = service
        .export_blueprint(&ExportFilter {
            model: Some("authentik_flows.flow".into()),
            name: Some("device-code".into()),
        })
        .await
        .expect("export");
    assert_eq!(text.matches("- model:").count(), 1, "{text}");
    assert!(text.contains("device-code"), "{text}");
    let report = service.apply_blueprints(&src(&text)).await.expect("apply");
    assert_eq!((report.unchanged, report.is_noop()), (1, true));
}

const POLICIES: &str = r#"
version: 1
entries:
  - model: authentik_policies_expression.expressionpolicy
    id: p
    identifiers: {name: only-admins}
    attrs: {expression: "return ak_is_group_member(request.user, name='authentik Admins')"}
  - model: authentik_policies_reputation.reputationpolicy
    identifiers: {name: reputation}
  - model: authentik_policies_password.passwordpolicy
    identifiers: {name: strong}
    attrs: {length_min: 12}
  - model: authentik_policies_dummy.dummypolicy
    identifiers: {name: dummy}
  - model: authentik_policies_event_matcher.eventmatcherpolicy
    identifiers: {name: logins}
    attrs: {action: login}
  - model: authentik_policies_group_membership.groupmembershippolicy
    identifiers: {name: admins-only}
    attrs: {group: !Find [authentik_core.group, [name, authentik Admins]]}
  - model: authentik_policies.policybinding
    identifiers:
      target: !Find [authentik_flows.flow, [slug, default-authentication-flow]]
      policy: !KeyOf p
      order: 0
  - model: authentik_stages_prompt.prompt
    id: f
    identifiers: {name: username-field}
    attrs: {field_key: username, label: Username, type: username}
  - model: authentik_stages_prompt.promptstage
    identifiers: {name: enroll-prompt}
    attrs: {fields: [!KeyOf f]}
  - model: authentik_stages_deny.denystage
    identifiers: {name: deny}
    attrs: {deny_message: "no"}
  - model: authentik_endpoints_connectors_agent.agentconnector
    identifiers: {name: agent}
    attrs:
      authorization_flow: !Find [authentik_flows.flow, [slug, default-provider-authorization-implicit-consent]]
      challenge_key: !Find [authentik_crypto.certificatekeypair, [name, latchkey Self-signed Certificate]]
"#;

#[tokio::test]
async fn policies_prompts_and_connectors_apply() {
    let (_dir, service) = bootstrapped_service("http://x").await;
    let report = service
        .apply_blueprints(&src(POLICIES))
        .await
        .expect("apply");
    assert_eq!(report.created, 11, "{report}");
    let policies = crate::support::own_policies(&service).await;
    assert_eq!(policies.len(), 6);
    let strong = policies
        .iter()
        .find(|p| p.name == "strong")
        .expect("strong");
    assert_eq!(strong.settings.to_json()["length_min"], 12);
    assert_eq!(strong.settings.to_json()["check_static_rules"], true);
    let binding = &crate::support::own_policy_bindings(&service).await[0];
    let p = policies
        .iter()
        .find(|p| p.name == "only-admins")
        .expect("p");
    assert_eq!(binding.subject, BindingSubject::Policy(p.id.clone()));
    let connectors = service.list_connectors().await.expect("connectors");
    assert_eq!(
        connectors[0].settings.to_json()["refresh_interval"],
        "minutes=30"
    );
    assert!(connectors[0].challenge_key_id.is_some());
}

#[tokio::test]
async fn states_create_update_and_delete() {
    let (_dir, service) = bootstrapped_service("http://x").await;
    let create = "version: 1\nentries:\n  - model: authentik_flows.flow\n    identifiers: {slug: s1}\n    attrs: {name: One, designation: enrollment}\n";
    assert_eq!(
        service
            .apply_blueprints(&src(create))
            .await
            .expect("c")
            .created,
        1
    );
    let created_only = "version: 1\nentries:\n  - model: authentik_flows.flow\n    state: created\n    identifiers: {slug: s1}\n    attrs: {name: Changed}\n";
    assert!(
        service
            .apply_blueprints(&src(created_only))
            .await
            .expect("c")
            .is_noop()
    );
    let update = "version: 1\nentries:\n  - model: authentik_flows.flow\n    identifiers: {slug: s1}\n    attrs: {title: Hello}\n";
    assert_eq!(
        service
            .apply_blueprints(&src(update))
            .await
            .expect("u")
            .updated,
        1
    );
    let flow = service
        .list_flows()
        .await
        .expect("f")
        .into_iter()
        .find(|f| f.slug == "s1")
        .expect("s1");
    assert_eq!(
        (flow.name.as_str(), flow.title.as_str(), flow.version),
        ("One", "Hello", 2)
    );
    let must = "version: 1\nentries:\n  - model: authentik_flows.flow\n    state: must_created\n    identifiers: {slug: s1}\n";
    let err = service
        .apply_blueprints(&src(must))
        .await
        .expect_err("exists");
    assert!(err.to_string().contains("already exists"), "{err}");
    let absent = "version: 1\nentries:\n  - model: authentik_flows.flow\n    state: absent\n    identifiers: {slug: s1}\n";
    assert_eq!(
        service
            .apply_blueprints(&src(absent))
            .await
            .expect("d")
            .deleted,
        1
    );
    assert!(
        service
            .apply_blueprints(&src(absent))
            .await
            .expect("d")
            .is_noop()
    );
}

#[tokio::test]
async fn redirect_uris_accept_the_old_string_form() {
    let (_dir, service) = bootstrapped_service("http://x").await;
    let text = r#"
version: 1
entries:
  - model: authentik_providers_oauth2.oauth2provider
    identifiers: {name: old}
    attrs:
      authorization_flow: !Find [authentik_flows.flow, [slug, default-provider-authorization-implicit-consent]]
      redirect_uris: "https://a.example/cb\n*\n"
"#;
    service.apply_blueprints(&src(text)).await.expect("apply");
    let p = &service.list_providers().await.expect("p")[0];
    let uris: Vec<(MatchingMode, &str)> = p
        .oauth2
        .redirect_uris
        .iter()
        .map(|u| (u.matching_mode, u.url.as_str()))
        .collect();
    assert_eq!(
        uris,
        vec![
            (MatchingMode::Strict, "https://a.example/cb"),
            (MatchingMode::Regex, ".*")
        ]
    );
    assert_eq!(p.client_id.len(), 40, "generated like authentik");
    assert!(
        service
            .apply_blueprints(&src(text))
            .await
            .expect("again")
            .is_noop()
    );
}

/// Applies a one-flow blueprint whose title is the tag expression, returns the title.
async fn title_of(expr: &str, context: &str) -> String {
    let (_dir, service) = bootstrapped_service("http://x").await;
    let text = format!(
        "version: 1\ncontext:\n{context}\nentries:\n  - model: authentik_flows.flow\n    id: first\n    identifiers: {{slug: tagged}}\n    attrs: {{name: n}}\n  - model: authentik_flows.flow\n    identifiers: {{slug: tagged}}\n    attrs:\n      title: {expr}\n"
    );
    service
        .apply_blueprints(&src(&text))
        .await
        .unwrap_or_else(|e| panic!("{expr}: {e}"));
    service
        .list_flows()
        .await
        .expect("flows")
        .into_iter()
        .find(|f| f.slug == "tagged")
        .expect("tagged")
        .title
}

#[tokio::test]
async fn tag_keyof_resolves_to_the_earlier_entry() {
    let (_dir, service) = bootstrapped_service("http://x").await;
    let text = "version: 1\nentries:\n  - model: authentik_flows.flow\n    id: f\n    identifiers: {slug: k}\n    attrs: {name: k}\n  - model: authentik_stages_deny.denystage\n    id: s\n    identifiers: {name: k-deny}\n  - model: authentik_flows.flowstagebinding\n    identifiers: {target: !KeyOf f, stage: !KeyOf s, order: 5}\n";
    service.apply_blueprints(&src(text)).await.expect("apply");
    let flow = service
        .list_flows()
        .await
        .expect("f")
        .into_iter()
        .find(|f| f.slug == "k")
        .expect("k");
    let b = service
        .list_flow_stage_bindings()
        .await
        .expect("b")
        .into_iter()
        .find(|b| b.flow_id == flow.id)
        .expect("binding");
    assert_eq!(b.order, 5);
}

#[tokio::test]
async fn tag_find_resolves_an_existing_object() {
    let title = title_of(
        "!Format [\"%s\", !Find [authentik_flows.flow, [slug, default-invalidation-flow]]]",
        "  {}",
    )
    .await;
    assert_eq!(title.len(), 36, "a uuid: {title}");
}

#[tokio::test]
async fn tag_context_reads_blueprint_context_with_default() {
    assert_eq!(title_of("!Context greeting", "  greeting: hi").await, "hi");
    assert_eq!(
        title_of("!Context [missing, fallback]", "  greeting: hi").await,
        "fallback"
    );
}

#[tokio::test]
async fn tag_env_reads_the_environment_with_default() {
    // SAFETY: only this test reads or writes this variable.
    unsafe { std::env::set_var("LATCHKEY_BP_TEST_ENV", "from-env") };
    assert_eq!(
        title_of("!Env LATCHKEY_BP_TEST_ENV", "  {}").await,
        "from-env"
    );
    assert_eq!(
        title_of("!Env [LATCHKEY_BP_UNSET_VAR, dflt]", "  {}").await,
        "dflt"
    );
}

#[tokio::test]
async fn tag_format_formats_percent_s() {
    assert_eq!(
        title_of("!Format [\"%s-%s %%\", a, !Context n]", "  n: 7").await,
        "a-7 %"
    );
}

#[tokio::test]
async fn tag_if_picks_a_branch() {
    assert_eq!(
        title_of("!If [!Context on, yes-branch, no-branch]", "  on: true").await,
        "yes-branch"
    );
    assert_eq!(
        title_of("!If [!Context on, yes-branch, no-branch]", "  on: false").await,
        "no-branch"
    );
}

#[tokio::test]
async fn tag_condition_and_or_not() {
    let ctx = "  t: true\n  f: false";
    for (expr, want) in [
        ("[AND, !Context t, !Context t]", "Y"),
        ("[AND, !Context t, !Context f]", "N"),
        ("[OR, !Context f, !Context t]", "Y"),
        ("[NOT, !Context f]", "Y"),
        ("[NOT, !Context t]", "N"),
    ] {
        let got = title_of(&format!("!If [!Condition {expr}, Y, N]"), ctx).await;
        assert_eq!(got, want, "{expr}");
    }
}

#[tokio::test]
async fn conditions_skip_an_entry() {
    let (_dir, service) = bootstrapped_service("http://x").await;
    let text = "version: 1\nentries:\n  - model: authentik_flows.flow\n    conditions: [!Condition [OR, false, false]]\n    identifiers: {slug: skipped}\n";
    let report = service.apply_blueprints(&src(text)).await.expect("apply");
    assert_eq!((report.created, report.skipped), (0, 1));
}

/// Applies `text`, expects an error mentioning `line` and `needle`, and checks nothing changed.
async fn fails_cleanly(text: &str, line: usize, needle: &str, entry: Option<usize>) -> String {
    let (_dir, service) = bootstrapped_service("http://x").await;
    let before = snapshot(&service).await;
    let err = service
        .apply_blueprints(&src(text))
        .await
        .expect_err("must fail");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("test.yaml:{line}")),
        "line {line}: {msg}"
    );
    assert!(msg.contains(needle), "{needle}: {msg}");
    if let Some(n) = entry {
        assert!(msg.contains(&format!("entry {n} (")), "entry {n}: {msg}");
    }
    assert_eq!(before, snapshot(&service).await, "store unchanged");
    msg
}

const GOOD_HEAD: &str = "version: 1\nentries:\n  - model: authentik_flows.flow\n    id: f\n    identifiers: {slug: good}\n    attrs: {name: Good}\n  - model: authentik_stages_deny.denystage\n    identifiers: {name: good-deny}\n";

#[tokio::test]
async fn an_error_in_the_last_entry_changes_nothing() {
    let text = format!(
        "{GOOD_HEAD}  - model: authentik_flows.flow\n    identifiers: {{slug: bad}}\n    attrs:\n      compatibility_mode: definitely\n"
    );
    fails_cleanly(&text, 12, "compatibility_mode", Some(3)).await;
}

#[tokio::test]
async fn find_of_a_missing_object_is_named() {
    let text = format!(
        "{GOOD_HEAD}  - model: authentik_core.application\n    identifiers: {{slug: a}}\n    attrs:\n      provider: !Find [authentik_providers_oauth2.oauth2provider, [name, nope]]\n"
    );
    fails_cleanly(
        &text,
        12,
        "no authentik_providers_oauth2.oauth2provider with name = nope",
        Some(3),
    )
    .await;
}

#[tokio::test]
async fn keyof_forward_reference_and_cycle_are_refused() {
    let forward = format!(
        "{GOOD_HEAD}  - model: authentik_flows.flowstagebinding\n    identifiers: {{target: !KeyOf f, stage: !KeyOf later, order: 1}}\n  - model: authentik_stages_deny.denystage\n    id: later\n    identifiers: {{name: later}}\n"
    );
    fails_cleanly(&forward, 10, "forward reference", Some(3)).await;
    let cycle = "version: 1\nentries:\n  - model: authentik_core.group\n    id: a\n    identifiers: {name: a}\n    attrs: {parent: !KeyOf b}\n  - model: authentik_core.group\n    id: b\n    identifiers: {name: b}\n    attrs: {parent: !KeyOf a}\n";
    fails_cleanly(cycle, 6, "cycle", Some(1)).await;
}

#[tokio::test]
async fn wrong_type_is_named() {
    let text = format!(
        "{GOOD_HEAD}  - model: authentik_flows.flowstagebinding\n    identifiers:\n      target: !KeyOf f\n      stage: !Find [authentik_stages_deny.denystage, [name, good-deny]]\n      order: first\n"
    );
    fails_cleanly(&text, 13, "field 'order': expected an integer", Some(3)).await;
}

#[tokio::test]
async fn unknown_field_is_named() {
    let text = format!(
        "{GOOD_HEAD}  - model: authentik_flows.flow\n    identifiers: {{slug: x}}\n    attrs:\n      colour: red\n"
    );
    fails_cleanly(&text, 12, "unknown field 'colour'", Some(3)).await;
}

#[tokio::test]
async fn unknown_model_is_named() {
    let text = format!(
        "{GOOD_HEAD}  - model: authentik_sources_saml.samlsource\n    identifiers: {{slug: x}}\n"
    );
    fails_cleanly(
        &text,
        9,
        "unknown model 'authentik_sources_saml.samlsource'",
        Some(3),
    )
    .await;
}

#[tokio::test]
async fn unsupported_tag_is_named() {
    let text = format!(
        "{GOOD_HEAD}  - model: authentik_flows.flow\n    identifiers: {{slug: x}}\n    attrs:\n      title: !Nope /etc/hostname\n"
    );
    fails_cleanly(&text, 12, "unsupported tag !Nope", Some(3)).await;
}

/// Each new tag's error names the file, the tag's line and the entry, after two good entries,
/// and nothing is written.
#[tokio::test]
async fn a_bad_new_tag_names_file_line_and_entry_and_changes_nothing() {
    for (tag, needle) in [
        ("!AtIndex [[a], 4]", "index out of range"),
        ("!Enumerate [5, SEQ, x]", "must be a list or a mapping"),
        ("!Value 0", "only usable inside an !Enumerate"),
        ("!ParseJSON '{nope'", "!ParseJSON"),
        ("!File relative.txt", "must be absolute"),
        (
            "!AtIndex [!FindObject [authentik_flows.flow, [slug, nowhere]], title]",
            "takes a list or a mapping, got null",
        ),
    ] {
        let text = format!(
            "{GOOD_HEAD}  - model: authentik_flows.flow\n    identifiers: {{slug: x}}\n    attrs:\n      title: {tag}\n"
        );
        fails_cleanly(&text, 12, needle, Some(3)).await;
    }
}

#[tokio::test]
async fn meta_apply_of_a_blueprint_latchkey_does_not_bundle_is_named() {
    let text = format!(
        "{GOOD_HEAD}  - model: authentik_blueprints.metaapplyblueprint\n    attrs: {{identifiers: {{name: x}}}}\n"
    );
    let msg = fails_cleanly(
        &text,
        9,
        "the blueprint x is not one latchkey bundles",
        Some(3),
    )
    .await;
    assert!(msg.contains("Default - Authentication flow"), "{msg}");
}

#[tokio::test]
async fn meta_apply_not_required_and_unknown_is_skipped() {
    let (_dir, service) = bootstrapped_service("http://x").await;
    let text = format!(
        "{GOOD_HEAD}  - model: authentik_blueprints.metaapplyblueprint\n    attrs:\n      identifiers: {{name: Not bundled}}\n      required: false\n"
    );
    let report = service.apply_blueprints(&src(&text)).await.expect("apply");
    assert_eq!(report.created, 2);
}

/// The shape of the device-code blueprint in authentik's platform repository (the one its
/// Agent documentation links to): meta-apply entries for the default flows (not required),
/// the device-code flow, and the default brand pointing at all of them by `!Find`.
const PLATFORM_STYLE_DEVICE_CODE: &str = "version: 1
metadata:
  name: CLI device code
entries:
  - id: flow
    model: authentik_flows.flow
    identifiers:
      slug: device-code
    attrs:
      designation: stage_configuration
      name: Device code
      title: Device code
  - model: authentik_blueprints.metaapplyblueprint
    attrs:
      identifiers:
        name: Default - Authentication flow
      required: false
  - model: authentik_blueprints.metaapplyblueprint
    attrs:
      identifiers:
        name: Default - Invalidation flow
      required: false
  - model: authentik_blueprints.metaapplyblueprint
    attrs:
      identifiers:
        name: Default - User settings flow
      required: false
  - model: authentik_brands.brand
    identifiers:
      domain: authentik-default
    attrs:
      default: true
      flow_authentication: !Find [authentik_flows.flow, [slug, default-authentication-flow]]
      flow_invalidation: !Find [authentik_flows.flow, [slug, default-invalidation-flow]]
      flow_user_settings: !Find [authentik_flows.flow, [slug, default-user-settings-flow]]
      flow_device_code: !KeyOf flow
";

#[tokio::test]
async fn platform_style_device_code_blueprint_applies_to_empty_and_bootstrapped_stores() {
    // An empty store: the meta-apply entries bring the bundled default flows first.
    let (_dir, store) = temp_store().await;
    let empty = Service::new(store, Config::new("http://x"), Arc::new(SystemClock));
    let report = empty
        .apply_blueprints(&src(PLATFORM_STYLE_DEVICE_CODE))
        .await
        .expect("apply to an empty store");
    assert!(report.created > 5, "{report:?}");
    let flows: Vec<String> = empty
        .list_flows()
        .await
        .expect("flows")
        .into_iter()
        .map(|f| f.slug)
        .collect();
    for slug in [
        "device-code",
        "default-authentication-flow",
        "default-invalidation-flow",
        "default-user-settings-flow",
    ] {
        assert!(flows.iter().any(|f| f == slug), "{slug} in {flows:?}");
    }
    let again = empty
        .apply_blueprints(&src(PLATFORM_STYLE_DEVICE_CODE))
        .await
        .expect("re-apply");
    assert!(again.is_noop(), "{again:?}");
    // A bootstrapped store already has all of it.
    let (_dir, service) = bootstrapped_service("http://x").await;
    let report = service
        .apply_blueprints(&src(PLATFORM_STYLE_DEVICE_CODE))
        .await
        .expect("apply");
    assert!(report.is_noop(), "{report:?}");
}

#[tokio::test]
async fn alias_bomb_is_refused() {
    let mut text = format!(
        "{GOOD_HEAD}  - model: authentik_flows.flow\n    identifiers: {{slug: bomb}}\n    attrs:\n      background: &a0 [x, x, x, x, x, x, x, x, x]\n"
    );
    for i in 1..10 {
        let p = i - 1;
        text.push_str(&format!(
            "      title{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let msg = fails_cleanly(&text, 17, "alias bomb", Some(3)).await;
    assert!(msg.len() < 300, "{msg}");
}

#[tokio::test]
async fn a_ten_megabyte_file_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("huge.yaml");
    let mut text = String::from("version: 1\nentries: []\n");
    while text.len() < 10 * 1024 * 1024 {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(&path, &text).expect("write");
    let err = read_sources(&[&path]).expect_err("refused");
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("{}:1", path.display())), "{msg}");
    assert!(msg.contains("refused"), "{msg}");
    assert!(matches!(err, BlueprintError::At { .. }));
    // The same limit holds for text handed over directly, and nothing is written.
    let (_d, service) = bootstrapped_service("http://x").await;
    let before = snapshot(&service).await;
    let err = service
        .apply_blueprints(&src(&text))
        .await
        .expect_err("refused");
    assert!(err.to_string().starts_with("test.yaml:1"), "{err}");
    assert_eq!(before, snapshot(&service).await);
}

// --- the real binary -------------------------------------------------------------------------

fn latchkey() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    cmd.env_remove("LATCHKEY_DB")
        .env_remove("LATCHKEY_LISTEN")
        .env("LATCHKEY_BOOTSTRAP_PASSWORD", "blueprint-test-password");
    cmd
}

#[test]
fn cli_apply_prints_counts_and_bad_files_exit_2() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("cli.db");
    let out = latchkey()
        .arg("apply")
        .arg(fixtures().join("examples/example-app.yaml"))
        .arg("--db")
        .arg(&db)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("2 created, 0 updated, 0 deleted"),
        "{stdout}"
    );

    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "version: 1\nentries:\n  - model: authentik_flows.nope\n    identifiers: {slug: x}\n",
    )
    .expect("w");
    let out = latchkey()
        .arg("apply")
        .arg(&bad)
        .arg("--db")
        .arg(&db)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("{}:3", bad.display())), "{stderr}");
    assert!(stderr.contains("unknown model"), "{stderr}");
}

#[test]
fn cli_export_reapplies_with_zero_changes() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("cli.db");
    let out_file = dir.path().join("export.yaml");
    let out = latchkey()
        .arg("apply")
        .arg(fixtures().join("examples/authentik-cli.yaml"))
        .arg("--db")
        .arg(&db)
        .output()
        .expect("apply");
    assert_eq!(out.status.code(), Some(0));
    let out = latchkey()
        .args(["export", "--output"])
        .arg(&out_file)
        .arg("--db")
        .arg(&db)
        .output()
        .expect("export");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = latchkey()
        .arg("apply")
        .arg(&out_file)
        .arg("--db")
        .arg(&db)
        .output()
        .expect("re");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("0 created, 0 updated, 0 deleted"),
        "{stdout}"
    );
}

#[test]
fn a_running_server_serves_an_application_applied_by_another_process() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("live.db");
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        l.local_addr().expect("addr").port()
    };
    let mut child = latchkey()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--db"])
        .arg(&db)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let url = format!(
        "http://127.0.0.1:{port}/application/o/example-app/.well-known/openid-configuration"
    );
    let status = |rt: &tokio::runtime::Runtime| {
        rt.block_on(async {
            reqwest::get(&url)
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        })
    };
    let start = Instant::now();
    while status(&rt) == 0 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(status(&rt), 404, "no such application yet");
    let out = latchkey()
        .arg("apply")
        .arg(fixtures().join("examples/example-app.yaml"))
        .arg("--db")
        .arg(&db)
        .output()
        .expect("apply");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let applied = Instant::now();
    let mut seen = 0;
    while applied.elapsed() < Duration::from_secs(3) {
        seen = status(&rt);
        if seen == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(seen, 200, "discovery within 3 s of apply");
}

#[test]
fn serve_applies_blueprint_flags_before_answering() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("flag.db");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "version: 1\nentries:\n  - model: authentik_flows.flow\n    identifiers: {slug: [x]}\n",
    )
    .expect("w");
    let out = latchkey()
        .args(["serve", "--listen", "127.0.0.1:0", "--blueprint"])
        .arg(&bad)
        .arg("--db")
        .arg(&db)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("{}:4", bad.display())), "{stderr}");

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        l.local_addr().expect("addr").port()
    };
    let mut child = latchkey()
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--blueprint",
        ])
        .arg(fixtures().join("examples/example-app.yaml"))
        .arg("--db")
        .arg(&db)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let url = format!(
        "http://127.0.0.1:{port}/application/o/example-app/.well-known/openid-configuration"
    );
    let start = Instant::now();
    let mut first = 0;
    while first == 0 && start.elapsed() < Duration::from_secs(20) {
        first = rt.block_on(async {
            reqwest::get(&url)
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        });
        if first == 0 {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        first, 200,
        "the very first answer already knows the application"
    );
}

#[tokio::test]
async fn a_provider_from_a_blueprint_gets_the_consoles_grant_types() {
    let (_dir, service) = bootstrapped_service("http://x").await;
    let text = "version: 1\nentries:\n  - model: authentik_providers_oauth2.oauth2provider\n    identifiers: {name: defaults}\n";
    service.apply_blueprints(&src(text)).await.expect("apply");
    let p = service
        .list_providers()
        .await
        .expect("providers")
        .into_iter()
        .find(|p| p.name == "defaults")
        .expect("created");
    assert_eq!(
        p.oauth2.grant_types,
        latchkey::domain::OAuth2Settings::default().grant_types
    );
    assert!(
        !p.oauth2.grant_types.iter().any(|g| g == "password"),
        "the password grant stays off unless enabled: {:?}",
        p.oauth2.grant_types
    );
}

#[tokio::test]
async fn a_regex_redirect_uri_that_does_not_compile_is_refused_at_its_line() {
    let text = format!(
        "{GOOD_HEAD}  - model: authentik_providers_oauth2.oauth2provider\n    identifiers: {{name: p}}\n    attrs:\n      client_type: public\n      redirect_uris:\n        - matching_mode: regex\n          url: 'https://(app\\.example\\.com/cb'\n"
    );
    let msg = fails_cleanly(&text, 13, "invalid regex", Some(3)).await;
    assert!(msg.contains("redirect_uris"), "{msg}");
}

#[tokio::test]
async fn a_validity_of_zero_or_less_is_refused() {
    for value in ["hours=-5", "seconds=0"] {
        let text = format!(
            "{GOOD_HEAD}  - model: authentik_providers_oauth2.oauth2provider\n    identifiers: {{name: p}}\n    attrs:\n      access_token_validity: {value}\n"
        );
        let msg = fails_cleanly(&text, 12, "access_token_validity", Some(3)).await;
        assert!(msg.contains("longer than zero"), "{msg}");
    }
}

#[tokio::test]
async fn a_key_given_twice_is_refused_not_first_wins() {
    let text = format!(
        "{GOOD_HEAD}  - model: authentik_flows.flow\n    identifiers: {{slug: twice}}\n    attrs:\n      name: First\n      title: T\n      name: Second\n"
    );
    let msg = fails_cleanly(&text, 14, "appears twice", Some(3)).await;
    assert!(msg.contains("'name'") && msg.contains("line 12"), "{msg}");
}

/// Found by `props::blueprint_apply_of_mutated_documents_is_all_or_nothing`: a `!Find` whose
/// argument is a scalar, not a list, resolved itself for ever and overflowed the stack. Now it
/// is refused at its line, saying the shape it takes.
#[tokio::test]
async fn a_scalar_find_is_refused_at_its_line_not_a_stack_overflow() {
    let text = "version: 1\nentries:\n  - model: authentik_core.application\n    identifiers: {slug: app}\n    attrs:\n      name: App\n      provider: !Find authentik_providers_oauth2.oauth2provider\n";
    fails_cleanly(text, 7, "!Find takes [model, [field, value], ...]", Some(1)).await;
}
