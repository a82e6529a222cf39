//! The one place where an [`AppError`] becomes an HTTP response: RFC 9457 problem details, with
//! the cause logged and a safe message returned.

use std::time::Duration;

use lambda_http::http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::{json, Map, Value};
use tracing::{error, warn};

use crate::device_address::AddressError;
use crate::error::{AppError, DEFAULT_RETRY_AFTER};

const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStyle {
    /// Plain RFC 9457.
    Problem,
    /// RFC 9457 plus the `errorDescription` (and `token`) that Infobip's demo app displays.
    DemoApp,
}

struct Problem {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: String,
    retry_after: Option<Duration>,
    extensions: Map<String, Value>,
}

fn problem(
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: impl Into<String>,
) -> Problem {
    Problem {
        status,
        slug,
        title,
        detail: detail.into(),
        retry_after: None,
        extensions: Map::new(),
    }
}

fn describe(error: &AppError) -> Problem {
    use AppError::*;
    match error {
        RouteNotFound => problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not Found",
            "There is no such route.",
        ),
        MethodNotAllowed { allow } => problem(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method Not Allowed",
            format!("This route accepts {allow} only."),
        ),
        BadRequest(detail) => problem(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            "Invalid request",
            detail,
        ),
        PayloadTooLarge { limit } => problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload Too Large",
            format!("The request body must not exceed {limit} bytes."),
        ),
        UriTooLong { limit } => problem(
            StatusCode::URI_TOO_LONG,
            "uri-too-long",
            "URI Too Long",
            format!("The path and query must not exceed {limit} bytes."),
        ),
        UnsupportedMediaType => problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported Media Type",
            "Send the body as application/json.",
        ),
        InvalidPhoneNumber(e) => problem(
            StatusCode::BAD_REQUEST,
            "invalid-phone-number",
            "Invalid phone number",
            e.to_string(),
        ),
        InvalidToken(e) => problem(
            StatusCode::BAD_REQUEST,
            "invalid-token",
            "Invalid token",
            e.to_string(),
        ),
        // A malformed callback secret is answered like an unknown route: its shape is nobody's business.
        InvalidUrlSecret(_) => problem(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not Found",
            "There is no such route.",
        ),
        DeviceAddress(AddressError::NotFromCloudFront) => problem(
            StatusCode::FORBIDDEN,
            "untrusted-origin",
            "Forbidden",
            AddressError::NotFromCloudFront.to_string(),
        ),
        DeviceAddress(e) => problem(
            StatusCode::BAD_REQUEST,
            "device-address-unknown",
            "Device address unknown",
            e.to_string(),
        ),
        InvalidIdempotencyKey(e) => problem(
            StatusCode::BAD_REQUEST,
            "invalid-idempotency-key",
            "Invalid Idempotency-Key",
            e.to_string(),
        ),
        IdempotencyKeyReused => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency-key-reused",
            "Idempotency-Key reused",
            "This Idempotency-Key was already used for a different request; use a new key for a new request.",
        ),
        IdempotencyKeyInProgress => Problem {
            retry_after: Some(Duration::from_secs(1)),
            ..problem(
                StatusCode::CONFLICT,
                "idempotency-key-in-progress",
                "Request in progress",
                "A request with this Idempotency-Key is still being processed; retry shortly for its answer.",
            )
        },
        RateLimited { scope, retry_after } => Problem {
            retry_after: Some(*retry_after),
            ..problem(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-verifications",
                "Too many verifications",
                format!("Too many verifications were started for {scope}; try again later."),
            )
        },
        CrossSiteStart => problem(
            StatusCode::FORBIDDEN,
            "cross-site-start",
            "Cross-site start refused",
            "Verifications cannot be started from a page of another site.",
        ),
        VerificationNotFound => problem(
            StatusCode::NOT_FOUND,
            "verification-not-found",
            "Verification not found",
            "No verification with this token exists, or it has expired.",
        ),
        InvalidBinding(e) => describe(&BadRequest(e.to_string())),
        NotRedeemable(status) => problem(
            StatusCode::CONFLICT,
            "verification-not-valid",
            "Verification not valid",
            format!(
                "Only a VALID verification can be redeemed; this one is {}.",
                status.as_str()
            ),
        ),
        RedeemRefused => problem(
            StatusCode::FORBIDDEN,
            "assertion-refused",
            "Assertion refused",
            "The code verifier, device code or phone number does not match this verification.",
        ),
        AssertionAlreadyIssued => problem(
            StatusCode::GONE,
            "assertion-already-issued",
            "Assertion already issued",
            "An assertion was already issued for this verification; start a new one.",
        ),
        RedeemLocked => problem(
            StatusCode::GONE,
            "assertion-locked",
            "Assertion no longer available",
            "Too many wrong attempts: this verification can no longer be redeemed; start a new one.",
        ),
        DeviceCodeAlreadyShown => problem(
            StatusCode::GONE,
            "device-code-already-shown",
            "Code already shown",
            "This link has already shown its code. Return to the app; if the code was lost, start again.",
        ),
        ForgedCallback => problem(
            StatusCode::FORBIDDEN,
            "callback-rejected",
            "Callback rejected",
            "This callback URL does not belong to the verification named in the body.",
        ),
        InfobipRefused {
            upstream_status,
            token,
            error,
        } => {
            let (status, title) = if *upstream_status >= 500 {
                (StatusCode::BAD_GATEWAY, "Verification failed at Infobip")
            } else {
                (StatusCode::UNPROCESSABLE_ENTITY, "Verification refused")
            };
            let detail = if error.description.is_empty() {
                error.name.clone()
            } else {
                error.description.clone()
            };
            let mut p = problem(status, "verification-refused", title, detail);
            if let Some(token) = token {
                p.extensions.insert("token".into(), json!(token.as_str()));
            }
            p.extensions.insert(
                "error".into(),
                json!({"id": error.id, "name": error.name, "description": error.description}),
            );
            p
        }
        InfobipMisconfigured(_) => problem(
            StatusCode::BAD_GATEWAY,
            "verification-unavailable",
            "Verification unavailable",
            "The verification service is not available at the moment.",
        ),
        InfobipUnavailable { retry_after, .. } => Problem {
            retry_after: Some(*retry_after),
            ..problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "verification-temporarily-unavailable",
                "Verification temporarily unavailable",
                "The verification service is temporarily unavailable; try again shortly.",
            )
        },
        InfobipTimeout(_) => Problem {
            retry_after: Some(DEFAULT_RETRY_AFTER),
            ..problem(
                StatusCode::GATEWAY_TIMEOUT,
                "verification-timeout",
                "Verification timed out",
                "The verification service did not answer in time; try again shortly.",
            )
        },
        StorageUnavailable(_) | Signing(crate::assertion::SignError::Unavailable(_)) => Problem {
            retry_after: Some(DEFAULT_RETRY_AFTER),
            ..problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily-unavailable",
                "Temporarily unavailable",
                "The service is temporarily unavailable; try again shortly.",
            )
        },
        OutOfTime => Problem {
            retry_after: Some(DEFAULT_RETRY_AFTER),
            ..problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily-unavailable",
                "Temporarily unavailable",
                "The request did not finish in time; try again shortly.",
            )
        },
        NotTheStarter => problem(
            StatusCode::FORBIDDEN,
            "fallback-refused",
            "Fallback refused",
            "The code verifier or phone number does not match this verification.",
        ),
        InvalidPin(e) => problem(
            StatusCode::BAD_REQUEST,
            "invalid-pin",
            "Invalid PIN",
            e.to_string(),
        ),
        CountryNotAllowed => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "fallback-country-not-allowed",
            "Fallback not offered",
            "A PIN cannot be sent to numbers of this country.",
        ),
        FallbackNotAllowed(reason) => {
            let detail = match reason {
                crate::fallback::Refusal::Pending => {
                    "Silent verification may still answer: poll, and fall back once it allows."
                }
                crate::fallback::Refusal::Invalid => {
                    "The number does not belong to this device's SIM; no PIN is sent after INVALID."
                }
                _ => "This verification has ended; start a new one.",
            };
            let mut p = problem(
                StatusCode::CONFLICT,
                "fallback-not-allowed",
                "Fallback not allowed",
                detail,
            );
            p.extensions.insert("reason".into(), json!(reason.as_str()));
            p
        }
        SimSwapDetected => problem(
            StatusCode::FORBIDDEN,
            "sim-swap-detected",
            "SIM recently changed",
            "This number's SIM changed recently, so no code is sent to it. Verify another way.",
        ),
        SimSwapUnknown => problem(
            StatusCode::FORBIDDEN,
            "sim-swap-unknown",
            "SIM change unknown",
            "Whether this number's SIM changed recently cannot be checked, so no code is sent to it.",
        ),
        PinResendTooSoon { retry_after } => Problem {
            retry_after: Some(*retry_after),
            ..problem(
                StatusCode::TOO_MANY_REQUESTS,
                "pin-resend-too-soon",
                "Too soon to resend",
                "A code was sent moments ago; wait before asking for another.",
            )
        },
        PinSendLimit => problem(
            StatusCode::TOO_MANY_REQUESTS,
            "pin-send-limit",
            "No more codes",
            "No more codes can be sent for this verification; start a new one later.",
        ),
        FallbackBusy => Problem {
            retry_after: Some(Duration::from_secs(1)),
            ..problem(
                StatusCode::CONFLICT,
                "fallback-busy",
                "Request in progress",
                "Another request for this verification is being processed; retry shortly.",
            )
        },
        NoPinSent => problem(
            StatusCode::CONFLICT,
            "no-pin-sent",
            "No code sent",
            "No code was sent for this verification; ask for one first.",
        ),
        WrongPin { attempts_remaining } => {
            let mut p = problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                "wrong-pin",
                "Wrong code",
                "The code is not the one sent.",
            );
            p.extensions
                .insert("attemptsRemaining".into(), json!(attempts_remaining));
            p
        }
        PinDead => problem(
            StatusCode::GONE,
            "pin-expired",
            "Code no longer valid",
            "This code can no longer be used (no attempts left, expired, or the verification ended).",
        ),
        PinNotSent => problem(
            StatusCode::BAD_GATEWAY,
            "pin-not-sent",
            "Code not sent",
            "The code could not be sent to this number; try the other channel or later.",
        ),
        Internal(_) | StorageFailed(_) | Randomness(_) | Signing(_) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            "Internal error",
            "Something went wrong on our side.",
        ),
    }
}

fn log(error: &AppError) {
    let cause = crate::error::chain(error);
    match error {
        AppError::InfobipMisconfigured(_) => error!(
            cause,
            "Infobip rejected our credentials: check INFOBIP_API_KEY and that the key has the mobile-identity:manage scope"
        ),
        AppError::Signing(crate::assertion::SignError::Unavailable(_)) => {
            warn!(cause, "temporary failure")
        }
        AppError::Internal(_)
        | AppError::StorageFailed(_)
        | AppError::Randomness(_)
        | AppError::Signing(_) => {
            error!(cause, "internal error")
        }
        AppError::InfobipUnavailable { .. }
        | AppError::InfobipTimeout(_)
        | AppError::StorageUnavailable(_)
        | AppError::OutOfTime => {
            warn!(cause, "temporary failure")
        }
        AppError::ForgedCallback => {
            warn!("callback refused: its secret does not match the verification")
        }
        _ => {}
    }
}

/// The answer to `error`, logged and recorded on the request span. Call it once per request.
pub fn response(error: &AppError, style: ErrorStyle) -> Response<Body> {
    log(error);
    let (response, slug) = build(error, style);
    crate::telemetry::record_outcome(slug);
    response
}

/// The answer to `error`, with no side effect: for keeping a copy (Idempotency-Key replays).
pub fn render(error: &AppError, style: ErrorStyle) -> Response<Body> {
    build(error, style).0
}

fn build(error: &AppError, style: ErrorStyle) -> (Response<Body>, &'static str) {
    let p = describe(error);
    let mut body = Map::new();
    body.insert("type".into(), json!(format!("urn:smv:problem:{}", p.slug)));
    body.insert("title".into(), json!(p.title));
    body.insert("status".into(), json!(p.status.as_u16()));
    body.insert("detail".into(), json!(p.detail));
    if style == ErrorStyle::DemoApp {
        body.insert("errorDescription".into(), json!(p.detail));
    }
    body.extend(p.extensions);

    let mut builder = Response::builder()
        .status(p.status)
        .header(CONTENT_TYPE, PROBLEM_CONTENT_TYPE)
        .header(CACHE_CONTROL, "no-store");
    if let Some(retry_after) = p.retry_after {
        builder = builder.header(RETRY_AFTER, retry_after.as_secs().max(1));
    }
    if let AppError::MethodNotAllowed { allow } = error {
        builder = builder.header(ALLOW, *allow);
    }
    let response = builder
        .body(Body::Text(Value::Object(body).to_string()))
        .unwrap_or_else(|_| Response::new(Body::Empty));
    (response, p.slug)
}
