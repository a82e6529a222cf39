//! The HTTP client for Infobip's verify endpoint. It makes exactly one attempt per call: the
//! request is not idempotent and every accepted one is billed, so retrying is the app's decision.

use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::StatusCode;
use url::Url;

use super::types::{PlatformErrorResponse, VerifyRequest, VerifyResponse, VerifyStatus};
use crate::token::Token;
use crate::verification::ErrorInfo;

/// Infobip's API key. Its `Debug` is redacted so that it cannot reach a log by accident.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: String) -> Option<Self> {
        let key = key.trim().to_owned();
        let printable = !key.is_empty() && key.bytes().all(|b| b.is_ascii_graphic());
        printable.then_some(Self(key))
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Infobip took the request: the result will come by callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub token: Token,
    /// `Some` for REDIRECT; `None` for OK (Brazil), where there is nothing for the device to open.
    pub device_redirect_url: Option<Url>,
}

#[derive(Debug, thiserror::Error)]
pub enum InfobipError {
    /// Infobip answered with its ERROR body: the verification failed for a reason it names.
    #[error("Infobip refused the verification (HTTP {http_status}, error {})", error.id)]
    Refused {
        http_status: u16,
        token: Option<Token>,
        error: ErrorInfo,
    },
    /// 401/403: our API key is wrong or lacks the `mobile-identity:manage` scope.
    #[error("Infobip refused our credentials (HTTP {http_status}, messageId {message_id:?})")]
    Unauthorized {
        http_status: u16,
        message_id: Option<String>,
    },
    #[error("Infobip is rate limiting us")]
    RateLimited { retry_after: Option<Duration> },
    #[error("Infobip is unavailable (HTTP {http_status})")]
    Unavailable { http_status: u16 },
    #[error("Infobip did not answer within {0:?}")]
    Timeout(Duration),
    #[error("could not reach Infobip: {0}")]
    Unreachable(String),
    #[error("Infobip's answer (HTTP {http_status}) broke the contract: {detail}")]
    UnexpectedAnswer { http_status: u16, detail: String },
}

#[derive(Debug, Clone)]
pub struct InfobipClient {
    http: reqwest::Client,
    verify_url: Url,
    authorization: HeaderValue,
    timeout: Duration,
}

impl InfobipClient {
    /// Build once per process: the connection pool and TLS roots are reused across invocations.
    pub fn new(
        base_url: &Url,
        api_key: &ApiKey,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            // Infobip answers the verify call directly; a redirect would be a misconfigured base URL.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("smv-backend/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let mut authorization = HeaderValue::from_str(&format!("App {}", api_key.0))
            .expect("ApiKey::new admits only visible ASCII");
        authorization.set_sensitive(true);
        Ok(Self {
            http,
            verify_url: verify_url(base_url),
            authorization,
            timeout,
        })
    }

    pub async fn verify(&self, request: &VerifyRequest) -> Result<Accepted, InfobipError> {
        let response = self
            .http
            .post(self.verify_url.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .json(request)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;

        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(e))?;
        interpret(status, retry_after, &body)
    }

    fn transport_error(&self, error: reqwest::Error) -> InfobipError {
        if error.is_timeout() {
            InfobipError::Timeout(self.timeout)
        } else {
            // reqwest's Display names the URL but never headers, so the key cannot leak here.
            InfobipError::Unreachable(error.without_url().to_string())
        }
    }
}

fn verify_url(base_url: &Url) -> Url {
    let mut url = base_url.clone();
    let path = format!(
        "{}/mi/verification/1/verify",
        base_url.path().trim_end_matches('/')
    );
    url.set_path(&path);
    url
}

/// Turns Infobip's answer into ours. Kept apart from I/O so every documented answer is easy to test.
fn interpret(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Result<Accepted, InfobipError> {
    let http_status = status.as_u16();
    let unexpected = |detail: String| InfobipError::UnexpectedAnswer {
        http_status,
        detail,
    };

    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        let message_id = serde_json::from_slice::<PlatformErrorResponse>(body)
            .ok()
            .and_then(|b| b.request_error)
            .and_then(|e| e.service_exception)
            .and_then(|e| e.message_id);
        return Err(InfobipError::Unauthorized {
            http_status,
            message_id,
        });
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(InfobipError::RateLimited { retry_after });
    }

    let parsed = serde_json::from_slice::<VerifyResponse>(body);
    let documented_error_status = matches!(http_status, 200 | 400 | 422 | 500);
    match parsed {
        Ok(VerifyResponse {
            status: Some(VerifyStatus::Error),
            token,
            error: Some(error),
            ..
        }) if documented_error_status => Err(InfobipError::Refused {
            http_status,
            // A malformed token on an error answer is dropped, not fatal: the error still matters.
            token: token.as_deref().and_then(|t| Token::parse(t).ok()),
            error: error.into(),
        }),
        _ if status.is_server_error() => Err(InfobipError::Unavailable { http_status }),
        Ok(answer) if status == StatusCode::OK => accepted(answer).map_err(unexpected),
        Ok(_) => Err(unexpected(
            "status is not one of REDIRECT, OK or ERROR".into(),
        )),
        Err(e) => Err(unexpected(format!("body is not the documented JSON ({e})"))),
    }
}

fn accepted(answer: VerifyResponse) -> Result<Accepted, String> {
    let token = answer
        .token
        .as_deref()
        .ok_or("token missing")
        .and_then(|t| Token::parse(t).map_err(|_| "token is not a UUID"))?;
    let device_redirect_url = match answer.status {
        Some(VerifyStatus::Redirect) => {
            let raw = answer
                .device_redirect_url
                .ok_or("REDIRECT without deviceRedirectUrl")?;
            let url = Url::parse(&raw).map_err(|_| "deviceRedirectUrl is not an absolute URL")?;
            if !matches!(url.scheme(), "https" | "http") {
                return Err("deviceRedirectUrl is not an http(s) URL".into());
            }
            Some(url)
        }
        Some(VerifyStatus::Ok) => None,
        _ => return Err("status is not one of REDIRECT, OK or ERROR".into()),
    };
    Ok(Accepted {
        token,
        device_redirect_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOKEN: &str = "123e4567-e89b-12d3-a456-426655440000";

    fn answer(status: u16, body: serde_json::Value) -> Result<Accepted, InfobipError> {
        interpret(
            StatusCode::from_u16(status).unwrap(),
            None,
            body.to_string().as_bytes(),
        )
    }

    #[test]
    fn verify_url_keeps_a_base_path() {
        let base = Url::parse("https://xyz.api.infobip.com/").unwrap();
        assert_eq!(
            verify_url(&base).as_str(),
            "https://xyz.api.infobip.com/mi/verification/1/verify"
        );
        let proxied = Url::parse("http://127.0.0.1:9/infobip").unwrap();
        assert_eq!(
            verify_url(&proxied).as_str(),
            "http://127.0.0.1:9/infobip/mi/verification/1/verify"
        );
    }

    #[test]
    fn redirect_and_ok_are_accepted() {
        let redirect = answer(200, json!({"status": "REDIRECT", "token": TOKEN, "deviceRedirectUrl": "https://mno.example/x"})).unwrap();
        assert_eq!(
            redirect.device_redirect_url.unwrap().as_str(),
            "https://mno.example/x"
        );
        let ok = answer(200, json!({"status": "OK", "token": TOKEN})).unwrap();
        assert_eq!(ok.token.as_str(), TOKEN);
        assert_eq!(ok.device_redirect_url, None);
    }

    #[test]
    fn error_bodies_are_refusals_whatever_the_documented_status() {
        for status in [200, 400, 422, 500] {
            let error = answer(
                status,
                json!({"status": "ERROR", "token": TOKEN, "error": {"id": 202, "name": "EC_CONSENT_NOT_GRANTED", "description": "User consent not granted"}}),
            );
            match error {
                Err(InfobipError::Refused {
                    http_status,
                    token,
                    error,
                }) => {
                    assert_eq!(http_status, status);
                    assert_eq!(token.unwrap().as_str(), TOKEN);
                    assert_eq!(error.id, 202);
                }
                other => panic!("{status}: {other:?}"),
            }
        }
    }

    #[test]
    fn contract_breaches_are_unexpected_answers() {
        for body in [
            json!({"status": "REDIRECT", "token": TOKEN}),
            json!({"status": "REDIRECT", "token": TOKEN, "deviceRedirectUrl": "/relative"}),
            json!({"status": "REDIRECT", "token": TOKEN, "deviceRedirectUrl": "javascript:alert(1)"}),
            json!({"status": "OK", "token": "not-a-uuid"}),
            json!({"status": "OK"}),
            json!({"status": "ERROR", "token": TOKEN}),
            json!({"token": TOKEN}),
        ] {
            assert!(
                matches!(
                    answer(200, body.clone()),
                    Err(InfobipError::UnexpectedAnswer { .. })
                ),
                "{body}"
            );
        }
        let html = interpret(StatusCode::OK, None, b"<html>oops</html>");
        assert!(matches!(html, Err(InfobipError::UnexpectedAnswer { .. })));
    }

    #[test]
    fn server_errors_without_an_error_body_are_unavailability() {
        let html = interpret(StatusCode::BAD_GATEWAY, None, b"<html>bad gateway</html>");
        assert!(matches!(
            html,
            Err(InfobipError::Unavailable { http_status: 502 })
        ));
        let empty = interpret(StatusCode::INTERNAL_SERVER_ERROR, None, b"");
        assert!(matches!(
            empty,
            Err(InfobipError::Unavailable { http_status: 500 })
        ));
    }

    #[test]
    fn auth_failures_keep_only_the_message_id() {
        let body = json!({"requestError": {"serviceException": {"messageId": "UNAUTHORIZED", "text": "Invalid login details"}}});
        match answer(401, body) {
            Err(e @ InfobipError::Unauthorized { .. }) => {
                assert!(!e.to_string().contains("Invalid login details"));
                assert!(e.to_string().contains("UNAUTHORIZED"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            answer(403, json!({})),
            Err(InfobipError::Unauthorized {
                http_status: 403,
                ..
            })
        ));
    }

    #[test]
    fn rate_limit_carries_retry_after() {
        let limited = interpret(
            StatusCode::TOO_MANY_REQUESTS,
            Some(Duration::from_secs(7)),
            b"",
        );
        assert!(
            matches!(limited, Err(InfobipError::RateLimited { retry_after: Some(d) }) if d == Duration::from_secs(7))
        );
    }

    #[test]
    fn api_key_is_redacted_and_must_be_printable() {
        let key = ApiKey::new("  secret-key  ".into()).unwrap();
        assert!(!format!("{key:?}").contains("secret"));
        assert!(ApiKey::new(String::new()).is_none());
        assert!(ApiKey::new("bad\nkey".into()).is_none());
    }
}
