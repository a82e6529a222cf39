//! The routes Infobip's demo app calls, in the shapes it reads (see docs: demo app). Same service
//! underneath as the primary API; only the wire format differs.

use super::refused::HttpError;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use percent_encoding::percent_decode_str;
use serde::Serialize;

use super::request::{json_response, public_base_url, refuse_cross_site};
use super::routes::Params;
use crate::app::{PollApp, StartApp};
use crate::device_address;
use crate::error::AppError;
use crate::phone::PhoneNumber;
use crate::service;
use crate::token::Token;
use crate::verification::Status;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StartedBody<'a> {
    token: &'a str,
    device_redirect_url: Option<&'a str>,
    error_description: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultBody<'a> {
    token: &'a str,
    result: &'static str,
    error_description: Option<&'a str>,
}

#[derive(Serialize)]
struct AddressBody {
    address: String,
    port: Option<u16>,
}

/// `GET /verify/{msisdn}`: the demo app puts international digits in the path.
pub async fn start(
    app: &StartApp,
    params: &Params,
    request: &Request,
) -> Result<Response<Body>, HttpError> {
    // A GET that starts a billed verification: an `<img>` on any page could send one.
    refuse_cross_site(request, &app.config.allowed_origins)?;
    let msisdn = percent_decode_str(params.get("msisdn")?)
        .decode_utf8()
        .map_err(|_| {
            AppError::InvalidRequest("the phone number in the path is not valid UTF-8".into())
        })?;
    let phone = PhoneNumber::parse(&msisdn)?;
    let sim = service::SimNumber::check(app, &phone)?;
    let device = device_address::resolve(request, &app.config.address_policy)?;
    let callback_base = public_base_url(app.config.callback_base_url.as_ref(), request)?;
    // The demo app knows no PKCE: its verifications never yield assertions.
    let phone_hash = app
        .keys
        .phone_hash
        .current(app.clock.now())
        .await
        .map_err(AppError::from)?
        .current
        .hash(&phone);
    let started = service::start(
        app,
        sim,
        &phone_hash,
        device,
        &callback_base,
        None,
        service::MethodAsked::Smv,
    )
    .await?;
    crate::telemetry::record_outcome(started.status.as_str());
    Ok(json_response(
        StatusCode::OK,
        &StartedBody {
            token: started.token.as_str(),
            device_redirect_url: started.device_redirect_url.as_ref().map(|u| u.as_str()),
            error_description: None,
        },
    ))
}

/// `GET /verify/result/{token}`: 204 while pending, 200 with the result once there is one.
pub async fn result(app: &PollApp, params: &Params) -> Result<Response<Body>, HttpError> {
    let token = Token::parse(params.get("token")?)?;
    let report = service::report(app, &token).await?;
    crate::telemetry::record_outcome(report.status.as_str());
    let error_description = report.error.as_ref().map(|e| {
        if e.description.is_empty() {
            e.name.as_str()
        } else {
            e.description.as_str()
        }
    });
    let (result, error_description) = match report.status {
        Status::Pending => {
            // Like every answer about a verification: no cache on the way may keep it.
            let mut response = Response::new(Body::Empty);
            *response.status_mut() = StatusCode::NO_CONTENT;
            response.headers_mut().insert(
                lambda_http::http::header::CACHE_CONTROL,
                lambda_http::http::HeaderValue::from_static("no-store"),
            );
            return Ok(response);
        }
        Status::Valid => ("VALID", None),
        Status::Invalid => (
            "INVALID",
            Some("The phone number could not be verified for this device."),
        ),
        Status::Error => (
            "ERROR",
            error_description.or(Some("The verification failed.")),
        ),
        // The demo app knows no EXPIRED; ERROR makes it stop waiting.
        Status::Expired => (
            "ERROR",
            Some("The verification expired before a result arrived."),
        ),
    };
    Ok(json_response(
        StatusCode::OK,
        &ResultBody {
            token: report.token.as_str(),
            result,
            error_description,
        },
    ))
}

/// `GET /device-address`: what we would send Infobip as `deviceIp` / `devicePort`.
pub fn device_address(app: &StartApp, request: &Request) -> Result<Response<Body>, HttpError> {
    let device = device_address::resolve(request, &app.config.address_policy)?;
    Ok(json_response(
        StatusCode::OK,
        &AddressBody {
            address: device.ip.to_string(),
            port: device.port,
        },
    ))
}
