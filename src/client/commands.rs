//! The three client commands. Codes and tokens are printed only where the user needs them (the
//! user code to type, the access token for `latchkey token`), never logged.

use std::time::{SystemTime, UNIX_EPOCH};

use oauth2::basic::{BasicClient, BasicErrorResponse, BasicTokenResponse};
use oauth2::{
    AuthType, ClientId, DeviceAuthorizationUrl, DeviceCodeErrorResponse,
    DeviceCodeErrorResponseType, ErrorResponse, RefreshToken, RequestTokenError, Scope,
    StandardDeviceAuthorizationResponse, TokenResponse, TokenUrl,
};

use super::discover::{self, issuer_url};
use super::error::ClientError;
use super::http::{HttpClient, HttpError};
use super::qr;
use super::token_file::{self, StoredTokens, token_file_path};
use crate::cli::LoginArgs;

/// Prints a progress line; a closed stdout (the user piped us into `head`) must not stop the
/// sign-in, so write errors are ignored here.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Refresh this many seconds before the access token's stated expiry.
const EXPIRY_SKEW: i64 = 30;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn http() -> Result<HttpClient, ClientError> {
    HttpClient::new().map_err(|e| ClientError::Unreachable {
        url: "(client setup)".into(),
        reason: e.to_string(),
    })
}

fn oauth_message<T: ErrorResponse>(r: &T) -> String {
    r.to_string().replace(['\n', '\r'], " ")
}

/// Maps an `oauth2` request failure to one clear error.
fn request_error<TE: ErrorResponse + 'static>(
    url: &str,
    e: RequestTokenError<HttpError, TE>,
) -> ClientError {
    match e {
        RequestTokenError::Request(e) => ClientError::Unreachable {
            url: url.to_string(),
            reason: e.to_string(),
        },
        RequestTokenError::ServerResponse(r) => ClientError::Refused(oauth_message(&r)),
        RequestTokenError::Parse(e, _) => ClientError::BadResponse {
            url: url.to_string(),
            reason: e.to_string(),
        },
        RequestTokenError::Other(s) => ClientError::BadResponse {
            url: url.to_string(),
            reason: s,
        },
    }
}

fn stored(
    issuer: &str,
    client_id: &str,
    token_endpoint: &str,
    revocation_endpoint: Option<String>,
    t: &BasicTokenResponse,
    old_refresh: Option<String>,
) -> StoredTokens {
    StoredTokens {
        issuer: issuer.to_string(),
        client_id: client_id.to_string(),
        token_endpoint: token_endpoint.to_string(),
        revocation_endpoint,
        access_token: t.access_token().secret().clone(),
        refresh_token: t
            .refresh_token()
            .map(|r| r.secret().clone())
            .or(old_refresh),
        scope: t
            .scopes()
            .map(|s| s.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(" "))
            .unwrap_or_default(),
        expires_at: now() + t.expires_in().map(|d| d.as_secs() as i64).unwrap_or(3600),
    }
}

fn bad_url(what: &str, e: impl std::fmt::Display) -> ClientError {
    ClientError::BadResponse {
        url: what.to_string(),
        reason: format!("invalid endpoint URL: {e}"),
    }
}

/// `latchkey login`: the device authorization grant, end to end.
pub async fn login(args: &LoginArgs) -> Result<(), ClientError> {
    let http = http()?;
    let issuer = issuer_url(&args.url, args.app.as_deref(), &args.client_id)?;
    let endpoints = discover::discover(&http, &issuer).await?;
    let device_url = endpoints
        .device_authorization_endpoint
        .clone()
        .ok_or_else(|| ClientError::BadResponse {
            url: issuer.clone(),
            reason: "the server does not offer the device code grant".into(),
        })?;
    let client = BasicClient::new(ClientId::new(args.client_id.clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(device_url.clone()).map_err(|e| bad_url(&device_url, e))?,
        )
        .set_token_uri(
            TokenUrl::new(endpoints.token_endpoint.clone())
                .map_err(|e| bad_url(&endpoints.token_endpoint, e))?,
        );
    let scopes = args
        .scope
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(|s| Scope::new(s.to_string()));
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scopes(scopes)
        .request_async(&http)
        .await
        .map_err(|e| request_error::<BasicErrorResponse>(&device_url, e))?;
    let complete = details
        .verification_uri_complete()
        .map(|u| u.secret().clone());
    say!(
        "To sign in, open {} and enter the code below.",
        details.verification_uri().as_str()
    );
    say!("User code: {}", details.user_code().secret());
    if let Some(link) = &complete {
        say!("Or open {link}, or scan:");
        if let Some(code) = qr::render(link) {
            say!("{code}");
        }
    }
    say!("Waiting for approval…");
    let token = client
        .exchange_device_access_token(&details)
        .request_async(&http, tokio::time::sleep, None)
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(r) => device_error(&r),
            other => request_error::<DeviceCodeErrorResponse>(&endpoints.token_endpoint, other),
        })?;
    let tokens = stored(
        &endpoints.issuer,
        &args.client_id,
        &endpoints.token_endpoint,
        endpoints.revocation_endpoint.clone(),
        &token,
        None,
    );
    let path = token_file_path()?;
    token_file::save(&path, &tokens)?;
    say!("Logged in; tokens saved to {}", path.display());
    Ok(())
}

fn device_error(r: &DeviceCodeErrorResponse) -> ClientError {
    match r.error() {
        DeviceCodeErrorResponseType::AccessDenied => ClientError::Denied,
        DeviceCodeErrorResponseType::ExpiredToken => ClientError::Expired,
        _ => ClientError::Refused(oauth_message(r)),
    }
}

/// `latchkey token`: prints a valid access token, refreshing (and saving the rotated refresh
/// token) first when it has expired.
pub async fn token() -> Result<(), ClientError> {
    let path = token_file_path()?;
    let mut tokens = token_file::load(&path)?;
    if tokens.expires_at - EXPIRY_SKEW <= now() {
        let refresh = tokens.refresh_token.clone().ok_or_else(|| {
            ClientError::SessionEnded(
                "the access token expired and there is no refresh token".into(),
            )
        })?;
        let http = http()?;
        let client = BasicClient::new(ClientId::new(tokens.client_id.clone()))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(
                TokenUrl::new(tokens.token_endpoint.clone())
                    .map_err(|e| bad_url(&tokens.token_endpoint, e))?,
            );
        let fresh = client
            .exchange_refresh_token(&RefreshToken::new(refresh.clone()))
            .request_async(&http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => {
                    ClientError::SessionEnded(oauth_message(&r))
                }
                other => request_error::<BasicErrorResponse>(&tokens.token_endpoint, other),
            })?;
        tokens = stored(
            &tokens.issuer,
            &tokens.client_id,
            &tokens.token_endpoint,
            tokens.revocation_endpoint.clone(),
            &fresh,
            Some(refresh),
        );
        token_file::save(&path, &tokens)?;
    }
    println!("{}", tokens.access_token);
    Ok(())
}

/// `latchkey logout`: revokes the grant (RFC 7009: the refresh token, which ends the whole
/// grant, else the access token) and deletes the token file. A failed revocation keeps the file.
pub async fn logout() -> Result<(), ClientError> {
    let path = token_file_path()?;
    let tokens = token_file::load(&path)?;
    if let Some(url) = &tokens.revocation_endpoint {
        let (token, hint) = match &tokens.refresh_token {
            Some(r) => (r.as_str(), "refresh_token"),
            None => (tokens.access_token.as_str(), "access_token"),
        };
        // A direct RFC 7009 POST: the oauth2 crate refuses non-https revocation endpoints, and a
        // loopback development server is plain http.
        let response = http()?
            .inner()
            .post(url)
            .form(&[
                ("token", token),
                ("token_type_hint", hint),
                ("client_id", tokens.client_id.as_str()),
            ])
            .send()
            .await
            .map_err(|e| ClientError::unreachable(url, e))?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            let code = body
                .get("error")
                .and_then(|v| v.as_str())
                .unwrap_or("error");
            return Err(ClientError::Refused(format!(
                "revocation failed (HTTP {status}, {code}); tokens kept in {}",
                path.display()
            )));
        }
    }
    token_file::delete(&path)?;
    say!("Logged out.");
    Ok(())
}
