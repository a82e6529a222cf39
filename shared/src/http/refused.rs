//! What the HTTP front end refuses before a handler's service call can say anything: no such
//! route, the wrong method, a body or target too large, a body that is not JSON, no time left.
//! The service's own errors ([`AppError`]) carry no HTTP notions; a handler returns either.

use crate::error::AppError;
use crate::token::InvalidSecret;

#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("no such route")]
    NotFound,
    #[error("method not allowed")]
    /// `allow`: the route's methods, as the `Allow` header lists them.
    MethodNotAllowed { allow: String },
    #[error("request body too large")]
    PayloadTooLarge { limit: usize },
    #[error("request target too long")]
    UriTooLong { limit: usize },
    #[error("unsupported content type")]
    UnsupportedMediaType,
    /// Lambda would have ended the invocation before the handler finished.
    #[error("the request did not finish before the function's deadline")]
    OutOfTime,
}

/// What a handler fails with.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    App(#[from] AppError),
}

/// Anything the service layer's `?` converts to an [`AppError`] converts here too.
macro_rules! via_app_error {
    ($($error:ty),*) => {$(
        impl From<$error> for HttpError {
            fn from(error: $error) -> Self {
                Self::App(error.into())
            }
        }
    )*};
}

via_app_error!(
    crate::phone::InvalidPhoneNumber,
    crate::token::InvalidToken,
    crate::binding::InvalidBinding,
    crate::fallback::InvalidPin,
    crate::idempotency::InvalidIdempotencyKey,
    crate::device_address::AddressError,
    crate::store::StoreError,
    crate::token::RandomnessUnavailable,
    crate::assertion::SignError
);

/// A malformed secret in a path is answered like an unknown route: its shape is nobody's
/// business.
impl From<InvalidSecret> for HttpError {
    fn from(_: InvalidSecret) -> Self {
        Self::Refused(Refused::NotFound)
    }
}
