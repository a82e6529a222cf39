//! HTTP: routing, the handlers, and the mapping of [`AppError`] to responses. Handlers are plain
//! async functions over `lambda_http::Request` and [`App`], so the Lambda functions, the local
//! server and the tests run exactly the same code.

mod callback;
mod demo;
mod problem;
mod request;
mod routing;
mod verifications;

use std::time::Instant;

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use tracing::field::Empty;
use tracing::{info, info_span, Instrument};

use crate::app::App;
use crate::error::AppError;
pub use problem::PROBLEM_CONTENT_TYPE;
pub use request::{path as request_path, MAX_BODY_BYTES};
pub use routing::{Function, Route, ROUTES};

/// The problem+json answer for `error`, for a front end that refuses a request before it can
/// become a `Request` (the local server's body limit).
pub fn error_response(error: &AppError) -> Response<Body> {
    problem::response(error, problem::ErrorStyle::Problem)
}

/// Every request of every function goes through here: route, serve, map errors, and write one
/// log event carrying what the request span gathered (route, token, outcome, Infobip error id).
pub async fn handle(app: &App, function: Function, request: Request) -> Response<Body> {
    let started = Instant::now();
    let span = info_span!(
        "request",
        request_id = %request_id(&request),
        route = Empty,
        token = Empty,
        outcome = Empty,
        infobip_error_id = Empty,
    );
    let response = serve(app, function, &request)
        .instrument(span.clone())
        .await;
    span.in_scope(|| {
        info!(
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_millis() as u64,
            "request served"
        )
    });
    response
}

async fn serve(app: &App, function: Function, request: &Request) -> Response<Body> {
    let path = request::path(request);
    let routed = Route::parse(request.method(), &path).and_then(|route| {
        if function.serves(&route) {
            Ok(route)
        } else {
            Err(AppError::RouteNotFound)
        }
    });
    let route = match routed {
        Ok(route) => route,
        Err(error) => return problem::response(&error, problem::ErrorStyle::Problem),
    };
    tracing::Span::current().record("route", route.name());
    let result = match &route {
        Route::StartVerification => verifications::start(app, request).await,
        Route::GetVerification(token) => verifications::get(app, token).await,
        Route::InfobipCallback(secret) => callback::receive(app, secret, request).await,
        Route::DemoStart(msisdn) => demo::start(app, msisdn, request).await,
        Route::DemoResult(token) => demo::result(app, token).await,
        Route::DeviceAddress => demo::device_address(app, request),
    };
    result.unwrap_or_else(|error| problem::response(&error, route.error_style()))
}

/// Lambda's request id when there is one, else API Gateway's.
fn request_id(request: &Request) -> String {
    if let Some(context) = request.lambda_context_ref() {
        return context.request_id.clone();
    }
    let from_gateway = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(c)) => c.request_id.clone(),
        Some(RequestContext::ApiGatewayV2(c)) => c.request_id.clone(),
        _ => None,
    };
    from_gateway.unwrap_or_else(|| "-".to_owned())
}
