//! The start limits, one family: each a count and a window, generated from one list.

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
    limit!(Scope::Global, "GLOBAL", "RateLimitGlobal", 2000 per 3600),
];

pub fn settings() -> impl Iterator<Item = &'static Setting> {
    LIMITS.iter().flat_map(|l| [&l.count, &l.window])
}

pub(super) fn rate_limits(env: &Env<'_>) -> Result<RateLimits, ConfigError> {
    let mut limits = Vec::new();
    for family in &LIMITS {
        let max = env.number(&family.count)?;
        let window = env.seconds(&family.window)?;
        limits.push((family.scope, (max > 0).then_some(Limit { max, window })));
    }
    Ok(RateLimits::new(limits))
}
