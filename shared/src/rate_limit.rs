//! Limits on starts and PINs, checked before Infobip is called: every start costs money and
//! reaches a real subscriber's carrier, every PIN is an SMS or a call. Fixed-window counters kept
//! in the store (one conditional increment each, which writes nothing at the limit), so that
//! every Lambda instance sees the same count.
//!
//! The service-wide caps (the start cap, the PIN budget) are counted only once every other limit
//! has admitted the request: a refused request never writes them, so refused requests can neither
//! spend them nor load their one hot item; and each address (an IPv6 /48) may spend only its
//! share of them, so that it takes many addresses to exhaust one.

use std::fmt;
use std::time::Duration;

use futures_util::future::join_all;

use crate::device::Subscriber;
use crate::phone_hash::PhoneHash;
use crate::store::{Counters, StoreError};
use crate::time::Timestamp;

/// At most `max` starts per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u64,
    pub window: Duration,
}

/// The limits that are on, in the order they are checked (the most specific first: a refusal
/// names the first one exceeded). Which exist, their defaults and their order are declared in
/// `config::rate_limits`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateLimits(Vec<(Scope, Limit)>);

impl RateLimits {
    /// `None` turns a limit off.
    pub fn new(limits: impl IntoIterator<Item = (Scope, Option<Limit>)>) -> Self {
        Self(
            limits
                .into_iter()
                .filter_map(|(scope, limit)| Some((scope, limit?)))
                .collect(),
        )
    }

    pub fn get(&self, scope: Scope) -> Option<Limit> {
        self.0.iter().find(|(s, _)| *s == scope).map(|(_, l)| *l)
    }

    /// These limits and then `more`'s, counted as one request.
    pub fn and(&self, more: &RateLimits) -> RateLimits {
        Self(self.0.iter().chain(&more.0).copied().collect())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    PhoneNumber,
    DeviceIp,
    DeviceNetwork,
    PhoneAndDevice,
    /// One address's (an IPv6 /48's) share of [`Scope::Global`].
    AddressShare,
    Global,
    /// PINs to one number a day.
    PinsPerPhone,
    /// One address's share of [`Scope::PinBudget`].
    PinsAddressShare,
    /// PINs a day, all numbers: our own cap before the 2FA application's.
    PinBudget,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PhoneNumber => "PhoneNumber",
            Self::DeviceIp => "DeviceIp",
            Self::DeviceNetwork => "DeviceNetwork",
            Self::PhoneAndDevice => "PhoneAndDevice",
            Self::AddressShare => "AddressShare",
            Self::Global => "Global",
            Self::PinsPerPhone => "PinsPerPhone",
            Self::PinsAddressShare => "PinsAddressShare",
            Self::PinBudget => "PinBudget",
        }
    }

    /// A counter every request of the service writes: counted last, only for admitted requests.
    fn is_service_wide(self) -> bool {
        matches!(self, Self::Global | Self::PinBudget)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PhoneNumber => "this phone number",
            Self::DeviceIp => "this network address",
            Self::DeviceNetwork => "this network",
            Self::PhoneAndDevice => "this phone number from this address",
            Self::AddressShare => "this network's share of the service",
            Self::Global => "this service at the moment",
            Self::PinsPerPhone => "codes to this phone number today",
            Self::PinsAddressShare => "this network's share of today's codes",
            Self::PinBudget => "codes today",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    pub scope: Scope,
    /// Until the current window ends.
    pub retry_after: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("too many starts for {}", .0.scope)]
    Exceeded(Exceeded),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Counts one request for the number hashed as `phone` from `subscriber` on every counter of
/// `limits`, and refuses it if any limit is exceeded (the first in order of specificity: the
/// device and number first, the service last) or a counter cannot be updated. The service-wide
/// counters are counted after the others have admitted it. A refused request is taken back from
/// the counters it was counted on: a request refused for one reason does not use up another's
/// allowance (an attacker filling one number's limit from a shared carrier address does not also
/// fill that address's limit for everyone behind it).
pub async fn admit(
    counters: &dyn Counters,
    limits: &RateLimits,
    phone: &PhoneHash,
    subscriber: &Subscriber,
    now: Timestamp,
) -> Result<(), LimitError> {
    let phone = phone.as_str();
    // An IPv6 subscriber's share is its /48's: a /48 is what one customer is given.
    let network = subscriber.ipv6_network().unwrap_or(subscriber.as_str());
    let subject = |scope| match scope {
        Scope::PhoneAndDevice => Some(format!("{phone}#{}", subscriber.as_str())),
        Scope::DeviceIp => Some(subscriber.as_str().to_owned()),
        Scope::DeviceNetwork => subscriber.ipv6_network().map(str::to_owned),
        Scope::PhoneNumber | Scope::PinsPerPhone => Some(phone.to_owned()),
        Scope::AddressShare | Scope::PinsAddressShare => Some(network.to_owned()),
        Scope::Global | Scope::PinBudget => Some("all".to_owned()),
    };
    let checks = |service_wide: bool| {
        limits
            .0
            .iter()
            .filter(move |(scope, _)| scope.is_service_wide() == service_wide)
            .filter_map(|&(scope, limit)| Some((scope, limit, subject(scope)?)))
            .collect::<Vec<_>>()
    };
    let mut admitted = Vec::new();
    for phase in [checks(false), checks(true)] {
        if phase.is_empty() {
            continue;
        }
        // Each phase at once: one round trip of latency, whatever the number of its limits.
        let counted = join_all(phase.into_iter().map(|(scope, limit, subject)| async move {
            count(counters, scope, limit, &subject, now).await
        }))
        .await;
        let (within, refused): (Vec<_>, Vec<_>) = counted.into_iter().partition(Result::is_ok);
        admitted.extend(within.into_iter().filter_map(Result::ok));
        // The limit a client can act on (429 and when to retry) before a storage failure (503).
        if let Some(refusal) = refused
            .into_iter()
            .filter_map(Result::err)
            .min_by_key(|e| !matches!(e, LimitError::Exceeded(_)))
        {
            take_back(counters, admitted, now).await;
            return Err(refusal);
        }
    }
    Ok(())
}

/// Best effort: a counter left one too high only makes its limit a little stricter.
async fn take_back(counters: &dyn Counters, keys: Vec<String>, now: Timestamp) {
    let returns = join_all(keys.iter().map(|key| counters.decrement(key, now))).await;
    for returned in returns {
        if let Err(e) = returned {
            tracing::warn!(error = %crate::error::chain(&e), "could not take a refused request back from a counter");
        }
    }
}

/// Counts one request on `scope`'s counter for `subject`: its key when within the limit; at the
/// limit nothing is written.
async fn count(
    counters: &dyn Counters,
    scope: Scope,
    limit: Limit,
    subject: &str,
    now: Timestamp,
) -> Result<String, LimitError> {
    let window_ms = (limit.window.as_millis() as u64).max(1);
    let index = now.as_millis() / window_ms;
    let ends = Timestamp::from_millis((index + 1).saturating_mul(window_ms));
    let key = format!(
        "limit#{}#{}#{index}#{subject}",
        scope.as_str(),
        limit.window.as_secs()
    );
    if counters.increment_below(&key, limit.max, ends, now).await? {
        return Ok(key);
    }
    // Whole seconds, rounded up: a client that waits exactly this long finds a new window.
    let retry_after =
        Duration::from_secs(ends.saturating_since(now).as_millis().div_ceil(1000) as u64);
    Err(LimitError::Exceeded(Exceeded { scope, retry_after }))
}
