//! The SIM-swap check: before each PIN (start) and before each assertion (poll).

use super::setting::{Env, Kind, Setting, Template};
use super::{ConfigError, Function};
use crate::sim_swap::{OnUnknownSwap, SimSwapPolicy};

const START_AND_POLL: &[Function] = &[Function::Start, Function::Poll];

/// A swap within this many hours stops an assertion and a PIN; 0 turns both checks off.
pub const SIM_SWAP_CHECK_HOURS: Setting = Setting::number(
    "SIM_SWAP_CHECK_HOURS",
    72,
    0..=2_400,
    START_AND_POLL,
    "SimSwapCheckHours",
);
/// No coverage refuses by default: a bank would rather send the user elsewhere than sign blind.
pub const SIM_SWAP_ON_UNKNOWN: Setting = Setting::new(
    "SIM_SWAP_ON_UNKNOWN",
    Kind::Choice {
        default: "deny",
        allowed: &["allow", "deny"],
    },
    START_AND_POLL,
    Template::Parameter("SimSwapOnUnknown"),
);
/// An answer is true when asked: an assertion is signed on one at most this old.
pub const SIM_SWAP_MAX_AGE_SECONDS: Setting = Setting::number(
    "SIM_SWAP_MAX_AGE_SECONDS",
    600,
    0..=600,
    START_AND_POLL,
    "SimSwapMaxAgeSeconds",
);

pub const SETTINGS: &[Setting] = &[
    SIM_SWAP_CHECK_HOURS,
    SIM_SWAP_ON_UNKNOWN,
    SIM_SWAP_MAX_AGE_SECONDS,
];

pub(super) fn policy(env: &Env<'_>) -> Result<SimSwapPolicy, ConfigError> {
    Ok(SimSwapPolicy {
        period_hours: env.number(&SIM_SWAP_CHECK_HOURS)? as u32,
        on_unknown: match env.choice(&SIM_SWAP_ON_UNKNOWN)? {
            "allow" => OnUnknownSwap::Allow,
            _ => OnUnknownSwap::Deny,
        },
        max_age: env.seconds(&SIM_SWAP_MAX_AGE_SECONDS)?,
    })
}
