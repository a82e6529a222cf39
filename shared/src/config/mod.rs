//! Configuration from the environment, read once at start-up. A missing or malformed setting stops
//! the function before it serves anything, with a message naming the variable.
//!
//! Every setting is declared once, in the module of its concern, with its name, kind, default,
//! range, the functions that read it and the template parameter that sets it ([`Setting`]);
//! the readers read through the declarations, [`variables_read_by`] is derived from them, and
//! the tests hold the template and `events/env.json` to them.
//!
//! - [`common`]: the table, the lifetimes, the phone hash key and the return key.
//! - [`infobip`]: Infobip's base URL, key and timeout; our callback base URL and key.
//! - [`numbers`]: which number types can be a SIM, and so are verified.
//! - [`methods`]: which Infobip method (SMV, CAMARA) verifies a number, by its country.
//! - [`addresses`]: which proxies say where a device is.
//! - [`rate_limits`]: the start limits, one family.
//! - [`sim_swap`]: the SIM-swap check's period, its answer's age, and what no coverage means.
//! - [`fallback`]: where a PIN is offered, how PINs are sent and checked.
//! - [`assertions`]: the signed assertion's audience, issuer, lifetime and keys.
//! - [`web`]: route families and the origins whose pages may start verifications.
//! - [`oidc`]: the OpenID Provider's client registry and subject key.
//!
//! Adding a setting: its declaration and its read in the struct of its concern, a line in that
//! module's `SETTINGS`, the template's parameter and environment, `events/env.json`, the README.

pub mod addresses;
pub mod assertions;
pub mod common;
pub mod fallback;
pub mod infobip;
pub mod methods;
pub mod numbers;
pub mod oidc;
pub mod rate_limits;
mod setting;
pub mod sim_swap;
#[cfg(test)]
mod tests;
pub mod web;

use url::Url;

pub use assertions::AssertionConfig;
pub use common::CommonConfig;
pub use fallback::{FallbackConfig, TwoFactorIds};
pub use infobip::InfobipConfig;
pub use methods::MethodsConfig;
pub use setting::{parse_flag, parse_number, Env, Kind, Setting, Template};
pub use web::{Families, Family};

use crate::device_address::AddressPolicy;
use crate::fallback::OfferPolicy;
use crate::keys::KeySource;
use crate::phone::SimNumberTypes;
use crate::rate_limit::RateLimits;
use crate::sim_swap::SimSwapPolicy;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {name} {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

/// The three Lambda functions, as `template.yaml` declares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    Start,
    Callback,
    Poll,
}

impl Function {
    pub const ALL: [Function; 3] = [Function::Start, Function::Callback, Function::Poll];

    /// The Lambda binary (the package under `functions/`) that serves this function.
    pub fn binary(self) -> &'static str {
        match self {
            Function::Start => "start-verify",
            Function::Callback => "callback",
            Function::Poll => "poll",
        }
    }

    pub fn from_binary(binary: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.binary() == binary)
    }
}

/// Every setting a Lambda function reads.
pub fn all_settings() -> impl Iterator<Item = &'static Setting> {
    common::SETTINGS
        .iter()
        .chain(infobip::SETTINGS)
        .chain(numbers::SETTINGS)
        .chain(methods::SETTINGS)
        .chain(addresses::SETTINGS)
        .chain(rate_limits::settings())
        .chain(sim_swap::SETTINGS)
        .chain(fallback::SETTINGS)
        .chain(assertions::SETTINGS)
        .chain(web::SETTINGS)
        .chain(oidc::SETTINGS)
}

/// The variables `function` reads (keys given as text, for `smv-local`, too).
pub fn variables_read_by(function: Function) -> impl Iterator<Item = &'static str> {
    all_settings()
        .filter(move |s| s.read_by.contains(&function))
        .map(|s| s.name)
}

/// The variables `template.yaml` sets on `function`: what it reads, but the local-only keys.
pub fn variables_deployed(function: Function) -> impl Iterator<Item = &'static str> {
    all_settings()
        .filter(move |s| s.read_by.contains(&function) && s.template != Template::Local)
        .map(|s| s.name)
}

/// What the start-verify function reads: it alone calls Infobip, so it alone holds the key, and
/// it alone resolves device addresses and counts starts.
#[derive(Debug, Clone)]
pub struct StartConfig {
    pub common: CommonConfig,
    pub infobip: InfobipConfig,
    /// Public base of our callback URLs; derived from the API Gateway request when `None`.
    pub callback_base_url: Option<Url>,
    pub callback_key: KeySource,
    pub phone_hash_key: KeySource,
    pub return_key: KeySource,
    /// Only these number types get a start or a PIN.
    pub sim_number_types: SimNumberTypes,
    /// SMV or CAMARA, by the number's country.
    pub methods: MethodsConfig,
    pub address_policy: AddressPolicy,
    pub rate_limits: RateLimits,
    /// What each PIN send is counted on: `rate_limits`, then the PIN limits (built once).
    pub pin_send_limits: RateLimits,
    pub sim_swap: SimSwapPolicy,
    pub fallback: FallbackConfig,
    pub allowed_origins: Vec<String>,
    pub families: Families,
}

/// What the callback function reads: the key that tells a callback URL we issued from a forged
/// one.
#[derive(Debug, Clone)]
pub struct CallbackConfig {
    pub common: CommonConfig,
    pub callback_key: KeySource,
}

/// What the poll function reads: it reports results and redeems VALID verifications for signed
/// assertions.
#[derive(Debug, Clone)]
pub struct PollConfig {
    pub common: CommonConfig,
    /// For the SIM-swap check before an assertion is signed: the only Infobip call it makes.
    pub infobip: InfobipConfig,
    pub sim_swap: SimSwapPolicy,
    /// Compares the number a redeem names with the one verified.
    pub phone_hash_key: KeySource,
    /// Checks return URLs and the device codes they showed.
    pub return_key: KeySource,
    pub assertions: AssertionConfig,
    /// What a poll says of a fallback (countries, deadline, after INVALID).
    pub fallback: OfferPolicy,
    pub families: Families,
    /// The OpenID Provider, where a client registry is named.
    pub oidc: Option<oidc::OidcConfig>,
}

/// A function's configuration, read from the environment through the declarations.
pub trait FromEnv: Sized {
    fn read(env: &Env<'_>) -> Result<Self, ConfigError>;

    /// From the process environment, as a Lambda function starts.
    fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(&Env(&lookup))
    }
}

impl FromEnv for CommonConfig {
    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        CommonConfig::read_common(env)
    }
}

impl FromEnv for StartConfig {
    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let rate_limits = rate_limits::rate_limits(env)?;
        Ok(Self {
            common: CommonConfig::read(env)?,
            infobip: InfobipConfig::read(env)?,
            callback_base_url: infobip::callback_base_url(env)?,
            callback_key: infobip::callback_key(env)?,
            phone_hash_key: common::phone_hash_key(env)?,
            return_key: common::return_key(env)?,
            sim_number_types: numbers::sim_number_types(env)?,
            methods: MethodsConfig::read(env)?,
            address_policy: addresses::address_policy(env)?,
            pin_send_limits: rate_limits.and(&rate_limits::pin_limits(env)?),
            rate_limits,
            sim_swap: sim_swap::policy(env)?,
            fallback: FallbackConfig::read(env)?,
            allowed_origins: web::origins(env)?,
            families: Families::of_start(env)?,
        })
    }
}

impl FromEnv for CallbackConfig {
    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::read(env)?,
            callback_key: infobip::callback_key(env)?,
        })
    }
}

impl FromEnv for PollConfig {
    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let oidc = oidc::read(env)?;
        Ok(Self {
            common: CommonConfig::read(env)?,
            infobip: InfobipConfig::read(env)?,
            sim_swap: sim_swap::policy(env)?,
            phone_hash_key: common::phone_hash_key(env)?,
            return_key: common::return_key(env)?,
            assertions: AssertionConfig::read(env)?,
            fallback: fallback::offer(env)?,
            // The provider's routes are served where its registry is named.
            families: Families::of_poll(env)?.with(Family::Oidc, oidc.is_some()),
            oidc,
        })
    }
}
