//! `POST /callbacks/infobip/{secret}`: Infobip reports a result. The secret in the path is the
//! only thing that makes a callback genuine (Infobip signs nothing).

use super::refused::HttpError;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use super::request::{json_body_of_any_type, json_response};
use super::routes::Params;
use crate::app::CallbackApp;
use crate::error::AppError;
use crate::infobip::{self, types::CallbackBody};
use crate::metrics::{Metric, RefusalReason};
use crate::service::{self, CallbackOutcome};
use crate::token::{Token, UrlSecret};
use crate::verification::VerificationResult;

#[derive(Serialize)]
struct Acknowledgement {
    outcome: &'static str,
}

pub async fn receive(
    app: &CallbackApp,
    params: &Params,
    request: &Request,
) -> Result<Response<Body>, HttpError> {
    let secret = UrlSecret::parse(params.get("secret")?)?;
    let (token, result) = parse(request).inspect_err(|_| {
        app.metrics
            .emit(&Metric::CallbackRefused(RefusalReason::Malformed));
    })?;

    let outcome = service::receive_callback(app, &secret, token, result).await?;
    // Infobip needs a 200 to stop; a repeat of a result we already have is not its problem.
    let outcome = match outcome {
        CallbackOutcome::Recorded => "RECORDED",
        CallbackOutcome::Ignored => "ALREADY_FINAL",
        CallbackOutcome::Parked => "ACCEPTED",
    };
    crate::telemetry::record_outcome(outcome);
    Ok(json_response(StatusCode::OK, &Acknowledgement { outcome }))
}

fn parse(request: &Request) -> Result<(Token, VerificationResult), HttpError> {
    let body: CallbackBody = json_body_of_any_type(request)?;
    infobip::parse_callback(body).map_err(|problem| AppError::InvalidRequest(problem.into()).into())
}
