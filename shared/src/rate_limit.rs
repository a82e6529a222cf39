//! Limits on starts, checked before Infobip is called: every start costs money and reaches a real
//! subscriber's carrier. Fixed-window counters kept in the store (one atomic increment each), so
//! that every Lambda instance sees the same count.

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    PhoneNumber,
    DeviceIp,
    DeviceNetwork,
    PhoneAndDevice,
    Global,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PhoneNumber => "PhoneNumber",
            Self::DeviceIp => "DeviceIp",
            Self::DeviceNetwork => "DeviceNetwork",
            Self::PhoneAndDevice => "PhoneAndDevice",
            Self::Global => "Global",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PhoneNumber => "this phone number",
            Self::DeviceIp => "this network address",
            Self::DeviceNetwork => "this network",
            Self::PhoneAndDevice => "this phone number from this address",
            Self::Global => "this service at the moment",
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

/// Counts one start for the number hashed as `phone` from `subscriber` on every counter, and
/// refuses it if any limit is exceeded (the first in order of specificity: the device and number
/// first, the service last) or a counter cannot be updated. A refused start is taken back from
/// the counters it was counted on: a start refused for one reason does not use up another's
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
    let subject = |scope| match scope {
        Scope::PhoneAndDevice => Some(format!("{phone}#{}", subscriber.as_str())),
        Scope::DeviceIp => Some(subscriber.as_str().to_owned()),
        Scope::DeviceNetwork => subscriber.ipv6_network().map(str::to_owned),
        Scope::PhoneNumber => Some(phone.to_owned()),
        Scope::Global => Some("all".to_owned()),
    };
    let checks = limits
        .0
        .iter()
        .filter_map(|&(scope, limit)| Some((scope, limit, subject(scope)?)));
    // All at once: one round trip of latency on every start, whatever the number of limits.
    let counted = join_all(checks.map(|(scope, limit, subject)| async move {
        count(counters, scope, limit, &subject, now).await
    }))
    .await;
    let (within, refused): (Vec<_>, Vec<_>) = counted.into_iter().partition(Result::is_ok);
    // The limit a client can act on (429 and when to retry) before a storage failure (503).
    let Some(refusal) = refused
        .into_iter()
        .filter_map(Result::err)
        .min_by_key(|e| !matches!(e, LimitError::Exceeded(_)))
    else {
        return Ok(());
    };
    // Best effort: a counter left one too high only makes its limit a little stricter.
    let keys = within.into_iter().filter_map(Result::ok);
    for returned in
        join_all(keys.map(|key| async move { counters.decrement(&key, now).await })).await
    {
        if let Err(e) = returned {
            tracing::warn!(error = %crate::error::chain(&e), "could not take a refused start back from a counter");
        }
    }
    Err(refusal)
}

/// Counts one start on `scope`'s counter for `subject`: its key when within the limit.
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
    if counters.increment(&key, ends, now).await? <= limit.max {
        return Ok(key);
    }
    // Whole seconds, rounded up: a client that waits exactly this long finds a new window.
    let retry_after =
        Duration::from_secs(ends.saturating_since(now).as_millis().div_ceil(1000) as u64);
    Err(LimitError::Exceeded(Exceeded { scope, retry_after }))
}
