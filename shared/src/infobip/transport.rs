//! One HTTP exchange with Infobip, whatever the API: the base URL, the `App` key, timeouts, a
//! limit on what we read, and the answers that mean the same for every API (the platform's
//! `{requestError: {serviceException}}` on 401/403, and 429). What a 200, 4xx or 5xx body means is
//! each API client's business.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::StatusCode;
use serde::Serialize;
use url::Url;

use super::camara::Correlator;
use super::types::PlatformErrorResponse;
use super::{ApiKey, InfobipError};
use crate::keys::Rotating;
use crate::metrics::{Metric, MetricsSink};
use crate::time::Clock;
use std::sync::Arc;

/// Infobip's answers are a few hundred bytes; a body this large is not one of them, and reading
/// it whole would only spend the function's memory and time.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

#[derive(Clone)]
pub struct Transport {
    http: reqwest::Client,
    base_url: Url,
    /// The key as it rotates: the current one is sent; a 401 reads the versions again once.
    api_keys: Arc<Rotating<ApiKey>>,
    clock: Arc<dyn Clock>,
    /// Each call's latency, by API (`InfobipLatency`).
    metrics: Arc<dyn MetricsSink>,
    timeout: Duration,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base_url", &self.base_url.as_str())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// An answer that is the calling API's to interpret.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Transport {
    /// Build once per process: the connection pool and TLS roots are reused across invocations.
    pub fn new(
        base_url: &Url,
        api_keys: Arc<Rotating<ApiKey>>,
        clock: Arc<dyn Clock>,
        metrics: Arc<dyn MetricsSink>,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            // Infobip answers directly; a redirect would be a misconfigured base URL.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("smv-backend/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            base_url: base_url.clone(),
            api_keys,
            clock,
            metrics,
            timeout,
        })
    }

    /// The URL of an endpoint (`mi/verification/1/verify`), under the base URL's own path.
    pub fn endpoint(&self, path: &str) -> Url {
        crate::urls_and_headers::join(&self.base_url, path)
            .expect("API paths are valid relative URLs")
    }

    /// POSTs `body` with the current key; after a 401, once more with the key read again (a
    /// rotation another environment has already seen).
    pub async fn post_json(
        &self,
        url: &Url,
        body: &impl Serialize,
    ) -> Result<Answer, InfobipError> {
        self.post_json_correlated(url, None, body).await
    }

    /// [`Self::post_json`] with CAMARA's `X-Correlator` header: what the device brought back
    /// (a credential of its own, so the header is marked sensitive).
    pub async fn post_json_correlated(
        &self,
        url: &Url,
        correlator: Option<&Correlator>,
        body: &impl Serialize,
    ) -> Result<Answer, InfobipError> {
        let now = self.clock.now();
        let ring = self
            .api_keys
            .current(now)
            .await
            .map_err(|e| InfobipError::Unreachable(e.into()))?;
        match self
            .post_json_with(&ring.current, url, correlator, body)
            .await
        {
            Err(refused @ InfobipError::Unauthorized { .. }) => {
                match self.api_keys.reread_after_refusal(now).await {
                    Some(reread) => {
                        self.post_json_with(&reread.current, url, correlator, body)
                            .await
                    }
                    None => Err(refused),
                }
            }
            answer => answer,
        }
    }

    async fn post_json_with(
        &self,
        key: &ApiKey,
        url: &Url,
        correlator: Option<&Correlator>,
        body: &impl Serialize,
    ) -> Result<Answer, InfobipError> {
        let started = std::time::Instant::now();
        let answer = self.exchange(key, url, correlator, body).await;
        self.metrics.emit(&Metric::InfobipCall {
            api: api_of(url),
            latency: started.elapsed(),
        });
        answer
    }

    async fn exchange(
        &self,
        key: &ApiKey,
        url: &Url,
        correlator: Option<&Correlator>,
        body: &impl Serialize,
    ) -> Result<Answer, InfobipError> {
        let mut authorization = HeaderValue::from_str(&format!("App {}", key.expose()))
            .expect("ApiKey::new admits only visible ASCII");
        authorization.set_sensitive(true);
        let mut request = self
            .http
            .post(url.clone())
            .header(AUTHORIZATION, authorization)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json");
        if let Some(correlator) = correlator {
            let mut value = HeaderValue::from_str(correlator.expose())
                .expect("Correlator::parse admits only visible ASCII");
            value.set_sensitive(true);
            request = request.header("x-correlator", value);
        }
        let mut response = request
            .json(body)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let retry_after = crate::urls_and_headers::retry_after(response.headers());
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(e))?
        {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(InfobipError::UnexpectedAnswer {
                    http_status: status.as_u16(),
                    detail: format!("body is larger than {MAX_ANSWER_BYTES} bytes"),
                });
            }
            body.extend_from_slice(&chunk);
        }
        match platform_error(status, retry_after, &body) {
            Some(error) => Err(error),
            None => Ok(Answer {
                status,
                body: body.into(),
            }),
        }
    }

    fn transport_error(&self, error: reqwest::Error) -> InfobipError {
        if error.is_timeout() {
            InfobipError::Timeout(self.timeout)
        } else {
            // reqwest's Display names the URL but never headers, so the key cannot leak here.
            InfobipError::Unreachable(error.without_url().into())
        }
    }
}

/// The `Api` dimension of `InfobipLatency`: each Infobip API this backend calls.
pub const APIS: [&str; 4] = ["Verify", "SimSwap", "Pin", "Camara"];

/// The metric's name for the API `url` belongs to.
fn api_of(url: &Url) -> &'static str {
    let [verify, sim_swap, pin, camara] = APIS;
    let path = url.path();
    if path.contains("/mi/simswap/") {
        sim_swap
    } else if path.contains("/2fa/") {
        pin
    } else if path.contains("/camara/") {
        camara
    } else {
        verify
    }
}

/// The `messageId` of a platform error body; its `text` is never kept.
pub(super) fn message_id(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<PlatformErrorResponse>(body)
        .ok()
        .and_then(|b| b.request_error)
        .and_then(|e| e.service_exception)
        .and_then(|e| e.message_id)
}

/// The answers every Infobip API gives alike.
fn platform_error(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Option<InfobipError> {
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        // Only `messageId` is kept; the `text` never reaches a log or an app.
        return Some(InfobipError::Unauthorized {
            http_status: status.as_u16(),
            message_id: message_id(body),
        });
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Some(InfobipError::RateLimited { retry_after });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn auth_failures_keep_only_the_message_id() {
        let body = json!({"requestError": {"serviceException": {"messageId": "UNAUTHORIZED", "text": "Invalid login details"}}});
        match platform_error(StatusCode::UNAUTHORIZED, None, body.to_string().as_bytes()) {
            Some(e @ InfobipError::Unauthorized { .. }) => {
                assert!(!e.to_string().contains("Invalid login details"));
                assert!(e.to_string().contains("UNAUTHORIZED"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            platform_error(StatusCode::FORBIDDEN, None, b"{}"),
            Some(InfobipError::Unauthorized {
                http_status: 403,
                ..
            })
        ));
    }

    #[test]
    fn rate_limit_carries_retry_after() {
        let limited = platform_error(
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(7)),
            b"",
        );
        assert!(
            matches!(limited, Some(InfobipError::RateLimited { retry_after: Some(d) }) if d == Duration::from_secs(7))
        );
    }

    #[test]
    fn other_answers_are_the_api_clients_to_read() {
        for status in [200, 400, 422, 500, 502] {
            let status = StatusCode::from_u16(status).unwrap();
            assert!(platform_error(status, None, b"{}").is_none(), "{status}");
        }
    }
}
