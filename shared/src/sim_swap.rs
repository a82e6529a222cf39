//! A swapped SIM defeats every carrier-based check: after a swap the carrier recognises the new
//! SIM as the number's subscriber, so silent verification answers VALID and a PIN reaches the new
//! SIM. So nothing that proves the number (an assertion, a PIN send) goes out without a SIM-swap
//! answer that is recent enough; a swap found ends the verification for good.
//!
//! ```text
//! redeem / PIN send ──answer older than allowed──▶ ask Infobip ──not swapped──▶ cleared at now
//!                                                     ├── swapped ──▶ ERROR 310, no assertion, no PIN
//!                                                     └── cannot say ──▶ SIM_SWAP_ON_UNKNOWN decides
//! ```

use std::time::Duration;

use crate::time::Timestamp;
use crate::verification::{ErrorInfo, State, Status, Verification, VerificationResult};

/// Infobip's error for a swapped SIM (`EC_SIM_SWAP_DETECTED`): a swap our own check finds ends the
/// verification with it, so that the app sees the same outcome whichever side found the swap.
pub const SIM_SWAP_DETECTED: i32 = 310;

/// What to do when the SIM-swap check cannot say (the carrier is not covered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnUnknownSwap {
    /// Go on: an assertion then carries no `sim_swap_checked_at`, so a relying party can tell.
    Allow,
    Deny,
}

/// `SIM_SWAP_*`: read by the start function (before each PIN) and the poll function (before each
/// assertion).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimSwapPolicy {
    /// A swap within this many hours counts; 0 turns every check off.
    pub period_hours: u32,
    pub on_unknown: OnUnknownSwap,
    /// The oldest answer an assertion may be signed on.
    pub max_age: Duration,
}

impl SimSwapPolicy {
    pub fn is_on(&self) -> bool {
        self.period_hours > 0
    }
}

/// What one check said, in the terms a decision needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clearance {
    /// Not swapped within the period, as asked at this moment.
    Cleared(Timestamp),
    /// No check could say and the policy lets it pass (or the check is off): nothing to claim.
    Unchecked,
}

impl Clearance {
    /// When the check that cleared the number ran (the assertion's `sim_swap_checked_at`).
    pub fn checked_at(self) -> Option<Timestamp> {
        match self {
            Self::Cleared(at) => Some(at),
            Self::Unchecked => None,
        }
    }
}

/// The SIM-swap side of a verification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimSwapState {
    /// A check found a swap: no assertion and no PIN, ever.
    pub swapped: bool,
    /// When the last check that found no swap ran.
    pub cleared_at: Option<Timestamp>,
}

impl Verification {
    /// The standing answer, if one younger than `max_age` cleared this number.
    pub fn clearance_younger_than(&self, max_age: Duration, now: Timestamp) -> Option<Timestamp> {
        self.sim_swap
            .cleared_at
            .filter(|at| now < at.plus(max_age) && *at <= now)
    }

    /// A swap was found at `now`: the verification ends (a PENDING or VALID one as ERROR 310, so
    /// poll, redeem and fallback all refuse), and stays refused whatever arrives later.
    pub fn with_sim_swap_found(&self, now: Timestamp) -> Self {
        let mut next = self.clone();
        next.sim_swap.swapped = true;
        if matches!(self.status(now), Status::Pending | Status::Valid) {
            next.state = State::Completed {
                result: VerificationResult::Error(Some(sim_swap_detected())),
                at: now,
            };
        }
        next
    }
}

/// The error object a verification our check found swapped ends with: Infobip's own for 310.
pub fn sim_swap_detected() -> ErrorInfo {
    ErrorInfo {
        id: SIM_SWAP_DETECTED,
        name: "EC_SIM_SWAP_DETECTED".into(),
        description: "The number's SIM was changed recently.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_millis(1_795_000_000_000);

    fn at(secs: u64) -> Timestamp {
        T0.plus(Duration::from_secs(secs))
    }

    fn pending() -> Verification {
        crate::verification::pending_fixture(T0)
    }

    #[test]
    fn a_swap_ends_pending_and_valid_verifications_but_keeps_other_results() {
        let found = pending().with_sim_swap_found(at(5));
        assert_eq!(found.status(at(6)), Status::Error);
        assert_eq!(found.result().unwrap().error().unwrap().id, 310);
        assert!(found.sim_swap.swapped);
        let mut invalid = pending();
        invalid.state = State::Completed {
            result: VerificationResult::Invalid,
            at: at(1),
        };
        assert_eq!(
            invalid.with_sim_swap_found(at(5)).status(at(6)),
            Status::Invalid
        );
    }

    #[test]
    fn an_answer_stands_only_while_younger_than_the_maximum_age() {
        let mut v = pending();
        assert_eq!(
            v.clearance_younger_than(Duration::from_secs(600), at(1)),
            None
        );
        v.sim_swap.cleared_at = Some(at(10));
        let max = Duration::from_secs(600);
        assert_eq!(v.clearance_younger_than(max, at(609)), Some(at(10)));
        assert_eq!(v.clearance_younger_than(max, at(610)), None);
    }
}
