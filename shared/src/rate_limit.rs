//! Limits on starts, checked before Infobip is called: every start costs money and reaches a real
//! subscriber's carrier. Fixed-window counters kept in the store (one atomic increment each), so
//! that every Lambda instance sees the same count.

use std::fmt;
use std::time::Duration;

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

/// `None` turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub per_phone: Option<Limit>,
    pub per_ip: Option<Limit>,
}

/// A person retrying a failed verification needs a few attempts; a script walking through
/// someone's number needs many. Five per quarter hour separates the two.
pub const DEFAULT_PER_PHONE: Limit = Limit {
    max: 5,
    window: Duration::from_secs(900),
};

/// Mobile carriers put many subscribers behind one address (carrier-grade NAT), so this limit is
/// loose: it stops one machine from starting verifications for many numbers, not a busy carrier.
pub const DEFAULT_PER_IP: Limit = Limit {
    max: 60,
    window: Duration::from_secs(60),
};

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            per_phone: Some(DEFAULT_PER_PHONE),
            per_ip: Some(DEFAULT_PER_IP),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    PhoneNumber,
    DeviceIp,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PhoneNumber => "PhoneNumber",
            Self::DeviceIp => "DeviceIp",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PhoneNumber => "this phone number",
            Self::DeviceIp => "this network address",
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

/// Counts one start for the number hashed as `phone` from `subscriber` on both counters and refuses it if either limit is
/// exceeded (the address's first). Refused attempts count too: hammering a limit keeps it closed.
pub async fn admit(
    counters: &dyn Counters,
    limits: &RateLimits,
    phone: &PhoneHash,
    subscriber: &Subscriber,
    now: Timestamp,
) -> Result<(), LimitError> {
    // Both counters at once: one round trip of latency instead of two on every start.
    let (by_ip, by_phone) = tokio::join!(
        count(
            counters,
            Scope::DeviceIp,
            limits.per_ip,
            subscriber.as_str().to_owned(),
            now
        ),
        count(
            counters,
            Scope::PhoneNumber,
            limits.per_phone,
            phone.as_str().to_owned(),
            now
        ),
    );
    by_ip.and(by_phone)
}

async fn count(
    counters: &dyn Counters,
    scope: Scope,
    limit: Option<Limit>,
    subject: String,
    now: Timestamp,
) -> Result<(), LimitError> {
    let Some(limit) = limit else { return Ok(()) };
    let window_ms = (limit.window.as_millis() as u64).max(1);
    let index = now.as_millis() / window_ms;
    let ends = Timestamp::from_millis((index + 1).saturating_mul(window_ms));
    let key = format!(
        "limit#{}#{}#{index}#{subject}",
        scope.as_str(),
        limit.window.as_secs()
    );
    if counters.increment(&key, ends, now).await? <= limit.max {
        return Ok(());
    }
    // Whole seconds, rounded up: a client that waits exactly this long finds a new window.
    let retry_after =
        Duration::from_secs(ends.saturating_since(now).as_millis().div_ceil(1000) as u64);
    Err(LimitError::Exceeded(Exceeded { scope, retry_after }))
}
