//! The SIM-swap check both the PIN send and the redeem make: ask Infobip, decide by the policy,
//! and end the verification for good when the SIM was swapped.

use tracing::warn;

use crate::error::AppError;
use crate::infobip::{SimSwap, SimSwapChecker};
use crate::metrics::{Metric, MetricsSink};
use crate::phone::PhoneNumber;
use crate::sim_swap::{Clearance, OnUnknownSwap, SimSwapPolicy};
use crate::store::Verifications;
use crate::time::Timestamp;
use crate::verification::Verification;

/// The ports a check needs.
pub struct Checker<'a> {
    pub sim_swaps: &'a dyn SimSwapChecker,
    pub verifications: &'a dyn Verifications,
    pub metrics: &'a dyn MetricsSink,
    pub policy: &'a SimSwapPolicy,
}

impl Checker<'_> {
    /// Asks Infobip now whether `phone`'s SIM changed within the period. A swap is recorded on
    /// `read` (ERROR 310, for good) and refused; no coverage is refused or let through by
    /// `SIM_SWAP_ON_UNKNOWN`. An Infobip that does not answer is not "no coverage": the caller is
    /// told to retry, and nothing is let through on an outage.
    pub async fn check(
        &self,
        read: &Verification,
        phone: &PhoneNumber,
        now: Timestamp,
    ) -> Result<Clearance, AppError> {
        if !self.policy.is_on() {
            return Ok(Clearance::Unchecked);
        }
        let answer = self
            .sim_swaps
            .check(phone, self.policy.period_hours)
            .await?;
        match answer {
            SimSwap::NotSwapped => Ok(Clearance::Cleared(now)),
            SimSwap::Unknown => match self.policy.on_unknown {
                OnUnknownSwap::Allow => Ok(Clearance::Unchecked),
                OnUnknownSwap::Deny => Err(AppError::SimSwapUnknown),
            },
            SimSwap::Swapped => {
                self.metrics.emit(&Metric::SimSwapDetected);
                warn!(token = %read.token, phone = %phone.masked(), "SIM swap detected: the verification ends");
                let swapped = read.with_sim_swap_found(now);
                // Recorded if nothing else wrote meanwhile; refused either way.
                if !self.verifications.replace(read.version, &swapped).await? {
                    warn!(token = %read.token, "could not record the SIM swap: the verification changed meanwhile");
                }
                Err(AppError::SimSwapDetected)
            }
        }
    }
}
