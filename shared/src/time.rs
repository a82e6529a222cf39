//! Wall-clock time as the domain sees it: milliseconds since the Unix epoch, read through a
//! [`Clock`] so that expiry rules can be tested without sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis)
    }

    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Whole seconds, rounded up, so that a DynamoDB TTL never fires before the domain's deadline.
    pub const fn as_secs_ceil(self) -> u64 {
        self.0.div_ceil(1000)
    }

    pub fn plus(self, duration: Duration) -> Self {
        Self(self.0.saturating_add(duration.as_millis() as u64))
    }

    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// RFC 3339 in UTC with second precision, e.g. `2026-11-27T19:30:00Z`.
    pub fn to_rfc3339(self) -> String {
        let time = UNIX_EPOCH + Duration::from_millis(self.0);
        humantime::format_rfc3339_seconds(time).to_string()
    }
}

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(since_epoch.as_millis() as u64)
    }
}

/// A clock that only moves when told to; for tests of expiry and TTL rules.
#[derive(Debug)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    pub fn starting_at(start: Timestamp) -> Self {
        Self(AtomicU64::new(start.0))
    }

    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_seconds_round_up_so_records_outlive_their_deadline() {
        assert_eq!(Timestamp::from_millis(1_000).as_secs_ceil(), 1);
        assert_eq!(Timestamp::from_millis(1_001).as_secs_ceil(), 2);
    }

    #[test]
    fn formats_as_utc_rfc3339() {
        let t = Timestamp::from_millis(1_795_000_000_500);
        assert_eq!(t.to_rfc3339(), "2026-11-18T11:06:40Z");
    }

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = ManualClock::starting_at(Timestamp::from_millis(10));
        assert_eq!(clock.now(), Timestamp::from_millis(10));
        clock.advance(Duration::from_secs(2));
        assert_eq!(clock.now(), Timestamp::from_millis(2_010));
    }
}
