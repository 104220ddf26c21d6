//! The flow executor JSON API as authentik's own client reads it: every challenge latchkey
//! shows parses with `authentik-client`'s `ChallengeTypes`, and the login of authentik's
//! `ak-flow-executor` (goauthentik/platform), reproduced with the same client calls
//! (`flows_executor_get` once, then `flows_executor_solve` per challenge, a cookie jar holding
//! `authentik_session`), completes against a real listener; the cookie it ends with signs an
//! OAuth2 authorization in. The old cookie name `latchkey_session` is still honoured.

use std::sync::Arc;

use authentik_client::apis::configuration::Configuration;
use authentik_client::apis::flows_api::{flows_executor_get, flows_executor_solve};
use authentik_client::models::{
    ChallengeTypes, FlowChallengeResponseRequest, FlowDesignationEnum,
    IdentificationChallengeResponseRequest, PasswordChallengeResponseRequest,
};
use latchkey::domain::{Flow, FlowAuthentication, FlowDesignation, FlowLayout, StageKind};
use latchkey::flows::challenge::{
    Challenge, ChallengeKind, ConsentPermission, LogoutFrame, PromptField,
};
use latchkey::http::session::{COOKIE_NAME, LEGACY_COOKIE_NAME};
use reqwest::cookie::{CookieStore, Jar};
use serde_json::Value;

use crate::flows_support::{AUTH_FLOW, add_flow, add_whoami, api_url};
use crate::server::{APP_REDIRECT, create_oidc_app};
use crate::support::{ADMIN_PASSWORD, TestServer, client, spawn_server};

/// authentik-client's configuration as `ak-flow-executor` builds it: the API base path and a
/// reqwest client with a cookie jar (the jar is where it reads `authentik_session` from).
fn executor_config(base_url: &str) -> (Configuration, Arc<Jar>) {
    let jar = Arc::new(Jar::default());
    let http = reqwest::Client::builder()
        .cookie_provider(Arc::clone(&jar))
        .build()
        .expect("client");
    let mut config = Configuration::new();
    config.base_path = format!("{base_url}/api/v3");
    config.client = http.into();
    (config, jar)
}

/// The answer `ak-flow-executor`'s solvers give a challenge: the identification solver sends
/// the username (and the password when it has one, here none), the password solver the
/// password. `None`: a challenge the executor stops at (redirect: done; anything else: stuck).
fn solve(
    challenge: &ChallengeTypes,
    username: &str,
    password: &str,
) -> Option<FlowChallengeResponseRequest> {
    match challenge {
        ChallengeTypes::AkStageIdentification(_) => {
            let mut r = IdentificationChallengeResponseRequest::new();
            r.uid_field = Some(Some(username.to_string()));
            r.password = Some(None);
            Some(FlowChallengeResponseRequest::AkStageIdentification(r))
        }
        ChallengeTypes::AkStagePassword(_) => Some(FlowChallengeResponseRequest::AkStagePassword(
            PasswordChallengeResponseRequest::new(password.to_string()),
        )),
        _ => None,
    }
}

/// What a challenge's `response_errors` say, as `field: message` lines.
fn errors_of(challenge: &ChallengeTypes) -> Vec<String> {
    let errors = match challenge {
        ChallengeTypes::AkStageIdentification(c) => c.response_errors.clone(),
        ChallengeTypes::AkStagePassword(c) => c.response_errors.clone(),
        ChallengeTypes::AkStageAccessDenied(c) => c.response_errors.clone(),
        _ => None,
    };
    errors
        .unwrap_or_default()
        .into_iter()
        .flat_map(|(k, v)| v.into_iter().map(move |e| format!("{k}: {}", e.string)))
        .collect()
}

/// Runs `ak-flow-executor`'s loop on the default authentication flow: GET the first challenge,
/// then solve until a redirect (success), a challenge with errors, or one it cannot answer.
/// Returns the last challenge.
async fn run_executor(config: &Configuration, username: &str, password: &str) -> ChallengeTypes {
    let mut challenge = flows_executor_get(config, AUTH_FLOW, "")
        .await
        .expect("the first challenge parses with authentik-client's model");
    for _ in 0..10 {
        if !errors_of(&challenge).is_empty() {
            return challenge;
        }
        let Some(answer) = solve(&challenge, username, password) else {
            return challenge;
        };
        challenge = flows_executor_solve(config, AUTH_FLOW, "", Some(answer))
            .await
            .expect("every challenge parses with authentik-client's model");
    }
    panic!("the flow did not end within 10 challenges: {challenge:?}");
}

/// The jar's value of the cookie `name` for the server.
fn jar_cookie(jar: &Jar, base_url: &str, name: &str) -> Option<String> {
    let url = base_url.parse().expect("url");
    let header = jar.cookies(&url)?;
    let prefix = format!("{name}=");
    header
        .to_str()
        .ok()?
        .split("; ")
        .find_map(|pair| pair.strip_prefix(&prefix).map(str::to_string))
}

/// GET /application/o/authorize/ for the provider with only `cookie` (`name=value`) as the
/// session: the Location answered, if any.
async fn authorize_with_cookie(s: &TestServer, client_id: &str, cookie: &str) -> (u16, String) {
    let redirect: String = form_urlencoded::byte_serialize(APP_REDIRECT.as_bytes()).collect();
    let url = format!(
        "{}/application/o/authorize/?response_type=code&client_id={client_id}\
         &redirect_uri={redirect}&scope=openid&state=s1",
        s.base_url
    );
    let res = client()
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .expect("authorize");
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (res.status().as_u16(), location)
}

#[tokio::test]
async fn ak_flow_executor_login_completes_and_its_cookie_authorizes_an_oauth2_request() {
    let s = spawn_server().await;
    let provider = create_oidc_app(&s, "app").await;
    let (config, jar) = executor_config(&s.base_url);

    let first = flows_executor_get(&config, AUTH_FLOW, "")
        .await
        .expect("the identification challenge parses");
    let ChallengeTypes::AkStageIdentification(ident) = &first else {
        panic!("the default authentication flow starts with identification: {first:?}");
    };
    assert_eq!(ident.flow_designation, FlowDesignationEnum::Authentication);
    let info = ident.flow_info.as_ref().expect("flow_info");
    assert_eq!(info.cancel_url, "/flows/-/cancel/");

    let last = run_executor(&config, "akadmin", ADMIN_PASSWORD).await;
    let ChallengeTypes::XakFlowRedirect(done) = &last else {
        panic!("the login ends with a redirect: {last:?}");
    };
    assert!(!done.to.is_empty());

    let session = jar_cookie(&jar, &s.base_url, COOKIE_NAME)
        .expect("the login leaves an authentik_session cookie in the executor's jar");
    let (status, location) =
        authorize_with_cookie(&s, &provider.client_id, &format!("{COOKIE_NAME}={session}")).await;
    assert!((300..400).contains(&status), "{status} {location}");
    assert!(
        location.starts_with(&format!("{APP_REDIRECT}?code=")),
        "a code, not the login page: {location}"
    );
    // Without the cookie the same request goes to the login flow.
    let (_, anonymous) = authorize_with_cookie(&s, &provider.client_id, "x=y").await;
    assert!(!anonymous.starts_with(APP_REDIRECT), "{anonymous}");
}

#[tokio::test]
async fn a_wrong_password_comes_back_as_a_password_challenge_with_the_error() {
    let s = spawn_server().await;
    let (config, jar) = executor_config(&s.base_url);
    let last = run_executor(&config, "akadmin", "not-the-password").await;
    let ChallengeTypes::AkStagePassword(pw) = &last else {
        panic!("a wrong password shows the password stage again: {last:?}");
    };
    assert_eq!(pw.pending_user, "akadmin");
    let errors = errors_of(&last);
    assert!(
        errors.iter().any(|e| e.starts_with("password: ")),
        "the error is at the password field: {errors:?}"
    );
    // Nobody is signed in: the jar's session does not authorize.
    let provider = create_oidc_app(&s, "app").await;
    let session = jar_cookie(&jar, &s.base_url, COOKIE_NAME).unwrap_or_default();
    let (_, location) =
        authorize_with_cookie(&s, &provider.client_id, &format!("{COOKIE_NAME}={session}")).await;
    assert!(!location.starts_with(APP_REDIRECT), "{location}");
}

/// The `Set-Cookie` values of a response.
fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn a_session_under_the_old_cookie_name_is_recognised_and_moved_to_the_new_name() {
    let s = spawn_server().await;
    add_whoami(&s.service).await;
    let provider = create_oidc_app(&s, "app").await;
    let (config, jar) = executor_config(&s.base_url);
    run_executor(&config, "akadmin", ADMIN_PASSWORD).await;
    let value = jar_cookie(&jar, &s.base_url, COOKIE_NAME).expect("session cookie");

    // A browser that signed in before the rename carries only latchkey_session.
    let res = client()
        .get(api_url(&s.base_url, "whoami"))
        .header("cookie", format!("{LEGACY_COOKIE_NAME}={value}"))
        .send()
        .await
        .expect("whoami");
    let cookies = set_cookies(&res);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error_message"], "logged-in", "{body}");
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with(&format!("{COOKIE_NAME}={value};"))),
        "the same session is sent under the new name: {cookies:?}"
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with(&format!("{LEGACY_COOKIE_NAME}=;")) && c.contains("Max-Age=0")),
        "the old cookie is expired: {cookies:?}"
    );
    // The old name alone also authorizes an OAuth2 request.
    let (_, location) = authorize_with_cookie(
        &s,
        &provider.client_id,
        &format!("{LEGACY_COOKIE_NAME}={value}"),
    )
    .await;
    assert!(
        location.starts_with(&format!("{APP_REDIRECT}?code=")),
        "{location}"
    );

    // A request under the new name is not told to rename anything.
    let res = client()
        .get(api_url(&s.base_url, "whoami"))
        .header("cookie", format!("{COOKIE_NAME}={value}"))
        .send()
        .await
        .expect("whoami");
    let cookies = set_cookies(&res);
    assert!(
        !cookies.iter().any(|c| c.starts_with(LEGACY_COOKIE_NAME)),
        "{cookies:?}"
    );
    // An old-name cookie naming no session is not moved.
    let res = client()
        .get(api_url(&s.base_url, "whoami"))
        .header("cookie", format!("{LEGACY_COOKIE_NAME}=no-such-session"))
        .send()
        .await
        .expect("whoami");
    let cookies = set_cookies(&res);
    assert!(
        !cookies.iter().any(|c| c.contains("no-such-session")),
        "{cookies:?}"
    );
}

/// A flow with every member the flow info carries set away from the defaults.
fn flow(designation: FlowDesignation) -> Flow {
    Flow {
        id: "f".into(),
        name: "F".into(),
        slug: "f".into(),
        title: "Welcome".into(),
        designation,
        authentication: Default::default(),
        denied_action: Default::default(),
        policy_engine_mode: Default::default(),
        layout: FlowLayout::SidebarLeft,
        compatibility_mode: false,
        background: "/static/bg.jpg".into(),
        created_at: 0,
        updated_at: 0,
        version: 1,
    }
}

/// One of every challenge latchkey shows.
fn every_kind() -> Vec<ChallengeKind> {
    vec![
        ChallengeKind::Identification {
            user_fields: vec!["username".into(), "email".into()],
            password_fields: true,
            enable_remember_me: true,
            show_source_labels: true,
            enroll_url: Some("/if/flow/default-enrollment-flow/?next=%2F".into()),
            passwordless_url: Some("/if/flow/passwordless/".into()),
            recovery_url: Some("/if/flow/default-recovery-flow/".into()),
        },
        ChallengeKind::Password {
            pending_user: "ann".into(),
            allow_show_password: true,
            recovery_url: Some("http://localhost/if/flow/default-recovery-flow/".into()),
        },
        ChallengeKind::AuthenticatorValidate {
            pending_user: "ann".into(),
            device_classes: vec!["totp".into(), "webauthn".into()],
            webauthn: Some(serde_json::json!({"challenge": "abc", "rpId": "localhost"})),
        },
        ChallengeKind::AuthenticatorWebauthnSetup {
            pending_user: "ann".into(),
            registration: serde_json::json!({"challenge": "abc", "rp": {"id": "localhost"}}),
        },
        ChallengeKind::AuthenticatorTotpSetup {
            pending_user: "ann".into(),
            config_url: "otpauth://totp/x".into(),
            secret: "ABC".into(),
            qr_svg: "<svg/>".into(),
        },
        ChallengeKind::Consent {
            pending_user: "ann".into(),
            header_text: "App wants".into(),
            permissions: vec![ConsentPermission {
                id: "email".into(),
                name: "Email address".into(),
            }],
            token: "t".into(),
        },
        ChallengeKind::Prompt {
            fields: vec![PromptField {
                field_key: "name".into(),
                label: "Name".into(),
                field_type: "text".into(),
                required: true,
                placeholder: String::new(),
                initial_value: String::new(),
                sub_text: String::new(),
                order: 0,
            }],
        },
        ChallengeKind::AccessDenied {
            error_message: "no".into(),
        },
        ChallengeKind::Redirect { to: "/".into() },
        ChallengeKind::EndpointAgent {
            challenge: "eyJ.e30.sig".into(),
            challenge_idle_timeout: 3,
        },
        ChallengeKind::ProviderIframeLogout {
            logout_urls: vec![LogoutFrame {
                url: "https://rp.example/logout".into(),
                provider_name: "rp".into(),
            }],
        },
        ChallengeKind::Email,
    ]
}

#[test]
fn every_challenge_parses_with_authentik_clients_model_of_its_component() {
    let flow = flow(FlowDesignation::Enrollment);
    for kind in every_kind() {
        let component = kind.component();
        let challenge =
            Challenge::for_flow(kind, &flow, "Welcome").with_error("non_field_errors", "try again");
        let json = challenge.to_json();
        let parsed: ChallengeTypes = serde_json::from_value(json.clone())
            .unwrap_or_else(|e| panic!("{component} does not parse: {e}\n{json}"));
        let back = serde_json::to_value(&parsed).expect("serialise");
        assert_eq!(back["component"], component, "{back}");
        if component != "xak-flow-redirect" {
            assert_eq!(
                back["flow_info"]["layout"], "sidebar_left",
                "{component}: {back}"
            );
            assert_eq!(back["flow_info"]["background"], "/static/bg.jpg");
            assert_eq!(back["flow_info"]["title"], "Welcome");
            assert_eq!(
                back["response_errors"]["non_field_errors"][0]["string"],
                "try again"
            );
        }
    }
}

#[test]
fn the_identification_challenge_names_its_flows_designation() {
    for designation in FlowDesignation::ALL {
        let kind = ChallengeKind::Identification {
            user_fields: vec!["username".into()],
            password_fields: false,
            enable_remember_me: false,
            show_source_labels: false,
            enroll_url: None,
            passwordless_url: None,
            recovery_url: None,
        };
        let json = Challenge::for_flow(kind, &flow(*designation), "t").to_json();
        let parsed: ChallengeTypes = serde_json::from_value(json).expect("parses");
        let ChallengeTypes::AkStageIdentification(c) = parsed else {
            panic!("identification");
        };
        assert_eq!(c.flow_designation.to_string(), designation.as_str());
    }
}

/// GET `path` on the server with only the jar's `authentik_session` as the session: the status
/// and Location answered.
async fn get_with_session(s: &TestServer, jar: &Jar, path: &str) -> (u16, String) {
    let cookie = jar_cookie(jar, &s.base_url, COOKIE_NAME).expect("a session cookie");
    let res = client()
        .get(format!("{}{path}", s.base_url))
        .header("cookie", format!("{COOKIE_NAME}={cookie}"))
        .send()
        .await
        .expect("get");
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (res.status().as_u16(), location)
}

/// The flow executor's challenge after the user was identified (the password stage): its
/// `flow_info.cancel_url`.
async fn identified(config: &Configuration) -> String {
    let first = flows_executor_get(config, AUTH_FLOW, "")
        .await
        .expect("parses");
    let answer = solve(&first, "akadmin", ADMIN_PASSWORD).expect("identification");
    let second = flows_executor_solve(config, AUTH_FLOW, "", Some(answer))
        .await
        .expect("parses");
    let ChallengeTypes::AkStagePassword(p) = &second else {
        panic!("the password stage after identification: {second:?}");
    };
    p.flow_info.as_ref().expect("flow_info").cancel_url.clone()
}

#[tokio::test]
async fn the_cancel_url_drops_the_flow_in_progress_and_goes_to_the_invalidation_flow() {
    let s = spawn_server().await;
    let (config, jar) = executor_config(&s.base_url);
    let cancel_url = identified(&config).await;
    assert_eq!(cancel_url, "/flows/-/cancel/");

    let (status, location) = get_with_session(&s, &jar, &cancel_url).await;
    assert_eq!(
        (status, location.as_str()),
        (302, "/if/flow/default-invalidation-flow/"),
        "authentik's default invalidation flow"
    );
    let again = flows_executor_get(&config, AUTH_FLOW, "")
        .await
        .expect("parses");
    assert!(
        matches!(again, ChallengeTypes::AkStageIdentification(_)),
        "the flow starts over: {again:?}"
    );

    // `next` is followed when it is a path on this server, never to another origin.
    for (next, want) in [
        (
            "/if/flow/default-authentication-flow/",
            "/if/flow/default-authentication-flow/",
        ),
        (
            "https://evil.example/",
            "/if/flow/default-invalidation-flow/",
        ),
        ("//evil.example/", "/if/flow/default-invalidation-flow/"),
    ] {
        identified(&config).await;
        let query: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
        let (status, location) =
            get_with_session(&s, &jar, &format!("{cancel_url}?next={query}")).await;
        assert_eq!((status, location.as_str()), (302, want), "next={next}");
    }
}

#[tokio::test]
async fn an_access_denied_challenge_names_the_pending_user() {
    let s = spawn_server().await;
    add_flow(
        &s.service,
        "identify-then-deny",
        FlowAuthentication::None,
        vec![
            (
                StageKind::Identification,
                serde_json::json!({"user_fields": ["username"]}),
            ),
            (
                StageKind::Deny,
                serde_json::json!({"deny_message": "Not today."}),
            ),
        ],
    )
    .await;
    let (config, _) = executor_config(&s.base_url);
    let first = flows_executor_get(&config, "identify-then-deny", "")
        .await
        .expect("parses");
    let answer = solve(&first, "akadmin", "").expect("identification");
    let denied = flows_executor_solve(&config, "identify-then-deny", "", Some(answer))
        .await
        .expect("parses");
    let ChallengeTypes::AkStageAccessDenied(d) = &denied else {
        panic!("the deny stage: {denied:?}");
    };
    assert_eq!(d.error_message.as_deref(), Some("Not today."));
    assert_eq!(
        d.pending_user, "akadmin",
        "authentik names the pending user"
    );

    // An anonymous visitor denied before identifying is named by nobody.
    add_flow(
        &s.service,
        "deny-at-once",
        FlowAuthentication::None,
        vec![(StageKind::Deny, serde_json::json!({"deny_message": "No."}))],
    )
    .await;
    let anonymous = flows_executor_get(&executor_config(&s.base_url).0, "deny-at-once", "")
        .await
        .expect("parses");
    let ChallengeTypes::AkStageAccessDenied(d) = &anonymous else {
        panic!("{anonymous:?}");
    };
    assert_eq!(d.pending_user, "");
}
