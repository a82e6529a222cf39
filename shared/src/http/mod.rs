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

use lambda_http::{Body, Request, RequestExt, Response};
use tracing::info;

use crate::app::App;
use crate::error::AppError;
pub use problem::PROBLEM_CONTENT_TYPE;
pub use request::MAX_BODY_BYTES;
pub use routing::{Function, Route, ROUTES};

/// The problem+json answer for `error`, for a front end that refuses a request before it can
/// become a `Request` (the local server's body limit).
pub fn error_response(error: &AppError) -> Response<Body> {
    problem::response(error, problem::ErrorStyle::Problem)
}

/// Every request of every function goes through here: route, serve, map errors, log one line.
pub async fn handle(app: &App, function: Function, request: Request) -> Response<Body> {
    let started = Instant::now();
    let path = request::path(&request);
    let routed = Route::parse(request.method(), &path).and_then(|route| {
        if function.serves(&route) {
            Ok(route)
        } else {
            Err(AppError::RouteNotFound)
        }
    });
    let (route_name, response) = match routed {
        Ok(route) => {
            let style = route.error_style();
            let result = match &route {
                Route::StartVerification => verifications::start(app, &request).await,
                Route::GetVerification(token) => verifications::get(app, token).await,
                Route::InfobipCallback(secret) => callback::receive(app, secret, &request).await,
                Route::DemoStart(msisdn) => demo::start(app, msisdn, &request).await,
                Route::DemoResult(token) => demo::result(app, token).await,
                Route::DeviceAddress => demo::device_address(app, &request),
            };
            let response = result.unwrap_or_else(|error| problem::response(&error, style));
            (route.name(), response)
        }
        Err(error) => (
            "unrouted",
            problem::response(&error, problem::ErrorStyle::Problem),
        ),
    };
    info!(
        request_id = request
            .lambda_context_ref()
            .map(|c| c.request_id.as_str())
            .unwrap_or("-"),
        route = route_name,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_millis() as u64,
        "request served"
    );
    response
}
