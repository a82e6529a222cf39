//! What each function's handlers receive: exactly the parts that function uses, so that a poll
//! handler cannot reach Infobip and the callback function holds neither the Infobip key nor the
//! phone hash key. Only ports and settings:
//! which adapters fill them is `startup`'s business. Built once per process; the Lambda
//! functions, the local server and the tests share them.

use std::sync::Arc;

use url::Url;

use crate::assertion::{Policy, Signer};
use crate::callback_secret::CallbackKey;
use crate::device_address::AddressPolicy;
use crate::fallback::FallbackPolicy;
use crate::infobip::{PinService, SilentVerifier, SimSwapChecker};
use crate::metrics::MetricsSink;
use crate::phone_hash::PhoneHashKey;
use crate::rate_limit::RateLimits;
use crate::store::{
    Counters, DeviceReturns, IdempotencyRecords, ParkedCallbacks, Store, Verifications,
};
use crate::time::Clock;
use crate::verification::Lifetimes;

/// The start-verify function: starts verifications and tells a device its address.
#[derive(Clone)]
pub struct StartApp {
    pub verifications: Arc<dyn Verifications>,
    pub parked: Arc<dyn ParkedCallbacks>,
    pub counters: Arc<dyn Counters>,
    pub idempotency: Arc<dyn IdempotencyRecords>,
    pub infobip: Arc<dyn SilentVerifier>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricsSink>,
    pub lifetimes: Lifetimes,
    pub callback_base_url: Option<Url>,
    pub address_policy: AddressPolicy,
    pub rate_limits: RateLimits,
    pub phone_hash_key: PhoneHashKey,
    pub callback_key: CallbackKey,
    /// Origins whose pages may start verifications.
    pub allowed_origins: Vec<String>,
    pub demo_app_routes: bool,
    pub fallback: FallbackPolicy,
    /// Infobip 2FA; `None` while fallback is off (no 2FA application configured).
    pub pins: Option<Arc<dyn PinService>>,
    pub sim_swaps: Arc<dyn SimSwapChecker>,
}

/// The callback function: records the results Infobip sends.
#[derive(Clone)]
pub struct CallbackApp {
    pub verifications: Arc<dyn Verifications>,
    pub parked: Arc<dyn ParkedCallbacks>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricsSink>,
    pub lifetimes: Lifetimes,
    /// Only a result for a callback URL we issued is kept when its verification is not stored yet.
    pub callback_key: CallbackKey,
}

/// The poll function: reports results, shows a returning device its code, and redeems VALID
/// verifications for signed assertions.
#[derive(Clone)]
pub struct PollApp {
    pub verifications: Arc<dyn Verifications>,
    /// A result the start could not pick up is applied by the next poll.
    pub parked: Arc<dyn ParkedCallbacks>,
    pub returns: Arc<dyn DeviceReturns>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricsSink>,
    pub lifetimes: Lifetimes,
    pub phone_hash_key: PhoneHashKey,
    pub signer: Arc<dyn Signer>,
    pub assertions: Policy,
    pub demo_app_routes: bool,
    /// Serve the verification page for browsers (`GET /web`).
    pub web_page: bool,
    /// What a poll says of a fallback.
    pub fallback: FallbackPolicy,
}

/// The process-wide parts every context shares.
#[derive(Clone)]
pub struct Runtime {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricsSink>,
}

/// All three functions in one process, as the local server and the tests run them.
#[derive(Clone)]
pub struct Backend {
    pub start: StartApp,
    pub callback: CallbackApp,
    pub poll: PollApp,
}
