//! The one place where an error ([`HttpError`]: the front end's or the service's) becomes an HTTP response: RFC 9457 problem details, with
//! the cause logged and a safe message returned.

use std::time::Duration;

use lambda_http::http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use serde_json::{json, Map, Value};
use tracing::{error, warn};

use super::refused::{HttpError, Refused};
use crate::error::{AppError, DEFAULT_RETRY_AFTER};

const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStyle {
    /// Plain RFC 9457.
    Problem,
    /// RFC 9457 plus the `errorDescription` (and `token`) that Infobip's demo app displays.
    DemoApp,
    /// OAuth 2.0's JSON (RFC 6749 §5.2): what the OpenID Provider's token and UserInfo
    /// endpoints answer, which relying-party libraries read.
    OAuth,
}

/// An OAuth error answer (RFC 6749 §5.2, RFC 6750 §3): `{"error", "error_description"}`, never
/// cached.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response<Body> {
    crate::telemetry::record_outcome(error);
    Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .header(CACHE_CONTROL, "no-store")
        .header("pragma", "no-cache")
        .body(Body::Text(
            json!({"error": error, "error_description": description}).to_string(),
        ))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

struct Problem {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: String,
    retry_after: Option<Duration>,
    extensions: Map<String, Value>,
}

/// What an error is logged as: nothing (the client's mistake, told to the client), or a warning or
/// an error with the message an operator reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Log {
    Quiet,
    Warn(&'static str),
    Error(&'static str),
}

use Log::{Error as LogError, Quiet, Warn};

const TEMPORARY: Log = Warn("temporary failure");
const NOT_FOUND: &str = "There is no such route.";

/// Every error, side by side: its status, problem slug, title and log level, then what the client
/// is told. The slug is the variant's name.
fn describe(error: &HttpError) -> (Problem, Log) {
    use AppError::*;
    let (status, slug, title, log, detail): (u16, _, _, _, String) = match error {
        HttpError::Refused(refused) => match refused {
            Refused::NotFound => (404, "not-found", "Not Found", Quiet, NOT_FOUND.into()),
            Refused::MethodNotAllowed { allow } => (405, "method-not-allowed", "Method Not Allowed", Quiet, format!("This route accepts {allow} only.")),
            Refused::PayloadTooLarge { limit } => (413, "payload-too-large", "Payload Too Large", Quiet, format!("The request body must not exceed {limit} bytes.")),
            Refused::UriTooLong { limit } => (414, "uri-too-long", "URI Too Long", Quiet, format!("The path and query must not exceed {limit} bytes.")),
            Refused::UnsupportedMediaType => (415, "unsupported-media-type", "Unsupported Media Type", Quiet, "Send the body as application/json.".into()),
            Refused::OutOfTime => (503, "temporarily-unavailable", "Temporarily unavailable", TEMPORARY, "The request did not finish in time; try again shortly.".into()),
        },
        HttpError::App(error) => match error {
            InvalidRequest(detail) => (400, "invalid-request", "Invalid request", Quiet, detail.clone()),
            InvalidPhoneNumber(e) => (400, "invalid-phone-number", "Invalid phone number", Quiet, e.to_string()),
            InvalidToken(e) => (400, "invalid-token", "Invalid token", Quiet, e.to_string()),
            NotAMobileNumber(kind) => (422, "not-a-mobile-number", "Not a mobile number", Quiet, format!("Only a mobile number can be verified; this one is {} by its numbering plan.", kind.as_str())),
            UntrustedOrigin(e) => (403, "untrusted-origin", "Forbidden", Quiet, e.to_string()),
            DeviceAddressUnknown(e) => (400, "device-address-unknown", "Device address unknown", Quiet, e.to_string()),
            InvalidIdempotencyKey(e) => (400, "invalid-idempotency-key", "Invalid Idempotency-Key", Quiet, e.to_string()),
            IdempotencyKeyReused => (422, "idempotency-key-reused", "Idempotency-Key reused", Quiet, "This Idempotency-Key was already used for a different request; use a new key for a new request.".into()),
            IdempotencyKeyInProgress => (409, "idempotency-key-in-progress", "Request in progress", Quiet, "A request with this Idempotency-Key is still being processed; retry shortly for its answer.".into()),
            TooManyVerifications { scope, .. } => (429, "too-many-verifications", "Too many verifications", Quiet, format!("Too many verifications were started for {scope}; try again later.")),
            CrossSiteStart => (403, "cross-site-start", "Cross-site start refused", Quiet, "Verifications cannot be started from a page of another site.".into()),
            VerificationNotFound => (404, "verification-not-found", "Verification not found", Quiet, "No verification with this token exists, or it has expired.".into()),
            VerificationNotValid(status) => (409, "verification-not-valid", "Verification not valid", Quiet, format!("Only a VALID verification can be redeemed; this one is {}.", status.as_str())),
            AssertionRefused => (403, "assertion-refused", "Assertion refused", Quiet, "The code verifier, device code or phone number does not match this verification.".into()),
            AssertionAlreadyIssued => (410, "assertion-already-issued", "Assertion already issued", Quiet, "An assertion was already issued for this verification; start a new one.".into()),
            AssertionTooLate => (410, "assertion-too-late", "Result too old", Quiet, "This result is too old to be turned into an assertion; start a new verification.".into()),
            AssertionLocked => (410, "assertion-locked", "Assertion no longer available", Quiet, "Too many wrong attempts: this verification can no longer be redeemed; start a new one.".into()),
            DeviceCodeAlreadyShown => (410, "device-code-already-shown", "Code already shown", Quiet, "This link has already shown its code. Return to the app; if the code was lost, start again.".into()),
            MethodNotOffered => (422, "method-not-offered", "Method not offered", Quiet, "SIM-based verification is not offered for this number's country; start without \"method\" to use the country's method.".into()),
            InvalidCarrierIds(e) => (400, "invalid-carrier-ids", "Invalid carrier ids", Quiet, e.to_string()),
            CredentialRefused => (403, "credential-refused", "Credential refused", Quiet, "The code verifier or the credential does not match this verification.".into()),
            CredentialAlreadySubmitted => (410, "credential-already-submitted", "Credential already submitted", Quiet, "A credential was already submitted for this verification, or it has ended; start a new one.".into()),
            PinNotAllowed => (403, "pin-not-allowed", "PIN not accepted here", Quiet, "This sign-in accepts only a check by your operator or your SIM, not a code.".into()),
            CallbackRejected => (403, "callback-rejected", "Callback rejected", Warn("callback refused: its secret does not match the verification"), "This callback URL does not belong to the verification named in the body.".into()),
            VerificationRefused { upstream_status, error, .. } if *upstream_status >= 500 => (502, "verification-refused", "Verification failed at Infobip", Quiet, error.describe()),
            VerificationRefused { error, .. } => (422, "verification-refused", "Verification refused", Quiet, error.describe()),
            VerificationUnavailable(_) => (502, "verification-unavailable", "Verification unavailable", LogError("Infobip rejected our credentials: check INFOBIP_API_KEY and that the key has the mobile-identity:manage scope"), "The verification service is not available at the moment.".into()),
            VerificationTemporarilyUnavailable { .. } => (503, "verification-temporarily-unavailable", "Verification temporarily unavailable", TEMPORARY, "The verification service is temporarily unavailable; try again shortly.".into()),
            VerificationTimeout(_) => (504, "verification-timeout", "Verification timed out", TEMPORARY, "The verification service did not answer in time; try again shortly.".into()),
            TemporarilyUnavailable(_) => (503, "temporarily-unavailable", "Temporarily unavailable", TEMPORARY, "The service is temporarily unavailable; try again shortly.".into()),
            Internal(_) => (500, "internal-error", "Internal error", LogError("internal error"), "Something went wrong on our side.".into()),
            FallbackRefused => (403, "fallback-refused", "Fallback refused", Quiet, "The code verifier or phone number does not match this verification.".into()),
            InvalidPin(e) => (400, "invalid-pin", "Invalid PIN", Quiet, e.to_string()),
            FallbackCountryNotAllowed => (422, "fallback-country-not-allowed", "Fallback not offered", Quiet, "A PIN cannot be sent to numbers of this country.".into()),
            FallbackChannelNotOffered => (422, "fallback-channel-not-offered", "Channel not offered", Quiet, "A code cannot be sent by this channel; use one the poll offers.".into()),
            FallbackNotAllowed(reason) => (409, "fallback-not-allowed", "Fallback not allowed", Quiet, refusal_detail(*reason).into()),
            FallbackNotConfigured => (503, "fallback-not-configured", "Fallback unavailable", LogError("fallback is on but no 2FA application is configured (TWOFA_APPLICATION_ID, TWOFA_MESSAGE_ID)"), "A code cannot be sent at the moment.".into()),
            SimSwapDetected => (403, "sim-swap-detected", "SIM recently changed", Quiet, "This number's SIM changed recently, so it cannot be verified now: no code is sent and no proof is issued. Verify another way.".into()),
            SimSwapUnknown => (403, "sim-swap-unknown", "SIM change unknown", Quiet, "Whether this number's SIM changed recently cannot be checked, so no code is sent and no proof is issued.".into()),
            PinResendTooSoon { .. } => (429, "pin-resend-too-soon", "Too soon to resend", Quiet, "A code was sent moments ago; wait before asking for another.".into()),
            PinSendLimit => (429, "pin-send-limit", "No more codes", Quiet, "No more codes can be sent for this verification; start a new one later.".into()),
            FallbackBusy => (409, "fallback-busy", "Request in progress", Quiet, "Another request for this verification is being processed; retry shortly.".into()),
            NoPinSent => (409, "no-pin-sent", "No code sent", Quiet, "No code was sent for this verification; ask for one first.".into()),
            WrongPin { .. } => (422, "wrong-pin", "Wrong code", Quiet, "The code is not the one sent.".into()),
            PinExpired => (410, "pin-expired", "Code no longer valid", Quiet, "This code can no longer be used (no attempts left, expired, or the verification ended).".into()),
            PinNotSent => (502, "pin-not-sent", "Code not sent", Quiet, "The code could not be sent to this number; try the other channel or later.".into()),
        },
    };
    let mut problem = Problem {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        slug,
        title,
        detail,
        retry_after: retry_after(error),
        extensions: Map::new(),
    };
    if let HttpError::App(error) = error {
        extend(&mut problem.extensions, error);
    }
    (problem, log)
}

/// `Retry-After` in whole seconds, rounded up and at least 1: a client that waits 29 s of a
/// 29.4 s wait would only be refused again.
fn whole_seconds_up(wait: Duration) -> u64 {
    (wait.as_millis() as u64).div_ceil(1000).max(1)
}

/// When a client may try again, for the errors that say.
fn retry_after(error: &HttpError) -> Option<Duration> {
    use AppError::*;
    match error {
        HttpError::Refused(Refused::OutOfTime) => Some(DEFAULT_RETRY_AFTER),
        HttpError::Refused(_) => None,
        HttpError::App(error) => match error {
            IdempotencyKeyInProgress | FallbackBusy => Some(Duration::from_secs(1)),
            TooManyVerifications { retry_after, .. }
            | VerificationTemporarilyUnavailable { retry_after, .. }
            | PinResendTooSoon { retry_after } => Some(*retry_after),
            VerificationTimeout(_) | TemporarilyUnavailable(_) => Some(DEFAULT_RETRY_AFTER),
            _ => None,
        },
    }
}

/// The members beyond RFC 9457's that some problems carry.
fn extend(extensions: &mut Map<String, Value>, error: &AppError) {
    match error {
        AppError::VerificationRefused { token, error, .. } => {
            if let Some(token) = token {
                extensions.insert("token".into(), json!(token.as_str()));
            }
            extensions.insert(
                "error".into(),
                json!({"id": error.id, "name": error.name, "description": error.description}),
            );
        }
        AppError::FallbackNotAllowed(reason) => {
            extensions.insert("reason".into(), json!(reason.as_str()));
        }
        AppError::WrongPin { attempts_remaining } => {
            extensions.insert("attemptsRemaining".into(), json!(attempts_remaining));
        }
        _ => {}
    }
}

fn refusal_detail(reason: crate::fallback::Refusal) -> &'static str {
    use crate::fallback::Refusal;
    match reason {
        Refusal::Pending => {
            "Silent verification may still answer: poll, and fall back once it allows."
        }
        Refusal::Invalid => {
            "The number does not belong to this device's SIM; no PIN is sent after INVALID."
        }
        Refusal::Final | Refusal::SimSwap => "This verification has ended; start a new one.",
    }
}

fn log(error: &HttpError, level: Log) {
    let cause = crate::error::chain(error);
    match level {
        Quiet => {}
        // A refused callback's secret is in its URL, and its cause says nothing more.
        Warn(message) if matches!(error, HttpError::App(AppError::CallbackRejected)) => {
            warn!("{message}")
        }
        Warn(message) => warn!(cause, "{message}"),
        LogError(message) => error!(cause, "{message}"),
    }
}

/// The answer to `error`, logged and recorded on the request span. Call it once per request.
pub fn response(error: &HttpError, style: ErrorStyle) -> Response<Body> {
    let (response, slug, level) = build(error, style);
    log(error, level);
    crate::telemetry::record_outcome(slug);
    response
}

/// The answer to `error`, with no side effect: for keeping a copy (Idempotency-Key replays).
pub fn render(error: &HttpError, style: ErrorStyle) -> Response<Body> {
    build(error, style).0
}

fn build(error: &HttpError, style: ErrorStyle) -> (Response<Body>, &'static str, Log) {
    let (p, level) = describe(error);
    if style == ErrorStyle::OAuth {
        // A fault of ours or a dependency's, in the terms a relying party's library reads.
        let code = match p.status.as_u16() {
            503 | 504 => "temporarily_unavailable",
            500..=599 => "server_error",
            _ => "invalid_request",
        };
        let mut response = oauth_error(p.status, code, &p.detail);
        if let Some(retry_after) = p.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, whole_seconds_up(retry_after).into());
        }
        return (response, p.slug, level);
    }
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
        builder = builder.header(RETRY_AFTER, whole_seconds_up(retry_after));
    }
    if let HttpError::Refused(Refused::MethodNotAllowed { allow }) = error {
        builder = builder.header(ALLOW, allow.as_str());
    }
    let response = builder
        .body(Body::Text(Value::Object(body).to_string()))
        .unwrap_or_else(|_| Response::new(Body::Empty));
    (response, p.slug, level)
}
