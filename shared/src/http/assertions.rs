//! The trusted result: `GET /return/{secret}` (the device back from the carrier step is shown its
//! code), `POST /verifications/{token}/assertion` (the starter redeems), and
//! `GET /.well-known/jwks.json` (the keys a relying party checks assertions with).

use super::refused::{HttpError, Refused};
use lambda_http::http::header::CACHE_CONTROL;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::request::{json_body, json_response, public_base_url, wants_html, wants_json};
use super::routes::Params;
use super::web_page::{self, Mode};
use crate::app::PollApp;
use crate::binding::CodeVerifier;
use crate::device_return::ReturnSecret;
use crate::error::AppError;
use crate::phone::PhoneNumber;
use crate::service::{self, Redeem};
use crate::token::{Token, UrlSecret};

/// How long relying parties may cache the key set: a rotation publishes the next key for longer.
const JWKS_MAX_AGE_SECONDS: u64 = 300;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeviceCodeBody<'a> {
    device_code: &'a str,
}

/// `GET /return/{secret}`: JSON for an app's web view that asks for it; otherwise the
/// verification page, which shows the code and, in the tab that started the verification,
/// carries on by itself.
pub async fn device_return(
    app: &PollApp,
    params: &Params,
    request: &Request,
) -> Result<Response<Body>, HttpError> {
    let secret = UrlSecret::parse(params.get("secret")?)?;
    // A return URL we never issued is answered like any unknown path, without a storage call.
    let issued = app
        .keys
        .returns
        .accepts(app.clock.now(), |key| {
            ReturnSecret::issued_under(&secret, key)
        })
        .await
        .map_err(AppError::from)?;
    if !issued {
        return Err(Refused::NotFound.into());
    }
    let secret = ReturnSecret::trusted(secret);
    let shown = service::device_return(app, secret).await;
    if wants_json(request) {
        let code = shown?;
        return Ok(json_response(
            StatusCode::OK,
            &DeviceCodeBody {
                device_code: code.as_str(),
            },
        ));
    }
    match shown {
        Ok(code) => Ok(web_page::render(Mode::Returned(&code), StatusCode::OK)),
        // A reload of the page: the tab that started still knows its verification.
        Err(AppError::DeviceCodeAlreadyShown) if wants_html(request) => {
            Ok(web_page::render(Mode::Gone, StatusCode::GONE))
        }
        Err(error) => Err(error.into()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RedeemBody {
    code_verifier: String,
    device_code: Option<String>,
    phone_number: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AssertionBody<'a> {
    assertion: &'a str,
    expires_at: String,
}

/// `POST /verifications/{token}/assertion`.
pub async fn redeem(
    app: &PollApp,
    params: &Params,
    request: &Request,
) -> Result<Response<Body>, HttpError> {
    let token = Token::parse(params.get("token")?)?;
    let body: RedeemBody = json_body(request)?;
    let redeem = Redeem {
        verifier: CodeVerifier::parse(&body.code_verifier)?,
        device_code: body.device_code,
        phone: PhoneNumber::parse(&body.phone_number)?,
    };
    let issuer = match &app.config.assertions.policy.issuer {
        Some(issuer) => issuer.clone(),
        None => public_base_url(None, request)?
            .as_str()
            .trim_end_matches('/')
            .to_owned(),
    };
    let assertion = service::redeem(app, &token, &redeem, &issuer).await?;
    crate::telemetry::record_outcome("ASSERTION_ISSUED");
    Ok(json_response(
        StatusCode::OK,
        &AssertionBody {
            assertion: &assertion.jws,
            expires_at: assertion.expires_at.to_rfc3339(),
        },
    ))
}

/// `GET /.well-known/jwks.json`.
pub async fn jwks(app: &PollApp) -> Result<Response<Body>, HttpError> {
    let keys = app.signer.keys().await?;
    let body = json!({"keys": keys.iter().map(|k| k.to_json()).collect::<Vec<_>>()});
    let mut response = json_response(StatusCode::OK, &body);
    response.headers_mut().insert(
        CACHE_CONTROL,
        format!("public, max-age={JWKS_MAX_AGE_SECONDS}")
            .parse()
            .expect("a valid header value"),
    );
    Ok(response)
}
