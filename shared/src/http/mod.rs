//! HTTP: routing, the handlers, and the mapping of [`AppError`] to responses. Handlers are plain
//! async functions over `lambda_http::Request` and their function's context ([`crate::app`]), so
//! the Lambda functions, the local server and the tests run exactly the same code.

mod assertions;
mod callback;
mod camara;
pub mod cors;
mod demo;
pub mod event;
mod fallback;
mod oidc;
mod problem;
mod refused;
mod request;
pub mod routes;
mod verifications;
pub mod web_page;

use std::time::{Duration, Instant};

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use tracing::field::Empty;
use tracing::{info, info_span, Instrument};

use crate::app::Backend;
pub use problem::ErrorStyle;
pub use refused::{HttpError, Refused};
pub use request::{path as request_path, MAX_BODY_BYTES};
pub use routes::{all_routes, Family, Function, RouteInfo, Routes};

/// The problem+json answer for `error`, for a front end that refuses a request before it can
/// become a `Request` (the local server's body limit).
pub fn error_response(error: &HttpError) -> Response<Body> {
    problem::response(error, problem::ErrorStyle::Problem)
}

/// Every request a Lambda function receives goes through here: route within `app`'s table,
/// serve, map errors, and write one log event carrying what the request span gathered (route,
/// token, outcome, Infobip error id). Generic over the context, so each binary links only the
/// handlers of its own table.
pub async fn handle<C: Routes>(app: &C, request: Request) -> Response<Body> {
    let started = Instant::now();
    let span = info_span!(
        "request",
        request_id = %request_id(&request),
        route = Empty,
        token = Empty,
        outcome = Empty,
        infobip_error_id = Empty,
    );
    let response = serve(app, &request).instrument(span.clone()).await;
    span.in_scope(|| {
        info!(
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_millis() as u64,
            "request served"
        )
    });
    response
}

/// Serves `app`'s routes as a Lambda function until the runtime stops.
pub async fn run_lambda<C: Routes + Send>(app: C) -> Result<(), lambda_http::Error> {
    let app = std::sync::Arc::new(app);
    lambda_http::run(lambda_http::service_fn(move |request: Request| {
        let app = std::sync::Arc::clone(&app);
        async move { Ok::<_, lambda_http::Error>(handle(app.as_ref(), request).await) }
    }))
    .await
}

/// [`handle`] by whichever function serves the request's path, as API Gateway would route it:
/// for the local server and the tests, which run all three functions in one process.
pub async fn handle_any(backend: &Backend, request: Request) -> Response<Body> {
    let function = Function::serving(&request::path(&request));
    handle_by(backend, function, request).await
}

/// [`handle`] by `function`'s context, as its Lambda binary would receive the request.
pub async fn handle_by(
    backend: &Backend,
    function: Option<Function>,
    request: Request,
) -> Response<Body> {
    match function {
        Some(Function::Start) => handle(&backend.start, request).await,
        Some(Function::Callback) => handle(&backend.callback, request).await,
        // A path no function serves gets the 404 any of them would give.
        Some(Function::Poll) | None => handle(&backend.poll, request).await,
    }
}

async fn serve<C: Routes>(app: &C, request: &Request) -> Response<Body> {
    let path = request::path(request);
    let found = routes::find::<C>(request.method().as_str(), &path).and_then(|found| {
        // Not served here: as if the route did not exist.
        match app.families().contains(found.0.family) {
            true => Ok(found),
            false => Err(Refused::NotFound),
        }
    });
    let (route, params) = match found {
        Ok(found) => found,
        Err(refused) => return problem::response(&refused.into(), problem::ErrorStyle::Problem),
    };
    tracing::Span::current().record(
        "route",
        tracing::field::display(format_args!("{} {}", route.method, route.pattern)),
    );
    let served = (route.handler)(app, &params, request);
    let result = match time_left(request) {
        Some(left) => tokio::time::timeout(left, served)
            .await
            .unwrap_or(Err(Refused::OutOfTime.into())),
        None => served.await,
    };
    result.unwrap_or_else(|error| problem::response(&error, route.family.error_style()))
}

/// Kept back from Lambda's deadline to answer and log in.
const DEADLINE_MARGIN: Duration = Duration::from_millis(300);

/// How long the handler may run, when Lambda set a deadline for this invocation. Each call below
/// has its own timeout, but a start makes several in a row (DynamoDB, Infobip, DynamoDB): their
/// sum can outlast the function's timeout, and Lambda would then end the invocation with a bare
/// gateway error and no log of ours. Stopping short of the deadline answers 503 with Retry-After
/// instead. Nothing is half-written: each write is one conditional request, applied whole or not
/// at all. A start cut off after Infobip accepted leaves either no record (its callback is kept
/// like an early one) or, if its write landed, a PENDING record whose token no app was given,
/// which expires like any other; an `Idempotency-Key` it claimed stays held until its lease ends.
fn time_left(request: &Request) -> Option<Duration> {
    let deadline = request.lambda_context_ref()?.deadline();
    if deadline == std::time::UNIX_EPOCH {
        return None; // no deadline: the local server and tests
    }
    let left = deadline
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    Some(left.saturating_sub(DEADLINE_MARGIN))
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
