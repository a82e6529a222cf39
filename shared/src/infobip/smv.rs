//! Silent Mobile Verification over the transport: `POST /mi/verification/1/verify` and its
//! three documented answers (REDIRECT, OK, ERROR in Mobile Identity's `{status, token, error}`
//! envelope), and the result callback Infobip POSTs to us.

use async_trait::async_trait;
use reqwest::StatusCode;
use url::Url;

use super::error_codes::known_error;
use super::transport::Transport;
use super::types::{
    CallbackBody, CallbackResult, ErrorDto, VerifyRequest, VerifyResponse, VerifyStatus,
};
use super::{Accepted, InfobipError, SilentVerifier, VerifyOrder};
use crate::token::Token;
use crate::verification::{ErrorInfo, VerificationResult};

const VERIFY_PATH: &str = "mi/verification/1/verify";

#[derive(Debug, Clone)]
pub struct SmvClient {
    transport: Transport,
    verify_url: Url,
}

impl SmvClient {
    pub fn new(transport: Transport) -> Self {
        Self {
            verify_url: transport.endpoint(VERIFY_PATH),
            transport,
        }
    }
}

#[async_trait]
impl SilentVerifier for SmvClient {
    async fn verify(&self, order: &VerifyOrder<'_>) -> Result<Accepted, InfobipError> {
        let request = VerifyRequest {
            phone_number: order.phone.international_digits().to_owned(),
            consent_granted: true,
            callback_url: order.callback_url.to_string(),
            return_url: Some(order.return_url.to_string()),
            device_ip: Some(order.device.ip.to_string()),
            device_port: order.device.port,
        };
        let answer = self.transport.post_json(&self.verify_url, &request).await?;
        interpret(answer.status, &answer.body)
    }
}

/// A result callback's body as the domain's values, or what is wrong with it.
pub fn parse_callback(body: CallbackBody) -> Result<(Token, VerificationResult), &'static str> {
    let token = Token::parse(&body.token).map_err(|_| "token must be the UUID Infobip issued")?;
    let result = match body
        .result
        .ok_or("result is missing; expected VALID, INVALID or ERROR")?
    {
        CallbackResult::Valid => VerificationResult::Valid,
        CallbackResult::Invalid => VerificationResult::Invalid,
        CallbackResult::Error => VerificationResult::Error(body.error.map(error_info)),
    };
    Ok((token, result))
}

/// Infobip's error object as we keep and show it; name and description are filled in from the
/// documented code list when Infobip leaves them out.
fn error_info(dto: ErrorDto) -> ErrorInfo {
    let known = known_error(dto.id);
    let or_known = |given: Option<String>, known: Option<&'static str>| {
        given
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| known.unwrap_or_default().to_owned())
    };
    ErrorInfo {
        id: dto.id,
        name: or_known(dto.name, known.map(|k| k.name)),
        description: or_known(dto.description, known.map(|k| k.description)),
    }
}

/// Turns Infobip's answer into ours. Kept apart from I/O so every documented answer is easy to test.
fn interpret(status: StatusCode, body: &[u8]) -> Result<Accepted, InfobipError> {
    let http_status = status.as_u16();
    let unexpected = |detail: String| InfobipError::UnexpectedAnswer {
        http_status,
        detail,
    };

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
            error: error_info(error),
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
            body.to_string().as_bytes(),
        )
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
        let html = interpret(StatusCode::OK, b"<html>oops</html>");
        assert!(matches!(html, Err(InfobipError::UnexpectedAnswer { .. })));
    }

    #[test]
    fn server_errors_without_an_error_body_are_unavailability() {
        let html = interpret(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>");
        assert!(matches!(
            html,
            Err(InfobipError::Unavailable { http_status: 502 })
        ));
        let empty = interpret(StatusCode::INTERNAL_SERVER_ERROR, b"");
        assert!(matches!(
            empty,
            Err(InfobipError::Unavailable { http_status: 500 })
        ));
    }

    #[test]
    fn error_info_fills_missing_name_and_description_from_the_code_list() {
        let info = error_info(ErrorDto {
            id: 305,
            name: None,
            description: Some(String::new()),
        });
        assert_eq!(info.name, "EC_MOBILE_DEVICE_TIMEOUT");
        assert_eq!(
            info.description,
            "Timeout occurred during a mobile device redirect."
        );
        let unknown = error_info(ErrorDto {
            id: 9999,
            name: Some("X".into()),
            description: None,
        });
        assert_eq!(
            (unknown.name.as_str(), unknown.description.as_str()),
            ("X", "")
        );
    }
}
