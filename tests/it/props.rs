//! Property tests over what a stranger can send (issue 13, "What must show"): the token, device
//! authorization, introspection and revocation endpoints and the authorization endpoint on a
//! real listener; redirect URI matching, duration strings, client credentials and blueprint YAML
//! as functions. Never a panic, never a 5xx; an RFC 6749 §5.2 JSON error or a success at the
//! token-side endpoints; a page (never a redirect) until the client and its redirect URI are
//! trusted, and `error`, `state` and `iss` sent back to that redirect URI afterwards.
//!
//! Case counts keep this file well under a minute in a debug build: 64 per HTTP property, more
//! for the pure functions (`PROPTEST_CASES=N` sets every property's count, for a longer hunt). Failures are not persisted to files: a case a property found is kept
//! as an explicit regression test beside the code it fixed.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use latchkey::blueprint::{self as bp, BlueprintError, Source};
use latchkey::domain::duration::Duration;
use latchkey::domain::redirect::RedirectUri;
use latchkey::domain::*;
use latchkey::http::{self, AppState};
use latchkey::oauth::client_auth;
use latchkey::oauth::grant::{GrantType, TokenRequest};
use latchkey::oauth::redirect_uri::{self, RedirectError};
use latchkey::oauth::throttle::Throttle;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use reqwest::header::{self, HeaderMap, HeaderValue};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::blueprint::snapshot as store_listing;
use crate::flows_support::{html_login, jar};
use crate::server::{APP_REDIRECT, browser_code_flow, create_oidc_app, save_provider};
use crate::support::{ADMIN_PASSWORD, TestServer, bootstrapped_service, client};

/// Cases for a property that sends HTTP requests.
const HTTP_CASES: u32 = 64;
/// Cases for a property over a pure function.
const PURE_CASES: u32 = 512;

/// `cases` unless `PROPTEST_CASES` asks for another count (a longer hunt by hand).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 512,
        ..ProptestConfig::default()
    }
}

/// A runtime for one property: the server runs on its workers between the cases' requests.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

// ---------------------------------------------------------------------------------------------
// What a stranger sends: form pairs, raw bytes, headers
// ---------------------------------------------------------------------------------------------

/// The parameter names the endpoints read, plus a few they do not.
const KEYS: &[&str] = &[
    "grant_type",
    "client_id",
    "client_secret",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "username",
    "password",
    "device_code",
    "token",
    "token_type_hint",
    "client_assertion",
    "client_assertion_type",
    "audience",
];

/// `grant_type` values: the served grants, and some that are not.
const GRANTS: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "password",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "implicit",
    "hybrid",
    "AUTHORIZATION_CODE",
    "client_credentials ",
];

/// axum's default body limit (2 MiB): the server answers 413 past it.
const OVER_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// A value that is "huge": well past any sane parameter, some past the 2 MB body limit.
fn huge() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            prop::sample::select(vec!["a", "%", "é", "\u{0}", "&", "😀"]),
            1_000usize..120_000
        )
            .prop_map(|(c, n)| c.repeat(n)),
        Just("x".repeat(2_200_000)),
    ]
}

/// A parameter value: one the server knows (valid ids, secrets, tokens), empty, arbitrary or huge.
fn value(known: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        16 => prop::sample::select(known),
        3 => Just(String::new()),
        10 => "\\PC{0,24}",
        3 => any::<String>(),
        1 => huge(),
    ]
}

/// Keeps the first pair of each name, unless the request is to repeat one: most requests then
/// get past the repeat check, and some do not.
fn dedup_unless(repeat: bool, pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    if repeat {
        return pairs;
    }
    let mut seen = std::collections::HashSet::new();
    pairs
        .into_iter()
        .filter(|(k, _)| seen.insert(k.clone()))
        .collect()
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(KEYS).prop_map(str::to_string),
        1 => "\\PC{0,10}",
    ]
}

/// Bytes that are not a clean form encoding: percent escapes of any byte (so non-UTF-8 after
/// decoding), a bare or broken `%`, `+`, `=` and raw bytes.
fn raw_piece() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        any::<u8>().prop_map(|b| format!("%{b:02X}").into_bytes()),
        Just(b"%".to_vec()),
        Just(b"%G1".to_vec()),
        Just(b"%C3%28".to_vec()),
        Just(b"%E2%82".to_vec()),
        Just(b"+".to_vec()),
        Just(b"=".to_vec()),
        any::<u8>().prop_map(|b| vec![b]),
        prop::sample::select(KEYS).prop_map(|k| k.as_bytes().to_vec()),
        "[a-z_]{1,8}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(token, 0..8).prop_map(|ts| ts.concat())
}

/// An `Authorization` header as bytes (always a valid header value).
fn authorization(id: String, secret: String) -> impl Strategy<Value = Option<Vec<u8>>> {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let valid = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", encode(&id), encode(&secret)))
    );
    let header_bytes = prop::collection::vec(
        prop_oneof![0x20u8..=0x7e, 0x80u8..=0xff, Just(b'\t')],
        0..60,
    );
    prop_oneof![
        3 => Just(None),
        3 => Just(Some(valid.into_bytes())),
        2 => ("\\PC{0,20}", "\\PC{0,20}").prop_map(|(a, b)| Some(
            format!("Basic {}", STANDARD.encode(format!("{a}:{b}"))).into_bytes()
        )),
        1 => prop::collection::vec(any::<u8>(), 0..40)
            .prop_map(|b| Some(format!("Basic {}", STANDARD.encode(b)).into_bytes())),
        1 => ("[bB][aA][sS][iI][cC]", " {0,3}", "[ -~]{0,30}")
            .prop_map(|(s, sp, rest)| Some(format!("{s}{sp}{rest}").into_bytes())),
        1 => "[ -~]{0,40}".prop_map(|t| Some(format!("Bearer {t}").into_bytes())),
        1 => header_bytes.prop_map(Some),
    ]
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        14 => Just(Some("application/x-www-form-urlencoded".to_string())),
        1 => Just(Some("APPLICATION/X-WWW-FORM-URLENCODED; charset=latin1".to_string())),
        1 => prop::sample::select(vec![
            "text/plain",
            "application/json",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencodedx",
            "",
        ])
        .prop_map(|s| Some(s.to_string())),
        1 => Just(None),
    ]
}

/// One request to a form endpoint.
#[derive(Debug, Clone)]
struct FormRequest {
    pairs: Vec<(String, String)>,
    raw: Vec<Vec<u8>>,
    content_type: Option<String>,
    authorization: Option<Vec<u8>>,
}

impl FormRequest {
    /// The body: the pairs form-encoded, then the raw pieces, joined with `&`.
    fn body(&self) -> Vec<u8> {
        let mut parts: Vec<Vec<u8>> = self
            .pairs
            .iter()
            .map(|(k, v)| {
                form_urlencoded::Serializer::new(String::new())
                    .append_pair(k, v)
                    .finish()
                    .into_bytes()
            })
            .collect();
        parts.extend(self.raw.iter().cloned());
        parts.join(&b'&')
    }
}

/// What the fixture knows that a request may carry.
#[derive(Debug, Clone)]
struct Known {
    client_id: String,
    client_secret: String,
    /// What each grant presents: the parameters and the fixture's live value for each.
    grant_params: Vec<(&'static str, Vec<(&'static str, String)>)>,
    values: Vec<String>,
}

/// `grant_type` and the parameters its grant reads, each usually the fixture's live value
/// (so grants run to the end) and sometimes anything.
fn grant_pairs(
    grant_params: Vec<(&'static str, Vec<(&'static str, String)>)>,
    values: Vec<String>,
) -> impl Strategy<Value = Vec<(String, String)>> {
    let unserved: Vec<(&'static str, Vec<(&'static str, String)>)> = GRANTS[grant_params.len()..]
        .iter()
        .map(|g| (*g, vec![]))
        .collect();
    prop_oneof![
        3 => prop::sample::select(grant_params),
        1 => prop::sample::select(unserved),
    ]
    .prop_flat_map(move |(grant, params)| {
        let n = params.len();
        (
            Just((grant, params)),
            prop::collection::vec((prop::bool::weighted(0.75), value(values.clone())), n),
        )
    })
    .prop_map(|((grant, params), picks)| {
        let mut out = vec![("grant_type".to_string(), grant.to_string())];
        for ((k, live), (use_live, other)) in params.into_iter().zip(picks) {
            out.push((k.to_string(), if use_live { live } else { other }));
        }
        out
    })
}

/// A form request: often shaped like a real one (a grant, the client's credentials), always
/// with noise, repeats, broken escapes and odd headers mixed in.
fn form_request(known: Known) -> impl Strategy<Value = FormRequest> {
    let Known {
        client_id,
        client_secret,
        grant_params,
        values,
    } = known;
    let creds = prop_oneof![
        Just(vec![]),
        Just(vec![
            ("client_id".to_string(), client_id.clone()),
            ("client_secret".to_string(), client_secret.clone()),
        ]),
        Just(vec![("client_id".to_string(), client_id.clone())]),
    ];
    let grant = prop::option::weighted(0.85, grant_pairs(grant_params, values.clone()));
    let noise = prop::collection::vec((key(), value(values)), 0..6);
    let raw = prop_oneof![
        3 => Just(vec![]),
        1 => prop::collection::vec(raw_piece(), 1..3),
    ];
    (
        (grant, creds, noise, prop::bool::weighted(0.15)),
        raw,
        content_type(),
        authorization(client_id, client_secret),
    )
        .prop_map(
            |((grant, creds, noise, repeat), raw, content_type, authorization)| {
                let mut pairs: Vec<(String, String)> = grant.unwrap_or_default();
                pairs.extend(creds);
                pairs.extend(noise);
                FormRequest {
                    pairs: dedup_unless(repeat, pairs),
                    raw,
                    content_type,
                    authorization,
                }
            },
        )
}

// ---------------------------------------------------------------------------------------------
// The token-side endpoints over HTTP
// ---------------------------------------------------------------------------------------------

/// A form-posting OAuth endpoint and what it may answer.
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Token,
    GitHubToken,
    Device,
    Revoke,
    Introspect,
}

/// RFC 6749 §5.2's codes, which every token-side endpoint may answer.
const RFC6749_5_2: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
];

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Endpoint::Token => "/application/o/token/",
            Endpoint::GitHubToken => "/login/oauth/access_token",
            Endpoint::Device => "/application/o/device/",
            Endpoint::Revoke => "/application/o/revoke/",
            Endpoint::Introspect => "/application/o/introspect/",
        }
    }

    /// The error codes this endpoint may answer beyond RFC 6749 §5.2 (RFC 8628 §3.5 while a
    /// device polls, RFC 7009 §2.2.1, and a throttle's `temporarily_unavailable`).
    fn extra_errors(self) -> &'static [&'static str] {
        match self {
            Endpoint::Token | Endpoint::GitHubToken => &[
                "authorization_pending",
                "slow_down",
                "access_denied",
                "expired_token",
                "temporarily_unavailable",
            ],
            Endpoint::Device => &["temporarily_unavailable"],
            Endpoint::Revoke => &["unsupported_token_type", "temporarily_unavailable"],
            Endpoint::Introspect => &["temporarily_unavailable"],
        }
    }

    /// A 200 body has this endpoint's success shape.
    fn success_ok(self, body: &Value) -> bool {
        match self {
            Endpoint::Token | Endpoint::GitHubToken => {
                body["access_token"].is_string() && body["token_type"].is_string()
            }
            Endpoint::Device => {
                body["device_code"].is_string()
                    && body["user_code"].is_string()
                    && body["verification_uri"].is_string()
                    && body["expires_in"].is_i64()
            }
            Endpoint::Revoke => body.as_object().is_some_and(|o| o.is_empty()),
            Endpoint::Introspect => body["active"].is_boolean(),
        }
    }
}

/// A server whose clients and tokens the requests may name.
struct OAuthFixture {
    server: TestServer,
    http: reqwest::Client,
    known: Known,
}

/// A server with the device throttle lifted (else every request from 127.0.0.1 after the 30th
/// would test only the throttle), a confidential and a public client, tokens of both kinds, an
/// unredeemed code and a pending device code.
async fn oauth_fixture() -> OAuthFixture {
    let listener = http::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("addr"));
    let (dir, service) = bootstrapped_service(&base_url).await;
    let mut state = AppState::new(service.clone());
    state.device_throttle = Arc::new(Throttle::new(
        http::DEVICE_AUTHORIZATION_THROTTLE,
        u32::MAX,
        60,
    ));
    let cancel = CancellationToken::new();
    http::spawn_server(listener, state, cancel.clone());
    let server = TestServer::from_parts(base_url, service, cancel, dir);

    let confidential = create_oidc_app(&server, "conf").await;
    let mut public = create_oidc_app(&server, "pub").await;
    public.oauth2.client_type = ClientType::Public;
    public.oauth2.client_secret = String::new();
    public.oauth2.grant_types = ALL_GRANT_TYPES.iter().map(|g| g.to_string()).collect();
    save_provider(&server, &mut public).await;

    let http = client();
    let post = |path: &str, form: &[(&str, &str)]| {
        http.post(format!("{}{path}", server.base_url))
            .basic_auth(
                &confidential.client_id,
                Some(&confidential.oauth2.client_secret),
            )
            .form(form)
            .send()
    };
    let token: Value = post(
        "/application/o/token/",
        &[("grant_type", "client_credentials"), ("scope", "openid")],
    )
    .await
    .expect("token")
    .json()
    .await
    .expect("token json");
    let device: Value = post("/application/o/device/", &[("scope", "openid")])
        .await
        .expect("device")
        .json()
        .await
        .expect("device json");
    let browser = jar();
    let res = html_login(&browser, &server.base_url, "akadmin", ADMIN_PASSWORD).await;
    assert!(res.status().is_redirection(), "login failed");
    let code_flow = browser_code_flow(
        &server,
        &browser,
        &confidential,
        &[("scope", "openid offline_access")],
    )
    .await;
    let authorize = format!(
        "{}/application/o/authorize/?client_id={}&redirect_uri={}&response_type=code&scope=openid",
        server.base_url,
        confidential.client_id,
        form_urlencoded::byte_serialize(APP_REDIRECT.as_bytes()).collect::<String>()
    );
    let to = browser.get(authorize).send().await.expect("authorize");
    let location = to.headers()[header::LOCATION].to_str().expect("ascii");
    let code = response_params(location.split_once('?').expect("a code").1)["code"].clone();
    let mut values: Vec<String> = [
        &confidential.client_id,
        &confidential.oauth2.client_secret,
        &public.client_id,
        APP_REDIRECT,
        "openid",
        "openid email profile offline_access",
        "akadmin",
        ADMIN_PASSWORD,
        "access_token",
        "refresh_token",
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    values.extend(GRANTS.iter().map(|g| g.to_string()));
    let live = |v: &Value| v.as_str().expect("issued value").to_string();
    let grant_params = vec![
        (
            "authorization_code",
            vec![
                ("code", code.clone()),
                ("redirect_uri", APP_REDIRECT.to_string()),
            ],
        ),
        (
            "refresh_token",
            vec![("refresh_token", live(&code_flow["refresh_token"]))],
        ),
        (
            "client_credentials",
            vec![("scope", "openid email".to_string())],
        ),
        (
            "password",
            vec![
                ("username", "akadmin".to_string()),
                ("password", ADMIN_PASSWORD.to_string()),
            ],
        ),
        (
            GRANTS[4],
            vec![("device_code", live(&device["device_code"]))],
        ),
    ];
    values.push(code);
    for v in [
        &token["access_token"],
        &device["device_code"],
        &code_flow["access_token"],
        &code_flow["refresh_token"],
    ] {
        values.push(v.as_str().expect("issued value").to_string());
    }
    values.extend(token["id_token"].as_str().map(str::to_string));
    OAuthFixture {
        http,
        known: Known {
            client_id: confidential.client_id.clone(),
            client_secret: confidential.oauth2.client_secret.clone(),
            grant_params,
            values,
        },
        server,
    }
}

/// Sends `req` to `endpoint` and checks the answer is a success or an RFC error.
async fn check_form_endpoint(
    fx: &OAuthFixture,
    endpoint: Endpoint,
    req: &FormRequest,
) -> Result<(), TestCaseError> {
    let mut builder = fx
        .http
        .post(format!("{}{}", fx.server.base_url, endpoint.path()))
        .body(req.body());
    let body_len = req.body().len();
    if let Some(ct) = &req.content_type {
        builder = builder.header(header::CONTENT_TYPE, ct);
    }
    if let Some(auth) = &req.authorization {
        let value = HeaderValue::from_bytes(auth).expect("generated header values are valid");
        builder = builder.header(header::AUTHORIZATION, value);
    }
    let res = match builder.send().await {
        Ok(res) => res,
        // Past axum's 2 MiB body limit the server answers 413 before reading the rest and
        // closes the connection (RFC 9110 §15.5.14 allows it): a client still writing may see
        // the close before the answer. Only then is a failed request not a defect.
        Err(e) if body_len > OVER_BODY_LIMIT && e.is_request() => return Ok(()),
        Err(e) => return Err(TestCaseError::fail(format!("request: {e:?}"))),
    };
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("body");
    check_rfc_answer(endpoint, status, &headers, &bytes)
}

/// A success of `endpoint`'s shape, or an RFC 6749 §5.2 error: JSON, `no-store`, a known code,
/// 401 with a challenge exactly for `invalid_client`, 429 with `Retry-After` for a throttle.
fn check_rfc_answer(
    endpoint: Endpoint,
    status: u16,
    headers: &HeaderMap,
    bytes: &[u8],
) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(bytes);
    prop_assert!(status < 500, "{status}: {text}");
    let header = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    prop_assert!(
        header(header::CACHE_CONTROL).contains("no-store"),
        "{status} without no-store: {headers:?}"
    );
    prop_assert!(
        header(header::CONTENT_TYPE).starts_with("application/json"),
        "{status} not JSON: {headers:?} {text}"
    );
    let body: Value = serde_json::from_slice(bytes)
        .map_err(|e| TestCaseError::fail(format!("{status}: {e}: {text}")))?;
    if status == 200 {
        prop_assert!(endpoint.success_ok(&body), "{endpoint:?} 200: {body}");
        return Ok(());
    }
    let code = body["error"].as_str().unwrap_or_default();
    prop_assert!(
        RFC6749_5_2.contains(&code) || endpoint.extra_errors().contains(&code),
        "{endpoint:?} answered {status} with error {code:?}: {body}"
    );
    prop_assert!(
        body["error_description"].is_string() || body.get("error_description").is_none(),
        "{body}"
    );
    prop_assert_eq!(
        status == 401,
        code == "invalid_client",
        "{} {}",
        status,
        body
    );
    if status == 401 {
        prop_assert!(
            !header(header::WWW_AUTHENTICATE).is_empty(),
            "401 without WWW-Authenticate"
        );
    }
    match status {
        429 => {
            prop_assert_eq!(code, "temporarily_unavailable");
            prop_assert!(
                !header(header::RETRY_AFTER).is_empty(),
                "429 without Retry-After"
            );
        }
        400 | 401 => {}
        413 => prop_assert_eq!(code, "invalid_request"),
        other => prop_assert!(false, "unexpected status {other}: {body}"),
    }
    Ok(())
}

/// One property per endpoint, each over its own server.
fn form_endpoint_property(endpoint: Endpoint) {
    let rt = runtime();
    let fx = rt.block_on(oauth_fixture());
    proptest!(config(HTTP_CASES), |(req in form_request(fx.known.clone()))| {
        rt.block_on(check_form_endpoint(&fx, endpoint, &req))?;
    });
}

#[test]
fn token_endpoint_answers_every_form_with_success_or_an_rfc_error() {
    form_endpoint_property(Endpoint::Token);
}

#[test]
fn github_token_endpoint_answers_every_form_with_success_or_an_rfc_error() {
    form_endpoint_property(Endpoint::GitHubToken);
}

#[test]
fn device_authorization_answers_every_form_with_success_or_an_rfc_error() {
    form_endpoint_property(Endpoint::Device);
}

#[test]
fn revocation_answers_every_form_with_success_or_an_rfc_error() {
    form_endpoint_property(Endpoint::Revoke);
}

#[test]
fn introspection_answers_every_form_with_success_or_an_rfc_error() {
    form_endpoint_property(Endpoint::Introspect);
}

// ---------------------------------------------------------------------------------------------
// Request parsing and client credentials, as functions
// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(PURE_CASES))]

    /// A token request is refused exactly when a name repeats; an empty value reads as absent;
    /// `grant_type` is served, missing (`invalid_request`) or unsupported.
    #[test]
    fn token_request_parsing(pairs in prop::collection::vec((key(), "\\PC{0,6}"), 0..10)) {
        let mut names: Vec<&String> = pairs.iter().map(|(k, _)| k).collect();
        names.sort();
        let repeated = names.windows(2).any(|w| w[0] == w[1]);
        match TokenRequest::from_pairs(pairs.clone(), None, String::new()) {
            Err(e) => {
                prop_assert!(repeated, "refused without a repeat: {e}");
                prop_assert_eq!(e.code, "invalid_request");
            }
            Ok(req) => {
                prop_assert!(!repeated);
                for (k, v) in &pairs {
                    prop_assert_eq!(req.get(k), Some(v.as_str()).filter(|v| !v.is_empty()));
                }
                match req.grant_type() {
                    Ok(g) => prop_assert_eq!(req.get("grant_type"), Some(g.as_str())),
                    Err(e) if req.get("grant_type").is_none() => {
                        prop_assert_eq!(e.code, "invalid_request");
                    }
                    Err(e) => prop_assert_eq!(e.code, "unsupported_grant_type"),
                }
            }
        }
    }

    /// Whatever the `Authorization` header and body credentials, extracting them never panics
    /// and refuses only with `invalid_client` (bad Basic) or `invalid_request` (two methods).
    #[test]
    fn client_credentials_extraction_never_panics(
        header in prop_oneof![
            any::<String>(),
            "\\PC{0,3}".prop_map(|s| format!("Basic{s}")),
            "\\PC{0,3}".prop_map(|s| format!("basic {s}")),
            prop::collection::vec(any::<u8>(), 0..30)
                .prop_map(|b| format!("Basic {}", STANDARD.encode(b))),
        ],
        id in prop::option::of("\\PC{0,8}"),
        secret in prop::option::of("\\PC{0,8}"),
    ) {
        match client_auth::extract(Some(&header), id.as_deref(), secret.as_deref()) {
            Ok(Some(c)) => prop_assert!(c.via_basic || id.as_deref() == Some(c.client_id.as_str())),
            Ok(None) => prop_assert!(id.is_none()),
            Err(e) => prop_assert!(
                ["invalid_client", "invalid_request"].contains(&e.code),
                "{e}"
            ),
        }
    }

    /// Basic credentials round-trip through RFC 6749 Appendix B's form encoding.
    #[test]
    fn basic_credentials_round_trip(id in "[^:]{0,16}", secret in any::<String>()) {
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let header = format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", encode(&id), encode(&secret)))
        );
        let c = client_auth::extract(Some(&header), None, None)
            .map_err(|e| TestCaseError::fail(e.to_string()))?
            .ok_or_else(|| TestCaseError::fail("no credentials"))?;
        prop_assert_eq!(c.client_id, id);
        prop_assert_eq!(c.client_secret, Some(secret));
        prop_assert!(c.via_basic);
    }

    /// `GrantType::parse` knows exactly its five spellings.
    #[test]
    fn grant_type_names_round_trip(name in prop_oneof![
        prop::sample::select(GRANTS).prop_map(str::to_string),
        "\\PC{0,30}",
    ]) {
        if let Some(g) = GrantType::parse(&name) {
            prop_assert_eq!(g.as_str(), name.as_str());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The authorization endpoint over HTTP
// ---------------------------------------------------------------------------------------------

const AUTHORIZE_KEYS: &[&str] = &[
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "prompt",
    "max_age",
    "request",
    "request_uri",
    "id_token_hint",
    "login_hint",
];

/// The error codes an authorization endpoint sends back to the client (RFC 6749 §4.1.2.1,
/// OpenID Connect Core §3.1.2.6); never `server_error`, which would be a failure of ours.
const AUTHORIZE_ERRORS: &[&str] = &[
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "temporarily_unavailable",
    "interaction_required",
    "login_required",
    "account_selection_required",
    "consent_required",
    "invalid_request_uri",
    "invalid_request_object",
    "request_not_supported",
    "request_uri_not_supported",
    "registration_not_supported",
];

/// Redirect URIs near the registered ones, and some far from them.
fn redirect_candidates() -> Vec<String> {
    [
        APP_REDIRECT,
        "http://localhost:8080/cb/",
        "http://LOCALHOST:8080/cb",
        "http://localhost:8081/cb",
        "http://localhost:8080/cb?x=1",
        "http://localhost:8080/cb#f",
        "http://localhost:8080/cb%2F",
        "http://localhost:8080/x/../cb",
        "http://localhost:8080/cb;x",
        "http://localhost:8080/cb%00",
        "http://user@localhost:8080/cb",
        "https://localhost:8080/cb",
        "http://127.0.0.1/cb",
        "http://127.0.0.1:51234/cb",
        "http://127.0.0.1:51234/other",
        "http://[::1]:4000/cb",
        "https://app.example.com/cb/abc",
        "https://app.example.com/cb/abc.evil",
        "https://evil.example/?https://app.example.com/cb/abc",
        "javascript:alert(1)",
        "java\tscript:alert(1)",
        " data:text/html,x",
        "",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn authorize_value(key: &str, client_ids: Vec<String>) -> BoxedStrategy<String> {
    let free = prop_oneof![
        Just(String::new()),
        "\\PC{0,16}",
        any::<String>(),
        ("[a-z]", 100usize..2_000).prop_map(|(c, n)| c.repeat(n)),
    ];
    let pick =
        |v: &[&str]| prop::sample::select(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    match key {
        "client_id" => prop_oneof![4 => prop::sample::select(client_ids), 1 => free].boxed(),
        "redirect_uri" => {
            prop_oneof![4 => prop::sample::select(redirect_candidates()), 1 => free].boxed()
        }
        "response_type" => prop_oneof![
            4 => pick(&["code", "id_token", "token", "code id_token", "id_token token",
                        "code id_token token", "code token", "none", "code  code"]),
            1 => free,
        ]
        .boxed(),
        "scope" => prop_oneof![
            3 => pick(&["openid", "openid email profile", "openid offline_access", "email"]),
            1 => free,
        ]
        .boxed(),
        "code_challenge" => prop_oneof![
            2 => Just("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_string()),
            1 => free,
        ]
        .boxed(),
        "code_challenge_method" => {
            prop_oneof![2 => pick(&["S256", "plain", "s256"]), 1 => free].boxed()
        }
        "response_mode" => prop_oneof![
            3 => pick(&["query", "fragment", "form_post"]),
            1 => free,
        ]
        .boxed(),
        "prompt" => prop_oneof![
            3 => pick(&["none", "login", "consent", "none login", "select_account"]),
            1 => free,
        ]
        .boxed(),
        "max_age" => prop_oneof![
            3 => pick(&["0", "3600", "-1", "1e3", "99999999999999999999"]),
            1 => free,
        ]
        .boxed(),
        _ => free.boxed(),
    }
}

fn authorize_pair(client_ids: Vec<String>) -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        6 => prop::sample::select(AUTHORIZE_KEYS).prop_map(str::to_string),
        1 => "\\PC{0,8}",
    ]
    .prop_flat_map(move |k| {
        let v = authorize_value(&k, client_ids.clone());
        (Just(k), v)
    })
}

/// Query bytes that are not a clean encoding (ASCII only, so they survive URL parsing as sent).
fn raw_query_piece() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        any::<u8>().prop_map(|b| format!("%{b:02X}")),
        Just("%".to_string()),
        Just("%G1".to_string()),
        Just("+".to_string()),
        Just("=".to_string()),
        prop::sample::select(AUTHORIZE_KEYS).prop_map(str::to_string),
        "[a-z_]{1,8}",
    ];
    prop::collection::vec(token, 0..8).prop_map(|ts| ts.concat())
}

/// An authorization request: usually a client and a redirect URI first (so validation goes on
/// past them), then any parameters, then broken escapes.
#[derive(Debug, Clone)]
struct AuthorizeRequest {
    post: bool,
    query: String,
}

fn authorize_request(client_ids: Vec<String>) -> impl Strategy<Value = AuthorizeRequest> {
    // client_ids: the confidential client, the public one, an unknown one.
    let public_registered: Vec<String> = [
        APP_REDIRECT,
        "http://127.0.0.1/cb",
        "http://127.0.0.1:51234/cb",
        "https://app.example.com/cb/abc",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let shaped = prop_oneof![
        3 => Just((client_ids[0].clone(), APP_REDIRECT.to_string())),
        3 => (Just(client_ids[1].clone()), prop::sample::select(public_registered)),
        2 => (
            prop::sample::select(client_ids.clone()),
            prop::sample::select(redirect_candidates()),
        ),
    ]
    .prop_map(|(c, r)| {
        vec![
            ("client_id".to_string(), c),
            ("redirect_uri".to_string(), r),
        ]
    });
    // The parameters of a complete request (a code with PKCE, an implicit ID token, a hybrid
    // form post), so some requests get as far as signing in or minting.
    let pairs = |p: &[(&str, &str)]| {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let complete = prop::option::weighted(
        0.6,
        prop::sample::select(vec![
            pairs(&[
                ("response_type", "code"),
                ("scope", "openid"),
                ("state", "s-1"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ]),
            pairs(&[
                ("response_type", "id_token"),
                ("scope", "openid"),
                ("nonce", "n-1"),
                ("state", "s 2&"),
            ]),
            pairs(&[
                ("response_type", "code id_token"),
                ("scope", "openid email"),
                ("nonce", "n-1"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
                ("response_mode", "form_post"),
            ]),
        ]),
    );
    (
        (prop_oneof![6 => shaped, 1 => Just(vec![])], complete).prop_map(
            |(mut first, complete)| {
                first.extend(complete.unwrap_or_default());
                first
            },
        ),
        prop::collection::vec(authorize_pair(client_ids), 0..5),
        prop_oneof![
            3 => Just(vec![]),
            1 => prop::collection::vec(raw_query_piece(), 1..3),
        ],
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(first, rest, raw, post, repeat)| {
            let pairs = dedup_unless(repeat, first.into_iter().chain(rest).collect());
            let mut q = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &pairs {
                q.append_pair(k, v);
            }
            let mut parts = vec![q.finish()];
            parts.extend(raw);
            parts.retain(|p| !p.is_empty());
            AuthorizeRequest {
                post,
                query: parts.join("&"),
            }
        })
}

struct AuthorizeFixture {
    server: TestServer,
    anonymous: reqwest::Client,
    signed_in: reqwest::Client,
    providers: Vec<Provider>,
}

/// A confidential client (strict redirect URI) and a public one (strict, loopback and regex
/// redirect URIs), a stranger without a session and a signed-in browser.
async fn authorize_fixture() -> AuthorizeFixture {
    let server = crate::support::spawn_server().await;
    let confidential = create_oidc_app(&server, "conf").await;
    let mut public = create_oidc_app(&server, "pub").await;
    public.oauth2.client_type = ClientType::Public;
    public.oauth2.client_secret = String::new();
    public.oauth2.redirect_uris = vec![
        RedirectUri::strict(APP_REDIRECT),
        RedirectUri::strict("http://127.0.0.1/cb"),
        RedirectUri {
            matching_mode: MatchingMode::Regex,
            url: r"https://app\.example\.com/cb/[a-z]+".into(),
            redirect_uri_type: RedirectUriType::Authorization,
        },
    ];
    save_provider(&server, &mut public).await;
    let signed_in = jar();
    let res = html_login(&signed_in, &server.base_url, "akadmin", ADMIN_PASSWORD).await;
    assert!(res.status().is_redirection(), "login failed");
    AuthorizeFixture {
        anonymous: client(),
        signed_in,
        providers: vec![confidential, public],
        server,
    }
}

/// The parameters after the redirect URI in a Location (query or fragment).
fn response_params(rest: &str) -> HashMap<String, String> {
    form_urlencoded::parse(rest.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Checks one authorization answer against what the request deserves.
async fn check_authorize(
    fx: &AuthorizeFixture,
    browser: &reqwest::Client,
    req: &AuthorizeRequest,
) -> Result<(), TestCaseError> {
    let url = format!("{}/application/o/authorize/", fx.server.base_url);
    let res = if req.post {
        browser
            .post(&url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(req.query.clone())
    } else {
        browser.get(format!("{url}?{}", req.query))
    }
    .send()
    .await
    .expect("authorize");
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get(header::LOCATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = res.text().await.unwrap_or_default();
    prop_assert!(status < 500, "{status}: {body}");

    // What the server will have read: the client and the redirect URI, each exactly once.
    let mut params: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in form_urlencoded::parse(req.query.as_bytes()) {
        params
            .entry(k.into_owned())
            .or_default()
            .push(v.into_owned());
    }
    let single = |k: &str| match params.get(k).map(Vec::as_slice) {
        Some([v]) => Some(v.clone()),
        _ => None,
    };
    let provider = single("client_id").and_then(|id| {
        fx.providers
            .iter()
            .find(|p| p.client_id == id && !id.is_empty())
    });
    let trusted = provider.and_then(|p| {
        let r = single("redirect_uri")?;
        redirect_uri::check(
            &p.oauth2.redirect_uris,
            RedirectUriType::Authorization,
            Some(&r),
        )
        .is_ok()
        .then_some((p, r))
    });
    let Some((provider, redirect)) = trusted else {
        prop_assert_eq!(
            status,
            400,
            "untrusted request answered {}: {:?}",
            status,
            location
        );
        prop_assert!(
            location.is_none(),
            "untrusted request redirected to {location:?}"
        );
        prop_assert!(content_type.starts_with("text/html"), "{content_type}");
        return Ok(());
    };
    let slug = if provider.client_id == fx.providers[0].client_id {
        "conf"
    } else {
        "pub"
    };
    let issuer = format!("{}/application/o/{slug}/", fx.server.base_url);
    let first_state = params.get("state").and_then(|v| v.first()).cloned();
    let check_params = |p: &HashMap<String, String>| -> Result<(), TestCaseError> {
        prop_assert_eq!(p.get("iss"), Some(&issuer), "{:?}", p);
        match p.get("error") {
            Some(code) => {
                prop_assert!(AUTHORIZE_ERRORS.contains(&code.as_str()), "error {code:?}");
                prop_assert_eq!(p.get("state"), first_state.as_ref(), "{:?}", p);
            }
            None => prop_assert!(
                ["code", "id_token", "access_token"]
                    .iter()
                    .any(|k| p.contains_key(*k)),
                "neither error nor grant: {p:?}"
            ),
        }
        Ok(())
    };
    match (status, location) {
        (302, Some(to)) if to.starts_with(&redirect) => {
            let rest = &to[redirect.len()..];
            let params = rest
                .strip_prefix(['?', '#'])
                .ok_or_else(|| TestCaseError::fail(format!("{to} is not {redirect} + params")))?;
            check_params(&response_params(params))?;
        }
        (302, Some(to)) => prop_assert!(
            to.contains("/if/flow/"),
            "trusted request sent elsewhere than its redirect URI or a flow: {to}"
        ),
        (200, None) => {
            let action = format!(
                "action=\"{}\"",
                html_escape::encode_double_quoted_attribute(&redirect)
            );
            prop_assert!(
                body.contains(&action),
                "form post not to {redirect}: {body}"
            );
            let mut fields = HashMap::new();
            for name in ["iss", "error", "state", "code", "id_token", "access_token"] {
                if let Some(v) = crate::flows_support::hidden(&body, name) {
                    fields.insert(
                        name.to_string(),
                        html_escape::decode_html_entities(&v).into_owned(),
                    );
                }
            }
            check_params(&fields)?;
        }
        (status, location) => prop_assert!(
            false,
            "trusted request answered {status} {location:?}: {body}"
        ),
    }
    Ok(())
}

fn authorize_property(signed_in: bool) {
    let rt = runtime();
    let fx = rt.block_on(authorize_fixture());
    let mut client_ids: Vec<String> = fx.providers.iter().map(|p| p.client_id.clone()).collect();
    client_ids.push("unknown-client".into());
    let browser = if signed_in {
        &fx.signed_in
    } else {
        &fx.anonymous
    };
    proptest!(config(HTTP_CASES), |(req in authorize_request(client_ids.clone()))| {
        rt.block_on(check_authorize(&fx, browser, &req))?;
    });
}

#[test]
fn authorize_pages_until_the_redirect_uri_is_trusted_then_redirects_errors_for_strangers() {
    authorize_property(false);
}

#[test]
fn authorize_pages_until_the_redirect_uri_is_trusted_then_redirects_errors_when_signed_in() {
    authorize_property(true);
}

// ---------------------------------------------------------------------------------------------
// Redirect URI matching
// ---------------------------------------------------------------------------------------------

fn regex_entry(pattern: &str) -> RedirectUri {
    RedirectUri {
        matching_mode: MatchingMode::Regex,
        url: pattern.into(),
        redirect_uri_type: RedirectUriType::Authorization,
    }
}

fn matches(registered: &[RedirectUri], candidate: &str) -> bool {
    redirect_uri::check(registered, RedirectUriType::Authorization, Some(candidate)).is_ok()
}

/// A registered non-loopback URI: `scheme://host[:port]/path[?query]`.
fn registered_uri() -> impl Strategy<Value = (String, String)> {
    (
        prop::sample::select(vec!["https", "http", "com.example.app"]),
        "[a-z][a-z0-9-]{0,8}(\\.[a-z]{2,6}){1,2}",
        prop::option::of(1024u16..65535),
        "(/[a-zA-Z0-9_.-]{1,6}){0,3}",
        prop::option::of("[a-z]{1,4}=[a-z0-9]{1,4}"),
    )
        .prop_map(|(scheme, host, port, path, query)| {
            let authority = match port {
                Some(p) => format!("{host}:{p}"),
                None => host,
            };
            let mut uri = format!("{scheme}://{authority}{path}");
            if let Some(q) = query {
                uri.push('?');
                uri.push_str(&q);
            }
            (uri, authority)
        })
}

/// Changes a registered URI the way an attacker would to slip past a lax comparison.
fn near_miss(uri: &str, authority: &str, which: u8, at: Index) -> String {
    let after_authority = uri.find(authority).map_or(0, |i| i + authority.len());
    let (head, tail) = uri.split_at(after_authority);
    match which % 16 {
        0 => {
            // One letter's case.
            let letters: Vec<usize> = uri
                .char_indices()
                .filter(|(_, c)| c.is_ascii_alphabetic())
                .map(|(i, _)| i)
                .collect();
            let i = letters[at.index(letters.len())];
            let mut out = uri.to_string();
            let c = out.as_bytes()[i] as char;
            let flipped = if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            out.replace_range(i..=i, &flipped.to_string());
            out
        }
        1 => format!("{uri}/"),
        2 => format!("{head}:443{tail}"),
        3 if uri.contains('?') => format!("{uri}&x=1"),
        3 => format!("{uri}?x=1"),
        4 => format!("{uri}#frag"),
        5 => format!("{uri}%2F"),
        6 => format!("{head}/x/..{tail}"),
        7 => format!("{uri};x"),
        8 => format!("{uri}%00"),
        9 => uri.replacen("://", "://user@", 1),
        10 => format!("{head}.evil.example{tail}"),
        11 => format!(" {uri}"),
        12 => format!("{head}/..{tail}"),
        13 => {
            // One character percent-encoded.
            let i = at.index(uri.len());
            let byte = uri.as_bytes()[i];
            format!("{}%{byte:02X}{}", &uri[..i], &uri[i + 1..])
        }
        14 => uri[..uri.len() - 1].to_string(),
        _ => format!("{uri}\u{0}"),
    }
}

/// The loopback hosts RFC 8252 §7.3 lets vary in port.
const LOOPBACK_HOSTS: &[&str] = &["127.0.0.1", "[::1]"];
/// Strings that look like loopback redirect URIs, tricks included.
const LOOPBACKISH: &str = "http://(127\\.0\\.0\\.1|\\[::1\\])(:[0-9]{0,6})?[/?#@.:a-z]{0,8}";

proptest! {
    #![proptest_config(config(PURE_CASES))]

    /// A strict entry matches itself and nothing an attacker can derive from it.
    #[test]
    fn strict_entries_match_only_identical_uris(
        (uri, authority) in registered_uri(),
        which in any::<u8>(),
        at in any::<Index>(),
    ) {
        let reg = vec![RedirectUri::strict(&uri)];
        prop_assert!(matches(&reg, &uri));
        let attack = near_miss(&uri, &authority, which, at);
        prop_assert_ne!(&attack, &uri);
        prop_assert!(!matches(&reg, &attack), "{:?} matched {:?}", attack, uri);
    }

    /// For any two URIs, a strict entry matches only when they are byte-identical or both are
    /// loopback URIs that differ only in the port.
    #[test]
    fn strict_match_is_identity_or_loopback_port(
        registered in prop_oneof!["\\PC{0,30}", LOOPBACKISH],
        candidate in prop_oneof!["\\PC{0,30}", LOOPBACKISH],
    ) {
        let m = matches(&[RedirectUri::strict(&registered)], &candidate);
        if m && registered != candidate {
            let strip_port = |u: &str| -> Option<(String, String)> {
                let rest = u.strip_prefix("http://")?;
                let host = LOOPBACK_HOSTS.iter().find(|h| rest.starts_with(**h))?;
                let after = &rest[host.len()..];
                let after = after.strip_prefix(':').map_or(after, |p| {
                    p.trim_start_matches(|c: char| c.is_ascii_digit())
                });
                Some((host.to_string(), after.to_string()))
            };
            prop_assert!(
                strip_port(&registered).is_some() && strip_port(&registered) == strip_port(&candidate),
                "{registered:?} matched {candidate:?}"
            );
        }
    }

    /// A loopback entry (RFC 8252 §7.3) matches any port with the same host and path, and
    /// nothing with another host, path, scheme or userinfo.
    #[test]
    fn loopback_entries_vary_only_in_port(
        host in prop::sample::select(LOOPBACK_HOSTS),
        registered_port in prop::option::of(1u16..=65535),
        port in prop::option::of(0u16..=65535),
        path in "(/[a-z0-9]{1,6}){0,3}",
        other in "(/[a-z0-9]{1,6}){1,3}",
        trick in prop::sample::select(vec![
            "https://{h}{p}{path}",
            "http://{h}.evil.example{p}{path}",
            "http://{h}{p}@evil.example{path}",
            "http://user@{h}{p}{path}",
            "http://localhost{p}{path}",
            "http://{h}{p}{path}/",
            "http://{h}{p}{path}#x",
            "http://{h}{p}{other}",
            "HTTP://{h}{p}{path}",
        ]),
    ) {
        let with_port = |p: Option<u16>| p.map(|p| format!(":{p}")).unwrap_or_default();
        let registered = format!("http://{host}{}{path}", with_port(registered_port));
        let reg = vec![RedirectUri::strict(&registered)];
        let same = format!("http://{host}{}{path}", with_port(port));
        prop_assert!(matches(&reg, &same), "{same:?} vs {registered:?}");
        if other != path {
            let attack = trick
                .replace("{h}", host)
                .replace("{p}", &with_port(port))
                .replace("{path}", &path)
                .replace("{other}", &other);
            prop_assert!(!matches(&reg, &attack), "{attack:?} matched {registered:?}");
        }
    }

    /// A regex entry made from a literal matches that literal only: the pattern is anchored at
    /// both ends.
    #[test]
    fn regex_entries_are_anchored(
        literal in "\\PC{1,20}",
        before in "\\PC{1,5}",
        after in "\\PC{1,5}",
        other in "\\PC{0,20}",
    ) {
        let reg = vec![regex_entry(&regex::escape(&literal))];
        let forbidden = latchkey::domain::redirect::is_forbidden_scheme(&literal);
        prop_assert_eq!(matches(&reg, &literal), !forbidden);
        let longer = [format!("{before}{literal}"), format!("{literal}{after}")];
        for candidate in &longer {
            prop_assert!(!matches(&reg, candidate), "{:?}", candidate);
        }
        prop_assert_eq!(matches(&reg, &other), other == literal && !forbidden);
        // A prefix pattern matches what starts with the prefix, from the first character.
        let prefix = vec![regex_entry(&format!("{}/.*", regex::escape(&literal)))];
        for candidate in [format!("{before}{literal}/x"), format!("{literal}/{after}")] {
            let expected = candidate.starts_with(&format!("{literal}/"))
                && !latchkey::domain::redirect::is_forbidden_scheme(&candidate);
            prop_assert_eq!(matches(&prefix, &candidate), expected, "{:?}", candidate);
        }
    }

    /// Any pattern, any candidate: never a panic, and a pattern that is not a regex by itself
    /// matches nothing (it cannot break out of the anchors around it).
    #[test]
    fn arbitrary_patterns_never_panic_nor_escape_their_anchors(
        pattern in prop_oneof![
            "[a-z.*+?()|\\[\\]{}^$\\\\/:]{0,16}",
            "\\PC{0,16}",
            "[a-z/]{0,6}\\)\\|\\([a-z.*]{0,6}",
        ],
        candidate in prop_oneof!["[a-z.*+?()|/:]{0,16}", "\\PC{0,16}"],
    ) {
        let reg = vec![regex_entry(&pattern)];
        let m = matches(&reg, &candidate);
        let _ = latchkey::domain::redirect::anchored(&pattern);
        match regex::Regex::new(&pattern) {
            Err(_) => prop_assert!(!m, "invalid pattern {pattern:?} matched {candidate:?}"),
            Ok(re) => prop_assert!(!m || re.is_match(&candidate)),
        }
    }

    /// `javascript:`, `data:` and `vbscript:` never match, however they are spelled in a way
    /// a browser still reads as that scheme (any case, leading spaces and controls, tabs and
    /// newlines anywhere, which the URL parser removes), even against a catch-all or an entry
    /// that registered the very URI.
    #[test]
    fn script_schemes_never_match(
        scheme in prop::sample::select(vec!["javascript", "data", "vbscript"]),
        upper in prop::collection::vec(any::<bool>(), 10),
        lead in "[ \\x00-\\x1f]{0,3}",
        breaks in prop::collection::vec((any::<Index>(), prop::sample::select(vec!['\t', '\n', '\r'])), 0..3),
        rest in "[a-z0-9(),/ ]{0,12}",
    ) {
        let mut spelled: Vec<char> = scheme
            .chars()
            .zip(upper.iter().cycle())
            .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c })
            .collect();
        for (at, c) in &breaks {
            let i = at.index(spelled.len() + 1);
            spelled.insert(i, *c);
        }
        let uri = format!("{lead}{}:{rest}", spelled.into_iter().collect::<String>());
        for reg in [
            vec![regex_entry(".*")],
            vec![regex_entry("(?s).*")],
            vec![RedirectUri::strict(&uri)],
        ] {
            prop_assert_eq!(
                redirect_uri::check(&reg, RedirectUriType::Authorization, Some(&uri)),
                Err(RedirectError::ForbiddenScheme),
                "{:?}", uri
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Duration strings
// ---------------------------------------------------------------------------------------------

const UNITS: &[(&str, f64)] = &[
    ("microseconds", 1e-6),
    ("milliseconds", 1e-3),
    ("seconds", 1.0),
    ("minutes", 60.0),
    ("hours", 3600.0),
    ("days", 86400.0),
    ("weeks", 604800.0),
];

const HUNDRED_YEARS: i64 = 100 * 365 * 86_400;

/// A number as an admin (or a stranger) might write it.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (-1_000_000i64..1_000_000).prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|f| f.to_string()),
        1 => any::<f64>().prop_map(|f| format!("{f:e}")),
        4 => prop::sample::select(vec![
            "1e308", "-1e308", "inf", "-inf", "NaN", "1e", ".5", "5.", "+3", "--1", "0x10", "",
        ])
        .prop_map(str::to_string),
    ]
}

/// `unit=number;…` with odd case, spacing and separators.
fn duration_text() -> impl Strategy<Value = String> {
    let part = (
        prop_oneof![
            4 => prop::sample::select(UNITS.iter().map(|(u, _)| u.to_string()).collect::<Vec<_>>()),
            1 => "[a-zA-Z]{0,8}",
        ],
        number(),
        " {0,2}",
        any::<bool>(),
    )
        .prop_map(|(unit, n, sp, upper)| {
            let unit = if upper { unit.to_uppercase() } else { unit };
            format!("{sp}{unit}{sp}={sp}{n}{sp}")
        });
    prop::collection::vec(part, 0..5).prop_map(|parts| parts.join(";"))
}

/// What the text adds up to, in seconds, when every part is a known unit and a number.
fn model_total(text: &str) -> Option<f64> {
    let mut total = 0f64;
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=')?;
        let factor = UNITS
            .iter()
            .find(|(u, _)| u.eq_ignore_ascii_case(k.trim()))?
            .1;
        total += v.trim().parse::<f64>().ok()? * factor;
    }
    Some(total)
}

proptest! {
    #![proptest_config(config(PURE_CASES * 2))]

    /// Any text: no panic; what is accepted is within ±100 years, the finite sum of its parts,
    /// and round-trips through authentik's canonical form.
    #[test]
    fn duration_parse_never_panics_and_round_trips(text in prop_oneof![duration_text(), any::<String>()]) {
        if let Ok(d) = Duration::parse(&text) {
            prop_assert!(d.seconds().abs() <= HUNDRED_YEARS, "{text:?} -> {d:?}");
            let total = model_total(&text)
                .ok_or_else(|| TestCaseError::fail(format!("{text:?} accepted but not a sum")))?;
            prop_assert!(total.is_finite(), "{text:?} accepted though it sums to {total}");
            prop_assert_eq!(d.seconds(), total.round() as i64);
            prop_assert_eq!(Duration::parse(&d.to_authentik()), Ok(d));
            let _ = d.human();
        }
    }

    /// Every duration within ±100 years round-trips through `to_authentik` and `parse`.
    #[test]
    fn duration_to_authentik_round_trips(seconds in -HUNDRED_YEARS..=HUNDRED_YEARS) {
        let d = Duration::from_seconds(seconds);
        prop_assert_eq!(Duration::parse(&d.to_authentik()), Ok(d));
    }

    /// The human form never panics, even at the ends of `i64`.
    #[test]
    fn duration_human_never_panics(seconds in any::<i64>()) {
        let h = Duration::from_seconds(seconds).human();
        prop_assert!(!h.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// Blueprint YAML
// ---------------------------------------------------------------------------------------------

/// The valid documents the mutations start from.
fn base_documents() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/blueprints");
    let mut out: Vec<String> = ["examples/example-app.yaml", "examples/authentik-cli.yaml"]
        .iter()
        .map(|f| std::fs::read_to_string(dir.join(f)).expect("fixture"))
        .collect();
    out.extend(bp::DEFAULT_BLUEPRINTS.iter().map(|(_, t)| t.to_string()));
    out
}

/// Snippets a mutation inserts: YAML syntax, tags and blueprint keys.
const SNIPPETS: &[&str] = &[
    ": ",
    "- ",
    "  ",
    "\t",
    "\n",
    "{",
    "}",
    "[",
    "]",
    "'",
    "\"",
    "&a ",
    "*a",
    "<<: *a\n",
    "!KeyOf provider",
    "!KeyOf nope",
    "!Find [",
    "!Find [authentik_flows.flow, [slug, nope]]",
    "!Context nope",
    "!Env HOME",
    "!Format [\"%s\", 1]",
    "!Condition [AND, true]",
    "!If [true, 1, 2]",
    "!Enumerate [[1], SEQ, x]",
    "!Nope x",
    "null",
    "~",
    "state: absent\n",
    "state: must_created\n",
    "version: 2\n",
    "model: nope.nope\n",
    "identifiers: {}\n",
    "attrs: []\n",
    "id: provider\n",
    "\n  - model: authentik_core.user\n    identifiers: {username: x}\n    attrs: {name: x, type: nope}\n",
    "\n  - model: authentik_core.group\n    identifiers: {name: g}\n    attrs: {parent: !KeyOf g}\n",
    "hours=-5",
    "regex",
    "matching_mode: regex\n          url: '('\n",
    "client_id: example-app\n",
    "9999999999999999999999",
    "-1",
    "é",
    "\u{0}",
];

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    ReplaceChar(Index, char),
    Insert(Index, &'static str),
    Truncate(Index),
    Indent(Index, bool),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::DeleteLine),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (
            any::<Index>(),
            prop_oneof![
                prop::sample::select(vec![
                    ':', '-', ' ', '\t', '!', '&', '*', '[', '{', '#', '|', '>', '%', '@', '`'
                ]),
                any::<char>(),
            ]
        )
            .prop_map(|(i, c)| Mutation::ReplaceChar(i, c)),
        (any::<Index>(), prop::sample::select(SNIPPETS)).prop_map(|(i, s)| Mutation::Insert(i, s)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), any::<bool>()).prop_map(|(i, deeper)| Mutation::Indent(i, deeper)),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut text = text.to_string();
    for m in mutations {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        if lines.is_empty() {
            lines.push(String::new());
        }
        let chars: Vec<char> = text.chars().collect();
        let n = lines.len();
        text = match m {
            Mutation::DeleteLine(i) => {
                lines.remove(i.index(n));
                lines.join("\n")
            }
            Mutation::DuplicateLine(i) => {
                let i = i.index(n);
                lines.insert(i, lines[i].clone());
                lines.join("\n")
            }
            Mutation::SwapLines(a, b) => {
                lines.swap(a.index(n), b.index(n));
                lines.join("\n")
            }
            Mutation::ReplaceChar(i, c) if !chars.is_empty() => {
                let mut chars = chars;
                let i = i.index(chars.len());
                chars[i] = *c;
                chars.into_iter().collect()
            }
            Mutation::ReplaceChar(_, c) => c.to_string(),
            Mutation::Insert(i, s) => {
                let i = i.index(chars.len() + 1);
                let mut out: String = chars[..i].iter().collect();
                out.push_str(s);
                out.extend(&chars[i..]);
                out
            }
            Mutation::Truncate(i) => chars[..i.index(chars.len() + 1)].iter().collect(),
            Mutation::Indent(i, deeper) => {
                let i = i.index(n);
                if *deeper {
                    lines[i].insert_str(0, "  ");
                } else {
                    lines[i] = lines[i].trim_start().to_string();
                }
                lines.join("\n")
            }
        };
    }
    text
}

const MUTANT: &str = "mutant.yaml";

/// A blueprint error names the file (this one, or a bundled one it requires) and a line
/// within it.
fn check_error_location(err: &BlueprintError, text: &str) -> Result<(), TestCaseError> {
    let BlueprintError::At { at, .. } = err else {
        return Err(TestCaseError::fail(format!(
            "error without file and line: {err:?}"
        )));
    };
    if at.file == MUTANT {
        // YAML's line breaks: LF, CRLF and a lone CR.
        let lines = text
            .replace("\r\n", "\n")
            .replace('\r', "\n")
            .lines()
            .count()
            .max(1);
        prop_assert!(
            (1..=lines + 1).contains(&at.line),
            "line {} of a {lines}-line file: {err}",
            at.line
        );
    } else {
        prop_assert!(
            at.file.starts_with("fixtures/blueprints/"),
            "error names {:?}: {err}",
            at.file
        );
        prop_assert!(at.line >= 1, "{err}");
    }
    Ok(())
}

fn source(text: String) -> Vec<Source> {
    vec![Source {
        file: MUTANT.into(),
        text,
    }]
}

proptest! {
    #![proptest_config(config(PURE_CASES))]

    /// Arbitrary bytes never panic the reader, and a refusal names the file and a line in it.
    #[test]
    fn blueprint_parse_of_arbitrary_bytes(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..400),
            prop::collection::vec(
                prop::sample::select(b"abc:- \n\t[]{}!&*'\"#|>%@,?".to_vec()), 0..400),
        ]
    ) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Err(e) = bp::parse_all(&source(text.clone())) {
            check_error_location(&e, &text)?;
        }
    }

    /// Mutated valid documents never panic the reader either.
    #[test]
    fn blueprint_parse_of_mutated_documents(
        base in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let docs = base_documents();
        let text = mutate(&docs[base.index(docs.len())], &mutations);
        if let Err(e) = bp::parse_all(&source(text.clone())) {
            check_error_location(&e, &text)?;
        }
    }
}

/// Mutated documents applied to a throwaway store: each applies, or fails naming its file and
/// line and leaves every object as it was.
#[test]
fn blueprint_apply_of_mutated_documents_is_all_or_nothing() {
    let rt = runtime();
    let (_dir, service) = rt.block_on(bootstrapped_service("http://x"));
    let docs = base_documents();
    proptest!(config(HTTP_CASES), |(
        base in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    )| {
        let text = mutate(&docs[base.index(docs.len())], &mutations);
        rt.block_on(async {
            let before = store_listing(&service).await;
            match service.apply_blueprints(&source(text.clone())).await {
                Ok(_) => Ok::<(), TestCaseError>(()),
                Err(e) => {
                    check_error_location(&e, &text)?;
                    prop_assert_eq!(before, store_listing(&service).await, "{} changed the store", e);
                    Ok(())
                }
            }
        })?;
    });
}

/// Found by `blueprint_apply_of_mutated_documents_is_all_or_nothing`: a provider listing one
/// scope mapping twice failed with a bare store error (no file, no line). A set, as in
/// authentik: the duplicate is stored once, and applying again changes nothing.
#[tokio::test]
async fn a_scope_mapping_listed_twice_is_stored_once() {
    let (_dir, service) = bootstrapped_service("http://x").await;
    let line = "        - !Find [authentik_providers_oauth2.scopemapping, [managed, goauthentik.io/providers/oauth2/scope-openid]]\n";
    let base = base_documents().remove(0);
    assert!(base.contains(line), "the example lists the openid mapping");
    let text = base.replacen(line, &format!("{line}{line}"), 1);
    service
        .apply_blueprints(&source(text.clone()))
        .await
        .expect("a repeated mapping applies");
    let before = store_listing(&service).await;
    let again = service
        .apply_blueprints(&source(text))
        .await
        .expect("applies again");
    assert!(again.is_noop(), "{again}");
    assert_eq!(before, store_listing(&service).await);
    let provider = service
        .list_providers()
        .await
        .expect("providers")
        .into_iter()
        .find(|p| p.client_id == "example-app")
        .expect("provider");
    let mut ids = provider.scope_mapping_ids.clone();
    ids.dedup();
    assert_eq!(ids, provider.scope_mapping_ids);
    assert_eq!(ids.len(), 3);
}

/// Found by `blueprint_apply_of_mutated_documents_is_all_or_nothing`: a second default brand
/// was refused by the store with a bare error (no file, no line) once applies were planned
/// outside the write lock. The refusal now names the entry, and nothing is written.
#[tokio::test]
async fn a_second_default_brand_is_refused_at_its_entry() {
    let (_dir, service) = bootstrapped_service("http://x").await;
    let text = "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers:\n      \
                name: before-the-brand\n  - model: authentik_brands.brand\n    identifiers:\n      \
                domain: other.example\n    attrs:\n      default: true\n";
    let before = store_listing(&service).await;
    let err = service
        .apply_blueprints(&source(text.to_string()))
        .await
        .expect_err("two default brands");
    let BlueprintError::At { at, message } = &err else {
        panic!("no location: {err:?}");
    };
    assert_eq!((at.file.as_str(), at.line), (MUTANT, 6), "{err}");
    assert_eq!(at.entry.as_ref().map(|(n, _)| *n), Some(2), "{err}");
    assert!(message.contains("default"), "{message}");
    assert_eq!(before, store_listing(&service).await, "nothing written");
}
