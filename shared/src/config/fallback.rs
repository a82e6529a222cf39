//! The PIN fallback: where and when it is offered (start and poll), and how PINs are sent and
//! checked (start only).

use super::setting::{Env, Kind, Setting, Template};
use super::{ConfigError, Function};
use crate::fallback::{Channel, OfferPolicy, PinPolicy};

const START: &[Function] = &[Function::Start];
const START_AND_POLL: &[Function] = &[Function::Start, Function::Poll];

/// ISO 3166 alpha-2 codes; empty turns fallback off (SMS pumping goes where it is allowed).
pub const FALLBACK_COUNTRIES: Setting =
    Setting::text("FALLBACK_COUNTRIES", START_AND_POLL, "FallbackCountries");
pub const FALLBACK_AFTER_SECONDS: Setting = Setting::number(
    "FALLBACK_AFTER_SECONDS",
    60,
    10..=3_600,
    START_AND_POLL,
    "FallbackAfterSeconds",
);
/// INVALID is evidence that the device does not hold the number: no PIN unless wanted.
pub const FALLBACK_ON_INVALID: Setting = Setting::flag(
    "FALLBACK_ON_INVALID",
    false,
    START_AND_POLL,
    "FallbackOnInvalid",
);
/// The channels a PIN may go by; voice costs more and is the usual toll-fraud vector.
pub const FALLBACK_CHANNELS: Setting = Setting::new(
    "FALLBACK_CHANNELS",
    Kind::Text {
        default: Some("sms,voice"),
    },
    START_AND_POLL,
    Template::Parameter("FallbackChannels"),
);
pub const PIN_MAX_SENDS: Setting =
    Setting::number("PIN_MAX_SENDS", 3, 1..=10, START, "PinMaxSends");
pub const PIN_MAX_ATTEMPTS: Setting =
    Setting::number("PIN_MAX_ATTEMPTS", 5, 1..=10, START, "PinMaxAttempts");
pub const TWOFA_APPLICATION_ID: Setting =
    Setting::text("TWOFA_APPLICATION_ID", START, "TwofaApplicationId");
pub const TWOFA_MESSAGE_ID: Setting = Setting::text("TWOFA_MESSAGE_ID", START, "TwofaMessageId");

pub const SETTINGS: &[Setting] = &[
    FALLBACK_COUNTRIES,
    FALLBACK_AFTER_SECONDS,
    FALLBACK_ON_INVALID,
    FALLBACK_CHANNELS,
    PIN_MAX_SENDS,
    PIN_MAX_ATTEMPTS,
    TWOFA_APPLICATION_ID,
    TWOFA_MESSAGE_ID,
];

/// What the start function reads of the fallback.
#[derive(Debug, Clone)]
pub struct FallbackConfig {
    pub offer: OfferPolicy,
    pub pins: PinPolicy,
    /// The 2FA application and message template PINs are sent with; `None` while fallback is off.
    pub twofa: Option<TwoFactorIds>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwoFactorIds {
    pub application_id: String,
    pub message_id: String,
}

impl FallbackConfig {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let offer = offer(env)?;
        let pins = PinPolicy {
            max_sends: env.number(&PIN_MAX_SENDS)? as u32,
            max_attempts: env.number(&PIN_MAX_ATTEMPTS)? as u32,
        };
        // Read whether or not fallback is on, so that a function reads the same variables always.
        let ids = (env.text(&TWOFA_APPLICATION_ID), env.text(&TWOFA_MESSAGE_ID));
        let twofa = match ids {
            (Some(application_id), Some(message_id)) => Some(TwoFactorIds {
                application_id,
                message_id,
            }),
            _ if offer.is_on() => {
                return Err(ConfigError {
                    name: TWOFA_APPLICATION_ID.name,
                    problem: "and TWOFA_MESSAGE_ID must be set when FALLBACK_COUNTRIES is (create them with `smv-local infobip-setup`)".into(),
                })
            }
            _ => None,
        };
        Ok(Self { offer, pins, twofa })
    }
}

/// What every function that speaks of fallback reads: the countries, the deadline, INVALID.
pub(super) fn offer(env: &Env<'_>) -> Result<OfferPolicy, ConfigError> {
    let countries = env
        .list(&FALLBACK_COUNTRIES)
        .into_iter()
        .map(|c| {
            crate::phone::iso_country(&c).ok_or_else(|| ConfigError {
                name: FALLBACK_COUNTRIES.name,
                problem: format!(
                    "must be ISO 3166 alpha-2 codes like GB,DE, comma-separated (got {:?})",
                    c.to_ascii_uppercase()
                ),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let channels = env
        .list(&FALLBACK_CHANNELS)
        .iter()
        .map(|c| {
            Channel::parse(&c.to_ascii_lowercase()).ok_or_else(|| ConfigError {
                name: FALLBACK_CHANNELS.name,
                problem: format!("must be sms, voice or both, comma-separated (got {c:?})"),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if channels.is_empty() {
        return Err(ConfigError {
            name: FALLBACK_CHANNELS.name,
            problem: "must name at least one channel (turn fallback off with FALLBACK_COUNTRIES)"
                .into(),
        });
    }
    Ok(OfferPolicy {
        channels,
        countries,
        after: env.seconds(&FALLBACK_AFTER_SECONDS)?,
        on_invalid: env.flag(&FALLBACK_ON_INVALID)?,
    })
}
