//! The primary API: `POST /verifications` and `GET /verifications/{token}`.

use std::time::Duration;

use lambda_http::http::header::{LOCATION, RETRY_AFTER};
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

use super::request::{callback_base_url, json_body, json_response};
use crate::app::App;
use crate::device_address;
use crate::error::AppError;
use crate::phone::PhoneNumber;
use crate::service;
use crate::token::Token;
use crate::verification::{ErrorInfo, Status};

/// How often an app should poll while a verification is PENDING (the demo app waits 2 s).
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Unknown fields are ignored, so that apps can send more (a locale, a client version) without
/// breaking; the one field we read is checked strictly.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartBody {
    phone_number: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StartedBody<'a> {
    token: &'a str,
    status: &'static str,
    device_redirect_url: Option<&'a str>,
    expires_at: String,
}

#[derive(Serialize)]
pub(super) struct ErrorBody<'a> {
    id: i32,
    name: &'a str,
    description: &'a str,
}

impl<'a> From<&'a ErrorInfo> for ErrorBody<'a> {
    fn from(error: &'a ErrorInfo) -> Self {
        Self {
            id: error.id,
            name: &error.name,
            description: &error.description,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportBody<'a> {
    token: &'a str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorBody<'a>>,
    expires_at: String,
}

pub async fn start(app: &App, request: &Request) -> Result<Response<Body>, AppError> {
    let body: StartBody = json_body(request)?;
    let phone = PhoneNumber::parse(&body.phone_number)?;
    let device = device_address::resolve(request, &app.address_policy)?;
    let callback_base = callback_base_url(app, request)?;
    let started = service::start(app, &phone, device, &callback_base).await?;
    crate::telemetry::record_outcome(started.status.as_str());

    let mut response = json_response(
        StatusCode::CREATED,
        &StartedBody {
            token: started.token.as_str(),
            status: started.status.as_str(),
            device_redirect_url: started.device_redirect_url.as_ref().map(|u| u.as_str()),
            expires_at: started.pending_until.to_rfc3339(),
        },
    );
    let location = format!("/verifications/{}", started.token);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(LOCATION, location);
    }
    Ok(response)
}

pub async fn get(app: &App, token: &str) -> Result<Response<Body>, AppError> {
    let token = Token::parse(token)?;
    let report = service::report(app, &token).await?;
    crate::telemetry::record_outcome(report.status.as_str());
    let mut response = json_response(
        StatusCode::OK,
        &ReportBody {
            token: report.token.as_str(),
            status: report.status.as_str(),
            error: report.error.as_ref().map(ErrorBody::from),
            expires_at: report.pending_until.to_rfc3339(),
        },
    );
    if report.status == Status::Pending {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(POLL_INTERVAL.as_secs()));
    }
    Ok(response)
}
