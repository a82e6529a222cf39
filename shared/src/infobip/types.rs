//! Infobip's JSON, field for field (`SmvVerifyRequestDto`, the verify answers, the result
//! callback, the platform's error envelope). Nothing here decides anything; `smv` and
//! `transport` interpret these (and the local simulator speaks them).

use serde::{Deserialize, Serialize};

/// Body of `POST /mi/verification/1/verify`. Its `Debug` shows neither the number nor the URLs,
/// which carry our secrets.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyRequest {
    /// International format, digits only, no `+`.
    pub phone_number: String,
    /// Infobip refuses the request (error 202) unless this is `true`.
    pub consent_granted: bool,
    pub callback_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_ip: Option<String>,
    /// Only ever the device's own source port, and only together with `device_ip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_port: Option<u16>,
}

impl std::fmt::Debug for VerifyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyRequest")
            .field("phone_number", &"<redacted>")
            .field("consent_granted", &self.consent_granted)
            .field("callback_url", &"<redacted>")
            .field(
                "return_url",
                &self.return_url.as_ref().map(|_| "<redacted>"),
            )
            .field("device_ip", &self.device_ip)
            .field("device_port", &self.device_port)
            .finish()
    }
}

/// Any of the three documented answers to a verify request (REDIRECT, OK, ERROR). Every field is
/// optional here because the client must survive answers that break the contract.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResponse {
    #[serde(default)]
    pub status: Option<VerifyStatus>,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub device_redirect_url: Option<String>,
    #[serde(default)]
    pub error: Option<ErrorDto>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VerifyStatus {
    /// The device must open `deviceRedirectUrl` over cellular data.
    Redirect,
    /// Accepted without a redirect (Brazil); the callback may come at once.
    Ok,
    Error,
}

/// Infobip's error object, in verify answers and in callbacks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorDto {
    pub id: i32,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// The result Infobip POSTs to our callback URL.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CallbackBody {
    /// Optional in Infobip's schema; a callback without it is refused rather than guessed at.
    #[serde(default)]
    pub result: Option<CallbackResult>,
    pub token: String,
    #[serde(default)]
    pub error: Option<ErrorDto>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallbackResult {
    Valid,
    Invalid,
    Error,
}

/// 401/403 body. Only `messageId` is ever logged; `text` never reaches an app.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PlatformErrorResponse {
    pub request_error: Option<RequestError>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RequestError {
    pub service_exception: Option<ServiceException>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ServiceException {
    pub message_id: Option<String>,
}

/// `POST /2fa/2/pin` and `/2fa/2/pin/voice`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendPinRequest<'a> {
    pub application_id: &'a str,
    pub message_id: &'a str,
    /// Digits, no `+`.
    pub to: &'a str,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SendPinResponse {
    pub pin_id: Option<String>,
    pub sms_status: Option<String>,
    pub call_status: Option<String>,
}

/// `POST /2fa/2/pin/{pinId}/verify`. The PIN is the user's; this type never derives `Debug`.
#[derive(Serialize)]
pub(super) struct VerifyPinRequest<'a> {
    pub pin: &'a str,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct VerifyPinResponse {
    pub verified: Option<bool>,
    pub attempts_remaining: Option<u32>,
    pub pin_error: Option<String>,
}

/// `POST /2fa/2/applications` (the one-time setup).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationRequest<'a> {
    pub name: &'a str,
    pub enabled: bool,
    pub configuration: ApplicationConfiguration<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationConfiguration<'a> {
    pub pin_attempts: u32,
    pub allow_multiple_pin_verifications: bool,
    pub pin_time_to_live: &'a str,
    pub verify_pin_limit: &'a str,
    pub send_pin_per_application_limit: &'a str,
    pub send_pin_per_phone_number_limit: &'a str,
}

/// `POST /2fa/2/applications/{appId}/messages`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRequest<'a> {
    pub message_text: &'a str,
    pub pin_type: &'a str,
    pub pin_length: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_id: Option<&'a str>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreatedApplication {
    pub application_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreatedMessage {
    pub message_id: Option<String>,
}

/// `POST /mi/simswap/1/check`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SimSwapCheckRequest<'a> {
    pub phone_number: &'a str,
    pub consent_granted: bool,
    /// Hours.
    pub period: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SimSwapCheckResponse {
    pub sim_swap_occurred: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_omits_unknown_device_fields() {
        let request = VerifyRequest {
            phone_number: "447911123456".into(),
            consent_granted: true,
            callback_url: "https://example.com/cb".into(),
            return_url: None,
            device_ip: None,
            device_port: None,
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({"phoneNumber": "447911123456", "consentGranted": true, "callbackUrl": "https://example.com/cb"})
        );
    }

    #[test]
    fn debug_shows_no_number_and_no_secret() {
        let request = VerifyRequest {
            phone_number: "447911123456".into(),
            consent_granted: true,
            callback_url: "https://example.com/callbacks/infobip/s3cret".into(),
            return_url: Some("https://example.com/return/r3turn".into()),
            device_ip: Some("203.0.113.7".into()),
            device_port: None,
        };
        let debug = format!("{request:?}");
        for leak in ["447911123456", "s3cret", "r3turn"] {
            assert!(!debug.contains(leak), "{debug}");
        }
        assert!(debug.contains("203.0.113.7"));
    }

    #[test]
    fn parses_the_three_documented_answers() {
        let redirect: VerifyResponse = serde_json::from_value(json!({
            "status": "REDIRECT", "token": "123e4567-e89b-12d3-a456-426655440000",
            "deviceRedirectUrl": "https://api.infobip.com/mno-domain/smv-check-endpoint"
        }))
        .unwrap();
        assert_eq!(redirect.status, Some(VerifyStatus::Redirect));
        let ok: VerifyResponse =
            serde_json::from_value(json!({"status": "OK", "token": "t"})).unwrap();
        assert_eq!(ok.status, Some(VerifyStatus::Ok));
        assert_eq!(ok.device_redirect_url, None);
        let error: VerifyResponse = serde_json::from_value(json!({
            "status": "ERROR", "token": "t",
            "error": {"id": 202, "name": "EC_CONSENT_NOT_GRANTED", "description": "User consent not granted"}
        }))
        .unwrap();
        assert_eq!(error.error.unwrap().id, 202);
    }

    #[test]
    fn callback_with_unknown_result_or_bad_error_shape_does_not_parse() {
        assert!(
            serde_json::from_value::<CallbackBody>(json!({"result": "MAYBE", "token": "t"}))
                .is_err()
        );
        assert!(serde_json::from_value::<CallbackBody>(
            json!({"result": "ERROR", "token": "t", "error": "boom"})
        )
        .is_err());
        assert!(serde_json::from_value::<CallbackBody>(
            json!({"result": "ERROR", "token": "t", "error": {"id": "x"}})
        )
        .is_err());
        assert!(serde_json::from_value::<CallbackBody>(json!({"result": "VALID"})).is_err());
        let missing_result: CallbackBody = serde_json::from_value(json!({"token": "t"})).unwrap();
        assert_eq!(missing_result.result, None);
    }
}

/// `POST /camara/number-verification/{v0,v2}/verify`: the number, in E.164 with its `+`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct NumberVerifyRequest {
    pub phone_number: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct NumberVerifyResponse {
    pub device_phone_number_verified: bool,
}

/// CAMARA's error body (`{status, code, message}`); only `code` is read.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct CamaraErrorResponse {
    pub code: Option<String>,
}

/// `POST /camara/number-verification/v2/dcql`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DcqlRequest<'a> {
    pub use_case: &'static str,
    pub nonce: &'a str,
    pub carrier_ids: &'a [u32],
    pub operation_type: &'static str,
}
