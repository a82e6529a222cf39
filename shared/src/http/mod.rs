//! HTTP: routing, the handlers, and the mapping of [`AppError`] to responses. Handlers are plain
//! async functions over `lambda_http::Request` and [`App`], so the Lambda functions, the local
//! server and the tests run exactly the same code.

mod callback;
mod demo;
mod problem;
mod request;
mod routing;
mod verifications;

use std::time::{Duration, Instant};

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

/// Every request goes through here: route, serve, map errors, and write one log event carrying
/// what the request span gathered (route, token, outcome, Infobip error id). `function` picks the
/// routes served; a Lambda binary calls [`handle_as`] instead, so that it links only its own.
pub async fn handle(app: &App, function: Function, request: Request) -> Response<Body> {
    match function {
        Function::StartVerify => handle_as::<StartVerifyRoutes>(app, request).await,
        Function::Callback => handle_as::<CallbackRoutes>(app, request).await,
        Function::Poll => handle_as::<PollRoutes>(app, request).await,
        Function::All => handle_as::<AllRoutes>(app, request).await,
    }
}

/// The routes of one function. Chosen at compile time: a callback binary that could reach the
/// start handler at run time would carry the Infobip client and the numbering plan for nothing.
pub trait Routes {
    const FUNCTION: Function;

    fn serve<'a>(
        app: &'a App,
        route: &'a Route,
        request: &'a Request,
    ) -> impl std::future::Future<Output = Result<Response<Body>, AppError>> + Send + 'a;
}

pub struct StartVerifyRoutes;
pub struct CallbackRoutes;
pub struct PollRoutes;
/// Everything, as the local server serves it.
pub struct AllRoutes;

impl Routes for StartVerifyRoutes {
    const FUNCTION: Function = Function::StartVerify;

    async fn serve(
        app: &App,
        route: &Route,
        request: &Request,
    ) -> Result<Response<Body>, AppError> {
        match route {
            Route::StartVerification => verifications::start(app, request).await,
            Route::DemoStart(msisdn) => demo::start(app, msisdn, request).await,
            Route::DeviceAddress => demo::device_address(app, request),
            _ => Err(AppError::RouteNotFound),
        }
    }
}

impl Routes for CallbackRoutes {
    const FUNCTION: Function = Function::Callback;

    async fn serve(
        app: &App,
        route: &Route,
        request: &Request,
    ) -> Result<Response<Body>, AppError> {
        match route {
            Route::InfobipCallback(secret) => callback::receive(app, secret, request).await,
            _ => Err(AppError::RouteNotFound),
        }
    }
}

impl Routes for PollRoutes {
    const FUNCTION: Function = Function::Poll;

    async fn serve(app: &App, route: &Route, _: &Request) -> Result<Response<Body>, AppError> {
        match route {
            Route::GetVerification(token) => verifications::get(app, token).await,
            Route::DemoResult(token) => demo::result(app, token).await,
            _ => Err(AppError::RouteNotFound),
        }
    }
}

impl Routes for AllRoutes {
    const FUNCTION: Function = Function::All;

    async fn serve(
        app: &App,
        route: &Route,
        request: &Request,
    ) -> Result<Response<Body>, AppError> {
        match route.owner() {
            Function::StartVerify => StartVerifyRoutes::serve(app, route, request).await,
            Function::Callback => CallbackRoutes::serve(app, route, request).await,
            Function::Poll | Function::All => PollRoutes::serve(app, route, request).await,
        }
    }
}

/// [`handle`] for the routes of `R` only.
pub async fn handle_as<R: Routes>(app: &App, request: Request) -> Response<Body> {
    let started = Instant::now();
    let span = info_span!(
        "request",
        request_id = %request_id(&request),
        route = Empty,
        token = Empty,
        outcome = Empty,
        infobip_error_id = Empty,
    );
    let response = serve::<R>(app, &request).instrument(span.clone()).await;
    span.in_scope(|| {
        info!(
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_millis() as u64,
            "request served"
        )
    });
    response
}

async fn serve<R: Routes>(app: &App, request: &Request) -> Response<Body> {
    let path = request::path(request);
    let routed = Route::parse(request.method(), &path).and_then(|route| {
        if R::FUNCTION.serves(&route) {
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
    let served = R::serve(app, &route, request);
    let result = match time_left(request) {
        Some(left) => tokio::time::timeout(left, served)
            .await
            .unwrap_or(Err(AppError::OutOfTime)),
        None => served.await,
    };
    result.unwrap_or_else(|error| problem::response(&error, route.error_style()))
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
