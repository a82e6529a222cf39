//! The PIN fallback: `POST /verifications/{token}/fallback` sends a PIN by SMS or voice where
//! silent verification produced no evidence; `POST /verifications/{token}/pin` checks it.
//! Served by start-verify, the function that holds the Infobip key.

use super::refused::HttpError;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use super::request::{json_body, json_response, refuse_cross_site};
use super::routes::Params;
use crate::app::StartApp;
use crate::binding::CodeVerifier;
use crate::device_address;
use crate::error::AppError;
use crate::fallback::{Channel, Pin};
use crate::phone::PhoneNumber;
use crate::service::{self, FallbackRequest};
use crate::token::Token;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FallbackBody {
    code_verifier: String,
    channel: String,
    phone_number: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SentBody<'a> {
    token: &'a str,
    channel: &'static str,
    expires_at: String,
    resend_after: String,
}

/// `POST /verifications/{token}/fallback`: `202` once Infobip has the PIN to send.
pub async fn send(
    app: &StartApp,
    params: &Params,
    request: &Request,
) -> Result<Response<Body>, HttpError> {
    // A PIN costs what a start costs: pages of other sites may not ask for one either.
    refuse_cross_site(request, &app.config.allowed_origins)?;
    let token = Token::parse(params.get("token")?)?;
    let body: FallbackBody = json_body(request)?;
    let order = FallbackRequest {
        verifier: CodeVerifier::parse(&body.code_verifier)?,
        channel: Channel::parse(&body.channel).ok_or_else(|| {
            AppError::InvalidRequest("channel must be \"sms\" or \"voice\"".into())
        })?,
        phone: PhoneNumber::parse(&body.phone_number)?,
    };
    let device = device_address::resolve(request, &app.config.address_policy)?;
    let sent = service::send_pin(app, &token, &order, &device).await?;
    crate::telemetry::record_outcome("PIN_SENT");
    Ok(json_response(
        StatusCode::ACCEPTED,
        &SentBody {
            token: sent.token.as_str(),
            channel: sent.channel.as_str(),
            expires_at: sent.expires_at.to_rfc3339(),
            resend_after: sent.resend_after.to_rfc3339(),
        },
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PinBody {
    code_verifier: String,
    pin: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifiedBody<'a> {
    token: &'a str,
    status: &'static str,
    method: &'static str,
}

/// `POST /verifications/{token}/pin`: `200` VALID only when Infobip says the PIN is right.
pub async fn check(
    app: &StartApp,
    params: &Params,
    request: &Request,
) -> Result<Response<Body>, HttpError> {
    let token = Token::parse(params.get("token")?)?;
    let body: PinBody = json_body(request)?;
    let verifier = CodeVerifier::parse(&body.code_verifier)?;
    let pin = Pin::parse(&body.pin)?;
    let verified = service::check_pin(app, &token, &verifier, &pin).await?;
    crate::telemetry::record_outcome("PIN_VERIFIED");
    Ok(json_response(
        StatusCode::OK,
        &VerifiedBody {
            token: verified.token.as_str(),
            status: "VALID",
            method: verified.method.as_str(),
        },
    ))
}
