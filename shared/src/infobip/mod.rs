//! Everything that knows Infobip's Mobile Identity API: the wire types, the error codes and the
//! HTTP client for `POST /mi/verification/1/verify`.

mod client;
mod error_codes;
mod types;

pub use client::{Accepted, ApiKey, InfobipClient, InfobipError};
pub use error_codes::known_error;
pub use types::{
    CallbackBody, CallbackResult, ErrorDto, VerifyRequest, VerifyResponse, VerifyStatus,
};
