//! One place that sends requests, logs them and maps transport failures to `ApiError`.

use std::time::{Duration, Instant};

use c8dr_core::backend::ApiError;
use reqwest::{Method, RequestBuilder, StatusCode};

/// Longest body kept in errors and reports.
const BODY_LIMIT: usize = 4096;

/// Build the shared reqwest client. TLS uses rustls with the `ring` provider (no OpenSSL, no
/// aws-lc build on small machines).
pub(crate) fn client() -> reqwest::Client {
    // Installing the provider is idempotent; a second install returns Err, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(concat!("c8dr/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "falling back to a default HTTP client");
            reqwest::Client::new()
        })
}

/// A response with its body read.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: String,
    pub(crate) method: Method,
    pub(crate) url: String,
}

impl Answer {
    /// The body parsed as JSON of type `T`, when the status is 2xx.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(self) -> Result<T, ApiError> {
        if !self.status.is_success() {
            return Err(self.into_status_error());
        }
        serde_json::from_str(&self.body).map_err(|e| ApiError::Decode {
            method: self.method.to_string(),
            url: self.url,
            body: truncate(&self.body),
            source: Box::new(e),
        })
    }

    /// Success when the status is 2xx.
    pub(crate) fn ok(self) -> Result<(), ApiError> {
        if self.status.is_success() {
            Ok(())
        } else {
            Err(self.into_status_error())
        }
    }

    pub(crate) fn into_status_error(self) -> ApiError {
        ApiError::Status {
            method: self.method.to_string(),
            url: self.url,
            status: self.status.as_u16(),
            body: truncate(&self.body),
        }
    }
}

pub(crate) fn truncate(body: &str) -> String {
    if body.len() <= BODY_LIMIT {
        body.to_owned()
    } else {
        let mut end = BODY_LIMIT;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &body[..end])
    }
}

/// Why nothing answered, in the words of the innermost cause: the operating system's when there
/// is one ("Connection reset by peer (os error 104)"), else the HTTP library's ("connection
/// closed before message completed"). reqwest's and hyper's wrappers in between name internal
/// phases (`client error (Connect)`, `(SendRequest)`) that differ with timing for the same
/// failure, so reports of the same run would not read the same; the whole chain is logged at
/// debug.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct NoAnswer(String);

impl NoAnswer {
    pub(crate) fn from_chain(error: &(dyn std::error::Error + 'static)) -> Self {
        let mut innermost = error;
        let mut io = None;
        while let Some(cause) = innermost.source() {
            innermost = cause;
            if let Some(e) = cause.downcast_ref::<std::io::Error>() {
                io = Some(e);
            }
        }
        Self(io.map_or_else(|| innermost.to_string(), ToString::to_string))
    }
}

/// Send a request and read the whole body.
pub(crate) async fn send(request: RequestBuilder) -> Result<Answer, ApiError> {
    let (client, request) = request.build_split();
    let request = request.map_err(|e| ApiError::Unreachable {
        method: "?".into(),
        url: e.url().map(ToString::to_string).unwrap_or_default(),
        source: Box::new(e),
    })?;
    let method = request.method().clone();
    let url = request.url().to_string();
    let started = Instant::now();
    let response = client.execute(request).await.map_err(|e| {
        tracing::debug!(%method, %url, error = %e, "no answer");
        if e.is_timeout() {
            ApiError::Timeout {
                method: method.to_string(),
                url: url.clone(),
            }
        } else {
            ApiError::Unreachable {
                method: method.to_string(),
                url: url.clone(),
                source: Box::new(NoAnswer::from_chain(&e)),
            }
        }
    })?;
    let status = response.status();
    let body = response.text().await.map_err(|e| {
        tracing::debug!(%method, %url, error = %e, "answer cut off");
        ApiError::Unreachable {
            method: method.to_string(),
            url: url.clone(),
            source: Box::new(NoAnswer::from_chain(&e)),
        }
    })?;
    tracing::debug!(%method, %url, status = status.as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "answered");
    Ok(Answer {
        status,
        body,
        method,
        url,
    })
}
