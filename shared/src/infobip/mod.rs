//! Infobip, as the rest of the backend sees it: ports that speak in domain types
//! ([`SilentVerifier`], [`PinService`], [`SimSwapChecker`]) and their adapters over HTTP. The
//! transport ([`Transport`]: base URL, `App` key, timeouts, body limit, the platform's error
//! envelope) is shared by every Infobip API client: the SMV, 2FA and SIM-swap clients are
//! siblings over it.
//!
//! - [`types`]: Infobip's JSON, field for field. Only the adapters read it.
//! - [`transport`]: one HTTP exchange with Infobip.
//! - [`smv`]: `POST /mi/verification/1/verify` and the result callback.
//! - [`twofa`]: 2FA: send, resend and check a PIN; the one-time setup.
//! - [`simswap`]: `POST /mi/simswap/1/check`.
//! - [`camara`]: CAMARA Number Verification's `verify` (network- and SIM-based).
//! - [`error_codes`]: the documented Mobile Identity error codes.

pub mod camara;
mod error_codes;
mod simswap;
mod smv;
mod transport;
pub mod twofa;
pub mod types;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::device::DeviceAddress;
use crate::fallback::{Channel, Pin, PinId, PinVerdict};
use crate::phone::PhoneNumber;
use crate::token::Token;
use crate::verification::ErrorInfo;

pub use camara::{CamaraClient, NumberVerifier};
pub use error_codes::known_error;
pub use simswap::SimSwapClient;
pub use smv::{parse_callback, SmvClient};
pub use transport::{Transport, APIS, MAX_ANSWER_BYTES};
pub use twofa::TwoFactorClient;

/// Asks Infobip to verify that a number belongs to the device at an address.
#[async_trait]
pub trait SilentVerifier: Send + Sync {
    /// One attempt: the request is not idempotent and every accepted one is billed, so retrying
    /// is the app's decision.
    async fn verify(&self, order: &VerifyOrder<'_>) -> Result<Accepted, InfobipError>;
}

/// Infobip 2FA: PINs by SMS or voice.
#[async_trait]
pub trait PinService: Send + Sync {
    /// Sends a new PIN to `phone`. Never retried: a second send is a second PIN and charge.
    async fn send(&self, channel: Channel, phone: &PhoneNumber) -> Result<PinId, InfobipError>;
    /// Sends the same PIN again, by `channel`.
    async fn resend(&self, channel: Channel, pin_id: &PinId) -> Result<(), InfobipError>;
    /// Infobip's verdict on `pin`, in our terms: no 2FA string crosses this port.
    async fn check(&self, pin_id: &PinId, pin: &Pin) -> Result<PinVerdict, InfobipError>;
}

/// Whether a number's SIM changed recently.
#[async_trait]
pub trait SimSwapChecker: Send + Sync {
    async fn check(&self, phone: &PhoneNumber, period_hours: u32) -> Result<SimSwap, InfobipError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimSwap {
    Swapped,
    NotSwapped,
    /// No coverage, or no answer to read.
    Unknown,
}

/// What a start asks Infobip for.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOrder<'a> {
    pub phone: &'a PhoneNumber,
    /// Where Infobip sends the result: it carries the verification's callback secret.
    pub callback_url: &'a Url,
    /// Where the device is sent when the carrier step is done: it carries the return secret.
    pub return_url: &'a Url,
    pub device: DeviceAddress,
}

/// Infobip took the request: the result will come by callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub token: Token,
    /// `Some` for REDIRECT; `None` for OK (Brazil), where there is nothing for the device to open.
    pub device_redirect_url: Option<Url>,
}

#[derive(Debug, thiserror::Error)]
pub enum InfobipError {
    /// Infobip answered with its ERROR body: the verification failed for a reason it names.
    #[error("Infobip refused the verification (HTTP {http_status}, error {})", error.id)]
    Refused {
        http_status: u16,
        token: Option<Token>,
        error: ErrorInfo,
    },
    /// 401/403: our API key is wrong or lacks the API's scope (`mobile-identity:manage`).
    #[error("Infobip refused our credentials (HTTP {http_status}, messageId {message_id:?})")]
    Unauthorized {
        http_status: u16,
        message_id: Option<String>,
    },
    #[error("Infobip is rate limiting us")]
    RateLimited { retry_after: Option<Duration> },
    #[error("Infobip is unavailable (HTTP {http_status})")]
    Unavailable { http_status: u16 },
    #[error("Infobip did not answer within {0:?}")]
    Timeout(Duration),
    #[error("could not reach Infobip")]
    Unreachable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("Infobip's answer (HTTP {http_status}) broke the contract: {detail}")]
    UnexpectedAnswer { http_status: u16, detail: String },
    /// 2FA took the request but could not send the PIN (`MESSAGE_NOT_SENT`).
    #[error("Infobip could not send the PIN")]
    PinNotSent,
    /// 2FA no longer knows the PIN (404): expired or deleted.
    #[error("Infobip does not know this PIN")]
    UnknownPin,
    /// 2FA refused the request (a 4xx in the platform envelope); only the messageId is kept.
    #[error("Infobip refused the request (HTTP {http_status}, messageId {message_id:?})")]
    Rejected {
        http_status: u16,
        message_id: Option<String>,
    },
}

/// Infobip's API key. Held as a secret so that it cannot reach a log by accident.
#[derive(Clone)]
pub struct ApiKey(SecretString);

impl ApiKey {
    pub fn new(key: String) -> Option<Self> {
        let key = key.trim();
        let printable = !key.is_empty() && key.bytes().all(|b| b.is_ascii_graphic());
        printable.then(|| Self(SecretString::from(key.to_owned())))
    }

    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl crate::keys::FromSecret for ApiKey {
    fn from_secret(raw: &str) -> Result<Self, String> {
        Self::new(raw.to_owned()).ok_or_else(|| "must be printable ASCII without spaces".into())
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_is_redacted_and_must_be_printable() {
        let key = ApiKey::new("  secret-key  ".into()).unwrap();
        assert!(!format!("{key:?}").contains("secret"));
        assert_eq!(key.expose(), "secret-key");
        assert!(ApiKey::new(String::new()).is_none());
        assert!(ApiKey::new("bad\nkey".into()).is_none());
    }
}
