//! A verification's PIN fallback as a state machine, and the pure rules over it: when a PIN may
//! be sent or sent again, when one can be checked, how many attempts remain.
//!
//! ```text
//! (no PIN) ──claim──▶ Sending ──Infobip's pinId──▶ Live ──right PIN──▶ Verified (VALID by PIN)
//!                        ▲                          │ └─ no attempts left, expired ─▶ Dead
//!                        └──── claim a new PIN ◀────┴──────────────── Dead ◀─┘
//! ```
//! A resend of a Live PIN stays Live; a Sending claim whose send failed is given back.

use std::time::Duration;

use super::{
    is_no_evidence, is_sim_swap, Channel, Method, OfferPolicy, PinId, PinPolicy, PinRefusal,
    Refusal, PIN_LIFETIME,
};
use crate::sim_swap::SimSwapPolicy;
use crate::time::Timestamp;
use crate::verification::{State, Status, Verification, VerificationResult};

/// How long a SIM-swap answer stands for the next PIN send: a resend within it reuses the answer,
/// a later one asks again (a swap between two sends must stop the second).
pub const SIM_SWAP_ANSWER_REUSE: Duration = Duration::from_secs(60);

/// The PIN fallback's state (a swap found is [`crate::sim_swap::SimSwapState`]'s).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FallbackState {
    pub pin: Option<PinState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinState {
    pub channel: Channel,
    pub sends: u32,
    pub first_sent_at: Timestamp,
    pub last_sent_at: Timestamp,
    /// PIN checks made: ours to cap, whatever Infobip allows.
    pub attempts: u32,
    pub phase: PinPhase,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinPhase {
    /// A new PIN's send is claimed and Infobip has not answered: nothing to check against yet.
    Sending,
    /// Sent: checks go to Infobip with its id (kept server-side only).
    Live(PinId),
    /// No attempt can succeed any more: none left, expired, or Infobip no longer knows it.
    Dead,
    /// Infobip said the PIN was right: the verification is VALID by this channel.
    Verified,
}

impl PinPhase {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Live(_) => "live",
            Self::Dead => "dead",
            Self::Verified => "verified",
        }
    }
}

/// Infobip's answer to a PIN check, in our terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinVerdict {
    Verified,
    /// Wrong; Infobip's count of the attempts left, where it gives one.
    Wrong {
        attempts_remaining: Option<u32>,
    },
    /// No attempt can succeed: none left, expired, or Infobip no longer knows the PIN.
    Expired,
}

/// Why no PIN may be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendRefusal {
    /// `PIN_MAX_SENDS` reached.
    Limit,
    TooSoon {
        retry_after: Duration,
    },
}

impl PinState {
    /// A send now would be a new PIN: none was ever delivered, or the last one is dead.
    pub fn needs_new_pin(&self) -> bool {
        matches!(self.phase, PinPhase::Sending | PinPhase::Dead)
    }

    /// Another send (the same PIN or a new one): after a wait that grows with each send, at most
    /// `max_sends` in all.
    pub fn may_send_again(&self, policy: &PinPolicy, now: Timestamp) -> Result<(), SendRefusal> {
        if self.sends >= policy.max_sends {
            return Err(SendRefusal::Limit);
        }
        let ready_at = self.last_sent_at.plus(PinPolicy::resend_wait(self.sends));
        match now < ready_at {
            true => Err(SendRefusal::TooSoon {
                retry_after: ready_at.saturating_since(now).max(Duration::from_secs(1)),
            }),
            false => Ok(()),
        }
    }

    /// The attempts left by our cap and by Infobip's count, whichever is fewer.
    pub fn attempts_remaining(&self, policy: &PinPolicy, theirs: Option<u32>) -> u32 {
        let ours = policy.max_attempts.saturating_sub(self.attempts);
        theirs.map_or(ours, |theirs| theirs.min(ours))
    }

    /// One more send by `channel` claimed at `now`, after `previous`: a new PIN where one is
    /// needed, else the live one again.
    pub fn claim(previous: Option<&PinState>, channel: Channel, now: Timestamp) -> Self {
        let phase = match previous.map(|p| &p.phase) {
            Some(live @ PinPhase::Live(_)) => live.clone(),
            _ => PinPhase::Sending,
        };
        Self {
            channel,
            sends: previous.map_or(0, |p| p.sends) + 1,
            first_sent_at: previous.map_or(now, |p| p.first_sent_at),
            last_sent_at: now,
            attempts: previous.map_or(0, |p| p.attempts),
            phase,
        }
    }
}

impl Verification {
    /// How a VALID verification was reached.
    pub fn method(&self) -> Method {
        match &self.fallback.pin {
            Some(pin) if pin.phase == PinPhase::Verified => Method::Pin(pin.channel),
            _ => Method::Silent(self.silent_method),
        }
    }

    pub fn verified_by_pin(&self) -> bool {
        matches!(self.method(), Method::Pin(_))
    }

    /// Whether a PIN sent now must be preceded by a SIM-swap check: the check is on, and no
    /// answer younger than [`SIM_SWAP_ANSWER_REUSE`] cleared the number.
    pub fn needs_sim_swap_check(&self, policy: &SimSwapPolicy, now: Timestamp) -> bool {
        policy.is_on()
            && self
                .clearance_younger_than(SIM_SWAP_ANSWER_REUSE, now)
                .is_none()
    }

    /// Why a PIN may not be sent now, by `policy`; `None` when it may. The country is checked
    /// apart: there the number, not the moment, is the problem.
    pub fn fallback_refusal(&self, now: Timestamp, policy: &OfferPolicy) -> Option<Refusal> {
        if !self.exists_at(now) || self.verified_by_pin() {
            return Some(Refusal::Final);
        }
        if self.sim_swap.swapped {
            return Some(Refusal::SimSwap);
        }
        match self.status(now) {
            Status::Pending if now >= self.created_at.plus(policy.after) => None,
            Status::Pending => Some(Refusal::Pending),
            Status::Invalid if policy.on_invalid && !self.ended_after_a_send() => None,
            Status::Invalid => Some(Refusal::Invalid),
            Status::Error => match self.error_id() {
                Some(id) if is_sim_swap(id) => Some(Refusal::SimSwap),
                Some(id) if is_no_evidence(id) => None,
                _ => Some(Refusal::Final),
            },
            Status::Valid | Status::Expired => Some(Refusal::Final),
        }
    }

    /// The PIN a check may be made against, or why none can. A silent result that arrived after
    /// the PIN was sent ends it, unless it is an error that says nothing about the number.
    pub fn checkable_pin(&self, now: Timestamp, max_attempts: u32) -> Result<&PinId, PinRefusal> {
        let pin = self.fallback.pin.as_ref().ok_or(PinRefusal::NotSent)?;
        let pin_id = match &pin.phase {
            PinPhase::Sending => return Err(PinRefusal::NotSent),
            PinPhase::Dead | PinPhase::Verified => return Err(PinRefusal::Expired),
            PinPhase::Live(pin_id) => pin_id,
        };
        let expired = !self.exists_at(now) || now >= pin.last_sent_at.plus(PIN_LIFETIME);
        if pin.attempts >= max_attempts || expired || self.sim_swap.swapped {
            return Err(PinRefusal::Expired);
        }
        let alive = match self.status(now) {
            Status::Pending => true,
            Status::Error => self.error_id().is_some_and(is_no_evidence),
            Status::Invalid => !self.ended_after_a_send(),
            Status::Valid | Status::Expired => false,
        };
        match alive {
            true => Ok(pin_id),
            false => Err(PinRefusal::Expired),
        }
    }

    /// This verification with one more send by `channel` claimed at `now`, and that PIN state. A
    /// PENDING verification stays open as long as its PIN can be entered.
    pub fn with_send_claimed(&self, channel: Channel, now: Timestamp) -> (Self, PinState) {
        let pin = PinState::claim(self.fallback.pin.as_ref(), channel, now);
        let mut claimed = self.clone();
        claimed.fallback.pin = Some(pin.clone());
        if matches!(claimed.state, State::Pending) {
            let pin_until = now.plus(PIN_LIFETIME).min(claimed.expires_at);
            claimed.pending_until = claimed.pending_until.max(pin_until);
        }
        (claimed, pin)
    }

    /// With the PIN's phase changed; `None` when there is no PIN.
    pub fn with_pin_phase(&self, phase: PinPhase) -> Option<Self> {
        let mut next = self.clone();
        next.fallback.pin.as_mut()?.phase = phase;
        Some(next)
    }

    /// With one more PIN check counted.
    pub fn with_pin_attempt(&self) -> Self {
        let mut next = self.clone();
        if let Some(pin) = next.fallback.pin.as_mut() {
            pin.attempts += 1;
        }
        next
    }

    /// VALID by the PIN, at `now`: the one transition that makes a PIN verification VALID.
    pub fn with_pin_verified(&self, now: Timestamp) -> Option<Self> {
        let mut next = self.with_pin_phase(PinPhase::Verified)?;
        next.state = State::Completed {
            result: VerificationResult::Valid,
            at: now,
        };
        Some(next)
    }

    fn error_id(&self) -> Option<i32> {
        self.result().and_then(|r| r.error()).map(|e| e.id)
    }

    /// A silent result that arrived once a PIN had been sent.
    fn ended_after_a_send(&self) -> bool {
        match (&self.state, &self.fallback.pin) {
            (State::Completed { at, .. }, Some(pin)) => *at >= pin.first_sent_at,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim_swap::OnUnknownSwap;
    use crate::verification::ErrorInfo;

    const T0: Timestamp = Timestamp::from_millis(1_795_000_000_000);
    const SWAPS: SimSwapPolicy = SimSwapPolicy {
        period_hours: 72,
        on_unknown: OnUnknownSwap::Deny,
        max_age: Duration::from_secs(600),
    };
    const POLICY: PinPolicy = PinPolicy {
        max_sends: 3,
        max_attempts: 5,
    };

    fn at(secs: u64) -> Timestamp {
        T0.plus(Duration::from_secs(secs))
    }

    fn offer() -> OfferPolicy {
        OfferPolicy {
            countries: vec!["GB".into()],
            after: Duration::from_secs(60),
            on_invalid: false,
            channels: Channel::ALL.to_vec(),
        }
    }

    fn pending() -> Verification {
        crate::verification::pending_fixture(T0)
    }

    fn errored(id: i32) -> Verification {
        let mut v = pending();
        v.state = State::Completed {
            result: VerificationResult::Error(Some(ErrorInfo {
                id,
                name: String::new(),
                description: String::new(),
            })),
            at: at(1),
        };
        v
    }

    fn live(v: &Verification, now: Timestamp) -> Verification {
        let (claimed, _) = v.with_send_claimed(Channel::Sms, now);
        let id = PinId::parse("9C817C6F8AF3D48F9FE553282AFA2B67").unwrap();
        claimed.with_pin_phase(PinPhase::Live(id)).unwrap()
    }

    #[test]
    fn only_errors_without_evidence_fall_back_and_a_swap_never_does() {
        for id in [100, 101, 303, 305, 306, 1000] {
            assert_eq!(errored(id).fallback_refusal(at(2), &offer()), None, "{id}");
        }
        for id in [309, 310] {
            assert_eq!(
                errored(id).fallback_refusal(at(2), &offer()),
                Some(Refusal::SimSwap)
            );
        }
        assert_eq!(
            errored(400).fallback_refusal(at(2), &offer()),
            Some(Refusal::Final)
        );
        assert_eq!(
            pending().fallback_refusal(at(59), &offer()),
            Some(Refusal::Pending)
        );
        assert_eq!(pending().fallback_refusal(at(60), &offer()), None);
    }

    #[test]
    fn a_pin_waits_longer_before_each_resend_and_stops_at_the_cap() {
        let first = PinState::claim(None, Channel::Sms, at(0));
        assert_eq!((first.sends, first.phase.clone()), (1, PinPhase::Sending));
        assert_eq!(
            first.may_send_again(&POLICY, at(10)),
            Err(SendRefusal::TooSoon {
                retry_after: Duration::from_secs(20)
            })
        );
        assert_eq!(first.may_send_again(&POLICY, at(30)), Ok(()));
        let second = PinState::claim(Some(&first), Channel::Voice, at(30));
        assert!(second.may_send_again(&POLICY, at(89)).is_err());
        let third = PinState::claim(Some(&second), Channel::Sms, at(90));
        assert_eq!(
            third.may_send_again(&POLICY, at(10_000)),
            Err(SendRefusal::Limit)
        );
        assert_eq!((third.sends, third.first_sent_at), (3, at(0)));
    }

    #[test]
    fn a_live_pin_is_sent_again_and_a_dead_one_is_replaced() {
        let v = live(&pending(), at(61));
        let pin = v.fallback.pin.as_ref().unwrap();
        assert!(!pin.needs_new_pin());
        let again = PinState::claim(Some(pin), Channel::Voice, at(91));
        assert!(matches!(again.phase, PinPhase::Live(_)));
        let dead = v.with_pin_phase(PinPhase::Dead).unwrap();
        let dead_pin = dead.fallback.pin.as_ref().unwrap();
        assert!(dead_pin.needs_new_pin());
        assert_eq!(
            PinState::claim(Some(dead_pin), Channel::Sms, at(91)).phase,
            PinPhase::Sending
        );
    }

    #[test]
    fn attempts_remaining_are_the_fewer_of_ours_and_infobips() {
        let mut pin = PinState::claim(None, Channel::Sms, at(0));
        pin.attempts = 2;
        assert_eq!(pin.attempts_remaining(&POLICY, None), 3);
        assert_eq!(pin.attempts_remaining(&POLICY, Some(1)), 1);
        assert_eq!(pin.attempts_remaining(&POLICY, Some(9)), 3);
        pin.attempts = 7;
        assert_eq!(pin.attempts_remaining(&POLICY, None), 0);
    }

    #[test]
    fn a_pin_is_checkable_only_while_live_unexpired_and_unended() {
        let v = live(&pending(), at(61));
        assert!(v.checkable_pin(at(62), 5).is_ok());
        assert_eq!(v.checkable_pin(at(61 + 600), 5), Err(PinRefusal::Expired));
        assert_eq!(
            v.with_pin_attempt().checkable_pin(at(62), 1),
            Err(PinRefusal::Expired)
        );
        let (sending, _) = pending().with_send_claimed(Channel::Sms, at(61));
        assert_eq!(sending.checkable_pin(at(62), 5), Err(PinRefusal::NotSent));
        let mut late_invalid = v.clone();
        late_invalid.state = State::Completed {
            result: VerificationResult::Invalid,
            at: at(70),
        };
        assert_eq!(
            late_invalid.checkable_pin(at(71), 5),
            Err(PinRefusal::Expired)
        );
        // The claim keeps a PENDING verification open as long as its PIN can be entered.
        assert_eq!(v.pending_until, at(61 + 600));
    }

    #[test]
    fn every_send_is_checked_for_a_sim_swap_unless_an_answer_is_under_a_minute_old() {
        let mut v = pending();
        assert!(v.needs_sim_swap_check(&SWAPS, at(61)));
        v.sim_swap.cleared_at = Some(at(61));
        assert!(!v.needs_sim_swap_check(&SWAPS, at(120)));
        assert!(v.needs_sim_swap_check(&SWAPS, at(121)));
        let off = SimSwapPolicy {
            period_hours: 0,
            ..SWAPS
        };
        assert!(!pending().needs_sim_swap_check(&off, at(61)));
    }

    #[test]
    fn verified_by_pin_is_valid_by_its_channel_and_ends_the_fallback() {
        let v = live(&errored(306), at(2)).with_pin_verified(at(3)).unwrap();
        assert_eq!(v.status(at(4)), Status::Valid);
        assert_eq!(v.method(), Method::Pin(Channel::Sms));
        assert_eq!(v.fallback_refusal(at(4), &offer()), Some(Refusal::Final));
        assert_eq!(v.checkable_pin(at(4), 5), Err(PinRefusal::Expired));
        assert_eq!(pending().with_pin_verified(at(3)), None);
    }
}
