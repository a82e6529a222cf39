//! What each function's handlers receive: its ports and the settings it reads, exactly, so that a
//! poll handler cannot reach Infobip and the callback function holds neither the Infobip key nor
//! the phone hash key. Which adapters fill the ports is `startup`'s business; the settings are
//! `config`'s structs, held whole. Built once per process; the Lambda functions, the local
//! server and the tests share them.

use std::sync::Arc;

use crate::assertion::Signer;
use crate::callback_secret::CallbackKey;
use crate::config::{CallbackConfig, PollConfig, StartConfig};
use crate::device_return::ReturnKey;
use crate::infobip::{NumberVerifier, PinService, SilentVerifier, SimSwapChecker};
use crate::keys::{Rotating, SecretSource};
use crate::metrics::MetricsSink;
use crate::oidc::clients::Registry;
use crate::oidc::subject::SubjectKey;
use crate::phone_hash::PhoneHashKey;
use crate::store::{
    Counters, DeviceReturns, IdempotencyRecords, ParkedCallbacks, Store, Verifications,
};
use crate::time::Clock;

/// The start-verify function: starts verifications, tells a device its address, and sends and
/// checks fallback PINs.
#[derive(Clone)]
pub struct StartApp {
    pub verifications: Arc<dyn Verifications>,
    pub parked: Arc<dyn ParkedCallbacks>,
    pub counters: Arc<dyn Counters>,
    pub idempotency: Arc<dyn IdempotencyRecords>,
    pub infobip: Arc<dyn SilentVerifier>,
    /// Infobip 2FA; `None` while fallback is off (no 2FA application configured).
    pub pins: Option<Arc<dyn PinService>>,
    pub sim_swaps: Arc<dyn SimSwapChecker>,
    /// CAMARA: the SIM-based flow's credential request.
    pub camara: Arc<dyn NumberVerifier>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricsSink>,
    pub config: Arc<StartConfig>,
    pub keys: StartKeys,
}

/// The start function's keys, as they rotate.
#[derive(Clone)]
pub struct StartKeys {
    /// Names numbers in counters, Idempotency-Key records and bindings.
    pub phone_hash: Arc<Rotating<PhoneHashKey>>,
    /// Tags callback URL secrets.
    pub callback: Arc<Rotating<CallbackKey>>,
    /// Tags return URL secrets.
    pub returns: Arc<Rotating<ReturnKey>>,
}

/// The callback function: records the results Infobip sends.
#[derive(Clone)]
pub struct CallbackApp {
    pub verifications: Arc<dyn Verifications>,
    /// A result for a callback URL we issued is kept when its verification is not stored yet.
    pub parked: Arc<dyn ParkedCallbacks>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricsSink>,
    pub config: Arc<CallbackConfig>,
    /// Tells callback URL secrets we issued from forged ones.
    pub callback_keys: Arc<Rotating<CallbackKey>>,
}

/// The poll function: reports results, shows a returning device its code (and, for CAMARA, asks
/// its result then), and redeems VALID verifications for signed assertions.
#[derive(Clone)]
pub struct PollApp {
    pub verifications: Arc<dyn Verifications>,
    /// A result the start could not pick up is applied by the next poll.
    pub parked: Arc<dyn ParkedCallbacks>,
    pub returns: Arc<dyn DeviceReturns>,
    /// Counts each `private_key_jwt` client assertion's `jti` once, so a replay is refused.
    pub counters: Arc<dyn Counters>,
    /// Asked before an assertion is signed.
    pub sim_swaps: Arc<dyn SimSwapChecker>,
    /// CAMARA's result, asked when the device comes back from its operator.
    pub camara: Arc<dyn NumberVerifier>,
    pub signer: Arc<dyn Signer>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricsSink>,
    pub config: Arc<PollConfig>,
    pub keys: PollKeys,
    /// The OpenID Provider, where a client registry is configured.
    pub oidc: Option<OidcApp>,
}

/// The OpenID Provider's run-time parts: the clients (re-read as the registry changes) and the
/// key of the `sub`s.
#[derive(Clone)]
pub struct OidcApp {
    pub clients: Arc<Rotating<Registry>>,
    pub subjects: Arc<Rotating<SubjectKey>>,
}

/// The poll function's keys, as they rotate.
#[derive(Clone)]
pub struct PollKeys {
    /// Compares the number a redeem names with the one verified.
    pub phone_hash: Arc<Rotating<PhoneHashKey>>,
    /// Checks return URL secrets and derives the device codes they show.
    pub returns: Arc<Rotating<ReturnKey>>,
}

/// The process-wide adapters every context shares: the store, the clock, the metrics sink, and
/// where rotating keys are read (`None` where every key is given in configuration).
#[derive(Clone)]
pub struct Adapters {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<dyn MetricsSink>,
    pub secrets: Option<Arc<dyn SecretSource>>,
}

/// All three functions in one process, as the local server and the tests run them.
#[derive(Clone)]
pub struct Backend {
    pub start: StartApp,
    pub callback: CallbackApp,
    pub poll: PollApp,
}
