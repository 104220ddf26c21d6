//! Issue 14: the Kestra setup of authentik's integration guide, typed from the keyboard into
//! the real binary's "Create Application with Provider" form under tmux; the client ID (shown
//! in clear) and the client secret (revealed with Ctrl-T) are read off the screen, and a real
//! OIDC client (openidconnect) signs in with them at the issuer `/application/o/kestra/`.

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    RedirectUrl, Scope,
};

use crate::console::{Tmux, start_console};
use crate::console_e2e::{focus, keys, pick, save, text};
use crate::oidc_flow::{browse_as, http_client};

const PASSWORD: &str = "tmux-test-password";
/// Kestra's callback, as authentik's Kestra guide sets it.
const REDIRECT: &str = "https://kestra.company/oauth/callback/authentik";

/// The server's URL from the console's header.
fn server_url(screen: &str) -> String {
    screen
        .lines()
        .next()
        .and_then(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with("http://127.0.0.1:"))
        })
        .expect("the server URL in the header")
        .to_string()
}

/// The value on the row labelled `label` (a one-line field shown in clear).
fn value_on_row(screen: &str, label: &str) -> String {
    let line = screen
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no row {label}:\n{screen}"));
    let after = &line[line.find(label).map_or(0, |i| i + label.len())..];
    after
        .split_whitespace()
        .next()
        .unwrap_or_else(|| panic!("no value on {label}:\n{screen}"))
        .to_string()
}

/// A revealed secret the form wraps in a box under its label: the rows of the box, joined.
fn boxed_value_under(screen: &str, label: &str) -> String {
    let lines: Vec<&str> = screen.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no row {label}:\n{screen}"));
    assert!(lines[at].contains('┌'), "not boxed:\n{screen}");
    let mut value = String::new();
    for line in &lines[at + 1..] {
        if line.contains('└') {
            break;
        }
        // `│<label column>│<chunk>│ │`: the chunk is the third part.
        let chunk = line.split('│').nth(2).unwrap_or_default();
        value.push_str(chunk.trim_end());
    }
    value
}

/// Signs in as akadmin through the browser pages with `client_id`/`secret`; returns the
/// ID token's preferred username and email.
async fn sign_in(base: &str, client_id: &str, secret: &str) -> (String, Option<String>) {
    let issuer = IssuerUrl::new(format!("{base}/application/o/kestra/")).expect("issuer");
    let metadata = CoreProviderMetadata::discover_async(issuer, &http_client)
        .await
        .expect("discovery at /application/o/kestra/");
    let oidc = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.into()),
        Some(ClientSecret::new(secret.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).expect("redirect"));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _csrf, nonce) = oidc
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let back = browse_as(base, url.as_str(), REDIRECT, PASSWORD).await;
    let code = url::Url::parse(&back)
        .expect("redirect")
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no code in {back}"));
    let token = oidc
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint")
        .set_pkce_verifier(verifier)
        .request_async(&http_client)
        .await
        .expect("the code exchange with the client id and secret read from the console");
    let id_token = openidconnect::TokenResponse::id_token(&token).expect("id token");
    let claims = id_token
        .claims(&oidc.id_token_verifier(), &nonce)
        .expect("the ID token validates");
    (
        claims
            .preferred_username()
            .map(|u| u.to_string())
            .unwrap_or_default(),
        claims.email().map(|e| e.to_string()),
    )
}

/// Types the Kestra application and provider into the create-with-provider form and reads
/// the client ID and secret off the screen before saving.
fn type_kestra_setup(tmux: &Tmux) -> (String, String) {
    keys(tmux, &["5"]);
    tmux.wait_for("the applications tab", |s| s.contains("Applications"));
    keys(tmux, &["N"]);
    tmux.wait_for("the create-with-provider form", |s| {
        s.contains("Create Application with Provider")
    });
    text(tmux, "Kestra");
    focus(tmux, "Slug");
    text(tmux, "kestra");
    focus(tmux, "Launch URL");
    text(tmux, "https://kestra.company");
    focus(tmux, "Redirect URIs");
    text(tmux, REDIRECT);
    pick(tmux, "Authentication flow", "default-authentication-flow");
    tmux.wait_for("the authentication flow picked", |s| {
        s.contains("< default-authentication-flow")
    });

    focus(tmux, "Client ID");
    let client_id = value_on_row(&tmux.capture(), "Client ID *");
    assert_eq!(client_id.len(), 40, "the client ID in clear: {client_id}");

    // The secret is masked until Ctrl-T; off the field it wraps whole in a box.
    focus(tmux, "Client Secret");
    assert!(
        !tmux.capture().contains("Client Secret         ┌"),
        "masked first"
    );
    keys(tmux, &["C-t"]);
    keys(tmux, &["Tab"]);
    let screen = tmux.wait_for("the revealed secret off its field", |s| {
        s.contains("│> Grant types")
    });
    let secret = boxed_value_under(&screen, "Client Secret");
    assert_eq!(secret.len(), 128, "the whole secret: {secret}\n{screen}");
    (client_id, secret)
}

#[test]
fn the_kestra_setup_typed_in_create_with_provider_signs_in_with_openidconnect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tmux = start_console(dir.path(), &[]);
    let screen = tmux.wait_for("the tab bar", |s| s.contains("1 Dashboard"));
    let base = server_url(&screen);

    let (client_id, secret) = type_kestra_setup(&tmux);
    save(&tmux, "created application kestra");

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (username, email) = runtime.block_on(sign_in(&base, &client_id, &secret));
    assert_eq!(username, "akadmin");
    assert!(
        email.is_some(),
        "the email scope (a default scope) is granted"
    );

    // A secret off by one character is refused: the one read from the screen is the one saved.
    let mut wrong = secret.clone();
    wrong.pop();
    wrong.push(if secret.ends_with('x') { 'y' } else { 'x' });
    let refused = runtime.block_on(async {
        let http = reqwest::Client::new();
        http.post(format!("{base}/application/o/token/"))
            .basic_auth(&client_id, Some(&wrong))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token endpoint")
            .status()
            .as_u16()
    });
    assert_eq!(refused, 401, "a wrong secret is refused");
    keys(&tmux, &["C-c"]);
}
