//! What every function reads: the table, how long verifications wait and live; and the key that
//! names phone numbers and the one that tags return URLs, for the two functions that use them.

use super::setting::{Env, Setting, Template, ALL_FUNCTIONS};
use super::{ConfigError, Function};
use crate::device_return::ReturnKey;
use crate::keys::{FromSecret, GivenKey, KeySource};
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
/// the number a redeem names with the one verified (poll). Deployed: the Secrets Manager secret
/// (read at run time, never in the function's configuration); locally: the key itself.
pub const PHONE_HASH_KEY_SECRET_ARN: Setting = Setting::secret(
    "PHONE_HASH_KEY_SECRET_ARN",
    START_AND_POLL,
    "the PhoneHashKeySecret parameter",
);
pub const PHONE_HASH_KEY: Setting = Setting::local_key("PHONE_HASH_KEY", START_AND_POLL);
/// Tags return URLs and derives device codes (start, poll): its own key, so that rotating it
/// touches nothing else.
pub const RETURN_KEY_SECRET_ARN: Setting = Setting::secret(
    "RETURN_KEY_SECRET_ARN",
    START_AND_POLL,
    "the ReturnKeySecret the stack generates",
);
pub const RETURN_KEY: Setting = Setting::local_key("RETURN_KEY", START_AND_POLL);

const START_AND_POLL: &[Function] = &[Function::Start, Function::Poll];

pub const SETTINGS: &[Setting] = &[
    TABLE_NAME,
    PENDING_TIMEOUT_SECONDS,
    RECORD_TTL_SECONDS,
    PHONE_HASH_KEY_SECRET_ARN,
    PHONE_HASH_KEY,
    RETURN_KEY_SECRET_ARN,
    RETURN_KEY,
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

pub(super) fn phone_hash_key(env: &Env<'_>) -> Result<KeySource, ConfigError> {
    key_source::<PhoneHashKey>(env, &PHONE_HASH_KEY_SECRET_ARN, &PHONE_HASH_KEY)
}

pub(super) fn return_key(env: &Env<'_>) -> Result<KeySource, ConfigError> {
    key_source::<ReturnKey>(env, &RETURN_KEY_SECRET_ARN, &RETURN_KEY)
}

/// A key from its secret (`secret`, deployed) or given as text (`given`, `smv-local`): exactly
/// one of them. A given key is checked here, so that a bad one stops the function at start-up
/// with the variable's name.
pub(super) fn key_source<K: FromSecret>(
    env: &Env<'_>,
    secret: &Setting,
    given: &Setting,
) -> Result<KeySource, ConfigError> {
    match (env.text(secret), env.text(given)) {
        (Some(id), None) => Ok(KeySource::Secret(id)),
        (None, Some(raw)) => match K::from_secret(&raw) {
            Ok(_) => Ok(KeySource::Given(GivenKey(raw))),
            Err(problem) => Err(given.problem(problem)),
        },
        (Some(_), Some(_)) => Err(given.problem(format!(
            "and {} are both set: name the secret, or (locally) give the key",
            secret.name
        ))),
        (None, None) => Err(secret.problem(format!(
            "is not set (the secret's ARN; locally, set {} to the key itself)",
            given.name
        ))),
    }
}
