//! What every function reads: the table, how long verifications wait and live; and the key that
//! names phone numbers, for the two functions that hash them.

use super::setting::{Env, Setting, Template, ALL_FUNCTIONS};
use super::{ConfigError, Function};
use crate::phone_hash::PhoneHashKey;
use crate::verification::Lifetimes;

pub const TABLE_NAME: Setting = Setting::required(
    "TABLE_NAME",
    ALL_FUNCTIONS,
    Template::Stack("the stack's own table"),
);
/// Long enough for a device to finish the operator's redirects and for Infobip's own device
/// timeout (error 305) to arrive; short enough that an abandoned attempt stops being PENDING.
pub const PENDING_TIMEOUT_SECONDS: Setting = Setting::number(
    "PENDING_TIMEOUT_SECONDS",
    300,
    10..=86_400,
    ALL_FUNCTIONS,
    "PendingTimeoutSeconds",
);
/// An hour covers an app that polls late or resumes from the background; the phone's ownership
/// proof is not something to keep for long.
pub const RECORD_TTL_SECONDS: Setting = Setting::number(
    "RECORD_TTL_SECONDS",
    3600,
    60..=2_592_000,
    ALL_FUNCTIONS,
    "RecordTtlSeconds",
);
/// Names phone numbers in rate-limit counters and Idempotency-Key records (start), and compares
/// the number a redeem names with the one verified (poll).
pub const PHONE_HASH_KEY: Setting = Setting::required(
    "PHONE_HASH_KEY",
    &[Function::Start, Function::Poll],
    Template::Stack("a Secrets Manager dynamic reference"),
);

pub const SETTINGS: &[Setting] = &[
    TABLE_NAME,
    PENDING_TIMEOUT_SECONDS,
    RECORD_TTL_SECONDS,
    PHONE_HASH_KEY,
];

/// What every function reads.
#[derive(Debug, Clone)]
pub struct CommonConfig {
    pub table_name: String,
    pub lifetimes: Lifetimes,
}

impl CommonConfig {
    pub(super) fn read_common(env: &Env<'_>) -> Result<Self, ConfigError> {
        let table_name = env.required(&TABLE_NAME)?;
        let pending_timeout = env.seconds(&PENDING_TIMEOUT_SECONDS)?;
        let record_lifetime = env.seconds(&RECORD_TTL_SECONDS)?;
        if record_lifetime < pending_timeout {
            return Err(ConfigError {
                name: RECORD_TTL_SECONDS.name,
                problem: "must not be shorter than PENDING_TIMEOUT_SECONDS (a PENDING record would vanish instead of expiring)".into(),
            });
        }
        Ok(Self {
            table_name,
            lifetimes: Lifetimes {
                pending_timeout,
                record_lifetime,
            },
        })
    }
}

pub(super) fn phone_hash_key(env: &Env<'_>) -> Result<PhoneHashKey, ConfigError> {
    PhoneHashKey::new(env.required(&PHONE_HASH_KEY)?.into_bytes()).map_err(|e| ConfigError {
        name: PHONE_HASH_KEY.name,
        problem: e.to_string(),
    })
}
