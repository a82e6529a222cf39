//! The one error type the handlers return. `http::problem` turns it into a response, in one place;
//! the causes it carries (as `source`s, whole) are for the log only.

use std::time::Duration;

use crate::assertion::SignError;
use crate::binding::InvalidBinding;
use crate::device_address::AddressError;
use crate::fallback::{InvalidPin, PinRefusal, Refusal};
use crate::idempotency::InvalidIdempotencyKey;
use crate::infobip::InfobipError;
use crate::phone::InvalidPhoneNumber;
use crate::rate_limit::{LimitError, Scope};
use crate::store::StoreError;
use crate::token::{InvalidSecret, InvalidToken, RandomnessUnavailable, Token};
use crate::verification::{ErrorInfo, Status, Unredeemable};

/// How long a client should wait before retrying after a temporary failure on our side.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("no such route")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed { allow: &'static str },
    #[error("{0}")]
    BadRequest(String),
    #[error("request body too large")]
    PayloadTooLarge { limit: usize },
    #[error("request target too long")]
    UriTooLong { limit: usize },
    #[error("unsupported content type")]
    UnsupportedMediaType,
    #[error(transparent)]
    InvalidPhoneNumber(#[from] InvalidPhoneNumber),
    #[error(transparent)]
    InvalidToken(#[from] InvalidToken),
    #[error(transparent)]
    InvalidUrlSecret(#[from] InvalidSecret),
    #[error(transparent)]
    DeviceAddress(#[from] AddressError),
    #[error(transparent)]
    InvalidIdempotencyKey(#[from] InvalidIdempotencyKey),
    #[error("the Idempotency-Key was used for a different request")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyKeyInProgress,
    #[error("too many starts for {scope}")]
    RateLimited { scope: Scope, retry_after: Duration },
    #[error("no verification with this token")]
    VerificationNotFound,
    #[error("a start from a page of another site")]
    CrossSiteStart,
    #[error(transparent)]
    InvalidBinding(#[from] InvalidBinding),
    /// Only a VALID verification can be redeemed.
    #[error("the verification is {}, not VALID", .0.as_str())]
    NotRedeemable(Status),
    /// A wrong verifier, device code or number, or a verification started without a challenge:
    /// one answer for all, so that a caller learns nothing about which part was wrong.
    #[error("the redeem request does not match the verification")]
    RedeemRefused,
    #[error("an assertion was already issued for this verification")]
    AssertionAlreadyIssued,
    #[error("too many wrong redeem attempts")]
    RedeemLocked,
    #[error("this return URL has already shown its code")]
    DeviceCodeAlreadyShown,
    #[error("the assertion could not be signed")]
    Signing(#[source] SignError),
    #[error("callback secret does not match the verification")]
    ForgedCallback,
    #[error("Infobip refused the verification with error {}", error.id)]
    InfobipRefused {
        upstream_status: u16,
        token: Option<Token>,
        error: ErrorInfo,
    },
    #[error("Infobip rejected our credentials")]
    InfobipMisconfigured(#[source] InfobipError),
    #[error("Infobip is temporarily unavailable")]
    InfobipUnavailable {
        retry_after: Duration,
        #[source]
        cause: InfobipError,
    },
    #[error("Infobip did not answer in time")]
    InfobipTimeout(#[source] InfobipError),
    #[error("storage is unavailable")]
    StorageUnavailable(#[source] StoreError),
    #[error("storage failed")]
    StorageFailed(#[source] StoreError),
    #[error("no random numbers")]
    Randomness(#[from] RandomnessUnavailable),
    /// Lambda would have ended the invocation before the handler finished.
    #[error("the request did not finish before the function's deadline")]
    OutOfTime,
    #[error("internal error: {0}")]
    Internal(String),
    #[error("the code verifier or number does not match the verification")]
    NotTheStarter,
    #[error("{0}")]
    InvalidPin(#[from] InvalidPin),
    #[error("fallback is not offered for this number's country")]
    CountryNotAllowed,
    #[error("fallback is not allowed now: {}", .0.as_str())]
    FallbackNotAllowed(Refusal),
    #[error("the SIM was swapped recently")]
    SimSwapDetected,
    #[error("the SIM-swap check could not say")]
    SimSwapUnknown,
    #[error("a PIN was sent too recently")]
    PinResendTooSoon { retry_after: Duration },
    #[error("no more PINs for this verification")]
    PinSendLimit,
    #[error("another fallback request for this verification is under way")]
    FallbackBusy,
    #[error("no PIN was sent for this verification")]
    NoPinSent,
    #[error("wrong PIN")]
    WrongPin { attempts_remaining: u32 },
    #[error("the PIN can no longer be used")]
    PinDead,
    #[error("Infobip could not send the PIN")]
    PinNotSent,
}

/// `error` and every cause under it, for a log line.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl From<InfobipError> for AppError {
    fn from(error: InfobipError) -> Self {
        match error {
            InfobipError::Refused {
                http_status,
                token,
                error,
            } => Self::InfobipRefused {
                upstream_status: http_status,
                token,
                error,
            },
            InfobipError::Unauthorized { .. } => Self::InfobipMisconfigured(error),
            InfobipError::RateLimited { retry_after } => Self::InfobipUnavailable {
                // Infobip's own hint, within reason: an app should not be told to wait an hour.
                retry_after: retry_after
                    .unwrap_or(DEFAULT_RETRY_AFTER)
                    .clamp(Duration::from_secs(1), Duration::from_secs(60)),
                cause: error,
            },
            InfobipError::Timeout(_) => Self::InfobipTimeout(error),
            InfobipError::PinNotSent => Self::PinNotSent,
            // A 2FA refusal is our configuration's problem (application, template, limits), as
            // a rejected key is: the app is told no more than that.
            InfobipError::Rejected { .. } => Self::InfobipMisconfigured(error),
            InfobipError::UnknownPin => Self::PinDead,
            InfobipError::Unavailable { .. }
            | InfobipError::Unreachable(_)
            | InfobipError::UnexpectedAnswer { .. } => Self::InfobipUnavailable {
                retry_after: DEFAULT_RETRY_AFTER,
                cause: error,
            },
        }
    }
}

impl From<PinRefusal> for AppError {
    fn from(refusal: PinRefusal) -> Self {
        match refusal {
            PinRefusal::NotSent => Self::NoPinSent,
            PinRefusal::Dead => Self::PinDead,
        }
    }
}

impl From<Refusal> for AppError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::SimSwap => Self::SimSwapDetected,
            other => Self::FallbackNotAllowed(other),
        }
    }
}

impl From<Unredeemable> for AppError {
    fn from(reason: Unredeemable) -> Self {
        match reason {
            Unredeemable::AlreadyRedeemed => Self::AssertionAlreadyIssued,
            Unredeemable::Locked => Self::RedeemLocked,
            Unredeemable::NotValid(status) => Self::NotRedeemable(status),
            // Not worth a failed attempt: there is nothing to guess.
            Unredeemable::Unbound => Self::RedeemRefused,
        }
    }
}

impl From<SignError> for AppError {
    fn from(error: SignError) -> Self {
        Self::Signing(error)
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => Self::StorageUnavailable(error),
            StoreError::AlreadyExists | StoreError::Corrupt(_) => Self::StorageFailed(error),
        }
    }
}

impl From<LimitError> for AppError {
    fn from(error: LimitError) -> Self {
        match error {
            LimitError::Exceeded(exceeded) => Self::RateLimited {
                scope: exceeded.scope,
                retry_after: exceeded.retry_after,
            },
            LimitError::Store(e) => e.into(),
        }
    }
}
