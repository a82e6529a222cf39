//! A verification and its state machine, written once for every adapter:
//!
//! ```text
//! PENDING ──callback VALID / INVALID / ERROR──▶ final (first result wins)
//!    └──────── pending timeout passes ───────▶ EXPIRED (derived on read; no later result applies)
//! ```
//! A VALID verification bound to its starter (a PKCE challenge) can be redeemed for one assertion,
//! and refuses redemption after [`MAX_REDEEM_FAILURES`] wrong attempts.
//!
//! Where silent verification produced no evidence, a bound verification may fall back to a PIN
//! ([`crate::fallback`]): ERROR (no evidence) or PENDING past the fallback deadline, then VALID
//! once Infobip says the PIN was right. A late silent result still applies while PENDING: VALID
//! by silent verification wins, INVALID or a SIM swap ends the fallback.
//!
//! Every write of a verification increases its `version`; a change computed from a read is
//! written on the condition that the version is still the one read, so it applies whole or not
//! at all.
//! A record whose lifetime (DynamoDB TTL) has passed does not exist, whatever storage still holds.

use std::time::Duration;

use crate::binding::{CodeChallenge, Nonce};
use crate::fallback::FallbackState;
use crate::method_policy::SilentMethod;
use crate::oidc::grant::Grant;
use crate::phone_hash::PhoneHash;
use crate::sealed_phone::SealedPhone;
use crate::sim_swap::SimSwapState;
use crate::time::Timestamp;
use crate::token::{SecretHash, Token};

/// Wrong redeem attempts (verifier, device code or number) after which a verification can no
/// longer be redeemed: enough for a typo, far too few to guess a device code.
pub const MAX_REDEEM_FAILURES: u32 = 5;

/// Infobip's error object as we keep and show it (the adapter fills in a missing name or
/// description from the documented code list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    pub id: i32,
    pub name: String,
    pub description: String,
}

impl ErrorInfo {
    /// What a person is told: the description, or the name where Infobip gave none.
    pub fn describe(&self) -> String {
        match self.description.is_empty() {
            true => self.name.clone(),
            false => self.description.clone(),
        }
    }
}

/// A final result as Infobip reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerificationResult {
    Valid,
    Invalid,
    /// Infobip's error object is optional in its schema, even for ERROR.
    Error(Option<ErrorInfo>),
}

impl VerificationResult {
    pub fn status(&self) -> Status {
        match self {
            Self::Valid => Status::Valid,
            Self::Invalid => Status::Invalid,
            Self::Error(_) => Status::Error,
        }
    }

    pub fn error(&self) -> Option<&ErrorInfo> {
        match self {
            Self::Error(error) => error.as_ref(),
            _ => None,
        }
    }
}

/// What a poll reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Valid,
    Invalid,
    Error,
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Valid => "VALID",
            Self::Invalid => "INVALID",
            Self::Error => "ERROR",
            Self::Expired => "EXPIRED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Pending,
    Completed {
        result: VerificationResult,
        at: Timestamp,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub token: Token,
    pub secret_hash: SecretHash,
    /// Masked (`+44*******456`): enough to recognise a record in support, never the number.
    pub phone_masked: String,
    pub created_at: Timestamp,
    /// After this a PENDING verification is EXPIRED and no result can complete it.
    pub pending_until: Timestamp,
    /// After this the record does not exist (the DynamoDB TTL).
    pub expires_at: Timestamp,
    pub state: State,
    /// `None`: started without a PKCE challenge, so it can never yield an assertion.
    pub binding: Option<Binding>,
    pub redemption: Redemption,
    /// ISO 3166 alpha-2 of the number's country: decides whether a fallback may be offered.
    pub country: Option<String>,
    pub fallback: FallbackState,
    pub sim_swap: SimSwapState,
    /// How the carrier is asked (SMV, unless the number's country uses CAMARA).
    pub silent_method: SilentMethod,
    /// CAMARA only: the number, sealed, for the request that asks Infobip after the start.
    pub sealed_phone: Option<SealedPhone>,
    /// Signed in through the OpenID Provider: the code, and the access token it was exchanged for.
    pub grant: Option<Grant>,
    /// Increased by every write; a write computed from a read is conditional on it.
    pub version: u64,
}

/// What a start bound the verification to; the redeem step must present all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub challenge: CodeChallenge,
    pub nonce: Option<Nonce>,
    /// The keyed hash of the number being verified (the number itself is never stored).
    pub phone_hash: PhoneHash,
    /// The return URL secret's hash, when the device must show the code it was given there
    /// (the REDIRECT flow). `None` in the Brazil OK flow: no redirect, Infobip binds the address.
    pub return_hash: Option<SecretHash>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redemption {
    pub failures: u32,
    pub redeemed_at: Option<Timestamp>,
}

/// Why a verification cannot be redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unredeemable {
    AlreadyRedeemed,
    /// Too many wrong attempts.
    Locked,
    NotValid(Status),
    /// Started without a challenge: nobody holds a verifier for it.
    Unbound,
    /// VALID for longer than `ASSERTION_REDEEM_SECONDS`: the result is too old to sign.
    TooLate,
}

/// What a poll says of the assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssertionState {
    /// VALID, bound, not yet redeemed, not locked by wrong attempts.
    Available,
    Redeemed,
    Unavailable,
}

impl AssertionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Redeemed => "redeemed",
            Self::Unavailable => "unavailable",
        }
    }
}

/// How long verifications wait and live; validated in configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub pending_timeout: Duration,
    pub record_lifetime: Duration,
}

impl Verification {
    pub fn pending(
        token: Token,
        secret_hash: SecretHash,
        phone_masked: String,
        now: Timestamp,
        lifetimes: Lifetimes,
    ) -> Self {
        Self {
            token,
            secret_hash,
            phone_masked,
            created_at: now,
            pending_until: now.plus(lifetimes.pending_timeout),
            expires_at: now.plus(lifetimes.record_lifetime),
            state: State::Pending,
            binding: None,
            redemption: Redemption::default(),
            country: None,
            fallback: FallbackState::default(),
            sim_swap: SimSwapState::default(),
            silent_method: SilentMethod::Smv,
            sealed_phone: None,
            grant: None,
            version: 0,
        }
    }

    pub fn in_country(self, country: Option<&str>) -> Self {
        Self {
            country: country.map(str::to_owned),
            ..self
        }
    }

    /// Carried out by CAMARA `method`, which asks Infobip about the number after the start.
    pub fn by_camara(self, method: SilentMethod, sealed_phone: SealedPhone) -> Self {
        Self {
            silent_method: method,
            sealed_phone: Some(sealed_phone),
            ..self
        }
    }

    pub fn bound_to(self, binding: Binding) -> Self {
        Self {
            binding: Some(binding),
            ..self
        }
    }

    /// A verification Infobip refused when it was started: final from the first moment.
    pub fn refused(
        token: Token,
        secret_hash: SecretHash,
        phone_masked: String,
        error: ErrorInfo,
        now: Timestamp,
        lifetimes: Lifetimes,
    ) -> Self {
        Self {
            state: State::Completed {
                result: VerificationResult::Error(Some(error)),
                at: now,
            },
            ..Self::pending(token, secret_hash, phone_masked, now, lifetimes)
        }
    }

    pub fn exists_at(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }

    pub fn status(&self, now: Timestamp) -> Status {
        match &self.state {
            State::Completed { result, .. } => result.status(),
            State::Pending if now >= self.pending_until => Status::Expired,
            State::Pending => Status::Pending,
        }
    }

    /// The one transition a callback may make. The DynamoDB adapter states the same rule as a
    /// condition expression; `tests/it/store_contract.rs` holds both adapters to it.
    pub fn accepts_result_from(&self, secret_hash: &SecretHash, now: Timestamp) -> bool {
        self.exists_at(now)
            && self.status(now) == Status::Pending
            && &self.secret_hash == secret_hash
    }

    /// What a redeem must present, or why none can succeed now.
    pub fn redeemable(&self, now: Timestamp) -> Result<&Binding, Unredeemable> {
        if self.redemption.redeemed_at.is_some() {
            return Err(Unredeemable::AlreadyRedeemed);
        }
        if self.redemption.failures >= MAX_REDEEM_FAILURES {
            return Err(Unredeemable::Locked);
        }
        match self.status(now) {
            Status::Valid if self.exists_at(now) => {}
            status => return Err(Unredeemable::NotValid(status)),
        }
        self.binding.as_ref().ok_or(Unredeemable::Unbound)
    }

    /// The one transition a redeem may make (the DynamoDB adapter states it as a condition).
    pub fn accepts_redemption(&self, now: Timestamp) -> bool {
        self.redeemable(now).is_ok()
    }

    /// [`Self::redeemable`], and only within `window` of the result: a VALID result is the
    /// carrier's word at that moment, not for ever.
    pub fn redeemable_within(
        &self,
        window: Duration,
        now: Timestamp,
    ) -> Result<&Binding, Unredeemable> {
        let binding = self.redeemable(now)?;
        match &self.state {
            State::Completed { at, .. } if now >= at.plus(window) => Err(Unredeemable::TooLate),
            _ => Ok(binding),
        }
    }

    /// When the carrier (or the PIN check) said VALID: the assertion's `auth_time`.
    pub fn verified_at(&self) -> Option<Timestamp> {
        match &self.state {
            State::Completed {
                result: VerificationResult::Valid,
                at,
            } => Some(*at),
            _ => None,
        }
    }

    pub fn assertion_state(&self, window: Duration, now: Timestamp) -> AssertionState {
        match self.redeemable_within(window, now) {
            Ok(_) => AssertionState::Available,
            Err(Unredeemable::AlreadyRedeemed) => AssertionState::Redeemed,
            Err(_) => AssertionState::Unavailable,
        }
    }

    pub fn result(&self) -> Option<&VerificationResult> {
        match &self.state {
            State::Completed { result, .. } => Some(result),
            State::Pending => None,
        }
    }
}

/// A callback that arrived before its verification was stored (the Brazil `OK` flow can call
/// back before start-verify has written its record). It is kept under the hash of the secret it
/// was sent to, so only the start that generated that secret can ever pick it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedCallback {
    pub token: Token,
    pub secret_hash: SecretHash,
    pub result: VerificationResult,
    pub received_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A PENDING verification started at `now` (5 minutes pending, an hour's record), for the unit
/// tests of the modules that build on it.
#[cfg(test)]
pub(crate) fn pending_fixture(now: Timestamp) -> Verification {
    let lifetimes = Lifetimes {
        pending_timeout: Duration::from_secs(300),
        record_lifetime: Duration::from_secs(3600),
    };
    let token = Token::parse("123e4567-e89b-12d3-a456-426655440000").unwrap();
    let hash = crate::token::UrlSecret::generate().unwrap().hash();
    Verification::pending(token, hash, "+44*******456".into(), now, lifetimes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::UrlSecret;

    const LIFETIMES: Lifetimes = Lifetimes {
        pending_timeout: Duration::from_secs(300),
        record_lifetime: Duration::from_secs(3600),
    };

    fn token() -> Token {
        Token::parse("123e4567-e89b-12d3-a456-426655440000").unwrap()
    }

    fn pending_at(now: Timestamp, secret: &UrlSecret) -> Verification {
        Verification::pending(
            token(),
            secret.hash(),
            "+44*******456".into(),
            now,
            LIFETIMES,
        )
    }

    #[test]
    fn pending_becomes_expired_when_the_pending_timeout_passes() {
        let secret = UrlSecret::generate().unwrap();
        let start = Timestamp::from_millis(1_000_000);
        let v = pending_at(start, &secret);
        assert_eq!(
            v.status(start.plus(Duration::from_secs(299))),
            Status::Pending
        );
        assert_eq!(
            v.status(start.plus(Duration::from_secs(300))),
            Status::Expired
        );
    }

    #[test]
    fn only_the_matching_secret_before_expiry_may_complete() {
        let secret = UrlSecret::generate().unwrap();
        let other = UrlSecret::generate().unwrap();
        let start = Timestamp::from_millis(1_000_000);
        let v = pending_at(start, &secret);
        assert!(v.accepts_result_from(&secret.hash(), start));
        assert!(!v.accepts_result_from(&other.hash(), start));
        assert!(!v.accepts_result_from(&secret.hash(), start.plus(Duration::from_secs(300))));
    }

    #[test]
    fn a_completed_verification_accepts_nothing_more() {
        let secret = UrlSecret::generate().unwrap();
        let start = Timestamp::from_millis(1_000_000);
        let mut v = pending_at(start, &secret);
        v.state = State::Completed {
            result: VerificationResult::Invalid,
            at: start,
        };
        assert_eq!(v.status(start), Status::Invalid);
        assert!(!v.accepts_result_from(&secret.hash(), start));
    }

    #[test]
    fn record_stops_existing_at_its_lifetime() {
        let secret = UrlSecret::generate().unwrap();
        let start = Timestamp::from_millis(1_000_000);
        let v = pending_at(start, &secret);
        assert!(v.exists_at(start.plus(Duration::from_secs(3599))));
        assert!(!v.exists_at(start.plus(Duration::from_secs(3600))));
    }
}
