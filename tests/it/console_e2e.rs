//! The real binary under tmux (issue 7): a certificate, an OAuth2 provider and an application
//! built entirely from the keyboard; a real OIDC client (openidconnect) then completes the code
//! flow against the same process's server with the new client id; the redirect URI is edited in
//! the console and the very next authorize request sees the change.

use std::sync::Arc;

use latchkey::context::{Config, SystemClock};
use latchkey::service::Service;
use latchkey::store::{Store, StoreLocation};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge,
    RedirectUrl, Scope,
};

use crate::console::{Tmux, start_console};
use crate::oidc_flow::{browse_as, http_client};

const PASSWORD: &str = "tmux-test-password";
const OLD_REDIRECT: &str = "http://localhost:8080/cb";
const NEW_REDIRECT: &str = "http://localhost:9999/new";

pub(crate) fn keys(tmux: &Tmux, keys: &[&str]) {
    let mut args = vec!["send-keys", "-t", "console"];
    args.extend(keys);
    tmux.run(&args);
}

/// Types literal text (no key-name interpretation).
pub(crate) fn text(tmux: &Tmux, s: &str) {
    tmux.run(&["send-keys", "-t", "console", "-l", s]);
}

/// Tabs until the form's focus marker is on `label` (long labels are cut on screen).
pub(crate) fn focus(tmux: &Tmux, label: &str) {
    let shown: String = label.chars().take(19).collect();
    let marker = format!("│> {shown}");
    for _ in 0..30 {
        if tmux.capture().contains(&marker) {
            return;
        }
        keys(tmux, &["Tab"]);
        std::thread::sleep(std::time::Duration::from_millis(60));
    }
    panic!("no field {label}:\n{}", tmux.capture());
}

/// Opens the focused select, filters by `filter`, picks the first match.
pub(crate) fn pick(tmux: &Tmux, label: &str, filter: &str) {
    focus(tmux, label);
    keys(tmux, &["Enter"]);
    tmux.wait_for("the picker", |s| s.contains("filter:"));
    text(tmux, filter);
    keys(tmux, &["Enter"]);
    tmux.wait_for("the picker closed", |s| !s.contains("filter:"));
}

pub(crate) fn save(tmux: &Tmux, then: &str) {
    keys(tmux, &["C-s"]);
    tmux.wait_for(then, |s| !s.contains("[modified]") && s.contains(then));
}

/// The provider made in the console, read from the store file the running binary writes.
async fn provider_in(db: &std::path::Path) -> latchkey::domain::Provider {
    let store = Store::open(&StoreLocation::File(db.to_path_buf()))
        .await
        .expect("open the console's store");
    let service = Service::new(
        store.clone(),
        Config::new("http://x"),
        Arc::new(SystemClock),
    );
    let p = service
        .list_providers()
        .await
        .expect("providers")
        .into_iter()
        .find(|p| p.name == "kbd-provider")
        .expect("the provider made in the console");
    store.close().await;
    p
}

#[test]
fn keyboard_built_client_signs_in_with_a_real_oidc_library_and_redirect_edits_apply_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("x.db");
    let tmux = start_console(dir.path(), &[]);
    let screen = tmux.wait_for("the tab bar", |s| s.contains("1 Dashboard"));
    let base = screen
        .lines()
        .next()
        .and_then(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with("http://127.0.0.1:"))
        })
        .expect("the server URL in the header")
        .to_string();

    // A certificate: generate, P-256.
    keys(&tmux, &["7", "n"]);
    tmux.wait_for("the certificate choices", |s| {
        s.contains("Generate a self-signed")
    });
    keys(&tmux, &["Enter"]);
    tmux.wait_for("the certificate form", |s| {
        s.contains("Generate Certificate")
    });
    text(&tmux, "kbd-cert");
    focus(&tmux, "Common Name");
    text(&tmux, "kbd.example");
    pick(&tmux, "Private key Algorithm", "P-256");
    save(&tmux, "kbd-cert");

    // A provider with a strict redirect URI, signed by that certificate.
    keys(&tmux, &["6", "n"]);
    tmux.wait_for("the provider choices", |s| {
        s.contains("OAuth2/OpenID Provider")
    });
    keys(&tmux, &["Enter"]);
    tmux.wait_for("the provider form", |s| {
        s.contains("Create OAuth2/OpenID Provider")
    });
    text(&tmux, "kbd-provider");
    focus(&tmux, "Redirect URIs");
    text(&tmux, OLD_REDIRECT);
    pick(&tmux, "Signing Key", "kbd-cert");
    save(&tmux, "kbd-provider");

    // An application using it.
    keys(&tmux, &["5", "n"]);
    tmux.wait_for("the application form", |s| s.contains("Create Application"));
    text(&tmux, "Keyboard app");
    focus(&tmux, "Slug");
    text(&tmux, "kbd-app");
    pick(&tmux, "Provider", "kbd-provider");
    save(&tmux, "kbd-app");

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let p = provider_in(&db).await;
        let (client_id, secret) = (p.client_id, p.oauth2.client_secret);
        let issuer = IssuerUrl::new(format!("{base}/application/o/kbd-app/")).expect("issuer");
        let metadata = CoreProviderMetadata::discover_async(issuer, &http_client)
            .await
            .expect("discovery of the keyboard-made application");
        let oidc = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(client_id.clone()),
            Some(ClientSecret::new(secret)),
        )
        .set_redirect_uri(RedirectUrl::new(OLD_REDIRECT.into()).expect("redirect"));
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
        let back = browse_as(&base, url.as_str(), OLD_REDIRECT, PASSWORD).await;
        let code = url::Url::parse(&back)
            .expect("redirect")
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .expect("code");
        let token = oidc
            .exchange_code(AuthorizationCode::new(code))
            .expect("token endpoint")
            .set_pkce_verifier(verifier)
            .request_async(&http_client)
            .await
            .expect("code exchange");
        let id_token = openidconnect::TokenResponse::id_token(&token).expect("id token");
        let claims = id_token
            .claims(&oidc.id_token_verifier(), &nonce)
            .expect("the ID token validates (ES256, the keyboard-made key)");
        assert_eq!(
            claims.preferred_username().map(|u| u.as_str()),
            Some("akadmin")
        );
    });

    // Edit the redirect URI in the console: remove the row, add the new one, save.
    keys(&tmux, &["6", "g"]);
    tmux.wait_for("the providers list", |s| s.contains("kbd-provider"));
    keys(&tmux, &["e"]);
    tmux.wait_for("the provider edit form", |s| {
        s.contains("Update OAuth2/OpenID Provider")
    });
    focus(&tmux, "Redirect URIs");
    keys(&tmux, &["C-x"]);
    keys(&tmux, &["C-n"]);
    text(&tmux, NEW_REDIRECT);
    keys(&tmux, &["C-s"]);
    tmux.wait_for("the save", |s| !s.contains("Update OAuth2/OpenID Provider"));

    runtime.block_on(async {
        let p = provider_in(&db).await;
        let uris: Vec<&str> = p
            .oauth2
            .redirect_uris
            .iter()
            .map(|u| u.url.as_str())
            .collect();
        assert_eq!(uris, vec![NEW_REDIRECT]);
        let client_id = p.client_id.clone();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let authorize = |redirect: &str| {
            let q = form_urlencoded::Serializer::new(String::new())
                .append_pair("client_id", &client_id)
                .append_pair("redirect_uri", redirect)
                .append_pair("response_type", "code")
                .append_pair("scope", "openid")
                .finish();
            format!("{base}/application/o/authorize/?{q}")
        };
        let old = http.get(authorize(OLD_REDIRECT)).send().await.expect("old");
        assert_eq!(
            old.status().as_u16(),
            400,
            "the removed redirect URI is refused on the next request"
        );
        assert!(
            old.headers().get("location").is_none(),
            "never redirected to it"
        );
        let new = http.get(authorize(NEW_REDIRECT)).send().await.expect("new");
        assert_eq!(
            new.status().as_u16(),
            302,
            "the new one is accepted (on to login)"
        );
    });
    keys(&tmux, &["C-c"]);
}
