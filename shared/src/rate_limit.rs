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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

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
#[derive(Debug, Clone, Default)]
pub struct RateLimits {
    limits: Vec<(Scope, Limit)>,
    /// Where the next service-wide count starts among the shards (see [`SHARDS`]).
    cursor: Arc<ShardCursor>,
}

impl PartialEq for RateLimits {
    fn eq(&self, other: &Self) -> bool {
        self.limits == other.limits
    }
}

impl Eq for RateLimits {}

impl RateLimits {
    /// `None` turns a limit off.
    pub fn new(limits: impl IntoIterator<Item = (Scope, Option<Limit>)>) -> Self {
        Self {
            limits: limits
                .into_iter()
                .filter_map(|(scope, limit)| Some((scope, limit?)))
                .collect(),
            cursor: Arc::default(),
        }
    }

    pub fn get(&self, scope: Scope) -> Option<Limit> {
        self.limits
            .iter()
            .find(|(s, _)| *s == scope)
            .map(|(_, l)| *l)
    }

    /// These limits and then `more`'s, counted as one request.
    pub fn and(&self, more: &RateLimits) -> RateLimits {
        Self {
            limits: self.limits.iter().chain(&more.limits).copied().collect(),
            cursor: self.cursor.clone(),
        }
    }
}

/// One process's place among the shards: a random one at first, then one on for each count, so
/// that a process spreads its requests evenly and processes do not move in step.
#[derive(Debug)]
struct ShardCursor(AtomicU64);

impl Default for ShardCursor {
    fn default() -> Self {
        let mut bytes = [0u8; 8];
        // Without randomness every process starts at shard 0: still correct, only less even.
        let _ = getrandom::fill(&mut bytes);
        Self(AtomicU64::new(u64::from_le_bytes(bytes)))
    }
}

impl ShardCursor {
    fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed)
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
    pub const ALL: [Scope; 9] = [
        Self::PhoneNumber,
        Self::DeviceIp,
        Self::DeviceNetwork,
        Self::PhoneAndDevice,
        Self::AddressShare,
        Self::Global,
        Self::PinsPerPhone,
        Self::PinsAddressShare,
        Self::PinBudget,
    ];

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
            .limits
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
            let cursor = limits.cursor.as_ref();
            count(
                counters,
                cursor,
                scope,
                limit,
                &subject,
                subscriber.as_str(),
                now,
            )
            .await
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

/// The service-wide counters are at most this many items each: one DynamoDB item takes at most
/// 1,000 writes a second, so one counter would cap the deployment near 1,000 starts a second; 16
/// take 10,000 a second at 625 writes each. The cap is split between them exactly (the shares add
/// up to it), so the service-wide count never exceeds the cap.
pub const SHARDS: u64 = 16;

/// The least share of a cap one shard holds: a small cap (a test stack's) is one item, counted
/// exactly; a cap of 800 or more is all 16.
pub const MIN_SHARE: u64 = 50;

/// How many shards a request tries before it is refused: a second when the first is full, so
/// that the count comes close to the cap before refusals begin: in 3,000 simulated runs of ten
/// environments starting at random shards, the first refusal came at 737 of 800 (8 % short) and
/// 1,531 of 1,600 (5 %) at the earliest, and the cap always filled; `limits.rs` measures it.
const SHARD_TRIES: u64 = 2;

/// At most this much is added to a refusal's `Retry-After`, and at most a tenth of the window:
/// refused clients told the same window end would otherwise all come back in the same second.
const MAX_JITTER: Duration = Duration::from_secs(30);

/// How many items a service-wide cap of `max` is counted in.
fn shards_for(max: u64) -> u64 {
    (max / MIN_SHARE).clamp(1, SHARDS)
}

/// Shard `shard`'s share of `max` over `shards`: the remainder goes to the first shards.
fn shard_share(max: u64, shards: u64, shard: u64) -> u64 {
    max / shards + u64::from(shard < max % shards)
}

/// Counts one request on `scope`'s counter for `subject`: its key when within the limit; at the
/// limit nothing is written. A service-wide counter is counted on one of its shards.
#[allow(clippy::too_many_arguments)]
async fn count(
    counters: &dyn Counters,
    cursor: &ShardCursor,
    scope: Scope,
    limit: Limit,
    subject: &str,
    caller: &str,
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
    if !scope.is_service_wide() {
        if counters.increment_below(&key, limit.max, ends, now).await? {
            return Ok(key);
        }
    } else {
        let shards = shards_for(limit.max);
        let first = match shards {
            1 => 0,
            _ => cursor.next(),
        };
        for attempt in 0..SHARD_TRIES.min(shards) {
            let shard = (first + attempt) % shards;
            let sharded = format!("{key}#{shard}");
            let share = shard_share(limit.max, shards, shard);
            if counters.increment_below(&sharded, share, ends, now).await? {
                return Ok(sharded);
            }
        }
    }
    let until_window_ends = ends.saturating_since(now);
    Err(LimitError::Exceeded(Exceeded {
        scope,
        retry_after: whole_seconds_up(until_window_ends + jitter(caller, limit.window)),
    }))
}

/// A caller's own offset past the window's end, the same for every refusal of that caller (so a
/// client is never told an earlier time than before), spread over callers.
fn jitter(caller: &str, window: Duration) -> Duration {
    let most = MAX_JITTER.min(window / 10).as_secs();
    if most == 0 {
        return Duration::ZERO;
    }
    let digest = Sha256::digest(caller.as_bytes());
    let seed = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
    Duration::from_secs(seed % (most + 1))
}

/// Whole seconds, rounded up: a client that waits exactly this long finds a new window.
fn whole_seconds_up(wait: Duration) -> Duration {
    Duration::from_secs(wait.as_millis().div_ceil(1000) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shards_shares_add_up_to_the_cap_exactly() {
        for max in [1, 7, 49, 50, 799, 800, 2000, 1_000_003] {
            let shards = shards_for(max);
            let total: u64 = (0..shards)
                .map(|shard| shard_share(max, shards, shard))
                .sum();
            assert_eq!(total, max);
            assert!(shards == 1 || (0..shards).all(|s| shard_share(max, shards, s) >= MIN_SHARE));
        }
        assert_eq!(
            (shards_for(20), shards_for(2000), shards_for(10_000_000)),
            (1, 16, 16)
        );
    }

    #[test]
    fn refused_callers_are_told_to_come_back_at_different_seconds() {
        let hour = Duration::from_secs(3600);
        let waits: std::collections::BTreeSet<u64> = (0..100)
            .map(|i| jitter(&format!("203.0.113.{i}"), hour).as_secs())
            .collect();
        assert!(waits.len() > 10, "{waits:?}");
        assert!(waits.iter().all(|w| *w <= 30));
        assert_eq!(jitter("203.0.113.1", hour), jitter("203.0.113.1", hour));
        assert_eq!(
            jitter("203.0.113.1", Duration::from_secs(5)),
            Duration::ZERO
        );
    }
}
