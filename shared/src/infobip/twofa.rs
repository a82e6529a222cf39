//! Infobip 2FA over the transport: send a PIN by SMS or voice (`POST /2fa/2/pin`,
//! `/2fa/2/pin/voice`), send the same PIN again (`/resend`, `/resend/voice`), check it
//! (`/verify`), and the one-time setup of the application and its message template. 2FA reports
//! failures in the platform envelope; a send Infobip took but could not deliver is a 200 with
//! `MESSAGE_NOT_SENT`. No request here is retried: 2FA has no idempotency key, and a second send
//! is a second PIN and a second charge.

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;

use super::transport::{Answer, Transport};
use super::types::{
    ApplicationRequest, CreatedApplication, CreatedMessage, MessageRequest, SendPinRequest,
    SendPinResponse, VerifyPinRequest, VerifyPinResponse,
};
use super::{InfobipError, PinService};
use crate::fallback::{Channel, Pin, PinId, PinVerdict};
use crate::phone::PhoneNumber;

#[derive(Debug, Clone)]
pub struct TwoFactorClient {
    transport: Transport,
    application_id: String,
    message_id: String,
}

impl TwoFactorClient {
    /// Sends with the application and message template `smv-local infobip-setup` created.
    pub fn new(transport: Transport, application_id: String, message_id: String) -> Self {
        Self {
            transport,
            application_id,
            message_id,
        }
    }
}

#[async_trait]
impl PinService for TwoFactorClient {
    async fn send(&self, channel: Channel, phone: &PhoneNumber) -> Result<PinId, InfobipError> {
        let path = match channel {
            Channel::Sms => "2fa/2/pin",
            Channel::Voice => "2fa/2/pin/voice",
        };
        let request = SendPinRequest {
            application_id: &self.application_id,
            message_id: &self.message_id,
            to: phone.international_digits(),
        };
        let answer = self
            .transport
            .post_json(&self.transport.endpoint(path), &request)
            .await?;
        let sent: SendPinResponse = read(&answer)?;
        refuse_unsent(&sent)?;
        sent.pin_id
            .as_deref()
            .and_then(PinId::parse)
            .ok_or_else(|| unexpected(&answer, "pinId is missing or malformed"))
    }

    async fn resend(&self, channel: Channel, pin_id: &PinId) -> Result<(), InfobipError> {
        let path = match channel {
            Channel::Sms => format!("2fa/2/pin/{}/resend", pin_id.as_str()),
            Channel::Voice => format!("2fa/2/pin/{}/resend/voice", pin_id.as_str()),
        };
        let answer = self
            .transport
            .post_json(&self.transport.endpoint(&path), &serde_json::json!({}))
            .await?;
        refuse_unsent(&read(&answer)?)
    }

    async fn check(&self, pin_id: &PinId, pin: &Pin) -> Result<PinVerdict, InfobipError> {
        let path = format!("2fa/2/pin/{}/verify", pin_id.as_str());
        let request = VerifyPinRequest { pin: pin.expose() };
        let answer = self
            .transport
            .post_json(&self.transport.endpoint(&path), &request)
            .await;
        let checked: VerifyPinResponse = match answer.and_then(|answer| read(&answer)) {
            Ok(checked) => checked,
            // 2FA no longer knows the PIN: expired or deleted.
            Err(InfobipError::UnknownPin) => return Ok(PinVerdict::Expired),
            Err(e) => return Err(e),
        };
        // Success is `verified: true` and nothing else. `pinError` has no enum in the current
        // spec; these two say no attempt can succeed any more.
        Ok(match (checked.verified, checked.pin_error.as_deref()) {
            (Some(true), _) => PinVerdict::Verified,
            (_, Some("NO_MORE_PIN_ATTEMPTS" | "TTL_EXPIRED")) => PinVerdict::Expired,
            _ => PinVerdict::Wrong {
                attempts_remaining: checked.attempts_remaining,
            },
        })
    }
}

/// The ids a setup created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    pub application_id: String,
    pub message_id: String,
}

impl TwoFactorClient {
    /// Creates the 2FA application and its message template (needs a key with `2fa:manage`).
    pub async fn set_up(
        transport: &Transport,
        application: &ApplicationRequest<'_>,
        message: &MessageRequest<'_>,
    ) -> Result<Setup, InfobipError> {
        let answer = transport
            .post_json(&transport.endpoint("2fa/2/applications"), application)
            .await?;
        let created: CreatedApplication = read(&answer)?;
        let application_id = created
            .application_id
            .ok_or_else(|| unexpected(&answer, "applicationId is missing"))?;
        let path = format!("2fa/2/applications/{application_id}/messages");
        let answer = transport
            .post_json(&transport.endpoint(&path), message)
            .await?;
        let created: CreatedMessage = read(&answer)?;
        let message_id = created
            .message_id
            .ok_or_else(|| unexpected(&answer, "messageId is missing"))?;
        Ok(Setup {
            application_id,
            message_id,
        })
    }
}

/// A 200 or 201 as `T`; anything else as the error it is.
fn read<T: DeserializeOwned>(answer: &Answer) -> Result<T, InfobipError> {
    let http_status = answer.status.as_u16();
    match answer.status {
        StatusCode::OK | StatusCode::CREATED => serde_json::from_slice(&answer.body)
            .map_err(|e| unexpected(answer, &format!("body is not the documented JSON ({e})"))),
        StatusCode::NOT_FOUND => Err(InfobipError::UnknownPin),
        status if status.is_server_error() => Err(InfobipError::Unavailable { http_status }),
        _ => Err(InfobipError::Rejected {
            http_status,
            message_id: super::transport::message_id(&answer.body),
        }),
    }
}

/// Infobip took the request but could not send: `MESSAGE_NOT_SENT` (SMS) or a rejected call.
fn refuse_unsent(sent: &SendPinResponse) -> Result<(), InfobipError> {
    let failed = |status: &Option<String>| {
        status
            .as_deref()
            .is_some_and(|s| s == "MESSAGE_NOT_SENT" || s.starts_with("REJECTED"))
    };
    match failed(&sent.sms_status) || failed(&sent.call_status) {
        true => Err(InfobipError::PinNotSent),
        false => Ok(()),
    }
}

fn unexpected(answer: &Answer, detail: &str) -> InfobipError {
    InfobipError::UnexpectedAnswer {
        http_status: answer.status.as_u16(),
        detail: detail.to_owned(),
    }
}
