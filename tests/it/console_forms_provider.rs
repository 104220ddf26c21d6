//! Issue 14's provider forms: the OAuth2 provider form as authentik's (authentication flow,
//! grant types, the client ID in clear, default scopes), "Create application with provider"
//! (`N` on Applications) and `n` on the application form's provider field.

use crossterm::event::KeyCode;
use latchkey::console::form::field::FieldValue;
use latchkey::console::keymap::Mode;
use latchkey::console::tabs::TabId;
use latchkey::domain::{FlowDesignation, ScopeMapping};
use latchkey::service::Service;

use crate::console_forms::{ctrl, focus_field, fresh, key, render, settle, tab, typ};

fn flow_id(data: &latchkey::console::data::Data, slug: &str) -> String {
    data.flows
        .iter()
        .find(|f| f.slug == slug)
        .map(|f| f.id.clone())
        .unwrap_or_else(|| panic!("no flow {slug}"))
}

/// The managed identifiers of the scope mappings with these ids.
fn managed_of(mappings: &[ScopeMapping], ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = mappings
        .iter()
        .filter(|m| ids.contains(&m.id))
        .filter_map(|m| m.managed.clone())
        .collect();
    out.sort();
    out
}

/// Opens the focused select's picker, filters by `filter` and picks the first match.
fn pick(app: &mut latchkey::console::app::App, field: &str, filter: &str) {
    focus_field(app, field);
    app.handle_key(key(KeyCode::Enter));
    typ(app, filter);
    app.handle_key(key(KeyCode::Enter));
}

fn many(app: &latchkey::console::app::App, field: &str) -> Vec<String> {
    match app.form().and_then(|f| f.value(field)) {
        Some(FieldValue::Many(v)) => v.clone(),
        other => panic!("{field}: {other:?}"),
    }
}

#[tokio::test]
async fn the_provider_form_has_authentiks_fields_and_defaults() {
    let (_d, service, mut app) = fresh().await;
    typ(&mut app, "6n");
    app.handle_key(key(KeyCode::Enter));
    assert_eq!(
        app.form().map(|f| f.title.as_str()),
        Some("Create OAuth2/OpenID Provider")
    );
    typ(&mut app, "with-auth-flow");

    // The grant types as authentik lists them, every one offered.
    let form = app.form().expect("form");
    let grants = form
        .fields
        .iter()
        .find(|f| f.spec.key == "grant_types")
        .expect("a grant types field");
    let offered: Vec<String> = (grants.spec.choices)(app.data())
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(
        offered,
        [
            "authorization_code",
            "implicit",
            "hybrid",
            "refresh_token",
            "client_credentials",
            "password",
            "urn:ietf:params:oauth:grant-type:device_code",
        ]
    );

    // Default scopes: authentik's openid, email and profile, nothing else.
    let mappings = service.list_scope_mappings().await.expect("mappings");
    assert_eq!(
        managed_of(&mappings, &many(&app, "scope_mappings")),
        [
            "goauthentik.io/providers/oauth2/scope-email",
            "goauthentik.io/providers/oauth2/scope-openid",
            "goauthentik.io/providers/oauth2/scope-profile",
        ]
    );

    // The client ID is in clear, the secret masked.
    let client_id = form.value("client_id").expect("id").text().to_string();
    let secret = form
        .value("client_secret")
        .expect("secret")
        .text()
        .to_string();
    let screen = render(&mut app, 120, 40);
    assert!(screen.contains(&client_id), "client ID in clear:\n{screen}");
    assert!(!screen.contains(&secret[..16]), "secret masked");

    // The authentication flow only offers authentication flows; picked, it is saved.
    let auth = flow_id(app.data(), "default-authentication-flow");
    let choices = {
        let f = app.form().expect("form");
        let spec = f
            .fields
            .iter()
            .find(|f| f.spec.key == "authentication_flow")
            .expect("an authentication flow field")
            .spec;
        (spec.choices)(app.data())
    };
    assert!(choices.iter().any(|c| c.id == auth), "{choices:?}");
    let designations: Vec<FlowDesignation> = choices
        .iter()
        .filter_map(|c| app.data().flows.iter().find(|f| f.id == c.id))
        .map(|f| f.designation)
        .collect();
    assert!(
        designations
            .iter()
            .all(|d| *d == FlowDesignation::Authentication),
        "{designations:?}"
    );
    pick(
        &mut app,
        "authentication_flow",
        "default-authentication-flow",
    );
    // Untick "hybrid": the grant types are saved as ticked.
    focus_field(&mut app, "grant_types");
    app.handle_key(key(KeyCode::Enter));
    typ(&mut app, "hybrid");
    app.handle_key(key(KeyCode::Char(' ')));
    app.handle_key(key(KeyCode::Enter));
    assert!(!many(&app, "grant_types").contains(&"hybrid".to_string()));
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let p = service
        .list_providers()
        .await
        .expect("providers")
        .into_iter()
        .find(|p| p.name == "with-auth-flow")
        .expect("saved");
    assert_eq!(p.authentication_flow_id.as_deref(), Some(auth.as_str()));
    assert_eq!(p.client_id, client_id);
    assert!(p.oauth2.grant_types.contains(&"authorization_code".into()));
    assert!(!p.oauth2.grant_types.contains(&"hybrid".into()));
}

async fn app_named(service: &Service, slug: &str) -> Option<latchkey::domain::Application> {
    service
        .list_applications()
        .await
        .expect("applications")
        .into_iter()
        .find(|a| a.slug == slug)
}

/// `5 N`, then the application's name and slug.
fn open_with_provider(app: &mut latchkey::console::app::App, name: &str, slug: &str) {
    typ(app, "5");
    assert_eq!(app.current_tab(), TabId::Applications);
    typ(app, "N");
    assert_eq!(app.mode(), Mode::Form);
    assert_eq!(
        app.form().map(|f| f.title.as_str()),
        Some("Create Application with Provider")
    );
    typ(app, name);
    focus_field(app, "slug");
    typ(app, slug);
}

#[tokio::test]
async fn create_with_provider_writes_the_application_and_its_provider() {
    let (_d, service, mut app) = fresh().await;
    open_with_provider(&mut app, "Kestra", "kestra");
    focus_field(&mut app, "redirect_uris");
    typ(&mut app, "https://kestra.company/oauth/callback/authentik");
    pick(
        &mut app,
        "authentication_flow",
        "default-authentication-flow",
    );
    let client_id = app
        .form()
        .and_then(|f| f.value("client_id"))
        .map(|v| v.text().to_string())
        .expect("client id");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    assert_eq!(
        app.mode(),
        Mode::List,
        "{:?}",
        app.form().map(|f| &f.banner)
    );
    let a = app_named(&service, "kestra")
        .await
        .expect("the application");
    let p = service
        .list_providers()
        .await
        .expect("providers")
        .into_iter()
        .find(|p| Some(&p.id) == a.provider_id.as_ref())
        .expect("the application uses the new provider");
    assert_eq!(p.name, "Provider for Kestra", "named after the application");
    assert_eq!(p.client_id, client_id);
    assert_eq!(
        p.oauth2
            .redirect_uris
            .iter()
            .map(|u| u.url.as_str())
            .collect::<Vec<_>>(),
        ["https://kestra.company/oauth/callback/authentik"]
    );
    assert_eq!(
        p.authentication_flow_id,
        Some(flow_id(app.data(), "default-authentication-flow"))
    );
}

#[tokio::test]
async fn create_with_provider_refuses_a_bad_provider_field_and_writes_neither() {
    let (_d, service, mut app) = fresh().await;
    let providers = service.list_providers().await.expect("providers").len();
    open_with_provider(&mut app, "Bad", "bad");
    focus_field(&mut app, "access_token_validity");
    for _ in 0..10 {
        app.handle_key(key(KeyCode::Backspace));
    }
    typ(&mut app, "hours=-2");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let err = app
        .form()
        .and_then(|f| f.error("access_token_validity"))
        .unwrap_or_default()
        .to_string();
    assert!(err.contains("longer than zero"), "{err}");
    assert!(app_named(&service, "bad").await.is_none());
    assert_eq!(
        service.list_providers().await.expect("providers").len(),
        providers
    );
}

#[tokio::test]
async fn a_provider_clash_is_shown_at_the_provider_field_and_nothing_is_written() {
    let (_d, service, mut app) = fresh().await;
    open_with_provider(&mut app, "First", "first");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let first = app_named(&service, "first").await.expect("first saved");
    let taken = service
        .list_providers()
        .await
        .expect("providers")
        .into_iter()
        .find(|p| Some(&p.id) == first.provider_id.as_ref())
        .expect("its provider")
        .client_id;
    open_with_provider(&mut app, "Second", "second");
    if let Some(f) = app.form_mut() {
        f.set_text("client_id", &taken);
    }
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let form = app.form().expect("the form stays open");
    assert_eq!(
        form.error("client_id"),
        Some("already taken: choose another")
    );
    assert_eq!(form.focused().map(|f| f.spec.key), Some("client_id"));
    assert!(
        app_named(&service, "second").await.is_none(),
        "the application is not written without its provider"
    );
}

#[tokio::test]
async fn n_on_the_provider_field_creates_one_and_selects_it() {
    let (_d, service, mut app) = fresh().await;
    typ(&mut app, "5n");
    assert_eq!(
        app.form().map(|f| f.title.as_str()),
        Some("Create Application")
    );
    typ(&mut app, "Grafana");
    focus_field(&mut app, "slug");
    typ(&mut app, "grafana");
    focus_field(&mut app, "provider");
    typ(&mut app, "n");
    assert_eq!(
        app.form().map(|f| f.title.as_str()),
        Some("Create OAuth2/OpenID Provider"),
        "n opens the provider form over the application's"
    );
    typ(&mut app, "grafana-provider");
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let p = service
        .list_providers()
        .await
        .expect("providers")
        .into_iter()
        .find(|p| p.name == "grafana-provider")
        .expect("the provider is saved");
    let form = app.form().expect("back in the application form");
    assert_eq!(form.title, "Create Application");
    assert_eq!(
        form.value("name").map(|v| v.text()),
        Some("Grafana"),
        "what was typed stays"
    );
    assert_eq!(
        form.value("provider").and_then(|v| v.one()),
        Some(p.id.as_str())
    );
    app.handle_key(ctrl('s'));
    settle(&mut app, &service).await;
    let a = app_named(&service, "grafana")
        .await
        .expect("the application");
    assert_eq!(a.provider_id, Some(p.id));

    // On another select there is nothing to create: the form says so.
    typ(&mut app, "5n");
    focus_field(&mut app, "policy_engine_mode");
    typ(&mut app, "n");
    let form = app.form().expect("still the application form");
    assert_eq!(form.title, "Create Application");
    assert_eq!(
        form.banner.as_deref(),
        Some("nothing to create for this field")
    );
}

#[tokio::test]
async fn snapshot_create_with_provider_form() {
    let (_d, _service, mut app) = fresh().await;
    open_with_provider(&mut app, "Kestra", "kestra");
    tab(&mut app, 1);
    if let Some(f) = app.form_mut() {
        f.set_text("client_id", "kestra-client-id");
    }
    let screen = render(&mut app, 80, 24);
    let header = screen.lines().next().unwrap_or_default();
    // Issue 14: the server's URL stays readable beside a long form title at 80 columns.
    assert!(
        header.contains(&app.server_url()),
        "{header:?} lacks {}",
        app.server_url()
    );
    insta::assert_snapshot!("with_provider_80x24", screen);
    focus_field(&mut app, "client_secret");
    insta::assert_snapshot!("with_provider_120x40", render(&mut app, 120, 40));
}
