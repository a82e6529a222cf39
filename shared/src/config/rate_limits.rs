//! The start limits, one family: each a count and a window, generated from one list; each
//! address's share of the service-wide caps; the PIN limits.

use std::time::Duration;

use super::setting::{Env, Setting, Template};
use super::{ConfigError, Function};
use crate::rate_limit::{Limit, RateLimits, Scope};

const START: &[Function] = &[Function::Start];

/// One limit's two settings.
#[derive(Debug, Clone, Copy)]
pub struct LimitSettings {
    pub scope: Scope,
    /// Starts per window; 0 turns the limit off.
    pub count: Setting,
    pub window: Setting,
}

macro_rules! limit {
    ($scope:expr, $name:literal, $parameter:literal, $count:literal per $window:literal) => {
        LimitSettings {
            scope: $scope,
            count: Setting::number(
                concat!("RATE_LIMIT_", $name),
                $count,
                0..=1_000_000,
                START,
                $parameter,
            )
            .in_template(Template::Differs {
                parameter: $parameter,
                why: "no MaxValue in the template: the code's bound is only a sanity check",
            }),
            window: Setting::number(
                concat!("RATE_LIMIT_", $name, "_WINDOW_SECONDS"),
                $window,
                1..=86_400,
                START,
                concat!($parameter, "WindowSeconds"),
            ),
        }
    };
}

/// In the order they are checked, the most specific first: a refusal names the first exceeded.
pub const LIMITS: [LimitSettings; 5] = [
    // One device retrying one number: three per quarter hour, below the number's own five, so a
    // single device cannot use up the number's allowance by itself.
    limit!(Scope::PhoneAndDevice, "PER_PHONE_AND_IP", "RateLimitPerPhoneAndIp", 3 per 900),
    // Mobile carriers put many subscribers behind one address (carrier-grade NAT), so this limit
    // is loose: it stops one machine from starting verifications for many numbers, not a busy
    // carrier.
    limit!(Scope::DeviceIp, "PER_IP", "RateLimitPerIp", 60 per 60),
    // Four /64s' worth of the per-address limit for a whole /48.
    limit!(Scope::DeviceNetwork, "PER_IPV6_48", "RateLimitPerIpv6Network", 240 per 60),
    // A person retrying a failed verification needs a few attempts; a script walking through
    // someone's number needs many. Five per quarter hour separates the two.
    limit!(Scope::PhoneNumber, "PER_PHONE", "RateLimitPerPhone", 5 per 900),
    // A small production's day: 2,000 starts an hour (about 48,000 a day) before the spend cap
    // refuses more. Size it to the traffic you expect, with headroom, and watch the alarm.
    limit!(Scope::Global, "GLOBAL", "RateLimitGlobal", 36000 per 3600),
];

/// One address (an IPv6 /48) may spend at most this share of the start cap per its window and
/// of the PIN budget per day: at 10 %, it takes ten addresses to exhaust either. Carrier-grade NAT
/// puts many subscribers behind one address: raise it where one carrier's pool carries much of
/// the traffic.
pub const RATE_LIMIT_ADDRESS_SHARE_PERCENT: Setting = Setting::number(
    "RATE_LIMIT_ADDRESS_SHARE_PERCENT",
    10,
    0..=100,
    START,
    "RateLimitAddressSharePercent",
);
/// Infobip's per-number 2FA limit `infobip-setup` sets, held here too: a resend is a send.
pub const PIN_MAX_PER_PHONE_PER_DAY: Setting = Setting::number(
    "PIN_MAX_PER_PHONE_PER_DAY",
    5,
    0..=100,
    START,
    "PinMaxPerPhonePerDay",
);
/// PINs a day, all numbers: the daily budget `infobip-setup` gives the 2FA application, counted
/// here so that each address's share of it can be.
pub const PIN_DAILY_BUDGET: Setting = Setting::number(
    "PIN_DAILY_BUDGET",
    1000,
    0..=10_000_000,
    START,
    "PinDailyBudget",
);

const DAY: Duration = Duration::from_secs(86_400);

pub fn settings() -> impl Iterator<Item = &'static Setting> {
    LIMITS.iter().flat_map(|l| [&l.count, &l.window]).chain([
        &RATE_LIMIT_ADDRESS_SHARE_PERCENT,
        &PIN_MAX_PER_PHONE_PER_DAY,
        &PIN_DAILY_BUDGET,
    ])
}

/// `share` percent of `cap`, rounded up (a share is never 0 of a cap that is on); `None` where
/// either is off.
fn share_of(cap: Option<Limit>, share: u64) -> Option<Limit> {
    let cap = cap?;
    (share > 0 && share < 100).then(|| Limit {
        max: (cap.max * share).div_ceil(100),
        window: cap.window,
    })
}

/// What a PIN send is counted on besides the start limits.
pub(super) fn pin_limits(env: &Env<'_>) -> Result<RateLimits, ConfigError> {
    let share = env.number(&RATE_LIMIT_ADDRESS_SHARE_PERCENT)?;
    let daily = |max: u64| (max > 0).then_some(Limit { max, window: DAY });
    let budget = daily(env.number(&PIN_DAILY_BUDGET)?);
    Ok(RateLimits::new([
        (
            Scope::PinsPerPhone,
            daily(env.number(&PIN_MAX_PER_PHONE_PER_DAY)?),
        ),
        (Scope::PinsAddressShare, share_of(budget, share)),
        (Scope::PinBudget, budget),
    ]))
}

pub(super) fn rate_limits(env: &Env<'_>) -> Result<RateLimits, ConfigError> {
    let mut limits = Vec::new();
    for family in &LIMITS {
        let max = env.number(&family.count)?;
        let window = env.seconds(&family.window)?;
        let limit = (max > 0).then_some(Limit { max, window });
        if family.scope == Scope::Global {
            let share = env.number(&RATE_LIMIT_ADDRESS_SHARE_PERCENT)?;
            limits.push((Scope::AddressShare, share_of(limit, share)));
        }
        limits.push((family.scope, limit));
    }
    Ok(RateLimits::new(limits))
}
