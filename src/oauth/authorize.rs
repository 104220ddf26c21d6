//! Authorization request validation (RFC 6749 §4.1.1/§4.2.1, OpenID Connect Core §3.1.2,
//! RFC 7636, RFC 9207) and response building. Until the client and redirect URI are trusted,
//! errors are shown as a page; after that they go back to the client with `error`, `state` and
//! `iss`.

use std::collections::HashMap;
use std::sync::Arc;

use super::snapshot::{ProviderEntry, Snapshot};
use super::{discovery, redirect_uri};
use crate::domain::{ClientType, RedirectUriType};

/// How the response travels back to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

/// What the client asked for (`response_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResponseType {
    pub code: bool,
    pub id_token: bool,
    pub token: bool,
}

impl ResponseType {
    /// Parses a space-separated `response_type`; `None` for anything latchkey does not serve.
    pub fn parse(s: &str) -> Option<Self> {
        let mut rt = ResponseType::default();
        let mut parts: Vec<&str> = s.split(' ').filter(|p| !p.is_empty()).collect();
        parts.sort_unstable();
        let before = parts.len();
        parts.dedup();
        if parts.len() != before || parts.is_empty() {
            return None;
        }
        for p in parts {
            match p {
                "code" => rt.code = true,
                "id_token" => rt.id_token = true,
                "token" => rt.token = true,
                _ => return None,
            }
        }
        // `token` alone (OAuth implicit without OIDC) is not offered, as in authentik.
        if rt.token && !rt.code && !rt.id_token {
            return None;
        }
        Some(rt)
    }

    /// authentik's grant name for the response type.
    pub fn grant(self) -> &'static str {
        match (self.code, self.id_token || self.token) {
            (true, false) => "authorization_code",
            (false, true) => "implicit",
            _ => "hybrid",
        }
    }
}

/// A request whose client and redirect URI are trusted and whose parameters are valid.
#[derive(Debug, Clone)]
pub struct ValidatedAuthorize {
    pub entry: Arc<ProviderEntry>,
    pub redirect_uri: String,
    pub response_type: ResponseType,
    pub response_mode: ResponseMode,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// (challenge, method)
    pub code_challenge: Option<(String, String)>,
    pub prompt_none: bool,
    pub prompt_login: bool,
    pub prompt_consent: bool,
    pub max_age: Option<i64>,
    pub issuer: String,
}

/// Why an authorization request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The client or redirect URI cannot be trusted: show a page, never redirect.
    Page { message: String },
    /// Sent to the (validated) redirect URI.
    Redirect(ErrorRedirect),
}

/// An error response addressed to the client's redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRedirect {
    pub redirect_uri: String,
    pub response_mode: ResponseMode,
    pub error: &'static str,
    pub description: String,
    pub state: Option<String>,
    pub issuer: String,
}

impl ErrorRedirect {
    /// The error as response parameters (`error`, `error_description`, `state`, `iss`).
    pub fn params(&self) -> Vec<(String, String)> {
        let mut p = vec![
            ("error".to_string(), self.error.to_string()),
            ("error_description".to_string(), self.description.clone()),
        ];
        if let Some(s) = &self.state {
            p.push(("state".into(), s.clone()));
        }
        p.push(("iss".into(), self.issuer.clone()));
        p
    }
}

fn page(message: impl Into<String>) -> AuthorizeError {
    AuthorizeError::Page {
        message: message.into(),
    }
}

/// Groups parameters by name so repeats can be refused.
pub fn group_params(pairs: Vec<(String, String)>) -> HashMap<String, Vec<String>> {
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in pairs {
        map.entry(k).or_default().push(v);
    }
    map
}

/// The request's parameters, read one name at a time.
struct Params<'a>(&'a HashMap<String, Vec<String>>);

impl<'a> Params<'a> {
    /// The one value of `k` (`None` when absent or empty); `Err` when it is repeated.
    fn single(&self, k: &str) -> Result<Option<&'a str>, ()> {
        match self.0.get(k).map(Vec::as_slice) {
            None => Ok(None),
            Some([v]) => Ok(Some(v.as_str()).filter(|v| !v.is_empty())),
            Some(_) => Err(()),
        }
    }

    /// The one non-empty value of `k`; repeats were refused before this is asked.
    fn value(&self, k: &str) -> Option<&'a str> {
        self.single(k).ok().flatten()
    }
}

/// Where errors go once the client and redirect URI are trusted.
struct ErrorTarget {
    redirect_uri: String,
    response_mode: ResponseMode,
    state: Option<String>,
    issuer: String,
}

impl ErrorTarget {
    fn err(&self, error: &'static str, description: &str) -> AuthorizeError {
        AuthorizeError::Redirect(ErrorRedirect {
            redirect_uri: self.redirect_uri.clone(),
            response_mode: self.response_mode,
            error,
            description: description.to_string(),
            state: self.state.clone(),
            issuer: self.issuer.clone(),
        })
    }
}

/// Validates an authorization request in authentik's order, then the checks the security
/// checklist adds (PKCE for public clients, nonce, max_age, request objects, repeats).
pub fn validate(
    snapshot: &Snapshot,
    public_url: &str,
    params: &HashMap<String, Vec<String>>,
) -> Result<ValidatedAuthorize, AuthorizeError> {
    let p = Params(params);
    let (entry, issuer, redirect_uri) = trusted_client(snapshot, public_url, &p)?;
    // From here on errors go back to the client.
    let parsed_type = p.value("response_type").and_then(ResponseType::parse);
    let target = ErrorTarget {
        redirect_uri,
        response_mode: response_mode(&p, parsed_type),
        state: params.get("state").and_then(|v| v.first()).cloned(),
        issuer,
    };
    refuse_unsupported_shapes(params, &target)?;
    let response_type = response_type(&p, &entry, &target)?;
    let scopes = scopes(&p, &entry, response_type, &target)?;
    let nonce = p.value("nonce").map(str::to_string);
    if response_type.id_token && nonce.is_none() {
        return Err(target.err(
            "invalid_request",
            "nonce is required when an id_token is returned",
        ));
    }
    let code_challenge = code_challenge(&p, &entry, &target)?;
    if response_type.code
        && code_challenge.is_none()
        && entry.provider.oauth2.client_type == ClientType::Public
    {
        return Err(target.err(
            "invalid_request",
            "public clients must use PKCE (code_challenge)",
        ));
    }
    let max_age = max_age(&p, &target)?;
    let prompts: Vec<&str> = p
        .value("prompt")
        .map(|p| p.split(' ').filter(|x| !x.is_empty()).collect())
        .unwrap_or_default();
    if prompts.contains(&"none") && prompts.len() > 1 {
        return Err(target.err("invalid_request", "prompt=none cannot be combined"));
    }
    Ok(ValidatedAuthorize {
        entry,
        redirect_uri: target.redirect_uri,
        response_type,
        response_mode: target.response_mode,
        scopes,
        state: target.state,
        nonce,
        code_challenge,
        prompt_none: prompts.contains(&"none"),
        prompt_login: prompts.contains(&"login"),
        prompt_consent: prompts.contains(&"consent"),
        max_age,
        issuer: target.issuer,
    })
}

/// The client and its redirect URI, before anything may be sent to it (failures are pages):
/// the provider entry, the issuer and the redirect URI.
fn trusted_client(
    snapshot: &Snapshot,
    public_url: &str,
    p: &Params<'_>,
) -> Result<(Arc<ProviderEntry>, String, String), AuthorizeError> {
    let client_id = p
        .single("client_id")
        .map_err(|_| page("client_id is repeated"))?
        .ok_or_else(|| page("client_id is missing: the application's login link is broken"))?;
    let entry = snapshot
        .by_client_id(client_id)
        .ok_or_else(|| page("unknown client_id: the application is not registered here"))?
        .clone();
    let issuer = discovery::issuer(public_url, &entry)
        .ok_or_else(|| page("this provider is not attached to an application"))?;
    let redirect = p
        .single("redirect_uri")
        .map_err(|_| page("redirect_uri is repeated"))?;
    redirect_uri::check(
        &entry.provider.oauth2.redirect_uris,
        RedirectUriType::Authorization,
        redirect,
    )
    .map_err(|e| {
        page(format!(
            "{e}: the application's redirect URI must be registered exactly"
        ))
    })?;
    Ok((entry, issuer, redirect.unwrap_or_default().to_string()))
}

/// `response_mode`, defaulting to the fragment when tokens are returned.
fn response_mode(p: &Params<'_>, parsed_type: Option<ResponseType>) -> ResponseMode {
    match p.value("response_mode") {
        Some("query") => ResponseMode::Query,
        Some("fragment") => ResponseMode::Fragment,
        Some("form_post") => ResponseMode::FormPost,
        _ => match parsed_type {
            Some(rt) if rt.id_token || rt.token => ResponseMode::Fragment,
            _ => ResponseMode::Query,
        },
    }
}

/// Repeated parameters, request objects and `request_uri` are refused.
fn refuse_unsupported_shapes(
    params: &HashMap<String, Vec<String>>,
    target: &ErrorTarget,
) -> Result<(), AuthorizeError> {
    if let Some((k, _)) = params.iter().find(|(_, v)| v.len() > 1) {
        return Err(target.err("invalid_request", &format!("parameter '{k}' is repeated")));
    }
    if params.contains_key("request") {
        return Err(target.err("request_not_supported", "request objects are not supported"));
    }
    if params.contains_key("request_uri") {
        return Err(target.err("request_uri_not_supported", "request_uri is not supported"));
    }
    Ok(())
}

/// `response_type`: present, supported, allowed for the client, and never tokens in a query.
fn response_type(
    p: &Params<'_>,
    entry: &ProviderEntry,
    target: &ErrorTarget,
) -> Result<ResponseType, AuthorizeError> {
    let Some(raw) = p.value("response_type") else {
        return Err(target.err("invalid_request", "response_type is required"));
    };
    let Some(response_type) = ResponseType::parse(raw) else {
        return Err(target.err(
            "unsupported_response_type",
            "this response_type is not supported",
        ));
    };
    let grant = response_type.grant();
    if !entry.provider.oauth2.grant_types.iter().any(|g| g == grant) {
        return Err(target.err(
            "unauthorized_client",
            &format!("this client may not use the {grant} grant"),
        ));
    }
    if (response_type.id_token || response_type.token)
        && target.response_mode == ResponseMode::Query
    {
        return Err(target.err(
            "invalid_request",
            "tokens are never sent in a query string: use response_mode fragment or form_post",
        ));
    }
    Ok(response_type)
}

/// The requested scopes the provider has mappings for (all of them when none are named);
/// an ID token needs `openid`, and `offline_access` needs a code.
fn scopes(
    p: &Params<'_>,
    entry: &ProviderEntry,
    response_type: ResponseType,
    target: &ErrorTarget,
) -> Result<Vec<String>, AuthorizeError> {
    let configured: Vec<String> = entry
        .scope_mappings
        .iter()
        .map(|m| m.scope_name.clone())
        .collect();
    let mut scopes: Vec<String> = match p.value("scope") {
        None => configured.clone(),
        Some(s) => s
            .split(' ')
            .filter(|x| configured.iter().any(|c| c == x))
            .map(str::to_string)
            .collect(),
    };
    scopes.sort();
    scopes.dedup();
    if response_type.id_token && !scopes.iter().any(|s| s == "openid") {
        return Err(target.err("invalid_scope", "an id_token needs the openid scope"));
    }
    if !response_type.code {
        scopes.retain(|s| s != "offline_access");
    }
    Ok(scopes)
}

/// The PKCE challenge and method (RFC 7636); `plain` only where the provider allows it.
fn code_challenge(
    p: &Params<'_>,
    entry: &ProviderEntry,
    target: &ErrorTarget,
) -> Result<Option<(String, String)>, AuthorizeError> {
    let (challenge, method) = match (p.value("code_challenge"), p.value("code_challenge_method")) {
        (None, Some(_)) => {
            return Err(target.err(
                "invalid_request",
                "code_challenge_method without code_challenge",
            ));
        }
        (None, None) => return Ok(None),
        (Some(challenge), method) => (challenge, method.unwrap_or("plain")),
    };
    match method {
        "S256" => {}
        "plain" if entry.provider.oauth2.allow_plain_pkce => {}
        "plain" => return Err(target.err("invalid_request", "use code_challenge_method=S256")),
        _ => return Err(target.err("invalid_request", "unknown code_challenge_method")),
    }
    if !super::pkce::verifier_syntax_ok(challenge) {
        return Err(target.err("invalid_request", "code_challenge has the wrong syntax"));
    }
    Ok(Some((challenge.to_string(), method.to_string())))
}

/// `max_age`: a non-negative integer of seconds.
fn max_age(p: &Params<'_>, target: &ErrorTarget) -> Result<Option<i64>, AuthorizeError> {
    match p.value("max_age") {
        None => Ok(None),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(Some(n)),
            _ => Err(target.err("invalid_request", "max_age must be a non-negative integer")),
        },
    }
}

/// Where the browser goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientResponse {
    /// A 302 to this URL.
    Redirect(String),
    /// An auto-submitting form (response_mode=form_post) posting these fields to the URL.
    FormPost {
        action: String,
        fields: Vec<(String, String)>,
    },
}

/// Builds the response to the client: parameters percent-encoded into the query or fragment,
/// or a form post.
pub fn respond(
    redirect_uri: &str,
    mode: ResponseMode,
    params: Vec<(String, String)>,
) -> ClientResponse {
    let encoded: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    match mode {
        ResponseMode::Query => {
            let sep = if redirect_uri.contains('?') { '&' } else { '?' };
            ClientResponse::Redirect(format!("{redirect_uri}{sep}{encoded}"))
        }
        ResponseMode::Fragment => ClientResponse::Redirect(format!("{redirect_uri}#{encoded}")),
        ResponseMode::FormPost => ClientResponse::FormPost {
            action: redirect_uri.to_string(),
            fields: params,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_types() {
        assert_eq!(
            ResponseType::parse("code").map(|r| r.grant()),
            Some("authorization_code")
        );
        assert_eq!(
            ResponseType::parse("id_token").map(|r| r.grant()),
            Some("implicit")
        );
        assert_eq!(
            ResponseType::parse("token id_token").map(|r| r.grant()),
            Some("implicit")
        );
        assert_eq!(
            ResponseType::parse("code id_token token").map(|r| r.grant()),
            Some("hybrid")
        );
        for bad in ["", "token", "code code", "magic", "code magic"] {
            assert_eq!(ResponseType::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn state_is_percent_encoded() {
        let r = respond(
            "https://app/cb?x=1",
            ResponseMode::Query,
            vec![
                ("code".into(), "c".into()),
                ("state".into(), "a b&c=<d>#".into()),
            ],
        );
        assert_eq!(
            r,
            ClientResponse::Redirect("https://app/cb?x=1&code=c&state=a+b%26c%3D%3Cd%3E%23".into())
        );
        let r = respond(
            "https://app/cb",
            ResponseMode::Fragment,
            vec![("a".into(), "1".into())],
        );
        assert_eq!(r, ClientResponse::Redirect("https://app/cb#a=1".into()));
    }
}
