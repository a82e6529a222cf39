//! The service's error type. `http::problem` turns it into a response, in one place; the causes it
//! carries (as `source`s, whole) are for the log only.

use std::time::Duration;

use crate::assertion::SignError;
use crate::binding::InvalidBinding;
use crate::device_address::AddressError;
use crate::fallback::{InvalidPin, PinRefusal, Refusal, SendRefusal};
use crate::idempotency::InvalidIdempotencyKey;
use crate::infobip::InfobipError;
use crate::keys::SecretError;
use crate::phone::{InvalidPhoneNumber, NumberType};
use crate::rate_limit::{LimitError, Scope};
use crate::sim_credential::InvalidCarrierIds;
use crate::store::StoreError;
use crate::token::{InvalidToken, RandomnessUnavailable, Token};
use crate::verification::{ErrorInfo, Status, Unredeemable};

/// How long a client should wait before retrying after a temporary failure on our side.
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

/// A cause kept whole for the log.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// What can go wrong in the service, named as the problem type it is answered with
/// (`TooManyVerifications` is `urn:smv:problem:too-many-verifications`); `http::problem` holds
/// each one's status, title and log level. Refusals of the HTTP front end (no route, a body too
/// large, ...) are `http::Refused`'s.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error(transparent)]
    InvalidPhoneNumber(#[from] InvalidPhoneNumber),
    #[error(transparent)]
    InvalidToken(#[from] InvalidToken),
    /// The numbering plan says this number cannot be a SIM (premium rate, personal, toll free...).
    #[error("a {} number cannot be a SIM", .0.as_str())]
    NotAMobileNumber(NumberType),
    /// CloudFront is trusted to say where a device is, and this request did not come through it.
    #[error(transparent)]
    UntrustedOrigin(AddressError),
    #[error(transparent)]
    DeviceAddressUnknown(AddressError),
    #[error(transparent)]
    InvalidIdempotencyKey(#[from] InvalidIdempotencyKey),
    #[error("the Idempotency-Key was used for a different request")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyKeyInProgress,
    #[error("too many starts for {scope}")]
    TooManyVerifications { scope: Scope, retry_after: Duration },
    #[error("no verification with this token")]
    VerificationNotFound,
    #[error("a start from a page of another site")]
    CrossSiteStart,
    /// Only a VALID verification can be redeemed.
    #[error("the verification is {}, not VALID", .0.as_str())]
    VerificationNotValid(Status),
    /// A wrong verifier, device code or number, or a verification started without a challenge:
    /// one answer for all, so that a caller learns nothing about which part was wrong.
    #[error("the redeem request does not match the verification")]
    AssertionRefused,
    #[error("an assertion was already issued for this verification")]
    AssertionAlreadyIssued,
    #[error("too many wrong redeem attempts")]
    AssertionLocked,
    #[error("the result is too old to be redeemed")]
    AssertionTooLate,
    #[error("this return URL has already shown its code")]
    DeviceCodeAlreadyShown,
    /// `"method": "sim"` for a number whose country is not in VERIFY_SIM_COUNTRIES.
    #[error("SIM-based verification is not offered for this number's country")]
    MethodNotOffered,
    #[error(transparent)]
    InvalidCarrierIds(#[from] InvalidCarrierIds),
    /// A wrong verifier, or a `vp_token` not made for this verification's nonce: one answer.
    #[error("the credential does not match the verification")]
    CredentialRefused,
    #[error("a credential was already submitted for this verification, or it has ended")]
    CredentialAlreadySubmitted,
    /// Verified by PIN, for a sign-in whose client or `acr_values` asks for silent evidence.
    #[error("verified by PIN, which this sign-in does not accept")]
    PinNotAllowed,
    #[error("callback secret does not match the verification")]
    CallbackRejected,
    #[error("Infobip refused the verification with error {}", error.id)]
    VerificationRefused {
        upstream_status: u16,
        token: Option<Token>,
        error: ErrorInfo,
    },
    /// Infobip rejected our credentials or our 2FA configuration.
    #[error("Infobip rejected our credentials")]
    VerificationUnavailable(#[source] InfobipError),
    #[error("Infobip is temporarily unavailable")]
    VerificationTemporarilyUnavailable {
        retry_after: Duration,
        #[source]
        cause: InfobipError,
    },
    #[error("Infobip did not answer in time")]
    VerificationTimeout(#[source] InfobipError),
    /// Storage or the signing key did not answer: worth a retry.
    #[error("a dependency is temporarily unavailable")]
    TemporarilyUnavailable(#[source] Cause),
    /// A fault of ours: a corrupt record, no randomness, a signature that cannot be made.
    #[error("internal error")]
    Internal(#[source] Cause),
    #[error("the code verifier or number does not match the verification")]
    FallbackRefused,
    #[error("{0}")]
    InvalidPin(#[from] InvalidPin),
    #[error("fallback is not offered for this number's country")]
    FallbackCountryNotAllowed,
    #[error("fallback is not offered by this channel")]
    FallbackChannelNotOffered,
    #[error("fallback is not allowed now: {}", .0.as_str())]
    FallbackNotAllowed(Refusal),
    #[error("fallback is offered but no 2FA application is configured")]
    FallbackNotConfigured,
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
    PinExpired,
    #[error("Infobip could not send the PIN")]
    PinNotSent,
}

impl AppError {
    /// A fault of ours, described for the log.
    pub fn internal(what: impl Into<String>) -> Self {
        Self::Internal(what.into().into())
    }
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
            } => Self::VerificationRefused {
                upstream_status: http_status,
                token,
                error,
            },
            InfobipError::Unauthorized { .. } => Self::VerificationUnavailable(error),
            InfobipError::RateLimited { retry_after } => Self::VerificationTemporarilyUnavailable {
                // Infobip's own hint, within reason: an app should not be told to wait an hour.
                retry_after: retry_after
                    .unwrap_or(DEFAULT_RETRY_AFTER)
                    .clamp(Duration::from_secs(1), Duration::from_secs(60)),
                cause: error,
            },
            InfobipError::Timeout(_) => Self::VerificationTimeout(error),
            InfobipError::PinNotSent => Self::PinNotSent,
            // A 2FA refusal is our configuration's problem (application, template, limits), as
            // a rejected key is: the app is told no more than that.
            InfobipError::Rejected { .. } => Self::VerificationUnavailable(error),
            InfobipError::UnknownPin => Self::PinExpired,
            InfobipError::Unavailable { .. }
            | InfobipError::Unreachable(_)
            | InfobipError::UnexpectedAnswer { .. } => Self::VerificationTemporarilyUnavailable {
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
            PinRefusal::Expired => Self::PinExpired,
        }
    }
}

impl From<SendRefusal> for AppError {
    fn from(refusal: SendRefusal) -> Self {
        match refusal {
            SendRefusal::Limit => Self::PinSendLimit,
            SendRefusal::TooSoon { retry_after } => Self::PinResendTooSoon { retry_after },
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
            Unredeemable::Locked => Self::AssertionLocked,
            Unredeemable::NotValid(status) => Self::VerificationNotValid(status),
            // Not worth a failed attempt: there is nothing to guess.
            Unredeemable::Unbound => Self::AssertionRefused,
            Unredeemable::TooLate => Self::AssertionTooLate,
        }
    }
}

impl From<SignError> for AppError {
    fn from(error: SignError) -> Self {
        match error {
            SignError::Unavailable(_) | SignError::Throttled(_) => {
                Self::TemporarilyUnavailable(error.into())
            }
            _ => Self::Internal(error.into()),
        }
    }
}

impl From<SecretError> for AppError {
    fn from(error: SecretError) -> Self {
        match error {
            SecretError::Unavailable { .. } => Self::TemporarilyUnavailable(error.into()),
            SecretError::Unusable { .. } => Self::Internal(error.into()),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => Self::TemporarilyUnavailable(error.into()),
            StoreError::AlreadyExists | StoreError::Corrupt(_) => Self::Internal(error.into()),
        }
    }
}

impl From<LimitError> for AppError {
    fn from(error: LimitError) -> Self {
        match error {
            LimitError::Exceeded(exceeded) => Self::TooManyVerifications {
                scope: exceeded.scope,
                retry_after: exceeded.retry_after,
            },
            LimitError::Store(e) => e.into(),
        }
    }
}

impl From<RandomnessUnavailable> for AppError {
    fn from(error: RandomnessUnavailable) -> Self {
        Self::Internal(error.into())
    }
}

impl From<InvalidBinding> for AppError {
    fn from(error: InvalidBinding) -> Self {
        Self::InvalidRequest(error.to_string())
    }
}

impl From<AddressError> for AppError {
    fn from(error: AddressError) -> Self {
        match error {
            AddressError::NotFromCloudFront => Self::UntrustedOrigin(error),
            _ => Self::DeviceAddressUnknown(error),
        }
    }
}
