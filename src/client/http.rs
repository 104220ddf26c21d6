//! The HTTP client the `oauth2` crate calls through its `AsyncHttpClient` seam: reqwest 0.13 on
//! rustls with the aws-lc-rs provider (no ring), redirects not followed (RFC 6749 §3.2 responses
//! are never redirects), bounded timeouts.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use oauth2::{AsyncHttpClient, HttpRequest, HttpResponse};

/// Why one HTTP exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The request could not be sent or the answer not read.
    #[error("{0}")]
    Transport(String),
}

/// reqwest behind the `oauth2` crate's HTTP seam.
#[derive(Debug, Clone)]
pub struct HttpClient(reqwest::Client);

impl HttpClient {
    /// A client with short connect and request timeouts and no redirects.
    pub fn new() -> Result<Self, HttpError> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("latchkey/", env!("CARGO_PKG_VERSION")))
            .build()
            .map(Self)
            .map_err(|e| HttpError::Transport(super::error::one_line(&e)))
    }

    /// The underlying reqwest client (discovery and plain RFC 7009 calls).
    pub fn inner(&self) -> &reqwest::Client {
        &self.0
    }
}

impl<'c> AsyncHttpClient<'c> for HttpClient {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let transport = |e: reqwest::Error| HttpError::Transport(super::error::one_line(&e));
            let (parts, body) = request.into_parts();
            let response = self
                .0
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(transport)?;
            let mut builder = oauth2::http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let bytes = response.bytes().await.map_err(transport)?;
            builder
                .body(bytes.to_vec())
                .map_err(|e| HttpError::Transport(e.to_string()))
        })
    }
}
